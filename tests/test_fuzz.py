"""The public estimators under fuzzed input (see ``tests/fuzzing.py``): every call
returns finite, fully counted results or raises a ``DwpEvalError``.

Bounded examples here; ``HYPOTHESIS_PROFILE=thorough`` or
``python tests/fuzzing.py --calls 5000`` search longer.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzing import (
    ARM_KINDS,
    CALLS,
    CLUSTER_KINDS,
    COVARIATE_KINDS,
    ID_KINDS,
    INDEX_KINDS,
    SIZES,
    STRATA_KINDS,
    WEIGHT_KINDS,
    Y_KINDS,
    Case,
    judge,
)


def _kind(options: tuple[str, ...]) -> st.SearchStrategy[str]:
    # Hypothesis shrinks towards the first option, the plain one.
    return st.sampled_from(options)


def _cases(call: str) -> st.SearchStrategy[Case]:
    return st.builds(
        Case,
        call=st.just(call),
        n=st.sampled_from(SIZES),
        arm=_kind(ARM_KINDS),
        y=_kind(Y_KINDS),
        strata=_kind(STRATA_KINDS),
        covariates=_kind(COVARIATE_KINDS),
        cluster=_kind(CLUSTER_KINDS),
        weights=_kind(WEIGHT_KINDS),
        index=_kind(INDEX_KINDS),
        missing=st.sampled_from(("raise", "drop")),
        seed=st.integers(0, 2**31 - 1),
        ids=_kind(ID_KINDS),
    )


@pytest.mark.parametrize("call", CALLS)
def test_fuzzed_calls_return_finite_results_or_a_clear_error(call: str) -> None:
    @settings(max_examples=60, deadline=None, database=None)
    @given(case=_cases(call))
    def check(case: Case) -> None:
        outcome, detail = judge(case)
        assert outcome in ("correct", "clear_error"), f"{outcome}: {detail}\n{case}"

    check()


def test_the_judge_catches_what_it_is_for() -> None:
    """The fuzzer's own check can fail: a foreign exception and a silent NaN are caught."""
    import math

    import fuzzing

    case = Case("itt", 20, "str", "normal", "none", "none", "none", "none", "range", "raise", 1)
    assert judge(case)[0] == "correct"
    original = fuzzing._call
    try:
        fuzzing._call = lambda *a: (_ for _ in ()).throw(KeyError("x"))  # type: ignore[assignment]
        assert judge(case)[0] == "foreign"

        class Nan:
            estimate = math.nan

        fuzzing._call = lambda *a: Nan()  # type: ignore[assignment]
        assert judge(case)[0] == "silent_nan"
    finally:
        fuzzing._call = original  # type: ignore[assignment]
