"""The same statistics on Dask and Spark: what a function does with a frame that is not
in memory.

A public function that takes a pandas DataFrame also takes a ``dask.dataframe.DataFrame``
or a ``pyspark.sql.DataFrame``; :func:`engine_of` says which it was given. Nothing here
re-implements a rule of the library: the engines only move rows and add numbers.

* :func:`map_sums`: a function of a pandas chunk returns partial sums (optionally by a
  key: a cluster, a cell); the engine adds them. Cross-products for OLS, leverages and
  sandwich meats, per-cluster blocks, cell means and counts are all sums.
* :func:`by_key`: person-local work. The rows of several tables that share a key (a
  person's id) are brought to one partition (a hash shuffle on the key) and the existing
  pandas kernel runs on each partition: one implementation of the rules, not three.
  A partition's kernel returns its rows and a small picklable note (counts of problems),
  which the driver combines; a :class:`~dwp_eval.errors.DwpEvalError` raised by a kernel
  is raised again on the driver with its own class and message.
* :func:`collect`: a small frame (one row per cluster or cell) brought to the driver.

Engines are imported only when a frame of theirs is passed: ``pip install
"dwp_eval[dask]"`` or ``"dwp_eval[spark]"`` (:func:`require` names the extra).
"""

from dwp_eval._core.engines.base import (
    DASK,
    ENGINES,
    PANDAS,
    SPARK,
    Note,
    check_engine_columns,
    engine_of,
    require,
)
from dwp_eval._core.engines.ops import (
    by_key,
    collect,
    columns,
    count_rows,
    kept,
    keyed_sums,
    map_sums,
    with_key_means,
)

__all__ = [
    "DASK",
    "ENGINES",
    "PANDAS",
    "SPARK",
    "Note",
    "by_key",
    "check_engine_columns",
    "collect",
    "columns",
    "count_rows",
    "engine_of",
    "kept",
    "keyed_sums",
    "map_sums",
    "require",
    "with_key_means",
]
