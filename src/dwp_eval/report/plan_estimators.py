"""The estimator an analysis plan pre-specifies for each outcome, and its handling of
missing outcomes by multiple imputation.

``[analysis]`` sets the default for every outcome (``estimator``, ``scale``,
``model``, ``site``); an ``[analysis.<outcome>]`` table overrides them for one
outcome, e.g. a 0/1 primary outcome analysed by :func:`dwp_eval.binary_effect` on
the odds-ratio scale while earnings keep :func:`dwp_eval.itt`. ``missing = "mi"``
with ``m``, ``mi_method``, ``mi_using`` and ``mi_seed`` imputes missing outcomes
(:func:`dwp_eval.multiple_imputation`) and pools by Rubin's rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dwp_eval._validation import _fmt_list, closest
from dwp_eval.estimate.binary import SCALES
from dwp_eval.estimate.imputation import METHODS

__all__ = ["ESTIMATORS", "MI_KEYS", "OUTCOME_KEYS", "MiSettings", "OutcomeAnalysis",
           "check_binary_data", "read_estimators"]

#: The estimators a plan can pre-specify for an outcome.
ESTIMATORS = ("itt", "binary_effect")
_MODELS = ("logit", "probit")

#: Keys an ``[analysis.<outcome>]`` table may hold (and their meaning).
OUTCOME_KEYS = {
    "estimator": "'itt' (default) or 'binary_effect' (a 0/1 outcome: logit or probit)",
    "scale": "pre-specified scale of binary_effect: risk_difference (default), risk_ratio "
             "or odds_ratio",
    "model": "'logit' (default) or 'probit' for binary_effect",
    "site": "column of sites: random-intercept logit (binary_effect only)",
}
#: The ``[analysis]`` keys of multiple imputation.
MI_KEYS = {
    "m": "number of imputations with missing = \"mi\" (at least 2; default 20)",
    "mi_method": "imputation model: pmm, norm or logreg (default: logreg for a 0/1 "
                 "outcome, pmm otherwise)",
    "mi_using": "complete columns predicting the imputed outcome (default: the covariates)",
    "mi_seed": "seed of the imputations (required with missing = \"mi\")",
}


@dataclass(frozen=True)
class OutcomeAnalysis:
    """The pre-specified analysis of one outcome: the estimator and, for
    :func:`dwp_eval.binary_effect`, its primary scale, link and site column."""

    estimator: str = "itt"
    scale: str = "risk_difference"
    model: str = "logit"
    site: str | None = None

    @property
    def binary(self) -> bool:
        return self.estimator == "binary_effect"

    def scales(self) -> tuple[str, ...]:
        """The pre-specified scale first, then the supporting ones (no odds ratio
        for a probit)."""
        rest = [s for s in SCALES if s != self.scale
                and not (s == "odds_ratio" and self.model == "probit")]
        return (self.scale, *rest)


@dataclass(frozen=True)
class MiSettings:
    """Multiple imputation as the plan specifies it (``missing = "mi"``)."""

    m: int = 20
    method: str | None = None  # None: logreg for a 0/1 outcome, pmm otherwise
    using: tuple[str, ...] | None = None  # None: the covariates
    seed: int = 0


def _fail(error: type[Exception], where: str, key: str, problem: str, fix: str) -> Exception:
    return error(f"Analysis plan {where} {key} {problem}. Fix: {fix}.")


def _choice(value: Any, options: Sequence[str], *, where: str, key: str,
            error: type[Exception]) -> str:
    if not isinstance(value, str) or value not in options:
        guess = closest(str(value), list(options))
        hint = f" (did you mean {guess!r}?)" if guess else ""
        raise _fail(error, where, key, f"must be one of {_fmt_list(options)}; got {value!r}{hint}",
                    f"write {key} = \"{options[0]}\" or another of those")
    return value


def _one(body: Mapping[str, Any], *, where: str, error: type[Exception]) -> OutcomeAnalysis:
    est = _choice(body.get("estimator", "itt"), ESTIMATORS, where=where, key="estimator",
                  error=error)
    model = _choice(body.get("model", "logit"), _MODELS, where=where, key="model", error=error)
    scale = _choice(body.get("scale", "risk_difference"), SCALES, where=where, key="scale",
                    error=error)
    if est != "binary_effect":
        return OutcomeAnalysis(estimator=est)
    site = body.get("site")
    if site is not None and (not isinstance(site, str) or not site):
        raise _fail(error, where, "site", f"must be a column name; got {site!r}",
                    "write site = \"office\"")
    if model == "probit" and scale == "odds_ratio":
        raise _fail(error, where, "scale", "is odds_ratio, which binary_effect reports for "
                    "the logit only, but model = \"probit\"",
                    "use model = \"logit\", or scale = \"risk_difference\" or \"risk_ratio\"")
    if model == "probit" and site is not None:
        raise _fail(error, where, "site", "needs the logit (the random-intercept model is a "
                    "logit), but model = \"probit\"", "use model = \"logit\" or remove site")
    return OutcomeAnalysis(estimator=est, scale=scale, model=model, site=site)


_SETTINGS = ("scale", "model", "site")


def read_estimators(
    analysis: Mapping[str, Any], outcomes: Sequence[str], *, cluster: str | None,
    missing: str, error: type[Exception],
) -> tuple[dict[str, OutcomeAnalysis], MiSettings | None]:
    """Each outcome's :class:`OutcomeAnalysis` (``[analysis]`` defaults, overridden by
    ``[analysis.<outcome>]``) and the :class:`MiSettings` (``None`` unless
    ``missing = "mi"``); ``error`` is raised with the section, key and fix."""
    for name, body in analysis.items():
        if not isinstance(body, Mapping):
            continue
        if name not in outcomes:
            guess = closest(str(name), list(outcomes))
            hint = f" Did you mean [analysis.{guess}]?" if guess else ""
            raise error(
                f"Analysis plan has a table [analysis.{name}], but {name!r} is not an outcome "
                f"of [outcomes] ({_fmt_list(outcomes)}).{hint} Fix: name a listed outcome."
            )
        for key in body:
            if key not in OUTCOME_KEYS:
                guess = closest(str(key), OUTCOME_KEYS)
                hint = f" Did you mean {guess!r}?" if guess else ""
                raise error(
                    f"Analysis plan [analysis.{name}] has an unknown key {key!r}; its keys are "
                    f"{_fmt_list(OUTCOME_KEYS)}.{hint}"
                )
    top = {k: analysis[k] for k in OUTCOME_KEYS if k in analysis}
    _one(top, where="[analysis]", error=error)  # the defaults are checked even if overridden
    out: dict[str, OutcomeAnalysis] = {}
    for o in outcomes:
        body = analysis.get(o)
        own = dict(body) if isinstance(body, Mapping) else {}
        where = f"[analysis.{o}]" if own else "[analysis]"
        a = _one({**top, **own}, where=where, error=error)
        given = [k for k in _SETTINGS if k in own]
        if not a.binary and given:
            raise _fail(error, where, given[0], "applies to estimator = \"binary_effect\" "
                        "only, but the estimator is \"itt\"",
                        f"add estimator = \"binary_effect\" to {where}, or remove {given[0]}")
        out[o] = a
    given = [k for k in _SETTINGS if k in top]
    if given and not any(a.binary for a in out.values()):
        raise _fail(error, "[analysis]", given[0], "applies to estimator = \"binary_effect\" "
                    "only, and no outcome is analysed by it",
                    f"add estimator = \"binary_effect\" to [analysis] (or to an "
                    f"[analysis.<outcome>] table), or remove {given[0]}")
    if cluster is not None:
        with_site = [o for o, a in out.items() if a.site]
        if with_site:
            raise _fail(error, "[analysis]", "site", f"(for {_fmt_list(with_site)}) fits a "
                        "random-intercept logit, which takes no cluster, but [design] names "
                        f"cluster {cluster!r}", "remove site, or analyse with the cluster "
                        "(binary_effect's CR1 variance) and no site")
    return out, _mi(analysis, missing, error)


def _mi(analysis: Mapping[str, Any], missing: str, error: type[Exception]) -> MiSettings | None:
    given = [k for k in MI_KEYS if k in analysis]
    if missing != "mi":
        if given:
            raise _fail(error, "[analysis]", given[0], "applies to missing = \"mi\" only, but "
                        f"missing = {missing!r}", f"add missing = \"mi\", or remove {given[0]}")
        return None
    m = analysis.get("m", 20)
    if isinstance(m, bool) or not isinstance(m, int) or m < 2:
        raise _fail(error, "[analysis]", "m", f"must be a whole number of imputations, at least "
                    f"2 (Rubin's rules need a between-imputation variance); got {m!r}",
                    "write m = 20")
    method = analysis.get("mi_method")
    if method is not None:
        method = _choice(method, METHODS, where="[analysis]", key="mi_method", error=error)
    using = analysis.get("mi_using")
    if using is not None:
        if isinstance(using, str):
            using = [using]
        if not isinstance(using, list) or not all(isinstance(u, str) and u for u in using):
            raise _fail(error, "[analysis]", "mi_using", f"must be a list of column names; got "
                        f"{using!r}", "write mi_using = [\"age\", \"prior_earnings\"]")
        using = tuple(using)
    seed = analysis.get("mi_seed")
    if seed is None:
        raise _fail(error, "[analysis]", "mi_seed", "is required with missing = \"mi\" (the "
                    "imputations are random draws, and the report must be reproducible)",
                    "add mi_seed = 20240101 (any whole number)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _fail(error, "[analysis]", "mi_seed", f"must be a whole number >= 0; got {seed!r}",
                    "write mi_seed = 20240101")
    return MiSettings(m=m, method=method, using=using, seed=seed)


def check_binary_data(data: pd.DataFrame, analyses: Mapping[str, OutcomeAnalysis],
                      error: type[Exception]) -> None:
    """Raise if an outcome pre-specified for binary_effect holds values other than 0
    and 1 (missing values aside)."""
    for o, a in analyses.items():
        if not a.binary or o not in data.columns:
            continue
        values = pd.to_numeric(data[o], errors="coerce")
        bad = data[o].notna() & ~values.isin([0, 1])
        if bad.any():
            raise error(
                f"Analysis plan [analysis] estimator (for {o!r}) = \"binary_effect\" needs a 0/1 outcome, but "
                f"column {o!r} holds other values (e.g. {data.loc[bad, o].iloc[0]!r}). Fix: "
                f"analyse {o!r} with estimator = \"itt\", or code it 0/1."
            )
