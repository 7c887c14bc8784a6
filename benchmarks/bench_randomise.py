"""Randomisation: dwp_eval.randomise against stochatreat on the same data.

Target (the issue): stratified allocation of 1,000,000 people in 500 strata,
3 arms 2:1:1, in at most 1 s on the CI machine and at least 5x faster than
stochatreat on the same job. Also timed, for information: two strata columns
(text x integer) and a stratified cluster design.

Both libraries get the same DataFrame and an int seed, and return one row per
person with its arm. Before timing, each result is checked: every id once,
arm totals near n * (1/2, 1/4, 1/4), and per-stratum counts near their
expectation, so the comparison is like for like. stochatreat's arms 0, 1, 2
correspond to dwp_eval's "a", "b", "c" (probabilities 1/2, 1/4, 1/4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import dwp_eval
from benchmarks import harness as h

ARMS = {"a": 2, "b": 1, "c": 1}
PROBS = [0.5, 0.25, 0.25]
SEED = 20240501
DATA_SEED = 1


def make_people(n: int, n_strata: int, *, seed: int = DATA_SEED) -> pd.DataFrame:
    """``id`` 0..n-1 and a ``stratum`` code 0..n_strata-1 drawn uniformly."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"id": np.arange(n, dtype=np.int64), "stratum": rng.integers(0, n_strata, n)}
    )


def make_people_two_strata(
    n: int, n_sites: int, n_benefits: int, *, seed: int = DATA_SEED
) -> pd.DataFrame:
    """``id``, a text ``site`` (``site_000`` ...) and an integer ``benefit`` code."""
    rng = np.random.default_rng(seed)
    sites = np.array([f"site_{i:03d}" for i in range(n_sites)], dtype=object)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "site": sites[rng.integers(0, n_sites, n)],
            "benefit": rng.integers(0, n_benefits, n),
        }
    )


