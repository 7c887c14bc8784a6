"""Seeded draws do not depend on how strata and cluster labels are spelled (issue
19, item 9): cells and clusters are ordered by first appearance in the analysed
rows, not by the sorted label text, so recoding labels (permuted names, integers
for strings) gives the same p-values and intervals with the same seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval._core.assignments import first_appearance_codes


def _trial(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_cl = 24
    size = rng.integers(3, 9, size=n_cl)
    cl = np.repeat(np.arange(n_cl), size)
    stratum_of_cl = np.arange(n_cl) % 4
    treated_cl = np.zeros(n_cl, dtype=bool)
    for s in range(4):
        members = np.flatnonzero(stratum_of_cl == s)
        treated_cl[rng.permutation(members)[: len(members) // 2]] = True
    y = rng.normal(size=len(cl)) + rng.normal(size=n_cl)[cl] + 0.3 * treated_cl[cl]
    return pd.DataFrame({
        "office": [f"office-{c:02d}" for c in cl],
        "region": [f"r{s}" for s in stratum_of_cl[cl]],
        "arm": np.where(treated_cl[cl], "treatment", "control"),
        "y": y,
    })


def _recoded(df: pd.DataFrame) -> pd.DataFrame:
    # other names, in another sorted order: reversed region names, clusters as shuffled ints
    out = df.copy()
    regions = sorted(df["region"].unique())
    out["region"] = df["region"].map(dict(zip(regions, ["zz", "b", "m", "a"], strict=True)))
    offices = sorted(df["office"].unique())
    ints = np.random.default_rng(0).permutation(len(offices)) * 7 + 3
    out["office"] = df["office"].map(dict(zip(offices, ints.tolist(), strict=True)))
    return out


def test_first_appearance_codes() -> None:
    np.testing.assert_array_equal(first_appearance_codes(np.array([5, 2, 5, 9, 2, 0])), [0, 1, 0, 2, 1, 3])
    assert first_appearance_codes(np.array([], dtype=np.int64)).size == 0


@pytest.mark.parametrize("strata", [None, "region"])
def test_randomisation_test_is_invariant_to_label_spelling(strata: str | None) -> None:
    df = _trial()
    kw = dict(outcome="y", assigned="arm", strata=strata, cluster="office", draws=999, seed=11)
    a = de.randomisation_test(df, **kw)
    b = de.randomisation_test(_recoded(df), **kw)
    assert a.p_value == b.p_value
    assert a.interval() == b.interval()


def test_randomisation_test_of_people_is_invariant_to_strata_spelling() -> None:
    df = _trial()
    kw = dict(outcome="y", assigned="arm", strata="region", draws=999, seed=3)
    a = de.randomisation_test(df, **kw)
    b = de.randomisation_test(_recoded(df), **kw)
    assert a.p_value == b.p_value
    assert a.interval() == b.interval()


@pytest.mark.parametrize("strata", [None, "region"])
def test_wild_cluster_bootstrap_is_invariant_to_label_spelling(strata: str | None) -> None:
    df = _trial()
    kw = dict(outcome="y", assigned="arm", strata=strata, cluster="office", draws=999, seed=11)
    a = de.wild_cluster_bootstrap(df, **kw)
    b = de.wild_cluster_bootstrap(_recoded(df), **kw)
    assert a.p_value == pytest.approx(b.p_value, abs=0, rel=0)
    np.testing.assert_allclose(a.interval(), b.interval(), rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(strata="region"), dict(cluster="office"),
                                dict(strata="region", cluster="office")])
def test_romano_wolf_is_invariant_to_label_spelling(kw: dict) -> None:
    df = _trial()
    df["y2"] = df["y"] + np.random.default_rng(1).normal(size=len(df))
    args = dict(outcomes=["y", "y2"], assigned="arm", draws=499, seed=7, **kw)
    a = de.romano_wolf(df, **args).to_frame()
    b = de.romano_wolf(_recoded(df), **args).to_frame()
    pd.testing.assert_series_equal(a["p_value_adjusted"], b["p_value_adjusted"])
    pd.testing.assert_series_equal(a["p_value_bootstrap"], b["p_value_bootstrap"])


@settings(max_examples=12, deadline=None)
@given(perm_seed=st.integers(0, 2**16), as_text=st.booleans(), seed=st.integers(0, 2**16))
def test_any_relabelling_gives_the_same_seeded_test(perm_seed: int, as_text: bool, seed: int) -> None:
    df = _trial()
    rng = np.random.default_rng(perm_seed)
    out = df.copy()
    for col in ("region", "office"):
        levels = sorted(df[col].unique())
        new = rng.permutation(len(levels)) * 5 + 1
        out[col] = df[col].map(dict(zip(levels, [f"L{v}" if as_text else int(v) for v in new],
                                        strict=True)))
    kw = dict(outcome="y", assigned="arm", strata="region", cluster="office", draws=199, seed=seed)
    a = de.randomisation_test(df, **kw)
    b = de.randomisation_test(out, **kw)
    assert (a.p_value, a.interval()) == (b.p_value, b.interval())
    wa = de.wild_cluster_bootstrap(df, **kw)
    wb = de.wild_cluster_bootstrap(out, **kw)
    assert wa.p_value == wb.p_value
    np.testing.assert_allclose(wa.interval(), wb.interval(), rtol=1e-12)
