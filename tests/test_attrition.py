"""Attrition (``attrition``) and Lee (2009) bounds (``lee_bounds``).

References, each independent of the code under test:

* pyleebounds 0.3.0 on five committed datasets (``tests/reference/attrition``;
  the script, its raw output and the CSV it wrote are committed, and the tests
  do not need pyleebounds);
* Lee's (2009) Proposition 3 variance, written out here from the paper;
* hand-computed bounds on tiny data with ties at the trimming point;
* statsmodels: OLS with HC2 and its Wald F test for the covariate tests,
  ``GLM(Binomial)`` for the response models of the weights, and Wilson
  intervals from ``proportion_confint``.

Seeded Monte Carlo (``slow``): the bounds' standard errors cover the
population bounds at the nominal rate, the Imbens-Manski interval covers the
always-responders' effect and the set interval the identified set, and the
attrition tests reject at their level when response does not depend on the arm.
"""

from __future__ import annotations

import pickle
import re
import warnings
from fractions import Fraction
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from dwp_eval._core.format import number, percent
from dwp_eval.errors import (
    ColumnError,
    DegenerateDrawsWarning,
    DesignError,
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate.itt import itt
from dwp_eval.monitor.attrition import _covariate_tests, attrition
from dwp_eval.monitor.lee_bounds import _trimmed, lee_bounds
from dwp_eval.results.attrition import (
    ATTRITION_COLUMNS,
    CELL_COLUMNS,
    LEE_COLUMNS,
    TEST_COLUMNS,
    Attrition,
    LeeBounds,
    _imbens_manski_c,
)
from dwp_eval.results.palette import alt_text_of
from dwp_eval.testing import binomial_band

matplotlib.use("Agg")

REF = Path(__file__).resolve().parent / "reference" / "attrition"

# pyleebounds' values are written with 12 significant digits: 1e-9 relative
# (plus 1e-9 absolute for bounds near zero) is rounding only.
REF_RTOL, REF_ATOL = 1e-9, 1e-9
# Our analytic SEs (Lee 2009, Prop. 3) against pyleebounds' bootstrap SEs
# (B = 2000): bootstrap Monte Carlo error ~1.6% and the bootstrap/asymptotic
# gap in the 300-per-arm cells of 'tighten'; the largest gap seen is 10.4%.
SE_RTOL = 0.12
# Closed forms and algebraic identities: floating point only.
EXACT = 1e-12
# statsmodels: the same HC2 Wald statistic by another route (agrees to ~1e-13;
# 1e-9 relative leaves room for other BLAS); logit fits by Newton (ours) and IRLS
# (GLM) both converge to ~1e-13 in the fitted probabilities here: 1e-9.
SM_RTOL, LOGIT_RTOL = 1e-9, 1e-9


def _ref() -> pd.DataFrame:
    return pd.read_csv(REF / "pyleebounds_results.csv", keep_default_na=True)


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"{name}.csv")


def _rows_of(row: pd.Series) -> pd.DataFrame:
    d = _data(row["dataset"])
    if isinstance(row["cell"], str) and row["cell"]:
        d = d[d["site"] == row["cell"].split("=")[1]]
    return d


def _lee(d: pd.DataFrame, **kwargs: object) -> LeeBounds:
    return lee_bounds(d, outcome="y", assigned="arm", responded="responded", **kwargs)


# ============================================================================ Lee: references


def _pyleebounds_convention(d: pd.DataFrame, n_trimmed: int) -> tuple[float, float]:
    """Bounds with pyleebounds' whole number of trimmed responders, by our trimming
    code: drops exactly ``n_trimmed`` from the trimmed arm (the higher-response arm)."""
    t, c = d[d["arm"] == "treatment"], d[d["arm"] == "control"]
    yt, yc = t.loc[t["responded"] == 1, "y"], c.loc[c["responded"] == 1, "y"]
    trim_t = t["responded"].mean() >= c["responded"].mean()
    high, low = (yt, yc) if trim_t else (yc, yt)
    ys = np.sort(high.to_numpy())
    kept = float(len(ys) - n_trimmed)
    bottom = _trimmed(ys, kept, "bottom")[0] - low.mean()
    top = _trimmed(ys, kept, "top")[0] - low.mean()
    return (bottom, top) if trim_t else (-top, -bottom)


def _single_rows() -> list[int]:
    """Rows of the reference table for one dataset or cell (not the combined tightened row)."""
    return [int(i) for i in _ref().index[_ref()["tighten"].isna()]]


def _row_id(i: int) -> str:
    row = _ref().loc[i]
    return str(row["dataset"]) + (f":{row['cell']}" if isinstance(row["cell"], str) else "")


@pytest.mark.parametrize("i", _single_rows(), ids=_row_id)
def test_trimming_matches_pyleebounds_with_its_count(i: int) -> None:
    """Our trimming code, given pyleebounds' (floored) count, reproduces it everywhere."""
    row = _ref().loc[i]
    lo, hi = _pyleebounds_convention(_rows_of(row), int(row["n_trimmed_pyleebounds"]))
    assert lo == pytest.approx(row["lower"], rel=REF_RTOL, abs=REF_ATOL)
    assert hi == pytest.approx(row["upper"], rel=REF_RTOL, abs=REF_ATOL)


def test_lee_bounds_equal_pyleebounds_where_it_trims_the_exact_count() -> None:
    ref = _ref()
    exact = ref[(ref["n_trimmed_pyleebounds"] == ref["n_trimmed_exact"]) & ref["tighten"].isna()]
    assert len(exact) >= 4  # ties, control_higher, two of the three cells
    for _, row in exact.iterrows():
        lb = _lee(_rows_of(row))
        assert lb.lower == pytest.approx(row["lower"], rel=REF_RTOL, abs=REF_ATOL)
        assert lb.upper == pytest.approx(row["upper"], rel=REF_RTOL, abs=REF_ATOL)
        assert lb.trimming_proportion == pytest.approx(row["trimming_proportion"], rel=REF_RTOL)


def test_where_pyleebounds_floors_we_trim_the_exact_mass() -> None:
    """pyleebounds drops int(n_R * p) responders: one short of the exact count for
    'continuous' (832 * p is 169.99999999999997 in floating point), the 'wales' cell,
    and 'unequal_arms' (147.57 of 147.57); lee_bounds trims the exact mass."""
    ref = _ref()
    floored = ref[(ref["n_trimmed_pyleebounds"] != ref["n_trimmed_exact"]) & ref["tighten"].isna()]
    assert set(floored["dataset"]) == {"continuous", "tighten", "unequal_arms"}
    for _, row in floored.iterrows():
        d = _rows_of(row)
        lb = _lee(d)
        # n_trimmed_exact is written with 12 significant digits: REF_RTOL
        assert (lb.lower, lb.upper) == pytest.approx(
            _pyleebounds_convention(d, row["n_trimmed_exact"]), rel=REF_RTOL)
        # one responder more or less moves each bound by less than the outcome's range
        # over the kept count
        y = d.loc[d["responded"] == 1, "y"]
        kept = d.loc[(d["responded"] == 1) & (d["arm"] == "treatment")].shape[0] - row[
            "n_trimmed_exact"]
        slack = float(y.max() - y.min()) / kept
        assert 0 < abs(lb.lower - row["lower"]) < slack
        assert 0 < abs(lb.upper - row["upper"]) < slack


