"""The parts of an analysis plan beyond mean impacts: time-to-event outcomes
(``[survival.<name>]``, analysed by :func:`dwp_eval.survival_effect`) and the
distribution of an outcome (``[distribution]``, quantile treatment effects by
:func:`dwp_eval.quantile_effects`).

A plan names a time-to-event outcome by its two columns and the horizon of its
restricted mean::

    [survival.time_to_job]
    duration = "days_to_job"   # days from randomisation to the job or to censoring
    event = "found_job"        # 1: the job was seen; 0: censored
    horizon = 365              # days: the restricted mean survival time's horizon

and the outcomes whose whole distribution is compared::

    [distribution]
    outcomes = ["earnings_12m"]
    quantiles = [0.25, 0.5, 0.75, 0.9]
    draws = 999
    seed = 20240101

Both are reported in their own sections of the report; they are not part of the
impact table's multiplicity families (which adjust the mean impacts of ``[outcomes]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dwp_eval._validation import _fmt_list, closest

__all__ = ["DISTRIBUTION_KEYS", "SURVIVAL_KEYS", "QuantileSettings", "SurvivalOutcome",
           "read_distribution", "read_survival"]

#: Keys of a ``[survival.<name>]`` table.
SURVIVAL_KEYS = {
    "duration": "column of days from randomisation to the event or to censoring (> 0)",
    "event": "0/1 column: 1 when the event was seen, 0 when censored",
    "horizon": "days: the horizon of the restricted mean survival time",
}
#: Keys of the ``[distribution]`` table.
DISTRIBUTION_KEYS = {
    "outcomes": "outcome columns whose distribution is compared by quantile effects",
    "quantiles": "quantiles in (0, 1), e.g. [0.25, 0.5, 0.75, 0.9]",
    "draws": "bootstrap draws for the quantile effects' intervals (default 999)",
    "seed": "seed of the bootstrap (required)",
}
_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
_MAX_DRAWS = 100_000


@dataclass(frozen=True)
class SurvivalOutcome:
    """A pre-specified time-to-event outcome (``[survival.<name>]``)."""

    name: str
    duration: str
    event: str
    horizon: float


@dataclass(frozen=True)
class QuantileSettings:
    """The pre-specified quantile treatment effects (``[distribution]``)."""

    outcomes: tuple[str, ...]
    quantiles: tuple[float, ...] = _QUANTILES
    draws: int = 999
    seed: int = 0


def _fail(error: type[Exception], where: str, key: str, problem: str, fix: str) -> Exception:
    return error(f"Analysis plan {where} {key} {problem}. Fix: {fix}.")


def _unknown(body: Mapping[str, Any], keys: Mapping[str, str], where: str,
             error: type[Exception]) -> None:
    for key in body:
        if key not in keys:
            guess = closest(str(key), keys)
            hint = f" Did you mean {guess!r}?" if guess else ""
            raise error(f"Analysis plan {where} has an unknown key {key!r}; its keys are "
                        f"{_fmt_list(keys)}.{hint}")


def _column(body: Mapping[str, Any], key: str, where: str, error: type[Exception],
            example: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(error, where, key, f"must be a column name; got {value!r}",
                    f"write {key} = \"{example}\"")
    return value


def read_survival(section: Mapping[str, Any], error: type[Exception]) -> tuple[SurvivalOutcome, ...]:
    """The ``[survival.<name>]`` tables, checked (each needs duration, event, horizon)."""
    out = []
    for name, body in section.items():
        where = f"[survival.{name}]"
        if not isinstance(body, Mapping):
            raise error(f"Analysis plan [survival] holds {name} = {body!r}, but [survival] holds "
                        "one table per time-to-event outcome. Fix: write [survival.time_to_job] "
                        "with duration, event and horizon.")
        _unknown(body, SURVIVAL_KEYS, where, error)
        duration = _column(body, "duration", where, error, "days_to_job")
        event = _column(body, "event", where, error, "found_job")
        horizon = body.get("horizon")
        if (isinstance(horizon, bool) or not isinstance(horizon, int | float)
                or not 0 < horizon < float("inf")):
            raise _fail(error, where, "horizon", f"must be a positive number of days; got "
                        f"{horizon!r}", "write horizon = 365")
        if duration == event:
            raise _fail(error, where, "event", f"names the duration column {duration!r} again",
                        "name the 0/1 column of whether the event was seen")
        out.append(SurvivalOutcome(name=str(name), duration=duration, event=event,
                                   horizon=float(horizon)))
    return tuple(out)


def read_distribution(section: Mapping[str, Any],
                      error: type[Exception]) -> QuantileSettings | None:
    """The ``[distribution]`` table, checked, or ``None`` when the plan has none."""
    if not section:
        return None
    where = "[distribution]"
    _unknown(section, DISTRIBUTION_KEYS, where, error)
    outcomes = section.get("outcomes")
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    if (not isinstance(outcomes, list) or not outcomes
            or not all(isinstance(o, str) and o for o in outcomes)
            or len(set(outcomes)) < len(outcomes)):
        raise _fail(error, where, "outcomes", f"must list outcome columns, each once; got "
                    f"{outcomes!r}", "write outcomes = [\"earnings_12m\"]")
    quantiles = section.get("quantiles", list(_QUANTILES))
    if (not isinstance(quantiles, list) or not quantiles
            or not all(isinstance(q, int | float) and not isinstance(q, bool) and 0 < q < 1
                       for q in quantiles)
            or len(set(quantiles)) < len(quantiles)):
        raise _fail(error, where, "quantiles", f"must be distinct numbers in (0, 1); got "
                    f"{quantiles!r}", "write quantiles = [0.25, 0.5, 0.75, 0.9]")
    draws = section.get("draws", 999)
    if isinstance(draws, bool) or not isinstance(draws, int) or not 99 <= draws <= _MAX_DRAWS:
        raise _fail(error, where, "draws", f"must be a whole number from 99 to {_MAX_DRAWS:,}; "
                    f"got {draws!r}", "write draws = 999")
    seed = section.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _fail(error, where, "seed", "is required: a whole number >= 0 (the bootstrap is "
                    f"random and the report must be reproducible); got {seed!r}",
                    "add seed = 20240101")
    return QuantileSettings(outcomes=tuple(outcomes), quantiles=tuple(float(q) for q in sorted(quantiles)),
                            draws=draws, seed=seed)
