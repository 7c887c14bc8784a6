"""Person-local functions on frames read lazily from parquet (issue 18): the result of
``derive_outcomes`` on ``dd.read_parquet`` frames is a Dask frame whose declared columns
(its meta) are the computed ones, so that it can be joined and analysed lazily, and the
analysis equals pandas. (A shadowed ``meta`` once gave the result the stacked columns
of the last table: the rows were right, any lazy operation on them failed.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.datasets.admin import whp_monthly_records

pytestmark = pytest.mark.engine


def test_derive_outcomes_on_read_parquet_frames(dask_client, tmp_path) -> None:
    import dask.dataframe as dd

    people = de.datasets.whp_like(n=300, seed=3)
    people["arm"] = np.where(np.arange(len(people)) % 2 == 0, "treatment", "control")
    records = whp_monthly_records(people, people["arm"], seed=4, months=24)
    for name, table, files in [("people", people, 2), ("employment", records.employment, 4),
                               ("benefits", records.benefits, 3)]:
        dd.from_pandas(table, npartitions=files).to_parquet(tmp_path / name, write_index=False)
    cols = ["id", "referred_on", "arm"]
    big_people = dd.read_parquet(tmp_path / "people", columns=cols)
    out = de.derive_outcomes(big_people, employment=dd.read_parquet(tmp_path / "employment"),
                             benefits=dd.read_parquet(tmp_path / "benefits"),
                             randomised="referred_on", months=12)
    ref = de.derive_outcomes(people, employment=records.employment, benefits=records.benefits,
                             randomised="referred_on", months=12)
    assert list(out.columns) == list(ref.columns)
    got = out.compute().sort_values("id", ignore_index=True)
    assert list(got.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(got, ref.sort_values("id", ignore_index=True),
                                  check_dtype=False, rtol=1e-10)
    # joined and analysed lazily, as the guide's route does
    lazy = de.itt(out.merge(big_people, on="id"), outcome="employed_13_weeks", assigned="arm")
    mem = de.itt(ref.merge(people[cols], on="id"), outcome="employed_13_weeks", assigned="arm")
    np.testing.assert_allclose([lazy.estimate, lazy.std_error], [mem.estimate, mem.std_error],
                               rtol=1e-10, atol=1e-12)
