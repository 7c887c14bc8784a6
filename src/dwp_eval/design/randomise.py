"""Random allocation: complete, stratified, cluster and stratified-cluster designs,
any number of arms, unequal ratios, permuted blocks for rolling allocation."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy

from dwp_eval._validation import check_seed
from dwp_eval._version import __version__
from dwp_eval.design import _engine as eng
from dwp_eval.design._audit_log import LOG_FORMAT, batch_chain, commitment_of, now
from dwp_eval.design._engine import BalanceRule
from dwp_eval.design._table_codec import column_dtype
from dwp_eval.design.allocation import Allocation
from dwp_eval.errors import RerandomisationWarning

__all__ = ["BalanceRule", "randomise"]

DEFAULT_ARMS: Mapping[str, float] = {"control": 1, "treatment": 1}


def randomise(
    data: pd.DataFrame,
    *,
    id: Hashable = "id",
    arms: Mapping[str, float] | Sequence[str] = DEFAULT_ARMS,
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    seed: int | np.random.Generator,
    method: Literal["complete", "permuted_blocks"] = "complete",
    block_sizes: Sequence[int] | None = None,
    order: Hashable | None = None,
    rerandomise: BalanceRule | Mapping[str, Any] | None = None,
) -> Allocation:
    """Randomly allocate people (or clusters of people) to arms.

    Parameters
    ----------
    data
        One row per person, with a unique ``id`` column.
    id
        Column identifying each person.
    arms
        Arm names and their allocation ratios, e.g. ``{"control": 1, "treatment": 2}``;
        a list of names means equal ratios. The arm called ``"control"`` (or the
        first arm) is the control arm. Ratios are exact rationals (``0.1`` is
        1/10); a ratio whose smallest whole-number form needs blocks of more
        than 10,000 units (e.g. ``1e-9``) is refused, never rounded to 0.
    strata
        Column(s) to stratify (block) on: people are randomised separately within
        each combination of their values.
    cluster
        Column of the unit of assignment when groups (e.g. jobcentres) are
        randomised: everyone in a cluster gets the same arm. Clusters must not
        span strata.
    seed
        An int (recorded in the audit log) or a ``numpy.random.Generator`` (its
        state is recorded). Required: an allocation must be reproducible.
    method
        ``"complete"``: a fixed number in each arm within each stratum (complete
        randomisation; randomizr's ``block_ra``). ``"permuted_blocks"``: blocks of
        random size, each holding the arms in the exact ratio, filled in arrival
        order within each stratum (for allocation on referral; see
        :meth:`Allocation.extend`).
    block_sizes
        Block sizes (in units) for ``method="permuted_blocks"``; multiples of the
        sum of the ratios. Default: 1, 2 and 3 times that sum, chosen at random.
    order
        Column giving arrival order (e.g. referral date) for permuted blocks;
        ties and the default are broken by id.
    rerandomise
        A :class:`BalanceRule`: redraw the complete allocation until every
        standardised difference of its covariates is below a bound. The rule and
        the number of draws are recorded, and a :class:`RerandomisationWarning`
        reminds you that inference must then use randomisation tests.

    Returns
    -------
    Allocation
        The allocation table with exact assignment probabilities, and its audit
        log. Its :attr:`~Allocation.commitment` (also in its summary) is the
        SHA-256 of the design, the seed and the population fingerprint: register
        it with the trial before anyone sees the allocation, and check it later
        with ``Allocation.verify(data, commitment=...)``.

    Notes
    -----
    The allocation does not depend on the order of the rows: people (or
    clusters) are sorted by id (numerically for integer ids, as text otherwise)
    and strata by their values before anything is drawn.

    *Remainders.* In a stratum of ``n`` units with arm probabilities ``p_a``
    (the normalised ratios), arm ``a`` gets ``floor(n p_a)`` units, and the
    ``R = n - sum_a floor(n p_a)`` units left over go one each to ``R`` arms
    drawn by systematic sampling with inclusion probabilities equal to the
    fractional parts ``n p_a - floor(n p_a)`` (Madow 1949). Every arm count is
    then the floor or the ceiling of ``n p_a`` and its expectation is exactly
    ``n p_a``; units are ordered at random within the stratum, so each person's
    probability of arm ``a`` is exactly ``p_a``, the value in ``prob_<a>``. For
    two arms this is randomizr's rule (Coppock 2023, ``complete_ra``): the
    treated count is the ceiling with probability equal to the fractional part.

    *Permuted blocks.* Each block of size ``k`` times the sum of the integer
    ratios holds exactly ``k w_a`` units of arm ``a`` in random order, so every
    position of a block, including the unfilled end of the last block, has
    probability ``p_a`` of arm ``a`` (Rosenberger & Lachin 2016, ch. 3).

    Examples
    --------
    >>> import dwp_eval as de
    >>> people = de.datasets.whp_like(n=400, seed=1)
    >>> alloc = de.randomise(people, strata=["site", "benefit"], seed=20180501)
    >>> counts = alloc.counts()  # people per arm in each of the 28 site x benefit strata
    >>> int((counts["treatment"] - counts["control"]).abs().max())
    1
    >>> float(alloc.table["prob_treatment"].iloc[0])
    0.5
    """
    func = "randomise"
    design = eng.make_design(
        id=id,
        arms=arms,
        strata=strata,
        cluster=cluster,
        order=order,
        method=method,
        block_sizes=block_sizes,
        rerandomise=rerandomise,
        func=func,
    )
    rng = check_seed(seed, func=func)
    seed_rec = eng.seed_record(seed if isinstance(seed, np.random.Generator) else int(seed))
    prep = eng.prepare(data, design, func=func)
    # an id (or cluster) type the files could not give back exactly is refused up front
    id_dtype = column_dtype(data[design.id], role="id", func=func)
    cluster_dtype = (
        None if design.cluster is None
        else column_dtype(data[design.cluster], role="cluster", func=func)
    )
    d = eng.draw(prep, design, rng, method=design.method, state={}, next_block={}, func=func)
    table = eng.table_from_draw(prep, design, d, batch=0)
    created = now()
    fp = eng.fingerprint(prep, design)
    batch: dict[str, Any] = {
        "batch": 0,
        "method": design.method,
        "block_sizes": None if design.block_sizes is None else list(design.block_sizes),
        "seed": copy.deepcopy(seed_rec),
        "n": prep.n,
        "fingerprint": fp,
        "draws": d.draws,
        "created": created,
    }
    if d.max_abs_std_diff is not None:
        batch["max_abs_std_diff"] = d.max_abs_std_diff
    design_json = design.to_json()
    commitment = commitment_of(design_json, seed_rec, fp)
    batch["chain"] = batch_chain(commitment, batch)
    log: dict[str, Any] = {
        "format": LOG_FORMAT,
        "library": {
            "dwp_eval": __version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
        },
        "created": created,
        "design": design_json,
        "commitment": commitment,
        "id_kind": prep.id_kind,
        "id_dtype": id_dtype,
        "cluster_kind": prep.cluster_kind,
        "cluster_dtype": cluster_dtype,
        "n": prep.n,
        "n_clusters": None if design.cluster is None else len(prep.unit_keys),
        "n_strata": len(prep.stratum_labels) if design.strata else None,
        "counts": {a: int(c) for a, c in zip(design.arms, np.bincount(d.arm_person, minlength=len(design.arms)), strict=True)},
        "fingerprint": eng.chain_fingerprint([fp]),
        "batches": [batch],
    }
    if design.rule is not None:
        warnings.warn(
            f"randomise: the allocation was re-randomised (accepted on draw {d.draws:,}; rule "
            f"|standardised difference| < {design.rule.max_abs_std_diff} on "
            f"{', '.join(design.rule.covariates)}). Conventional standard errors no longer "
            "match the design: use randomisation tests that repeat the rule for inference.",
            RerandomisationWarning,
            stacklevel=2,
        )
    return Allocation(table, log)
