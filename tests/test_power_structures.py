"""Partially nested, three-level and moderator designs against PowerUpR 1.1.0.

``tests/reference/power/powerup_structures.csv`` was made by
``powerup_structures.R`` (see the README there); nothing here needs R.

Tolerance: ``RTOL`` 1e-8 relative on the MDES, the power, the standard error
and the df: the same closed-form variance and the same t / noncentral t
quantiles in R and scipy (differences seen are below 1e-12).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import dwp_eval.design.power as pw
from dwp_eval.errors import DwpEvalError, OptionError
from dwp_eval.references.power_runs import structure_design

REF = Path(__file__).parent / "reference" / "power"
RTOL = 1e-8
PUP = pd.read_csv(REF / "powerup_structures.csv")


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("i", range(len(PUP)), ids=list(PUP["call"]))
def test_powerupr_structures(i: int) -> None:
    r = PUP.iloc[i]
    d = structure_design(r)
    if r["solved"] == "mdes":
        res = pw.mde(power=float(r["power"]), method="t", **d)
        assert _rel(res.mde, r["value"]) < RTOL
    else:
        res = pw.power(effect=float(r["es"]), method="noncentral_t", **d)
        assert _rel(res.power, r["value"]) < RTOL
    assert _rel(res.std_error, r["sse"]) < RTOL
    assert _rel(res.df, r["df"]) < RTOL


def test_selfcheck_runs_them() -> None:
    from dwp_eval.references import selfcheck

    res = selfcheck(["power_structures_powerupr", "power_log_rank"], verbose=False)
    assert res.passed, res.summary()


def test_every_design_is_covered() -> None:
    assert set(PUP["design"]) == {"ira_pn", "cra3r3", "mod221", "mod_ira"}
    assert set(PUP["solved"]) == {"mdes", "power"}


def test_lohr_example() -> None:
    """Lohr, Schochet & Sanders (2014), constructed example 3.3 as in PowerUpR's source:
    mdes.ira_pn(n=250, rho_ic=0.10, ic_size=5, df=Inf) prints 0.401 (powerup_structures.Rout)."""
    res = pw.mde(n=250, nested_in="treatment", cluster_size=5, icc=0.1, method="normal")
    assert round(res.mde, 3) == 0.401


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(nested_in="treatment"), "nested_in='treatment' needs cluster_size"),
        (dict(nested_in="control", cluster_size=5, icc=0.1), "'nested_in' parameter of mde must be one of"),
        (dict(nested_in="treatment", cluster_size=5, icc=1.0), "'icc' parameter of mde must be a float in \\[0, 1\\)"),
        (dict(nested_in="treatment", cluster_size=5, icc=0.1, arms=3), "for two arms"),
        (dict(nested_in="treatment", cluster_size=5, icc=0.1, strata=4), "no place for strata"),
        (dict(nested_in="treatment", cluster_size=5, icc=0.1, n_covariates=2), "no place for strata"),
        (dict(cluster_size=20, icc=0.1, level3_size=4), "needs both 'level3_size'"),
        (dict(cluster_size=20, icc=0.1, level3_size=4, icc_level3=-0.1), "'icc_level3' parameter of mde"),
        (dict(cluster_size=20, icc=0.6, level3_size=4, icc_level3=0.5), "must be below 1"),
        (dict(cluster_size=20, icc=0.1, level3_size=4, icc_level3=0.1, r2_level3=1.0), "'r2_level3'"),
        (dict(r2_level3=0.2), "three-level designs only"),
        (dict(moderator_share=1.0), "'moderator_share' parameter of mde must be a float in \\(0, 1\\)"),
        (dict(level3_size=4, icc_level3=0.1), "needs cluster_size"),
    ],
)
def test_bad_input(kw: dict[str, Any], match: str) -> None:
    n = dict(n_clusters=20) if "level3_size" in kw and "cluster_size" in kw else dict(n=400)
    with pytest.raises(DwpEvalError, match=match):
        pw.mde(**n, **kw)


def test_nested_too_small() -> None:
    with pytest.raises(DwpEvalError, match=r"0\.6667 caseloads of 15 in the treatment arm"):
        pw.mde(n=20, nested_in="treatment", cluster_size=15, icc=0.1)


def test_nested_refuses_n_clusters() -> None:
    with pytest.raises(OptionError, match="people, not clusters, are randomised"):
        pw.mde(n_clusters=20, nested_in="treatment", cluster_size=5, icc=0.1)


@pytest.mark.parametrize(
    "design",
    [
        dict(nested_in="treatment", cluster_size=8, icc=0.1, r2=0.2),
        dict(cluster_size=20, icc=0.1, level3_size=4, icc_level3=0.05),
        dict(moderator_share=0.3),
        dict(moderator_share=0.3, cluster_size=20, icc=0.1),
    ],
)
def test_round_trip(design: dict[str, Any]) -> None:
    key = "n_clusters" if "level3_size" in design or ("cluster_size" in design and "nested_in" not in design) else "n"
    size = 40 if key == "n_clusters" else 600
    m = pw.mde(**{key: size}, **design)
    assert pw.power(effect=m.mde, **{key: size}, **design).power == pytest.approx(0.8, abs=1e-9)
    s = pw.sample_size(mde=m.mde, **design)
    assert (s.n_clusters if key == "n_clusters" else s.n) == size


# ------------------------------------------------------------- properties
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _designs() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    nested = st.builds(
        lambda m, icc, r2: ("n", dict(nested_in="treatment", cluster_size=m, icc=icc, r2=r2)),
        st.integers(2, 15), st.floats(0.0, 0.4), st.floats(0.0, 0.5),
    )
    three = st.builds(
        lambda m, j, i2, i3, r3: ("n_clusters", dict(cluster_size=m, icc=i2, level3_size=j, icc_level3=i3,
                                                   r2_level3=r3)),
        st.integers(2, 40), st.integers(1, 8), st.floats(0.0, 0.3), st.floats(0.0, 0.3), st.floats(0.0, 0.6),
    )
    moderator = st.builds(
        lambda q, clustered: ("n_clusters", dict(moderator_share=q, cluster_size=10, icc=0.1)) if clustered
        else ("n", dict(moderator_share=q)),
        st.floats(0.05, 0.95), st.booleans(),
    )
    return st.one_of(nested, three, moderator)


@settings(max_examples=60, deadline=None)
@given(design=_designs(), size=st.integers(30, 300), ratio=st.sampled_from([0.5, 0.6]))
def test_properties(design: tuple[str, dict[str, Any]], size: int, ratio: float) -> None:
    key, d = design
    d = {**d, "ratio": ratio}
    units = size * 10 if key == "n" else size
    m = pw.mde(**{key: units}, **d)
    # power(mde) is the target and power rises with the effect and with the sample
    assert pw.power(effect=m.mde, **{key: units}, **d).power == pytest.approx(0.8, abs=1e-8)
    assert pw.power(effect=m.mde * 1.1, **{key: units}, **d).power > 0.8
    assert pw.mde(**{key: units * 2}, **d).mde < m.mde
    # a larger ICC never helps, except for a person-level moderator in a cluster design, whose
    # contrast is within clusters: there it leaves less (1 - icc) person-level variance (PowerUpR mod221)
    if "icc" in d and d["icc"] < 0.25 and "moderator_share" not in d:
        worse = pw.mde(**{key: units}, **{**d, "icc": d["icc"] + 0.05}).mde
        assert worse >= m.mde * (1 - 1e-12)
    # the round trip mde -> sample_size lands back on the sample (whole units)
    s = pw.sample_size(mde=m.mde, **d)
    assert (s.n if key == "n" else s.n_clusters) == units
    assert s.power >= 0.8 - 1e-9
