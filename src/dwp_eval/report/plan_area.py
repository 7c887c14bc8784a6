"""Area-pilot analysis plans: a programme piloted in areas rather than randomised,
evaluated by staggered difference-in-differences, an event study with its
sensitivity to violations of parallel trends, or a synthetic comparison.

A plan with an ``[area_pilot]`` table is an area-pilot plan; it has none of the
trial's sections (``[design]``, ``[outcomes]``, ``[analysis]``, ...), and at
least one of ``[did]``, ``[event_study]`` and ``[synthetic]``::

    [plan]
    title = "Employment advisers in six pilot areas: employment rate"

    [area_pilot]
    outcome = "employed"     # 0/1 per survey respondent (or an area rate in a panel)
    area = "area"            # the area of each row: inference is clustered by area
    time = "quarter"
    cohort = "cohort"        # the period the pilot started in the area; 0 = never
    panel = false            # repeated cross-sections: a fresh survey sample each period
    weights = "weight"       # survey weights
    primary = "did"          # the pre-specified primary analysis

    [did]                    # Callaway & Sant'Anna (2021), staggered_did
    control_group = "never_treated"
    bootstrap = 999
    seed = 20240101

    [event_study]            # with the Honest DiD sensitivity (Rambachan & Roth 2023)
    window = [-4, 4]
    sensitivity = "smoothness"
    m = [0.0, 0.005, 0.01]

    [synthetic]              # one or a few pilot areas: synthetic_did / synthetic_control
    method = "synthetic_did"
    treated = ["E06000001"]
    treat_time = 9
    se_method = "placebo"
    seed = 20240101

Every key is checked when the plan is read: an unknown key names the closest
valid one, a wrong type or value says the fix, and a bootstrap or placebo
without a seed is refused (the report must be re-runnable).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dwp_eval._validation import _fmt_list

__all__ = [
    "AREA_SCHEMA",
    "TRIAL_SECTIONS",
    "AreaPilot",
    "DidSettings",
    "EventStudySettings",
    "SyntheticSettings",
    "read_area_pilot",
]

#: The sections of an area-pilot plan and their keys.
AREA_SCHEMA: dict[str, dict[str, str]] = {
    "area_pilot": {
        "outcome": "the outcome column",
        "area": "column of areas (the unit of the pilot; inference is clustered by area)",
        "time": "column of periods (they must sort)",
        "cohort": "column of the period the pilot started in each row's area (0 = never)",
        "panel": "false: repeated cross-sections (survey rows); true: a panel of units",
        "unit": "panel only: column of unit ids followed over time (default: the area)",
        "weights": "column of survey weights (> 0; repeated cross-sections)",
        "alpha": "significance level (default 0.05)",
        "primary": "the primary analysis: 'did', 'event_study' or 'synthetic'",
    },
    "did": {
        "control_group": "'never_treated' or 'not_yet_treated'",
        "method": "'dr' (doubly robust), 'ipw' or 'reg'",
        "anticipation": "periods of anticipation before the pilot starts (default 0)",
        "aggregations": "list of 'simple', 'group', 'calendar' (default all three)",
        "bootstrap": "multiplier-bootstrap draws for uniform bands (0: none; default 999)",
        "seed": "seed of the bootstrap (required when bootstrap > 0)",
    },
    "event_study": {
        "estimator": "'callaway_santanna', 'imputation', 'sun_abraham' or 'twfe'",
        "control_group": "'never_treated' or 'not_yet_treated' (Callaway-Sant'Anna)",
        "window": "event times kept, [first, last], e.g. [-4, 4]",
        "bootstrap": "multiplier-bootstrap draws for the uniform band (default 999)",
        "seed": "seed of the bootstrap and the pre-trend power's draws (required)",
        "sensitivity": "'smoothness' or 'relative_magnitude' (Honest DiD), or 'none'",
        "m": "smoothness: values of M, e.g. [0, 0.005, 0.01] (default: a grid)",
        "mbar": "relative magnitudes: values of Mbar, e.g. [0.5, 1, 1.5, 2]",
        "target": "'first' (the first post-period effect) or 'average' (of the post periods)",
        "pretrend_power": "the power at which the pre-trend test's detectable slope is "
                          "reported (default 0.8; 0: off)",
    },
    "synthetic": {
        "method": "'synthetic_did' (Arkhangelsky et al. 2021) or 'synthetic_control'",
        "treated": "the pilot area(s), a list of values of the area column",
        "treat_time": "the first period of the pilot",
        "se_method": "'placebo', 'jackknife' or 'bootstrap'",
        "replications": "placebo or bootstrap replications (default 200)",
        "seed": "seed of the placebo or bootstrap draws (required for them)",
    },
}
#: The trial plan's sections, which an area-pilot plan does not have.
TRIAL_SECTIONS = ("design", "outcomes", "analysis", "multiplicity", "subgroups", "balance",
                  "flow", "survival", "distribution")
_ANALYSES = ("did", "event_study", "synthetic")
_MAX_DRAWS = 100_000


@dataclass(frozen=True)
class DidSettings:
    """``[did]``: :func:`dwp_eval.staggered_did` and its aggregations."""

    control_group: str = "never_treated"
    method: str = "dr"
    anticipation: int = 0
    aggregations: tuple[str, ...] = ("simple", "group", "calendar")
    bootstrap: int = 999
    seed: int | None = None


@dataclass(frozen=True)
class EventStudySettings:
    """``[event_study]``: the event study and its Honest DiD sensitivity analysis."""

    estimator: str = "callaway_santanna"
    control_group: str = "never_treated"
    window: tuple[int, int] | None = None
    bootstrap: int = 999
    seed: int | None = None
    sensitivity: str | None = "smoothness"
    m: tuple[float, ...] | None = None
    mbar: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
    target: str = "first"
    pretrend_power: float = 0.8


@dataclass(frozen=True)
class SyntheticSettings:
    """``[synthetic]``: :func:`dwp_eval.synthetic_did` or :func:`dwp_eval.synthetic_control`."""

    method: str
    treated: tuple[Any, ...]
    treat_time: Any
    se_method: str = "placebo"
    replications: int = 200
    seed: int | None = None


@dataclass(frozen=True)
class AreaPilot:
    """An area-pilot plan's columns and its pre-specified analyses (``None``: not in the plan)."""

    outcome: str
    area: str
    time: str
    primary: str
    cohort: str | None = None
    panel: bool = False
    unit: str | None = None
    weights: str | None = None
    did: DidSettings | None = None
    event_study: EventStudySettings | None = None
    synthetic: SyntheticSettings | None = None

    @property
    def analyses(self) -> tuple[str, ...]:
        """The analyses in the plan, the primary first."""
        present = [a for a in _ANALYSES if getattr(self, a) is not None]
        return (self.primary, *[a for a in present if a != self.primary])

    def columns(self) -> dict[str, list[str]]:
        """Every column the plan names, by role."""
        roles = {f"[area_pilot] {k}": [v] for k, v in (
            ("outcome", self.outcome), ("area", self.area), ("time", self.time),
            ("cohort", self.cohort), ("unit", self.unit), ("weights", self.weights)) if v}
        return roles

    def describe(self, alpha: float) -> list[str]:
        """The plan's summary lines (for :meth:`AnalysisPlan.summary`)."""
        kind = "panel" if self.panel else "repeated cross-sections"
        lines = [f"  area pilot   {kind}: area={self.area}, time={self.time}"
                 + (f", cohort={self.cohort}" if self.cohort else "")
                 + (f", unit={self.unit}" if self.unit else "")
                 + (f", weights={self.weights}" if self.weights else "") + f"; alpha={alpha:g}"]
        for name in self.analyses:
            head = f"  {name.replace('_', ' '):<12} " + ("primary: " if name == self.primary else "")
            if name == "did" and self.did is not None:
                d = self.did
                lines.append(f"{head}Callaway-Sant'Anna {d.method}, {d.control_group}; "
                             f"{', '.join(d.aggregations)}; bootstrap {d.bootstrap:,}")
            elif name == "event_study" and self.event_study is not None:
                e = self.event_study
                lines.append(f"{head}{e.estimator}"
                             + (f", window {e.window[0]} to {e.window[1]}" if e.window else "")
                             + f"; sensitivity {e.sensitivity or 'none'}")
            elif self.synthetic is not None:
                s = self.synthetic
                lines.append(f"{head}{s.method}, treated {', '.join(map(str, s.treated))} "
                             f"from {s.treat_time}; {s.se_method} inference")
        return lines


