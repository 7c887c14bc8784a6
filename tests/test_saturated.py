"""The blocked difference in means under another se_type (``itt(strata=...,
se_type=...)``, ``with_se``): the variance of the saturated regression (assignment
interacted with centred stratum dummies, Lin 2013) from cell sums
(``_core/saturated.py``), never an ``n x strata`` dummy matrix (issue 19, item 8).

The grouped numbers equal the regression with explicit dummies (an independent
computation through the general least-squares and variance core) to 1e-10
relative: both are the same formula in floating point, so any difference beyond
rounding (~1e-14 observed) is a formula error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
import dwp_eval._core.difference_in_means as dim
from dwp_eval._core.regression import assignment_regression
from dwp_eval._core.saturated import saturated_blocked
from dwp_eval.errors import OptionError

RTOL = 1e-10
SE_TYPES = ["classical", "HC0", "HC1", "HC2", "HC3", "CR0", "CR1", "CR2"]


def _data(seed: int, n: int = 400, strata: int = 9, nested: bool = False):
    rng = np.random.default_rng(seed)
    st = rng.integers(0, strata, n)
    z = (rng.random(n) < 0.3 + 0.4 * (st % 2)).astype(int)
    z[:strata * 2] = np.repeat([0, 1], strata)  # both arms in every stratum
    st[:strata * 2] = np.tile(np.arange(strata), 2)
    z[strata * 2:strata * 4] = np.repeat([0, 1], strata)
    st[strata * 2:strata * 4] = np.tile(np.arange(strata), 2)
    y = rng.normal(size=n) * (1 + st % 3) + 0.3 * z * st + st
    w = rng.uniform(0.3, 3.0, n)
    cl = st * 20 + z * 7 + rng.integers(0, 4, n) if nested else rng.integers(0, 31, n)
    return y, z, st, w, np.unique(cl, return_inverse=True)[1]


def _dense(y, z, st, se_type, cluster, weights):
    levels = np.unique(st)
    cov = pd.DataFrame({f"s{b}": (st == b).astype(float) for b in levels[1:]})
    return assignment_regression(y, z, cov, "lin", strata=None, cluster=cluster, weights=weights,
                                 se_type=se_type, func="test")


def test_weighted_cr2_is_refused_by_the_cell_form():
    """Weighted CR2 has no cell form; the callers use the dummies, and the cell form says so."""
    y, z, st, w, cl = _data(3)
    with pytest.raises(ValueError, match="weighted CR2 has no cell form"):
        saturated_blocked(y, z, st, se_type="CR2", cluster=cl, weights=w)


# weighted CR2 has no cell form: it keeps the dummies (within MAX_DUMMY_CELLS), so the
# pair is not a case of the grouped path
@pytest.mark.parametrize(("se_type", "weighted"), [
    (t, w) for t in SE_TYPES for w in (False, True) if not (w and t == "CR2")
])
@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_grouped_equals_dense_dummies(se_type, weighted, nested, seed):
    y, z, st, w, cl = _data(seed, nested=nested)
    cluster = cl if se_type.startswith("CR") else None
    weights = w if weighted else None
    got = saturated_blocked(y, z, st, se_type=se_type, cluster=cluster, weights=weights)
    ref = _dense(y, z, st, se_type, cluster, weights)
    np.testing.assert_allclose(got[:3], ref[:3], rtol=RTOL)
    assert got[3] == ref[3]


def test_leverage_one_clusters_as_the_dense_path():
    """A cluster that is a whole cell (leverage one) gets weight 0 in CR2, as estimatr."""
    y, z, st, _, _ = _data(3, n=200, strata=5)
    cl = 2 * st + z  # clusters = cells
    got = saturated_blocked(y, z, st, se_type="CR2", cluster=cl)
    ref = _dense(y, z, st, "CR2", cl, None)
    np.testing.assert_allclose(got[:2], ref[:2], rtol=RTOL, atol=1e-12)  # SE 0 vs 2e-17


def _trial(strata: int, per: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = strata * per
    s = np.repeat(np.arange(strata), per)
    arm = np.tile(np.array(["control", "treatment"] * (per // 2)), strata)
    return pd.DataFrame({"y": rng.normal(size=n) + s % 5, "arm": arm, "s": s,
                         "w": rng.uniform(0.5, 2.0, n), "v": rng.integers(0, 40, n)})


@pytest.mark.parametrize("se_type", ["HC1", "HC2", "HC3", "classical"])
def test_itt_with_many_strata_builds_no_dummy_matrix(monkeypatch, se_type):
    """The user's case: a blocked trial with many strata and another se_type. The old
    code passed every stratum dummy to the general regression (n x strata)."""
    def refuse(y, z, cov, *args, **kwargs):
        if cov.shape[1] > 2:
            raise AssertionError(f"dense dummy matrix of {cov.shape[1]} columns built")
        return assignment_regression(y, z, cov, *args, **kwargs)

    monkeypatch.setattr(dim, "assignment_regression", refuse)
    d = _trial(300)
    res = de.itt(d, outcome="y", assigned="arm", strata="s", se_type=se_type)
    assert res.se_type == se_type and "Lin 2013" in res.method
    by = de.itt(d, outcome="y", assigned="arm", strata="s").with_se(se_type)
    assert by.std_error == res.std_error
    clustered = de.itt(d, outcome="y", assigned="arm", strata="s", cluster="v").with_se("CR1")
    assert clustered.cluster_role == "variance" and np.isfinite(clustered.std_error)


def test_itt_blocked_hc2_equals_the_dense_regression():
    d = _trial(12, per=6, seed=4)
    res = de.itt(d, outcome="y", assigned="arm", strata="s", se_type="HC3", weights="w")
    z = (d["arm"] == "treatment").to_numpy(int)
    ref = _dense(d["y"].to_numpy(), z, d["s"].to_numpy(), "HC3", None, d["w"].to_numpy())
    assert (res.estimate, res.std_error, res.df) == pytest.approx(ref[:3], rel=RTOL)


def test_weighted_cr2_with_many_strata_is_refused_with_the_limit(monkeypatch):
    monkeypatch.setattr(dim, "MAX_DUMMY_CELLS", 1000)
    d = _trial(20).assign(v=lambda x: np.arange(len(x)) % 9)
    with pytest.raises(OptionError, match=(
        r"The 'se_type' parameter of itt is 'CR2', which with weights enters the 20 strata of "
        r"this blocked design as dummies: 80 rows x 20 strata is above the limit of 1,000 "
        r"cells\. Fix: leave out weights= or the cluster, or merge strata\.")):
        de.itt(d, outcome="y", assigned="arm", strata="s", cluster="v", weights="w")
    # within the limit: the dummies, as before
    monkeypatch.setattr(dim, "MAX_DUMMY_CELLS", 10**6)
    res = de.itt(d, outcome="y", assigned="arm", strata="s", cluster="v", weights="w")
    assert res.se_type == "CR2" and res.cluster_role == "variance"
