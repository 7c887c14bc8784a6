"""Run a pre-specified analysis plan and write the impact report.

:func:`analyse` runs exactly what an :class:`~dwp_eval.report.plan.AnalysisPlan`
says, in the order a DWP impact report presents it: the CONSORT flow, baseline
balance, the ITT impact table (primary and secondary outcomes, multiplicity
adjusted within families), pre-specified subgroups, take-up and control-group
contamination (by arm and site), the CACE beside the ITT, and the minimum
detectable effect the trial achieved. Every number comes from the library's
public functions, called with the plan's settings; the report only formats
them and applies disclosure control to published counts.

:class:`Report` is immutable. It writes one self-contained HTML file (plots
embedded as PNG), Markdown, CSV files or an Excel workbook. Anything added
outside the plan (:meth:`Report.with_exploratory`) is labelled exploratory
wherever it appears.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import arm_keys, arm_phrase, check_data, check_no_missing, check_unique
from dwp_eval.design.power import mde
from dwp_eval.errors import ConvergenceError, DesignError, DroppedRowsWarning, OptionError
from dwp_eval.monitor.balance import balance
from dwp_eval.monitor.contamination_summary import contamination_summary
from dwp_eval.monitor.flow import flow
from dwp_eval.report import _across, _checked
from dwp_eval.report.area_report import analyse_area
from dwp_eval.report.binary_rows import SCALE_NAMES, binary_analyses, binary_section
from dwp_eval.report.cace_rows import CACE_NOTE, cace_rows
from dwp_eval.report.displays import (
    _cace_display,
    _effect_text,
    _forest_png,
    _mde_display,
    _mde_png,
    _plot_rates,
    _png,
    _rates_display,
    _rename_rates,
)
from dwp_eval.report.distribution_section import add_distribution
from dwp_eval.report.document import Report, Section, _display, _protect
from dwp_eval.report.headline import arrange, headline
from dwp_eval.report.impact import impact_table
from dwp_eval.report.methods import methods
from dwp_eval.report.numbers import balance_display, in_units
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.profile_section import add_profile
from dwp_eval.report.sections import SectionBuilder
from dwp_eval.report.sections import versions as report_versions
from dwp_eval.report.survival_section import add_survival
from dwp_eval.results import Effect
from dwp_eval.results.impact import NOT_ESTIMABLE

__all__ = ["Report", "Section", "analyse"]


# ---------------------------------------------------------------------------- analyse


def analyse(data: pd.DataFrame, plan: AnalysisPlan | str | Path, *,
            records: pd.DataFrame | None = None) -> Report:
    """Run a pre-specified analysis plan on the trial data and return the report.

    Parameters
    ----------
    data
        One row per person assessed (people excluded before randomisation have
        no arm and an exclusion reason in the plan's ``excluded`` column, if
        it names one), with the columns the plan names.
    plan
        An :class:`~dwp_eval.report.plan.AnalysisPlan` or the path of its
        TOML file.
    records
        Monthly employment records: adds :func:`dwp_eval.impact_profile` (needs ``randomised_on``).

    Returns
    -------
    Report
        Sections ``flow`` (CONSORT counts), ``balance``, ``impact`` (ITT on
        every outcome, p-values adjusted within the plan's families),
        ``prespecified`` (when the plan pre-specifies ``binary_effect`` for an
        outcome, or ``missing = "mi"``: the pre-specified scale or the pooled
        ITT first, the other scales as supporting), ``subgroups`` (when the plan has any), ``take_up`` and
        ``contamination`` (when the plan names ``received`` /
        ``contaminated``), ``contamination_by_site`` (with ``site``),
        ``cace`` (when the plan asks for it) and ``mde`` (the minimum
        detectable effect achieved), ``profile`` (with ``records``), ``survival``
        and ``survival_curves`` (the plan's ``[survival.<name>]`` outcomes:
        restricted mean times, hazard ratio, log-rank test, and Kaplan-Meier curves
        coarsened for disclosure control), ``distribution`` (the plan's
        ``[distribution]``: quantile effects and the shares with a zero outcome),
        then ``disclosure``: the disclosure log
        (every cell withheld, the rule and why). Published tables follow the
        plan's disclosure rules; the result objects are in ``Report.results``.

    Notes
    -----
    Before anything is computed, every column the plan names is checked to
    exist, ids (if named) to be unique and the arms to be complete. Then each
    section calls the public function that makes it, with the plan's
    settings: :func:`dwp_eval.flow`, :func:`dwp_eval.balance`,
    :func:`dwp_eval.impact_table`, :func:`dwp_eval.contamination_summary`,
    :func:`dwp_eval.cace` and :func:`dwp_eval.mde`. The minimum detectable
    effect achieved uses the analysed sample, the control arm's outcome
    (its mean for 0/1 outcomes, its standard deviation otherwise), the
    share of variance explained by the plan's covariates in the control arm
    (R-squared; Bloom 2005, *Learning More from Social Experiments*, ch. 5)
    and, with ``received``, the observed take-up and control-arm receipt; for
    cluster designs the intra-cluster correlation is the one-way ANOVA
    estimate (Donner & Koval 1980).

    Examples
    --------
    >>> import dwp_eval as de
    >>> from dwp_eval.report.plan import AnalysisPlan
    >>> people = de.datasets.whp_like(n=600, seed=1)
    >>> alloc = de.randomise(people, strata="site", seed=2)
    >>> trial = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    >>> trial = trial.merge(de.datasets.whp_outcomes(trial, trial["arm"], seed=3), on="id")
    >>> plan = AnalysisPlan.from_dict({
    ...     "design": {"id": "id", "assigned": "arm", "strata": "stratum"},
    ...     "outcomes": {"primary": ["employed_13_weeks"], "secondary": ["earnings_12m"]},
    ...     "analysis": {"covariates": ["age", "prior_earnings"]},
    ... })
    >>> report = analyse(trial, plan)
    >>> [s.key for s in report.sections]
    ['headline', 'flow', 'balance', 'impact', 'mde', 'methods', 'disclosure']
    """
    if not isinstance(plan, AnalysisPlan):
        plan = AnalysisPlan.read(plan)
    if plan.area_pilot is not None:  # an area pilot: DiD, event study, synthetic comparison
        if records is not None:
            raise OptionError(
                "analyse: records= (monthly records of trial participants) does not apply to an "
                "area-pilot plan. Fix: leave records out.")
        return analyse_area(data, plan)
    # the estimators warn once per outcome and estimator; the report counts every dropped row,
    # so one warning sums them up
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DroppedRowsWarning)
        report = _analyse(data, plan, records)
    for w in caught:
        if not issubclass(w.category, DroppedRowsWarning):
            warnings.warn(w.message, w.category, stacklevel=2)
    dropped = report.results["impact"].dropped
    dropped = dropped[dropped["subgroup"] == "all"]
    if len(dropped):
        per = ", ".join(f"{r.outcome} {r.n_dropped:,}" for r in dropped.itertuples(index=False))
        how = ("as the plan says (missing = \"drop\")" if report.plan.missing == "drop" else
               "by the ITT table (the plan's multiple imputation is in the pre-specified "
               "estimates)")
        warnings.warn(
            f"analyse: rows with missing values were left out of the estimates, {how}: {per}. "
            "The report counts them in its notes.",
            DroppedRowsWarning,
            stacklevel=2,
        )
    return report


def _analyse(data: pd.DataFrame, plan: AnalysisPlan, records: pd.DataFrame | None = None) -> Report:
    func = "analyse"
    data = check_data(data, func=func)
    plan.check_data(data)
    d = plan.design
    assigned = d["assigned"]
    control = str(d["control"])
    if d["id"]:
        check_unique(data, d["id"], role="id", func=func)
    excluded = d["excluded"]
    if excluded is None:
        check_no_missing(data, assigned, role="assigned", func=func)
        randomised = data
    else:
        randomised = data[data[assigned].notna()]
    arms = sorted(arm_keys(randomised[assigned]).unique())
    if control not in arms:
        raise OptionError(
            f"The analysis plan's control arm {control!r} is not in column {assigned!r}, which "
            f"holds {', '.join(map(repr, arms))}. Fix: set [design] control in the plan."
        )
    treatment = d["treatment"]
    if treatment is None:
        others = [a for a in arms if a != control]
        if len(others) != 1:
            raise OptionError(
                f"The data have {len(others)} arms besides {control!r} ({', '.join(map(repr, others))})"
                " and the analysis plan names none. Fix: set [design] treatment in the plan."
            )
        treatment = others[0]
    if plan.families == "by_role" and plan.secondary:
        family: Mapping[str, list[Hashable]] | None = plan.family_map()
    else:
        family = None
    rules = plan.disclosure
    common: dict[str, Any] = {
        "assigned": assigned, "control": control, "treatment": treatment,
        "strata": d["strata"], "cluster": d["cluster"],
    }
    results: dict[str, Any] = {}
    built = SectionBuilder(rules)
    add, sections = built.add, built.sections

    # 1. CONSORT flow
    primary = plan.primary[0]
    fl = flow(
        data, assigned=assigned, control=control, received=d["received"],
        followed_up=d["followed_up"], outcome=primary, id=d["id"],
        received_in_control="programme", **plan.flow_options,
    )
    results["flow"] = fl
    flow_table = _protect(fl.to_frame(), rules, "flow", **_checked.flow(fl.to_frame()))
    add("flow", "Participant flow (CONSORT 2010)",
        [f"People assessed, randomised, receiving the programme, followed up and analysed "
         f"(analysed: with a value of the primary outcome, {primary})."],
        fl.to_frame(), figure=_png(lambda ax: fl.plot(ax, frame=flow_table), size=(8.0, 7.0)),
        published=flow_table)

    # 2. balance
    if plan.balance_covariates:
        bal_args: dict[str, Any] = {
            "assigned": assigned, "covariates": list(plan.balance_covariates),
            "control": control, "strata": d["strata"], "cluster": d["cluster"],
        }
        omnibus_note = ""
        try:
            bal = balance(randomised, **bal_args)
        except DesignError as err:
            # the descriptive table never depends on the omnibus regression being estimable
            bal = balance(randomised, omnibus=False, **bal_args)
            omnibus_note = f"The omnibus test could not be computed: {err}"
        results["balance"] = bal
        text = [f"Baseline characteristics by arm. Standardised differences of "
                f"{bal.threshold:g} or more are marked in the plot."]
        for test in bal.omnibus:
            text.append(
                f"Omnibus test that baseline characteristics do not predict assignment to "
                f"{test.arm}: F = {test.statistic:.3f} ({test.df_num:g}, {test.df_denom:g} df), "
                f"p = {test.p_value:.4f} ({test.se_type})"
                + (f"; {'; '.join(test.notes)}." if test.notes else ".")
            )
        if omnibus_note:
            text.append(omnibus_note)
        checks = _checked.balance(bal.to_frame(), randomised, assigned=assigned, control=control)
        bal_pub = _protect(bal.to_frame(), rules, "balance", **checks)
        rows_drawn = bal.to_frame()["covariate"].nunique()  # a row of height per covariate
        add("balance", "Baseline balance", text, bal.to_frame(), published=bal_pub, figure=_png(
            _across.drawn(bal, bal_pub, ("std_diff",), rules).plot,
            size=(7.0, 1.6 + 0.3 * rows_drawn)),
            display=balance_display(bal_pub, _display(bal_pub), checks["binary"], rules))

    # 3. impact table
    lone_notes: list[str] = []
    observed = randomised  # as collected: what multiple imputation starts from
    if plan.missing in ("drop", "mi"):
        randomised, lone = _without_lone_strata(randomised, plan.outcomes, d["strata"],
                                                assigned, (control, treatment))
        lone_notes = [
            f"{outcome}: {k:,} people with an outcome are in strata that, among those with one, "
            "hold a single person or a single arm (no within-stratum comparison); they are left "
            "out of this outcome's estimates and counted as dropped."
            for outcome, k in lone.items()
        ]
    table = impact_table(
        randomised, outcomes=list(plan.outcomes), covariates=list(plan.covariates) or None,
        adjustment=plan.adjustment, se_type=plan.se_type, correction=plan.correction,  # type: ignore[arg-type]
        family=family, alpha=plan.alpha, draws=plan.draws,
        missing="raise" if plan.missing == "raise" else "drop",  # mi: see the binary rows
        seed=plan.seed, **common,
    )
    results["impact"] = table
    impact_frame = table.to_frame()
    impact_frame.insert(1, "role", ["primary" if o in plan.primary else "secondary"
                                    for o in impact_frame["outcome"]])
    cells = pd.DataFrame(table._cells())
    cells.insert(1, "role", impact_frame["role"].to_numpy())
    impact_pub = _protect(impact_frame, rules, "impact", **_checked.impact(
        impact_frame, randomised, assigned=assigned, control=control, treatment=treatment))
    _checked.published_cells(cells, impact_pub, rules)
    binary = binary_analyses(observed if plan.missing == "mi" else randomised, plan, common)
    if binary:
        results["binary"] = MappingProxyType(binary)
    binary_notes = [
        f"{o}: the pre-specified analysis is the {SCALE_NAMES[plan.analysis_of(o).scale]} "
        "(binary_effect, in the next section); the ITT in this table, a difference in "
        "proportions, is supporting." if plan.analysis_of(o).binary else
        f"{o}: the pre-specified analysis is the ITT pooled over the imputations (in the "
        "next section); the complete-case ITT in this table is supporting." for o in binary
    ]
    if plan.missing == "mi":
        binary_notes.append(
            "Missing outcomes: this table analyses the people with the outcome observed; the "
            "pre-specified multiple imputation is in the next section.")
    reasons = dict(zip(table.effects, table.reasons(), strict=True))
    head = next((e for e in table.effects if not reasons[e]), table.effects[0])
    add("impact", "Impacts (intention to treat)",
        [f"Effect of assignment to {arm_phrase(treatment, 'treatment', assigned)} rather than "
         f"{arm_phrase(control, 'control', assigned)} on every pre-specified "
         f"outcome: {head.design} design, {head.se_type} standard errors, "
         f"{'Lin-adjusted' if plan.adjustment == 'lin' else 'adjusted'} for "
         f"{', '.join(plan.covariates) or 'no covariates'}.",
         *table._footnotes(), *lone_notes, *binary_notes],
        impact_frame, display=in_units(cells), published=impact_pub,
        figure=_forest_png(_across.Published(table, impact_pub, rules)))
    if binary:
        add("prespecified", "Pre-specified estimates: the plan's scale and imputation first",
            *binary_section(binary, plan, table))

    # 4. subgroups
    if plan.subgroups:
        frames, shown, notes = [], [], []
        for by in plan.subgroups:
            sample, left = _without_lone_strata(randomised, plan.subgroup_outcomes, d["strata"],
                                                assigned, (control, treatment), by=by)
            for outcome, k in left.items():
                notes.append(
                    f"By {by}, {outcome}: {k:,} people in strata that hold one person or one arm "
                    f"within their {by} group are not in the subgroup estimates (no within-stratum "
                    "comparison); they are in the overall impacts."
                )
            options: dict[str, Any] = {
                "adjustment": plan.adjustment, "se_type": plan.se_type, "correction": "none",
                "alpha": plan.alpha, "missing": "drop" if left or plan.missing == "mi" else plan.missing,
            }
            sub = impact_table(sample, outcomes=list(plan.subgroup_outcomes),
                               covariates=list(plan.covariates) or None, by=by,
                               **options, **common)
            results[f"subgroups_{by}"] = sub
            f = sub.to_frame()
            keep = (f["subgroup"] != "all").to_numpy()
            frames.append(f[keep])
            cells_sub = pd.DataFrame(sub._cells())[keep].drop(columns="adjusted p-value")
            shown.append(cells_sub)
            notes += [
                # the reason and the fix only: the error's full message counts people, and a
                # small count must not reach the published text
                f"By {by}, {e.outcome}, subgroup {label}: {NOT_ESTIMABLE} ({why})."
                + _fix_of(e.notes[0])
                for e, label, why in zip(sub.effects, sub.subgroups, sub.reasons(), strict=True)
                if why and label != "all"
            ]
            het = sub.heterogeneity
            if het is not None:
                for row in het.itertuples(index=False):
                    if not np.isfinite(row.statistic):
                        notes.append(f"Heterogeneity by {by}, {row.outcome}: {row.method}")
                        continue
                    notes.append(
                        f"Heterogeneity by {by}, {row.outcome}: F = {row.statistic:.3f} "
                        f"({row.df_num:g}, {row.df_denom:.4g} df), p = {row.p_value:.4f}."
                    )
        sub_frame = pd.concat(frames, ignore_index=True)
        sub_pub = _protect(sub_frame, rules, "subgroups", **_checked.impact(
            sub_frame, randomised, assigned=assigned, control=control, treatment=treatment))
        sub_shown = pd.concat(shown, ignore_index=True)
        _checked.published_cells(sub_shown, sub_pub, rules)
        add("subgroups", "Pre-specified subgroups",
            ["ITT impacts within pre-specified subgroups (p-values not adjusted; the test of "
             "heterogeneity is the pre-specified comparison).", *notes],
            sub_frame, display=in_units(sub_shown), published=sub_pub)

    # 5. take-up and contamination
    take_up = contamination_rate = None
    shown_rates: dict[str, Any] = {}
    if d["received"]:
        tu = contamination_summary(randomised, by=(assigned,), flag=d["received"], alpha=plan.alpha)
        results["take_up"] = tu
        f = tu.to_frame()
        rate = dict(zip(arm_keys(f[assigned]), f["rate"], strict=True))
        take_up, contamination_rate = rate.get(treatment), rate.get(control)
        tu_pub = _protect(_rename_rates(f), rules, "take_up", **_checked.rates(f))
        shown_rates = dict(zip(arm_keys(f[assigned]), tu_pub["rate"], strict=True))
        add("take_up", "Receipt of the programme by arm",
            [f"Share receiving the programme (treatment arm: take-up) or it or similar provision "
             f"(control arm: control-arm receipt), Wilson {100 * (1 - plan.alpha):g}% intervals."],
            _rename_rates(f), display=_rates_display(tu_pub, assigned, rules), published=tu_pub)
    if d["contaminated"]:
        ctrl = randomised[arm_keys(randomised[assigned]) == control]
        cs = contamination_summary(ctrl, by=(assigned,), flag=d["contaminated"], alpha=plan.alpha)
        results["contamination"] = cs
        cs_frame = _rename_rates(cs.to_frame())
        cs_pub = _protect(cs_frame, rules, "contamination", **_checked.rates(cs_frame))
        add("contamination", "Control-group contamination",
            ["Control-arm members flagged as receiving provision similar to the programme."],
            cs_frame, display=_rates_display(cs_pub, assigned, rules), published=cs_pub)
        if d["site"]:
            by_site = contamination_summary(ctrl, by=(d["site"],), flag=d["contaminated"],
                                            alpha=plan.alpha)
            results["contamination_by_site"] = by_site
            site_frame = _rename_rates(by_site.to_frame())
            # the sites add up to the control arm of the table above: secondary suppression
            site_pub = _protect(site_frame, rules, "contamination_by_site",
                                **_checked.rates(site_frame, margin=True))
            add("contamination_by_site", "Control-group contamination by site",
                ["Contamination rate in the control arm of each site, with Wilson intervals."],
                site_frame, display=_rates_display(site_pub, d["site"] or "", rules),
                figure=_png(lambda ax: _plot_rates(ax, site_pub, d["site"] or "", rules)),
                published=site_pub)

    # 6. CACE
    if plan.cace:
        effects, cace_frame, cace_notes = cace_rows(randomised, plan, table, common,
                                                    d["received"] or "")
        results["cace"] = MappingProxyType(effects)
        cace_pub, cace_shown = _across.receipt(_protect(cace_frame, rules, "cace"), _cace_display(
            cace_frame, effects), shown_rates, rules)  # the first stage beside take-up
        first = effects.get(plan.primary[0])
        add("cace", "Complier average causal effect (CACE)",
            ["Effect of receiving the programme for those who receive it because they were "
             "offered it: 2SLS with assignment instrumenting receipt (controls who received "
             "similar provision count as receiving), beside the ITT it is the ratio of. The "
             "Anderson-Rubin interval stays valid however weak the first stage.",
             f"{plan.primary[0]}: "
             + (f"{_effect_text(first)}." if first is not None else f"{NOT_ESTIMABLE}."),
             CACE_NOTE, *cace_notes],
            cace_frame, display=cace_shown, published=cace_pub)

    # 7. minimum detectable effect achieved
    rows: list[dict[str, Any]] = []
    for e, why in zip(table.effects, table.reasons(), strict=True):
        if e.outcome not in plan.primary:
            continue
        if why:  # no effect and no outcome variance to size a design by
            rows.append({"outcome": e.outcome, "n_obs": e.n_obs, "estimate": np.nan,
                         "mde": np.nan, "mde_cace": np.nan, "power": np.nan, "r2": np.nan,
                         "icc": None, "take_up": take_up, "control_receipt": contamination_rate,
                         "note": f"{NOT_ESTIMABLE} ({why})", "_result": None})
            continue
        rows.append(_mde_row(randomised, e, plan, assigned, control, treatment,
                             take_up, contamination_rate))
    results["mde"] = tuple(r.pop("_result") for r in rows)
    mde_frame = pd.DataFrame(rows)
    mde_pub = _protect(mde_frame.assign(  # the rates as the take-up table publishes them
        take_up=shown_rates.get(treatment, take_up),
        control_receipt=shown_rates.get(control, contamination_rate)), rules, "mde")
    mde_pub, mde_shown = _across.receipt(mde_pub, _mde_display(mde_pub, table), shown_rates, rules)
    add("mde", "Minimum detectable effect achieved",
        [f"The smallest true effect the trial as analysed had {100 * 0.8:g}% power to detect at "
         f"alpha = {plan.alpha:g} (two-sided), beside the estimate; for the CACE, the ITT MDE "
         "divided by the difference in receipt between the arms."],
        mde_frame, display=mde_shown,
        figure=_mde_png(mde_frame, table), published=mde_pub)

    if records is not None:  # 7b. month by month (profile_section.py), with monthly records
        add_profile(add, results, randomised, records, plan, treatment=treatment)
    guard = lambda f, key, **o: _protect(f, rules, key, **o)  # noqa: E731
    if plan.survival:  # 7c. time to the event (survival_section.py)
        add_survival(add, guard, results, randomised, plan, treatment=treatment)
    if plan.distribution is not None:  # 7d. quantile effects (distribution_section.py)
        add_distribution(add, guard, results, randomised, plan, treatment=treatment)

    versions = report_versions()
    add("methods", *methods(plan, results, versions))
    add("headline", *headline(plan, sections, results, treatment=treatment, control=control))
    sections[:] = arrange(sections)  # headline first, then the order of an impact report
    return built.finish(plan, results, versions)  # 8. and the disclosure log


def _fix_of(message: str) -> str:
    """The "Fix: ..." sentence of an error message ("" without one)."""
    at = message.find("Fix:")
    return "" if at < 0 else " " + message[at:]


def _without_lone_strata(
    data: pd.DataFrame, outcomes: tuple[str, ...], strata: Hashable | None, assigned: Hashable,
    arms: tuple[str, str], by: Hashable | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """A copy in which, for each outcome, people in a stratum (within a subgroup of ``by``)
    that holds fewer than two people or only one arm among those with the outcome observed
    have that outcome set to missing, and how many per outcome.

    Such a stratum carries no within-stratum comparison: with stratum fixed effects it adds
    nothing to the estimated effect, and the design-based estimators refuse it. Setting the
    outcome to missing lets ``missing="drop"`` leave it out and count it.
    """
    if strata is None:
        return data, {}
    arm = arm_keys(data[assigned])
    compared = arm.isin(arms).to_numpy()
    out = data
    counts: dict[str, int] = {}
    keys = [data[by], data[strata]] if by is not None else [data[strata]]
    for outcome in outcomes:
        seen = compared & data[outcome].notna().to_numpy()
        frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)})[seen]
        frame["a"] = arm[seen]
        cells = frame.groupby(list(frame.columns[:-1]), observed=True, dropna=False)["a"]
        bad = cells.nunique().lt(2) | cells.size().lt(2)
        bad = bad[bad]
        if len(bad) == 0:
            continue
        cell = pd.MultiIndex.from_arrays(keys) if len(keys) > 1 else pd.Index(keys[0])
        blank = cell.isin(bad.index) & seen
        if by is not None:
            blank &= data[by].notna().to_numpy()
        if blank.any():
            if out is data:
                out = data.copy()
            out.loc[blank, outcome] = np.nan
            counts[outcome] = int(blank.sum())
    return out, counts


def _mde_row(
    data: pd.DataFrame, e: Effect, plan: AnalysisPlan, assigned: Hashable, control: str,
    treatment: str, take_up: float | None, contamination: float | None,
) -> dict[str, Any]:
    d = plan.design
    sub = data[arm_keys(data[assigned]).isin([control, treatment])]
    sub = sub[sub[e.outcome].notna()]
    y_c = sub.loc[arm_keys(sub[assigned]) == control, e.outcome].to_numpy(dtype=float)
    n = e.n_obs
    ratio = e.n_treatment / n
    r2 = 0.0
    if plan.covariates:
        c = sub[arm_keys(sub[assigned]) == control]
        x = np.column_stack([np.ones(len(c))] + [pd.to_numeric(c[v], errors="coerce")
                                                  .to_numpy(dtype=float) for v in plan.covariates
                                                  if pd.api.types.is_numeric_dtype(c[v])])
        ok = np.isfinite(x).all(axis=1)
        if ok.sum() > x.shape[1] + 1:
            beta, *_ = np.linalg.lstsq(x[ok], y_c[ok], rcond=None)
            resid = y_c[ok] - x[ok] @ beta
            tss = float(((y_c[ok] - y_c[ok].mean()) ** 2).sum())
            r2 = max(0.0, 1.0 - float(resid @ resid) / tss) if tss > 0 else 0.0
    design: dict[str, Any] = {"alpha": plan.alpha, "ratio": ratio, "r2": min(r2, 0.99),
                              "outcome": e.outcome}
    if r2 > 0:
        design["n_covariates"] = len(plan.covariates)  # covariates cost df (PowerUp's convention)
    if e.binary_outcome:
        design["baseline_rate"] = float(np.clip(y_c.mean(), 0.005, 0.995))
    else:
        design["sd"] = float(y_c.std(ddof=1))
    if take_up is not None and contamination is not None and take_up > contamination:
        design["take_up"] = float(take_up)
        design["contamination"] = float(contamination)
    icc = None
    try:
        if d["cluster"]:
            g = sub.groupby(d["cluster"], observed=True)[e.outcome]
            sizes = g.size().to_numpy(dtype=float)
            icc = _anova_icc(sub[e.outcome].to_numpy(dtype=float),
                             sub[d["cluster"]].to_numpy())
            res = mde(n_clusters=len(sizes), cluster_size=float(sizes.mean()), icc=icc, **design)
        else:
            res = mde(n=n, **design)
        mde_itt, mde_cace, power_, note = res.mde, res.mde_cace, res.power, ""
    except ConvergenceError as err:  # a design the solver cannot size: say why, never NaN
        res, mde_itt, mde_cace, power_, note = None, np.nan, np.nan, np.nan, str(err)
    return {
        "outcome": e.outcome, "n_obs": n, "estimate": e.estimate, "mde": mde_itt,
        "mde_cace": mde_cace, "power": power_, "r2": r2, "icc": icc,
        "take_up": take_up, "control_receipt": contamination, "note": note, "_result": res,
    }


def _anova_icc(y: np.ndarray, groups: np.ndarray) -> float:
    """One-way ANOVA estimate of the intra-cluster correlation (Donner & Koval 1980), >= 0."""
    codes, _ = pd.factorize(groups)
    k = int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=k).astype(float)
    n = sizes.sum()
    means = np.bincount(codes, weights=y, minlength=k) / sizes
    grand = y.mean()
    msb = float((sizes * (means - grand) ** 2).sum() / max(k - 1, 1))
    msw = float(((y - means[codes]) ** 2).sum() / max(n - k, 1))
    n0 = (n - (sizes**2).sum() / n) / max(k - 1, 1)
    denom = msb + (n0 - 1) * msw
    return float(max(0.0, (msb - msw) / denom)) if denom > 0 else 0.0
