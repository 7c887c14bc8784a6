"""The resampling plan behind Romano-Wolf adjusted p-values: a pairs bootstrap
that resamples the trial as it was designed (people, or whole clusters or pairs,
within strata and arm) and recomputes every hypothesis's studentised statistic
on the same draws (see :func:`dwp_eval.romano_wolf`).

Without covariates the design-based estimators are computed for all outcomes
and a batch of draws at once from unit totals and resampling counts; with
covariates (or another variance, or weights with clusters) each draw is refitted.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwp_eval._core.assignments import first_appearance_codes
from dwp_eval._core.difference_in_means import design_based, same_estimate_regression
from dwp_eval._core.regression import assignment_regression
from dwp_eval._core.sample import Prepared, codes, expand_covariates
from dwp_eval._validation import arm_keys
from dwp_eval.errors import DesignError, MissingDataError
from dwp_eval.results import Effect

__all__ = ["DesignBootstrap", "Hypothesis", "resample_counts"]

#: ``itt`` designs whose variance comes from the spread of pair differences:
#: Romano-Wolf resamples whole pairs (strata) for them.
PAIR_DESIGNS = ("matched-pair", "matched-pair clustered")

# Largest number of array elements (draws x resampled units) held at once by the
# bootstrap; about 32 MB per float64 array. Draws are made in batches of this size.
_BATCH_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis of a family (internal): an outcome, optionally on a subset."""

    label: str
    outcome: Hashable
    subset: np.ndarray | None  # boolean over the rows of ``data``; None = all rows
    effect: Effect
    covariates: tuple[Hashable, ...] | None = None  # None: the family's covariates


def _g(t: np.ndarray) -> np.ndarray:
    """``1 / (1 - t)``, and 0 where ``1 - t <= 1e-12`` (leverage one, as in CR2)."""
    one_minus = 1.0 - t
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(one_minus > 1e-12, 1.0 / one_minus, 0.0)
    return np.asarray(out)


