""":func:`~dwp_eval.balance` on a Dask or Spark DataFrame: the descriptive table from
per-arm sums and the omnibus F test from the engine regression
(:mod:`dwp_eval._core.engines.regression`), equal to the in-memory results.

The table needs, per arm and covariate, the count, the sum and the sum of squared
deviations from the arm's mean (two passes, so the variance is as accurate as pandas'
``std``). The omnibus regression of an arm's indicator on the covariates (Hansen & Bowers
2008) is fitted from its cross-products, with the HC meat or per-cluster blocks of the
variance table; its checks (a constant covariate, too few clusters, leverage one, exact
prediction, a singular covariance) are made from sums too. Numeric covariates only;
strata and the randomisation version of the test need the rows in memory.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.engines import check_engine_columns, columns, kept, map_sums, require
from dwp_eval._core.engines.regression import cluster_sums_of, cr_vcov, fit_sums, floats, hc_vcov
from dwp_eval._validation import _fmt_list, arm_index, arm_keys, label_key, label_order
from dwp_eval.errors import DesignError, MissingDataError
from dwp_eval.estimate.engine_sample import check_numeric, refuse, warn_dropped
from dwp_eval.results import BALANCE_COLUMNS, BalanceTable, BalanceTest

__all__ = ["balance_on_engine"]

_NO_ARM = "\x00no arm"


@dataclass(frozen=True)
class _Omnibus:
    """The omnibus regression's rows: people in ``arm`` or control with every covariate;
    ``y`` their indicator of ``arm``, ``X`` an intercept and the covariates."""

    assigned: Hashable
    arm: str
    control: str
    covariates: tuple[Hashable, ...]
    cluster: Hashable | None
    centre: tuple[float, ...]  # the compared people's means (the intercept is theirs)
    weights: None = None

    @property
    def columns(self) -> list[Hashable]:
        return list(dict.fromkeys([self.assigned, *self.covariates]
                                  + ([self.cluster] if self.cluster is not None else [])))

    @property
    def k(self) -> int:
        return 1 + len(self.covariates)

    def arrays(self, chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        index = arm_index(chunk[self.assigned], (self.control, self.arm))
        keep = (index == 0) | (index == 1)
        for c in self.covariates:
            keep &= chunk[c].notna().to_numpy()
        X = np.empty((int(keep.sum()), self.k))
        X[:, 0] = 1.0
        for j, c in enumerate(self.covariates):
            X[:, 1 + j] = floats(chunk, c, keep) - self.centre[j]
        return X, (index[keep] == 1).astype(float), None, keep


def balance_on_engine(
    data: Any, engine: str, *, assigned: Hashable, covariates: Sequence[Hashable], control: Any,
    threshold: float, strata: Any, cluster: Hashable | None, used_se: str, omnibus: bool,
    draws: int, missing: str,
) -> BalanceTable:
    """:func:`~dwp_eval.balance` of a Dask or Spark DataFrame (options already checked)."""
    func = "balance"
    require(engine, func=func)
    if strata is not None:
        raise refuse("'strata' parameter", engine, func)
    if draws > 0:
        raise refuse("randomisation version of the omnibus test (draws=, seed=)", engine, func)
    roles: dict[str, Hashable | None] = {"assigned": assigned, "cluster": cluster}
    roles.update({f"covariates ({c!r})": c for c in covariates})
    check_engine_columns(columns(data), roles, param="data", func=func)
    check_numeric(data, engine, list(covariates), func=func,
                  what="the covariates (text covariates are expanded to dummies in memory only)")
    covs = tuple(covariates)
    with kept(data, [assigned, *covs, cluster]) as rows:
        dropped, arms, stats_ = _summaries(rows, assigned, covs, cluster, missing=missing, func=func)
        ctrl = str(label_key(control))
        if ctrl not in arms:
            raise DesignError(
                f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
                f"{_fmt_list(arms)}. Fix: pass control= with the control arm's label."
            )
        if cluster is not None:
            _check_clusters(rows, assigned, covs, cluster, arms, func=func)
        table, tests = _table(stats_, arms, ctrl, covs)
        if omnibus:
            tests = [_omnibus(rows, stats_, assigned, a, ctrl, covs, cluster, used_se, engine=engine,
                              func=func)
                     for a in arms if a != ctrl and stats_[a]["n"] > 0]
    return BalanceTable(
        pd.DataFrame(table, columns=BALANCE_COLUMNS), ctrl, tuple(arms),
        tuple(str(c) for c in covs), {a: int(stats_[a]["n"]) for a in arms}, threshold,
        omnibus=tuple(tests), strata=None, cluster=None if cluster is None else str(cluster),
        dropped=dropped,
    )


def _summaries(rows: Any, assigned: Hashable, covs: tuple[Hashable, ...], cluster: Hashable | None,
               *, missing: str, func: str) -> tuple[dict[str, int], list[str], dict[str, dict[str, Any]]]:
    """Missing values (raised or dropped, as in memory), the arms, and per arm the count,
    means and sums of squared deviations of each covariate (two passes)."""
    checked = [assigned, *covs]
    q = len(covs)
    na_names = ["rows", "na_cluster"] + [f"na_{i}" for i in range(len(checked))]
    sum_names = ["n"] + [f"s_{j}" for j in range(q)]

    def na(chunk: pd.DataFrame) -> pd.DataFrame:
        bad = np.zeros(len(chunk), dtype=bool)
        out = [float(len(chunk)),
               float(chunk[cluster].isna().sum()) if cluster is not None else 0.0]
        for c in checked:
            isna = chunk[c].isna().to_numpy()
            out.append(float((isna & ~bad).sum()) if missing == "drop" else float(isna.sum()))
            bad |= isna
        return pd.DataFrame([out], columns=na_names)

    t = map_sums(rows, checked + ([cluster] if cluster is not None else []), na, na_names).iloc[0]
    if t["na_cluster"]:
        raise MissingDataError(
            f"{func}: column {cluster!r} (cluster) has {int(t['na_cluster']):,} missing value(s). "
            f"Fix: fill them with an explicit category (e.g. 'unknown') or remove those rows "
            f"before calling {func}."
        )
    dropped: dict[str, int] = {}
    for i, (c, role) in enumerate([(assigned, "assigned"), *((c, "covariates") for c in covs)]):
        n_na = int(t[f"na_{i}"])
        if not n_na:
            continue
        if missing == "raise":
            raise MissingDataError(
                f"{func}: column {c!r} ({role}) has {n_na:,} missing value(s) among the "
                f"{int(t['rows']):,} rows. Fix: fill or remove them, or pass missing='drop' to "
                "describe the complete cases (the count dropped is recorded)."
            )
        dropped[str(c)] = n_na
    if dropped:
        warn_dropped(dropped, func=func, stacklevel=5)

    def complete(chunk: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        keep = np.ones(len(chunk), dtype=bool)
        for c in checked:
            keep &= chunk[c].notna().to_numpy()
        rows_ = chunk.loc[keep]
        return rows_, arm_keys(rows_[assigned]).to_numpy(dtype=object)

    def sums(chunk: pd.DataFrame) -> pd.DataFrame:
        rows_, keys = complete(chunk)
        x = rows_[list(covs)].to_numpy(dtype=float)
        out = pd.DataFrame(x, columns=sum_names[1:])
        out.insert(0, "n", 1.0)
        out.insert(0, "arm", keys)
        return out

    by_arm = map_sums(rows, checked, sums, sum_names, key="arm", key_type="string")
    means = {str(a): by_arm.loc[a, sum_names[1:]].to_numpy() / by_arm.loc[a, "n"] for a in by_arm.index}
    ss_names = [f"ss_{j}" for j in range(q)]

    def squares(chunk: pd.DataFrame) -> pd.DataFrame:
        rows_, keys = complete(chunk)
        x = rows_[list(covs)].to_numpy(dtype=float)
        centre = np.array([means[str(k)] for k in keys]).reshape(len(keys), q)
        out = pd.DataFrame((x - centre) ** 2, columns=ss_names)
        out.insert(0, "arm", keys)
        return out

    by_arm_ss = map_sums(rows, checked, squares, ss_names, key="arm", key_type="string")
    arms = sorted((str(a) for a in by_arm.index), key=label_order)
    stats_ = {a: {"n": int(by_arm.loc[a, "n"]), "mean": means[a],
                  "ss": by_arm_ss.loc[a, ss_names].to_numpy()} for a in arms}
    return {c: n for c, n in dropped.items() if n}, arms, stats_


def _check_clusters(rows: Any, assigned: Hashable, covs: tuple[Hashable, ...], cluster: Hashable,
                    arms: list[str], *, func: str) -> None:
    """Whole clusters randomised: each cluster's people in one arm (as in memory)."""
    names = [f"a_{i}" for i in range(len(arms))]

    def counts(chunk: pd.DataFrame) -> pd.DataFrame:
        keep = np.ones(len(chunk), dtype=bool)
        for c in [assigned, *covs]:
            keep &= chunk[c].notna().to_numpy()
        rows_ = chunk.loc[keep]
        keys = arm_keys(rows_[assigned]).to_numpy(dtype=object)
        out = pd.DataFrame({n: (keys == a).astype(float) for n, a in zip(names, arms, strict=True)})
        out.insert(0, "cluster", rows_[cluster].astype(str).to_numpy())
        return out

    per = map_sums(rows, [assigned, *covs, cluster], counts, names, key="cluster", key_type="string")
    mixed = per.index[(per[names] > 0).sum(axis=1).to_numpy() > 1]
    if len(mixed):
        raise DesignError(
            f"{func}: {len(mixed):,} cluster(s) of column {cluster!r} hold people of more than one "
            f"arm (e.g. {_fmt_list(sorted(mixed)[:5], 5)}), so whole clusters were not "
            "randomised. "
            "Fix: pass the column of the unit of assignment as cluster=, or cluster=None for "
            "individual randomisation."
        )


