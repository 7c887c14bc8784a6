"""One arm-label rule everywhere, strata given as a list of columns, small strata
named, and bad frames (duplicated column names, +/-inf) met with a DwpEvalError
(issue 13). Each test reproduces a user's case that failed on the old code."""

from __future__ import annotations

import re
import tomllib
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, DroppedRowsWarning, OptionError
from dwp_eval.report.plan import AnalysisPlan

matplotlib.use("Agg")

N = 80


@pytest.fixture
def trial() -> pd.DataFrame:
    rng = np.random.default_rng(13)
    z = np.tile([0, 1], N // 2)
    return pd.DataFrame({
        "z": z,
        "site": np.repeat(["a", "b"], N // 2),
        "benefit": np.tile(["jsa", "jsa", "esa", "esa"], N // 4),
        "age": rng.normal(40, 10, N).round(1),
        "took_up": np.where(z == 1, rng.random(N) < 0.7, rng.random(N) < 0.1).astype(int),
        "responded": (rng.random(N) < 0.8).astype(int),
        "y": rng.normal(size=N),
    })


ARM_COLUMNS = {
    "int": lambda z: z,
    "float": lambda z: z.astype(float),
    "bool": lambda z: z.astype(bool),
    "text": lambda z: z.astype(str),
    "categorical": lambda z: pd.Categorical(z),
}
CONTROLS = [0, 0.0, "0", False, np.int64(0)]


@pytest.mark.parametrize("kind", list(ARM_COLUMNS))
@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_itt_and_cace_read_labels_by_value(trial, kind, control):
    # old: control=0 failed on a float column ("0.0"), control='0' on an int one in balance
    d = trial.assign(arm=ARM_COLUMNS[kind](trial["z"].to_numpy()))
    res = de.itt(d, outcome="y", assigned="arm", control=control)
    ref = de.itt(trial.assign(arm=np.where(trial["z"] == 1, "t", "c")), outcome="y",
                 assigned="arm", control="c")
    assert (res.control, res.treatment) == ("0", "1")
    assert res.estimate == pytest.approx(ref.estimate)
    c = de.cace(d, outcome="y", assigned="arm", received="took_up", control=control, treatment=1)
    assert c.first_stage.take_up_treatment > 0.5


@pytest.mark.parametrize("kind", list(ARM_COLUMNS))
@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_balance_and_attrition_read_labels_by_value(trial, kind, control):
    d = trial.assign(arm=ARM_COLUMNS[kind](trial["z"].to_numpy()))
    bt = de.balance(d, assigned="arm", covariates=["age"], control=control)
    assert bt.control == "0" and bt.arms == ("0", "1")
    at = de.attrition(d, assigned="arm", responded="responded", control=control)
    assert at.to_frame() is not None


def test_balance_error_names_the_labels_the_way_they_are_read(trial):
    # old: "arm 0 is not in column ... which holds '0', '1'" for control=0 on an int column
    with pytest.raises(DesignError, match=r"balance: the control arm 2 is not in column 'z', which holds '0', '1'"):
        de.balance(trial, assigned="z", covariates=["age"], control=2)


def test_flow_take_up_and_contamination_read_labels_by_value(trial):
    people = trial.assign(id=range(N), arm=trial["z"].astype(float),
                          randomised_on=pd.Timestamp("2024-01-01"))
    fl = de.flow(people, assigned="arm", control=0, received="took_up")
    assert fl.arms == ("0", "1") and fl.allocated == {"0": N // 2, "1": N // 2}
    starts = pd.DataFrame({"id": [1, 3], "start_date": pd.Timestamp("2024-01-10")})
    tu = de.take_up(people, starts, control=0.0)
    assert tu["received"].tolist()[:4] == [0, 1, 0, 1]
    for arms in (people["z"], people["z"].astype(bool)):  # old: foreign exceptions
        summ = de.contamination_summary(tu.assign(arm=arms.to_numpy()), by="arm")
        assert summ.to_frame()["n"].tolist() == [N // 2, N // 2]


def test_plan_accepts_numeric_labels():
    # old: "[design] control must be a column name or label (text). Got 0 instead."
    text = '[design]\nassigned = "z"\ncontrol = 0\ntreatment = 1\n[outcomes]\nprimary = ["y"]\n'
    plan = AnalysisPlan.from_dict(tomllib.loads(text))
    assert (plan.design["control"], plan.design["treatment"]) == ("0", "1")
    on_bool = AnalysisPlan.from_dict(tomllib.loads(text.replace("control = 0", "control = false")))
    assert on_bool.design["control"] == "0"


def test_numeric_labels_read_well_in_summaries(trial):
    res = de.itt(trial, outcome="y", assigned="z", control=0)
    text = res.summary()
    assert text.startswith("ITT of treatment (z = 1) vs control (z = 0) on y")
    assert "means           control (z = 0) " in text
    words = de.itt(trial.assign(arm=np.where(trial["z"] == 1, "offered", "control")),
                   outcome="y", assigned="arm")
    assert words.summary().startswith("ITT of offered vs control on y")


def test_bad_label_type_is_an_option_error(trial):
    with pytest.raises(OptionError, match=r"The 'control' parameter of itt must be an arm label"):
        de.itt(trial, outcome="y", assigned="z", control=[0])


# ------------------------------------------------------------------ strata


def test_strata_list_in_itt_cace_balance_impact_table(trial):
    # old: itt(strata=[...]) raised a raw TypeError (unhashable list)
    joined = trial.assign(cell=trial["site"] + "/" + trial["benefit"])
    kw = dict(outcome="y", assigned="z", control=0)
    a = de.itt(trial, strata=["site", "benefit"], **kw)
    b = de.itt(joined, strata="cell", **kw)
    assert a.estimate == pytest.approx(b.estimate) and a.std_error == pytest.approx(b.std_error)
    assert a.n_strata == 4
    c = de.cace(trial, received="took_up", strata=["site", "benefit"], **kw)
    assert c.estimate == pytest.approx(de.cace(joined, received="took_up", strata="cell", **kw).estimate)
    bt = de.balance(trial, assigned="z", covariates=["age"], control=0, strata=["site", "benefit"])
    assert bt.omnibus[0].statistic == pytest.approx(
        de.balance(joined, assigned="z", covariates=["age"], control=0, strata="cell").omnibus[0].statistic)
    tab = de.impact_table(trial, outcomes=["y"], assigned="z", control=0, strata=["site", "benefit"])
    assert tab.effects[0].estimate == pytest.approx(a.estimate)


def test_strata_labels_with_separators_stay_apart():
    # "a|b" + "c" and "a" + "b|c" are two strata, not one
    d = pd.DataFrame({"s1": ["a|b"] * 4 + ["a"] * 4, "s2": ["c"] * 4 + ["b|c"] * 4,
                      "z": [0, 1] * 4, "y": np.arange(8.0)})
    assert de.itt(d, outcome="y", assigned="z", control=0, strata=["s1", "s2"]).n_strata == 2


def test_small_strata_are_named_with_the_fix(trial):
    d = trial.assign(s=np.repeat([f"s{i}" for i in range(10)], 8))
    d.loc[[0, 1, 2], "s"] = "tiny"  # one treated person in each of 'tiny' and 'tiny2'
    d.loc[[8, 9, 10], "s"] = "tiny2"
    msg = re.escape(
        "itt: 2 of the 12 strata in 's' have fewer than two people in an arm ('tiny', 'tiny2'), "
        "so the blocked difference in means cannot estimate their variance"
    )
    with pytest.raises(DesignError, match=msg + r".*Fix: merge those strata with neighbouring "
                       r"ones, or pass estimator='ols'"):
        de.itt(d, outcome="y", assigned="z", control=0, strata="s")
    assert np.isfinite(de.itt(d, outcome="y", assigned="z", control=0, strata="s",
                              estimator="ols").std_error)


# ------------------------------------------------------------------ bad frames


def test_duplicated_column_names_are_named(trial):
    d = trial[["z", "y", "age", "age"]]
    msg = r"data has duplicated column name\(s\) 'age', so 'age' does not name one column"
    with pytest.raises(ColumnError, match="itt: " + msg):
        de.itt(d, outcome="y", assigned="z", control=0)
    with pytest.raises(ColumnError, match="cace: " + msg):
        de.cace(d.assign(r=trial["took_up"].to_numpy()), outcome="y", assigned="z", received="r",
                control=0)
    with pytest.raises(ColumnError, match="balance: " + msg):
        de.balance(d, assigned="z", covariates=["y"], control=0)
    with pytest.raises(ColumnError, match="flow: " + msg):
        de.flow(d, assigned="z", control=0)
    flags = pd.DataFrame([[0, 1, 1]], columns=["arm", "received", "received"])
    with pytest.raises(ColumnError, match=r"contamination_summary: flags has duplicated column name"):
        de.contamination_summary(flags)


def test_infinity_after_missing_drop_is_named(trial):
    d = trial.assign(y=trial["y"].astype(float))
    d.loc[4, "y"] = np.nan
    d.loc[[6, 9], "y"] = [np.inf, -np.inf]
    with pytest.raises(
        ColumnError,
        match=r"itt: column 'y' \(outcome\) holds infinite values: 2 row\(s\) are \+/-inf \(first "
        r"at rows 6, 9\)\. Infinity is not a missing value, so missing='drop' does not remove it",
    ):
        de.itt(d, outcome="y", assigned="z", control=0, missing="drop")
    d2 = trial.assign(age=trial["age"].astype(float))
    d2.loc[3, "age"] = np.inf
    with pytest.raises(ColumnError, match=r"itt: column 'age' \(covariates\) holds infinite"):
        de.itt(d2, outcome="y", assigned="z", control=0, covariates=["age"], missing="drop")


def test_flow_with_a_non_unique_index_and_a_third_arm(trial):
    d = trial.assign(arm=np.tile(["control", "a", "b", "control"], N // 4),
                     y=trial["y"].where(np.arange(N) % 7 != 0))
    d.index = np.repeat(np.arange(N // 2), 2)  # old: ValueError from .loc on a duplicated index
    fl = de.flow(d, assigned="arm", received="took_up", followed_up="responded", outcome="y")
    assert fl.arms == ("control", "a", "b")
    assert sum(fl.allocated.values()) == N
    assert isinstance(fl.summary(), str) and len(fl.to_frame())
    fl.plot()


def test_balance_missing_drop_counts_and_warns(trial):
    d = trial.assign(age=trial["age"].astype(float))
    d.loc[[1, 2, 5], "age"] = np.nan
    with pytest.raises(Exception, match=r"balance: column 'age' \(covariates\) has 3 missing"):
        de.balance(d, assigned="z", covariates=["age"], control=0)
    with pytest.warns(DroppedRowsWarning, match=r"balance: 3 row\(s\) with missing values dropped \(3 with missing age\)"):
        bt = de.balance(d, assigned="z", covariates=["age"], control=0, missing="drop")
    assert dict(bt.dropped) == {"age": 3}
    assert sum(bt.n_by_arm.values()) == N - 3
    assert "dropped 3 row(s) with missing age" in bt.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dict(de.balance(trial, assigned="z", covariates=["age"], control=0).dropped) == {}
    with pytest.raises(OptionError, match=r"The 'missing' parameter of balance must be one of"):
        de.balance(trial, assigned="z", covariates=["age"], control=0, missing="omit")