def _check(ok: bool, error: type[Exception], where: str, key: str, value: Any, fix: str) -> None:
    if not ok:
        raise error(f"Analysis plan [{where}] {key} is {value!r}, which is not valid. Fix: {fix}.")


def _column(body: Mapping[str, Any], key: str, error: type[Exception], *,
            required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    _check(isinstance(value, str) and bool(value), error, "area_pilot", key, value,
           f'write {key} = "column_name" ({AREA_SCHEMA["area_pilot"][key]})')
    return str(value)


def _choice(body: Mapping[str, Any], where: str, key: str, valid: tuple[str, ...],
            default: str, error: type[Exception]) -> str:
    value = body.get(key, default)
    _check(isinstance(value, str) and value in valid, error, where, key, value,
           f"write one of {_fmt_list(valid)}")
    return str(value)


def _int(body: Mapping[str, Any], where: str, key: str, default: int | None, lo: int, hi: int,
         error: type[Exception]) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    _check(isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi, error,
           where, key, value, f"write an integer from {lo:,} to {hi:,}")
    return int(value)


def _numbers(body: Mapping[str, Any], where: str, key: str, error: type[Exception],
             default: tuple[float, ...] | None) -> tuple[float, ...] | None:
    value = body.get(key)
    if value is None:
        return default
    ok = (isinstance(value, list) and len(value) > 0 and all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value))
    _check(ok, error, where, key, value, f"write a list of numbers >= 0, e.g. {key} = [0.5, 1, 2]")
    return tuple(float(v) for v in value)


