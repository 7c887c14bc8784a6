"""Re-run the committed reference comparisons against the installed library.

``dwp_eval.selfcheck()`` (or ``dwp-eval selfcheck``) recomputes, with the
installed dwp_eval and its numpy/scipy/pandas, every value that the test
suite compares with an independent implementation, and reports how far they
are from the reference values. The reference values and the datasets they
were computed on ship inside the package (``dwp_eval/_reference/``, copied
from ``tests/reference/`` by ``tests/reference/sync_package_reference.py``;
a test fails if the two copies differ).

References are listed in one registry, :data:`REFERENCES`: the ITT
estimators against R estimatr and clubSandwich, the CACE against R estimatr
and linearmodels, difference-in-differences against Card & Krueger's (1994)
Table 3, R estimatr and linearmodels, the default CR1 against fixest and
Stata's ``xtreg``, staggered adoption without never-treated units against
csdid and moderndid, and the power calculations against R
pwr, statsmodels, R PowerUpR and published examples. To add one: list its files in
``PACKAGE_FILES`` of the sync script's manifest (:data:`PACKAGE_FILES`
here), write a function ``run(root) -> list[Row]`` that recomputes each
reference value, and append a :class:`Reference` to :data:`REFERENCES`.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin
from dwp_eval._validation import _fmt_list, closest
from dwp_eval._version import __version__
from dwp_eval.errors import OptionError
from dwp_eval.references.did_runs import run_staggered_no_never, run_twfe_cr1
from dwp_eval.references.power_runs import run_log_rank, run_power_structures
from dwp_eval.references.runs import (
    Row,
    _run_cace_estimatr,
    _run_cace_linearmodels,
    _run_card_krueger,
    _run_clubsandwich,
    _run_did_estimatr,
    _run_did_linearmodels,
    _run_estimatr,
    _run_powerupr,
    _run_pwr,
    _run_statsmodels_power,
    powerup_design,
)

__all__ = ["PACKAGE_FILES", "REFERENCES", "Reference", "Row", "SelfCheck", "powerup_design", "selfcheck"]

#: Files (globs relative to ``tests/reference/``) shipped in ``dwp_eval/_reference/``.
PACKAGE_FILES: tuple[str, ...] = (
    "itt/estimatr_results.csv",
    "itt/clubsandwich_results.csv",
    "itt/data/*.csv",
    "power/pwr_results.csv",
    "power/statsmodels_results.csv",
    "power/powerup_results.csv",
    "power/published_examples.csv",
    "power/powerup_structures.csv",
    "power/log_rank.csv",
    "power/log_rank_published.csv",
    "cace/estimatr_results.csv",
    "cace/linearmodels_results.csv",
    "cace/data/*.csv",
    "did/data/*.csv",
    "did/card_krueger_table3.csv",
    "did/estimatr_twfe.csv",
    "did/linearmodels_twfe.csv",
    "did/twfe_panels.csv",
    "did/twfe_cr1.csv",
    "did/staggered_panel_no_never.csv",
    "did/staggered_no_never_att_gt.csv",
    "did/staggered_no_never_aggte.csv",
)

SELFCHECK_COLUMNS = ["reference", "source", "cases", "values", "max_abs_diff", "max_rel_diff",
                     "tolerance", "failed", "passed"]
DETAIL_COLUMNS = ["reference", "case", "quantity", "value", "expected", "abs_diff", "rel_diff",
                  "rtol", "passed", "note"]


@dataclass(frozen=True)
class Reference:
    """A registered reference comparison."""

    name: str
    source: str
    description: str
    tolerance: str
    run: Callable[[Path], list[Row]]


#: The registry: every reference comparison selfcheck runs, in order.
REFERENCES: tuple[Reference, ...] = (
    Reference(
        "itt_estimatr",
        "R estimatr 1.0.0 (difference_in_means, lm_robust, lm_lin)",
        "dwp_eval.itt on 11 synthetic designs: standard, blocked, clustered, block-clustered, "
        "matched pairs, weights, HC0-HC3, CR0/CR1/CR2, Lin adjustment",
        "relative 1e-8 (estimate, SE, interval), 1e-6 (df, p-value)",
        _run_estimatr,
    ),
    Reference(
        "itt_clubsandwich",
        "R clubSandwich 0.5.8 (vcovCR CR2, coef_test Satterthwaite)",
        "CR2 standard errors and Bell-McCaffrey (Satterthwaite) df of dwp_eval.itt",
        "relative 1e-8 (estimate, SE), 1e-6 (df, p-value)",
        _run_clubsandwich,
    ),
    Reference(
        "power_pwr",
        "R pwr (pwr.t.test, pwr.t2n.test, pwr.2p.test, pwr.2p2n.test)",
        "dwp_eval.power, sample_size and mde: two-sample t and normal (Cohen's h) power",
        "relative 1e-6 (power); absolute 2.5e-4 (n, effect solved by pwr's uniroot)",
        _run_pwr,
    ),
    Reference(
        "power_statsmodels",
        "statsmodels TTestIndPower / NormalIndPower",
        "dwp_eval.power, sample_size and mde with unequal ratios, one- and two-sided; "
        "binary outcomes with unpooled variance",
        "relative 1e-6 (power), 2e-5 (solved by solve_power)",
        _run_statsmodels_power,
    ),
    Reference(
        "power_powerupr",
        "R PowerUpR (mdes.* and power.*: ira1r1, bira2f1, cra2r2, bcra3f2) and published examples",
        "dwp_eval.mde and power for individual, blocked, cluster and blocked-cluster designs",
        "relative 1e-6 (MDE, power), exact df; published values to their printed precision",
        _run_powerupr,
    ),
    Reference(
        "cace_estimatr",
        "R estimatr 1.0.0 (iv_robust, lm_robust)",
        "dwp_eval.cace: CACE, first stage, ITT and first-stage F on 5 synthetic designs (one- and "
        "two-sided non-compliance, weak instruments, clusters), HC0-HC3, classical, CR0, CR1, CR2",
        "relative 1e-8 (estimate, SE, F), 1e-6 (df)",
        _run_cace_estimatr,
    ),
    Reference(
        "cace_linearmodels",
        "linearmodels IV2SLS (unadjusted, robust, clustered)",
        "dwp_eval.cace estimate, SE and first-stage F with classical, HC0, HC1, CR0 and CR1",
        "relative 1e-8",
        _run_cace_linearmodels,
    ),
    Reference(
        "did_card_krueger",
        "Card & Krueger (1994, AER 84(4)), Table 3 rows 1-4, as printed",
        "dwp_eval.did on the shipped Card & Krueger stores: FTE means, changes and their SEs by "
        "state and wave, the difference in differences (all stores; balanced panel with CR2)",
        "absolute 0.005 (half the printed last digit); 0.01 for cells printed as differences",
        _run_card_krueger,
    ),
    Reference(
        "did_estimatr",
        "R estimatr 1.0.0 (lm_robust, fixed_effects = ~ unit + period)",
        "dwp_eval.did two-way fixed effects on 3 synthetic panels and Card & Krueger: CR2 (with "
        "Bell-McCaffrey df), CR0, and estimatr's 'stata' CR1 (every absorbed effect counted)",
        "relative 1e-8 (estimate, SE, df)",
        _run_did_estimatr,
    ),
    Reference(
        "did_linearmodels",
        "linearmodels 7.1 PanelOLS (entity and time effects, clustered, group_debias)",
        "dwp_eval.did two-way fixed effects estimate and clustered SE on 3 synthetic panels",
        "relative 1e-8",
        _run_did_linearmodels,
    ),
    Reference(
        "did_twfe_cr1",
        "pyfixest 0.60 feols (fixest's small-sample correction) and Stata's xtreg, fe "
        "vce(cluster) rebuilt with statsmodels",
        "dwp_eval.did's default CR1 on 8 synthetic panel cases and Card & Krueger, clustered "
        "by unit or by region",
        "relative 1e-8 (estimate, SE)",
        run_twfe_cr1,
    ),
    Reference(
        "staggered_no_never",
        "csdid 0.4.3 and moderndid 0.2.0 (R did's rule for panels without never-treated units)",
        "dwp_eval.staggered_did with not-yet-treated comparisons and no never-treated units: "
        "ATT(g, t) and the simple, group, dynamic and calendar aggregations, dr/ipw/reg, "
        "varying and universal base periods",
        "absolute 1e-10 (estimate), relative 1e-8 (SE)",
        run_staggered_no_never,
    ),
    Reference(
        "power_structures_powerupr",
        "R PowerUpR 1.1.0 (ira_pn, cra3r3, mod221; mod211's SE for the individual moderator)",
        "dwp_eval.mde and power for partially nested, three-level and moderator designs",
        "relative 1e-8 (MDE, power, SE, df)",
        run_power_structures,
    ),
    Reference(
        "power_log_rank",
        "Schoenfeld (1983) and Freedman (1982) written out in base R; Phadnis, Wetmore & Mayo "
        "(2017, Stat Med 36:4121) Table 3",
        "dwp_eval.sample_size and power for the log-rank test: events, people, power; "
        "accrual, follow-up, clusters",
        "relative 1e-8; printed events exactly",
        run_log_rank,
    ),
)


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False, repr=False)
class SelfCheck(ResultMixin):
    """Agreement of the installed library with every registered reference.

    ``to_frame()``: one row per reference (``reference, source, cases, values,
    max_abs_diff, max_rel_diff, tolerance, failed, passed``); ``details()``:
    one row per compared value.
    """

    _details: pd.DataFrame
    _references: tuple[Reference, ...]
    versions: dict[str, str]

    @property
    def passed(self) -> bool:
        """Whether every compared value is within its tolerance."""
        return bool(self.to_frame()["passed"].all())

    def details(self) -> pd.DataFrame:
        """One row per compared value (columns as in ``DETAIL_COLUMNS``)."""
        return self._details.copy()

    def to_frame(self) -> pd.DataFrame:
        out = []
        for ref in self._references:
            d = self._details[self._details["reference"] == ref.name]
            compared = d[~d["quantity"].isin(["skipped"])]
            num = compared[compared["quantity"] != "error"]
            out.append({
                "reference": ref.name,
                "source": ref.source,
                "cases": int(compared["case"].nunique()),
                "values": len(num),
                "max_abs_diff": float(num["abs_diff"].max()) if len(num) else float("nan"),
                "max_rel_diff": float(num["rel_diff"].max()) if len(num) else float("nan"),
                "tolerance": ref.tolerance,
                "failed": int((~compared["passed"]).sum()),
                "passed": bool(compared["passed"].all()) and len(compared) > 0,
            })
        return pd.DataFrame(out, columns=SELFCHECK_COLUMNS)

    def summary(self) -> str:
        f = self.to_frame()
        env = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        lines = [f"dwp_eval selfcheck: {'PASSED' if self.passed else 'FAILED'} ({env})"]
        for row, ref in zip(f.itertuples(index=False), self._references, strict=True):
            lines.append(
                f"  {'ok  ' if row.passed else 'FAIL'} {row.reference}: {row.cases} cases, "
                f"{row.values} values; max abs diff {row.max_abs_diff:.2g}, max rel diff "
                f"{row.max_rel_diff:.2g} (tolerance {row.tolerance})"
            )
            lines.append(f"       against {ref.source}")
        d = self._details
        for r in d[~d["passed"]].head(10).itertuples(index=False):
            lines.append(f"  FAIL {r.reference} {r.case} {r.quantity}: {r.value!r} vs {r.expected!r}"
                         + (f" ({r.note})" if r.note else ""))
        for r in d[d["quantity"] == "skipped"].itertuples(index=False):
            lines.append(f"  not compared: {r.reference} {r.case} ({r.note})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<SelfCheck {'passed' if self.passed else 'FAILED'}: {len(self._references)} references>"


def reference_root() -> Path:
    """The folder of the reference files shipped with the package."""
    return Path(str(resources.files("dwp_eval") / "_reference"))


def _versions() -> dict[str, str]:
    import scipy

    return {"dwp_eval": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "pandas": pd.__version__}


def selfcheck(references: Sequence[str] | None = None, *, verbose: bool = True) -> SelfCheck:
    """Recompute every registered reference value with the installed library.

    Parameters
    ----------
    references
        Names from :data:`REFERENCES` to run (default: all).
    verbose
        Print the summary (default ``True``).

    Returns
    -------
    SelfCheck
        ``passed`` is ``True`` when every value is within its tolerance;
        ``to_frame()`` gives cases, the largest absolute and relative
        differences and the verdict per reference, ``details()`` every value.

    Notes
    -----
    The reference values were produced by independent implementations (the R
    and Python scripts under ``tests/reference/`` in the source repository,
    whose READMEs record versions and how to regenerate them) or typed from a
    published table (Card & Krueger 1994, Table 3). Tolerances are those of the
    test suite, each with its reason in the test module of its family
    (``tests/test_itt_reference.py``, ``tests/test_did_reference.py``, ...).

    Examples
    --------
    >>> res = selfcheck(["itt_clubsandwich"], verbose=False)
    >>> res.passed, int(res.to_frame()["cases"].iloc[0])
    (True, 15)
    """
    names = [r.name for r in REFERENCES]
    if references is None:
        chosen = list(REFERENCES)
    else:
        if isinstance(references, str):
            references = [references]
        for name in references:
            if name not in names:
                guess = closest(str(name), names)
                hint = f" Did you mean {guess!r}?" if guess else ""
                raise OptionError(
                    f"The 'references' parameter of selfcheck must name references among "
                    f"{_fmt_list(names)}. Got {name!r} instead.{hint}"
                )
        chosen = [r for r in REFERENCES if r.name in references]
    root = reference_root()
    records = []
    for ref in chosen:
        for row in ref.run(root):
            records.append({"reference": ref.name, "case": row.case, "quantity": row.quantity,
                            "value": row.value, "expected": row.expected, "abs_diff": row.abs_diff,
                            "rel_diff": row.rel_diff, "rtol": row.rtol,
                            "passed": row.passed or row.quantity == "skipped", "note": row.note})
    result = SelfCheck(pd.DataFrame(records, columns=DETAIL_COLUMNS), tuple(chosen), _versions())
    if verbose:
        print(result.summary())
    return result
