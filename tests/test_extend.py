"""Rolling allocation: ``Allocation.extend`` adds later referrals without changing
anyone already allocated, continuing each stratum's open permuted block."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.design import Allocation
from dwp_eval.errors import DesignError


def referrals(n: int, seed: int, start_id: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(start_id, start_id + n),
            "site": rng.choice(np.array(["north", "south", "wales"]), size=n),
            "age": rng.integers(18, 65, size=n),
        }
    )


def rolling(first: pd.DataFrame, batches: list[pd.DataFrame], *, seed0: int = 100, **kwargs) -> list[Allocation]:
    allocs = [de.randomise(first, seed=seed0, **kwargs)]
    for k, batch in enumerate(batches, start=1):
        allocs.append(allocs[-1].extend(batch, seed=seed0 + k))
    return allocs


def tiny_batches(n_batches: int, seed: int, start_id: int) -> list[pd.DataFrame]:
    """n_batches batches of 1 to 3 people each, with consecutive ids."""
    sizes = np.random.default_rng(seed).integers(1, 4, size=n_batches)
    out = []
    for k, size in enumerate(sizes):
        out.append(referrals(int(size), seed=seed + k + 1, start_id=start_id))
        start_id += int(size)
    return out


@pytest.mark.parametrize(
    ("arms", "block_sizes", "method"),
    [
        ({"control": 1, "treatment": 1}, None, "permuted_blocks"),
        ({"control": 1, "treatment": 1}, None, "complete"),
        ({"control": 1, "treatment": 2}, [3, 6], "permuted_blocks"),
        ({"a": 2, "b": 1, "c": 1}, [4, 8], "permuted_blocks"),
    ],
)
def test_many_tiny_batches_keep_each_stratum_balanced(arms, block_sizes, method) -> None:
    first = referrals(5, seed=1)
    batches = tiny_batches(50, seed=2, start_id=6)
    kwargs = {"strata": "site", "arms": arms, "method": method}
    if block_sizes is not None:
        kwargs["block_sizes"] = block_sizes
    allocs = rolling(first, batches, **kwargs)
    W = sum(arms.values())
    z_max = max(block_sizes or [2 * W, 3 * W])
    p = {a: w / W for a, w in arms.items()}
    bounds = {}
    # A stratum's imbalance comes only from its one unfilled block: with z_max
    # places of which z_max * p_a are arm a, after k places arm a has between
    # max(0, k - z_max (1 - p_a)) and min(k, z_max p_a), so its count is within
    # z_max p_a (1 - p_a) of k p_a (z_max / 4 for 1:1: half a block between the
    # two arms). The first batch, if complete, adds at most one (rounding).
    # (Starting a fresh block in every batch instead breaks these bounds for all
    # four designs: each 1-3 person batch is then a coin flip per stratum.)
    for a in arms:
        bounds[a] = z_max * p[a] * (1 - p[a]) + (1 if method == "complete" else 0)
    for alloc in allocs:
        table = alloc.table
        counts = pd.crosstab(table["stratum"], table["arm"]).reindex(columns=list(arms), fill_value=0)
        n_s = counts.sum(axis=1)
        for a in arms:
            # 1e-9: n_s * p_a is a rounded double (e.g. n_s / 3), the bound is exact
            assert ((counts[a] - n_s * p[a]).abs() <= bounds[a] + 1e-9).all(), (a, counts)
    if arms == {"control": 1, "treatment": 1} and method == "permuted_blocks":
        # the statement: within half the largest block size (6 / 2)
        counts = pd.crosstab(allocs[-1].table["stratum"], allocs[-1].table["arm"])
        assert ((counts["treatment"] - counts["control"]).abs() <= 3).all()


def test_batches_are_recorded_with_their_seeds_and_verify_reproduces() -> None:
    first = referrals(5, seed=1)
    batches = tiny_batches(50, seed=2, start_id=6)
    final = rolling(first, batches, strata="site", method="permuted_blocks")[-1]
    log = final.metadata
    assert len(log["batches"]) == 51
    for k, (rec, batch) in enumerate(zip(log["batches"], [first, *batches], strict=True)):
        assert rec["batch"] == k
        assert rec["seed"] == {"kind": "int", "seed": 100 + k}
        assert rec["n"] == len(batch)
        assert rec["method"] == "permuted_blocks"
        assert rec["block_sizes"] == [2, 4, 6]
        assert re.fullmatch(r"[0-9a-f]{64}", rec["fingerprint"])
    assert final.table["batch"].tolist() == [k for k, b in enumerate([first, *batches]) for _ in range(len(b))]
    assert log["n"] == final.n == 5 + sum(len(b) for b in batches)
    assert log["counts"] == final.table["arm"].value_counts().to_dict()
    everyone = pd.concat([first, *batches])
    final.verify(everyone)
    final.verify(everyone.sample(frac=1, random_state=np.random.default_rng(0)))
    # and verification needs every batch's people
    with pytest.raises(de.errors.VerificationError, match=r"1 allocated id\(s\) are missing"):
        final.verify(everyone.iloc[:-1])


def test_a_changed_batch_seed_fails_verify() -> None:
    first = referrals(20, seed=1)
    later = referrals(20, seed=2, start_id=21)
    ext = de.randomise(first, strata="site", seed=1).extend(later, seed=2)
    log = ext.metadata
    log["batches"][1]["seed"]["seed"] = 3
    forged = Allocation(ext.table, log)
    with pytest.raises(de.errors.VerificationError, match=r"have an arm that the recorded seeds do not reproduce"):
        forged.verify(pd.concat([first, later]))


def test_extend_returns_a_new_allocation_and_leaves_the_old_one(people) -> None:
    old = de.randomise(people.iloc[:200], strata="site", seed=1)
    before_table, before_log = old.table, old.metadata
    new = old.extend(people.iloc[200:], seed=2)
    pd.testing.assert_frame_equal(old.table, before_table)
    assert old.metadata == before_log
    assert new.n == 240 and old.n == 200
    assert new.fingerprint != old.fingerprint
    # a multi-batch fingerprint chains the batches' fingerprints
    assert new.metadata["batches"][0]["fingerprint"] == old.fingerprint


def test_same_seed_same_extension(people) -> None:
    old = de.randomise(people.iloc[:200], strata="site", method="permuted_blocks", seed=1)
    a = old.extend(people.iloc[200:], seed=9)
    b = old.extend(people.iloc[200:].iloc[::-1], seed=9)  # row order does not matter either
    pd.testing.assert_frame_equal(a.table, b.table)
    c = old.extend(people.iloc[200:], seed=np.random.default_rng(9))
    assert c.metadata["batches"][1]["seed"]["kind"] == "generator"
    pd.testing.assert_frame_equal(a.table, c.table)  # default_rng(9) is what seed=9 builds
    c.verify(people)


@pytest.mark.parametrize("method", ["complete", "permuted_blocks"])
def test_extend_after_reading_from_disk_is_the_same(tmp_path, people, method) -> None:
    # open blocks are rebuilt from the table, so a written-and-read allocation
    # continues exactly as the one in memory
    first = de.randomise(people.iloc[:100], strata="site", method=method, seed=1)
    mid = first.extend(people.iloc[100:170], seed=2)
    mid.write(tmp_path / "mid.csv")
    from_disk = Allocation.read(tmp_path / "mid.csv").extend(people.iloc[170:], seed=3)
    in_memory = mid.extend(people.iloc[170:], seed=3)
    pd.testing.assert_frame_equal(from_disk.table, in_memory.table, check_categorical=False)
    from_disk.verify(people)


def test_people_joining_an_allocated_cluster_get_its_arm(people) -> None:
    offices = sorted(people["office"].unique())
    early = people[people["office"].isin(offices[:4]) & (people["id"] % 2 == 0)]
    late = people.drop(early.index)  # joins the first four offices, and brings new ones
    first = de.randomise(early, strata="site", cluster="office", seed=1)
    ext = first.extend(late, seed=2)
    table = ext.table
    assert (table.groupby("cluster")["arm"].nunique() == 1).all()
    arm_of = first.table.drop_duplicates("cluster").set_index("cluster")["arm"].astype(str)
    joined = table[(table["batch"] == 1) & table["cluster"].isin(arm_of.index)]
    assert len(joined) > 0
    assert (joined["arm"].astype(str).to_numpy() == arm_of.loc[joined["cluster"]].to_numpy()).all()
    # they take the cluster's arm without a block draw; new clusters are drawn in blocks
    assert joined["block"].isna().all()
    new = table[(table["batch"] == 1) & ~table["cluster"].isin(arm_of.index)]
    assert len(new) > 0 and new["block"].notna().all()
    ext.verify(people)


def test_a_cluster_changing_stratum_is_an_error(people) -> None:
    first = de.randomise(people.iloc[:200], strata="site", cluster="office", seed=1)
    office = first.table["cluster"].iloc[0]
    site = first.table["stratum"].iloc[0]
    mover = pd.DataFrame({"id": [10_000], "site": ["elsewhere"], "office": [office]})
    with pytest.raises(
        DesignError,
        match=re.escape(
            f"Allocation.extend: cluster(s) {office!r} were allocated in another stratum; a "
            "cluster's strata cannot change. Fix: correct the strata columns of the new people."
        ),
    ):
        first.extend(mover, seed=2)
    # the same person in the cluster's own stratum is fine
    ext = first.extend(mover.assign(site=site), seed=2)
    assert ext.table["arm"].iloc[-1] == first.table["arm"].iloc[0]


def test_extend_of_a_rerandomised_allocation_is_refused(people) -> None:
    with pytest.warns(de.RerandomisationWarning):
        alloc = de.randomise(people.iloc[:200], rerandomise={"covariates": ["age"], "max_abs_std_diff": 0.2}, seed=1)
    with pytest.raises(DesignError, match=r"re-randomised as a whole, so people cannot be added to it by rolling allocation"):
        alloc.extend(people.iloc[200:], seed=2)


def test_extend_block_sizes_are_recorded_per_batch(people) -> None:
    first = de.randomise(people.iloc[:100], strata="site", method="permuted_blocks", seed=1)
    ext = first.extend(people.iloc[100:], seed=2, block_sizes=[8, 4])
    assert ext.metadata["batches"][1]["block_sizes"] == [4, 8]
    new_blocks = ext.table[(ext.table["batch"] == 1)]
    # open blocks from batch 0 (sizes 2-6) finish first; new blocks have the new sizes
    fresh = new_blocks[~new_blocks.set_index(["stratum", "block"]).index.isin(
        first.table.set_index(["stratum", "block"]).index
    )]
    assert set(fresh["block_size"]).issubset({4, 8}) and len(fresh) > 0
    ext.verify(people)


def test_extend_with_new_strata(people) -> None:
    first = de.randomise(people.iloc[:100], strata="site", seed=1)
    newcomers = people.iloc[100:].assign(site="scotland")
    ext = first.extend(newcomers, seed=2)
    assert "scotland" in set(ext.table["stratum"].astype(str))
    assert ext.counts().loc["scotland"].sum() == 140
    ext.verify(pd.concat([people.iloc[:100], newcomers]))


def test_a_generator_seed_advances_the_callers_generator(people) -> None:
    first = de.randomise(people.iloc[:150], strata="site", seed=1)
    rng = np.random.default_rng(11)
    before = rng.bit_generator.state
    ext = first.extend(people.iloc[150:], seed=rng)
    assert rng.bit_generator.state != before  # used, as randomise uses it
    assert ext.metadata["batches"][1]["seed"] == {
        "kind": "generator", "bit_generator": "PCG64", "state": before
    }
    # the same starting state gives the same extension
    again = first.extend(people.iloc[150:], seed=np.random.default_rng(11))
    assert again.table.equals(ext.table)
    ext.verify(people)


def test_summary_names_the_method_of_every_batch(people) -> None:
    first = de.randomise(people.iloc[:150], strata="site", seed=1)
    assert first.summary().splitlines()[0] == "Allocation (stratified randomisation, complete)"
    ext = first.extend(people.iloc[150:], seed=2)
    assert ext.summary().splitlines()[0] == (
        "Allocation (stratified randomisation, complete, then permuted blocks)"
    )