def test_tightened_bounds_combine_pyleebounds_cells_with_lee_weights() -> None:
    ref = _ref()
    cells = ref[(ref["dataset"] == "tighten") & ref["cell"].notna()].set_index("cell")
    lb = _lee(_data("tighten"), tighten=["site"])
    got = lb.cells.set_index("cell")
    assert list(lb.cells.columns) == CELL_COLUMNS
    # Lee (2009) Prop. 1b weights: the cells' shares of the control responders
    assert got["weight"].to_numpy() == pytest.approx(cells["weight"].to_numpy(), rel=REF_RTOL)
    for cell in ("site=north", "site=south"):  # pyleebounds trims the exact count here
        assert got.loc[cell, "lower"] == pytest.approx(cells.loc[cell, "lower"], rel=REF_RTOL)
        assert got.loc[cell, "upper"] == pytest.approx(cells.loc[cell, "upper"], rel=REF_RTOL)
    assert lb.lower == pytest.approx(float(got["weight"] @ got["lower"]), rel=EXACT)
    assert lb.upper == pytest.approx(float(got["weight"] @ got["upper"]), rel=EXACT)
    combined = ref[(ref["dataset"] == "tighten") & ref["tighten"].notna()].iloc[0]
    assert abs(lb.lower - combined["lower"]) < 0.01 and abs(lb.upper - combined["upper"]) < 0.01
    # the tightened bounds are narrower than the untightened ones here
    plain = _lee(_data("tighten"))
    assert plain.lower < lb.lower < lb.upper < plain.upper


def test_analytic_se_agrees_with_pyleebounds_bootstrap() -> None:
    ref = _ref()
    worst = 0.0
    for _, row in ref[ref["tighten"].isna()].iterrows():
        lb = _lee(_rows_of(row))
        for ours, theirs in ((lb.se_lower, row["se_lower_bootstrap"]),
                             (lb.se_upper, row["se_upper_bootstrap"])):
            if np.isnan(theirs):  # pyleebounds: NaN when a draw trims nobody (see README)
                continue
            worst = max(worst, abs(ours / theirs - 1))
    assert worst < SE_RTOL


def _lee_prop3(y: np.ndarray, w: np.ndarray, xi: float, p: float, n_t: int, n_c: int,
               r_t: float, r_c: float, y_c: np.ndarray) -> float:
    """Lee (2009, Prop. 3) variance of a bound, as in the paper, with sample analogues
    (divisor n): the kept responders' mean and variance ``mu``, ``s2`` (``w``: each
    responder's kept share), the trimming point ``xi``, ``pi = n_t / n``."""
    mu = float(w @ y / w.sum())
    s2 = float(w @ (y - mu) ** 2 / w.sum())
    n = n_t + n_c
    pi = n_t / n
    v_trim = (s2 + p * (xi - mu) ** 2) / (r_t * pi * (1 - p))
    v_p = (r_c / r_t) ** 2 * ((1 - r_t) / (r_t * pi) + (1 - r_c) / (r_c * (1 - pi)))
    v_c = y_c.var() / (r_c * (1 - pi))
    return (v_trim + ((xi - mu) / (1 - p)) ** 2 * v_p + v_c) / n


@pytest.mark.parametrize("name", ["ties", "control_higher", "unequal_arms"])
def test_analytic_se_is_lee_proposition_3(name: str) -> None:
    d = _data(name)
    lb = _lee(d)
    t, c = d[d["arm"] == "treatment"], d[d["arm"] == "control"]
    high, low = (t, c) if lb.trimmed_arm == "treatment" else (c, t)
    yh = np.sort(high.loc[high["responded"] == 1, "y"].to_numpy())
    yl = low.loc[low["responded"] == 1, "y"].to_numpy()
    r_h, r_l = high["responded"].mean(), low["responded"].mean()
    p = (r_h - r_l) / r_h
    kept = len(high) * r_l  # (1 - p) n_R: whole for equal arms, 1323.43 for unequal_arms
    rank = np.arange(len(yh))
    w_bottom = np.clip(kept - rank, 0, 1)
    w_top = w_bottom[::-1]
    xi_bottom = yh[int(np.ceil(kept)) - 1]
    xi_top = yh[len(yh) - int(np.ceil(kept))]
    args = (p, len(high), len(low), r_h, r_l, yl)
    v_bottom = _lee_prop3(yh, w_bottom, xi_bottom, *args)
    v_top = _lee_prop3(yh, w_top, xi_top, *args)
    se_lo, se_hi = (v_bottom, v_top) if lb.trimmed_arm == "treatment" else (v_top, v_bottom)
    assert lb.se_lower == pytest.approx(np.sqrt(se_lo), rel=1e-10)
    assert lb.se_upper == pytest.approx(np.sqrt(se_hi), rel=1e-10)


# ============================================================================ Lee: hand examples


def _tiny(n_c: int, y_c: list[float]) -> pd.DataFrame:
    """10 treated (8 respond: four zeros, then 4, 6, 8, 10) and ``n_c`` controls."""
    y_t = [0, 0, 0, 0, 4, 6, 8, 10, None, None]
    y_ctrl = y_c + [None] * (n_c - len(y_c))
    return pd.DataFrame({"arm": ["treatment"] * 10 + ["control"] * n_c,
                         "y": pd.array(y_t + y_ctrl, dtype="Float64")})


def test_ties_at_the_trimming_point_trim_exactly_p() -> None:
    # p = (0.8 - 0.6) / 0.8 = 1/4: two of the eight treated responders are trimmed
    lb = lee_bounds(_tiny(10, [0, 0, 1, 2, 3, 6]), outcome="y", assigned="arm")
    assert lb.trimming_proportion == 0.25
    # lower: drop 8 and 10 -> mean(0,0,0,0,4,6) = 10/6; control mean 2
    assert lb.lower == pytest.approx(10 / 6 - 2, abs=EXACT)
    # upper: drop two of the four tied zeros -> mean(0,0,4,6,8,10) = 28/6
    assert lb.upper == pytest.approx(28 / 6 - 2, abs=EXACT)
    # conditioning on Y >= y_p (y_p = 0) would keep every zero: 28/8 - 2, too low
    assert lb.upper > 28 / 8 - 2 + 1


def test_fractional_trimming_when_the_mass_is_not_whole() -> None:
    # 7 of 12 controls respond: kept mass 10 * 7/12 = 35/6 of the 8 treated responders
    lb = lee_bounds(_tiny(12, [0, 0, 1, 2, 3, 6, 2]), outcome="y", assigned="arm")
    kept = Fraction(35, 6)
    m_c = Fraction(14, 7)
    assert lb.trimming_proportion == pytest.approx(float(1 - kept / 8), abs=EXACT)
    # bottom: 0,0,0,0,4 whole and 5/6 of the 6
    low = (4 + Fraction(5, 6) * 6) / kept - m_c
    # top: 10, 8, 6, 4 whole and 5/6 of a zero
    high = Fraction(10 + 8 + 6 + 4) / kept - m_c
    assert lb.lower == pytest.approx(float(low), abs=EXACT)
    assert lb.upper == pytest.approx(float(high), abs=EXACT)


