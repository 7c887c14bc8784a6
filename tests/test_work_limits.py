"""Limits on work (issue 19, item 8): one constant, :data:`dwp_eval._validation.MAX_DRAWS`,
and one check, :func:`dwp_eval._validation.check_draws`, for every public function that
takes a number of draws, replications or simulations. Above the limit the call is
refused up front (before any work) with the argument, the limit and the fix."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval._validation import MAX_DRAWS, check_draws
from dwp_eval.errors import OptionError

HUGE = 2**62


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 80
    return pd.DataFrame({
        "id": np.arange(n),
        "arm": np.where(np.arange(n) % 2 == 0, "control", "treatment"),
        "y": rng.normal(size=n),
        "age": rng.normal(40, 10, size=n),
        "office": np.arange(n) // 4,
    })


def _limit(name: str, func: str) -> str:
    return re.escape(
        f"The '{name}' parameter of {func} is {HUGE:,}, above the limit of {MAX_DRAWS:,}"
    ) + r".*Fix: pass " + re.escape(f"{name}=10000 or fewer")


def test_one_constant():
    from dwp_eval.estimate import multiplicity

    assert MAX_DRAWS == 100_000
    assert multiplicity.MAX_DRAWS is MAX_DRAWS


def test_check_draws_messages():
    assert check_draws(np.int64(5), name="draws", func="f") == 5
    assert check_draws(MAX_DRAWS, name="draws", func="f") == MAX_DRAWS
    with pytest.raises(OptionError, match=_limit("reps", "f")):
        check_draws(HUGE, name="reps", func="f")
    with pytest.raises(OptionError, match=r"The 'sims' parameter of f must be an int >= 2\. Got 1 instead"):
        check_draws(1, name="sims", func="f", minimum=2)
    with pytest.raises(OptionError, match=r"must be a non-negative int \(x\)\. Got True instead"):
        check_draws(True, name="draws", func="f", minimum=0, hint=" (x)")


def test_randomisation_test(trial):
    with pytest.raises(OptionError, match=_limit("draws", "randomisation_test")):
        de.randomisation_test(trial, outcome="y", assigned="arm", draws=HUGE, seed=1)


def test_wild_cluster_bootstrap(trial):
    with pytest.raises(OptionError, match=_limit("draws", "wild_cluster_bootstrap")):
        de.wild_cluster_bootstrap(trial, outcome="y", assigned="arm", cluster="office", draws=HUGE, seed=1)


def test_balance(trial):
    with pytest.raises(OptionError, match=_limit("draws", "balance")):
        de.balance(trial, assigned="arm", covariates=["age"], draws=HUGE, seed=1)


def test_diagnose(trial):
    with pytest.raises(OptionError, match=_limit("sims", "diagnose")):
        de.diagnose(trial[["id", "age"]], effect=0.1, sims=HUGE, seed=1)


def test_cost_effectiveness(trial):
    eff = de.itt(trial, outcome="y", assigned="arm")
    with pytest.raises(OptionError, match=_limit("draws", "cost_effectiveness")):
        de.cost_effectiveness(eff, cost_per_participant=100.0, method="bootstrap", draws=HUGE, seed=1)


def test_romano_wolf(trial):
    with pytest.raises(OptionError, match=_limit("draws", "romano_wolf")):
        de.romano_wolf(trial.assign(y2=trial["y"] ** 2), outcomes=["y", "y2"], assigned="arm",
                       draws=HUGE, seed=1)
