"""``randomise``: the table it returns, its audit record, and its options.

Two kinds of reference: allocations re-drawn here from the generator-use
contract in the engine's docstrings (an independent implementation of the
documented algorithm), and a few allocations pinned literally, because an
allocation that changes under the same seed can no longer be verified from an
audit log written by an earlier version.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import OptionError

# prob_<arm> is w_a / W computed once in double precision
ATOL_PROB = 1e-15


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [3, 1, 4, 15, 9, 2, 6, 5, 35, 8, 97, 93],
            "site": list("abababababab"),
            "office": [1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6],
        }
    )


# ----------------------------------------------------------------- reference


def reference_complete(data: pd.DataFrame, strata: str | None, weights: list[int], seed: int) -> dict:
    """Complete randomisation within strata, written from the documented contract:

    ids in canonical order (numeric for integer ids); strata coded in the
    order of their text values; ``rng.random(n_strata)`` gives one uniform
    ``u_s`` per stratum for the remainder rule; ``rng.permutation(n)`` gives a
    random order of the people (in canonical order), kept within each stratum; arm ``a`` gets ``floor(n_s w_a / W)`` people plus one if a
    point ``u_s + j`` falls in its cell ``[F_{a-1}, F_a)`` of the cumulated
    fractional parts (systematic sampling; which end of a cell is closed matters
    only when ``u_s`` hits a cell boundary exactly, which has probability zero);
    within a stratum the people first in that random order get the first arm,
    and so on. Returns {id: arm index}.
    """
    frame = data.sort_values("id")
    ids = frame["id"].tolist()
    labels = frame[strata].astype(str).tolist() if strata else ["all"] * len(ids)
    levels = sorted(set(labels))
    rng = np.random.default_rng(seed)
    u = rng.random(len(levels))
    perm = rng.permutation(len(ids))
    position = {int(i): pos for pos, i in enumerate(perm)}
    W = sum(weights)
    out = {}
    for s, level in enumerate(levels):
        members = [i for i, lab in enumerate(labels) if lab == level]
        n_s = len(members)
        counts = []
        cum = 0.0
        for w in weights:
            floor, rem = divmod(n_s * w, W)
            lo, cum = cum, cum + rem / W
            # points u, u + 1, ... in [lo, cum)
            extra = sum(1 for j in range(len(weights) + 1) if lo <= u[s] + j < cum)
            counts.append(floor + extra)
        assert sum(counts) == n_s
        ordered = sorted(members, key=lambda i: position[i])
        arm = 0
        for rank, i in enumerate(ordered):
            while rank >= sum(counts[: arm + 1]):
                arm += 1
            out[ids[i]] = arm
    return out


@pytest.mark.parametrize(
    ("sizes", "weights", "strata"),
    [
        ((6, 6), [1, 1], "site"),
        ((1, 2, 3, 5, 7), [1, 1], "site"),
        ((1, 2, 3, 5, 7), [1, 2], "site"),
        ((1, 2, 3, 5, 7), [2, 1, 1], "site"),
        ((11,), [2, 1, 1], None),
        ((4, 9), [1, 1, 1], "site"),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 20180501])
def test_complete_allocation_matches_documented_algorithm(sizes, weights, strata, seed) -> None:
    n = sum(sizes)
    rng = np.random.default_rng(7)
    data = pd.DataFrame(
        {
            "id": rng.choice(1000, size=n, replace=False),
            "site": np.repeat([f"site {k}" for k in range(len(sizes))], sizes),
        }
    ).iloc[rng.permutation(n)]
    names = ["control", "treatment"] if len(weights) == 2 else ["a", "b", "c"]
    arms = dict(zip(names, weights, strict=True))
    table = de.randomise(data, arms=arms, strata=strata, seed=seed).table
    expected = reference_complete(data, strata, weights, seed)
    got = dict(zip(table["id"], table["arm"].cat.codes, strict=True))
    assert got == expected


def test_pinned_allocations_do_not_change() -> None:
    # Pinned on dwp_eval 0.1.0 (permutation draw) / numpy 2.x. If this fails, audit logs written by
    # earlier versions no longer verify: that needs a new fingerprint/log format
    # version and a note, not an updated literal.
    df = small_frame()
    a = de.randomise(df, strata="site", seed=20180501)
    assert a.table["id"].tolist() == [1, 2, 3, 4, 5, 6, 8, 9, 15, 35, 93, 97]
    assert a.table["arm"].tolist() == [
        "control", "control", "treatment", "control", "treatment", "treatment",
        "treatment", "control", "treatment", "control", "control", "treatment",
    ]  # fmt: skip
    assert a.fingerprint == "9e30c8ef9c770006e1f7ca208cdee1380d130edc2846660f9ef81e6cdafdfe51"
    b = de.randomise(df, arms={"a": 2, "b": 1, "c": 1}, method="permuted_blocks", seed=7)
    assert "".join(b.table["arm"]) == "aaccabcbabaa"
    assert b.table["block_size"].tolist() == [12] * 12
    assert b.fingerprint == "acea46736a331cf8c21e13d08273fe53f0a4589c2e56cbd67b8ad6872afc05f1"
    c = de.randomise(df, strata="site", cluster="office", seed=1)
    assert "".join(c.table["arm"].str[0]) == "tccccttttttt"


# ----------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("kwargs", "label", "columns"),
    [
        ({}, "complete", ["id", "arm", "batch", "prob_control", "prob_treatment"]),
        ({"strata": "site"}, "stratified", ["id", "arm", "stratum", "batch", "prob_control", "prob_treatment"]),
        ({"cluster": "office"}, "cluster", ["id", "arm", "cluster", "batch", "prob_control", "prob_treatment"]),
        (
            {"strata": ["site"], "cluster": "office", "method": "permuted_blocks"},
            "stratified-cluster",
            ["id", "arm", "stratum", "cluster", "batch", "block", "block_size", "prob_control", "prob_treatment"],
        ),
    ],
)
def test_table_columns_and_design_label(kwargs, label, columns) -> None:
    alloc = de.randomise(small_frame(), seed=3, **kwargs)
    assert alloc.design == label
    assert alloc.metadata["design"]["label"] == label
    assert list(alloc.table.columns) == columns
    assert alloc.table["arm"].dtype == "category"
    assert (alloc.table["batch"] == 0).all()
    assert alloc.n == 12


def test_whp_example_counts_and_probabilities(people) -> None:
    alloc = de.randomise(people, strata=["site", "benefit"], seed=20180501)
    table = alloc.table
    assert table["arm"].value_counts().to_dict() == {"control": 120, "treatment": 120}
    assert table["stratum"].str.count(r"\|").eq(1).all()  # "site|benefit"
    # the stratum label of each person is their site and benefit
    joined = table.merge(people, on="id")
    assert (joined["stratum"].astype(str) == joined["site"] + "|" + joined["benefit"]).all()
    np.testing.assert_allclose(table[["prob_control", "prob_treatment"]], 0.5, rtol=0, atol=ATOL_PROB)
    counts = alloc.counts()
    assert list(counts.columns) == ["control", "treatment"]
    assert counts.to_numpy().sum() == 240
    assert (counts.sum(axis=1) == joined.groupby(["site", "benefit"]).size().to_numpy()).all()
    assert (counts.diff(axis=1)["treatment"].abs() <= 1).all()


def test_unequal_ratio_multi_arm_counts_exact(make_people) -> None:
    data = make_people(400, seed=2)
    alloc = de.randomise(data, arms={"a": 2, "b": 1, "c": 1}, seed=5)
    assert alloc.table["arm"].value_counts().to_dict() == {"a": 200, "b": 100, "c": 100}
    assert alloc.metadata["design"]["weights"] == [2, 1, 1]
    for arm, p in {"a": 0.5, "b": 0.25, "c": 0.25}.items():
        assert (alloc.table[f"prob_{arm}"] == p).all()
    assert alloc.control == "a"  # no arm called "control": the first arm


def test_arms_list_means_equal_ratios_and_control_is_named_control() -> None:
    alloc = de.randomise(small_frame(), arms=["treatment", "control", "other"], seed=1)
    assert alloc.arms == ("treatment", "control", "other")
    assert alloc.control == "control"
    assert alloc.table["arm"].value_counts().to_dict() == {"treatment": 4, "control": 4, "other": 4}
    np.testing.assert_allclose(alloc.table["prob_other"], 1 / 3, rtol=0, atol=ATOL_PROB)


def test_fractional_ratios_are_reduced_to_whole_numbers() -> None:
    alloc = de.randomise(small_frame(), arms={"control": 0.25, "treatment": 0.75}, seed=1)
    assert alloc.metadata["design"]["weights"] == [1, 3]
    assert alloc.metadata["design"]["arms"] == {"control": 0.25, "treatment": 0.75}
    assert alloc.table["arm"].value_counts().to_dict() == {"control": 3, "treatment": 9}


def test_ids_sorted_numerically_when_integer_and_as_text_otherwise() -> None:
    ints = pd.DataFrame({"id": [10, 9, 100, 1]})
    assert de.randomise(ints, seed=1).table["id"].tolist() == [1, 9, 10, 100]
    texts = ints.assign(id=ints["id"].astype(str))
    assert de.randomise(texts, seed=1).table["id"].tolist() == ["1", "10", "100", "9"]
    # whole-number floats are integer ids
    floats = ints.assign(id=ints["id"].astype(float))
    assert de.randomise(floats, seed=1).metadata["id_kind"] == "int"
    assert de.randomise(texts, seed=1).metadata["id_kind"] == "str"


def test_metadata_records_the_design_seed_versions_and_counts(people) -> None:
    alloc = de.randomise(people, strata="site", cluster="office", seed=np.int64(42))
    log = alloc.metadata
    assert log["format"] == "dwp_eval.allocation/2"
    assert log["library"]["dwp_eval"] == de.__version__
    assert log["library"]["numpy"] == np.__version__
    assert log["library"]["pandas"] == pd.__version__
    assert log["n"] == 240
    assert log["n_clusters"] == people["office"].nunique()
    assert log["n_strata"] == 3
    assert log["counts"] == alloc.table["arm"].value_counts().to_dict()
    design = log["design"]
    assert design["strata"] == ["site"] and design["cluster"] == "office"
    assert design["method"] == "complete" and design["rerandomise"] is None
    (batch,) = log["batches"]
    assert batch["seed"] == {"kind": "int", "seed": 42}
    assert batch["n"] == 240 and batch["draws"] == 1 and batch["method"] == "complete"
    assert batch["fingerprint"] == alloc.fingerprint == log["fingerprint"]
    assert re.fullmatch(r"[0-9a-f]{64}", alloc.fingerprint)
    assert alloc.seed == 42 and isinstance(alloc.seed, int)
    # metadata is a copy
    alloc.metadata["batches"].clear()
    assert len(alloc.metadata["batches"]) == 1


def test_generator_seed_records_its_state_and_reproduces(people) -> None:
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    alloc = de.randomise(people, strata="site", seed=rng)
    assert alloc.seed == {"kind": "generator", "bit_generator": "PCG64", "state": state}
    again = de.randomise(people, strata="site", seed=np.random.default_rng(5))
    pd.testing.assert_frame_equal(alloc.table, again.table)
    # an int seed s builds default_rng(s), so seed=5 draws the same allocation
    pd.testing.assert_frame_equal(alloc.table, de.randomise(people, strata="site", seed=5).table)


def test_fingerprint_depends_on_people_and_strata_not_on_row_order(people) -> None:
    base = de.randomise(people, strata="site", seed=1).fingerprint
    shuffled = people.sample(frac=1, random_state=np.random.default_rng(3))
    assert de.randomise(shuffled, strata="site", seed=99).fingerprint == base
    moved = people.assign(site=np.where(people.index == 0, "elsewhere", people["site"]))
    assert de.randomise(moved, strata="site", seed=1).fingerprint != base
    assert de.randomise(people.iloc[1:], strata="site", seed=1).fingerprint != base
    assert de.randomise(people, strata="benefit", seed=1).fingerprint != base


def test_permuted_blocks_fill_in_arrival_order(people) -> None:
    alloc = de.randomise(people, strata="site", method="permuted_blocks", order="referred_day", seed=8)
    joined = alloc.table.merge(people[["id", "referred_day"]], on="id")
    for _, g in joined.groupby("stratum", observed=True):
        # arrival order: referral day, ties broken by id
        g = g.sort_values(["referred_day", "id"])
        assert g["block"].is_monotonic_increasing
        sizes = g.groupby("block")["block_size"].agg(["first", "size"])
        assert set(sizes["first"]).issubset({2, 4, 6})
        assert (sizes["size"].iloc[:-1] == sizes["first"].iloc[:-1]).all()


def test_permuted_blocks_block_sizes_recorded(people) -> None:
    alloc = de.randomise(
        people, arms={"control": 1, "treatment": 2}, method="permuted_blocks", block_sizes=[6, 3, 6], seed=1
    )
    assert alloc.metadata["design"]["block_sizes"] == [3, 6]
    assert alloc.metadata["batches"][0]["block_sizes"] == [3, 6]
    assert set(alloc.table["block_size"]).issubset({3, 6})


def test_summary_repr_and_html(people) -> None:
    alloc = de.randomise(people, strata="site", arms={"control": 1, "treatment": 2}, seed=20180501)
    text = alloc.summary()
    assert text.startswith("Allocation (stratified randomisation, complete)")
    assert "\n  people          240\n" in text
    assert "\n  strata          3 (columns site)\n" in text
    assert "control, treatment in ratio 1:2 (control: control)" in text
    assert "probabilities   control 0.3333, treatment 0.6667 (exact, every person)" in text
    assert "batch 0: 240 people, complete, seed 20180501" in text
    assert alloc.fingerprint in text
    assert str(alloc) == text
    assert repr(alloc).startswith("<Allocation stratified: 240 people, arms control, treatment, fingerprint ")
    html = alloc._repr_html_()
    assert html.startswith("<pre>") and "<table" in html


# ----------------------------------------------------------------- bad options


def test_unknown_method_suggests_the_closest_name(people) -> None:
    with pytest.raises(OptionError, match=r"must be one of 'complete', 'permuted_blocks'\. Got 'permuted-blocks' instead\. Did you mean 'permuted_blocks'\?"):
        de.randomise(people, method="permuted-blocks", seed=1)
    with pytest.raises(OptionError, match=r"Got 'completely' instead\. Did you mean 'complete'\?"):
        de.randomise(people, method="completely", seed=1)
    with pytest.raises(OptionError, match=r"Got 'xyz' instead\.$"):
        de.randomise(people, method="xyz", seed=1)


@pytest.mark.parametrize("ratio", [0, -1, float("nan"), float("inf"), "1", None, True])
def test_non_positive_or_non_numeric_ratios(people, ratio) -> None:
    with pytest.raises(
        OptionError,
        match=re.escape(f"must give each arm a positive number as its ratio. Got {ratio!r} for arm 'control' instead."),
    ):
        de.randomise(people, arms={"control": ratio, "treatment": 1}, seed=1)


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        ({"control": 1}, "must name at least two arms"),
        (["control"], "must name at least two arms"),
        ("control", "must be a dict of arm name to ratio"),
        ({"control": 1, "": 1}, "must have non-empty text arm names. Got '' instead"),
        ({1: 1, 2: 1}, "must have non-empty text arm names. Got 1 instead"),
        ({"control": 1, "treatment": 1.0001}, "ratios 1:1.0001, which cannot be honoured exactly: the smallest whole-number ratio with these proportions needs blocks of more than 10,000 units"),
    ],
)
def test_bad_arms(people, arms, message) -> None:
    with pytest.raises(OptionError, match=re.escape(message)):
        de.randomise(people, arms=arms, seed=1)


def test_block_sizes_must_be_multiples_of_the_ratio_sum(people) -> None:
    with pytest.raises(OptionError, match=r"must hold multiples of 2 \(the sum of the ratios 1:1\).*Got \[3\] instead"):
        de.randomise(people, method="permuted_blocks", block_sizes=[3, 4], seed=1)
    with pytest.raises(OptionError, match=r"multiples of 4 \(the sum of the ratios 2:1:1\).*Got \[6, 10\] instead"):
        de.randomise(people, arms={"a": 2, "b": 1, "c": 1}, method="permuted_blocks", block_sizes=[4, 6, 10], seed=1)
    with pytest.raises(OptionError, match=r"must be a list of positive ints\. Got \[0, 2\] instead"):
        de.randomise(people, method="permuted_blocks", block_sizes=[0, 2], seed=1)
    with pytest.raises(OptionError, match=r"must be a list of positive ints\. Got \[2\.0\] instead"):
        de.randomise(people, method="permuted_blocks", block_sizes=[2.0], seed=1)
    with pytest.raises(OptionError, match=r"is used only with method='permuted_blocks'\. Got method='complete'"):
        de.randomise(people, block_sizes=[2], seed=1)


def test_rerandomise_needs_complete_method(people) -> None:
    rule = de.BalanceRule(["age"])
    with pytest.raises(OptionError, match=r"'rerandomise' parameter of randomise needs method='complete'"):
        de.randomise(people, method="permuted_blocks", rerandomise=rule, seed=1)
    with pytest.raises(OptionError, match=r"must be a BalanceRule \(or a dict of its fields\)\. Got 42 instead"):
        de.randomise(people, rerandomise=42, seed=1)


def test_strata_named_twice(people) -> None:
    with pytest.raises(OptionError, match=r"'strata' parameter of randomise names a column twice: \('site', 'site'\)"):
        de.randomise(people, strata=["site", "site"], seed=1)


def test_seed_is_required(people) -> None:
    with pytest.raises(TypeError, match="seed"):
        de.randomise(people)  # type: ignore[call-arg]
