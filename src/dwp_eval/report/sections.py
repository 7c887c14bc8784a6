"""How a report is put together, shared by the trial report (:mod:`~dwp_eval.report.report`)
and the area-pilot report (:mod:`~dwp_eval.report.area_report`): every table is published
through the plan's disclosure rules, every number in the text too, and every cell withheld
is logged; the log becomes the report's last section."""

from __future__ import annotations

import datetime as _dt
import platform
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._version import __version__
from dwp_eval.report import _checked
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.document import Report, Section, _display, _log_text, _protect

__all__ = ["SectionBuilder"]


class SectionBuilder:
    """Collects a report's sections under one set of disclosure rules."""

    def __init__(self, rules: DisclosureRules) -> None:
        self.rules = rules
        self.sections: list[Section] = []
        self._logs: list[pd.DataFrame] = []

    def protect(self, frame: pd.DataFrame, key: str, **options: Any) -> pd.DataFrame:
        """``frame`` as published under the rules (its log in ``attrs["log"]``)."""
        return _protect(frame, self.rules, key, **options)

    def add(self, key: str, title: str, text: list[str], table: pd.DataFrame,
            display: pd.DataFrame | None = None, figure: bytes | None = None,
            published: pd.DataFrame | None = None) -> None:
        """Add a section: ``table`` is protected unless ``published`` is given (already
        protected); the numbers in ``text`` are checked too; both logs are kept."""
        if published is None:
            published = self.protect(table, key)
        self._logs.append(_checked.log_of(published, key))
        words: list[dict[str, Any]] = []
        text = _checked.protect_text(text, self.rules, key, words)
        self._logs.append(pd.DataFrame(words, columns=self._logs[-1].columns))
        shown = _display(published) if display is None else display
        self.sections.append(Section(key, title, tuple(text), published, shown, figure))

    def finish(self, plan: Any, results: Mapping[str, Any], versions: Mapping[str, str]) -> Report:
        """The report: the sections, then the disclosure log (every cell withheld, the rule
        and why)."""
        log = pd.concat(self._logs, ignore_index=True)
        sections = [*self.sections, Section("disclosure", "Disclosure log",
                                            tuple(_log_text(log, self.rules)), log, _display(log))]
        created = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        return Report(plan, plan.fingerprint, tuple(sections), results, created, dict(versions))


def versions() -> dict[str, str]:
    """The versions a report records."""
    return {"dwp_eval": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "pandas": pd.__version__}
