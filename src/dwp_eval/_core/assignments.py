"""Re-drawing assignments as the design drew them: the one engine behind
randomisation tests, the randomisation version of the balance test, the
multiplier of re-randomised designs and simulated trials.

A design is a set of *cells* (strata, or permuted blocks within strata): the
units (people, or whole clusters) of a cell had their assignments permuted
among themselves, a fixed number ``m_c`` of its ``n_c`` units treated. Every
re-draw keeps those counts and treats each of the ``C(n_c, m_c)`` subsets of a
cell as equally likely, independently across cells (Imbens & Rubin 2015,
ch. 5). Draws come in batches of ``(batch, units)`` boolean arrays; a design
with no more assignments than the draws asked for is enumerated instead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from dwp_eval.errors import DesignError, OptionError

__all__ = [
    "MAX_ENUMERATE",
    "TIE_RTOL",
    "Cells",
    "RecordedDesign",
    "Redraws",
    "RerandomisationRule",
    "UnitCells",
    "draw_assignments",
    "enumerate_assignments",
    "first_appearance_codes",
    "unit_cells",
]

# Enumerate every assignment when there are at most this many (draws="all" refuses more).
MAX_ENUMERATE = 1_000_000
# |T*| >= |T_obs| is judged with this relative tolerance, so that assignments whose
# statistic equals the observed one in exact arithmetic (the observed assignment
# itself, mirror images) are counted despite rounding in the last bits.
TIE_RTOL = 1e-9
# Cells (strata, blocks) of up to _TINY_CELL units draw one of their C(n, m) subsets
# directly; up to _SORT_CELL units take the m smallest of random keys (a sort); larger
# cells select units independently, then correct the count exactly.
_TINY_CELL = 8
_SORT_CELL = 1024
# Elements of the (batch x units) work arrays of one batch.
BATCH_ELEMENTS = 2_000_000


@dataclass(frozen=True, eq=False)
class Cells:
    """Units in cell order: cell ``c`` holds units ``lo[c]:lo[c] + n[c]``, ``m[c]`` treated.

    A cell is the set of units whose assignments were permuted among
    themselves by the design: a stratum, or a permuted block within it.
    """

    lo: np.ndarray
    n: np.ndarray
    m: np.ndarray
    n_units: int

    @property
    def free(self) -> np.ndarray:
        return np.asarray((self.m > 0) & (self.m < self.n))

    def count(self, cap: int) -> int:
        """Number of distinct assignments, the product of ``C(n_c, m_c)``; exact up to
        ``cap``, and some number above ``cap`` otherwise."""
        total = 1
        for n, m in zip(self.n.tolist(), self.m.tolist(), strict=True):
            total *= math.comb(n, m)
            if total > cap:
                return total
        return total

    def log10_count(self) -> float:
        return float(
            sum(math.lgamma(n + 1) - math.lgamma(m + 1) - math.lgamma(n - m + 1)
                for n, m in zip(self.n.tolist(), self.m.tolist(), strict=True)) / math.log(10)
        )


def draw_assignments(
    cells: Cells, rng: np.random.Generator, size: int, scratch: np.ndarray | None = None
) -> np.ndarray:
    """``size`` independent uniform draws of the design: a ``(size, n_units)`` bool matrix.

    Within every cell exactly ``m_c`` of its ``n_c`` units are treated, every such
    subset equally likely, independently across cells and draws:

    * cells of up to 8 units: one of the ``C(n_c, m_c)`` subsets, drawn directly;
    * up to 1,024 units: keys at or below the ``m_c``-th smallest key (a sort);
    * larger cells: each unit is selected independently with a probability
      ``q_c`` near ``m_c / n_c`` (``q_c = 0`` or ``1`` when ``m_c / n_c`` is
      below 1/32 or above 31/32), then the ``|M - m_c|`` surplus (or missing)
      units are removed (added) as a uniformly random subset of the selected
      (unselected) ones: the first distinct eligible units in a stream of
      uniformly random positions. Every step treats the units of a cell
      symmetrically and the count ends at ``m_c``, so the subset is uniform.
    """
    out = np.zeros((size, cells.n_units), dtype=bool)
    free = cells.free
    full = np.flatnonzero(cells.m == cells.n)
    if full.size:
        out[:, np.concatenate([np.arange(cells.lo[c], cells.lo[c] + cells.n[c]) for c in full.tolist()])] = True
    tiny = np.flatnonzero(free & (cells.n <= _TINY_CELL))
    if tiny.size:
        key = cells.n[tiny] * (_TINY_CELL + 1) + cells.m[tiny]
        for k in np.unique(key).tolist():
            _draw_tiny(cells, tiny[key == k], rng, out)
    small = np.flatnonzero(free & (cells.n > _TINY_CELL) & (cells.n <= _SORT_CELL))
    if small.size:
        widths = 2 ** np.ceil(np.log2(cells.n[small])).astype(np.int64)
        for w in np.unique(widths).tolist():
            group = small[widths == w]
            _draw_small(cells, group, int(w), rng, out)
    large = np.flatnonzero(free & (cells.n > _SORT_CELL))
    if large.size:
        _draw_large(cells, large, rng, out, scratch)
    return out


def _draw_tiny(cells: Cells, group: np.ndarray, rng: np.random.Generator, out: np.ndarray) -> None:
    """Cells of one size ``n <= 8`` and count ``m``: a uniform draw from the ``C(n, m)`` patterns."""
    n, m = int(cells.n[group[0]]), int(cells.m[group[0]])
    patterns = np.zeros((math.comb(n, m), n), dtype=bool)
    for i, comb in enumerate(itertools.combinations(range(n), m)):
        patterns[i, list(comb)] = True
    pick = rng.integers(0, len(patterns), size=(out.shape[0], len(group)))
    idx = cells.lo[group][:, None] + np.arange(n)[None, :]
    out[:, idx.ravel()] = patterns[pick].reshape(out.shape[0], -1)


def _draw_small(cells: Cells, group: np.ndarray, w: int, rng: np.random.Generator, out: np.ndarray) -> None:
    size = out.shape[0]
    k = len(group)
    n = cells.n[group]
    pos = np.arange(w)[None, :]
    real = pos < n[:, None]
    idx = cells.lo[group][:, None] + pos
    keys = rng.random((size, k, w))
    keys[:, ~real] = 2.0  # padding sorts last
    m = cells.m[group]
    srt = np.sort(keys, axis=-1)
    thr = np.take_along_axis(srt, np.broadcast_to((m - 1)[None, :, None], (size, k, 1)), axis=-1)
    sel = keys <= thr
    # float keys tie with probability ~1e-10 per cell; redraw any cell whose count came out wrong
    bad_b, bad_k = np.nonzero(np.sum(sel, axis=-1) != m[None, :])
    for b, j in zip(bad_b.tolist(), bad_k.tolist(), strict=True):
        row = np.zeros(w, dtype=bool)
        row[rng.permutation(int(n[j]))[: int(m[j])]] = True
        sel[b, j] = row
    out[:, idx[real]] = sel[:, real]


def _random_bytes(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Uniform random bytes: raw 64-bit draws read as little-endian bytes (platform-independent)."""
    count = shape[0] * shape[1]
    words = rng.integers(0, np.iinfo(np.uint64).max, size=-(-count // 8), dtype=np.uint64, endpoint=True)
    return words.astype("<u8", copy=False).view(np.uint8)[:count].reshape(shape)


def _draw_large(
    cells: Cells,
    large: np.ndarray,
    rng: np.random.Generator,
    out: np.ndarray,
    scratch: np.ndarray | None,
) -> None:
    size = out.shape[0]
    n = cells.n[large]
    m = cells.m[large]
    share = m / n
    thr = np.clip(np.rint(256 * share), 8, 248).astype(np.uint8)
    thr[share < 1 / 32] = 0
    all_in = share > 31 / 32
    got = np.zeros((size, len(large)), dtype=np.int64)
    # runs of adjacent cells drawn by independent selection, one pass per run
    drawn = np.flatnonzero(~all_in & (thr > 0))
    runs = np.split(drawn, np.flatnonzero(np.diff(large[drawn]) != 1) + 1) if drawn.size else []
    for run in runs:
        first_c, last_c = int(large[run[0]]), int(large[run[-1]])
        lo = int(cells.lo[first_c])
        hi = int(cells.lo[last_c] + cells.n[last_c])
        sel = np.less(_random_bytes(rng, (size, hi - lo)), np.repeat(thr[run], n[run]))
        edges = np.r_[cells.lo[large[run]] - lo, hi - lo]
        as_int = sel.view(np.int8)
        for i, j in enumerate(run.tolist()):
            got[:, j] = as_int[:, edges[i] : edges[i + 1]].sum(axis=1, dtype=np.int64)
        out[:, lo:hi] = sel
    for j in np.flatnonzero(all_in).tolist():
        c = int(large[j])
        out[:, int(cells.lo[c]) : int(cells.lo[c] + cells.n[c])] = True
        got[:, j] = n[j]
    d = got - m[None, :]
    bi, ci = np.nonzero(d)
    if not bi.size:
        return
    need = np.abs(d[bi, ci]).astype(np.int64)
    target = d[bi, ci] < 0  # True: select more units; False: deselect
    nc = n[ci]
    lo = cells.lo[large][ci]
    elig = np.where(target, nc - got[bi, ci], got[bi, ci])
    # uniform positions expected before `need` distinct eligible units turn up, plus a margin;
    # a row that falls short is completed exactly below
    expect = nc * np.log((elig + 0.5) / (elig - need + 0.5))
    length = np.ceil(1.15 * expect + 3 * np.sqrt(expect) + 4).astype(np.int64)
    total = int(length.sum())
    rep = np.repeat(np.arange(len(bi)), length)
    pos = rng.integers(lo[rep], (lo + nc)[rep])
    rows = bi[rep]
    eligible = out[rows, pos] != target[rep]
    # first occurrence of each (draw, unit) in the order drawn: the smallest candidate index
    flat = rows * cells.n_units + pos
    if scratch is None or scratch.size < out.size or total >= np.iinfo(np.int32).max:
        scratch = np.full(out.size, np.iinfo(np.int32).max, dtype=np.int32)
    cand = np.arange(total, dtype=np.int32)
    np.minimum.at(scratch, flat, cand)
    first = scratch[flat] == cand
    scratch[flat] = np.iinfo(np.int32).max  # leave the scratch clean for the next batch
    good = eligible & first
    csum = np.cumsum(good)
    start = np.r_[0, np.cumsum(length)[:-1]]
    before = np.where(start > 0, csum[start - 1], 0)
    within = csum - before[rep]
    take = good & (within <= need[rep])
    done = np.bincount(rep[take], minlength=len(bi)) == need
    t = take & done[rep]
    out[rows[t], pos[t]] = target[rep[t]]
    for r in np.flatnonzero(~done).tolist():
        seg = out[bi[r], lo[r] : lo[r] + nc[r]]
        pool = np.flatnonzero(seg != target[r])
        seg[rng.choice(pool, size=int(need[r]), replace=False)] = target[r]


def enumerate_assignments(cells: Cells) -> np.ndarray:
    """Every assignment of the design, one per row (``C(n_c, m_c)`` per cell, all combinations)."""
    per_cell = []
    for c in np.flatnonzero(cells.free).tolist():
        n, m = int(cells.n[c]), int(cells.m[c])
        pats = np.zeros((math.comb(n, m), n), dtype=bool)
        for i, comb in enumerate(itertools.combinations(range(n), m)):
            pats[i, list(comb)] = True
        per_cell.append((c, pats))
    total = 1
    for _, p in per_cell:
        total *= len(p)
    out = np.zeros((total, cells.n_units), dtype=bool)
    for c in np.flatnonzero(cells.m == cells.n).tolist():
        out[:, cells.lo[c] : cells.lo[c] + cells.n[c]] = True
    reps_after = total
    for c, pats in per_cell:
        reps_after //= len(pats)
        block = np.repeat(pats, reps_after, axis=0)
        tiled = np.tile(block, (total // len(block), 1))
        lo = int(cells.lo[c])
        out[:, lo : lo + pats.shape[1]] = tiled
    return out


@dataclass(frozen=True, eq=False)
class RerandomisationRule:
    """A re-randomisation balance rule evaluated on re-drawn assignments."""

    columns: np.ndarray  # units x (1 + 2J): persons, sum x_j, sum x_j^2
    fixed: dict[str, np.ndarray]  # other arms: their sums (1 + 2J)
    arms: tuple[str, ...]
    design_control: str
    treatment: str
    control: str
    bound: float
    max_draws: int

    def accept(self, assign: np.ndarray) -> np.ndarray:
        f = assign.astype(np.float64)
        t = f @ self.columns
        tot = self.columns.sum(axis=0)
        sums = {}
        for arm in self.arms:
            if arm == self.treatment:
                sums[arm] = t
            elif arm == self.control:
                sums[arm] = tot[None, :] - t
            else:
                sums[arm] = np.broadcast_to(self.fixed[arm], t.shape)
        c = sums[self.design_control]
        n_c = c[:, :1]
        j = (c.shape[1] - 1) // 2
        worst = np.zeros(len(f))
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_c = c[:, 1 : 1 + j] / n_c
            var_c = (c[:, 1 + j :] - n_c * mean_c**2) / (n_c - 1)
            for arm in self.arms:
                if arm == self.design_control:
                    continue
                x = sums[arm]
                n_a = x[:, :1]
                mean_a = x[:, 1 : 1 + j] / n_a
                var_a = (x[:, 1 + j :] - n_a * mean_a**2) / (n_a - 1)
                d = (mean_a - mean_c) / np.sqrt((var_a + var_c) / 2)
                d[~np.isfinite(d)] = np.inf
                worst = np.maximum(worst, np.max(np.abs(d), axis=1))
        return np.asarray(worst < self.bound)


@dataclass(frozen=True, eq=False)
class UnitCells:
    """Units (people, or clusters) in cell order, with the observed assignment.

    ``unit_of_row[i]`` is the unit (in cell order) of analysed row ``i``;
    ``stratum`` the stratum of each unit in cell order (cells nest in strata).
    """

    cells: Cells
    observed: np.ndarray  # bool per unit (cell order): treated in the observed assignment
    unit_of_row: np.ndarray
    stratum: np.ndarray


def first_appearance_codes(codes: np.ndarray) -> np.ndarray:
    """Codes ``0..K-1`` numbered in order of first appearance along the rows.

    The canonical encoding of a partition: it depends on which rows share a
    label, never on how the labels are spelled or sort, so that seeded draws
    over strata, cells or clusters ordered by these codes reproduce whatever the
    labels are called (``"b"``/``"a"``, 2/1, ``"02"``/``"10"``).
    """
    codes = np.asarray(codes, dtype=np.int64)
    if not codes.size:
        return codes
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


def unit_cells(unit: np.ndarray, stratum: np.ndarray, treated: np.ndarray,
               cell: np.ndarray | None = None) -> UnitCells:
    """Group the units of the analysed rows by stratum, then by cell.

    Strata, cells and units are ordered by their first appearance along the rows
    (:func:`first_appearance_codes`), not by their codes' label order: recoding the
    labels leaves every seeded re-draw unchanged.

    ``unit``: each row's unit code (``0..U-1``; ``arange(n)`` when people were
    randomised); ``stratum`` and ``cell`` (default: the stratum) each row's
    codes, constant within a unit; ``treated``: each row's observed 0/1 arm.
    """
    # canonical codes (first appearance along the rows), so that the order of cells and
    # of units within them, and with it every seeded draw, never depends on label text
    unit = first_appearance_codes(unit)
    stratum = first_appearance_codes(stratum)
    cell = None if cell is None else first_appearance_codes(cell)
    n_units = int(unit.max()) + 1 if len(unit) else 0
    u_stratum = np.zeros(n_units, dtype=np.int64)
    u_stratum[unit] = stratum
    u_cell = np.zeros(n_units, dtype=np.int64)
    u_cell[unit] = stratum if cell is None else cell
    u_z = np.zeros(n_units, dtype=bool)
    u_z[unit] = np.asarray(treated) == 1
    order = np.lexsort((u_cell, u_stratum))
    rank = np.empty(n_units, dtype=np.int64)
    rank[order] = np.arange(n_units)
    u_stratum = u_stratum[order]
    u_cell = u_cell[order]
    observed = u_z[order]
    new_cell = np.r_[True, (u_cell[1:] != u_cell[:-1]) | (u_stratum[1:] != u_stratum[:-1])]
    lo = np.flatnonzero(new_cell)
    m = np.add.reduceat(observed.astype(np.int64), lo) if n_units else np.zeros(0, np.int64)
    cells = Cells(lo=lo, n=np.diff(np.r_[lo, n_units]), m=m, n_units=n_units)
    return UnitCells(cells=cells, observed=observed, unit_of_row=rank[unit], stratum=u_stratum)


class Redraws:
    """The re-drawn assignments of a design, batch by batch.

    ``enumerated`` says whether they are every assignment of the design: so
    when ``draws`` is ``None`` (refused beyond :data:`MAX_ENUMERATE`) or the
    design has no more than ``draws`` assignments (and at most
    :data:`MAX_ENUMERATE`). Otherwise ``draws`` independent uniform draws
    (:func:`draw_assignments`) come in batches of about ``BATCH_ELEMENTS /
    width`` draws (between 8 and ``max_batch``). ``accept`` (a re-randomisation
    rule) keeps only the assignments it accepts; random draws then stop with
    :class:`DesignError` after ``max_tries`` candidates per draw asked for.
    Iterating yields ``(batch, units)`` boolean arrays; ``tried`` and ``kept``
    count candidates and accepted draws.
    """

    def __init__(
        self,
        cells: Cells,
        draws: int | None,
        rng: np.random.Generator,
        *,
        width: int,
        max_batch: int,
        func: str,
        accept: Callable[[np.ndarray], np.ndarray] | None = None,
        max_tries: int = 1,
    ) -> None:
        cap = MAX_ENUMERATE if draws is None else max(draws, MAX_ENUMERATE)
        total = cells.count(cap)
        if draws is None and total > MAX_ENUMERATE:
            log10 = cells.log10_count()
            how_many = f"{cells.count(10**15):,}" if log10 < 15 else f"about 10^{log10:.0f}"
            raise OptionError(
                f"{func}: the design has {how_many} possible assignments, too many to enumerate "
                f"(the limit is {MAX_ENUMERATE:,}). Fix: pass draws= as an int, e.g. draws=10_000."
            )
        self.cells = cells
        self.draws = draws
        self.enumerated = total <= MAX_ENUMERATE and (draws is None or total <= draws)
        self._rng = rng
        self._batch = int(np.clip(BATCH_ELEMENTS // max(width, 1), 8, max_batch))
        self._accept = accept
        self._max_tries = max_tries
        self._func = func
        self.tried = 0
        self.kept = 0

    @property
    def acceptance_rate(self) -> float | None:
        """Share of candidate assignments the rule accepted (``None`` without a rule)."""
        if self._accept is None:
            return None
        return self.kept / self.tried if self.tried else float("nan")

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.enumerated:
            assign = enumerate_assignments(self.cells)
            self.tried = len(assign)
            if self._accept is not None:
                assign = assign[self._accept(assign)]
            self.kept = len(assign)
            yield assign
            return
        draws = int(self.draws or 0)
        cells = self.cells
        # int32 work space of the count correction, reset after each batch
        scratch = np.full(self._batch * cells.n_units, np.iinfo(np.int32).max, dtype=np.int32)
        limit = draws * self._max_tries
        while self.kept < draws:
            size = min(self._batch, draws - self.kept) if self._accept is None else self._batch
            assign = draw_assignments(cells, self._rng, size, scratch)
            self.tried += size
            if self._accept is not None:
                assign = assign[self._accept(assign)][: draws - self.kept]
                if self.tried >= limit and self.kept + len(assign) < draws:
                    raise DesignError(
                        f"{self._func}: only {self.kept + len(assign):,} of {self.tried:,} re-drawn "
                        f"assignments met the re-randomisation rule, fewer than the {draws:,} draws "
                        "requested. Fix: request fewer draws."
                    )
            self.kept += len(assign)
            yield assign


@dataclass(frozen=True, eq=False)
class RecordedDesign:
    """What re-drawing needs from an allocation's record, for the rows of some data.

    Made by :meth:`dwp_eval.Allocation.recorded_design`. ``stratum``, ``cell``
    (stratum, batch and permuted block) and ``cluster`` are text labels per row
    of the data; a cluster's cell is where it was first allocated. ``rule_*``
    describe a re-randomisation rule (``rule_covariates`` is empty without one).
    """

    label: str
    stratum: np.ndarray
    cell: np.ndarray
    cluster: np.ndarray | None
    has_strata: bool
    arms: tuple[str, ...]
    control: str
    rule_covariates: tuple[str, ...]
    rule_bound: float
    rule_max_draws: int
    all_ids_present: bool
