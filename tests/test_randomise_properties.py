"""Properties of ``randomise`` and ``Allocation.extend`` that hold for any data (hypothesis).

For every design (complete, stratified, cluster, stratified-cluster), any
number of arms, unequal ratios, complete randomisation and permuted blocks:

* complete randomisation puts ``floor(n_s p_a)`` or ``ceil(n_s p_a)`` units of
  arm ``a`` in a stratum of ``n_s`` units, and the counts sum to ``n_s``;
* permuted blocks hold the arms in the exact ratio, and only a stratum's last
  block may be unfilled;
* the ``prob_<arm>`` columns are the normalised ratios and sum to one;
* the same seed gives the same allocation, another seed a different one;
* the order of the rows does not matter;
* everyone in a cluster gets the same arm;
* ``extend`` never changes an earlier row, and ``verify`` re-draws the union.

Data are generated with a numpy Generator from a drawn seed (the design's shape
is drawn too), so every example is a valid design. Expected counts are computed
here with exact fractions, from weights written out by hand next to each ratio.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dwp_eval as de

# The prob_<arm> columns are each w_a / W rounded once to a double; k of them
# sum to one within k half-ulps (k <= 3 here), so 1e-12 is generous.
ATOL_PROB_SUM = 1e-12

# (arms as a user passes them, the smallest integer weights, worked out by hand)
ARMS: list[tuple[Any, tuple[int, ...]]] = [
    ({"control": 1, "treatment": 1}, (1, 1)),
    ({"control": 1, "treatment": 2}, (1, 2)),
    ({"a": 2, "b": 1, "c": 1}, (2, 1, 1)),
    (["a", "b", "c"], (1, 1, 1)),
    ({"control": 0.25, "treatment": 0.75}, (1, 3)),
    ({"treatment": 3, "control": 6}, (1, 2)),
]


def _arm_names(arms: Any) -> list[str]:
    return list(arms)  # dict keys or list items, in the order given


@st.composite
def designs(
    draw: st.DrawFn,
    *,
    max_units: int = 30,
    cluster: bool | None = None,
    method: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], tuple[int, ...]]:
    """A participants frame, the keyword arguments of ``randomise`` and the weights."""
    arms, weights = draw(st.sampled_from(ARMS))
    clustered = draw(st.booleans()) if cluster is None else cluster
    method = draw(st.sampled_from(["complete", "permuted_blocks"])) if method is None else method
    n_strata_cols = draw(st.integers(0, 2))
    n_units = draw(st.integers(1, max_units))
    text_ids = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    # strata are drawn per unit, so clusters never span strata
    unit_strata = {
        "s1": rng.choice(np.array(["x", "y", "z", "x-y"]), size=n_units),
        "s2": rng.integers(0, 3, size=n_units),
    }
    if clustered:
        size = rng.integers(1, 5, size=n_units)
        unit_of_person = np.repeat(np.arange(n_units), size)
    else:
        unit_of_person = np.arange(n_units)
    n = len(unit_of_person)
    raw_ids = rng.choice(10 * n + 10, size=n, replace=False) - 3 * n
    frame: dict[str, Any] = {"pid": [f"p{i}" for i in raw_ids] if text_ids else raw_ids}
    strata = ["s1", "s2"][:n_strata_cols]
    for col in strata:
        frame[col] = unit_strata[col][unit_of_person]
    kwargs: dict[str, Any] = {"id": "pid", "arms": arms, "strata": strata or None, "method": method}
    if clustered:
        cluster_ids = rng.permutation(n_units) + 100
        frame["office"] = cluster_ids[unit_of_person]
        kwargs["cluster"] = "office"
    if method == "permuted_blocks":
        W = sum(weights)
        kwargs["block_sizes"] = draw(st.sampled_from([None, [W], [W, 2 * W], [2 * W, 4 * W]]))
        if draw(st.booleans()):
            frame["day"] = rng.integers(0, 5, size=n)  # arrival order with ties
            kwargs["order"] = "day"
    data = pd.DataFrame(frame).iloc[rng.permutation(n)].reset_index(drop=True)
    return data, kwargs, weights


def _units(table: pd.DataFrame, clustered: bool) -> pd.DataFrame:
    """One row per unit of assignment: the person, or the cluster."""
    return table.drop_duplicates(subset=["cluster"]) if clustered else table


def _stratum(table: pd.DataFrame) -> pd.Series:
    if "stratum" in table.columns:
        return table["stratum"].astype(str)
    return pd.Series("all", index=table.index)


def _block_sizes(kwargs: dict[str, Any], weights: tuple[int, ...]) -> list[int]:
    W = sum(weights)
    return kwargs.get("block_sizes") or [W, 2 * W, 3 * W]


def check_complete_counts(table: pd.DataFrame, names: list[str], weights: tuple[int, ...], clustered: bool) -> None:
    """Each arm's count in each stratum is the floor or ceiling of n_s w_a / W."""
    units = _units(table, clustered)
    W = sum(weights)
    counts = pd.crosstab(_stratum(units), units["arm"].astype(str)).reindex(columns=names, fill_value=0)
    for label, row in counts.iterrows():
        n_s = int(row.sum())
        assert n_s == int((_stratum(units) == label).sum())
        for arm, w in zip(names, weights, strict=True):
            expected = Fraction(n_s * w, W)
            lo, hi = expected.numerator // expected.denominator, -(-expected.numerator // expected.denominator)
            assert lo <= row[arm] <= hi, (label, arm, int(row[arm]), str(expected))


