"""The ``group_means`` table of a 2x2 difference in differences (shared by the pandas and
the engine paths of :func:`dwp_eval.did`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GROUP_MEANS_COLUMNS", "group_means_frame"]

GROUP_MEANS_COLUMNS = [
    "group",
    "n_pre",
    "mean_pre",
    "std_error_pre",
    "n_post",
    "mean_post",
    "std_error_post",
    "change",
    "std_error_change",
]


def group_means_frame(per_group: Sequence[tuple[int, float, float, int, float, float, float]]) -> pd.DataFrame:
    """The table from ``(n_pre, mean_pre, se_pre, n_post, mean_post, se_post, se_change)``
    of the comparison and the treated group; the ``difference`` row treats the two groups
    as independent."""
    rows: list[dict[str, Any]] = []
    for label, (n0, m0, s0, n1, m1, s1, se) in zip(("comparison", "treated"), per_group, strict=True):
        rows.append(
            {
                "group": label, "n_pre": n0, "mean_pre": m0, "std_error_pre": s0, "n_post": n1,
                "mean_post": m1, "std_error_post": s1, "change": m1 - m0, "std_error_change": se,
            }
        )
    c, t = rows
    rows.append(
        {
            "group": "difference", "n_pre": c["n_pre"] + t["n_pre"], "mean_pre": t["mean_pre"] - c["mean_pre"],
            "std_error_pre": float(np.hypot(t["std_error_pre"], c["std_error_pre"])),
            "n_post": c["n_post"] + t["n_post"], "mean_post": t["mean_post"] - c["mean_post"],
            "std_error_post": float(np.hypot(t["std_error_post"], c["std_error_post"])),
            "change": t["change"] - c["change"],
            "std_error_change": float(np.hypot(t["std_error_change"], c["std_error_change"])),
        }
    )
    return pd.DataFrame(rows, columns=GROUP_MEANS_COLUMNS)
