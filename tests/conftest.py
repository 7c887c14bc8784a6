"""Shared test set-up: the hypothesis profile and small synthetic populations."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# Allocation calls take about a millisecond but their first call in a process
# imports scipy and friends, so a per-example deadline would only make tests
# flaky. Few, small examples keep every property module well under 10 s; set
# HYPOTHESIS_PROFILE=thorough for a longer local search.
settings.register_profile(
    "dwp_eval",
    deadline=None,
    max_examples=40,
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("dwp_eval"),
    max_examples=500,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dwp_eval"))


def _people(n: int, seed: int) -> pd.DataFrame:
    """A small participants file: integer ids, two stratum columns nested
    clusters (office within site), a referral day and three covariates."""
    rng = np.random.default_rng(seed)
    site = rng.choice(np.array(["north", "south", "wales"]), size=n, p=[0.5, 0.3, 0.2])
    office_no = rng.integers(1, 4, size=n)
    return pd.DataFrame(
        {
            "id": rng.permutation(np.arange(1, n + 1, dtype=np.int64) * 7),
            "site": site,
            "benefit": rng.choice(np.array(["UC", "ESA", "JSA"]), size=n),
            "office": [f"{s[:2]}-{k}" for s, k in zip(site, office_no, strict=True)],
            "referred_day": rng.integers(0, 60, size=n),
            "age": rng.integers(18, 65, size=n),
            "female": rng.integers(0, 2, size=n),
            "prior_earnings": np.round(rng.lognormal(8, 1, size=n) * (rng.random(n) < 0.5), 2),
        }
    )


@pytest.fixture
def people() -> pd.DataFrame:
    """240 participants in 3 sites x 3 benefits, with offices nested in sites."""
    return _people(240, seed=20180501)


@pytest.fixture
def make_people():
    """Factory: ``make_people(n, seed)`` returns a participants file like ``people``."""
    return _people