def check_blocks(table: pd.DataFrame, names: list[str], weights: tuple[int, ...], sizes: list[int], clustered: bool) -> None:
    """Every full block holds the arms in the exact ratio; only a stratum's last
    block (by number) may be unfilled, and never beyond its composition."""
    t = table[table["block"].notna()]
    units = _units(t, clustered)
    W = sum(weights)
    frame = pd.DataFrame(
        {
            "stratum": _stratum(units).to_numpy(),
            "block": units["block"].astype(np.int64).to_numpy(),
            "size": units["block_size"].astype(np.int64).to_numpy(),
            "arm": units["arm"].astype(str).to_numpy(),
        }
    )
    assert set(frame["size"]).issubset(sizes)
    for label, g in frame.groupby("stratum"):
        numbers = sorted(g["block"].unique())
        assert numbers == list(range(1, len(numbers) + 1)), (label, numbers)
        for number, b in g.groupby("block"):
            (size,) = b["size"].unique()
            composition = {a: w * size // W for a, w in zip(names, weights, strict=True)}
            got = b["arm"].value_counts().reindex(names, fill_value=0).to_dict()
            if number == numbers[-1]:
                assert len(b) <= size
                assert all(got[a] <= composition[a] for a in names), (label, number, got, composition)
            else:
                assert got == composition, (label, number, got, composition)


# every design kind is tested, whatever hypothesis draws: clustered or not,
# complete or permuted blocks (the number of strata columns and the arms are drawn)
KINDS = pytest.mark.parametrize(
    ("cluster", "method"),
    [(False, "complete"), (True, "complete"), (False, "permuted_blocks"), (True, "permuted_blocks")],
)


@KINDS
@given(st.data())
def test_arm_counts_per_stratum_are_exact(cluster: bool, method: str, data_: st.DataObject) -> None:
    data, kwargs, weights = data_.draw(designs(cluster=cluster, method=method))
    alloc = de.randomise(data, seed=1, **kwargs)
    table = alloc.table
    names = _arm_names(kwargs["arms"])
    clustered = "cluster" in kwargs
    assert len(table) == len(data)
    assert set(table["arm"].astype(str)).issubset(names)
    if kwargs["method"] == "complete":
        check_complete_counts(table, names, weights, clustered)
    else:
        check_blocks(table, names, weights, _block_sizes(kwargs, weights), clustered)


@given(designs())
def test_probabilities_are_the_normalised_ratio(case: tuple[pd.DataFrame, dict[str, Any], tuple[int, ...]]) -> None:
    data, kwargs, weights = case
    table = de.randomise(data, seed=2, **kwargs).table
    names = _arm_names(kwargs["arms"])
    prob_cols = [c for c in table.columns if c.startswith("prob_")]
    assert prob_cols == [f"prob_{a}" for a in names]
    probs = table[prob_cols].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=ATOL_PROB_SUM)
    W = sum(weights)
    for arm, w in zip(names, weights, strict=True):
        # w / W as one correctly rounded division: equal to the double nearest the fraction
        assert (table[f"prob_{arm}"] == float(Fraction(w, W))).all()