class DesignBootstrap:
    """The resampling plan of a family and the studentised statistics of each draw."""

    def __init__(
        self,
        data: pd.DataFrame,
        hyps: Sequence[Hypothesis],
        *,
        assigned: Hashable,
        covariates: list[Hashable],
        adjustment: str,
        strata: Hashable | None,
        cluster: Hashable | None,
        se_type: str | None,
        weights: Hashable | None,
        within: Hashable | None,
        func: str,
    ) -> None:
        self.hyps = list(hyps)
        self.func = func
        self.adjustment = adjustment
        first = self.hyps[0].effect
        self.control, self.treatment = first.control, first.treatment
        arm_text = arm_keys(data[assigned])  # arm labels by value, as the effects read them
        keep = arm_text.isin([self.control, self.treatment]).fillna(False).to_numpy(dtype=bool)
        frame = data.loc[keep]
        n = len(frame)
        self.z = (arm_text[keep] == self.treatment).to_numpy(dtype=float)
        for col, role in ((strata, "strata"), (cluster, "cluster"), (weights, "weights")):
            if col is not None and frame[col].isna().any():
                raise MissingDataError(
                    f"{func}: column {col!r} ({role}) has missing values; design columns must be "
                    "complete for resampling."
                )
        # strata, clusters (and below units and subgroups) numbered by first appearance along
        # the rows: the seeded draws, unit by unit, then never depend on how labels are spelled
        self.st = None if strata is None else first_appearance_codes(codes(frame[strata]))
        self.cl = None if cluster is None else first_appearance_codes(codes(frame[cluster]))
        self.w = None if weights is None else frame[weights].to_numpy(dtype=float)

        # which rows enter each hypothesis, and its outcome (0 where excluded)
        H = len(self.hyps)
        self.inc = np.zeros((n, H), dtype=bool)
        self.y = np.zeros((n, H))
        self.hyp_covs = [list(covariates if h.covariates is None else h.covariates) for h in self.hyps]
        self.se_type = se_type
        for j, h in enumerate(self.hyps):
            inc = np.array(frame[h.outcome].notna(), dtype=bool)
            for c in self.hyp_covs[j]:
                inc &= frame[c].notna().to_numpy()
            if h.subset is not None:
                inc &= np.asarray(h.subset, dtype=bool)[keep]
            if int(inc.sum()) != h.effect.n_obs:  # pragma: no cover - internal consistency
                raise RuntimeError(
                    f"{func}: internal error: {int(inc.sum())} rows for {h.label!r}, but the "
                    f"effect used {h.effect.n_obs}."
                )
            self.inc[:, j] = inc
            yv = frame[h.outcome].to_numpy(dtype=float, na_value=np.nan)
            self.y[:, j] = np.where(inc, yv, 0.0)

        # Matched pairs (as itt detects them: every stratum holds two units, or the strata mix
        # pairs and larger blocks): whole strata are resampled, since a pair has one unit per arm.
        self.pair = False
        if self.st is not None:
            if self.cl is None:
                upb = np.bincount(self.st)
            else:
                upb = pd.Series(self.cl).groupby(self.st).nunique().to_numpy()
            upb = upb[upb > 0]
            self.pair = bool(np.all(upb == 2) or (np.any(upb == 2) and np.any(upb > 2)))

        # resampled units: pairs (strata), clusters (within strata) or people
        if self.pair and self.st is not None:  # matched pairs come from strata
            unit = self.st
            what = "pairs (strata)"
        elif self.cl is not None:
            key = self.cl if self.st is None else self.st * (int(self.cl.max()) + 1) + self.cl
            unit = first_appearance_codes(key)
            what = "clusters"
        else:
            unit = np.arange(n, dtype=np.int64)
            what = "people"
        self.unit = unit
        self.n_units = int(unit.max()) + 1
        _, first_row = np.unique(unit, return_index=True)  # first row of each unit
        self.unit_arm = self.z[first_row]
        self.unit_st = None if self.st is None else self.st[first_row]

        # Resampling cells: units are drawn with replacement within each cell. Strata always;
        # then arm, and the subgroup (``within``) when it is constant within units, each only
        # if every cell keeps at least two units (a one-unit cell would never vary).
        candidates: list[tuple[str, np.ndarray]] = []
        if not self.pair:
            if self.unit_st is not None:
                candidates.append(("strata", self.unit_st))
            candidates.append(("arm", self.unit_arm.astype(np.int64)))
        if within is not None:
            wc = first_appearance_codes(codes(frame[within].astype("string").fillna("<NA>")))
            constant = pd.Series(wc).groupby(unit).nunique().to_numpy() <= 1
            if np.all(constant):
                candidates.append((str(within), wc[first_row]))
        cell = np.zeros(self.n_units, dtype=np.int64)
        names: list[str] = []
        for name, part in candidates:
            finer = codes(pd.Series(cell * (int(part.max()) + 1) + part))
            if name != "strata" and np.bincount(finer).min() < 2:
                continue
            cell = finer
            names.append(name)
        # Number the units cell by cell, and by arm within a cell: each cell, each stratum
        # (cells are ordered by stratum first) and each stratum x arm is then a contiguous
        # range of units.
        perm = np.lexsort((self.unit_arm, cell))  # by cell, then arm within a cell
        relabel = np.empty(self.n_units, dtype=np.int64)
        relabel[perm] = np.arange(self.n_units)
        self.unit = relabel[unit]
        self.unit_arm = self.unit_arm[perm]
        self.unit_st = None if self.unit_st is None else self.unit_st[perm]
        self.cells = _runs(cell[perm])
        self.resampling = what + (" within " + " and ".join(names) if names else "")

        # how each draw's statistic is computed
        designs = {h.effect.design for h in self.hyps}
        if any(self.hyp_covs):
            self.mode = "regression"
        elif se_type is not None:  # the design's estimate with another variance, per draw
            self.mode = "design-loop"
        elif self.pair and designs <= set(PAIR_DESIGNS):
            self.mode = "pairs"
        elif not self.pair and not designs & set(PAIR_DESIGNS) and not (
            self.w is not None and self.cl is not None
        ):
            self.mode = "blocks"
        else:  # weighted CR2, or designs that differ between hypotheses: itt's own code per draw
            self.mode = "design-loop"
        self.cov: list[np.ndarray] = []
        self.cov_names: list[list[str]] = []
        if self.mode == "regression":
            for j in range(H):
                sub = frame.loc[self.inc[:, j]]
                expanded = expand_covariates(sub, self.hyp_covs[j], func)
                mat = np.full((n, expanded.shape[1]), np.nan)
                mat[self.inc[:, j]] = expanded.to_numpy(dtype=float)
                self.cov.append(mat)
                self.cov_names.append(list(expanded.columns))
        self.est_obs = np.array([h.effect.estimate for h in self.hyps], dtype=float)
        if self.mode == "blocks":
            self._sums = self._unit_sums()
        elif self.mode == "pairs":
            self._pair_sums = self._pair_block_sums()
        self._order = np.argsort(self.unit, kind="stable")
        self._sizes = np.bincount(self.unit, minlength=self.n_units)
        self._starts = np.cumsum(self._sizes) - self._sizes

    # ------------------------------------------------------------------ draws

    def counts(self, rng: np.random.Generator, draws: int) -> Iterator[np.ndarray]:
        """Batches of resampling counts (draws x units): how often each unit is drawn."""
        return resample_counts(self.cells, self.n_units, rng, draws)

    def run(self, draws: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """The ``draws x H`` studentised statistics and the number of degenerate draws."""
        out = []
        for C in self.counts(rng, draws):
            if self.mode == "blocks":
                est, se = self._blocks(C)
            elif self.mode == "pairs":
                est, se = self._pairs(C)
            else:
                est, se = self._loop(C)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (est - self.est_obs[None, :]) / se
            out.append(t)
        tb = np.vstack(out)
        bad = ~np.isfinite(tb)
        tb[bad] = np.inf
        return tb, int(np.sum(bad.any(axis=1)))

    # ------------------------------------------------------------------ vectorised estimators

    def _unit_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per unit and hypothesis: mass (weight total), sum of weight x centred outcome, count."""
        U, H = self.n_units, len(self.hyps)
        wt = np.ones(len(self.z)) if self.w is None else self.w
        m = np.zeros((U, H))
        s = np.zeros((U, H))
        k = np.zeros((U, H))
        for j in range(H):
            inc = self.inc[:, j].astype(float)
            centre = np.average(self.y[:, j], weights=inc * wt)  # shift: better-conditioned sums
            yc = np.where(self.inc[:, j], self.y[:, j] - centre, 0.0)
            m[:, j] = np.bincount(self.unit, weights=inc * wt, minlength=U)
            s[:, j] = np.bincount(self.unit, weights=inc * wt * yc, minlength=U)
            k[:, j] = np.bincount(self.unit, weights=inc, minlength=U)
        return m, s, k

    def _blocks(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blocked difference in means with HC2/CR2 (Neyman) variance per block and arm.

        For a cell (block x arm) with drawn units ``u`` (count ``c_u``), mass
        ``m_u`` (weight total of the unit's rows), sum ``S_u`` (of weight x
        outcome) and ``n = sum c_u m_u``: mean ``ybar = sum c_u S_u / n`` and
        variance ``sum_u c_u (S_u - m_u ybar)^2 / (1 - m_u / n) / n^2``, which
        is the CR2 (clusters), HC2 (weights) or Neyman ``s^2 / n`` (people)
        variance of the arm mean, since the leverage of unit ``u`` in a
        regression on arm indicators is ``m_u / n``.
        """
        m, s, _k = self._sums
        C = counts.astype(float)
        b, H = C.shape[0], m.shape[1]
        scalar = self.cl is None and self.w is None
        block_key = np.zeros(self.n_units, dtype=np.int64) if self.unit_st is None else self.unit_st
        num = np.zeros((b, H))
        den = np.zeros((b, H))
        var_num = np.zeros((b, H))
        with np.errstate(divide="ignore", invalid="ignore"):
            for a0, e0 in _runs(block_key):  # units of a block are consecutive, by arm
                d = np.zeros((b, H))
                v = np.zeros((b, H))
                for a1, e1 in _runs(self.unit_arm[a0:e0]):
                    sign = 1.0 if self.unit_arm[a0 + a1] == 1 else -1.0
                    ids = slice(a0 + a1, a0 + e1)
                    Cc = C[:, ids]
                    mi, si = m[ids], s[ids]
                    if scalar:  # people, unweighted: m_u in {0, 1}, S_u^2 = m_u y_u^2
                        r = Cc @ np.hstack([mi, si, si**2])
                        nn, tot, sq = r[:, :H], r[:, H : 2 * H], r[:, 2 * H :]
                        ybar = tot / nn
                        vv = (sq - nn * ybar**2) / (nn * (nn - 1))
                    else:
                        nn = Cc @ mi
                        ybar = (Cc @ si) / nn
                        vv = np.empty((b, H))
                        for j in range(H):
                            F = Cc * _g(mi[None, :, j] / nn[:, j, None])
                            a = F @ si[:, j] ** 2
                            c2 = F @ (si[:, j] * mi[:, j])
                            c3 = F @ mi[:, j] ** 2
                            vv[:, j] = (a - 2 * ybar[:, j] * c2 + ybar[:, j] ** 2 * c3) / nn[:, j] ** 2
                    d += sign * ybar
                    v += vv
                nb = C[:, a0:e0] @ m[a0:e0]  # weight total of the block (estimatr)
                use = nb > 0
                num += np.where(use, nb * d, 0.0)
                den += nb
                var_num += np.where(use, nb**2 * v, 0.0)
            est = num / den
            se = np.sqrt(var_num) / den
        return est, se

    def _pair_block_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per pair (stratum) and hypothesis: difference in means, people, included (0/1)."""
        B, H = self.n_units, len(self.hyps)
        d = np.zeros((B, H))
        nobs = np.zeros((B, H))
        for j in range(H):
            inc = self.inc[:, j].astype(float)
            centre = self.y[self.inc[:, j], j].mean()
            yc = np.where(self.inc[:, j], self.y[:, j] - centre, 0.0)
            n1 = np.bincount(self.unit, weights=inc * self.z, minlength=B)
            n0 = np.bincount(self.unit, weights=inc * (1 - self.z), minlength=B)
            s1 = np.bincount(self.unit, weights=inc * self.z * yc, minlength=B)
            s0 = np.bincount(self.unit, weights=inc * (1 - self.z) * yc, minlength=B)
            with np.errstate(divide="ignore", invalid="ignore"):
                d[:, j] = np.where(n1 + n0 > 0, s1 / n1 - s0 / n0, 0.0)
            nobs[:, j] = n1 + n0
        return d, nobs, (nobs > 0).astype(float)

    def _pairs(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matched-pair estimators on resampled pairs (see :func:`dwp_eval.itt` Notes)."""
        d, nobs, incl = self._pair_sums
        C = counts.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            nb = C @ incl
            N = C @ nobs
            nd = C @ (nobs * d)
            est = nd / N
            if self.cl is None:
                ss = C @ (incl * d**2) - 2 * est * (C @ (incl * d)) + est**2 * nb
                se = np.sqrt(ss / (nb * (nb - 1)))
            else:
                a = N * est / nb
                ss = C @ ((nobs * d) ** 2) - 2 * a * nd + nb * a**2
                se = np.sqrt(nb / ((nb - 1) * N**2) * ss)
        return est, se

    # ------------------------------------------------------------------ one fit per draw

    def _loop(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Refit each hypothesis on each draw (covariates, explicit SE types, weighted CR2)."""
        b, H = counts.shape[0], len(self.hyps)
        est = np.full((b, H), np.nan)
        se = np.full((b, H), np.nan)
        for i in range(b):
            copies = np.repeat(np.arange(self.n_units), counts[i])
            lens = self._sizes[copies]
            ends = np.cumsum(lens)
            offs = np.arange(int(ends[-1])) + np.repeat(self._starts[copies] - ends + lens, lens)
            rows = self._order[offs]
            copy_id = np.repeat(np.arange(len(copies)), lens)
            for j in range(H):
                sel = self.inc[rows, j]
                try:
                    est[i, j], se[i, j] = self._fit(j, rows[sel], copy_id[sel])
                except (DesignError, np.linalg.LinAlgError, ValueError):
                    pass  # degenerate draw: counted by run()
        return est, se

    def _fit(self, j: int, rows: np.ndarray, copy: np.ndarray) -> tuple[float, float]:
        h = self.hyps[j]
        y, z = self.y[rows, j], self.z[rows]
        w = None if self.w is None else self.w[rows]
        strata: np.ndarray | None
        cluster: np.ndarray | None
        if self.pair:
            strata = copy  # each drawn pair is its own stratum
            cluster = None
            if self.cl is not None:
                cluster = codes(pd.Series(copy * (int(self.cl.max()) + 1) + self.cl[rows]))
        else:
            strata = None if self.st is None else self.st[rows]
            cluster = None if self.cl is None else copy
        if strata is not None:  # consecutive codes: strata absent from this sample leave no gaps
            strata = np.unique(strata, return_inverse=True)[1].astype(np.int64)
        if not self.hyp_covs[j]:  # the difference in means, as itt estimated it
            prep = Prepared(
                y, z, pd.DataFrame(index=range(len(y))), strata, cluster, w, {}, self.treatment,
                self.control, {}, False,
            )
            est, se_, _, design, own, _ = design_based(prep, func=self.func)
            if self.se_type is not None and h.effect.se_type != own:
                se_, _, _ = same_estimate_regression(
                    prep, est, se_, design=design, own=own, se_type=h.effect.se_type,
                    func=self.func,
                )
            return est, se_
        X = self.cov[j][rows]
        names = self.cov_names[j]
        if X.shape[1]:
            if self.adjustment == "lin":
                ok = (np.ptp(X[z == 1], axis=0) > 0) & (np.ptp(X[z == 0], axis=0) > 0)
            else:
                ok = np.ptp(X, axis=0) > 0
            X = X[:, ok]
            names = [nm for nm, o in zip(names, ok, strict=True) if o]
        cov = pd.DataFrame(X, columns=names)
        est, se_, _, _ = assignment_regression(
            y, z, cov, self.adjustment, strata=strata, cluster=cluster, weights=w,
            se_type=h.effect.se_type, func=self.func,
        )
        return est, se_


def resample_counts(
    cells: Sequence[tuple[int, int]], n_units: int, rng: np.random.Generator, draws: int,
    *, batch_elements: int = _BATCH_ELEMENTS,
) -> Iterator[np.ndarray]:
    """Batches of bootstrap resampling counts (draws x units): units are numbered cell
    by cell (``cells``: the ``[start, end)`` range of each cell), and each draw takes
    ``end - start`` units with replacement within every cell (a stratum x arm, so the
    arms' and strata's sizes in units stay as designed). Row ``b`` of a batch says how
    often each unit was drawn in draw ``b``; batches hold at most ``batch_elements``
    draws x units."""
    U = n_units
    batch = max(1, min(draws, batch_elements // max(U, 1)))
    done = 0
    while done < draws:
        b = min(batch, draws - done)
        drawn = np.empty((b, U), dtype=np.int64)
        for a, e in cells:
            drawn[:, a:e] = a + rng.integers(0, e - a, size=(b, e - a))
        flat = drawn + (np.arange(b, dtype=np.int64) * U)[:, None]
        yield np.bincount(flat.ravel(), minlength=b * U).reshape(b, U)
        done += b


def _runs(sorted_codes: np.ndarray) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of equal values in ``sorted_codes``."""
    edges = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1], True])
    return [(int(a), int(e)) for a, e in itertools.pairwise(edges)]
