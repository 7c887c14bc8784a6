"""``staggered_did(control_group="not_yet_treated")`` on a panel with no
never-treated units (issue 13), against ``tests/reference/did/staggered_no_never.py``:

* default ``last_cohort="comparison"``: R did's rule (the periods from
  ``g_max - anticipation`` dropped, no ATT(g, t) for the last cohort), whose
  cells csdid 0.4.3 gives and moderndid 0.2.0 gives on the panel pre-processed
  by the rule written out (the two agree to 4e-16), with the four aggregations;
* ``last_cohort="estimate"``: also the last cohort's placebo cells, as
  moderndid as-is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dwp_eval.errors import DesignError, OptionError
from dwp_eval.estimate.staggered import staggered_did
from dwp_eval.results import EventStudy, StaggeredDid

REF = Path(__file__).parent / "reference" / "did"

# The same 2x2 regressions, logits and influence functions on identical doubles
# agree to ~1e-15; the issue asks for 1e-8 (relative; estimates are employment
# rates of order 0.001-0.05, so 1e-10 absolute is 1e-8 of the typical size and
# far below any difference in the cells used, ~1e-3).
ATOL_EST = 1e-10
RTOL_SE = 1e-8

PANEL = pd.read_csv(REF / "staggered_panel_no_never.csv")
ATT = pd.read_csv(REF / "staggered_no_never_att_gt.csv").fillna({"covariates": ""})
AGG = pd.read_csv(REF / "staggered_no_never_aggte.csv").fillna({"covariates": ""})
SPECS = sorted({(r.package, r.method, r.base_period, r.covariates) for r in ATT.itertuples()})


def _fit(method: str, base: str, covariates: str, last_cohort: str = "comparison") -> StaggeredDid:
    return staggered_did(
        PANEL, outcome="employment_rate", unit="id", time="month", cohort="cohort",
        covariates=["x"] if covariates else None, method=method, control_group="not_yet_treated",  # type: ignore[arg-type]
        base_period=base, last_cohort=last_cohort, bootstrap=0,  # type: ignore[arg-type]
    )


def test_panel_has_no_never_treated_units() -> None:
    assert (PANEL["cohort"] > 0).all() and sorted(PANEL["cohort"].unique()) == [3, 5, 7]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(x or "nox" for x in s))
def test_att_gt_matches_reference(spec: tuple[str, str, str, str]) -> None:
    package, method, base, covs = spec
    ref = ATT[(ATT["package"] == package) & (ATT["method"] == method) & (ATT["base_period"] == base)
              & (ATT["covariates"] == covs)].set_index(["cohort", "time"])
    last_cohort = "estimate" if package == "moderndid" else "comparison"
    ours = _fit(method, base, covs, last_cohort).att_gt.set_index(["cohort", "time"])
    if base == "universal":
        # the reference cell t = g - 1 is 0 by construction: the peers list it, we leave it out
        refcells = ref.index[[t == g - 1 for g, t in ref.index]]
        assert np.all(ref.loc[refcells, "estimate"] == 0)
        ref = ref.drop(refcells)
    if package == "moderndid":
        # moderndid as-is reports NaN for cells without comparison units; we leave them out
        ref = ref[ref["estimate"].notna()]
    assert sorted(ours.index) == sorted(ref.index)
    ours = ours.loc[ref.index]
    np.testing.assert_allclose(ours["estimate"], ref["estimate"], rtol=0, atol=ATOL_EST)
    np.testing.assert_allclose(ours["std_error"], ref["std_error"], rtol=RTOL_SE)


AGG_SPECS = sorted({(r.package, r.method, r.base_period, r.covariates) for r in AGG.itertuples()})


@pytest.mark.parametrize("spec", AGG_SPECS, ids=lambda s: "-".join(x or "nox" for x in s))
@pytest.mark.parametrize("kind", ["simple", "group", "dynamic", "calendar"])
def test_aggregations_match_reference(spec: tuple[str, str, str, str], kind: str) -> None:
    package, method, base, covs = spec
    ref = AGG[(AGG["package"] == package) & (AGG["method"] == method) & (AGG["base_period"] == base)
              & (AGG["covariates"] == covs) & (AGG["type"] == kind)]
    last_cohort = "estimate" if package == "moderndid" else "comparison"
    res = _fit(method, base, covs, last_cohort).aggregate(kind, bootstrap=0)  # type: ignore[arg-type]
    overall = ref[ref["key"] == "overall"].iloc[0]
    eff = res if kind == "simple" else res.overall  # type: ignore[union-attr]
    assert eff.estimate == pytest.approx(overall.estimate, rel=0, abs=ATOL_EST)
    assert eff.std_error == pytest.approx(overall.std_error, rel=RTOL_SE)
    if kind == "simple":
        return
    assert isinstance(res, EventStudy)
    table = res.to_frame().set_index(res.by)
    cells = ref[ref["key"] != "overall"]
    if base == "universal" and kind == "dynamic":
        # the reference event time -1 is 0 by construction (no SE): the peers list it, we do not
        ref_key = cells["key"].astype(int) == -1
        assert np.all(cells.loc[ref_key, "estimate"] == 0)
        cells = cells[~ref_key]
    if package == "moderndid" and kind == "group":
        # moderndid as-is lists the last cohort with no post-treatment cell as NaN; we leave it out
        assert cells.loc[cells["key"] == "7", "estimate"].isna().all()
        cells = cells[cells["key"] != "7"]
    keys = cells["key"].astype(int).to_numpy()
    assert sorted(table.index.tolist()) == sorted(keys.tolist())
    np.testing.assert_allclose(table.loc[keys, "estimate"], cells["estimate"], rtol=0, atol=ATOL_EST)
    np.testing.assert_allclose(table.loc[keys, "std_error"], cells["std_error"], rtol=RTOL_SE)


def test_default_leaves_the_last_cohort_as_comparison_only() -> None:
    res = _fit("dr", "varying", "")
    assert 7 not in set(res.att_gt["cohort"])
    assert res.att_gt["time"].max() == 6  # months 7 and 8 left out, as R did
    assert any("serves only as the comparison group" in n for n in res.notes)
    assert res.n_periods == 6
    kept = _fit("dr", "varying", "", "estimate")
    assert sorted(kept.att_gt.loc[kept.att_gt["cohort"] == 7, "time"]) == [2, 3, 4]
    dyn = res.aggregate("dynamic", bootstrap=0).to_frame().set_index("event_time")
    dyn_kept = kept.aggregate("dynamic", bootstrap=0).to_frame().set_index("event_time")
    # event time -3: (5, 2) alone, or with the last cohort's placebo (7, 4)
    assert dyn.loc[-3, "estimate"] != pytest.approx(dyn_kept.loc[-3, "estimate"], abs=1e-4)
    assert -5 not in dyn.index and -5 in dyn_kept.index


def test_last_cohort_option_is_checked() -> None:
    with pytest.raises(OptionError, match="'last_cohort' parameter of staggered_did"):
        _fit("dr", "varying", "", "drop")


def test_one_cohort_and_no_never_treated_has_no_comparison() -> None:
    one = PANEL.assign(cohort=5)
    with pytest.raises(DesignError, match="same period and none is never treated"):
        staggered_did(one, outcome="employment_rate", unit="id", time="month", cohort="cohort",
                      control_group="not_yet_treated", bootstrap=0)


def test_never_treated_comparison_without_never_treated_units_names_the_fixes() -> None:
    """R did (``pre_process_did``, bcallaway11/did@71ba8a5) warns and makes the last
    cohort the never-treated group, dropping the periods from ``g_max - anticipation``
    on. A comparison group other than the one asked for is not done silently here: a
    DesignError names both fixes, not-yet-treated comparisons and R's recoding
    written out, with the cohort and period labels."""
    with pytest.raises(
        DesignError,
        match=(
            r"staggered_did: control_group='never_treated' but no unit is never treated \(every "
            r"unit has a cohort in 'cohort'\), so there is no never-treated comparison group\. "
            r"Fix: use control_group='not_yet_treated', which compares each cohort with units "
            r"treated later \(the last cohort, 7, then serves only as the comparison, as in R's "
            r"did\); or, to do what R's did does with control_group='nevertreated', treat the "
            r"last cohort as never treated yourself: set 'cohort' to 0 for its units and keep "
            r"only the periods before 7\."
        ),
    ):
        staggered_did(PANEL, outcome="employment_rate", unit="id", time="month", cohort="cohort",
                      control_group="never_treated", bootstrap=0)
    with pytest.raises(DesignError, match=r"keep only the periods before 6\."):
        staggered_did(PANEL, outcome="employment_rate", unit="id", time="month", cohort="cohort",
                      control_group="never_treated", anticipation=1, bootstrap=0)


def test_r_did_never_treated_recoding_runs_as_the_message_says() -> None:
    """The recoding the message describes (R did's fallback written out) is a valid
    never-treated design: the last cohort is the comparison, periods before it kept."""
    recoded = PANEL[PANEL["month"] < 7].assign(
        cohort=lambda d: d["cohort"].where(d["cohort"] != 7, 0)
    )
    res = staggered_did(recoded, outcome="employment_rate", unit="id", time="month",
                        cohort="cohort", control_group="never_treated", bootstrap=0)
    assert set(res.att_gt["cohort"]) == {3, 5} and res.att_gt["time"].max() == 6
