"""Re-drawing one recorded batch of an allocation (used by ``Allocation.extend``
and ``Allocation.verify``): the open permuted blocks left by earlier batches,
the arms of clusters allocated earlier, and the draw itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import _fmt_list
from dwp_eval.design._engine.canonical import Prepared, coerce_keys, fingerprint, prepare
from dwp_eval.design._engine.draws import OpenBlock, draw, rng_from_record, table_from_draw
from dwp_eval.design._engine.spec import Design
from dwp_eval.errors import DesignError

__all__ = ["block_state", "draw_batch", "fixed_cluster_arms"]


def block_state(table: pd.DataFrame, design: Design) -> tuple[dict[str, OpenBlock], dict[str, int]]:
    """Open (unfilled) permuted blocks per stratum, and the next block number, from a table.

    In a cluster design the units of a block are clusters, so arms are counted
    once per cluster.
    """
    state: dict[str, OpenBlock] = {}
    next_block: dict[str, int] = {}
    if "block" not in table.columns:
        return state, next_block
    t = table[table["block"].notna()]
    if t.empty:
        return state, next_block
    strat = t["stratum"].astype(str) if "stratum" in t.columns else pd.Series("all", index=t.index)
    cols = {"stratum": strat, "block": t["block"].astype(np.int64), "size": t["block_size"].astype(np.int64),
            "arm": t["arm"].cat.codes.astype(np.int64)}
    if design.cluster is not None:
        cols["unit"] = t["cluster"].astype(str)
    frame = pd.DataFrame(cols)
    if design.cluster is not None:
        frame = frame.drop_duplicates(subset=["unit"])
    w = np.asarray(design.weights, dtype=np.int64)
    base = int(w.sum())
    for label, g in frame.groupby("stratum", sort=True):
        last = int(g["block"].max())
        next_block[str(label)] = last + 1
        gl = g[g["block"] == last]
        size = int(gl["size"].iloc[0])
        used = np.bincount(gl["arm"].to_numpy(), minlength=len(w))
        full = w * (size // base)
        remaining = full - used
        if remaining.sum() > 0:
            state[str(label)] = OpenBlock(last, size, np.repeat(np.arange(len(w)), remaining).tolist())
    return state, next_block


def draw_batch(
    data: pd.DataFrame,
    design: Design,
    log: Mapping[str, Any],
    batch: dict[str, Any],
    earlier: pd.DataFrame,
    state: dict[str, OpenBlock],
    next_block: dict[str, int],
    *,
    func: str,
    rng: np.random.Generator | None = None,
) -> tuple[pd.DataFrame, dict[str, OpenBlock], dict[str, int], str]:
    """Draw one recorded batch (used by extend and verify).

    ``rng``, when given, is the caller's generator in the state recorded in
    ``batch["seed"]``; it is used (and so advanced) instead of a rebuilt copy.
    Returns the batch's table, the open blocks and next block numbers after it,
    and the batch's input fingerprint.
    """
    prep = prepare(
        data, design, func=func, id_kind=log["id_kind"], cluster_kind=log.get("cluster_kind")
    )
    if rng is None:
        rng = rng_from_record(batch["seed"])
    fixed = None
    if design.cluster is not None and len(earlier):
        fixed = fixed_cluster_arms(prep, design, log, earlier, func=func)
    sizes = batch.get("block_sizes")
    batch_design = replace(design, block_sizes=tuple(sizes) if sizes else design.block_sizes)
    nb = dict(next_block)
    d = draw(
        prep,
        batch_design,
        rng,
        method=batch["method"],
        state=state,
        next_block=nb,
        fixed_unit_arm=fixed,
        func=func,
    )
    batch["draws"] = d.draws
    if d.max_abs_std_diff is not None:
        batch["max_abs_std_diff"] = d.max_abs_std_diff
    table = table_from_draw(prep, design, d, batch=int(batch["batch"]))
    if fixed is not None and "block" in table.columns:
        # people joining clusters allocated earlier take the cluster's arm: no block draw
        person_fixed = fixed[prep.unit_of_person] >= 0
        table["block"] = table["block"].astype("Int64")
        table["block_size"] = table["block_size"].astype("Int64")
        table.loc[person_fixed, ["block", "block_size"]] = pd.NA
    return table, d.state, nb, fingerprint(prep, design)


def fixed_cluster_arms(
    prep: Prepared, design: Design, log: Mapping[str, Any], earlier: pd.DataFrame, *, func: str
) -> np.ndarray:
    """Arm code per unit (cluster) already allocated in ``earlier``, -1 for new clusters."""
    kind = log.get("cluster_kind") or "str"
    keys = coerce_keys(earlier["cluster"], kind, role="cluster", func=func)
    index = keys.astype(str) if kind == "str" else keys
    first = ~pd.Index(index).duplicated()
    arm = pd.Series(earlier["arm"].cat.codes.to_numpy()[first], index=index[first])
    units = prep.unit_keys.astype(str) if kind == "str" else prep.unit_keys
    fixed = arm.reindex(units).fillna(-1).to_numpy(dtype=np.int64)
    known = fixed >= 0
    if known.any() and design.strata:
        was = pd.Series(earlier["stratum"].astype(str).to_numpy()[first], index=index[first])
        was_lab = was.reindex(units[known]).to_numpy().astype(str)
        now_lab = np.asarray(prep.stratum_labels, dtype=object)[prep.unit_stratum[known]].astype(str)
        moved = np.flatnonzero(was_lab != now_lab)
        if moved.size:
            raise DesignError(
                f"{func}: cluster(s) {_fmt_list(units[known][moved][:5].tolist(), 5)} were "
                "allocated in another stratum; a cluster's strata cannot change. Fix: correct "
                "the strata columns of the new people."
            )
    return fixed
