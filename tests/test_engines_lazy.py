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


@pytest.mark.engine
def test_warning_reaches_the_caller_on_a_threaded_scheduler(dask_client) -> None:
    """Kernels run in the caller's process on Dask's threaded scheduler: they must not
    touch the warning state (a worker thread's catch_warnings once restored it over the
    caller's, and derive_outcomes' warning was lost). Ids of another type in the records
    (text against integers) match nobody, as in pandas, with pandas' warning."""
    import warnings

    import dask
    import dask.dataframe as dd

    import dwp_eval as de
    from dwp_eval.errors import RecordProblemsWarning

    whp = de.datasets.whp_like(200, seed=3)
    emp = de.datasets.whp_monthly_records(whp, seed=3).employment
    people = pd.DataFrame({"id": whp["id"], "randomised_on": whp["referred_on"].astype("datetime64[ns]")})
    text_ids = emp.assign(id=emp["id"].astype(str))
    with pytest.warns(RecordProblemsWarning, match="no employment record matches anyone") as mem:
        de.derive_outcomes(people, employment=text_ids, months=12)
    threads = {"scheduler": "threads", "dataframe.shuffle.method": "tasks"}
    for _ in range(3):  # kernels overlapping in threads: the loss depended on timing
        with dask.config.set(threads), warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            de.derive_outcomes(dd.from_pandas(people, npartitions=8),
                               employment=dd.from_pandas(text_ids, npartitions=8), months=12)
        messages = [str(w.message) for w in got if issubclass(w.category, RecordProblemsWarning)]
        assert len(messages) == 1
        assert (messages[0].split(". They were left out")[0]
                == str(mem[0].message).split(". They were left out")[0])
        assert "a Dask or Spark result has no attrs" in messages[0]