def _seed(body: Mapping[str, Any], where: str, needed: bool, why: str,
          error: type[Exception]) -> int | None:
    seed = body.get("seed")
    if seed is None:
        if needed:
            raise error(f"Analysis plan [{where}] uses {why} but gives no seed. Fix: add "
                        "seed = 20240101 (any integer) so the report can be re-run.")
        return None
    _check(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0, error, where,
           "seed", seed, "write a non-negative integer")
    return int(seed)


def _did(body: Mapping[str, Any], error: type[Exception]) -> DidSettings:
    aggs = body.get("aggregations", ["simple", "group", "calendar"])
    valid = ("simple", "group", "calendar")
    _check(isinstance(aggs, list) and len(aggs) > 0 and all(a in valid for a in aggs)
           and len(set(aggs)) == len(aggs), error, "did", "aggregations", aggs,
           f"write a list of distinct names from {_fmt_list(valid)} (the event study by event "
           "time is [event_study])")
    boot = _int(body, "did", "bootstrap", 999, 0, _MAX_DRAWS, error) or 0
    return DidSettings(
        control_group=_choice(body, "did", "control_group", ("never_treated", "not_yet_treated"),
                              "never_treated", error),
        method=_choice(body, "did", "method", ("dr", "ipw", "reg"), "dr", error),
        anticipation=_int(body, "did", "anticipation", 0, 0, 1_000, error) or 0,
        aggregations=tuple(aggs), bootstrap=boot,
        seed=_seed(body, "did", boot > 0, "a multiplier bootstrap (bootstrap > 0)", error))