def make_clustered(
    n: int, n_clusters: int, n_strata: int, *, seed: int = DATA_SEED
) -> pd.DataFrame:
    """People in clusters (e.g. work coaches); each cluster lies in one stratum."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, n)
    cluster_stratum = rng.integers(0, n_strata, n_clusters)
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "cluster": cluster,
            "stratum": cluster_stratum[cluster],
        }
    )


# ------------------------------------------------------------------ checks


def _check_counts(
    label: str,
    ids: np.ndarray,
    arm: np.ndarray,
    strata: pd.DataFrame,
    expected_ids: np.ndarray,
    per_stratum_tol: float,
    unit: str = "people",
) -> str:
    """Validate one allocation: arm codes 0..2 per person, in any row order."""
    if len(ids) != len(expected_ids) or not np.array_equal(np.sort(ids), expected_ids):
        raise h.BenchmarkError(f"{label}: the allocation does not hold every id exactly once")
    if np.any((arm < 0) | (arm > 2)):
        raise h.BenchmarkError(f"{label}: arms outside 0..2 (or missing)")
    n = len(ids)
    totals = np.bincount(arm, minlength=3)
    expect = n * np.asarray(PROBS)
    # per-stratum deviations are at most per_stratum_tol, so totals are within n_strata * tol
    frame = strata.reset_index(drop=True).assign(_arm=arm)
    cells = pd.crosstab([frame[c] for c in strata.columns], frame["_arm"])
    cells = cells.reindex(columns=range(3), fill_value=0)
    n_s = cells.sum(axis=1).to_numpy()[:, None]
    dev = np.abs(cells.to_numpy() - n_s * np.asarray(PROBS)[None, :])
    if dev.max() > per_stratum_tol:
        raise h.BenchmarkError(
            f"{label}: a stratum's arm count is {dev.max():.2f} from its expectation "
            f"(allowed {per_stratum_tol})"
        )
    if np.any(np.abs(totals - expect) > len(cells) * per_stratum_tol):
        raise h.BenchmarkError(f"{label}: arm totals {totals.tolist()} far from {expect.tolist()}")
    return (
        f"{unit} per arm {' / '.join(f'{t:,}' for t in totals)}; {len(cells):,} strata, "
        f"max |count - n_s p| {dev.max():.2f}"
    )


def _ours_check(data: pd.DataFrame, strata: list[str], unit: str = "id") -> Callable[[Any], str]:
    expected = np.sort(data["id"].to_numpy())
    code = {name: i for i, name in enumerate(ARMS)}

    def check(alloc: Any) -> str:
        t = alloc.table
        arm = t["arm"].map(code).to_numpy(dtype=np.int64)
        merged = t[["id"]].assign(arm=arm).merge(data, on="id", validate="one_to_one")
        if unit != "id":
            _check_clusters("dwp_eval", merged, unit)
            merged = merged.drop_duplicates(unit)
            return _check_counts(
                "dwp_eval",
                merged[unit].to_numpy(),
                merged["arm"].to_numpy(),
                merged[strata],
                np.sort(data[unit].unique()),
                1.0,
                "clusters",
            )
        # randomise: every arm count is the floor or the ceiling of n_s p_a
        return _check_counts(
            "dwp_eval",
            merged["id"].to_numpy(),
            merged["arm"].to_numpy(),
            merged[strata],
            expected,
            1.0,
        )

    return check


def _stochatreat_check(
    data: pd.DataFrame, strata: list[str], unit: str = "id"
) -> Callable[[Any], str]:
    def check(out: pd.DataFrame) -> str:
        if out["treat"].isna().any():
            raise h.BenchmarkError("stochatreat: some people were left unassigned")
        arm = out["treat"].to_numpy(dtype=np.int64)
        merged = out[[unit]].assign(arm=arm)
        if unit == "id":
            merged = merged.merge(data, on="id", validate="one_to_one")
            expected = np.sort(data["id"].to_numpy())
        else:
            _check_clusters("stochatreat", merged, unit)
            merged = merged.drop_duplicates(unit).merge(
                data.drop_duplicates(unit)[[unit, *strata]], on=unit, validate="one_to_one"
            )
            expected = np.sort(data[unit].unique())
        # misfits (n_s mod 4 people) are assigned at random with probs, so a
        # stratum's count can be up to 3 from its expectation
        return _check_counts(
            "stochatreat",
            merged[unit].to_numpy(),
            merged["arm"].to_numpy(),
            merged[strata],
            expected,
            3.0,
            "people" if unit == "id" else "clusters",
        )

    return check


def _check_clusters(label: str, people: pd.DataFrame, unit: str) -> None:
    if (people.groupby(unit)["arm"].nunique() > 1).any():
        raise h.BenchmarkError(f"{label}: a cluster was split across arms")


def _fingerprint(df: pd.DataFrame) -> int:
    return int(pd.util.hash_pandas_object(df, index=True).sum())


# ------------------------------------------------------------------ cases


def _cases(
    data: pd.DataFrame, strata: list[str], st: Any
) -> tuple[h.Case, dict[str, h.Case | h.Missing]]:
    ours = h.Case(
        "dwp_eval.randomise",
        lambda: dwp_eval.randomise(data, id="id", strata=strata, arms=ARMS, seed=SEED),
        check=_ours_check(data, strata),
    )
    peers: dict[str, h.Case | h.Missing] = {
        "stochatreat": h.missing("stochatreat")
        if st is None
        else h.Case(
            "stochatreat",
            lambda: st.stochatreat(
                data=data,
                stratum_cols=strata,
                treats=3,
                probs=PROBS,
                idx_col="id",
                random_state=SEED,
            ),
            check=_stochatreat_check(data, strata),
        )
    }
    return ours, peers


def _cluster_cases(data: pd.DataFrame, st: Any) -> tuple[h.Case, dict[str, h.Case | h.Missing]]:
    ours = h.Case(
        "dwp_eval.randomise",
        lambda: dwp_eval.randomise(
            data, id="id", cluster="cluster", strata="stratum", arms=ARMS, seed=SEED
        ),
        check=_ours_check(data, ["stratum"], unit="cluster"),
    )

    def stochatreat_clusters() -> pd.DataFrame:
        # stochatreat has no cluster option: assign the table of clusters, then
        # give every person their cluster's arm (one row per person, like ours)
        clusters = data[["cluster", "stratum"]].drop_duplicates("cluster")
        assigned = st.stochatreat(
            data=clusters,
            stratum_cols=["stratum"],
            treats=3,
            probs=PROBS,
            idx_col="cluster",
            random_state=SEED,
        )
        return data[["id", "cluster"]].merge(
            assigned[["cluster", "treat"]], on="cluster", how="left"
        )

    peers: dict[str, h.Case | h.Missing] = {
        "stochatreat (clusters + merge)": h.missing("stochatreat")
        if st is None
        else h.Case(
            "stochatreat",
            stochatreat_clusters,
            check=_stochatreat_check(data, ["stratum"], unit="cluster"),
        ),
    }
    return ours, peers


def run(quick: bool) -> list[h.Comparison]:
    n = 20_000 if quick else 1_000_000
    n_strata = 50 if quick else 500
    st = h.optional_import("stochatreat")
    results = []

    people = make_people(n, n_strata)
    before = _fingerprint(people)
    ours, peers = _cases(people, ["stratum"], st)
    results.append(
        h.compare(
            f"randomise: {n:,} people, {n_strata} strata, arms 2:1:1",
            ours,
            peers,
            repeat=7,
            target_seconds=1.0,
            target_ratio={"stochatreat": 5.0},
            quick=quick,
            info=f"one int stratum column; ids 0..{n - 1:,} in order; seed {SEED}",
        )
    )
    if _fingerprint(people) != before:
        raise h.BenchmarkError("an implementation modified the shared DataFrame")

    # the same people with the rows in random order (admin extracts are rarely
    # sorted by id): randomise then has to sort the ids to its canonical order
    shuffled = people.sample(frac=1.0, random_state=DATA_SEED).reset_index(drop=True)
    del people, ours, peers
    ours, peers = _cases(shuffled, ["stratum"], st)
    results.append(
        h.compare(
            f"randomise: {n:,} people, {n_strata} strata, arms 2:1:1, rows shuffled",
            ours,
            peers,
            quick=quick,
            info="as the first job with the rows in random order; for information",
        )
    )
    del shuffled, ours, peers

    n_sites, n_benefits = (10, 5) if quick else (50, 10)
    people2 = make_people_two_strata(n, n_sites, n_benefits)
    ours, peers = _cases(people2, ["site", "benefit"], st)
    results.append(
        h.compare(
            f"randomise: {n:,} people, strata site x benefit ({n_sites * n_benefits}), arms 2:1:1",
            ours,
            peers,
            quick=quick,
            info=f"{n_sites} text sites x {n_benefits} integer benefit codes; for information",
        )
    )
    del people2, ours, peers

    n_clusters = 1_000 if quick else 20_000
    clustered = make_clustered(n, n_clusters, n_strata)
    ours, peers = _cluster_cases(clustered, st)
    results.append(
        h.compare(
            f"randomise: {n:,} people in {n_clusters:,} clusters, {n_strata} strata, arms 2:1:1",
            ours,
            peers,
            quick=quick,
            info="whole clusters assigned within strata; stratum constant within cluster; "
            "for information",
        )
    )
    return results
