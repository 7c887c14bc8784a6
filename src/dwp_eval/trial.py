"""``Trial``: bind a trial's column roles once, then call the estimators.

:class:`Trial` holds a DataFrame and the names of its columns' roles (id,
assigned arm, control label, strata, cluster, receipt, contamination) and
passes them to the library's functions. It adds no logic of its own: every
method is the function of the same name with the roles filled in, so
``trial.itt(outcome="y")`` is ``dwp_eval.itt(trial.data, outcome="y",
assigned=..., control=..., strata=..., cluster=...)`` and gives exactly the
same result.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dwp_eval._validation import check_columns, check_data, check_unique
from dwp_eval.errors import OptionError
from dwp_eval.estimate.binary import binary_effect
from dwp_eval.estimate.cace import cace
from dwp_eval.estimate.compliance import complier_profile, contamination_sensitivity
from dwp_eval.estimate.itt import itt
from dwp_eval.estimate.quantile import quantile_effects
from dwp_eval.estimate.ri import RandomisationTest, randomisation_test
from dwp_eval.estimate.survival import survival_effect
from dwp_eval.monitor.attrition import attrition
from dwp_eval.monitor.balance import balance
from dwp_eval.monitor.contamination_summary import contamination_summary
from dwp_eval.monitor.flow import flow
from dwp_eval.monitor.lee_bounds import lee_bounds
from dwp_eval.report.impact import impact_table
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.report import Report, analyse
from dwp_eval.results import (
    Attrition,
    BalanceTable,
    ContaminationSummary,
    Effect,
    Flow,
    LeeBounds,
    SensitivityTable,
)
from dwp_eval.results.binary import BinaryEffect
from dwp_eval.results.impact import EffectTable
from dwp_eval.results.quantile import QuantileEffects
from dwp_eval.results.survival import SurvivalEffect

__all__ = ["Trial"]


@dataclass(frozen=True, eq=False)
class Trial:
    """A trial's data with its column roles bound once.

    Parameters
    ----------
    data
        One row per person.
    id
        Column of person ids (must be unique).
    assigned
        Column with the arm each person was allocated to.
    control
        The control arm's label.
    strata, cluster
        Columns randomisation was stratified on / the unit of assignment.
    received
        0/1 column: received the programme (or similar provision).
    contaminated
        0/1 column: control-arm member who received similar provision.

    Examples
    --------
    >>> import dwp_eval as de
    >>> people = de.datasets.whp_like(n=400, seed=1)
    >>> alloc = de.randomise(people, strata="site", seed=2)
    >>> df = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    >>> df = df.merge(de.datasets.whp_outcomes(df, df["arm"], seed=3), on="id")
    >>> trial = Trial(df, id="id", assigned="arm", strata="stratum")
    >>> trial.itt(outcome="employed_13_weeks").estimate == de.itt(
    ...     df, outcome="employed_13_weeks", assigned="arm", strata="stratum").estimate
    True
    """

    data: pd.DataFrame
    id: Hashable
    assigned: Hashable
    control: str = "control"
    strata: Hashable | None = None
    cluster: Hashable | None = None
    received: Hashable | None = None
    contaminated: Hashable | None = None

    def __post_init__(self) -> None:
        func = "Trial"
        data = check_data(self.data, func=func)
        roles = {"id": self.id, "assigned": self.assigned, "strata": self.strata,
                 "cluster": self.cluster, "received": self.received,
                 "contaminated": self.contaminated}
        for role, col in roles.items():
            if col is not None:
                check_columns(data, [col], role=role, func=func)
        check_unique(data, self.id, role="id", func=func)

    def __repr__(self) -> str:
        roles = ", ".join(
            f"{k}={v!r}" for k, v in (("assigned", self.assigned), ("strata", self.strata),
                                      ("cluster", self.cluster), ("received", self.received),
                                      ("contaminated", self.contaminated)) if v is not None
        )
        return f"<Trial {len(self.data):,} people; {roles}>"

    def _design(self) -> dict[str, Any]:
        return {"assigned": self.assigned, "control": self.control, "strata": self.strata,
                "cluster": self.cluster}

    def _needs(self, role: str) -> Hashable:
        value = getattr(self, role)
        if value is None:
            raise OptionError(
                f"This Trial names no {role!r} column. Fix: Trial(..., {role}='column name')."
            )
        return value

    # -- estimators ------------------------------------------------------------------------
    def itt(self, *, outcome: Hashable, **options: Any) -> Effect:
        """:func:`dwp_eval.itt` with the trial's roles."""
        return itt(self.data, outcome=outcome, **self._design(), **options)

    def cace(self, *, outcome: Hashable, **options: Any) -> Effect:
        """:func:`dwp_eval.cace` with the trial's roles (needs ``received``)."""
        return cace(self.data, outcome=outcome, received=self._needs("received"),
                    **self._design(), **options)

    def binary_effect(self, *, outcome: Hashable, **options: Any) -> BinaryEffect:
        """:func:`dwp_eval.binary_effect` with the trial's roles."""
        return binary_effect(self.data, outcome=outcome, **self._design(), **options)

    def survival_effect(self, *, duration: Hashable, event: Hashable, horizon: float,
                        **options: Any) -> SurvivalEffect:
        """:func:`dwp_eval.survival_effect` with the trial's roles."""
        return survival_effect(self.data, duration=duration, event=event, horizon=horizon,
                               **self._design(), **options)

    def quantile_effects(self, *, outcome: Hashable, **options: Any) -> QuantileEffects:
        """:func:`dwp_eval.quantile_effects` with the trial's roles."""
        return quantile_effects(self.data, outcome=outcome, **self._design(), **options)

    def impact_table(self, *, outcomes: Sequence[Hashable], **options: Any) -> EffectTable:
        """:func:`dwp_eval.impact_table` with the trial's roles."""
        return impact_table(self.data, outcomes=outcomes, **self._design(), **options)

    def randomisation_test(self, *, outcome: Hashable, **options: Any) -> RandomisationTest:
        """:func:`dwp_eval.randomisation_test` with the trial's roles."""
        return randomisation_test(self.data, outcome=outcome, **self._design(), **options)

    def complier_profile(self, *, covariates: Sequence[Hashable], **options: Any) -> pd.DataFrame:
        """:func:`dwp_eval.complier_profile` with the trial's roles (needs ``received``)."""
        return complier_profile(self.data, assigned=self.assigned, control=self.control,
                                received=self._needs("received"), covariates=covariates,
                                **options)

    def contamination_sensitivity(self, *, outcome: Hashable, **options: Any) -> SensitivityTable:
        """:func:`dwp_eval.contamination_sensitivity` (needs ``received`` and ``contaminated``)."""
        return contamination_sensitivity(
            self.data, outcome=outcome, assigned=self.assigned, control=self.control,
            received=self._needs("received"), contaminated=self._needs("contaminated"),
            strata=self.strata, cluster=self.cluster, **options,
        )

    # -- monitoring ------------------------------------------------------------------------
    def balance(self, *, covariates: Sequence[Hashable], **options: Any) -> BalanceTable:
        """:func:`dwp_eval.balance` with the trial's roles."""
        return balance(self.data, covariates=covariates, **self._design(), **options)

    def flow(self, **options: Any) -> Flow:
        """:func:`dwp_eval.flow` with the trial's roles (``received`` when bound)."""
        options.setdefault("received", self.received)
        if self.received is not None:
            # the Trial's received column is receipt of the programme (as in cace)
            options.setdefault("received_in_control", "programme")
        return flow(self.data, assigned=self.assigned, control=self.control, id=self.id,
                    **options)

    def attrition(self, *, responded: Hashable, **options: Any) -> Attrition:
        """:func:`dwp_eval.attrition` with the trial's roles."""
        return attrition(self.data, responded=responded, **self._design(), **options)

    def lee_bounds(self, *, outcome: Hashable, **options: Any) -> LeeBounds:
        """:func:`dwp_eval.lee_bounds` with the trial's assigned and control columns."""
        return lee_bounds(self.data, outcome=outcome, assigned=self.assigned,
                          control=self.control, **options)

    def contamination_summary(self, *, by: Sequence[Hashable] | None = None,
                              **options: Any) -> ContaminationSummary:
        """:func:`dwp_eval.contamination_summary` of the control arm's ``contaminated`` flag."""
        flag = self._needs("contaminated")
        ctrl = self.data[self.data[self.assigned].astype(str) == self.control]
        return contamination_summary(ctrl, by=tuple(by) if by else (self.assigned,), flag=flag,
                                     **options)

    # -- the plan --------------------------------------------------------------------------
    def analyse(self, plan: AnalysisPlan | str | Path) -> Report:
        """:func:`dwp_eval.analyse` of the trial's data.

        The plan must bind the same roles as the trial (a plan is the
        pre-specified record, so the trial cannot quietly change it).
        """
        p = plan if isinstance(plan, AnalysisPlan) else AnalysisPlan.read(plan)
        bound = {"id": self.id, "assigned": self.assigned, "control": self.control,
                 "strata": self.strata, "cluster": self.cluster, "received": self.received,
                 "contaminated": self.contaminated}
        for role, col in bound.items():
            planned = p.design.get(role)
            if col is not None and planned is not None and planned != col:
                raise OptionError(
                    f"The analysis plan's [design] {role} is {planned!r} but this Trial binds "
                    f"{col!r}. Fix: make them agree (the plan is the pre-specified record)."
                )
        return analyse(self.data, p)
