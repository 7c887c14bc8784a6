"""Reports at the edges (issue 19): rates of 0% and 100%, a subgroup cell that cannot
be estimated, labels that carry markup, and writes that are atomic and all-or-none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint
from test_report import _plan, _trial

from dwp_eval._core.proportion import wilson_interval
from dwp_eval.report.report import Report, analyse

pytestmark = pytest.mark.filterwarnings("ignore::dwp_eval.errors.DroppedRowsWarning")

# Away from 0 and n our Wilson bounds and statsmodels' come from the same formula written
# differently: they agree to rounding (a few ulps), 1e-12 leaves room for that and nothing else.
WILSON_ATOL = 1e-12


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return _trial()


# ---------------------------------------------------------------------------- rates at 0 and 1


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.32])
def test_wilson_bounds_match_statsmodels_away_from_the_edges(alpha: float) -> None:
    n = np.repeat(np.arange(2, 400), np.arange(2, 400) - 1)
    k = np.concatenate([np.arange(1, m) for m in range(2, 400)])
    lo, hi = wilson_interval(k, n, alpha)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, rtol=0, atol=WILSON_ATOL)
    np.testing.assert_allclose(hi, ref_hi, rtol=0, atol=WILSON_ATOL)


def test_wilson_bounds_are_exact_at_zero_and_n_and_never_on_the_wrong_side() -> None:
    n = np.arange(1, 5001)
    for k in (np.zeros_like(n), n, n // 2, np.minimum(n, 1), n - np.minimum(n, 1)):
        lo, hi = wilson_interval(k, n)
        rate = k / n
        assert (lo <= rate).all() and (rate <= hi).all()
        assert (lo >= 0).all() and (hi <= 1).all()
    lo, hi = wilson_interval(n, n)
    assert (hi == 1.0).all()  # statsmodels gives 1 - 1.1e-16 for n = 7, 9, 12, ...
    lo, hi = wilson_interval(np.zeros_like(n), n)
    assert (lo == 0.0).all()
    lo, hi = wilson_interval(150, 150)
    assert float(hi) == 1.0 and float(lo) < 1.0


def test_a_site_whose_controls_are_all_contaminated_does_not_crash_the_report(
    trial: pd.DataFrame,
) -> None:
    df = trial.copy()
    # pick a site whose control arm has a size where the plain formula falls below the rate
    ctrl = df["arm"] == "control"
    sizes = df[ctrl].groupby("site").size()
    bad = [s for s, m in sizes.items() if proportion_confint(m, m, method="wilson")[1] < 1.0]
    site = bad[0] if bad else sizes.index[0]
    if not bad:  # trim the site's controls to 7 people (statsmodels' upper bound 1 - 1.1e-16)
        keep = df.index[ctrl & (df["site"] == site)][7:]
        df = df.drop(index=keep)
        ctrl = df["arm"] == "control"
    df.loc[ctrl & (df["site"] == site), "contaminated"] = 1
    rep = analyse(df, _plan(subgroups={"by": []}, analysis={"cace": False}))
    by_site = rep.results["contamination_by_site"].to_frame()
    row = by_site[by_site["site"] == site].iloc[0]
    assert row["rate"] == 1.0 and row["conf_high"] == 1.0
    assert (by_site["conf_low"] <= by_site["rate"]).all()
    assert (by_site["rate"] <= by_site["conf_high"]).all()
    assert isinstance(rep, Report)
