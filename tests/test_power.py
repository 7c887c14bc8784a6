"""mde / sample_size / power / power_curve: results, summaries and pinned errors."""

from __future__ import annotations

import math

import matplotlib
import pytest
from scipy import stats

import dwp_eval.design.power as pw
from dwp_eval.design._power_variance import dunnett_critical
from dwp_eval.errors import ConvergenceError, OptionError
from dwp_eval.results import PowerCurve, PowerResult
from dwp_eval.results.palette import alt_text_of

matplotlib.use("Agg")


def test_issue_example_sentence() -> None:
    # the baseline convention (p0(1-p0) in both arms), computed by hand below
    res = pw.mde(n=3675, baseline_rate=0.2, take_up=0.65, contamination=0.05, outcome="employment",
                 binary_variance="baseline")
    first = res.summary().splitlines()[0]
    assert first == (
        "With 3,675 people, 1:1, 80% power and a 5% two-sided test, the smallest ITT effect you "
        "can detect on employment (base 20%) is 3.7 pp; for those who take up (65%) and allowing "
        "for 5% contamination, 6.16 pp."
    )
    # the baseline convention gives the issue's 3.7 pp / 6.2 pp
    assert round(100 * res.mde, 1) == 3.7 and round(100 * res.mde_cace, 1) == 6.2
    # by hand: (t_0.975 + t_0.8) on 3,673 df, sigma^2 = 0.2 x 0.8 in both arms
    se = math.sqrt(0.16 * (1 / 1838 + 1 / 1837))
    mult = stats.t.ppf(0.975, 3673) + stats.t.ppf(0.8, 3673)
    assert res.mde == pytest.approx(mult * se, rel=1e-12)
    # the variance under the alternative (p1 = p0 + ITT in treatment; the default) is larger
    unp = pw.mde(n=3675, baseline_rate=0.2, take_up=0.65, contamination=0.05)
    assert unp.binary_variance == "unpooled"
    assert round(100 * unp.mde, 2) == 3.82 and round(100 * unp.mde_cace, 2) == 6.37
    se = math.sqrt(0.16 / 1838 + (0.2 + unp.mde) * (0.8 - unp.mde) / 1837)
    assert unp.mde == pytest.approx(mult * se, rel=1e-12)


def test_result_fields() -> None:
    res = pw.mde(n=1000, sd=2.0, r2=0.3, take_up=0.8, contamination=0.1, attrition=0.2)
    assert isinstance(res, PowerResult)
    assert res.n == 1000 and res.n_per_arm == {"control": 500, "treatment": 500}
    assert res.n_clusters is None and res.n_clusters_per_arm is None
    assert res.n_analysed == pytest.approx(800)
    assert res.df == pytest.approx(800 - 2)
    se = math.sqrt(4 * 0.7 * (1 / 400 + 1 / 400))
    assert res.std_error == pytest.approx(se)
    assert res.mde == pytest.approx(res.multiplier * se)
    assert res.mde_cace == pytest.approx(res.mde / 0.7)
    assert res.power == 0.8 and res.target_power == 0.8 and res.solved_for == "mde"
    # echoes every input
    assert (res.sd, res.r2, res.take_up, res.contamination) == (2.0, 0.3, 0.8, 0.1)
    assert res.response_rate == {"control": 0.8, "treatment": 0.8}
    assert res.arms == {"control": 0.5, "treatment": 0.5} and res.method == "t"
    frame = res.to_frame()
    assert list(frame.columns) == [
        "term", "n", "n_treatment", "n_control", "n_clusters", "n_analysed", "mde", "mde_cace",
        "power", "std_error", "df", "multiplier", "alpha", "method", "design",
    ]
    assert frame.loc[0, "term"] == "treatment vs control"
    assert "<p><strong>With 1,000 people" in res._repr_html_()
    with pytest.raises(AttributeError):
        res.n = 5  # type: ignore[misc]


def test_cluster_result_and_eldridge_design_effect() -> None:
    res = pw.mde(n_clusters=40, cluster_size=50, icc=0.05, cluster_size_cv=0.6, sd=1.0)
    assert res.n == 2000 and res.n_clusters == 40
    assert res.n_clusters_per_arm == {"control": 20, "treatment": 20}
    assert res.df == 38
    # Eldridge, Ashby & Kerry (2006): DE = 1 + ((1 + cv^2) m - 1) icc
    de = 1 + ((1 + 0.6**2) * 50 - 1) * 0.05
    se = math.sqrt(de * (1 / 1000 + 1 / 1000))
    assert res.std_error == pytest.approx(se)
    assert "clusters        40 (control 20, treatment 20); mean size 50" in res.summary()