def test_equal_response_means_no_trimming() -> None:
    d = _tiny(10, [0, 0, 1, 2, 3, 6, 5, 7])
    lb = lee_bounds(d, outcome="y", assigned="arm")
    assert lb.trimmed_arm is None and lb.trimming_proportion == 0.0
    assert lb.lower == lb.upper == pytest.approx(lb.responders_difference, abs=EXACT)
    assert "trimming        none" in lb.summary()


def test_trim_option_imposes_the_direction() -> None:
    d = _tiny(10, [0, 0, 1, 2, 3, 6])
    lb = lee_bounds(d, outcome="y", assigned="arm", trim="control")
    assert lb.trimmed_arm is None
    assert lb.lower == lb.upper == pytest.approx(lb.responders_difference, abs=EXACT)
    assert any("lower response rate: nothing trimmed" in n for n in lb.notes)
    assert lee_bounds(d, outcome="y", assigned="arm", trim="treatment").lower == pytest.approx(
        lee_bounds(d, outcome="y", assigned="arm").lower, abs=EXACT)


def test_responded_column_and_missing_outcome_rule_agree() -> None:
    d = _data("continuous")
    by_column = _lee(d)
    by_missing = lee_bounds(d.drop(columns="responded"), outcome="y", assigned="arm")
    assert (by_column.lower, by_column.upper, by_column.se_lower) == pytest.approx(
        (by_missing.lower, by_missing.upper, by_missing.se_lower), rel=EXACT)
    # non-responders' outcomes are ignored when responded= is given
    filled = d.assign(y=d["y"].fillna(1e6))
    assert _lee(filled).upper == pytest.approx(by_column.upper, rel=EXACT)


def test_tighten_with_a_constant_covariate_is_the_plain_bound() -> None:
    d = _data("ties").assign(one="x")
    a, b = _lee(d), _lee(d, tighten=["one"])
    assert (a.lower, a.upper, a.se_lower, a.se_upper) == pytest.approx(
        (b.lower, b.upper, b.se_lower, b.se_upper), rel=EXACT)


