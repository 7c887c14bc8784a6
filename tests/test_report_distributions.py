"""The report's time-to-event and distribution sections: what they publish, how the
Kaplan-Meier curves are coarsened for disclosure control, and that an outcome that cannot
be estimated is reported as such without stopping the report."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.survival_section import published_curves

PLAN = {
    "design": {"id": "id", "assigned": "arm", "strata": "stratum"},
    "outcomes": {"primary": ["employed_13_weeks"], "secondary": ["earnings_12m"]},
    "analysis": {"covariates": ["age"]},
}


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    people = de.datasets.whp_like(n=900, seed=11)
    alloc = de.randomise(people, strata="site", seed=12)
    t = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    t = t.merge(de.datasets.whp_outcomes(t, t["arm"], seed=13), on="id")
    rng = np.random.default_rng(14)
    latent = rng.exponential(np.where(t["arm"] == "treatment", 280.0, 380.0))
    cens = rng.uniform(150, 500, len(t))
    t["days_to_job"] = np.ceil(np.minimum(latent, cens))
    t["found_job"] = (latent <= cens).astype(int)
    return t


def _analyse(trial: pd.DataFrame, **sections) -> de.Report:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return de.analyse(trial, de.AnalysisPlan.from_dict({**PLAN, **sections}))


SURV = {"time_to_job": {"duration": "days_to_job", "event": "found_job", "horizon": 365}}


def test_survival_sections_publish_the_effects_and_controlled_curves(trial):
    rep = _analyse(trial, survival=SURV)
    keys = [s.key for s in rep.sections]
    assert keys.index("survival") < keys.index("survival_curves") < keys.index("methods")
    res = rep.results["survival"]["time_to_job"]
    direct = de.survival_effect(trial, duration="days_to_job", event="found_job", assigned="arm",
                                strata="stratum", horizon=365)
    assert res.rmst_difference == pytest.approx(direct.rmst_difference, abs=1e-12)
    tab = rep.tables["survival"].set_index("term")
    assert tab.loc["rmst_difference", "estimate"] == pytest.approx(direct.rmst_difference)
    assert tab.loc["hazard_ratio", "estimate"] == pytest.approx(direct.hazard_ratio)
    # people and events are rounded counts
    for col in ("n", "count"):
        assert all(int(v) % 5 == 0 for v in rep.tables["survival"][col])
    curves = rep.tables["survival_curves"]
    assert set(curves["arm"]) == {"control", "treatment"}
    assert all(int(v) % 5 == 0 for v in curves["n"])
    fig = next(s.figure for s in rep.sections if s.key == "survival_curves")
    assert fig is not None and fig[:4] == b"\x89PNG"
    settings = rep.tables["methods"].set_index("item")["setting"]
    assert settings["time to event: time_to_job"] == "days_to_job / found_job, RMST horizon 365 days"
    methods = next(s for s in rep.sections if s.key == "methods")
    assert any("restricted mean survival time" in t for t in methods.text)


def test_each_published_step_holds_at_least_min_count_events_and_the_tail_is_cut(trial):
    res = de.survival_effect(trial, duration="days_to_job", event="found_job", assigned="arm",
                             horizon=365)
    full = res.curves()
    for k in (5, 10, 40):
        rules = DisclosureRules(min_count=k)
        pub = published_curves(res, rules)
        for arm, part in pub.groupby("arm"):
            mine = full[full["arm"] == arm]
            steps = part.iloc[1:]
            assert (steps["count"] >= k).all()
            assert (steps["n"] >= k).all()
            assert np.diff(part["time"]).min() > 0
            # the survival shown at each point is the Kaplan-Meier value there
            for r in steps.itertuples():
                km = mine.loc[mine["time"] <= r.time, "survival"].iloc[-1]
                assert r.survival == pytest.approx(km, abs=5e-4)
            # events between the points add up to the events before the last point
            last = steps["time"].max()
            assert steps["count"].sum() == mine.loc[mine["time"] <= last, "n_event"].sum()
        # a coarser rule publishes fewer points
        assert len(pub) <= len(published_curves(res, DisclosureRules(min_count=1)))


def test_a_survival_outcome_that_cannot_be_estimated_does_not_stop_the_report(trial):
    bad = {"time_to_job": {"duration": "days_to_job", "event": "found_job", "horizon": 5000}}
    rep = _analyse(trial, survival=bad)
    assert rep.results["survival"] == {"time_to_job": None}
    sec = next(s for s in rep.sections if s.key == "survival")
    assert any("not estimable" in t and "time_to_job" in t for t in sec.text)
    assert "impact" in [s.key for s in rep.sections]


def test_distribution_section_publishes_effects_and_zero_shares_not_arm_quantiles(trial):
    rep = _analyse(trial, distribution={"outcomes": ["earnings_12m"],
                                        "quantiles": [0.25, 0.75, 0.9], "draws": 199,
                                        "seed": 4})
    res = rep.results["distribution"]["earnings_12m"]
    tab = rep.tables["distribution"]
    assert "control_quantile" not in tab.columns and "treatment_quantile" not in tab.columns
    eff = tab[tab["measure"] == "quantile effect"]
    np.testing.assert_allclose(eff["estimate"], res.effects)
    shares = tab[tab["measure"] == "share with a zero outcome"].set_index("arm")
    # shares are recomputed from the rounded counts, to the plan's decimals
    for arm in ("control", "treatment"):
        n, k = int(shares.loc[arm, "n"]), int(shares.loc[arm, "count"])
        assert n % 5 == 0 and k % 5 == 0
        assert float(shares.loc[arm, "share"]) == pytest.approx(round(k / n, 2))
    fig = next(s.figure for s in rep.sections if s.key == "distribution")
    assert fig is not None


def test_a_small_zero_count_is_withheld(trial):
    t = trial.copy()
    arm = t["arm"] == "treatment"
    t.loc[arm, "earnings_12m"] = t.loc[arm, "earnings_12m"].where(
        t.loc[arm, "earnings_12m"] > 0, 100.0)  # no zeros in treatment...
    t.loc[t.index[arm][:4], "earnings_12m"] = 0.0  # ...but 4
    rep = _analyse(t, distribution={"outcomes": ["earnings_12m"], "quantiles": [0.5, 0.9],
                                    "draws": 99, "seed": 1})
    shares = rep.tables["distribution"]
    row = shares[(shares["measure"] == "share with a zero outcome") & (shares["arm"] == "treatment")]
    assert row["count"].iloc[0] == "[c]" and row["share"].iloc[0] == "[c]"
    assert not any(np.isclose(pd.to_numeric(shares["share"], errors="coerce"), 4 / arm.sum()))


def test_two_survival_outcomes_get_a_curve_section_each(trial):
    t = trial.assign(days_off=trial["days_to_job"] + 10, off=trial["found_job"])
    rep = _analyse(t, survival={**SURV, "off_benefit": {"duration": "days_off", "event": "off",
                                                        "horizon": 300}})
    keys = [s.key for s in rep.sections]
    assert {"survival_curves_time_to_job", "survival_curves_off_benefit"} <= set(keys)
    assert set(rep.tables["survival"]["outcome"]) == {"time_to_job", "off_benefit"}
    for k in ("survival_curves_time_to_job", "survival_curves_off_benefit"):
        sec = next(s for s in rep.sections if s.key == k)
        assert sec.figure is not None and len(rep.tables[k]) > 2
