"""One degeneracy rule in the variance core (issue 19, item 2): a constant outcome, an
outcome fitted exactly (listed among its own covariates), or fewer than two people
per arm give :class:`NotEstimableError` naming the outcome and the cause, never a
p-value computed from rounding noise and never a silent NaN.

Before the rule (same data): weighted itt p = 2.4e-28, clustered itt p = 0.079 with
an interval of width 2e-15, unweighted itt p = NaN without a warning,
wild_cluster_bootstrap p = 0.009, the outcome among its own covariates p = 0.35 on
SE 2e-16, one person per arm SE 0 or NaN and p NaN.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval.errors import DesignError, NotEstimableError


def _trial(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    office = np.repeat(np.arange(20), n // 20)
    arm = np.where(office % 2 == 0, "control", "treatment")
    return pd.DataFrame({
        "arm": arm, "office": office, "region": office // 5, "w": rng.uniform(0.5, 2.0, n),
        "x": rng.normal(size=n), "y": rng.normal(size=n),
        "const": np.full(n, 3.0), "took_up": (arm == "treatment") & (rng.random(n) < 0.7),
        "contaminated": (arm == "control") & (rng.random(n) < 0.2),
    })


CONSTANT = [
    ("unweighted", dict()),
    ("weighted", dict(weights="w")),
    ("clustered", dict(cluster="office")),
    ("ols", dict(estimator="ols")),
    ("ols with covariate", dict(covariates=["x"])),
    ("blocked", dict(strata="region")),
    ("blocked weighted", dict(strata="region", weights="w")),
    ("block-clustered", dict(strata="region", cluster="office")),
    ("strata fixed effects", dict(strata="region", estimator="ols")),
]


@pytest.mark.parametrize("kw", [c[1] for c in CONSTANT], ids=[c[0] for c in CONSTANT])
def test_itt_of_a_constant_outcome_is_not_estimable(kw: dict) -> None:
    with pytest.raises(NotEstimableError, match=r"itt: the effect on outcome 'const' is not "
                       r"estimable \(zero residual variance\)") as info:
        de.itt(_trial(), outcome="const", assigned="arm", **kw)
    assert info.value.outcome == "const"
    assert info.value.reason == "zero residual variance"
    assert isinstance(info.value, DesignError)


def test_outcome_constant_within_arms_is_not_estimable() -> None:
    # y an exact function of assignment: the residuals are zero, so is the SE
    df = _trial()
    df["exact"] = 2.0 + 0.5 * (df["arm"] == "treatment")
    for kw in (dict(), dict(weights="w"), dict(cluster="office")):
        with pytest.raises(NotEstimableError, match="zero residual variance"):
            de.itt(df, outcome="exact", assigned="arm", **kw)


def test_outcome_among_its_own_covariates_is_not_estimable() -> None:
    with pytest.raises(NotEstimableError, match=r"itt: the effect on outcome 'y' is not estimable "
                       r"\(outcome among its covariates\): it is listed among its own covariates"):
        de.itt(_trial(), outcome="y", assigned="arm", covariates=["x", "y"])


def test_a_copy_of_the_outcome_as_covariate_is_not_estimable() -> None:
    df = _trial()
    df["y_copy"] = df["y"]
    with pytest.raises(NotEstimableError, match="zero residual variance"):
        de.itt(df, outcome="y", assigned="arm", covariates=["y_copy"])


@pytest.mark.parametrize("kw", [dict(), dict(weights="w"), dict(estimator="ols")])
def test_one_person_per_arm_is_not_estimable(kw: dict) -> None:
    one = pd.DataFrame({"arm": ["control", "treatment"], "y": [1.0, 2.0], "w": [1.0, 2.0]})
    with pytest.raises(NotEstimableError, match=r"\(fewer than two per arm\): the arms hold 1 "
                       r"treated and 1 control people"):
        de.itt(one, outcome="y", assigned="arm", **kw)


def test_blocked_stratum_with_one_person_in_an_arm_names_the_outcome() -> None:
    df = pd.DataFrame({"arm": ["control", "treatment"] * 4 + ["control", "treatment", "treatment"],
                       "s": [0] * 8 + [1] * 3, "y": np.arange(11.0) ** 1.5})
    with pytest.raises(NotEstimableError, match=r"1 of the 2 strata in 's' have fewer than two "
                       r"people in an arm.*for outcome 'y'"):
        de.itt(df, outcome="y", assigned="arm", strata="s")


def test_matched_pairs_with_identical_differences_are_not_estimable() -> None:
    pairs = pd.DataFrame({"pair": np.repeat(np.arange(6), 2), "arm": ["control", "treatment"] * 6})
    pairs["y"] = pairs["pair"] * 1.7 + 0.3 * (pairs["arm"] == "treatment")
    with pytest.raises(NotEstimableError, match="between the pairs' differences"):
        de.itt(pairs, outcome="y", assigned="arm", strata="pair")


def test_wild_cluster_bootstrap_of_a_constant_outcome_is_not_estimable() -> None:
    with pytest.raises(NotEstimableError, match=r"wild_cluster_bootstrap: the effect on outcome "
                       r"'const' is not estimable \(zero residual variance\)"):
        de.wild_cluster_bootstrap(_trial(), outcome="const", assigned="arm", cluster="office",
                                  draws=99, seed=1)


def test_randomisation_test_of_a_constant_outcome_is_not_estimable() -> None:
    with pytest.raises(NotEstimableError, match="'const' \\(outcome\\) is constant"):
        de.randomisation_test(_trial(), outcome="const", assigned="arm", draws=99, seed=1)


def test_cace_and_contamination_sensitivity_of_a_constant_outcome_are_not_estimable() -> None:
    df = _trial()
    with pytest.raises(NotEstimableError, match=r"cace: the effect on outcome 'const'"):
        de.cace(df, outcome="const", assigned="arm", received="took_up")
    with pytest.raises(NotEstimableError, match=r"contamination_sensitivity: the effect on "
                       r"outcome 'const'"):
        de.contamination_sensitivity(df, outcome="const", assigned="arm", received="took_up",
                                     contaminated="contaminated", theta=[0.0, 1.0])


def test_a_real_outcome_on_a_large_offset_is_still_estimable() -> None:
    # small spread on a big level (e.g. earnings in pence around 1e6): well above rounding
    df = _trial()
    df["big"] = 1e6 + 1e-3 * df["y"]
    for kw in (dict(), dict(weights="w"), dict(cluster="office"), dict(strata="region")):
        res = de.itt(df, outcome="big", assigned="arm", **kw)
        assert np.isfinite(res.p_value) and res.std_error > 0


def test_the_error_pickles_with_its_message() -> None:
    err = NotEstimableError("itt: x", outcome="y", reason="zero residual variance")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == "itt: x" and isinstance(back, NotEstimableError)


@pytest.mark.parametrize("kw", [dict(), dict(se_type="CR2"), dict(unit=None)])
def test_did_of_a_constant_outcome_is_not_estimable(kw: dict) -> None:
    u = np.repeat(np.arange(40), 4)
    t = np.tile(np.arange(4), 40)
    df = pd.DataFrame({"unit": u, "time": t, "treated": (u < 20).astype(int),
                       "post": (t >= 2).astype(int), "y": np.full(160, 2.0)})
    args = dict(outcome="y", unit="unit", time="time", treated="treated", post="post")
    args.update(kw)
    with pytest.raises(NotEstimableError, match=r"did: column 'y' \(outcome\) is constant"):
        de.did(df, **args)


@settings(max_examples=40, deadline=None)
@given(
    level=st.floats(-1e9, 1e9, allow_nan=False).filter(lambda v: v != 0.0),
    shift=st.sampled_from([0.0, 0.25, -3.0]),
    kw=st.sampled_from([dict(), dict(weights="w"), dict(cluster="office"), dict(strata="region"),
                        dict(strata="region", weights="w"), dict(strata="region", cluster="office"),
                        dict(estimator="ols"), dict(covariates=["x"]),
                        dict(strata="region", estimator="ols")]),
    seed=st.integers(0, 2**16),
)
def test_an_outcome_constant_within_arms_never_gives_a_p_value(level: float, shift: float, kw: dict,
                                                              seed: int) -> None:
    # any level, any design: y = level + shift * z has zero residual variance
    df = _trial(seed=seed)
    df["c"] = level + shift * abs(level) * (df["arm"] == "treatment")
    with pytest.raises(NotEstimableError, match="zero residual variance"):
        de.itt(df, outcome="c", assigned="arm", **kw)