@given(
    arms=st.sampled_from(ARMS),
    method=st.sampled_from(["complete", "permuted_blocks"]),
    seeds=st.lists(st.integers(0, 2**63 - 1), min_size=2, max_size=2, unique=True),
)
def test_same_seed_same_allocation_other_seed_another(arms: tuple[Any, tuple[int, ...]], method: str, seeds: list[int]) -> None:
    # 200 people in 4 strata of 50: even the most constrained design here (1:1,
    # permuted blocks of 2) has 2^100 equally likely allocations, so two seeds
    # collide with probability about 1e-30.
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"id": np.arange(200), "s": np.repeat(list("abcd"), 50)})
    data = data.iloc[rng.permutation(200)]
    kw = {"arms": arms[0], "strata": "s", "method": method}
    first = de.randomise(data, seed=seeds[0], **kw)
    again = de.randomise(data, seed=seeds[0], **kw)
    other = de.randomise(data, seed=seeds[1], **kw)
    pd.testing.assert_frame_equal(first.table, again.table)
    assert first.fingerprint == again.fingerprint == other.fingerprint
    assert not first.table["arm"].equals(other.table["arm"])


@given(designs(), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(case: tuple[pd.DataFrame, dict[str, Any], tuple[int, ...]], perm_seed: int, seed: int) -> None:
    data, kwargs, _ = case
    shuffled = data.iloc[np.random.default_rng(perm_seed).permutation(len(data))]
    a = de.randomise(data, seed=seed, **kwargs)
    b = de.randomise(shuffled, seed=seed, **kwargs)
    # both tables are in canonical id order, so each id's row (arm, stratum,
    # block, probabilities) must match exactly
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.fingerprint == b.fingerprint


@given(designs(cluster=True), st.integers(0, 2**32 - 1))
def test_everyone_in_a_cluster_gets_the_same_arm(case: tuple[pd.DataFrame, dict[str, Any], tuple[int, ...]], seed: int) -> None:
    data, kwargs, _ = case
    table = de.randomise(data, seed=seed, **kwargs).table
    assert (table.groupby("cluster", observed=True)["arm"].nunique() == 1).all()
    # the table's cluster column is the data's cluster of each person
    joined = table[["pid", "cluster"]].merge(data[["pid", "office"]], on="pid", validate="one_to_one")
    assert (joined["cluster"] == joined["office"]).all()


def _rows(table: pd.DataFrame) -> pd.DataFrame:
    """A table as plain python values (block columns change to nullable Int64 on extend)."""
    out = table.astype(object)
    return out.where(table.notna(), None).reset_index(drop=True)


@KINDS
@given(
    st.data(),
    st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=4),
    st.integers(0, 2**32 - 1),
)
def test_extend_never_changes_earlier_rows(
    cluster: bool, method: str, data_: st.DataObject, seeds: list[int], split_seed: int
) -> None:
    data, kwargs, weights = data_.draw(designs(max_units=24, cluster=cluster, method=method))
    names = _arm_names(kwargs["arms"])
    clustered = "cluster" in kwargs
    # cut the people (not the clusters) into batches: later people may join clusters
    # allocated earlier, or bring new ones
    n_batches = min(len(seeds), len(data))
    cut = np.random.default_rng(split_seed).integers(0, n_batches, size=len(data))
    cut[0] = 0
    batches = [data[cut == k] for k in range(n_batches) if (cut == k).any()]

    alloc = de.randomise(batches[0], seed=seeds[0], **kwargs)
    for k, batch in enumerate(batches[1:], start=1):
        before = alloc.table
        extended = alloc.extend(batch, seed=seeds[k])
        pd.testing.assert_frame_equal(alloc.table, before)  # the old allocation is untouched
        after = extended.table
        assert len(after) == len(before) + len(batch)
        earlier = after.iloc[: len(before)]
        pd.testing.assert_frame_equal(_rows(earlier[before.columns]), _rows(before))
        # a complete first batch gains empty block columns, nothing else
        added = [c for c in after.columns if c not in before.columns]
        assert set(added) <= {"block", "block_size"}
        assert earlier[added].isna().all().all()
        assert (after["batch"].iloc[len(before):] == k).all()
        alloc = extended

    table = alloc.table
    assert len(alloc.metadata["batches"]) == len(batches)
    if clustered:
        assert (table.groupby("cluster", observed=True)["arm"].nunique() == 1).all()
    if "block" in table.columns:
        # blocks continue across batches, so full blocks still hold the exact ratio
        check_blocks(table, names, weights, _block_sizes(kwargs, weights), clustered)
    alloc.verify(pd.concat(batches))
