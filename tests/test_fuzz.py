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
    RATE_KINDS,
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
        rate=_kind(RATE_KINDS),
    )


# Examples per call, bounded so that the whole file runs in under a minute on one core;
# the slower calls (records, bootstrap-based bounds, file round trips) get fewer.
EXAMPLES = {"derive_outcomes": 12, "lee_bounds": 20, "allocation_round_trip": 25, "take_up": 25}


@pytest.mark.parametrize("call", CALLS)
def test_fuzzed_calls_return_finite_results_or_a_clear_error(call: str) -> None:
    @settings(max_examples=EXAMPLES.get(call, 60), deadline=None, database=None,
              derandomize=True)  # the same cases on every run: CI fails only on a real change
    @given(case=_cases(call))
    def check(case: Case) -> None:
        outcome, detail = judge(case)
        assert outcome in ("correct", "clear_error"), f"{outcome}: {detail}\n{case}"

    check()


def test_the_judge_catches_what_it_is_for() -> None:
    """The fuzzer's own checks can fail: a foreign exception, a silent NaN, a
    significant result on a constant outcome, a zero standard error and an
    uncounted row loss are each caught; a NaN that is warned about is not silent."""
    import math
    import warnings

    import dwp_eval as de
    import fuzzing

    case = Case("itt", 20, "str", "normal", "none", "none", "none", "none", "range", "raise", 1)
    constant = Case("itt", 20, "str", "constant", "none", "none", "none", "none", "range", "raise", 1)
    assert judge(case)[0] == "correct"
    assert judge(constant)[0] == "clear_error"  # NotEstimableError

    class Fake:
        estimate, std_error, p_value, n_obs, dropped = 0.5, 0.1, 0.2, 20, {}

    class Nan(Fake):
        estimate = math.nan

    class Significant(Fake):
        p_value = 1e-40

    class ZeroSe(Fake):
        std_error = 0.0

    class Lost(Fake):
        n_obs = 15

    def warned_nan(*a):
        warnings.warn("not estimable", de.DwpEvalWarning, stacklevel=1)
        return Nan()

    original = fuzzing._call
    try:
        fuzzing._call = lambda *a: (_ for _ in ()).throw(KeyError("x"))  # type: ignore[assignment]
        assert judge(case)[0] == "foreign"
        for fake, outcome in ((Nan, "silent_nan"), (ZeroSe, "silent_wrong"), (Lost, "row_loss")):
            fuzzing._call = lambda *a, fake=fake: fake()  # type: ignore[assignment]
            assert judge(case)[0] == outcome, fake
        fuzzing._call = lambda *a: Significant()  # type: ignore[assignment]
        assert judge(case)[0] == "correct"
        assert judge(constant)[0] == "silent_wrong"
        fuzzing._call = warned_nan  # type: ignore[assignment]
        assert judge(case)[0] == "correct"
    finally:
        fuzzing._call = original  # type: ignore[assignment]
