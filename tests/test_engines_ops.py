"""keyed_sums: per-key sums for very many keys (one per unit of a panel), gathered piece by
piece into one array in the caller's order (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dwp_eval._core.engines import keyed_sums

pytestmark = pytest.mark.engine


def _rows(n: int = 5000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"unit": rng.integers(0, 700, n) * 7 + 1, "y": rng.normal(size=n),
                         "x": rng.integers(0, 5, n).astype(float)})


def _sums():
    """The chunk function, made here so that Spark's workers get it by value (they cannot
    import this test module)."""

    def fn(chunk: pd.DataFrame) -> pd.DataFrame:
        y = chunk["y"].to_numpy()
        return pd.DataFrame({"_u": chunk["unit"].to_numpy(), "n": np.ones(len(chunk)), "y": y,
                             "xy": chunk["x"].to_numpy() * y})

    return fn


def _expected(df: pd.DataFrame, index: pd.Index) -> np.ndarray:
    by = df.assign(n=1.0, xy=df["x"] * df["y"]).groupby("unit")[["n", "y", "xy"]].sum()
    return by.reindex(index, fill_value=0.0).to_numpy()


def _index() -> pd.Index:
    """Every unit value of ``_rows`` and some with no rows, in a shuffled order."""
    return pd.Index(np.random.default_rng(1).permutation(np.arange(1, 700 * 7 + 2, 7)))


def _check(got: np.ndarray, df: pd.DataFrame, index: pd.Index) -> None:
    want = _expected(df, index)
    assert (want[:, 0] == 0).any()  # some values of the index have no rows
    np.testing.assert_array_equal(got[:, 0], want[:, 0])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_keyed_sums_in_the_index_order(engine_frame) -> None:
    """Every key's sums in the row of its value in ``index`` (a shuffled order, with values
    that have no rows: zeros), however the rows are partitioned; on Dask with the
    distributed client, pieces gathered one by one; and on a pandas frame."""
    df = _rows()
    index = _index()
    _check(keyed_sums(engine_frame(df, 7), ["unit", "y", "x"], _sums(), ["n", "y", "xy"], key="_u",
                      index=index), df, index)
    _check(keyed_sums(df, ["unit", "y", "x"], _sums(), ["n", "y", "xy"], key="_u", index=index), df, index)


def test_keyed_sums_on_a_local_dask_scheduler(dask_frame) -> None:
    """With Dask's synchronous scheduler configured (a client exists, but is not the
    scheduler): the pieces are computed together, with a task shuffle."""
    import dask

    df = _rows()
    index = _index()
    with dask.config.set(scheduler="synchronous"):
        got = keyed_sums(dask_frame(df, 7), ["unit", "y", "x"], _sums(), ["n", "y", "xy"], key="_u",
                         index=index)
    _check(got, df, index)


def test_keyed_sums_refuses_a_key_outside_the_index(engine_frame) -> None:
    df = _rows()
    index = pd.Index(np.sort(df["unit"].unique())[1:])
    with pytest.raises(ValueError, match="1 key"):
        keyed_sums(engine_frame(df, 3), ["unit", "y", "x"], _sums(), ["n", "y", "xy"], key="_u", index=index)


def _rows_of():
    """The per-row function for with_key_means (made here: Spark's workers take it by value)."""

    def fn(chunk: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"_u": chunk["unit"].to_numpy(), "y": chunk["y"].to_numpy(dtype=float),
                             "x": chunk["x"].to_numpy(dtype=float)})

    return fn


def test_with_key_means_joins_each_keys_means(engine_frame) -> None:
    """Every row carries the means of its key's rows, wherever in the frame those rows are
    (shuffled over 7 partitions); no row is lost or repeated."""
    from dwp_eval._core.engines import collect, with_key_means

    df = _rows().sample(frac=1.0, random_state=4).reset_index(drop=True)
    got = collect(with_key_means(engine_frame(df, 7), ["unit", "y", "x"], _rows_of(), ["y", "x"], ["y"],
                                 key="_u"))
    assert sorted(got.columns) == ["_m_y", "_u", "x", "y"]
    got = got.sort_values(["_u", "y"]).reset_index(drop=True)
    want = df.assign(_m_y=df.groupby("unit")["y"].transform("mean")).sort_values(["unit", "y"])
    assert len(got) == len(df)
    np.testing.assert_array_equal(got["_u"].to_numpy(), want["unit"].to_numpy())
    np.testing.assert_array_equal(got["y"].to_numpy(), want["y"].to_numpy())
    np.testing.assert_allclose(got["_m_y"].to_numpy(), want["_m_y"].to_numpy(), rtol=1e-13)
    local = with_key_means(df, ["unit", "y", "x"], _rows_of(), ["y", "x"], ["y"], key="_u")
    np.testing.assert_allclose(local["_m_y"].to_numpy(), df.groupby("unit")["y"].transform("mean").to_numpy(),
                               rtol=1e-13)


def test_with_key_means_on_a_local_dask_scheduler(dask_frame) -> None:
    """A local scheduler configured while a client exists: the task shuffle, same means."""
    import dask

    from dwp_eval._core.engines import with_key_means

    df = _rows()
    with dask.config.set(scheduler="synchronous"):
        got = with_key_means(dask_frame(df, 5), ["unit", "y", "x"], _rows_of(), ["y", "x"], ["y"],
                             key="_u").compute()
    got = got.sort_values(["_u", "y"])
    want = df.assign(m=df.groupby("unit")["y"].transform("mean")).sort_values(["unit", "y"])
    np.testing.assert_allclose(got["_m_y"].to_numpy(), want["m"].to_numpy(), rtol=1e-13)