def test_cells_where_the_trimmed_arm_responds_less_are_not_trimmed() -> None:
    rng = np.random.default_rng(5)
    n = 1200
    d = pd.DataFrame({"arm": np.tile(["control", "treatment"], n // 2),
                      "g": np.repeat(["a", "b"], n // 2)})
    r = np.where(d["g"] == "a", np.where(d["arm"] == "treatment", 0.9, 0.6),
                 np.where(d["arm"] == "treatment", 0.5, 0.6))
    d["y"] = np.where(rng.random(n) < r, rng.normal(size=n), np.nan)
    lb = lee_bounds(d, outcome="y", assigned="arm", tighten=["g"])
    cells = lb.cells.set_index("cell")
    assert lb.trimmed_arm == "treatment"
    assert cells.loc["g=b", "trimming_proportion"] == 0.0
    assert cells.loc["g=a", "trimming_proportion"] > 0.2
    assert cells.loc["g=b", "lower"] == pytest.approx(cells.loc["g=b", "upper"], abs=EXACT)
    assert "1 of 2 cells not trimmed" in lb.summary()


def test_bootstrap_is_reproducible_and_close_to_analytic() -> None:
    d = _data("control_higher")
    a = _lee(d, bootstrap=400, seed=7)
    b = _lee(d, bootstrap=400, seed=np.random.default_rng(7))
    analytic = _lee(d)
    assert (a.se_lower, a.se_upper) == (b.se_lower, b.se_upper)
    assert a.se_type == "bootstrap" and a.n_bootstrap == 400
    assert (a.lower, a.upper) == (analytic.lower, analytic.upper)
    assert a.se_lower == pytest.approx(analytic.se_lower, rel=0.15)
    assert a.se_upper == pytest.approx(analytic.se_upper, rel=0.15)
    assert "bootstrap, 400 draws within arms" in a.summary()


def test_bootstrap_warns_about_degenerate_draws() -> None:
    d = pd.DataFrame({"arm": np.tile(["control", "treatment"], 40),
                      "g": ["rare"] * 4 + ["common"] * 76})
    rng = np.random.default_rng(3)
    d["y"] = np.where(rng.random(80) < np.where(d["arm"] == "treatment", 0.9, 0.6),
                      rng.normal(size=80), np.nan)
    d.loc[[0, 1, 2, 3], "y"] = [1.0, 2.0, 1.5, 0.5]
    with pytest.warns(DegenerateDrawsWarning, match=r"lee_bounds: \d+ of 200 bootstrap draws had a "
                                                    r"cell without the responders needed"):
        lb = lee_bounds(d, outcome="y", assigned="arm", tighten=["g"], bootstrap=200, seed=1)
    assert any("bootstrap draws left out" in n for n in lb.notes)


def test_bootstrap_with_almost_no_usable_draws_is_an_error() -> None:
    n = 200
    d = pd.DataFrame({"arm": np.repeat(["control", "treatment"], n), "g": "common"})
    d.loc[[0, n], "g"] = "rare"  # one person per arm: most resamples lose one of them
    rng = np.random.default_rng(0)
    d["y"] = np.where(rng.random(2 * n) < np.where(d["arm"] == "treatment", 0.9, 0.6),
                      rng.normal(size=2 * n), np.nan)
    d.loc[[0, n], "y"] = [1.0, 2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDrawsWarning)
        with pytest.raises(DesignError, match=(
                r"lee_bounds: fewer than two bootstrap draws could be computed; the cells are too "
                r"small\. Fix: use coarser tighten= cells or the analytic standard errors\."
        )):
            lee_bounds(d, outcome="y", assigned="arm", tighten=["g"], bootstrap=2, seed=0)


def test_bootstrap_seed_and_interval_level_checks() -> None:
    d = _data("continuous")
    with pytest.raises(OptionError, match=(
            r"The 'seed' parameter of lee_bounds must be an int or a numpy\.random\.Generator\. "
            r"Got 'abc' \(str\) instead\."
    )):
        _lee(d, bootstrap=10, seed="abc")
    lb = _lee(d)
    for method in ("conf_int", "set_conf_int", "critical_value"):
        with pytest.raises(OptionError, match=rf"The 'alpha' parameter of LeeBounds\.{method} must "
                                              r"be a float in \(0, 1\)\. Got 1\.5 instead\."):
            getattr(lb, method)(1.5)


# ============================================================================ Lee: result object


def test_result_table_summary_intervals() -> None:
    lb = _lee(_data("continuous"))
    f = lb.to_frame()
    assert list(f.columns) == LEE_COLUMNS and len(f) == 1
    assert f.loc[0, "term"] == "treatment vs control" and f.loc[0, "se_type"] == "analytic"
    z = stats.norm.ppf(0.975)
    assert lb.set_interval() == pytest.approx(
        (lb.lower - z * lb.se_lower, lb.upper + z * lb.se_upper))
    c = lb.critical_value()
    assert stats.norm.ppf(0.95) <= c <= z
    assert lb.interval() == pytest.approx((lb.lower - c * lb.se_lower, lb.upper + c * lb.se_upper))
    assert lb.interval(0.1)[0] > lb.conf_low
    assert lb.conf_int(0.1).loc[0, "conf_low"] == lb.interval(0.1)[0]
    text = lb.summary()
    assert text.startswith("Lee (2009) bounds on the effect of treatment vs control on y")
    assert "trimming        20.4% of treatment's responders" in text
    assert "95% CI" in text and "Imbens & Manski 2004" in text
    assert repr(lb).startswith("<LeeBounds y: [")
    assert "<table" in lb._repr_html_()
    back = pickle.loads(pickle.dumps(lb))
    assert back.to_frame().equals(f) and dict(back.n_by_arm) == dict(lb.n_by_arm)
    with pytest.raises(AttributeError):
        lb.lower = 0.0  # type: ignore[misc]
    ax = lb.plot()
    assert ax.get_xlabel() == "effect on y (treatment vs control)"
    assert alt_text_of(ax.figure) == lb.alt_text()
    assert lb.alt_text().startswith("Lee bounds on the effect on y (treatment vs control)")
    assert number(lb.lower) in lb.alt_text() and number(lb.upper) in lb.alt_text()


def test_imbens_manski_critical_value() -> None:
    # width 0: two-sided; very wide: one-sided; in between: solves the equation
    assert _imbens_manski_c(0.0, 1.0, 1.0, 0.05) == pytest.approx(stats.norm.ppf(0.975))
    assert _imbens_manski_c(100.0, 1.0, 1.0, 0.05) == pytest.approx(stats.norm.ppf(0.95))
    c = _imbens_manski_c(1.0, 0.5, 0.8, 0.05)
    assert stats.norm.cdf(c + 1.0 / 0.8) - stats.norm.cdf(-c) == pytest.approx(0.95, abs=1e-10)
    assert _imbens_manski_c(1.0, 0.0, 0.0, 0.05) == pytest.approx(stats.norm.ppf(0.95))


# ============================================================================ Lee: properties


@st.composite
def _lee_data(draw: st.DrawFn) -> pd.DataFrame:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_t, n_c = draw(st.integers(20, 120)), draw(st.integers(20, 120))
    r_t, r_c = draw(st.floats(0.3, 0.95)), draw(st.floats(0.3, 0.95))
    ties = draw(st.booleans())
    arm = np.r_[np.repeat("treatment", n_t), np.repeat("control", n_c)]
    y = rng.normal(size=n_t + n_c)
    if ties:
        y = np.where(rng.random(n_t + n_c) < 0.4, 0.0, np.round(np.abs(y) * 3, 1))
    s = rng.random(n_t + n_c) < np.where(arm == "treatment", r_t, r_c)
    s[[0, n_t]] = True  # at least one responder per arm
    return pd.DataFrame({"arm": arm, "y": np.where(s, y, np.nan),
                         "g": rng.choice(["a", "b"], n_t + n_c)})


def _same(a: LeeBounds, b: LeeBounds, rel: float = 1e-9) -> None:
    assert (a.lower, a.upper) == pytest.approx((b.lower, b.upper), rel=rel, abs=1e-10)
    assert (a.se_lower, a.se_upper) == pytest.approx((b.se_lower, b.se_upper), rel=1e-7, abs=1e-10)


@given(_lee_data(), st.integers(0, 2**32 - 1))
def test_lee_row_order_does_not_matter(d: pd.DataFrame, seed: int) -> None:
    shuffled = d.sample(frac=1.0, random_state=np.random.default_rng(seed))
    _same(lee_bounds(d, outcome="y", assigned="arm"),
          lee_bounds(shuffled, outcome="y", assigned="arm"))


@given(_lee_data(), st.floats(-100, 100), st.floats(0.01, 100))
def test_lee_shift_and_scale(d: pd.DataFrame, shift: float, scale: float) -> None:
    base = lee_bounds(d, outcome="y", assigned="arm")
    shifted = lee_bounds(d.assign(y=d["y"] + shift), outcome="y", assigned="arm")
    assert (shifted.lower, shifted.upper) == pytest.approx(
        (base.lower, base.upper), abs=1e-9 * (1 + abs(shift)))
    scaled = lee_bounds(d.assign(y=d["y"] * scale), outcome="y", assigned="arm")
    assert (scaled.lower, scaled.upper) == pytest.approx(
        (scale * base.lower, scale * base.upper), rel=1e-9, abs=1e-12)
    assert (scaled.se_lower, scaled.se_upper) == pytest.approx(
        (scale * base.se_lower, scale * base.se_upper), rel=1e-7, abs=1e-12)


@given(_lee_data())
def test_lee_negating_the_outcome_or_swapping_the_arms_mirrors_the_bounds(d: pd.DataFrame) -> None:
    base = lee_bounds(d, outcome="y", assigned="arm")
    neg = lee_bounds(d.assign(y=-d["y"]), outcome="y", assigned="arm")
    assert (neg.lower, neg.upper) == pytest.approx((-base.upper, -base.lower), abs=1e-10)
    assert (neg.se_lower, neg.se_upper) == pytest.approx(
        (base.se_upper, base.se_lower), rel=1e-7, abs=1e-12)
    swapped = d.assign(arm=d["arm"].map({"treatment": "control", "control": "treatment"}))
    sw = lee_bounds(swapped, outcome="y", assigned="arm")
    assert (sw.lower, sw.upper) == pytest.approx((-base.upper, -base.lower), abs=1e-10)


@given(_lee_data(), st.sampled_from([None, ["g"]]))
def test_lee_bounds_order_and_intervals_nest(d: pd.DataFrame, tighten: list[str] | None) -> None:
    try:
        lb = lee_bounds(d, outcome="y", assigned="arm", tighten=tighten)
    except DesignError as exc:  # a small cell without responders: the message says so
        assert "cell" in str(exc)
        return
    assert lb.lower <= lb.upper + 1e-12
    if tighten is None:
        assert lb.lower - 1e-12 <= lb.responders_difference <= lb.upper + 1e-12
    lo, hi = lb.interval()
    slo, shi = lb.set_interval()
    assert slo <= lo <= lb.lower + 1e-12 and lb.upper - 1e-12 <= hi <= shi
    assert 0 <= lb.trimming_proportion < 1


# ============================================================================ Lee: errors


def test_lee_errors() -> None:
    d = _data("continuous")
    with pytest.raises(ColumnError, match=r"lee_bounds: column 'arm' \(outcome\) must be numeric; "
                                          r"it has dtype .*Fix: convert it"):
        lee_bounds(d, outcome="arm", assigned="arm")
    with pytest.raises(OptionError, match=r"The 'seed' parameter of lee_bounds must be given with "
                                          r"bootstrap=\. Got None instead\. Fix: pass a recorded"):
        _lee(d, bootstrap=10)
    with pytest.raises(OptionError, match=r"The 'bootstrap' parameter of lee_bounds must be an int "
                                          r"of at least 2 \(the number of draws\) or None\. Got 1 "
                                          r"instead\."):
        _lee(d, bootstrap=1, seed=1)
    with pytest.raises(OptionError, match=r"The 'trim' parameter of lee_bounds must be one of "
                                          r"'auto', 'treatment', 'control'\. Got 'treat' instead\. "
                                          r"Did you mean 'treatment'\?"):
        _lee(d, trim="treat")
    with pytest.raises(OptionError, match=r"The 'alpha' parameter of lee_bounds must be a float in "
                                          r"\(0, 1\)\. Got 2 instead\."):
        _lee(d, alpha=2)
    with pytest.raises(MissingDataError, match=r"lee_bounds: column 'y' \(outcome\) is missing for "
                                               r"\d+ responder\(s\) \(rows with 'responded' = 1; "
                                               r"first at rows .*Fix: set 'responded' to 0"):
        _lee(d.assign(responded=1))
    with pytest.raises(ColumnError, match=r"lee_bounds: column 'y' \(outcome\) holds 1 infinite "
                                          r"value\(s\) among responders\. Fix: replace them"):
        _lee(d.assign(y=d["y"].where(d.index != d["y"].first_valid_index(), np.inf)))
    with pytest.raises(ColumnError, match=r"lee_bounds: column 'responded' \(responded\) must hold "
                                          r"0/1 values\. Got 2\.0 among its values"):
        _lee(d.assign(responded=d["responded"] * 2.0))
    with pytest.raises(DesignError, match=(
            r"lee_bounds: nobody in the 'control' arm has an observed 'y', so nothing bounds "
            r"its mean\. Fix: check"
    )):
        _lee(d.assign(responded=np.where(d["arm"] == "control", 0, d["responded"])))
    with pytest.raises(DesignError, match=r"lee_bounds: the control arm 'BAU' is not in column "
                                          r"'arm', which holds 'control', 'treatment'\. Fix: pass "
                                          r"control="):
        _lee(d, control="BAU")
    with pytest.raises(DesignError, match=r"lee_bounds: column 'arm' holds several treatment arms "
                                          r"\('a', 'treatment'\)\. Fix: name the arm to compare"):
        _lee(d.assign(arm=np.where(d.index < 10, "a", d["arm"])))
    with pytest.raises(DesignError, match=r"lee_bounds: the treatment arm 'b' is not in column "
                                          r"'arm'"):
        _lee(d, treatment="b")
    with pytest.raises(DesignError, match=r"lee_bounds: column 'arm' holds only one arm "
                                          r"\('control'\); comparing response needs"):
        _lee(d.assign(arm="control"))
    with pytest.raises(MissingDataError, match=(
            r"lee_bounds: column 'arm' \(assigned\) has 1 missing"
    )):
        _lee(d.assign(arm=d["arm"].where(d.index != 5)))


def test_lee_cell_errors() -> None:
    d = _data("tighten")
    with pytest.raises(DesignError, match=(
            r"lee_bounds: 1 cell\(s\) of the tighten= covariates have nobody in the 'control' "
            r"arm \(e\.g\. 'site=wales, x=a'\).*Fix: use coarser cells"
    )):
        _lee(d.assign(x=np.where((d["site"] == "wales") & (d["arm"] == "control"), "b", "a")),
             tighten=["site", "x"])
    # monotonicity imposed (treatment cannot lower response), but in one cell only
    # controls respond
    e = d.copy()
    e.loc[(e["site"] == "wales") & (e["arm"] == "treatment"), "responded"] = 0
    e["x"] = "a"
    with pytest.raises(DesignError, match=(
            r"lee_bounds: cell site=wales, x=a has responders in the arm with the lower "
            r"response rate but none in the arm to be trimmed.*Fix: use coarser tightening cells"
    )):
        _lee(e, tighten=["site", "x"], trim="treatment")
    with pytest.raises(MissingDataError, match=(
            r"lee_bounds: column 'site' \(tighten\) has 1 missing"
    )):
        _lee(d.assign(site=d["site"].where(d.index != 3)), tighten=["site"])
    with pytest.raises(ColumnError, match=(
            r"lee_bounds: column 'sites' \(tighten\) is not in the data"
    )):
        _lee(d, tighten=["sites"])


# ============================================================================ Lee: Monte Carlo

# Always-responders (AR) respond in either arm; "compliers" only when treated.
# Cell x (probability 1/2 each): AR share a_x, complier share c_x, AR untreated
# outcome N(mu_x, 1), effect tau_x for the cell's AR; compliers' outcome
# N(mu_x + delta_x, 1). The cells' effects differ, so the sampling variation of the
# tightening weights matters for the tightened bounds' SEs.
CELLS = {"a": (0.6, 0.12, 0.0, 1.0, -1.5), "b": (0.5, 0.25, 1.5, -0.8, 2.5)}
#        a_x, c_x, mu_x, delta_x, tau_x
TAU = sum(a * tau for a, _, _, _, tau in CELLS.values()) / sum(c[0] for c in CELLS.values())
MC_N = 1500
MC_SIMS = 240


def _mix_moments(comps: list[tuple[float, float]], p: float, keep: str) -> float:
    """Mean of the kept (1 - p) share of a normal mixture [(weight, mean)], sd 1."""
    w = np.array([c[0] for c in comps])
    w = w / w.sum()
    m = np.array([c[1] for c in comps])

    def cdf(v: float) -> float:
        return float(w @ stats.norm.cdf(v - m))

    from scipy import optimize

    target = 1 - p if keep == "bottom" else p
    xi = optimize.brentq(lambda v: cdf(v) - target, -20, 20, xtol=1e-13)
    if keep == "bottom":
        part = w @ (m * stats.norm.cdf(xi - m) - stats.norm.pdf(xi - m))
    else:
        part = w @ (m * stats.norm.sf(xi - m) + stats.norm.pdf(xi - m))
    return float(part / (1 - p))


def _population_bounds(tight: bool) -> tuple[float, float]:
    if tight:
        w = np.array([0.5 * cell[0] for cell in CELLS.values()])
        w = w / w.sum()
        lo = hi = 0.0
        for wx, (a, c, mu, dl, tau) in zip(w, CELLS.values(), strict=True):
            comps = [(a, mu + tau), (c, mu + dl)]
            p = c / (a + c)
            lo += wx * (_mix_moments(comps, p, "bottom") - mu)
            hi += wx * (_mix_moments(comps, p, "top") - mu)
        return lo, hi
    comps = []
    for a, c, mu, dl, tau in CELLS.values():
        comps += [(0.5 * a, mu + tau), (0.5 * c, mu + dl)]
    r_t = sum(0.5 * (a + c) for a, c, _, _, _ in CELLS.values())
    r_c = sum(0.5 * a for a, _, _, _, _ in CELLS.values())
    m_c = sum(0.5 * a * mu for a, _, mu, _, _ in CELLS.values()) / r_c
    p = (r_t - r_c) / r_t
    return _mix_moments(comps, p, "bottom") - m_c, _mix_moments(comps, p, "top") - m_c


def _simulate(rng: np.random.Generator, swap: bool) -> pd.DataFrame:
    n = MC_N
    treated = rng.permutation(np.arange(n) < n // 2)
    g = rng.choice(["a", "b"], size=n)
    a = np.where(g == "a", CELLS["a"][0], CELLS["b"][0])
    c = np.where(g == "a", CELLS["a"][1], CELLS["b"][1])
    mu = np.where(g == "a", CELLS["a"][2], CELLS["b"][2])
    dl = np.where(g == "a", CELLS["a"][3], CELLS["b"][3])
    tau = np.where(g == "a", CELLS["a"][4], CELLS["b"][4])
    u = rng.random(n)
    always, complier = u < a, (u >= a) & (u < a + c)
    y0 = mu + rng.normal(size=n)
    y = np.where(treated, np.where(complier, mu + dl + rng.normal(size=n), y0 + tau), y0)
    responds = always | (complier & treated)
    arm = np.where(treated != swap, "treatment", "control")  # swap: control responds more
    return pd.DataFrame({"arm": arm, "g": g, "y": np.where(responds, y, np.nan)})


def test_population_bounds_contain_the_always_responders_effect() -> None:
    for tight in (False, True):
        lo, hi = _population_bounds(tight)
        assert lo < TAU < hi
    # tightening narrows the identified set
    assert np.diff(_population_bounds(True))[0] < np.diff(_population_bounds(False))[0]


@pytest.mark.slow
@pytest.mark.parametrize(("swap", "tight"), [(False, False), (True, False), (False, True)],
                         ids=["trim treatment", "trim control", "tightened"])
def test_lee_monte_carlo_coverage(swap: bool, tight: bool) -> None:
    lo_pop, hi_pop = _population_bounds(tight)
    if swap:  # the labels swap: the effect and its bounds change sign
        lo_pop, hi_pop, truth = -hi_pop, -lo_pop, -TAU
    else:
        truth = TAU
    z = stats.norm.ppf(0.975)
    seeds = np.random.SeedSequence(20090 + 10 * swap + tight).spawn(MC_SIMS)
    hit_lo = hit_hi = hit_im = hit_set = 0
    hit_im_ends = np.zeros(2)
    for ss in seeds:
        d = _simulate(np.random.default_rng(ss), swap)
        lb = lee_bounds(d, outcome="y", assigned="arm", tighten=["g"] if tight else None)
        assert lb.trimmed_arm == ("control" if swap else "treatment")
        hit_lo += abs(lb.lower - lo_pop) <= z * lb.se_lower
        hit_hi += abs(lb.upper - hi_pop) <= z * lb.se_upper
        lo, hi = lb.interval()
        hit_im += lo <= truth <= hi
        # the least favourable effects: the ends of the identified set
        hit_im_ends += [lo <= lo_pop <= hi, lo <= hi_pop <= hi]
        slo, shi = lb.set_interval()
        hit_set += slo <= lo_pop and hi_pop <= shi
    band = binomial_band(0.95, MC_SIMS, significance=0.001)
    floor = binomial_band(0.95, MC_SIMS, significance=0.001, alternative="less")[0]
    # each bound's own 95% interval: the SEs are right (neither too small nor too large)
    assert band[0] <= hit_lo / MC_SIMS <= band[1], (hit_lo, band)
    assert band[0] <= hit_hi / MC_SIMS <= band[1], (hit_hi, band)
    # Imbens-Manski covers every effect in the set, the ends included, at least at the
    # nominal rate; the set interval covers the whole set at least at the nominal rate
    assert hit_im / MC_SIMS >= floor
    assert np.all(hit_im_ends / MC_SIMS >= floor), hit_im_ends
    assert hit_set / MC_SIMS >= floor, hit_set


# ============================================================================ attrition


def _att_data(n: int = 600, seed: int = 4, r_t: float = 0.8, r_c: float = 0.7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({
        "arm": rng.permutation(np.repeat(["control", "treatment"], n // 2)),
        "age": rng.integers(18, 65, n).astype(float),
        "benefit": rng.choice(["UC", "ESA", "JSA"], n),
        "site": rng.choice(["north", "south", "wales"], n),
    })
    lin = -0.5 + 0.03 * (d["age"] - 40) + 0.4 * (d["benefit"] == "UC")
    base = np.where(d["arm"] == "treatment", r_t, r_c)
    p = 1 / (1 + np.exp(-(np.log(base / (1 - base)) + lin)))
    d["responded"] = (rng.random(n) < p).astype(int)
    return d


def test_response_table_against_hand_counts_and_statsmodels_wilson() -> None:
    d = _att_data()
    att = attrition(d, assigned="arm", responded="responded")
    f = att.to_frame()
    assert list(f.columns) == ATTRITION_COLUMNS
    for row in f.itertuples(index=False):
        sub = d[d["arm"] == row.arm]
        assert (row.n, row.n_responded) == (len(sub), int(sub["responded"].sum()))
        assert row.n_not_responded == row.n - row.n_responded
        lo, hi = proportion_confint(row.n_responded, row.n, alpha=0.05, method="wilson")
        assert (row.conf_low, row.conf_high) == pytest.approx((lo, hi), abs=1e-12)
    assert dict(att.response_rate) == pytest.approx(
        d.groupby("arm")["responded"].mean().to_dict(), abs=EXACT)


@pytest.mark.parametrize("design", ["standard", "blocked", "clustered"])
def test_differential_attrition_is_the_itt_on_response(design: str) -> None:
    d = _att_data()
    kwargs: dict = {}
    if design == "blocked":
        kwargs["strata"] = "site"
    if design == "clustered":
        d["office"] = [f"{a}-{i % 12}" for a, i in zip(d["arm"], range(len(d)), strict=True)]
        kwargs["cluster"] = "office"
    att = attrition(d, assigned="arm", responded="responded", **kwargs)
    ref = itt(d, outcome="responded", assigned="arm", **kwargs)
    assert att.differential.estimate == pytest.approx(ref.estimate, rel=EXACT)
    assert att.differential.std_error == pytest.approx(ref.std_error, rel=EXACT)
    assert att.differential.df == pytest.approx(ref.df, rel=EXACT)
    assert att.differential.design == ref.design == design
    assert att.differential.se_type == {"standard": "HC2", "blocked": "neyman (blocked)",
                                        "clustered": "CR2"}[design]
    assert att.differential.outcome == "responded"
    if design == "standard":
        rates = d.groupby("arm")["responded"].mean()
        assert att.differential.estimate == pytest.approx(rates["treatment"] - rates["control"])
    t = att.tests()
    assert list(t.columns) == TEST_COLUMNS
    assert t.loc[0, "statistic"] == pytest.approx(att.differential.statistic**2)
    assert t.loc[0, "p_value"] == pytest.approx(att.differential.p_value, rel=1e-10)
    assert t.loc[0, "p_value"] == pytest.approx(
        stats.f.sf(t.loc[0, "statistic"], 1, t.loc[0, "df_denom"]), rel=1e-8)


def _sm_design(d: pd.DataFrame, strata: bool) -> tuple[np.ndarray, int]:
    z = (d["arm"] == "treatment").to_numpy(dtype=float)
    x = pd.DataFrame({"age": d["age"], "benefit[JSA]": (d["benefit"] == "JSA") * 1.0,
                      "benefit[UC]": (d["benefit"] == "UC") * 1.0})
    xc = (x - x.mean()).to_numpy()
    cols = [np.ones(len(d)), z, xc, xc * z[:, None]]
    if strata:
        cols += [(d["site"] == s).to_numpy(dtype=float) for s in ("south", "wales")]
    return np.column_stack(cols), x.shape[1]


@pytest.mark.parametrize("strata", [False, True], ids=["no strata", "strata"])
def test_covariate_f_tests_match_statsmodels_hc2(strata: bool) -> None:
    d = _att_data()
    att = attrition(d, assigned="arm", responded="responded", covariates=["age", "benefit"],
                    strata="site" if strata else None)
    X, q = _sm_design(d, strata)
    fit = sm.OLS(d["responded"].to_numpy(dtype=float), X).fit(cov_type="HC2")
    k = X.shape[1]
    r_int = np.zeros((q, k))
    r_int[:, 2 + q: 2 + 2 * q] = np.eye(q)
    r_all = np.zeros((2 * q, k))
    r_all[:, 2: 2 + 2 * q] = np.eye(2 * q)
    for res, R in ((att.interaction_test, r_int), (att.covariate_test, r_all)):
        w = fit.wald_test(R, use_f=True, scalar=True)
        assert res.statistic == pytest.approx(float(w.statistic), rel=SM_RTOL)
        assert res.df_denom == pytest.approx(float(w.df_denom), rel=EXACT)
        assert res.df_num == int(w.df_num)
        assert res.p_value == pytest.approx(float(w.pvalue), rel=1e-7)
        assert res.se_type == "HC2"
    assert att.interaction_test.terms == ("assigned:age", "assigned:benefit[JSA]",
                                          "assigned:benefit[UC]")


def test_clustered_covariate_tests_use_cr2_with_g_minus_1_df() -> None:
    d = _att_data()
    d["office"] = [f"{a}-{i % 12}" for a, i in zip(d["arm"], range(len(d)), strict=True)]
    att = attrition(d, assigned="arm", responded="responded", covariates=["age"], cluster="office")
    assert att.interaction_test.se_type == "CR2" and att.interaction_test.df_denom == 23
    assert att.differential.se_type == "CR2"


def _glm_weights(d: pd.DataFrame, arm: str, stabilise: bool) -> np.ndarray:
    sub = d[d["arm"] == arm]
    X = sm.add_constant(np.column_stack([sub["age"], (sub["benefit"] == "JSA") * 1.0,
                                         (sub["benefit"] == "UC") * 1.0]))
    p = sm.GLM(sub["responded"], X, family=sm.families.Binomial()).fit().predict(X)
    w = np.where(sub["responded"] == 1, 1 / p, 0.0)
    return w * sub["responded"].mean() if stabilise else w


@pytest.mark.parametrize("stabilise", [False, True])
def test_weights_match_statsmodels_glm_binomial(stabilise: bool) -> None:
    d = _att_data()
    d.index = d.index * 3 + 7  # weights align with any index
    att = attrition(d, assigned="arm", responded="responded", covariates=["age", "benefit"],
                    stabilise=stabilise)
    w = att.weights
    assert w.index.equals(d.index)
    for arm in ("control", "treatment"):
        got = w[d["arm"] == arm].to_numpy()
        assert got == pytest.approx(_glm_weights(d, arm, stabilise), rel=LOGIT_RTOL)
    assert (w[d["responded"] == 0] == 0).all()
    # the logit's score equation: the weights of an arm's responders sum to about its size
    if not stabilise:
        for _, g in d.groupby("arm"):
            assert w[g.index].sum() == pytest.approx(len(g), rel=0.05)


def test_weights_of_other_arms_are_missing_and_counted() -> None:
    d = _att_data()
    d.loc[d.index[:30], "arm"] = "other"
    att = attrition(d, assigned="arm", responded="responded", treatment="treatment")
    assert att.weights[d["arm"] == "other"].isna().all()
    assert att.weights[d["arm"] != "other"].notna().all()
    assert att.n_other_arms == 30
    assert "30 row(s) in other arms have no weight" in att.summary()


def test_weights_without_covariates_invert_the_arm_rate() -> None:
    d = _att_data()
    att = attrition(d, assigned="arm", responded="responded")
    for _, g in d.groupby("arm"):
        rate = g["responded"].mean()
        resp = g.index[g["responded"] == 1]
        assert att.weights[resp].to_numpy() == pytest.approx(1 / rate, rel=EXACT)
        assert att.weights[g.index].sum() == pytest.approx(len(g), rel=EXACT)


def test_covariate_constant_within_an_arm_is_an_error() -> None:
    d = _att_data()
    d["flag"] = np.where(d["arm"] == "control", 0.0, (np.arange(len(d)) % 2) * 1.0)
    with pytest.raises(DesignError, match=(
            r"attrition: covariate 'flag' is constant in the 'control' arm \('flag'\), so "
            r"neither whether it predicts response differently by arm nor .*Fix: drop it"
    )):
        attrition(d, assigned="arm", responded="responded", covariates=["age", "flag"])
    d["region"] = np.where(d["arm"] == "treatment", d["site"], "north")
    with pytest.raises(DesignError, match=r"attrition: covariate 'region' is constant in the "
                                          r"'control' arm \('region\[south\]'\)"):
        attrition(d, assigned="arm", responded="responded", covariates=["region"])


def test_summary_says_whether_attrition_is_differential() -> None:
    diff = attrition(_att_data(n=2000, r_t=0.85, r_c=0.6), assigned="arm", responded="responded",
                     covariates=["age"])
    assert diff.is_differential
    assert "attrition is differential" in diff.summary()
    assert re.search(r"covariates x arm F\(1, 1,99\d\)", diff.summary())
    same = attrition(_att_data(n=600, r_t=0.7, r_c=0.7, seed=8), assigned="arm",
                     responded="responded")
    assert not same.is_differential
    assert "not detectably differential" in same.summary()
    assert isinstance(same, Attrition) and repr(same).startswith("<Attrition responded:")
    assert "<table" in same._repr_html_()
    ax = same.plot()
    assert ax.get_yticklabels()[0].get_text() == "control"
    assert alt_text_of(ax.figure) == same.alt_text()
    assert same.alt_text().startswith("Response rate (responded) by arm with Wilson 95% intervals: ")
    assert f"control {percent(same.response_rate['control'])} [" in same.alt_text()
    with pytest.raises(AttributeError):
        same.alpha = 0.1  # type: ignore[misc]
    w = same.weights
    w.iloc[0] = -5.0
    assert same.weights.iloc[0] != -5.0  # a copy


@given(st.integers(0, 2**32 - 1), st.integers(10, 80), st.integers(10, 80))
def test_attrition_counts_and_weight_sums(seed: int, n_t: int, n_c: int) -> None:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"arm": np.r_[np.repeat("treatment", n_t), np.repeat("control", n_c)]})
    d["responded"] = (rng.random(len(d)) < 0.6).astype(int)
    d.loc[[0, n_t], "responded"] = 1
    att = attrition(d, assigned="arm", responded="responded", stabilise=True)
    f = att.to_frame().set_index("arm")
    assert f.loc["treatment", "n"] == n_t and f.loc["control", "n"] == n_c
    assert f["n_responded"].sum() == d["responded"].sum()
    # stabilised weights without covariates: 1 for responders, so they sum to the responders
    for _, g in d.groupby("arm"):
        assert att.weights[g.index].sum() == pytest.approx(g["responded"].sum(), rel=1e-12)
    ctrl = f.loc["control"]
    assert ctrl["conf_low"] <= ctrl["response_rate"] <= ctrl["conf_high"]


def test_attrition_errors() -> None:
    d = _att_data()
    with pytest.raises(ColumnError, match=r"attrition: column 'responded' \(responded\) must hold "
                                          r"0/1 values\. Got 2 among its values\. Fix: recode"):
        attrition(d.assign(responded=d["responded"] * 2), assigned="arm", responded="responded")
    with pytest.raises(MissingDataError, match=(
            r"attrition: column 'responded' \(responded\) has 1 missing value\(s\) among the "
            r"600 rows of the compared arms \(first at rows 0\)\. Fix: record 0"
    )):
        attrition(d.assign(responded=d["responded"].where(d.index != 0)), assigned="arm",
                  responded="responded")
    with pytest.raises(OptionError, match=r"The 'stabilise' parameter of attrition must be True or "
                                          r"False\. Got 'yes' instead\."):
        attrition(d, assigned="arm", responded="responded",
                  stabilise="yes")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"The 'responded' parameter of attrition names column "
                                          r"'flag', which is also the assigned, strata or cluster "
                                          r"column\."):
        attrition(d.assign(flag=d["responded"]), assigned="arm", responded="flag", strata="flag")
    with pytest.raises(DesignError, match=r"attrition: nobody in the 'control' arm responded "
                                          r"\(column 'responded'\), so there is nothing to weight"):
        attrition(d.assign(responded=np.where(d["arm"] == "control", 0, d["responded"])),
                  assigned="arm", responded="responded")
    with pytest.raises(DesignError, match=r"attrition: the covariates are collinear: 'age2' can be "
                                          r"written as a combination"):
        attrition(d.assign(age2=2 * d["age"]), assigned="arm", responded="responded",
                  covariates=["age", "age2"])
    with pytest.raises(DesignError, match=r"attrition: covariate 'one' is constant \(1\) in the "
                                          r"analysis sample"):
        attrition(d.assign(one=1.0), assigned="arm", responded="responded", covariates=["one"])
    with pytest.raises(DesignError, match=r"attrition: the covariates predict response \(almost\) "
                                          r"perfectly in the 'control' arm.*Fix: use fewer or "
                                          r"coarser covariates"):
        attrition(d.assign(sep=d["responded"] * 1.0), assigned="arm", responded="responded",
                  covariates=["sep"])
    with pytest.raises(MissingDataError, match=r"attrition: column 'age' \(covariates\) has 1 "
                                               r"missing value"):
        attrition(d.assign(age=d["age"].where(d.index != 2)), assigned="arm",
                  responded="responded", covariates=["age"])
    with pytest.raises(ColumnError, match=r"attrition: column 'resp' \(responded\) is not in the "
                                          r"data\. Did you mean 'responded'\?"):
        attrition(d, assigned="arm", responded="resp")
    with pytest.raises(DesignError, match=(
            r"attrition: the control arm 'BAU' is not in column 'arm'"
    )):
        attrition(d, assigned="arm", responded="responded", control="BAU")
    with pytest.raises(OptionError, match=r"The 'alpha' parameter of attrition must be a float in "
                                          r"\(0, 1\)\. Got 0 instead\."):
        attrition(d, assigned="arm", responded="responded", alpha=0)


def test_covariates_collinear_within_one_arm_only() -> None:
    # 'x2' duplicates 'x1' in the treatment arm only: the pooled additive model would
    # be of full rank, the arm-by-covariate model (and that arm's logit) is not
    d = _att_data()
    d["x1"] = np.arange(len(d)) % 5 * 1.0
    d["x2"] = np.where(d["arm"] == "treatment", d["x1"], (np.arange(len(d)) % 3) * 1.0)
    with pytest.raises(DesignError, match=r"attrition: the covariates are collinear: 'x2' can be "
                                          r"written as a combination of the other columns"):
        attrition(d, assigned="arm", responded="responded", covariates=["x1", "x2"])


# ======================================================================= attrition: Monte Carlo

SIZE_SIMS = 400


@pytest.mark.slow
def test_attrition_tests_reject_at_their_level_under_equal_response() -> None:
    """Response depends on age the same way in both arms: neither the difference in
    response rates nor the covariates-by-arm F test should reject more than alpha."""
    seeds = np.random.SeedSequence(2004).spawn(SIZE_SIMS)
    rej_diff = rej_int = 0
    n = 400
    for ss in seeds:
        rng = np.random.default_rng(ss)
        z = rng.permutation(np.arange(n) < n // 2)
        age = rng.normal(40, 10, n)
        uc = (rng.random(n) < 0.5) * 1.0
        p = 1 / (1 + np.exp(-(0.7 + 0.04 * (age - 40) + 0.3 * uc)))
        s = rng.random(n) < p
        d = pd.DataFrame({"arm": np.where(z, "treatment", "control"), "r": s.astype(float)})
        rej_diff += itt(d, outcome="r", assigned="arm").p_value < 0.05
        cov = pd.DataFrame({"age": age, "uc": uc})
        _, inter = _covariate_tests(s, z, cov, {"age": "age", "uc": "uc"}, strata=None,
                                    cluster=None, func="test")
        rej_int += inter.p_value < 0.05
    lo, hi = binomial_band(0.05, SIZE_SIMS, significance=0.001)
    assert lo <= rej_diff / SIZE_SIMS <= hi, rej_diff
    assert lo <= rej_int / SIZE_SIMS <= hi, rej_int


@pytest.mark.slow
def test_weights_recover_the_arm_mean_under_response_at_random() -> None:
    """Outcome and response both depend on age: responders' mean is biased, the
    weighted mean is not (mean error within 4 Monte Carlo SEs of zero)."""
    errors_raw, errors_w = [], []
    for ss in np.random.SeedSequence(77).spawn(40):
        rng = np.random.default_rng(ss)
        n = 2000
        d = pd.DataFrame({"arm": np.repeat(["control", "treatment"], n // 2),
                          "age": rng.normal(40, 10, n)})
        y = 10 + 0.5 * (d["age"] - 40) + rng.normal(size=n)
        d["responded"] = (rng.random(n) < 1 / (1 + np.exp(-(0.5 + 0.08 * (d["age"] - 40))))) * 1
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            att = attrition(d, assigned="arm", responded="responded", covariates=["age"])
        c = (d["arm"] == "control").to_numpy()
        r = c & (d["responded"] == 1).to_numpy()
        truth = float(y[c].mean())
        errors_raw.append(float(y[r].mean()) - truth)
        errors_w.append(float(np.average(y[r], weights=att.weights[r])) - truth)
    e = np.asarray(errors_w)
    assert abs(e.mean()) <= 4 * e.std(ddof=1) / np.sqrt(len(e))
    assert np.mean(errors_raw) > 1.0  # the unweighted responders' mean is far off
