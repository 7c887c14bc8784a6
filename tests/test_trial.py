"""Trial only binds column roles: each method equals the function it delegates to."""

from __future__ import annotations

import tomllib
import warnings

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.datasets import SIMILAR_PROVISION, whp_like, whp_outcomes, whp_referrals
from dwp_eval.datasets.plans import whp_plan
from dwp_eval.errors import ColumnError, OptionError


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    people = whp_like(n=1500, seed=11)
    alloc = de.randomise(people, strata="site", seed=12)
    people = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    records = whp_referrals(people, people["arm"], seed=13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", de.errors.RecordProblemsWarning)
        started = de.take_up(people, records.starts, randomised="referred_on")
        flags = de.flag_contamination(people, records.referrals, randomised="referred_on",
                                      similar=SIMILAR_PROVISION)
    received = started["received"].to_numpy() | flags["contaminated"].to_numpy()
    out = whp_outcomes(people, people["arm"], seed=14, received=received)
    return people.merge(out, on="id").assign(received=received,
                                             contaminated=flags["contaminated"].to_numpy(),
                                             responded=(np.arange(1500) % 9 != 0).astype(int))


@pytest.fixture(scope="module")
def trial(df: pd.DataFrame) -> de.Trial:
    return de.Trial(df, id="id", assigned="arm", strata="stratum", received="received",
                    contaminated="contaminated")


def test_itt_and_cace_equal_the_functions(trial: de.Trial, df: pd.DataFrame) -> None:
    a = trial.itt(outcome="employed_13_weeks", covariates=["age"])
    b = de.itt(df, outcome="employed_13_weeks", assigned="arm", strata="stratum", covariates=["age"])
    assert (a.estimate, a.std_error, a.df) == (b.estimate, b.std_error, b.df)
    c = trial.cace(outcome="employed_13_weeks")
    d = de.cace(df, outcome="employed_13_weeks", assigned="arm", received="received", strata="stratum")
    assert (c.estimate, c.std_error) == (d.estimate, d.std_error)


def test_tables_and_monitoring_equal_the_functions(trial: de.Trial, df: pd.DataFrame) -> None:
    t = trial.impact_table(outcomes=["employed_13_weeks", "earnings_12m"])
    u = de.impact_table(df, outcomes=["employed_13_weeks", "earnings_12m"], assigned="arm",
                        strata="stratum")
    pd.testing.assert_frame_equal(t.to_frame(), u.to_frame())
    b = trial.balance(covariates=["age", "female"])
    pd.testing.assert_frame_equal(
        b.to_frame(), de.balance(df, assigned="arm", covariates=["age", "female"], strata="stratum").to_frame()
    )
    f = trial.flow(outcome="employed_13_weeks")
    g = de.flow(df, assigned="arm", id="id", received="received", outcome="employed_13_weeks",
                received_in_control="programme")
    pd.testing.assert_frame_equal(f.to_frame(), g.to_frame())
    at = trial.attrition(responded="responded")
    pd.testing.assert_frame_equal(
        at.to_frame(), de.attrition(df, assigned="arm", responded="responded", strata="stratum").to_frame()
    )
    cs = trial.contamination_summary(by=["site"])
    ctrl = df[df["arm"] == "control"]
    pd.testing.assert_frame_equal(
        cs.to_frame(), de.contamination_summary(ctrl, by=("site",), flag="contaminated").to_frame()
    )


def test_randomisation_test_sensitivity_and_compliers(trial: de.Trial, df: pd.DataFrame) -> None:
    r = trial.randomisation_test(outcome="employed_13_weeks", draws=200, seed=3)
    s = de.randomisation_test(df, outcome="employed_13_weeks", assigned="arm", strata="stratum",
                              draws=200, seed=3)
    assert r.p_value == s.p_value
    sens = trial.contamination_sensitivity(outcome="employed_13_weeks")
    ref = de.contamination_sensitivity(df, outcome="employed_13_weeks", assigned="arm",
                                       received="received", contaminated="contaminated",
                                       strata="stratum")
    pd.testing.assert_frame_equal(sens.to_frame(), ref.to_frame())
    prof = trial.complier_profile(covariates=["age"])
    pd.testing.assert_frame_equal(
        prof, de.complier_profile(df, assigned="arm", received="received", covariates=["age"])
    )


def test_analyse_checks_the_plan_binds_the_same_roles(trial: de.Trial) -> None:
    raw = tomllib.loads(whp_plan())
    plan = de.AnalysisPlan.from_dict(raw)  # strata "stratum", as bound: roles agree
    assert plan.design["strata"] == trial.strata
    raw["design"]["received"] = "took_up"
    with pytest.raises(OptionError, match="plan's \\[design\\] received is 'took_up' but this Trial binds 'received'"):
        trial.analyse(de.AnalysisPlan.from_dict(raw))


def test_bad_roles_are_refused(df: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match="strata"):
        de.Trial(df, id="id", assigned="arm", strata="block")
    with pytest.raises(ColumnError, match="id"):
        de.Trial(pd.concat([df, df.iloc[:2]]), id="id", assigned="arm")
    bare = de.Trial(df, id="id", assigned="arm")
    with pytest.raises(OptionError, match="This Trial names no 'received' column"):
        bare.cace(outcome="employed_13_weeks")
    assert "1,500 people" in repr(bare)


def test_binary_survival_and_quantile_effects_equal_the_functions(
    trial: de.Trial, df: pd.DataFrame,
) -> None:
    a = trial.binary_effect(outcome="employed_13_weeks", covariates=["age"])
    b = de.binary_effect(df, outcome="employed_13_weeks", assigned="arm", strata="stratum",
                         covariates=["age"])
    assert a.to_frame().equals(b.to_frame())
    rng = np.random.default_rng(3)
    timed = df.assign(days=np.ceil(rng.exponential(300, len(df))).clip(1, 400),
                      seen=(rng.random(len(df)) < 0.7).astype(int))
    t = de.Trial(timed, id="id", assigned="arm", strata="stratum")
    s1 = t.survival_effect(duration="days", event="seen", horizon=365)
    s2 = de.survival_effect(timed, duration="days", event="seen", assigned="arm",
                            strata="stratum", horizon=365)
    assert s1.to_frame().equals(s2.to_frame())
    q1 = trial.quantile_effects(outcome="earnings_12m", quantiles=[0.7, 0.9], draws=99, seed=1)
    q2 = de.quantile_effects(df, outcome="earnings_12m", assigned="arm", strata="stratum",
                             quantiles=[0.7, 0.9], draws=99, seed=1)
    assert q1.to_frame().equals(q2.to_frame())