def _event_study(body: Mapping[str, Any], panel: bool, error: type[Exception]) -> EventStudySettings:
    estimator = _choice(body, "event_study", "estimator",
                        ("callaway_santanna", "imputation", "sun_abraham", "twfe"),
                        "callaway_santanna", error)
    if not panel and estimator != "callaway_santanna":
        raise error(
            f"Analysis plan [event_study] estimator = {estimator!r} needs a panel of units, but "
            "[area_pilot] panel = false (repeated cross-sections). Fix: use estimator = "
            "\"callaway_santanna\" (its event study works on repeated cross-sections), or "
            "analyse a panel.")
    window = body.get("window")
    if window is not None:
        _check(isinstance(window, list) and len(window) == 2 and all(
            isinstance(w, int) and not isinstance(w, bool) for w in window)
            and window[0] < 0 <= window[1], error, "event_study", "window", window,
            "write window = [first, last] with first < 0 <= last, e.g. [-4, 4]")
        window = (int(window[0]), int(window[1]))
    # the imputation estimator's pre-period coefficients are its pre-trend test's (Borusyak,
    # Jaravel & Spiess 2024, section 4.4), not effects relative to the period before the pilot,
    # which Honest DiD and the pre-trend power analysis need
    relative = estimator != "imputation"
    sensitivity = _choice(body, "event_study", "sensitivity",
                          ("smoothness", "relative_magnitude", "none"),
                          "smoothness" if relative else "none", error)
    if not relative and (sensitivity != "none" or body.get("pretrend_power", 0) != 0
                         or "m" in body or "mbar" in body):
        raise error(
            "Analysis plan [event_study] asks for a sensitivity analysis or the pre-trend test's "
            "power with estimator = \"imputation\", whose pre-period coefficients are not "
            "effects relative to the period before the pilot, as Honest DiD and the power "
            "analysis need. Fix: use estimator = \"callaway_santanna\" or \"sun_abraham\", or "
            "set sensitivity = \"none\" and pretrend_power = 0.")
    if sensitivity != "smoothness" and "m" in body:
        raise error("Analysis plan [event_study] gives m, which is the smoothness bound, but "
                    f"sensitivity = {sensitivity!r}. Fix: remove m, or set sensitivity = "
                    "\"smoothness\".")
    if sensitivity != "relative_magnitude" and "mbar" in body:
        raise error("Analysis plan [event_study] gives mbar, the relative-magnitudes bound, but "
                    f"sensitivity = {sensitivity!r}. Fix: remove mbar, or set sensitivity = "
                    "\"relative_magnitude\".")
    power = body.get("pretrend_power", 0.8 if relative else 0.0)
    _check(isinstance(power, int | float) and not isinstance(power, bool) and 0 <= power < 1,
           error, "event_study", "pretrend_power", power, "write a power in (0, 1), or 0 for none")
    boot = _int(body, "event_study", "bootstrap", 999, 0, _MAX_DRAWS, error) or 0
    draws = boot > 0 and estimator == "callaway_santanna"
    return EventStudySettings(
        estimator=estimator,
        control_group=_choice(body, "event_study", "control_group",
                              ("never_treated", "not_yet_treated"), "never_treated", error),
        window=window, bootstrap=boot,
        seed=_seed(body, "event_study", draws or power > 0,
                   "random draws (a multiplier bootstrap or the pre-trend test's power)", error),
        sensitivity=None if sensitivity == "none" else sensitivity,
        m=_numbers(body, "event_study", "m", error, None),
        mbar=_numbers(body, "event_study", "mbar", error, (0.5, 1.0, 1.5, 2.0)) or (),
        target=_choice(body, "event_study", "target", ("first", "average"), "first", error),
        pretrend_power=float(power))


