"""Seeded Monte Carlo: analytic power of the partially nested, three-level,
moderator and time-to-event designs agrees with simulated power.

Each scenario simulates ``SIMS`` trials (numpy, vectorised across trials where
the analysis allows), analyses them as the design says and rejects at the
design's critical value. The analytic power must be within 3 Monte Carlo
standard errors plus ``SLACK`` of the simulated rejection rate (the slack allows
for the approximations in the analytic formulas: Bloom's one-tail multiplier,
Satterthwaite's df, Schoenfeld's large-sample variance of the log-rank score).
The partially nested scenario also shows what ignoring the nesting does: the
naive two-sample t test rejects a true null far more often than alpha.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import dwp_eval.design.power as pw
from dwp_eval.design._power_structure import satterthwaite_df

pytestmark = pytest.mark.slow
SIMS = 2000
SLACK = 0.02


def _check(analytic: float, simulated: float, sims: int = SIMS) -> None:
    mcse = np.sqrt(simulated * (1 - simulated) / sims)
    assert abs(analytic - simulated) <= 3 * mcse + SLACK, (analytic, simulated, mcse)


def _nested_trials(rng: np.random.Generator, effect: float, n_t: int, n_c: int, m: int, icc: float):
    """Treatment arm: n_t people in n_t/m caseloads (specialist ICC icc); control: n_c people, SD 1."""
    j = n_t // m
    tau = np.sqrt(icc / (1 - icc))
    caseload = rng.normal(scale=tau, size=(SIMS, j))
    y_t = effect + np.repeat(caseload, m, axis=1) + rng.normal(size=(SIMS, n_t))
    y_c = rng.normal(size=(SIMS, n_c))
    return y_t.reshape(SIMS, j, m), y_c


def test_partially_nested() -> None:
    rng = np.random.default_rng(20260601)
    n, m, icc = 400, 8, 0.15
    design = dict(nested_in="treatment", cluster_size=m, icc=icc)
    effect = pw.mde(n=n, **design).mde
    y_t, y_c = _nested_trials(rng, effect, n // 2, n // 2, m, icc)
    j = y_t.shape[1]
    means = y_t.mean(axis=2)  # caseload means: the treatment arm's independent units
    v_t = means.var(axis=1, ddof=1) / j
    v_c = y_c.var(axis=1, ddof=1) / y_c.shape[1]
    est = means.mean(axis=1) - y_c.mean(axis=1)
    df = np.array([satterthwaite_df(a, j - 1, b, y_c.shape[1] - 1) for a, b in zip(v_t, v_c, strict=True)])
    reject = np.abs(est / np.sqrt(v_t + v_c)) > stats.t.ppf(0.975, df)
    _check(0.8, float(reject.mean()))


def test_ignoring_the_nesting_over_rejects() -> None:
    rng = np.random.default_rng(20260602)
    n, m, icc = 400, 20, 0.15
    y_t, y_c = _nested_trials(rng, 0.0, n // 2, n // 2, m, icc)
    flat = y_t.reshape(SIMS, -1)
    naive = stats.ttest_ind(flat, y_c, axis=1).pvalue < 0.05
    rate = float(naive.mean())
    # the variance the naive test ignores: 1 + (1 - p) m rho / (1 - rho) = 2.76 here
    assert rate > 0.05 + 3 * np.sqrt(0.05 * 0.95 / SIMS) + 0.1, rate


def test_three_level() -> None:
    rng = np.random.default_rng(20260603)
    k, j, m, icc2, icc3 = 24, 4, 15, 0.1, 0.05
    design = dict(cluster_size=m, icc=icc2, level3_size=j, icc_level3=icc3)
    effect = pw.mde(n_clusters=k, **design).mde
    # district means are what the analysis uses: simulate their distribution exactly
    v = icc3 + icc2 / j + (1 - icc2 - icc3) / (j * m)
    z = np.arange(k) < k // 2
    dm = effect * z + rng.normal(scale=np.sqrt(v), size=(SIMS, k))
    res = stats.ttest_ind(dm[:, z], dm[:, ~z], axis=1)
    _check(0.8, float((res.pvalue < 0.05).mean()))


def test_moderator_individual() -> None:
    rng = np.random.default_rng(20260604)
    n, q = 800, 0.3
    diff = pw.mde(n=n, moderator_share=q).mde
    z = np.arange(n) % 2 == 0
    x = rng.random((SIMS, n)) < q
    y = rng.normal(size=(SIMS, n)) + diff * (z & x)
    cells = [(zz, xx) for zz in (True, False) for xx in (True, False)]
    mean = {c: np.where((z == c[0]) & (x == c[1]), y, 0).sum(1) / ((z == c[0]) & (x == c[1])).sum(1) for c in cells}
    cnt = {c: ((z == c[0]) & (x == c[1])).sum(1) for c in cells}
    resid = sum(np.where((z == c[0]) & (x == c[1]), (y - mean[c][:, None]) ** 2, 0).sum(1) for c in cells)
    s2 = resid / (n - 4)
    est = (mean[(True, True)] - mean[(False, True)]) - (mean[(True, False)] - mean[(False, False)])
    se = np.sqrt(s2 * sum(1 / cnt[c] for c in cells))
    _check(0.8, float((np.abs(est / se) > stats.t.ppf(0.975, n - 4)).mean()))


@pytest.mark.parametrize("formula", ["schoenfeld", "freedman"])
def test_log_rank(formula: str) -> None:
    """Simulated log-rank power (scipy.stats.logrank) at the sample size found for 80%."""
    rng = np.random.default_rng(20260605)
    sims, median, accrual, follow_up, hr = 1000, 200.0, 180.0, 365.0, 1.5
    design = dict(control_median=median, accrual=accrual, follow_up=follow_up, events_formula=formula)
    res = pw.sample_size(mde=hr, **design)
    n_t, n_c = res.n_per_arm["treatment"], res.n_per_arm["control"]
    lam = np.log(2) / median
    rejects = 0
    for _ in range(sims):
        t = rng.exponential(1 / (lam * hr), n_t)
        c = rng.exponential(1 / lam, n_c)
        cens_t = accrual + follow_up - rng.uniform(0, accrual, n_t)
        cens_c = accrual + follow_up - rng.uniform(0, accrual, n_c)
        x = stats.CensoredData.right_censored(np.minimum(t, cens_t), t > cens_t)
        y = stats.CensoredData.right_censored(np.minimum(c, cens_c), c > cens_c)
        rejects += stats.logrank(x, y).pvalue < 0.05
    _check(res.power, rejects / sims, sims)


def test_log_rank_clustered() -> None:
    """Clustered times: the design effect on events keeps power near target.

    Clustered event times with exponential margins (a Gaussian copula with
    correlation ``sd`` within clusters, so proportional hazards hold for the
    arms' marginal distributions, which the log-rank test compares); the ICC given to the engine is the
    within-cluster correlation of the martingale residuals (the log-rank score's
    terms, the scale on which the design effect acts; Gangnon & Kosorok 2004),
    estimated from a large pilot draw. The analysis is the log-rank score with a
    cluster-robust variance (sum of per-cluster score residuals; Lin & Wei 1989).
    """
    rng = np.random.default_rng(20260606)
    sims, median, follow_up, hr, m, sd = 600, 200.0, 365.0, 1.5, 10, 0.5
    lam = np.log(2) / median

    def draw(j: int, psi: float) -> tuple[np.ndarray, np.ndarray]:
        # Gaussian copula: exponential margins (hazard lam * psi) exactly, correlated in clusters
        zc = np.repeat(rng.normal(size=j), m) * np.sqrt(sd) + rng.normal(size=j * m) * np.sqrt(1 - sd)
        t = -np.log(stats.norm.sf(zc)) / (lam * psi)
        return np.minimum(t, follow_up), t <= follow_up

    # pilot: the ICC of the martingale residuals dN_i - Lambda(t_i) within clusters
    t_p, e_p = draw(20000, 1.0)
    res_p = (e_p - lam * t_p).reshape(-1, m)
    res_p = res_p - res_p.mean()
    total = res_p.sum(1)
    icc = float(((total**2).sum() - (res_p**2).sum()) / (m - 1) / (res_p**2).sum())
    design = dict(control_median=median, follow_up=follow_up, cluster_size=m, icc=icc)
    res = pw.sample_size(mde=hr, **design)
    j_t, j_c = res.n_clusters_per_arm["treatment"], res.n_clusters_per_arm["control"]
    rejects = 0
    for _ in range(sims):
        tt, et = draw(j_t, hr)
        tc, ec = draw(j_c, 1.0)
        time = np.concatenate([tt, tc])
        event = np.concatenate([et, ec])
        arm = np.r_[np.ones(tt.size), np.zeros(tc.size)]
        cl = np.repeat(np.arange(j_t + j_c), m)
        order = np.argsort(time, kind="stable")
        time, event, arm, cl = time[order], event[order], arm[order], cl[order]
        at_risk = np.arange(time.size, 0, -1)
        treated_at_risk = np.cumsum(arm[::-1])[::-1]
        expected = treated_at_risk / at_risk
        # score residuals of each person (Lin & Wei 1989 style, no ties with continuous times)
        dn = event.astype(float)
        score_i = dn * (arm - expected)
        # compensator part: each person at risk at each event time contributes -(arm - e) / at_risk
        weights = np.cumsum(dn / at_risk)  # sum over event times up to and including own time
        comp = arm * weights - np.cumsum(dn * expected / at_risk)
        u = score_i - comp
        per_cluster = np.bincount(cl, weights=u)
        stat = u.sum() / np.sqrt((per_cluster**2).sum())
        rejects += abs(stat) > 1.959963984540054
    _check(res.power, rejects / sims, sims)
