"""staggered_did's multiplier-bootstrap bands on repeated cross-sections against R did's
(tests/reference/did/did_rcs_bootstrap.R: five seeds of 20,000 draws, clustered by area,
survey weights). The band half-widths (critical value x SE) of every ATT(g, t) and of
every aggregation's rows must agree within Monte Carlo error, derived from the spread of
R's own five runs: one run here has the same noise as one of R's, so the tolerance is
4 x sd x sqrt(1 + 1/5) per row, and the mean ratio over rows must be within 1%."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dwp_eval import staggered_did

REF = Path(__file__).parent / "reference" / "did"
RCS = pd.read_csv(REF / "staggered_rcs.csv")
R = pd.read_csv(REF / "did_rcs_bootstrap.csv").assign(
    half=lambda d: d["se"] * d["crit"])


@pytest.fixture(scope="module")
def fit():  # type: ignore[no-untyped-def]
    return staggered_did(RCS, outcome="y", unit="area", time="quarter", cohort="cohort",
                         weights="w", panel=False, bootstrap=20_000, seed=11)


def _check(ours: np.ndarray, keys: list[str], what: str) -> None:
    r = R[R["what"] == what].groupby("key")["half"]
    mean, sd = r.mean().reindex(keys).to_numpy(), r.std().reindex(keys).to_numpy()
    assert np.all(np.isfinite(mean)) and len(keys) > 0
    tol = 4 * sd * np.sqrt(1 + 1 / 5)
    assert np.all(np.abs(ours - mean) <= tol), (what, np.abs(ours - mean) / tol)
    assert abs(float(np.mean(ours / mean)) - 1) < 0.01, (what, float(np.mean(ours / mean)))


def test_att_gt_band_matches_r_within_monte_carlo_error(fit) -> None:  # type: ignore[no-untyped-def]
    f = fit.att_gt
    keys = [f"{c} {t}" for c, t in zip(f["cohort"], f["time"], strict=True)]
    _check((f["band_high"] - f["estimate"]).to_numpy(), keys, "att_gt")


@pytest.mark.parametrize("kind", ["dynamic", "group", "calendar"])
def test_aggregation_bands_match_r_within_monte_carlo_error(fit, kind: str) -> None:  # type: ignore[no-untyped-def]
    a = fit.aggregate(kind, bootstrap=20_000, seed=12).to_frame()
    keys = [str(int(k)) for k in a.iloc[:, 1]]
    _check((a["band_high"] - a["estimate"]).to_numpy(), keys, kind)


def test_r_bootstrap_se_is_close_to_the_analytic_se(fit) -> None:  # type: ignore[no-untyped-def]
    """R's bootstrap SE (IQR / 1.349) runs a little above the analytic SE (the sum of 60
    Rademacher terms is platykurtic), which is why the band must use one scale for both
    the critical value and the SE (see _core.influence.multiplier_bootstrap)."""
    f = fit.att_gt
    keys = [f"{c} {t}" for c, t in zip(f["cohort"], f["time"], strict=True)]
    boot = R[R["what"] == "att_gt"].groupby("key")["se"].mean().reindex(keys).to_numpy()
    ratio = boot / f["std_error"].to_numpy()
    assert np.all((ratio > 1.0) & (ratio < 1.04)), ratio