def test_sample_size_and_power_summaries() -> None:
    res = pw.sample_size(mde=0.1, baseline_rate=0.2, take_up=0.65, outcome="employment", scale="cace")
    assert res.solved_for == "n" and res.effect == 0.1 and res.scale == "cace"
    assert res.mde == pytest.approx(0.065)
    assert res.power >= 0.8 and res.unrounded is not None and res.n >= res.unrounded
    assert res.summary().startswith("To detect an ITT effect of 6.5 pp on employment (base 20%)")
    p = pw.power(effect=0.05, n=2000, baseline_rate=0.3)
    assert p.solved_for == "power" and p.target_power is None
    assert p.summary().startswith("With 2,000 people, 1:1, and a 5% two-sided test, the power")


def test_multi_arm_corrections() -> None:
    one = pw.mde(n=2000)
    bonf = pw.mde(n=3000, arms=3)
    dun = pw.mde(n=3000, arms=3, correction="dunnett")
    holm = pw.mde(n=3000, arms=3, correction="holm")
    assert holm.mde == bonf.mde  # Holm's power for one comparison: Bonferroni's (conservative)
    assert one.mde < dun.mde < bonf.mde
    assert len(dun.to_frame()) == 2
    # Dunnett's two-sided 5% critical value for 2 treatments vs control, df = inf: 2.212
    crit = dunnett_critical(0.05, (0.5, 0.5), math.inf, True)
    assert crit == pytest.approx(2.2121, abs=1e-4)
    unequal = pw.mde(n=4000, arms={"control": 2, "a": 1, "b": 1})
    assert unequal.n_per_arm == {"control": 2000, "a": 1000, "b": 1000}


def test_dunnett_matches_multivariate_normal() -> None:

    lam = (0.4, 0.6)
    c = dunnett_critical(0.05, lam, math.inf, True)
    r = math.sqrt(lam[0] * lam[1])
    # a seeded frozen distribution: cdf(rng=) is SciPy >= 1.15 only
    mvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]], seed=1)
    cdf = mvn.cdf([c, c], lower_limit=[-c, -c])
    assert cdf == pytest.approx(0.95, abs=2e-5)


def test_power_curve() -> None:
    curve = pw.power_curve(effect=[0.03, 0.05], n=[500, 1000, 2000], baseline_rate=0.3)
    assert isinstance(curve, PowerCurve)
    f = curve.to_frame()
    assert list(f.columns) == ["n", "n_clusters", "effect", "effect_itt", "effect_cace", "power"]
    assert len(f) == 6
    assert curve.x == "n"
    ax = curve.plot()
    assert ax.get_xlabel() == "n"
    assert alt_text_of(ax.figure) == curve.alt_text()
    assert curve.alt_text().startswith("Power against n from 500 to 2000 (6 points)")
    assert pw.power_curve(effect=[0.1, 0.2, 0.3], n=400).x == "effect"


# ---------------------------------------------------------------- pinned errors

