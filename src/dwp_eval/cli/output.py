"""How the command line prints: --quiet, --json, the exit statuses in --help, headline impacts."""

from __future__ import annotations

import argparse
import contextlib
import io
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EXIT_BAD_INPUT", "EXIT_CHECK_FAILED", "EXIT_INTERNAL", "EXIT_OK", "SubParser",
           "headline", "jsonable", "print_headline", "records", "stdout_unless", "with_common"]

#: Exit statuses of ``dwp-eval`` (also in ``dwp-eval --help``).
EXIT_OK = 0
#: ``selfcheck`` ran and a comparison with a reference failed.
EXIT_CHECK_FAILED = 1
#: Bad input or usage: a :class:`~dwp_eval.errors.DwpEvalError`, a file that cannot be read or
#: written, an unknown option. The message says what to fix.
EXIT_BAD_INPUT = 2
#: An internal error (a bug in dwp_eval): please report it (EX_SOFTWARE in sysexits.h).
EXIT_INTERNAL = 70

EXIT_TEXT = f"""exit status:
  {EXIT_OK}   success
  {EXIT_CHECK_FAILED}   selfcheck: a comparison with a reference did not agree
  {EXIT_BAD_INPUT}   bad input or usage (a file, column, option or value to fix; the message says how)
  {EXIT_INTERNAL}  internal error in dwp_eval (a bug: please report it with the command you ran)

--json prints the results as one JSON object on standard output; --quiet prints nothing
but errors. Errors go to standard error as one line: dwp-eval <command>: error: <message>
"""


def value_text(v: float, binary: bool) -> str:
    return f"{100 * v:.2f} pp" if binary else f"{v:.4g}"


def headline(report: Any) -> list[dict[str, Any]]:
    """One row per impact in the report's impact table: outcome, arm, estimate, CI, p."""
    table = report.results.get("impact")
    if table is None:
        return []
    rows = []
    for effect, p_adj, family, why in zip(table.effects, table.p_value_adjusted, table.families,
                                           table.reasons(), strict=True):
        rows.append({
            "outcome": effect.outcome, "arm": f"{effect.treatment} vs {effect.control}",
            "estimand": effect.estimand, "family": family, "estimate": effect.estimate,
            "conf_low": effect.conf_low, "conf_high": effect.conf_high,
            "p_value": effect.p_value, "p_value_adjusted": p_adj,
            "binary": bool(effect.binary_outcome), "n_obs": effect.n_obs,
            "not_estimable": why,
        })
    return rows


def print_headline(rows: list[dict[str, Any]], correction: str, alpha: float) -> None:
    if not rows:
        return
    level = f"{100 * (1 - alpha):g}%"
    print(f"\nHeadline impacts ({rows[0]['estimand']}; p adjusted: {correction}):")
    cells = [("outcome", "arm", "estimate", f"{level} CI", "p", "p adjusted")]
    for r in rows:
        if r.get("not_estimable"):
            cells.append((r["outcome"], r["arm"], f"not estimable ({r['not_estimable']})",
                          "", "", ""))
            continue
        cells.append((r["outcome"], r["arm"], value_text(r["estimate"], r["binary"]),
                      f"[{value_text(r['conf_low'], r['binary'])}, {value_text(r['conf_high'], r['binary'])}]",
                      f"{r['p_value']:.3g}", f"{r['p_value_adjusted']:.3g}"))
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    for c in cells:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())


class SubParser(argparse.ArgumentParser):
    """Subcommand parsers print the exit statuses under their help too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", EXIT_TEXT)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)


def with_common(add_parser: Any) -> Any:
    """Wrap ``add_parser`` so every command gets ``--quiet`` and ``--json``."""

    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = add_parser(name, **kwargs)
        out = parser.add_mutually_exclusive_group()
        out.add_argument("-q", "--quiet", action="store_true",
                         help="print nothing but errors (the exit status tells the outcome)")
        out.add_argument("--json", action="store_true",
                         help="print the results as one JSON object on standard output, nothing else")
        parser.set_defaults(payload=None)
        return parser

    return add


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(zip(map(str, frame.columns), row, strict=True)) for row in frame.itertuples(index=False)]


@contextlib.contextmanager
def stdout_unless(show: bool) -> Iterator[None]:
    if show:
        yield
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
