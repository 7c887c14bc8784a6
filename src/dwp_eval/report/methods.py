"""The report's Methods section: how every number was made, in words a reviewer
checks against the analysis plan (estimator, variance, multiplicity, the CACE,
rates, the MDE, missing data, disclosure rules, software), and the same as a
table of settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dwp_eval.report.plan import AnalysisPlan

__all__ = ["methods"]

_CORRECTIONS = {
    "holm": "Holm's step-down method (Holm 1979), controlling the family-wise error rate",
    "bonferroni": "the Bonferroni correction, controlling the family-wise error rate",
    "bh": "the Benjamini-Hochberg step-up method (1995), controlling the false discovery rate",
    "romano_wolf": "the Romano-Wolf step-down bootstrap (Romano & Wolf 2005), controlling the "
                   "family-wise error rate",
    "none": "no adjustment",
}

_SE = {
    "HC0": "White's heteroskedasticity-robust (HC0) standard errors (White 1980)",
    "HC1": "heteroskedasticity-robust HC1 standard errors (MacKinnon & White 1985)",
    "HC2": "heteroskedasticity-robust HC2 standard errors (MacKinnon & White 1985), "
           "equal to the Neyman variance for a difference in means",
    "HC3": "heteroskedasticity-robust HC3 standard errors (MacKinnon & White 1985)",
    "CR2": "cluster-robust CR2 standard errors with Bell-McCaffrey degrees of freedom "
           "(Bell & McCaffrey 2002; Pustejovsky & Tipton 2018)",
}


_MISSING = {
    "drop": "dropped and counted in each section",
    "raise": "not allowed (the analysis stops)",
    "mi": "multiply imputed (see above) for the pre-specified estimates; the ITT table "
          "analyses the people with the outcome observed, as a supporting analysis, and "
          "counts the others in its notes",
}
_SCALES = {"risk_difference": "risk difference", "risk_ratio": "risk ratio",
           "odds_ratio": "odds ratio"}


def _binary_outcomes(plan: AnalysisPlan) -> list[str]:
    return [o for o in plan.outcomes if plan.analysis_of(o).binary]


def _binary_methods(plan: AnalysisPlan) -> list[str]:
    """The paragraphs on the binary_effect analyses and multiple imputation."""
    out = []
    for o in _binary_outcomes(plan):
        a = plan.analysis_of(o)
        model = "logistic" if a.model == "logit" else "probit"
        site = (f" with a normal random intercept for each {a.site} (maximum likelihood by "
                "adaptive Gauss-Hermite quadrature; model-based standard errors)" if a.site
                else " with sandwich standard errors")
        out.append(
            f"Pre-specified analysis of {o}: {model} regression of the outcome on assignment, "
            f"the strata and the covariates (additively){site} (binary_effect). The "
            f"pre-specified scale is the {_SCALES[a.scale]}; the other scales are supporting. "
            "Risk differences and ratios are marginal (standardisation over the sample, "
            "g-computation); the odds ratio is conditional on the covariates; ratios are "
            "tested and given intervals on the log scale."
        )
    mi = plan.mi
    if mi is not None:
        using = ", ".join(mi.using if mi.using is not None else plan.covariates) or "none"
        method = mi.method or "logreg for 0/1 outcomes, predictive mean matching otherwise"
        out.append(
            f"Multiple imputation: the missing values of each outcome are imputed m = {mi.m} "
            f"times within each arm by chained equations ({method}; predictors: {using}; "
            f"seed {mi.seed}); each binary_effect scale, and the ITT of each other outcome "
            "with missing values, is estimated on every completed dataset and pooled by "
            "Rubin's rules (Rubin 1987), ratios on the log scale, with Barnard-Rubin degrees "
            "of freedom (Barnard & Rubin 1999)."
        )
    return out


def _distribution_methods(plan: AnalysisPlan) -> list[str]:
    out = []
    if plan.survival:
        out.append(
            "Time to the event: Kaplan-Meier curves by arm (Kaplan & Meier 1958); the "
            "restricted mean survival time to each outcome's horizon, the area under the "
            "curve, and its difference between the arms with a design-based standard error "
            "from the estimator's influence function (Royston & Parmar 2013); the Cox hazard "
            "ratio with a robust variance (Lin & Wei 1989) and, with strata, a stratified "
            "baseline hazard; the log-rank test, stratified with strata. Censored people are "
            "kept at risk until censored. Published curves are read at 30-day points that each "
            "follow enough events to meet the minimum count.")
    if plan.distribution is not None:
        out.append(
            "Quantile effects: the difference between the arms' quantiles (inverse empirical "
            "distribution functions; Firpo 2007), with percentile intervals from a bootstrap "
            "that resamples people (or randomised clusters) within stratum and arm; a quantile "
            "inside both arms' mass at zero is an effect of exactly zero.")
    return out


def _binary_settings(plan: AnalysisPlan) -> list[tuple[str, str]]:
    rows = []
    for o in _binary_outcomes(plan):
        a = plan.analysis_of(o)
        rows.append((f"estimator: {o}", f"binary_effect ({a.model}), {a.scale} pre-specified"
                     + (f", random intercept for {a.site}" if a.site else "")))
    mi = plan.mi
    if mi is not None:
        rows += [("imputations (m)", str(mi.m)),
                 ("imputation method", mi.method or "logreg (0/1 outcomes), pmm (others)"),
                 ("imputation seed", str(mi.seed)),
                 ("pooling", "Rubin's rules, Barnard-Rubin df")]
    return rows


def methods(plan: AnalysisPlan, results: Mapping[str, Any],
            versions: Mapping[str, str]) -> tuple[str, list[str], pd.DataFrame]:
    """The Methods section's title, paragraphs and table of settings (``item, setting``)."""
    d = plan.design
    table = results.get("impact")
    effects = list(getattr(table, "effects", ()))
    design = effects[0].design if effects else ""
    se = effects[0].se_type if effects else (plan.se_type or "HC2")
    level = f"{100 * (1 - plan.alpha):g}%"
    covs = ", ".join(plan.covariates)
    if not covs:
        adjust = "without covariate adjustment"
    elif plan.adjustment == "lin":
        adjust = (f"adjusted for {covs} as Lin (2013) recommends: the covariates, centred at "
                  "their means, and their interactions with assignment enter the regression")
    else:
        adjust = f"adjusted for {covs} additively (ANCOVA)"
    strata = (f" Randomisation strata ({d['strata']}) enter as fixed effects."
              if d["strata"] else "")
    text = [
        f"Estimand and estimator: the intention-to-treat (ITT) effect of assignment, the "
        f"coefficient on assignment in an ordinary least squares regression of each outcome "
        f"({design} design), {adjust}.{strata} Effects on 0/1 outcomes are differences in "
        "proportions, shown in percentage points (pp); shares are shown in %; earnings in "
        "pounds.",
        f"Variance: {_SE.get(str(se).split(' ')[0], str(se) + ' standard errors')}; "
        f"{level} confidence intervals and two-sided p-values use the t distribution with the "
        "degrees of freedom shown in the full-precision tables.",
        f"Multiplicity: {_CORRECTIONS.get(plan.correction, plan.correction)}, "
        + ("within the primary outcomes and within the secondary outcomes separately."
           if plan.families == "by_role" else "across all outcomes as one family.")
        + " Subgroup estimates are not adjusted; the pre-specified comparison is the test of "
        "heterogeneity (a robust Wald test of the interactions).",
    ]
    text += _binary_methods(plan)
    if plan.cace:
        text.append(
            "Complier average causal effect (CACE): two-stage least squares with assignment "
            f"instrumenting receipt ({d['received']}), the same covariates and variance "
            "(Angrist, Imbens & Rubin 1996); the Anderson-Rubin set (Anderson & Rubin 1949) "
            "and the effective first-stage F (Montiel Olea & Pflueger 2013) guard against a "
            "weak first stage."
        )
    text += _distribution_methods(plan)
    if d["received"] or d["contaminated"]:
        text.append(
            "Take-up (treatment arm), control-arm receipt and contamination are shares with "
            "Wilson score intervals (Wilson 1927), computed from the published counts when "
            "counts are rounded."
        )
    text += [
        "Minimum detectable effect achieved: the smallest true ITT with 80% power at "
        f"alpha = {plan.alpha:g} (two-sided) for the sample analysed, the control arm's mean "
        "or standard deviation and the covariates' R-squared (Bloom 1995; 2005, ch. 5); for "
        "the CACE, divided by the difference in receipt between the arms.",
        f"Missing outcomes: {_MISSING[plan.missing]}"
        "; nobody randomised is left out of the participant flow.",
        plan.disclosure.describe(),
        "Software: " + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f". Analysis plan SHA-256 {plan.fingerprint}.",
    ]
    rows = [
        ("estimand", "ITT (and CACE)" if plan.cace else "ITT"),
        ("estimator", f"OLS, {design} design"),
        ("covariate adjustment", plan.adjustment if covs else "none"),
        ("covariates", covs or "none"),
        ("strata", str(d["strata"] or "none")),
        ("cluster", str(d["cluster"] or "none")),
        ("standard errors", str(se)),
        ("alpha", f"{plan.alpha:g}"),
        ("multiplicity correction", plan.correction),
        ("multiplicity families", plan.families),
        ("missing outcomes", plan.missing),
        *_binary_settings(plan),
        *[(f"time to event: {v.name}", f"{v.duration} / {v.event}, RMST horizon "
           f"{v.horizon:g} days") for v in plan.survival],
        *([("quantile effects", f"{', '.join(plan.distribution.outcomes)} at "
            f"{', '.join(f'{q:g}' for q in plan.distribution.quantiles)}; "
            f"{plan.distribution.draws} draws, seed {plan.distribution.seed}")]
          if plan.distribution is not None else []),
        ("disclosure: minimum count", str(plan.disclosure.min_count)),
        ("disclosure: rounding base", str(plan.disclosure.round_to)),
        *[(f"software: {k}", str(v)) for k, v in versions.items()],
        ("analysis plan SHA-256", plan.fingerprint),
    ]
    return "Methods", text, pd.DataFrame(rows, columns=["item", "setting"])
