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


@pytest.mark.parametrize("scheduler", ["client", "synchronous"])
def test_keyed_sums_in_the_index_order(engine_frame, scheduler, request) -> None:
    """Every key's sums in the row of its value in ``index`` (a shuffled order, with values
    that have no rows: zeros), however the rows are partitioned; on Dask both with the
    distributed client (pieces gathered one by one) and with a local scheduler."""
    df = _rows()
    index = pd.Index(np.random.default_rng(1).permutation(np.arange(1, 700 * 7 + 2, 7)))
    frame = engine_frame(df, 7)
    if scheduler == "synchronous":
        if not hasattr(frame, "npartitions"):
            pytest.skip("a Dask scheduler")
        import dask

        with dask.config.set(scheduler="synchronous"):
            got = keyed_sums(frame, ["unit", "y", "x"], _sums(), ["n", "y", "xy"], key="_u", index=index)
    else:
        got = keyed_sums(frame, ["unit", "y", "x"], _sums(), ["n", "y", "xy"], key="_u", index=index)
    want = _expected(df, index)
    assert (want[:, 0] == 0).any()  # some values of the index have no rows
    np.testing.assert_array_equal(got[:, 0], want[:, 0])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(keyed_sums(df, ["unit", "y", "x"], _sums(), ["n", "y", "xy"], key="_u",
                                          index=index), want, rtol=1e-12, atol=1e-12)


def test_keyed_sums_refuses_a_key_outside_the_index(engine_frame) -> None:
    df = _rows()
    index = pd.Index(np.sort(df["unit"].unique())[1:])
    with pytest.raises(ValueError, match="1 key"):
        keyed_sums(engine_frame(df, 3), ["unit", "y", "x"], _sums(), ["n", "y", "xy"], key="_u", index=index)
