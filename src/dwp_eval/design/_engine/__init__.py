"""The allocation engine shared by :func:`~dwp_eval.randomise`, ``Allocation.extend``,
``Allocation.verify`` and :func:`~dwp_eval.diagnose` (private to ``design``).

Everything here is deterministic given the design, the data and the random
generator, and does not depend on the order of the input rows:

1. units (people, or clusters in a cluster design) are put in a canonical order:
   ids sorted numerically when they are integers, as text otherwise;
2. strata are coded in the lexicographic order of their values (as text);
3. the generator is consumed in a fixed sequence (see
   :func:`~dwp_eval.design._engine.draws.draw_complete` and
   :func:`~dwp_eval.design._engine.draws.draw_blocks`).

Only ``Generator.random`` and ``Generator.integers`` are used, so an allocation
can be re-drawn from its seed on any platform numpy supports.

Modules: ``spec`` (the design and its validation), ``canonical`` (canonical
order, stratum codes, fingerprints), ``draws`` (complete and permuted-block
draws, re-randomisation, the allocation table, seeds) and ``batches``
(re-drawing a recorded batch for ``extend`` and ``verify``).
"""

from dwp_eval.design._engine.batches import block_state, draw_batch, fixed_cluster_arms
from dwp_eval.design._engine.canonical import (
    FINGERPRINT_VERSION,
    Prepared,
    canonical_keys,
    chain_fingerprint,
    coerce_keys,
    fingerprint,
    prepare,
    stratum_codes,
)
from dwp_eval.design._engine.draws import (
    Draw,
    OpenBlock,
    complete_counts,
    draw,
    draw_blocks,
    draw_complete,
    rng_from_record,
    seed_record,
    std_diffs,
    table_from_draw,
)
from dwp_eval.design._engine.spec import METHODS, BalanceRule, Design, make_design, ratio_weights

__all__ = [
    "FINGERPRINT_VERSION",
    "METHODS",
    "BalanceRule",
    "Design",
    "Draw",
    "OpenBlock",
    "Prepared",
    "block_state",
    "canonical_keys",
    "chain_fingerprint",
    "coerce_keys",
    "complete_counts",
    "draw",
    "draw_batch",
    "draw_blocks",
    "draw_complete",
    "fingerprint",
    "fixed_cluster_arms",
    "make_design",
    "prepare",
    "ratio_weights",
    "rng_from_record",
    "seed_record",
    "std_diffs",
    "stratum_codes",
    "table_from_draw",
]