ERRORS = [
    (dict(n=100, alpha=2), OptionError, r"The 'alpha' parameter of mde must be a float in \(0, 1\)\. Got 2 instead\."),
    (dict(n=100, power=1.5), OptionError, r"The 'power' parameter of mde must be a float in \(0, 1\)\. Got 1\.5 instead\."),
    (dict(n=100, method="exact"), OptionError, r"The 'method' parameter of mde must be one of 't', 'noncentral_t', 'normal'\. Got 'exact' instead\."),
    (dict(n=100, correction="bonferonni"), OptionError, r"Did you mean 'bonferroni'\?"),
    (dict(n=100, sd=1, baseline_rate=0.2), OptionError, r"mde: give either 'sd' \(continuous outcome\) or 'baseline_rate' \(binary outcome\), not both"),
    (dict(n=100, cluster_size=20), OptionError, r"mde: a cluster design needs both 'cluster_size' and 'icc'; got cluster_size without icc"),
    (dict(n=100, ratio=0.3, arms=3), OptionError, r"mde: give either 'ratio' \(two arms\) or 'arms'"),
    (dict(n=100, arms=["only"]), OptionError, r"The 'arms' parameter of mde must be the number of arms \(>= 2\)"),
    (dict(n=100, attrition=0.1, response_rate=0.8), OptionError, r"mde: give either 'attrition' or 'response_rate'"),
    (dict(n=100, attrition={"control": 0.1}), OptionError, r"must give one rate for every arm \('control', 'treatment'\)\. Missing arm\(s\): 'treatment'\."),
    (dict(n=100, n_clusters=10, cluster_size=10, icc=0.1), OptionError, r"mde: give either 'n' \(people\) or 'n_clusters', not both"),
    (dict(), OptionError, r"mde: the sample is missing\. Fix: pass n="),
    (dict(n_clusters=10), OptionError, r"mde: 'n_clusters' needs a cluster design"),
    (dict(n=105, cluster_size=10, icc=0.1), OptionError, r"n=105 is not a whole number of clusters of size 10"),
    (dict(n=100.5), OptionError, r"The 'n' parameter of mde must be an int >= 2\. Got 100\.5 instead\."),
    (dict(n=100, r2_cluster=0.3), OptionError, r"'r2_cluster' and 'cluster_size_cv' apply to cluster designs only"),
    (dict(n=100, take_up=0.3, contamination=0.3), ConvergenceError, r"mde: take_up \(0\.3\) must exceed contamination \(0\.3\)"),
    (dict(n=100, power=0.04), ConvergenceError, r"mde: power \(0\.04\) must exceed alpha \(0\.05\)"),
    (dict(n_clusters=2, cluster_size=20, icc=0.1), ConvergenceError, r"mde: the design is too small: 2 clusters leave 0 degrees of freedom after 2 arms x 1 strata and 0 covariates; at least 3 clusters are needed\."),
    (dict(n=10, baseline_rate=0.9), ConvergenceError, r"no detectable effect: even a rise from 0\.9 to 1 \(searched ITT effects in \(0, 0\.1\)\)"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), ERRORS)
def test_errors(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        pw.mde(**kwargs)


def test_solver_errors() -> None:
    with pytest.raises(ConvergenceError, match=r"sample_size: no sample size reaches 0\.8 power for an ITT effect of 1e-05: searched 3 to 1e\+09 people\."):
        pw.sample_size(mde=1e-5)
    with pytest.raises(OptionError, match=r"The 'mde' parameter of sample_size is a difference in rates"):
        pw.sample_size(mde=0.9, baseline_rate=0.3)
    with pytest.raises(OptionError, match=r"The 'mde' parameter of sample_size must be a non-zero number\. Got 0 instead\."):
        pw.sample_size(mde=0)
    with pytest.raises(OptionError, match=r"power_curve got unknown design option\(s\) 'icc_'\. Did you mean 'icc'\?"):
        pw.power_curve(effect=0.1, n=[100, 200], icc_=0.1)


def test_power_at_zero_effect_is_alpha() -> None:
    for method in ("noncentral_t", "normal"):
        assert pw.power(effect=0, n=200, method=method).power == pytest.approx(0.05)


def test_design_options_are_defined_once() -> None:
    """mde, sample_size, power and power_curve share one keyword-only design signature:
    DesignOptions (names, types, documentation) with DEFAULTS, shown in each signature."""
    import inspect

    from dwp_eval.design._power_design import DEFAULTS, DesignOptions

    assert list(DesignOptions.__annotations__) == list(DEFAULTS)
    for func in (pw.mde, pw.sample_size, pw.power, pw.power_curve):
        params = inspect.signature(func).parameters
        assert {k: params[k].default for k in DEFAULTS} == dict(DEFAULTS)
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert inspect.signature(pw.mde).parameters["power"].default == 0.8
    assert inspect.signature(pw.sample_size).parameters["power"].default == 0.8


def test_unknown_option_names_the_closest() -> None:
    with pytest.raises(OptionError, match=r"mde got unknown design option\(s\) 'n_cluster'\. Did you mean 'n_clusters'\?"):
        pw.mde(n_cluster=10)  # type: ignore[call-arg]
    with pytest.raises(OptionError, match=r"sample_size got unknown design option\(s\) 'baseline'\. Did you mean 'baseline_rate'\?"):
        pw.sample_size(mde=0.1, baseline=0.2)  # type: ignore[call-arg]
