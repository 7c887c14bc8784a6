"""make test installs the optional extras (sdc, export, notebooks, dask, spark) so their tests run there.

Tests of optional features skip when their package is missing (the dependency matrix installs
only the test extra). In the main run of make test, DWP_EVAL_REQUIRE_EXTRAS=1 is set, and this
test fails if any extra is missing, so a skip there is never silent.
"""

from __future__ import annotations

import importlib
import os

import pytest

EXTRAS = {
    "sdc": ["acro"],
    "export": ["openpyxl", "docx", "great_tables"],
    "notebooks": ["jupytext", "nbclient", "ipykernel"],
    "dask": ["dask.dataframe", "distributed", "pyarrow"],
    "spark": ["pyspark.sql", "pyarrow"],
}


@pytest.mark.skipif(
    os.environ.get("DWP_EVAL_REQUIRE_EXTRAS") != "1",
    reason="only the main run of make test installs the optional extras",
)
@pytest.mark.parametrize(
    "extra,module", [(e, m) for e, mods in EXTRAS.items() for m in mods]
)
def test_optional_extra_installed(extra: str, module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as err:  # pragma: no cover - the failure message is the point
        pytest.fail(f"the [{extra}] extra is not installed ({module}: {err}); run make test")
