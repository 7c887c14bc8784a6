"""randomisation_test on Dask and Spark DataFrames equals the in-memory test (issue 18):
the same seed gives the same re-drawn assignments, p-value and interval, because the
design columns (outcome, arm, strata, cluster) are brought to the driver and the draws
are made there."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import ColumnError, OptionError

pytestmark = pytest.mark.engine


def _trial(n: int = 600, seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    office = rng.integers(0, 24, n)
    site = office % 3
    return pd.DataFrame({
        "arm": rng.choice(np.array(["control", "treatment"]), n),
        "office_arm": np.where(rng.permutation(24)[office] % 2 == 0, "treatment", "control"),
        "office": office, "site": site, "y": rng.normal(size=n) + 0.2 * office / 24,
    })


@pytest.mark.parametrize("case", [
    dict(assigned="arm"),
    dict(assigned="arm", strata="site", statistic="difference"),
    dict(assigned="office_arm", cluster="office"),
])
def test_ri_on_engine_equals_pandas(engine_frame, case) -> None:
    """Equal to the in-memory test of the same rows in the canonical order (sorted by the
    design columns), and the same for any partitioning."""
    df = _trial()
    cols = list(dict.fromkeys(["y", case["assigned"], *[case[k] for k in ("strata", "cluster") if k in case]]))
    ordered = df[cols].sort_values(cols, kind="mergesort").reset_index(drop=True)
    a = de.randomisation_test(ordered, outcome="y", draws=400, seed=5, **case)
    b = de.randomisation_test(engine_frame(df, 3), outcome="y", draws=400, seed=5, **case)
    assert a.to_frame().equals(b.to_frame())
    assert (a.p_value, a.estimate, a.conf_low, a.conf_high, a.draws) == (
        b.p_value, b.estimate, b.conf_low, b.conf_high, b.draws)
    shuffled = df.sample(frac=1.0, random_state=1)
    c = de.randomisation_test(engine_frame(shuffled, 5), outcome="y", draws=400, seed=5, **case)
    assert c.to_frame().equals(b.to_frame())


def test_ri_bad_input_on_engine(engine_frame) -> None:
    big = engine_frame(_trial(), 3)
    with pytest.raises(ColumnError, match="no column 'yy'"):
        de.randomisation_test(big, outcome="yy", assigned="arm", seed=1)
    with pytest.raises(OptionError, match="'allocation' parameter of randomisation_test is not offered"):
        de.randomisation_test(big, outcome="y", assigned="arm", seed=1, allocation=object())