def _table(stats_: dict[str, dict[str, Any]], arms: list[str], ctrl: str,
           covs: tuple[Hashable, ...]) -> tuple[list[dict[str, Any]], list[BalanceTest]]:
    """The descriptive rows: Austin's (2009) standardised difference and the variance ratio."""
    c = stats_[ctrl]
    sc = np.sqrt(c["ss"] / (c["n"] - 1)) if c["n"] > 1 else np.full(len(covs), np.nan)
    rows = []
    for a in arms:
        g = stats_[a]
        if a == ctrl or g["n"] == 0:
            continue
        sa = np.sqrt(g["ss"] / (g["n"] - 1)) if g["n"] > 1 else np.full(len(covs), np.nan)
        pooled = np.sqrt((sa**2 + sc**2) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.where(pooled > 0, (g["mean"] - c["mean"]) / pooled, 0.0)
            vr = np.where(sc > 0, sa**2 / sc**2, np.nan)
        for j, col in enumerate(covs):
            rows.append({"covariate": str(col), "arm": a, "n_control": c["n"], "n_arm": g["n"],
                         "mean_control": float(c["mean"][j]), "mean_arm": float(g["mean"][j]),
                         "sd_control": float(sc[j]), "sd_arm": float(sa[j]),
                         "std_diff": float(sd[j]), "variance_ratio": float(vr[j])})
    return rows, []


def _omnibus(rows: Any, stats_: dict[str, dict[str, Any]], assigned: Hashable, arm: str, ctrl: str,
             covs: tuple[Hashable, ...], cluster: Hashable | None, se_type: str, *, engine: str,
             func: str) -> BalanceTest:
    """The omnibus F test of ``arm`` against control, as in memory."""
    a, c = stats_[arm], stats_[ctrl]
    n = a["n"] + c["n"]
    q = len(covs)
    fix = "Fix: drop it from covariates, or pass omnibus=False for the descriptive table only."
    pooled_ss = a["ss"] + c["ss"] + a["n"] * c["n"] / n * (a["mean"] - c["mean"]) ** 2
    pooled_mean = (a["n"] * a["mean"] + c["n"] * c["mean"]) / n
    for j, col in enumerate(covs):
        if pooled_ss[j] <= 1e-24 * n * max(pooled_mean[j] ** 2, 1.0):
            raise DesignError(
                f"{func}: covariate {col!r} is constant ({pooled_mean[j]:g}) among the {n:,} people "
                f"in {arm!r} and {ctrl!r}, so the omnibus regression cannot include it (it "
                f"would be collinear with the intercept). {fix}"
            )
    if n - q - 1 < 1:
        raise DesignError(
            f"{func}: the omnibus regression of {arm!r} vs {ctrl!r} has {q + 1} "
            f"parameters for {n:,} people, so there are no residual degrees of freedom. Fix: pass "
            "fewer covariates (or coarser strata)."
        )
    design = _Omnibus(assigned, arm, ctrl, covs, cluster, tuple(float(m) for m in pooled_mean))
    try:
        fit = fit_sums(rows, design, (0.0, 0.0))
    except np.linalg.LinAlgError:
        raise DesignError(
            f"{func}: the covariates {_fmt_list([str(c) for c in covs])} are collinear among the "
            f"people in {arm!r} and {ctrl!r} (one is a combination of the others). Fix: drop one "
            "of them. Or pass omnibus=False for the descriptive table without the omnibus test."
        ) from None
    k = design.k
    checks = ["lev1", "resid"]

    def check(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, _, _ = design.arrays(chunk)
        h = np.einsum("ij,jk,ik->i", X, fit.M, X)
        e = y - X @ fit.beta
        return pd.DataFrame([[float(np.sum(h >= 1.0 - 1e-10)), float(np.sum(np.abs(e) > 1e-10))]],
                            columns=checks)

    flags = map_sums(rows, design.columns, check, checks).iloc[0]
    if flags["resid"] == 0:
        raise DesignError(
            f"{func}: the covariates predict assignment to {arm!r} rather than {ctrl!r} exactly "
            "(every residual of the omnibus regression is zero), so they cannot be baseline "
            "covariates of a randomised trial. Fix: check that none of them was recorded after "
            "randomisation or derived from the arm."
        )
    n_clusters = None
    if cluster is not None:
        key_type = "string" if engine == "dask" else rows.schema[str(cluster)].dataType.simpleString()
        blocks = cluster_sums_of(rows, design, fit, key_type=key_type)
        n_clusters = len(blocks)
        if n_clusters - 1 <= q:
            raise DesignError(
                f"{func}: the {n_clusters:,} clusters in {arm!r} and {ctrl!r} are too few for a "
                f"cluster-robust test of {q} covariate coefficient(s): the covariance is singular "
                f"with fewer than {q + 2} clusters. Fix: pass fewer covariates (at most "
                f"{n_clusters - 2})."
            )
        V, _ = cr_vcov(blocks, design, fit, se_type)
        df_denom = float(n_clusters - 1)
    else:
        if se_type in ("HC0", "HC1", "HC2", "HC3") and flags["lev1"]:
            raise DesignError(
                f"{func}: {int(flags['lev1']):,} person(s) among those in {arm!r} and {ctrl!r} have "
                f"leverage one in the omnibus regression: their residuals are zero, so the "
                f"{se_type} covariance, and the F test, are not defined. Fix: merge rare levels "
                "into a larger one, or drop the covariate."
            )
        V = hc_vcov(rows, design, fit, se_type)
        df_denom = float(fit.n - k)
    Vb = V[1:, 1:]
    b = fit.beta[1:]
    # singular covariance: judged in the coordinates where the covariates' X'X is I
    R = np.linalg.cholesky(np.linalg.inv(fit.M[1:, 1:])).T
    meat = R @ Vb @ R.T
    s2 = _residual_variance(rows, design, fit) / (fit.n - k)
    if not float(np.linalg.eigvalsh((meat + meat.T) / 2).min()) > 1e-10 * s2:
        raise DesignError(
            f"{func}: the {se_type} covariance of the covariate coefficients of {arm!r} vs "
            f"{ctrl!r} is singular: in some direction of the covariates no person (or "
            "cluster) has residual variation. The omnibus Wald test is then undefined. Fix: "
            "drop the covariate."
        )
    wald = float(b @ np.linalg.solve(Vb, b))
    statistic = wald / q
    return BalanceTest(
        arm=arm, control=ctrl, statistic=float(statistic), df_num=int(q), df_denom=df_denom,
        p_value=float(stats.f.sf(statistic, q, df_denom)), wald=wald, ri_p_value=None,
        ri_draws=0, ri_mcse=None, se_type=se_type,
        design="cluster" if cluster is not None else "complete", n_obs=int(fit.n),
        terms=tuple(str(c) for c in covs), n_strata=None, n_clusters=n_clusters,
        ri_enumerated=False, notes=(),
    )


def _residual_variance(rows: Any, design: _Omnibus, fit: Any) -> float:
    def ee(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, _, _ = design.arrays(chunk)
        return pd.DataFrame([[float(np.sum((y - X @ fit.beta) ** 2))]], columns=["ee"])

    return float(map_sums(rows, design.columns, ee, ["ee"]).iloc[0, 0])
