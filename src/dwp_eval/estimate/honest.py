"""Sensitivity of an event study to bounded violations of parallel trends
(:func:`honest_did`, Rambachan & Roth 2023) and the power of the pre-trend test
(:func:`pretrend_power`, Roth 2022)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

from dwp_eval._validation import check_alpha, check_draws, check_option, check_seed
from dwp_eval.errors import ConvergenceError, DesignError, OptionError
from dwp_eval.estimate.honest_rm import identified_half_width, rm_breakdown, rm_set
from dwp_eval.results.event_study import EventStudy
from dwp_eval.results.honest import HonestDid, PretrendPower, honest_frame

__all__ = ["honest_did", "pretrend_power"]

_METHODS = ("smoothness", "relative_magnitude")


def _event_inputs(
    result: EventStudy | None, betahat: Any, sigma: Any, num_pre: Any, num_post: Any, *, func: str,
) -> tuple[np.ndarray, np.ndarray, int, int, str]:
    """``(betahat, sigma, num_pre, num_post, outcome)`` from an :class:`EventStudy`
    (event times sorted, the reference excluded) or from the arrays."""
    if result is not None:
        if betahat is not None or sigma is not None:
            raise OptionError(f"{func}: pass an EventStudy result or betahat= and sigma=, not both.")
        if not isinstance(result, EventStudy) or result.by != "event_time":
            raise OptionError(f"The 'event_study_result' parameter of {func} must be an EventStudy by "
                              f"event time (from dwp_eval.event_study). Got {type(result).__name__} instead.")
        f = result.to_frame()
        t = f["event_time"].to_numpy(dtype=float)
        if not np.all(np.diff(t) > 0):
            raise DesignError(f"{func}: the event times of the EventStudy are not increasing.")
        if result.ref is not None and result.ref != -1:
            raise DesignError(f"{func}: the reference event time must be -1 (the period before "
                              f"treatment). Got {result.ref}. Fix: event_study(..., ref=-1).")
        pre = t < 0
        if not np.array_equal(t[pre], np.arange(-int(pre.sum()) - 1, -1)) or not np.array_equal(
                t[~pre], np.arange(0, int((~pre).sum()))):
            raise DesignError(f"{func}: the event times must be consecutive around the reference -1; "
                              f"got {t.astype(int).tolist()}.")
        b = f["estimate"].to_numpy(dtype=float)
        v = result.vcov
        n_pre, n_post, outcome = int(pre.sum()), int((~pre).sum()), result.outcome
    else:
        if betahat is None or sigma is None or num_pre is None or num_post is None:
            raise OptionError(f"{func}: pass an EventStudy result, or all of betahat=, sigma=, "
                              "num_pre= and num_post=.")
        b = np.asarray(betahat, dtype=float).ravel()
        v = np.asarray(sigma, dtype=float)
        for name, val in (("num_pre", num_pre), ("num_post", num_post)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
                raise OptionError(f"The '{name}' parameter of {func} must be an int >= 1. Got {val!r} instead.")
        n_pre, n_post, outcome = int(num_pre), int(num_post), "outcome"
        if b.size != n_pre + n_post:
            raise OptionError(f"{func}: betahat has {b.size} entries but num_pre + num_post = "
                              f"{n_pre + n_post}.")
    if v.shape != (b.size, b.size):
        raise OptionError(f"{func}: sigma must be {b.size} x {b.size} (one row per coefficient). "
                          f"Got shape {v.shape}.")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(v))):
        raise OptionError(f"{func}: betahat and sigma must be finite (no NaN or inf).")
    if not np.allclose(v, v.T, rtol=1e-8, atol=1e-14 * max(1.0, float(np.abs(v).max()))):
        raise OptionError(f"{func}: sigma must be symmetric.")
    eig = np.linalg.eigvalsh((v + v.T) / 2)
    if eig.min() < -1e-10 * max(1.0, float(eig.max())):
        raise OptionError(f"{func}: sigma is not positive semi-definite (smallest eigenvalue "
                          f"{eig.min():.3g}). Fix: pass the estimates' covariance matrix.")
    if n_pre < 1 or n_post < 1:
        raise DesignError(f"{func}: needs at least one pre-period effect besides the reference and one "
                          f"post-period effect; got {n_pre} pre and {n_post} post.")
    return b, (v + v.T) / 2, n_pre, n_post, outcome


def _l_vec(l_vec: Any, n_post: int, *, func: str) -> np.ndarray:
    if l_vec is None:
        out = np.zeros(n_post)
        out[0] = 1.0
        return out
    if isinstance(l_vec, str):
        if l_vec == "average":
            return np.full(n_post, 1.0 / n_post)
        raise OptionError(f"The 'l_vec' parameter of {func} must be 'average' or {n_post} weights. "
                          f"Got {l_vec!r} instead.")
    out = np.asarray(l_vec, dtype=float).ravel()
    if out.size != n_post or not np.all(np.isfinite(out)) or not np.any(out):
        raise OptionError(f"The 'l_vec' parameter of {func} must be {n_post} finite weights, not all "
                          f"zero (one per post-period). Got {l_vec!r} instead.")
    return out


def folded_normal_quantile(bias: float, alpha: float) -> float:
    """The ``1 - alpha`` quantile of ``|N(bias, 1)|`` (Armstrong & Kolesar 2020, eq. 8)."""
    b = abs(float(bias))
    lo = b + stats.norm.ppf(1 - alpha) - 1e-9
    hi = b + stats.norm.ppf(1 - alpha / 2) + 1e-9
    return float(optimize.brentq(lambda c: stats.norm.cdf(c - b) - stats.norm.cdf(-c - b) - (1 - alpha),
                                 max(lo, 0.0), hi, xtol=1e-14, rtol=1e-14))


def _sd_parts(n_pre: int, n_post: int, lv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """For the estimator ``l'b_post + w'b_pre``: the second-difference coefficients
    of its bias are ``K w + k0`` and unbiasedness under a linear trend is ``a'w = a0``.

    ``delta`` (event times -n_pre..-1, 0..n_post-1 around the reference -1, where
    ``delta = 0``) is ``S^{-1} [s; g]``: ``s`` its second differences over the whole
    grid (|s| <= M under Delta^SD(M)) and ``g`` the value at the first post-period.
    """
    T = n_pre + n_post
    times = np.concatenate([np.arange(-n_pre - 1, -1), np.arange(0, n_post)]).astype(float)
    D = np.zeros((T - 1, T + 1))
    for i in range(T - 1):
        D[i, i:i + 3] = (1.0, -2.0, 1.0)
    D = np.delete(D, n_pre, axis=1)  # delta at the reference is 0
    last = np.zeros(T)
    last[n_pre] = 1.0
    S_inv = np.linalg.inv(np.vstack([D, last]))
    trend = S_inv[:, -1]  # a linear trend through the reference: delta_t = g (t + 1)
    if not np.allclose(trend, times + 1):  # internal: the basis must carry the linear trend
        raise RuntimeError("honest: the smoothness basis lost the linear trend (internal error)")
    basis = S_inv[:, :-1]  # T x (T-1)
    K = basis[:n_pre].T
    k0 = basis[n_pre:].T @ lv
    return K, k0, trend[:n_pre], -float(trend[n_pre:] @ lv)


def flci(betahat: np.ndarray, sigma: np.ndarray, n_pre: int, lv: np.ndarray, m: float,
         alpha: float) -> tuple[float, float, float, np.ndarray]:
    """The fixed-length confidence interval for ``l'tau_post`` under Delta^SD(M):
    ``(centre, half_length, worst_bias, w)`` (Armstrong & Kolesar 2018;
    Rambachan & Roth 2023, section 4.1)."""
    n_post = lv.size
    K, k0, a, a0 = _sd_parts(n_pre, n_post, lv)
    Spp, Spq, Sqq = sigma[:n_pre, :n_pre], sigma[:n_pre, n_pre:], sigma[n_pre:, n_pre:]

    def var(w: np.ndarray) -> float:
        return float(w @ Spp @ w + 2 * w @ Spq @ lv + lv @ Sqq @ lv)

    # the minimum-variance estimator unbiased under linear trends (the M = 0 optimum)
    kkt = np.block([[2 * Spp, a[:, None]], [a[None, :], np.zeros((1, 1))]])
    rhs = np.concatenate([-2 * Spq @ lv, [a0]])
    w0 = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:n_pre]

    def half(w: np.ndarray) -> float:
        sd = math.sqrt(max(var(w), 1e-300))
        return sd * folded_normal_quantile(m * float(np.abs(K @ w + k0).sum()) / sd, alpha)

    best = w0
    if m > 0 and n_pre > 1:
        n_s = K.shape[0]
        eye = np.eye(n_s)
        cons = [
            {"type": "eq", "fun": lambda x: np.array([a @ x[:n_pre] - a0]),
             "jac": lambda x: np.concatenate([a, np.zeros(n_s)])[None, :]},
            {"type": "ineq", "fun": lambda x: x[n_pre:] - (K @ x[:n_pre] + k0),
             "jac": lambda x: np.hstack([-K, eye])},
            {"type": "ineq", "fun": lambda x: x[n_pre:] + (K @ x[:n_pre] + k0),
             "jac": lambda x: np.hstack([K, eye])},
        ]

        def obj(x: np.ndarray) -> tuple[float, np.ndarray]:
            # the half-length is the perspective sd * cv(M U / sd) of the convex cv, so the
            # problem is convex; gradient from dc/db = (phi(c-b) - phi(c+b)) / (phi(c-b) + phi(c+b))
            w = x[:n_pre]
            sd = math.sqrt(max(var(w), 1e-300))
            r = m * float(x[n_pre:].sum()) / sd
            c = folded_normal_quantile(r, alpha)
            lo, hi = stats.norm.pdf(c - r), stats.norm.pdf(c + r)
            dc = (lo - hi) / (lo + hi)
            g_sd = (c - r * dc) * (Spp @ w + Spq @ lv) / sd
            grad = np.concatenate([g_sd, np.full(n_s, m * dc)])
            return sd * c / scale, grad / scale

        scale = half(w0)
        for start in (w0, np.zeros(n_pre) + a0 * a / max(a @ a, 1e-300)):
            x0 = np.concatenate([start, np.abs(K @ start + k0) + 1e-12])
            sol = optimize.minimize(obj, x0, jac=True, method="SLSQP", constraints=cons,
                                    options={"ftol": 1e-14, "maxiter": 1000})
            w = sol.x[:n_pre]
            if abs(a @ w - a0) < 1e-7 * max(1.0, abs(a0)) and half(w) < half(best):
                best = w
    bias = m * float(np.abs(K @ best + k0).sum())
    centre = float(lv @ betahat[n_pre:] + best @ betahat[:n_pre])
    return centre, half(best), bias, best


def honest_did(
    event_study_result: EventStudy | None = None,
    *,
    method: Literal["smoothness", "relative_magnitude"] = "smoothness",
    m: Sequence[float] | float | None = None,
    mbar: Sequence[float] | float | None = None,
    l_vec: Sequence[float] | Literal["average"] | None = None,
    alpha: float = 0.05,
    betahat: Any = None,
    sigma: Any = None,
    num_pre: int | None = None,
    num_post: int | None = None,
    grid_points: int = 1000,
    grid_bounds: tuple[float, float] | None = None,
    draws: int = 1000,
    seed: int | np.random.Generator = 0,
) -> HonestDid:
    r"""Confidence sets for a post-treatment effect that stay valid when parallel
    trends fail by a bounded amount (Rambachan & Roth 2023), with the breakdown value.

    Parameters
    ----------
    event_study_result
        An :class:`~dwp_eval.results.EventStudy` by event time with reference -1
        (from :func:`dwp_eval.event_study`); or pass ``betahat``, ``sigma``,
        ``num_pre`` and ``num_post`` (the pre-period coefficients first, the
        reference excluded), as R HonestDiD's ``createSensitivityResults`` takes.
    method
        ``"smoothness"``: :math:`\Delta^{SD}(M)`, the slope of the differential
        trend changes by at most ``M`` between consecutive periods, with the
        fixed-length confidence interval (FLCI), HonestDiD's default for it.
        ``"relative_magnitude"``: :math:`\Delta^{RM}(\bar M)`, each post-period change
        of the differential trend is at most ``mbar`` times the largest pre-period
        change, with the conditional least-favourable hybrid test ("C-LF"), HonestDiD's
        default for it.
    m
        The values of ``M`` (>= 0, in the outcome's units per period squared);
        default ten values from 0 to twice the largest pre-period standard error.
    mbar
        For ``"relative_magnitude"``: the values of :math:`\bar M` (>= 0, unitless);
        default ten values from 0 to 2 (HonestDiD's).
    l_vec
        Weights of the post-period effects in the target :math:`\theta = l'\tau`:
        default the first post-period effect; ``"average"`` their mean.
    alpha
        ``1 - alpha`` is the coverage of each interval.
    grid_points, grid_bounds, draws, seed
        For ``"relative_magnitude"``: the sets are found on a grid of ``grid_points``
        values of :math:`\theta` (HonestDiD's: 1000 on :math:`l'\hat\beta_{post} \pm
        (\bar M \sum_t t|l_t| \max_j|\Delta_j| + 20\,se)` unless ``grid_bounds``), widened
        by whole steps while an end point is accepted; ``conf_low``/``conf_high`` are the
        extreme accepted grid points, so each is within one step (``resolution``) of the
        exact bound. ``draws`` standard normal draws from ``seed`` simulate the
        least-favourable critical value (HonestDiD: 1000).

    Returns
    -------
    HonestDid
        One row per ``M`` with the robust interval; the conventional interval; the
        breakdown value of ``M`` (the largest at which the interval excludes 0; for
        relative magnitudes the smallest :math:`\bar M` whose set contains 0). For
        relative magnitudes ``estimate`` is :math:`l'\hat\beta_{post}`, ``half_length``
        half the width of the set and ``worst_bias`` half the width of the identified
        set at :math:`\beta = \hat\beta`.

    Notes
    -----
    With :math:`\hat\beta = (\hat\beta_{pre}, \hat\beta_{post}) \sim N(\beta, \Sigma)`
    and :math:`\beta = (0, \tau) + \delta`, :math:`\Delta^{SD}(M) = \{\delta :
    |(\delta_{t+1}-\delta_t) - (\delta_t - \delta_{t-1})| \le M\}` with
    :math:`\delta_{-1} = 0` (Rambachan & Roth 2023, eq. 8). The FLCI is
    :math:`\hat\theta \pm \chi`, :math:`\hat\theta = l'\hat\beta_{post} + w'\hat\beta_{pre}`,
    with :math:`\chi = \sigma_w\, cv_\alpha(\bar b_w / \sigma_w)` minimised over
    :math:`w`, where :math:`\bar b_w = \sup_{\delta\in\Delta^{SD}(M)} |E\hat\theta - \theta|`
    is the worst-case bias, :math:`\sigma_w` the standard deviation of
    :math:`\hat\theta` and :math:`cv_\alpha(b)` the :math:`1-\alpha` quantile of
    :math:`|N(b, 1)|` (Armstrong & Kolesar 2018; Rambachan & Roth 2023, section
    4.1). The worst-case bias is finite only if :math:`\hat\theta` is unbiased
    under every linear trend through the reference period; then
    :math:`\bar b_w = M \|c(w)\|_1`, :math:`c(w)` the weights of the estimator on
    the second differences of :math:`\delta`.

    :math:`\Delta^{RM}(\bar M) = \{\delta: |\delta_{t+1}-\delta_t| \le \bar M
    \max_{s<0}|\delta_{s+1}-\delta_s|, t \ge 0\}` (Rambachan & Roth 2023, section 2.4.1)
    is the union over the pre-period :math:`s` where the maximum is attained and its sign
    of polyhedra (their footnote 9). For each, :math:`H_0: l'\tau = \theta` is a system of
    moment inequalities with the other post-period effects as linear nuisance parameters
    (their eq. 12-13), tested by the conditional least-favourable hybrid of Andrews, Roth
    & Pakes (2023, section 4.3) at :math:`\kappa = \alpha/10`; the set is the union of
    the accepted :math:`\theta` (see :mod:`dwp_eval._core.arp`). With one post-period,
    as in HonestDiD, the second stage does not condition on passing the first.

    Examples
    --------
    >>> import numpy as np, dwp_eval as de
    >>> res = de.honest_did(betahat=np.array([0.01, 0.0, 0.05]), sigma=np.eye(3) * 1e-4,
    ...                     num_pre=2, num_post=1, m=[0.0, 0.01])
    >>> res.to_frame()["m"].tolist()
    [0.0, 0.01]
    """
    func = "honest_did"
    method = check_option(method, _METHODS, param="method", func=func)  # type: ignore[assignment]
    a = check_alpha(alpha, func=func)
    b, v, n_pre, n_post, outcome = _event_inputs(event_study_result, betahat, sigma, num_pre,
                                                 num_post, func=func)
    lv = _l_vec(l_vec, n_post, func=func)
    if method == "relative_magnitude":
        if m is not None:
            raise OptionError(f"{func}: m= is the bound of method='smoothness'; relative magnitudes "
                              "take mbar=.")
        return _relative_magnitude(b, v, n_pre, n_post, lv, outcome, a, mbar, grid_points,
                                   grid_bounds, draws, seed)
    if mbar is not None:
        raise OptionError(f"{func}: mbar= is the bound of method='relative_magnitude'; smoothness "
                          "takes m=.")
    if m is None:
        top = 2 * float(np.sqrt(np.diag(v)[:n_pre]).max())
        grid = np.linspace(0.0, top, 10)
    else:
        grid = np.atleast_1d(np.asarray(m, dtype=float)).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise OptionError(f"The 'm' parameter of {func} must be finite values >= 0. Got {m!r} instead.")
    theta = float(lv @ b[n_pre:])
    se = math.sqrt(float(lv @ v[n_pre:, n_pre:] @ lv))
    z = stats.norm.ppf(1 - a / 2)
    rows = []
    for mm in grid:
        c, h, bias, _ = flci(b, v, n_pre, lv, float(mm), a)
        rows.append({"m": float(mm), "estimate": c, "conf_low": c - h, "conf_high": c + h,
                     "half_length": h, "worst_bias": bias, "method": "FLCI"})
    return HonestDid(
        _frame=honest_frame(rows), restriction="smoothness", outcome=outcome, alpha=a,
        l_vec=tuple(float(x) for x in lv), num_pre=n_pre, num_post=n_post, estimate=theta, std_error=se,
        original=(theta - z * se, theta + z * se), breakdown=_breakdown(b, v, n_pre, lv, a),
    )


def _relative_magnitude(b: np.ndarray, v: np.ndarray, n_pre: int, n_post: int, lv: np.ndarray,
                        outcome: str, a: float, mbar: Any, grid_points: Any, grid_bounds: Any,
                        draws: Any, seed: Any) -> HonestDid:
    func = "honest_did"
    if mbar is None:
        grid = np.linspace(0.0, 2.0, 10)
    else:
        grid = np.atleast_1d(np.asarray(mbar, dtype=float)).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise OptionError(f"The 'mbar' parameter of {func} must be finite values >= 0. Got {mbar!r} "
                              "instead.")
    if isinstance(grid_points, bool) or not isinstance(grid_points, (int, np.integer)) or grid_points < 10:
        raise OptionError(f"The 'grid_points' parameter of {func} must be an int >= 10. Got "
                          f"{grid_points!r} instead.")
    bounds = None
    if grid_bounds is not None:
        lo_hi = np.asarray(grid_bounds, dtype=float).ravel()
        if lo_hi.size != 2 or not np.all(np.isfinite(lo_hi)) or not lo_hi[0] < lo_hi[1]:
            raise OptionError(f"The 'grid_bounds' parameter of {func} must be (low, high) with low < "
                              f"high. Got {grid_bounds!r} instead.")
        bounds = (float(lo_hi[0]), float(lo_hi[1]))
    n_draws = check_draws(draws, func=func, minimum=100)
    z = check_seed(seed, func=func).standard_normal((n_draws, 2 * n_post))
    theta = float(lv @ b[n_pre:])
    se = math.sqrt(float(lv @ v[n_pre:, n_pre:] @ lv))
    zq = stats.norm.ppf(1 - a / 2)
    rows, step = [], 0.0
    for mm in grid:
        got = rm_set(b, v, n_pre, lv, float(mm), a, z, int(grid_points), bounds)
        step = max(step, got.step)
        rows.append({"m": float(mm), "estimate": theta, "conf_low": got.low, "conf_high": got.high,
                     "half_length": (got.high - got.low) / 2,
                     "worst_bias": identified_half_width(b, n_pre, lv, float(mm)), "method": "C-LF"})
    return HonestDid(
        _frame=honest_frame(rows, label="Mbar"), restriction="relative_magnitude", outcome=outcome,
        alpha=a, l_vec=tuple(float(x) for x in lv), num_pre=n_pre, num_post=n_post, estimate=theta,
        std_error=se, original=(theta - zq * se, theta + zq * se),
        breakdown=rm_breakdown(b, v, n_pre, lv, a, z), resolution=step,
    )


def _breakdown(b: np.ndarray, v: np.ndarray, n_pre: int, lv: np.ndarray, alpha: float) -> float:
    """The largest ``M`` at which the FLCI excludes 0; NaN if it includes 0 at M = 0."""
    def gap(mm: float) -> float:
        c, h, _, _ = flci(b, v, n_pre, lv, mm, alpha)
        return abs(c) - h
    if gap(0.0) <= 0:
        return float("nan")
    hi = float(np.sqrt(np.diag(v)).max())
    for _ in range(60):
        if gap(hi) < 0:
            return float(optimize.brentq(gap, 0.0, hi, xtol=1e-10 * hi))
        hi *= 2
    raise ConvergenceError(f"honest_did: no breakdown value of M up to {hi:.3g} was found.")


def pretrend_power(
    event_study_result: EventStudy | None = None,
    *,
    slope: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    l_vec: Sequence[float] | Literal["average"] | None = None,
    betahat: Any = None,
    sigma: Any = None,
    num_pre: int | None = None,
    num_post: int | None = None,
    draws: int = 100_000,
    seed: int | np.random.Generator = 0,
) -> PretrendPower:
    r"""Power of the pre-trend test against a linear violation of parallel trends,
    and what conditioning on passing it does to the estimate (Roth 2022).

    Parameters
    ----------
    event_study_result, betahat, sigma, num_pre, num_post
        As :func:`honest_did` (only the covariance ``sigma`` matters here).
    slope
        The slope :math:`\gamma` of the violation :math:`\delta_t = \gamma (t + 1)`
        (the reference period is -1). Give ``slope`` or ``power``.
    power
        Find the (positive) slope at which the test has this power, e.g. 0.5 or 0.8.
    alpha
        The pre-test rejects when any pre-period ``|t|`` exceeds the ``1 - alpha/2``
        normal quantile (Roth 2022, section II).
    l_vec
        Weights of the post-period coefficients in the target (default the first).
    draws, seed
        Monte Carlo draws for the conditional bias.

    Notes
    -----
    With :math:`\hat\beta \sim N(\delta, \Sigma)` (no effect), the test passes when
    :math:`\hat\beta_{pre} \in B = \prod_t [-z\,\sigma_t, z\,\sigma_t]`; power is
    :math:`1 - P(\hat\beta_{pre}\in B)` (a multivariate normal rectangle
    probability). The bias of :math:`l'\hat\beta_{post}` given a pass is
    :math:`l'\delta_{post} + l'\Sigma_{post,pre}\Sigma_{pre}^{-1}(E[\hat\beta_{pre}\mid B] - \delta_{pre})`
    (Roth 2022, Proposition 1 and section III), the truncated mean estimated by
    simulation.

    Examples
    --------
    >>> import numpy as np, dwp_eval as de
    >>> p = de.pretrend_power(betahat=np.zeros(3), sigma=np.eye(3), num_pre=2, num_post=1, slope=0.0)
    >>> round(p.power, 4)
    0.0975
    """
    func = "pretrend_power"
    a = check_alpha(alpha, func=func)
    b, v, n_pre, n_post, outcome = _event_inputs(event_study_result, betahat, sigma, num_pre,
                                                 num_post, func=func)
    lv = _l_vec(l_vec, n_post, func=func)
    rng = check_seed(seed, func=func)
    if (slope is None) == (power is None):
        raise OptionError(f"{func}: give exactly one of slope= and power=.")
    t_pre = np.arange(-n_pre - 1, -1) + 1.0
    t_post = np.arange(0, n_post) + 1.0
    sd = np.sqrt(np.diag(v)[:n_pre])
    if np.any(sd <= 0):
        raise DesignError(f"{func}: a pre-period coefficient has zero variance.")
    z = stats.norm.ppf(1 - a / 2)
    def pw(g: float) -> float:
        mu = g * t_pre
        # a fresh, fixed stream for each evaluation (the cdf is quasi-Monte Carlo); ``seed=``
        # rather than cdf(rng=), which scipy 1.13 (the oldest supported) does not take
        mvn = stats.multivariate_normal(mean=np.zeros(n_pre), cov=v[:n_pre, :n_pre],
                                        allow_singular=True, seed=np.random.default_rng(12345))
        p_pass = float(mvn.cdf(z * sd - mu, lower_limit=-z * sd - mu))
        return 1.0 - p_pass

    if power is not None:
        if not 0 < float(power) < 1 or float(power) <= pw(0.0):
            raise OptionError(f"The 'power' parameter of {func} must be in ({pw(0.0):.4f}, 1) (the "
                              f"test's size is {pw(0.0):.4f}). Got {power!r} instead.")
        hi = float(sd.max())
        while pw(hi) < float(power):
            hi *= 2
        g = float(optimize.brentq(lambda x: pw(x) - float(power), 0.0, hi, xtol=1e-8 * hi))
    else:
        g = float(slope)  # type: ignore[arg-type]
        if not math.isfinite(g):
            raise OptionError(f"The 'slope' parameter of {func} must be finite. Got {slope!r} instead.")
    n_draws = check_draws(draws, func=func, minimum=1000)
    mu = np.concatenate([g * t_pre, g * t_post])
    x = rng.multivariate_normal(np.zeros(v.shape[0]), v, size=n_draws, method="eigh") + mu
    passed = np.all(np.abs(x[:, :n_pre]) <= z * sd, axis=1)
    if passed.sum() < 100:
        raise DesignError(f"{func}: fewer than 100 of {n_draws} draws pass the pre-test at slope {g:.4g}; "
                          "the conditional bias cannot be estimated. Fix: a smaller slope or more draws.")
    bias = float(lv @ (g * t_post))
    cond = float((x[passed, n_pre:] @ lv).mean())
    return PretrendPower(outcome=outcome, slope=g, power=pw(g), alpha=a, num_pre=n_pre,
                         num_post=n_post, l_vec=tuple(float(v_) for v_ in lv), bias=bias,
                         bias_given_pass=cond, draws=n_draws, estimate=float(lv @ b[n_pre:]))
