"""Numbers for reading, one convention for every summary, report and plot label."""

from __future__ import annotations

import numpy as np

__all__ = [
    "df_text",
    "number",
    "p_cell",
    "p_value_text",
    "percent",
]


def number(v: float) -> str:
    """A number for reading: from 1,000 up thousands-separated with one decimal
    (``1,234.6``); below, four significant digits (``456.7``, ``1.235``,
    ``0.01235``); scientific notation only under 0.0001 (``1.235e-05``)."""
    if not np.isfinite(v):
        return f"{v}"
    if v == 0:
        return "0"
    magnitude = abs(float(f"{v:.4g}"))  # after rounding: 999.96 -> 1000
    if magnitude >= 1000:
        return f"{v:,.1f}"
    if magnitude < 1e-4:
        return f"{v:.4g}"
    return f"{v:.{3 - int(np.floor(np.log10(magnitude)))}f}"


def df_text(df: float) -> str:
    """Degrees of freedom: whole numbers without decimals (``5,100``), others as
    :func:`number` (``192.3``)."""
    if np.isfinite(df) and float(df).is_integer():
        return f"{df:,.0f}"
    return number(df)


def percent(share: float, *, decimals: int = 1) -> str:
    """A share as a percentage with ``decimals`` decimals (``0.123`` -> ``12.3%``)."""
    return f"{100 * share:.{decimals}f}%"


def p_value_text(p: float) -> str:
    """A p-value for reading: ``p = 0.0123`` (four decimals), ``p < 0.0001`` below that."""
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


def p_cell(p: float) -> str:
    """A p-value for a table cell: ``<0.001``, or three decimals (``0.042``)."""
    if not np.isfinite(p):
        return "nan"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
