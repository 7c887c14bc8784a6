"""Properties of writing and reading an allocation (hypothesis): any text labels
(ids, strata, clusters; including separators, quotes, formula characters, tabs,
carriage returns, newlines and non-ASCII text) come back exactly, verify the
re-drawn allocation, and several strata columns never merge two combinations."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval.design import Allocation

# labels built from the characters that have ever broken a CSV or a label join
LABEL = st.text(alphabet=st.sampled_from(list("ab|\\'\"=+-@,\t\r\n é ")), min_size=1, max_size=6)


@given(
    ids=st.lists(LABEL, min_size=4, max_size=12, unique=True),
    strata=st.lists(st.tuples(LABEL, LABEL), min_size=1, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_text_labels_round_trip_and_verify(ids, strata, seed) -> None:
    data = pd.DataFrame({"id": pd.Series(ids, dtype=object)})
    pairs = list(itertools.islice(itertools.cycle(strata), len(ids)))
    data["s1"] = pd.Series([a for a, _ in pairs], dtype=object)
    data["s2"] = pd.Series([b for _, b in pairs], dtype=object)
    alloc = de.randomise(data, strata=["s1", "s2"], seed=seed)
    # distinct combinations are distinct strata (labels never collide)
    assert alloc.metadata["n_strata"] == len(set(zip(data["s1"], data["s2"], strict=True)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.csv"
        alloc.write(path)
        back = Allocation.read(path)
    assert back.table["id"].tolist() == alloc.table["id"].tolist()
    assert back.table["stratum"].astype(str).tolist() == alloc.table["stratum"].astype(str).tolist()
    assert back.commitment == alloc.commitment
    back.verify(data, commitment=alloc.commitment)