def _synthetic(body: Mapping[str, Any], error: type[Exception]) -> SyntheticSettings:
    for key in ("treated", "treat_time"):
        if key not in body:
            raise error(f"Analysis plan [synthetic] must give {key} "
                        f"({AREA_SCHEMA['synthetic'][key]}). Fix: add {key} = ... to [synthetic].")
    treated = body["treated"]
    if not isinstance(treated, list):
        treated = [treated]
    _check(len(treated) > 0 and all(isinstance(t, str | int) and not isinstance(t, bool)
                                    for t in treated) and len(set(treated)) == len(treated),
           error, "synthetic", "treated", body["treated"],
           'write the pilot areas as a list of distinct area labels, e.g. treated = ["E06000001"]')
    when = body["treat_time"]
    _check(isinstance(when, str | int | float) and not isinstance(when, bool), error, "synthetic",
           "treat_time", when, "write the first period of the pilot, as in the time column")
    se_method = _choice(body, "synthetic", "se_method", ("placebo", "jackknife", "bootstrap"),
                        "placebo", error)
    return SyntheticSettings(
        method=_choice(body, "synthetic", "method", ("synthetic_did", "synthetic_control"),
                       "synthetic_did", error),
        treated=tuple(treated), treat_time=when, se_method=se_method,
        replications=_int(body, "synthetic", "replications", 200, 2, _MAX_DRAWS, error) or 200,
        seed=_seed(body, "synthetic", se_method != "jackknife",
                   f"{se_method} inference (random draws)", error))


def read_area_pilot(raw: Mapping[str, Any], error: type[Exception]) -> AreaPilot:
    """Check an area-pilot plan's sections (``raw``: the plan's sections of keys, each
    key already checked to exist in :data:`AREA_SCHEMA`) and return them; raise
    ``error`` naming the section, the key and the fix."""
    trial = [s for s in TRIAL_SECTIONS if s in raw]
    if trial:
        raise error(
            f"Analysis plan has an [area_pilot] table and the trial section(s) "
            f"{', '.join(f'[{s}]' for s in trial)}: an area-pilot plan is analysed by "
            "difference-in-differences or a synthetic comparison, not as a randomised trial. "
            "Fix: write a separate plan for each, or remove [area_pilot].")
    present = [a for a in _ANALYSES if a in raw]
    if not present:
        raise error("Analysis plan [area_pilot] pre-specifies no analysis. Fix: add a [did], "
                    "[event_study] or [synthetic] table.")
    body = raw["area_pilot"]
    panel = body.get("panel", False)
    _check(isinstance(panel, bool), error, "area_pilot", "panel", panel,
           "write panel = false (repeated cross-sections) or panel = true")
    primary = body.get("primary", present[0] if len(present) == 1 else None)
    if primary is None:
        raise error(f"Analysis plan pre-specifies {len(present)} analyses ("
                    f"{', '.join(f'[{p}]' for p in present)}) but [area_pilot] does not say which "
                    f"is primary. Fix: add primary = \"{present[0]}\" to [area_pilot].")
    _check(primary in present, error, "area_pilot", "primary", primary,
           f"name an analysis the plan has: {_fmt_list(present)}")
    cohort = _column(body, "cohort", error)
    if cohort is None and ("did" in raw or "event_study" in raw):
        raise error("Analysis plan [did] and [event_study] need [area_pilot] cohort, the column "
                    "of the period the pilot started in each area (0 = never). Fix: add "
                    "cohort = \"cohort\" to [area_pilot].")
    unit = _column(body, "unit", error)
    if unit is not None and not panel:
        raise error("Analysis plan [area_pilot] names a unit but panel = false: repeated "
                    "cross-sections follow no unit over time. Fix: remove unit, or set panel = true.")
    weights = _column(body, "weights", error)
    if weights is not None and panel:
        raise error("Analysis plan [area_pilot] names survey weights with panel = true: the "
                    "panel estimators are unweighted. Fix: remove weights, or analyse the survey "
                    "as repeated cross-sections (panel = false).")
    read: Mapping[str, Callable[[Mapping[str, Any]], Any]] = {
        "did": lambda b: _did(b, error),
        "event_study": lambda b: _event_study(b, panel, error),
        "synthetic": lambda b: _synthetic(b, error),
    }
    return AreaPilot(
        outcome=str(_column(body, "outcome", error, required=True)),
        area=str(_column(body, "area", error, required=True)),
        time=str(_column(body, "time", error, required=True)),
        primary=str(primary), cohort=cohort, panel=panel, unit=unit, weights=weights,
        **{a: read[a](raw[a]) for a in present})
