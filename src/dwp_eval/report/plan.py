"""Pre-specified statistical analysis plans, read from TOML.

A trial's statistical analysis plan is written before the outcomes are seen.
:class:`AnalysisPlan` holds the parts that decide the numbers (the outcomes and
which are primary, covariates, strata and cluster, the variance estimator, the
significance level, subgroups, multiplicity families and correction, whether a
CACE is reported, disclosure rules), checks them when the file is read, and
fingerprints the file so a report can show that it ran exactly the plan that
was registered. The file format is documented in the analysis-plan reference
(``docs/guides/analysis-plan.md``).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dwp_eval._core.contract import freeze, to_plain
from dwp_eval._core.variance import resolve_se_type
from dwp_eval._validation import _fmt_list, check_option, closest, label_key
from dwp_eval.errors import ColumnError, OptionError
from dwp_eval.estimate.multiplicity import MAX_DRAWS
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.plan_area import AREA_SCHEMA, AreaPilot, read_area_pilot
from dwp_eval.report.plan_distributions import (
    DISTRIBUTION_KEYS,
    SURVIVAL_KEYS,
    QuantileSettings,
    SurvivalOutcome,
    read_distribution,
    read_survival,
)
from dwp_eval.report.plan_estimators import (
    MI_KEYS,
    OUTCOME_KEYS,
    MiSettings,
    OutcomeAnalysis,
    check_binary_data,
    read_estimators,
)
from dwp_eval.results.impact import CORRECTIONS

__all__ = ["AnalysisPlan", "PlanError"]


class PlanError(OptionError):
    """An analysis plan is malformed or does not fit the data; the message says where."""


#: Every section of a plan file and the keys it may hold.
SCHEMA: dict[str, dict[str, str]] = {
    "plan": {
        "title": "the report's title",
        "version": "the plan's version label",
        "registration": "where the plan is registered (e.g. an ISRCTN number)",
    },
    "design": {
        "id": "column of person ids (unique)",
        "assigned": "column of the arm each person was allocated to",
        "control": "label of the control arm",
        "treatment": "label of the arm compared with control (needed with several arms)",
        "strata": "column randomisation was stratified on (fixed effects in the analysis)",
        "cluster": "column of the unit of assignment, when groups were randomised",
        "received": "0/1 column: received the programme (or similar provision)",
        "contaminated": "0/1 column: control-arm member who received similar provision",
        "site": "column of sites, for contamination by site",
        "excluded": "column of exclusion reasons (people assessed but not randomised)",
        "followed_up": "0/1 column: outcome data were collected",
        "not_due": "0/1 column: randomised too recently to be due for follow-up (not lost)",
        "lost_reason": "column of the reason each person lost to follow-up was lost",
    },
    "flow": {
        "assessed": "number of people assessed for eligibility (data hold those randomised)",
        "excluded": "table of people excluded before randomisation by reason, e.g. "
                    "{ \"did not meet criteria\" = 40 }",
    },
    "outcomes": {
        "primary": "the primary outcome columns",
        "secondary": "the secondary outcome columns",
    },
    "analysis": {
        "covariates": "baseline covariates for adjustment",
        "adjustment": "'lin' or 'additive'",
        "se_type": "variance estimator (default HC2, or CR2 when clustered)",
        "alpha": "significance level",
        "cace": "also estimate the CACE (needs design.received)",
        "missing": "'raise', 'drop' or 'mi' (multiple imputation) for missing outcome values",
        **OUTCOME_KEYS,
        **MI_KEYS,
    },
    "multiplicity": {
        "correction": "holm, bonferroni, bh, romano_wolf or none",
        "families": "'by_role' (primary and secondary separately) or 'all'",
        "draws": "bootstrap draws (Romano-Wolf), at most 100,000",
        "seed": "seed for the Romano-Wolf bootstrap",
    },
    "subgroups": {
        "by": "columns defining pre-specified subgroups",
        "outcomes": "outcomes analysed by subgroup (default: the primary outcomes)",
    },
    "balance": {
        "covariates": "baseline characteristics tabulated (default: analysis.covariates)",
    },
    "disclosure": {
        "min_count": "counts below this are suppressed (0: off)",
        "round_to": "other counts are rounded to this base (1: off)",
        "suppressed": "what a suppressed cell shows",
        "suppress_zero": "also suppress zero counts (and proportions of 0 or 1)",
        "rate_decimals": "decimals of rates and means of 0/1 outcomes beside rounded counts",
        "p_percent": "p% dominance rule for magnitude cells (0: off)",
        "nk_n": "(n, k) dominance rule: number of largest contributions (0: off)",
        "nk_k": "(n, k) dominance rule: their largest share of the total, in % (0: off)",
        "secondary": "complementary suppression against differencing from totals",
    },
    # one [survival.<name>] table per time-to-event outcome (plan_distributions checks them)
    "survival": SURVIVAL_KEYS,
    "distribution": DISTRIBUTION_KEYS,
    # an area-pilot plan: [area_pilot] with [did], [event_study], [synthetic] (plan_area.py)
    **AREA_SCHEMA,
}

_TYPES: dict[tuple[str, str], type | tuple[type, ...]] = {
    ("plan", "title"): str,
    ("plan", "version"): (str, int, float),
    ("plan", "registration"): str,
    ("analysis", "alpha"): (int, float),
    ("area_pilot", "alpha"): (int, float),
    ("analysis", "cace"): bool,
    ("multiplicity", "draws"): int,
    ("multiplicity", "seed"): int,
    ("disclosure", "min_count"): int,
    ("disclosure", "round_to"): int,
    ("disclosure", "suppressed"): str,
    ("disclosure", "suppress_zero"): bool,
    ("disclosure", "rate_decimals"): int,
    ("disclosure", "p_percent"): (int, float),
    ("disclosure", "nk_n"): int,
    ("disclosure", "nk_k"): (int, float),
    ("disclosure", "secondary"): bool,
    ("flow", "assessed"): int,
    ("flow", "excluded"): Mapping,
}
_LISTS = {("outcomes", "primary"), ("outcomes", "secondary"), ("analysis", "covariates"),
          ("subgroups", "by"), ("subgroups", "outcomes"), ("balance", "covariates")}


def _where(section: str, key: str | None = None) -> str:
    return f"[{section}]" + (f" {key}" if key else "")


def _as_names(value: Any, *, section: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PlanError(
            f"Analysis plan {_where(section, key)} must be a list of column names. Got {value!r} "
            f"instead. Fix: write {key} = [\"a\", \"b\"]."
        )
    seen: set[str] = set()
    for v in value:
        if v in seen:
            raise PlanError(
                f"Analysis plan {_where(section, key)} lists {v!r} twice. Fix: list each column once."
            )
        seen.add(v)
    return tuple(value)


def _alpha(value: Any, section: str) -> float:
    alpha = float(value)
    if not 0 < alpha < 1:
        raise PlanError(f"Analysis plan [{section}] alpha must be in (0, 1). Got {alpha!r} instead.")
    return alpha


def _labels(get: Any) -> dict[str, Any]:
    return {"title": str(get("plan", "title", "Impact report")),
            "version": str(get("plan", "version", "")),
            "registration": str(get("plan", "registration", ""))}


_RULE_DEFAULTS = {"min_count": 10, "round_to": 5, "suppressed": "[c]", "suppress_zero": False,
                  "rate_decimals": 2, "p_percent": 10.0, "secondary": True}


def _rules(get: Any) -> DisclosureRules:
    try:
        return DisclosureRules(**{k: get("disclosure", k, d) for k, d in _RULE_DEFAULTS.items()},
                               nk_rule=(get("disclosure", "nk_n", 2), get("disclosure", "nk_k", 90.0)))
    except OptionError as err:
        raise PlanError(
            f"Analysis plan [disclosure]: {err} Fix: correct the key in [disclosure] "
            "(nk_rule is written as nk_n and nk_k)."
        ) from err


@dataclass(frozen=True)
class AnalysisPlan:
    """A pre-specified statistical analysis plan (read with :meth:`AnalysisPlan.read`).

    Attributes
    ----------
    title, version, registration
        From the ``[plan]`` section.
    design
        Column roles and arm labels (``[design]``): ``id``, ``assigned``,
        ``control``, ``treatment``, ``strata``, ``cluster``, ``received``,
        ``contaminated``, ``site``, ``excluded``, ``followed_up``, ``not_due``,
        ``lost_reason``; with the ``[flow]`` counts they make :attr:`flow_options`.
    primary, secondary
        Outcome columns (``[outcomes]``); each outcome appears once.
    covariates, adjustment, se_type, alpha, cace, missing
        The estimator's settings (``[analysis]``).
    analyses
        Each outcome's pre-specified :class:`~dwp_eval.report.plan_estimators.OutcomeAnalysis`
        (``[analysis]`` ``estimator``, ``scale``, ``model``, ``site``, overridden for
        one outcome by an ``[analysis.<outcome>]`` table); use :meth:`analysis_of`.
    mi
        The :class:`~dwp_eval.report.plan_estimators.MiSettings` with
        ``missing = "mi"`` (``m``, ``mi_method``, ``mi_using``, ``mi_seed``), else ``None``.
    correction, families, draws, seed
        Multiplicity (``[multiplicity]``): ``families = "by_role"`` adjusts the
        primary and the secondary outcomes as separate families, ``"all"`` as one.
    subgroups, subgroup_outcomes
        Pre-specified subgroup analyses (``[subgroups]``).
    survival
        Time-to-event outcomes (``[survival.<name>]``: duration and event columns,
        the restricted mean's horizon in days), each a
        :class:`~dwp_eval.report.plan_distributions.SurvivalOutcome`.
    distribution
        Quantile treatment effects (``[distribution]``), a
        :class:`~dwp_eval.report.plan_distributions.QuantileSettings`, or ``None``.
    balance_covariates
        Baseline characteristics in the balance table (``[balance]``).
    disclosure
        The :class:`~dwp_eval.report.disclosure.DisclosureRules` for published counts.
    area_pilot
        An area-pilot plan's columns and analyses (``[area_pilot]``, ``[did]``,
        ``[event_study]``, ``[synthetic]``), a :class:`~dwp_eval.report.plan_area.AreaPilot`;
        ``None`` for a trial's plan. Its ``primary`` is the outcome.
    fingerprint
        SHA-256 of the plan file's bytes (``sha256sum plan.toml`` prints the
        same), or of the plan's canonical JSON when built from a mapping.
    source
        The file read, or ``None``.

    Examples
    --------
    >>> plan = AnalysisPlan.from_dict({
    ...     "design": {"assigned": "arm", "strata": "stratum"},
    ...     "outcomes": {"primary": ["employed_13_weeks"]},
    ... })
    >>> plan.primary, plan.correction, plan.alpha
    (('employed_13_weeks',), 'holm', 0.05)
    """

    design: Mapping[str, str | None]
    primary: tuple[str, ...]
    secondary: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    adjustment: str = "lin"
    se_type: str | None = None
    alpha: float = 0.05
    cace: bool = False
    missing: str = "raise"
    analyses: Mapping[str, OutcomeAnalysis] = field(default_factory=dict)
    mi: MiSettings | None = None
    correction: str = "holm"
    families: str = "by_role"
    draws: int = 1000
    seed: int | None = None
    subgroups: tuple[str, ...] = ()
    subgroup_outcomes: tuple[str, ...] = ()
    balance_covariates: tuple[str, ...] = ()
    survival: tuple[SurvivalOutcome, ...] = ()
    distribution: QuantileSettings | None = None
    disclosure: DisclosureRules = field(default_factory=DisclosureRules)
    area_pilot: AreaPilot | None = None
    title: str = "Impact report"
    version: str = ""
    registration: str = ""
    fingerprint: str = ""
    source: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # read-only all the way down (the raw plan's sections too), and picklable
        object.__setattr__(self, "design", freeze(self.design))
        object.__setattr__(self, "raw", freeze(self.raw))
        object.__setattr__(self, "analyses", freeze(self.analyses))

    # -- reading ---------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | Path) -> AnalysisPlan:
        """Read and check a TOML analysis plan; the fingerprint is the file's SHA-256."""
        p = Path(path)
        if not p.is_file():
            raise PlanError(f"Analysis plan file {str(p)!r} does not exist. Fix: check the path.")
        blob = p.read_bytes()
        try:
            raw = tomllib.loads(blob.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise PlanError(
                f"Analysis plan {str(p)!r} is not valid TOML: {err}. Fix: correct the file's syntax."
            ) from err
        return cls._build(raw, fingerprint=hashlib.sha256(blob).hexdigest(), source=str(p))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AnalysisPlan:
        """A plan from a mapping laid out like the TOML file (sections of keys)."""
        if not isinstance(raw, Mapping):
            raise PlanError(
                f"An analysis plan must be a mapping of sections. Got {type(raw).__name__} instead."
            )
        canonical = json.dumps(raw, sort_keys=True, default=str).encode("utf-8")
        return cls._build(dict(raw), fingerprint=hashlib.sha256(canonical).hexdigest(), source=None)

    @classmethod
    def _build(cls, raw: dict[str, Any], *, fingerprint: str, source: str | None) -> AnalysisPlan:
        for section, body in raw.items():
            if section not in SCHEMA:
                guess = closest(section, SCHEMA)
                hint = f" Did you mean [{guess}]?" if guess else ""
                raise PlanError(
                    f"Analysis plan has an unknown section [{section}]; the sections are "
                    f"{_fmt_list(SCHEMA)}.{hint}"
                )
            if not isinstance(body, dict):
                raise PlanError(
                    f"Analysis plan [{section}] must be a table of keys. Got {body!r} instead."
                )
            for key, value in body.items():
                if section == "survival" or (section == "analysis" and isinstance(value, dict)):
                    continue  # [survival.<name>] and [analysis.<outcome>] tables: checked apart
                if key not in SCHEMA[section]:
                    guess = closest(key, SCHEMA[section])
                    hint = f" Did you mean {guess!r}?" if guess else ""
                    raise PlanError(
                        f"Analysis plan {_where(section)} has an unknown key {key!r}; its keys "
                        f"are {_fmt_list(SCHEMA[section])}.{hint}"
                    )
                want = _TYPES.get((section, key))
                if want is not None and (
                    not isinstance(value, want) or (want is not bool and isinstance(value, bool))
                ):
                    raise PlanError(
                        f"Analysis plan {_where(section, key)} has the wrong type: got {value!r}. "
                        f"Fix: {SCHEMA[section][key]}."
                    )
        get = lambda s, k, d=None: raw.get(s, {}).get(k, d)  # noqa: E731
        if "area_pilot" in raw:
            area = read_area_pilot(raw, PlanError)
            return cls(design=dict.fromkeys(SCHEMA["design"]), primary=(area.outcome,),
                       alpha=_alpha(get("area_pilot", "alpha", 0.05), "area_pilot"),
                       disclosure=_rules(get), area_pilot=area, **_labels(get),
                       fingerprint=fingerprint, source=source, raw=raw)
        stray = [s for s in AREA_SCHEMA if s in raw and s != "area_pilot"]
        if stray:
            raise PlanError(
                f"Analysis plan has {', '.join(f'[{s}]' for s in stray)}, which belong to an area-pilot "
                "plan, but no [area_pilot] table. Fix: add [area_pilot] (outcome, area, time, ...) "
                "or remove them.")
        design: dict[str, str | None] = {}
        for key in SCHEMA["design"]:
            value = get("design", key)
            if key in ("control", "treatment") and isinstance(value, bool | int | float):
                # arm labels are compared by value: control = 0 matches 0, 0.0, "0", false
                value = label_key(value)
            if value is not None and (not isinstance(value, str) or not value):
                raise PlanError(
                    f"Analysis plan [design] {key} must be a column name or label (text). "
                    f"Got {value!r} instead."
                )
            design[key] = value
        design["id"] = design["id"] or None
        design["control"] = design["control"] or "control"
        if not design["assigned"]:
            raise PlanError(
                "Analysis plan [design] must name the 'assigned' column (the arm each person was "
                "allocated to). Fix: add assigned = \"arm\"."
            )
        primary = _as_names(get("outcomes", "primary", []), section="outcomes", key="primary")
        secondary = _as_names(get("outcomes", "secondary", []), section="outcomes", key="secondary")
        if not primary:
            raise PlanError(
                "Analysis plan [outcomes] must list at least one primary outcome. Fix: add "
                "primary = [\"employed_13_weeks\"]."
            )
        both = sorted(set(primary) & set(secondary))
        if both:
            raise PlanError(
                f"Analysis plan lists {_fmt_list(both)} as both a primary and a secondary outcome. "
                "Fix: list each outcome once."
            )
        covariates = _as_names(get("analysis", "covariates", []), section="analysis", key="covariates")
        where = "analysis plan [analysis]"
        adjustment = check_option(get("analysis", "adjustment", "lin"), ("lin", "additive"),
                                  param="adjustment", func=where)
        missing = check_option(get("analysis", "missing", "raise"), ("raise", "drop", "mi"),
                               param="missing", func=where)
        analyses, mi = read_estimators(raw.get("analysis", {}), primary + secondary,
                                       cluster=design["cluster"], missing=missing,
                                       error=PlanError)
        se_type = get("analysis", "se_type")
        if se_type is not None:
            se_type = resolve_se_type(se_type, clustered=bool(design["cluster"]), func=where)
        alpha = _alpha(get("analysis", "alpha", 0.05), "analysis")
        cace = bool(get("analysis", "cace", False))
        if cace and not design["received"]:
            raise PlanError(
                "Analysis plan asks for the CACE ([analysis] cace = true) but [design] names no "
                "'received' column. Fix: add received = \"received\" to [design], or set cace = false."
            )
        mwhere = "analysis plan [multiplicity]"
        correction = check_option(get("multiplicity", "correction", "holm"), tuple(CORRECTIONS),
                                  param="correction", func=mwhere)
        families = check_option(get("multiplicity", "families", "by_role"), ("by_role", "all"),
                                param="families", func=mwhere)
        draws = int(get("multiplicity", "draws", 1000))
        if not 1 <= draws <= MAX_DRAWS:
            raise PlanError(
                f"Analysis plan [multiplicity] draws must be from 1 to {MAX_DRAWS:,} (the limit "
                f"on bootstrap draws). Got {draws:,}. Fix: write draws = 10000 or fewer."
            )
        seed = get("multiplicity", "seed")
        if correction == "romano_wolf" and seed is None:
            raise PlanError(
                "Analysis plan uses the Romano-Wolf correction, a bootstrap, but [multiplicity] "
                "gives no seed. Fix: add seed = 20240101 (any int) so the report can be re-run."
            )
        subgroups = _as_names(get("subgroups", "by", []), section="subgroups", key="by")
        sub_outcomes = _as_names(get("subgroups", "outcomes", list(primary)), section="subgroups",
                                 key="outcomes")
        unknown = [o for o in sub_outcomes if o not in primary + secondary]
        if unknown:
            raise PlanError(
                f"Analysis plan [subgroups] outcomes names {_fmt_list(unknown)}, which the plan "
                "does not list under [outcomes]. Fix: analyse subgroups of pre-specified outcomes."
            )
        if design["excluded"] and get("flow", "excluded") is not None:
            raise PlanError(
                "Analysis plan gives the exclusions twice: [design] excluded (a column of "
                "reasons) and [flow] excluded (counts by reason). Fix: keep one of them."
            )
        balance = _as_names(get("balance", "covariates", list(covariates)), section="balance",
                            key="covariates")
        return cls(
            design=design,
            primary=primary,
            secondary=secondary,
            covariates=covariates,
            adjustment=adjustment,
            se_type=se_type,
            alpha=alpha,
            cace=cace,
            missing=missing,
            analyses=analyses,
            mi=mi,
            correction=correction,
            families=families,
            draws=draws,
            seed=seed,
            subgroups=subgroups,
            subgroup_outcomes=sub_outcomes if subgroups else (),
            balance_covariates=balance,
            survival=read_survival(raw.get("survival", {}), PlanError),
            distribution=read_distribution(raw.get("distribution", {}), PlanError),
            disclosure=_rules(get),
            **_labels(get),
            fingerprint=fingerprint,
            source=source,
            raw=raw,
        )

    # -- use -------------------------------------------------------------------------------
    @property
    def outcomes(self) -> tuple[str, ...]:
        """Primary then secondary outcomes."""
        return self.primary + self.secondary

    @property
    def flow_options(self) -> dict[str, Any]:
        """The :func:`dwp_eval.flow` options beyond the column roles: ``excluded`` (the
        [design] column or the [flow] counts), ``assessed``, ``not_due``, ``lost_reason``."""
        counts = self.raw.get("flow", {})
        return {"excluded": self.design["excluded"] or counts.get("excluded"),
                "assessed": counts.get("assessed"), "not_due": self.design["not_due"],
                "lost_reason": self.design["lost_reason"]}

    def family_map(self) -> dict[str, list[Hashable]]:
        """Multiplicity families for :func:`dwp_eval.impact_table`."""
        if self.families == "all" or not self.secondary:
            return {"all outcomes": list(self.outcomes)}
        return {"primary": list(self.primary), "secondary": list(self.secondary)}

    def columns(self) -> dict[str, list[str]]:
        """Every column the plan names, by the role it names it in."""
        if self.area_pilot is not None:
            return self.area_pilot.columns()
        roles: dict[str, list[str]] = {}
        for key, value in self.design.items():
            if value is not None and key not in ("control", "treatment"):
                roles.setdefault(f"[design] {key}", []).append(value)
        roles["[outcomes]"] = list(self.outcomes)
        if self.covariates:
            roles["[analysis] covariates"] = list(self.covariates)
        if self.subgroups:
            roles["[subgroups] by"] = list(self.subgroups)
        if self.balance_covariates:
            roles["[balance] covariates"] = list(self.balance_covariates)
        sites = sorted({a.site for a in self.analyses.values() if a.site})
        if sites:
            roles["[analysis] site"] = sites
        if self.mi is not None and self.mi.using:
            roles["[analysis] mi_using"] = list(self.mi.using)
        for s in self.survival:
            roles[f"[survival.{s.name}]"] = [s.duration, s.event]
        if self.distribution is not None:
            roles["[distribution] outcomes"] = list(self.distribution.outcomes)
        return roles

    def analysis_of(self, outcome: str) -> OutcomeAnalysis:
        """The pre-specified analysis of ``outcome`` (``itt`` unless the plan says otherwise)."""
        return self.analyses.get(outcome, OutcomeAnalysis())

    def check_data(self, data: pd.DataFrame) -> None:
        """Raise, before any computation, if the data lack a column the plan names."""
        for role, names in self.columns().items():
            absent = [c for c in names if c not in data.columns]
            if absent:
                cols = [str(c) for c in data.columns]
                guess = closest(absent[0], cols)
                hint = f" Did you mean {guess!r}?" if guess else ""
                raise ColumnError(
                    f"The analysis plan names {_fmt_list(absent)} ({role}), which the data do not "
                    f"have; the data's columns are {_fmt_list(cols, limit=30)}.{hint} Fix: correct "
                    "the plan (and its fingerprint changes) or the data."
                )
        check_binary_data(data, self.analyses, PlanError)

    def to_dict(self) -> dict[str, Any]:
        """The plan as read (sections of keys)."""
        return json.loads(json.dumps(to_plain(self.raw), default=str))

    def summary(self) -> str:
        """The plan in a few lines."""
        d = self.design
        lines = [
            f"Analysis plan: {self.title}" + (f" (version {self.version})" if self.version else ""),
            f"  fingerprint  sha256 {self.fingerprint}",
            f"  primary      {', '.join(self.primary)}",
        ]
        if self.area_pilot is not None:
            return "\n".join([*lines, *self.area_pilot.describe(self.alpha),
                              f"  disclosure   {self.disclosure.describe()}"])
        if self.secondary:
            lines.append(f"  secondary    {', '.join(self.secondary)}")
        lines.append(
            f"  design       assigned={d['assigned']}, control={d['control']}"
            + (f", strata={d['strata']}" if d["strata"] else "")
            + (f", cluster={d['cluster']}" if d["cluster"] else "")
        )
        lines.append(
            f"  analysis     adjustment={self.adjustment}, se_type={self.se_type or 'default'}, "
            f"alpha={self.alpha:g}, covariates: {', '.join(self.covariates) or 'none'}"
        )
        lines.append(f"  multiplicity {self.correction}, families {self.families}")
        for o in self.outcomes:
            a = self.analysis_of(o)
            if a.binary:
                lines.append(f"  {o:<12} binary_effect ({a.model}), {a.scale} first"
                             + (f", site {a.site}" if a.site else ""))
        if self.mi is not None:
            lines.append(f"  missing      multiple imputation, m={self.mi.m}, seed={self.mi.seed}")
        if self.cace:
            lines.append(f"  CACE         received={d['received']}")
        if self.subgroups:
            lines.append(f"  subgroups    {', '.join(self.subgroups)}")
        for sv in self.survival:
            lines.append(f"  survival     {sv.name}: {sv.duration} / {sv.event}, RMST to "
                         f"{sv.horizon:g} days")
        if self.distribution is not None:
            q = self.distribution
            lines.append(f"  distribution {', '.join(q.outcomes)} at quantiles "
                         f"{', '.join(f'{x:g}' for x in q.quantiles)}")
        lines.append(f"  disclosure   {self.disclosure.describe()}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

