"""Disclosure control of published counts (suppression and rounding to base 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dwp_eval._core.proportion import wilson_interval
from dwp_eval.errors import OptionError
from dwp_eval.report.disclosure import DisclosureRules


def test_suppresses_small_counts_and_rounds_the_rest_to_base_5() -> None:
    rules = DisclosureRules(min_count=10, round_to=5)
    frame = pd.DataFrame({"n": [0, 1, 9, 10, 12, 13, 1002, 1003], "x": np.arange(8.0)})
    out = rules.apply(frame, counts=["n"])
    assert out["n"].tolist() == [0, "[c]", "[c]", 10, 10, 15, 1000, 1005]
    assert out["x"].tolist() == list(np.arange(8.0))  # not a count: untouched
    assert out.attrs["suppressed"] == 2
    assert out.attrs["rounded"] == 4  # 12, 13, 1002, 1003
    assert frame["n"].tolist()[1] == 1  # the input is not changed


def test_rates_computed_from_a_suppressed_count_are_suppressed_too() -> None:
    rules = DisclosureRules()
    frame = pd.DataFrame({"n": [200, 150], "n_flagged": [4, 30], "rate": [0.02, 0.2]})
    out = rules.apply(frame, counts=["n", "n_flagged"], rates={"rate": "n_flagged"})
    assert out["rate"].tolist() == ["[c]", 0.2]
    assert out["n_flagged"].tolist() == ["[c]", 30]


def test_rates_beside_rounded_counts_are_rounded_to_whole_points() -> None:
    # 21 of 365 is 5.7534%: with n shown as 365 and the exact rate, 21 could be read back
    frame = pd.DataFrame({"n": [365], "n_flagged": [21], "rate": [21 / 365]})
    out = DisclosureRules().apply(frame, counts=["n", "n_flagged"], rates={"rate": "n_flagged"})
    assert out["rate"].tolist() == [0.06]
    exact = DisclosureRules(round_to=1).apply(frame, counts=["n_flagged"], rates={"rate": "n_flagged"})
    assert exact["rate"].tolist() == [21 / 365]


def test_zero_suppression_and_no_rounding() -> None:
    rules = DisclosureRules(min_count=5, round_to=1, suppress_zero=True, suppressed="*")
    out = rules.apply(pd.DataFrame({"n": [0, 4, 5, 7]}), counts=["n"])
    assert out["n"].tolist() == ["*", "*", 5, 7]
    assert "zeros" in rules.describe()


def test_off_rules_change_nothing_and_say_so() -> None:
    # the dominance rules for magnitudes are separate switches from the count rules
    counts_off = DisclosureRules(min_count=0, round_to=1)
    assert counts_off.active and "p% rule" in counts_off.describe()
    rules = DisclosureRules(min_count=0, round_to=1, p_percent=0, nk_rule=(0, 0))
    out = rules.apply(pd.DataFrame({"n": [1, 2, 3]}), counts=["n"])
    assert out["n"].tolist() == [1, 2, 3]
    assert not rules.active
    assert rules.describe() == "No disclosure control was applied."


def test_describe_states_the_rules() -> None:
    text = DisclosureRules(min_count=10, round_to=5).describe()
    assert "below 10 are suppressed ([c])" in text
    assert "nearest 5" in text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_count": -1}, "'min_count' parameter of DisclosureRules must be a non-negative int"),
        ({"round_to": 0}, "'round_to' parameter of DisclosureRules must be at least 1"),
        ({"min_count": 2.5}, "'min_count' parameter of DisclosureRules must be a non-negative int"),
    ],
)
def test_bad_rules(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(OptionError, match=match):
        DisclosureRules(**kwargs)  # type: ignore[arg-type]


def test_non_integer_counts_are_refused() -> None:
    with pytest.raises(OptionError, match="is not a whole number"):
        DisclosureRules().apply(pd.DataFrame({"n": [1.5]}), counts=["n"])


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=1, max_value=20))
def test_rounding_goes_to_the_nearest_multiple(count: int, base: int) -> None:
    out = DisclosureRules(min_count=0, round_to=base).protect(count)
    assert out % base == 0
    assert abs(out - count) <= base / 2


@given(st.integers(min_value=0, max_value=10**6))
def test_no_published_count_is_below_the_threshold(count: int) -> None:
    out = DisclosureRules(min_count=10, round_to=5).protect(count)
    assert out == "[c]" or out == 0 or out >= 10


# ---------------------------------------------------------------- proportions, secondary, dominance

RATE_SPEC = {"proportions": {"rate": ("n", "n_flagged")},
             "intervals": {"conf_low_rate": "rate", "conf_high_rate": "rate"}}


def test_a_binary_mean_of_a_small_count_is_suppressed_not_published_unrounded() -> None:
    # issue 14: a 40-person subgroup showed control 31.2% (= 5 of 16), treatment 12.0% (3 of 25)
    frame = pd.DataFrame({"subgroup": ["mid"], "n_obs": [41], "n_control": [16],
                          "n_treatment": [25], "control_mean": [5 / 16],
                          "treatment_mean": [3 / 25]})
    out, log = DisclosureRules().control(
        frame, counts=["n_obs", "n_control", "n_treatment"],
        proportions={"control_mean": ("n_control", None),
                     "treatment_mean": ("n_treatment", None)}, table="subgroups")
    assert out["control_mean"].tolist() == ["[c]"]
    assert out["treatment_mean"].tolist() == ["[c]"]
    assert set(log["rule"]) == {"proportion"}
    assert log["reason"].str.contains("below 10").all()


def test_a_rate_whose_complement_is_small_is_suppressed_with_its_count() -> None:
    # 36 of 40 flagged: the 4 not flagged would be n - n_flagged
    frame = pd.DataFrame({"n": [40, 400], "n_flagged": [36, 120], "rate": [0.9, 0.3],
                          "conf_low_rate": [0.77, 0.26], "conf_high_rate": [0.96, 0.35]})
    out, log = DisclosureRules().control(frame, counts=["n", "n_flagged"], **RATE_SPEC)
    assert out["rate"].tolist()[0] == "[c]"
    assert out["n_flagged"].tolist()[0] == "[c]"
    assert out["conf_low_rate"].tolist()[0] == "[c]"
    assert "complement" in " ".join(log["reason"])


def test_rates_are_computed_from_the_published_counts() -> None:
    # 31 of 365: the rate from the rounded counts (30 / 365) gives back only the published 30
    frame = pd.DataFrame({"n": [365], "n_flagged": [31], "rate": [31 / 365],
                          "conf_low_rate": [0.0], "conf_high_rate": [1.0], "alpha": [0.05]})
    out, _ = DisclosureRules().control(frame, counts=["n", "n_flagged"], **RATE_SPEC)
    assert out["n_flagged"].tolist() == [30]
    assert out["rate"].tolist() == [round(30 / 365, 2)]
    lo, hi = wilson_interval(np.array([30]), np.array([365]), 0.05)
    assert out["conf_low_rate"].tolist() == [round(float(lo[0]), 2)]
    assert out["conf_high_rate"].tolist() == [round(float(hi[0]), 2)]


@given(st.integers(0, 400), st.integers(1, 400), st.sampled_from([1, 3, 5, 10]))
def test_a_published_rate_times_the_published_n_reveals_no_small_count(
    k: int, n: int, base: int
) -> None:
    k = min(k, n)
    rules = DisclosureRules(min_count=10, round_to=base)
    frame = pd.DataFrame({"n": [n], "n_flagged": [k], "rate": [k / n]})
    out, _ = rules.control(frame, counts=["n", "n_flagged"], **RATE_SPEC)
    rate = out["rate"].iloc[0]
    if rate == "[c]":
        return
    assert not (0 < k < 10) and not (0 < n - k < 10)
    if base > 1:  # nothing beyond the published counts
        assert rate == round(rules.protect(k) / rules.protect(n), 2)


def test_one_suppressed_cell_in_a_published_total_gets_a_complement() -> None:
    frame = pd.DataFrame({"site": list("ABCDE"), "n": [3, 120, 45, 80, 500]})
    out, log = DisclosureRules(round_to=1).control(frame, counts=["n"], margins=[range(5)],
                                                   table="sites")
    assert out["n"].tolist() == ["[c]", 120, "[c]", 80, 500]  # C, the smallest other
    assert log[["row", "rule"]].values.tolist() == [["A", "threshold"], ["C", "secondary"]]
    off, _ = DisclosureRules(round_to=1, secondary=False).control(
        frame, counts=["n"], margins=[range(5)])
    assert off["n"].tolist() == ["[c]", 120, 45, 80, 500]


def test_a_complement_too_close_to_the_threshold_is_not_enough() -> None:
    # A (1) and B (10) withheld: the total minus the rest is 11, and B >= 10 gives A = 1
    frame = pd.DataFrame({"site": list("ABCD"), "n": [1, 10, 30, 400]})
    out, _ = DisclosureRules(round_to=1).control(frame, counts=["n"], margins=[range(4)])
    assert out["n"].tolist() == ["[c]", "[c]", "[c]", 400]


def test_a_row_total_with_one_suppressed_part_gets_a_complement() -> None:
    frame = pd.DataFrame({"n_obs": [90], "n_control": [4], "n_treatment": [86]})
    out, log = DisclosureRules().control(
        frame, counts=["n_obs", "n_control", "n_treatment"],
        row_totals={"n_obs": ["n_control", "n_treatment"]})
    assert out["n_control"].tolist() == ["[c]"]
    assert out["n_treatment"].tolist() == ["[c]"]
    assert "n_obs minus" not in " ".join(log["reason"])
    assert "secondary" in set(log["rule"])


def _feasible(values: list[int], hidden: list[bool], small: list[bool], t: int) -> list[set[int]]:
    """Exact integer feasibility, independent of the library: the values each withheld
    small cell can take, given the exact total, the published cells, and that withheld
    small cells are 1..t-1 and other withheld cells at least t."""
    total = sum(v for v, h in zip(values, hidden, strict=True) if h)
    idx = [i for i, h in enumerate(hidden) if h]
    out = []
    for i in idx:
        if not small[i]:
            out.append(set())
            continue
        sums = {0}
        for j in idx:
            if j == i:
                continue
            rng = range(1, t) if small[j] else range(t, total + 1)
            sums = {s + r for s in sums for r in rng if s + r <= total}
        out.append({x for x in range(1, t) if total - x in sums})
    return out


@given(st.lists(st.integers(0, 40), min_size=2, max_size=6))
def test_no_suppressed_cell_is_recoverable_from_a_published_margin(values: list[int]) -> None:
    t = 10
    frame = pd.DataFrame({"cell": [f"c{i}" for i in range(len(values))], "n": values})
    out, log = DisclosureRules(min_count=t, round_to=1).control(
        frame, counts=["n"], margins=[range(len(values))])
    hidden = [v == "[c]" for v in out["n"]]
    small = [0 < v < t for v in values]
    assert all(h for h, s in zip(hidden, small, strict=True) if s)
    total_flagged = (log["rule"] == "total").any()
    if total_flagged:
        # nothing but withholding the total can protect the cells (every other is 0 or
        # withheld): the log says so, and the total's own table must withhold it
        assert all(h or v == 0 for h, v in zip(hidden, values, strict=True))
    else:
        for i, feasible in zip([i for i, h in enumerate(hidden) if h],
                               _feasible(values, hidden, small, t), strict=True):
            if small[i]:  # the published figures say no more than "from 1 to 9"
                assert feasible == set(range(1, t)), (values, out["n"].tolist(), feasible)
    assert int((log["rule"] != "total").sum()) == sum(hidden)


def test_the_p_percent_and_nk_rules_flag_dominated_magnitude_cells() -> None:
    rules = DisclosureRules()
    even = np.full(40, 1000.0)
    one_big = np.r_[400_000.0, np.full(23, 1000.0)]
    two_big = np.r_[50_000.0, 48_000.0, np.full(20, 200.0)]  # p%: rest 4,000 < 5,000
    assert rules.dominated(even) is None
    assert "(n, k) rule" in str(rules.dominated(one_big))
    assert "p% rule" in str(DisclosureRules(nk_rule=(0, 0)).dominated(two_big))
    assert "contributors" in str(rules.dominated(np.full(6, 10.0)))
    frame = pd.DataFrame({"arm": ["a", "b"], "mean": [1000.0, one_big.mean()]})
    out, log = rules.control(frame, counts=[], magnitudes={"mean": [even, one_big]})
    assert out["mean"].tolist() == [1000.0, "[c]"]
    assert log["rule"].tolist() == ["dominance"]


def test_estimates_with_few_residual_degrees_of_freedom_are_withheld() -> None:
    frame = pd.DataFrame({"outcome": ["y", "y"], "estimate": [0.3, 0.1], "df": [8.0, 500.0]})
    out, log = DisclosureRules().control(frame, counts=[], estimates={"df": ["estimate"]})
    assert out["estimate"].tolist() == ["[c]", 0.1]
    assert log["rule"].tolist() == ["degrees of freedom"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_percent": 100}, r"'p_percent' parameter of DisclosureRules must be a number in \[0, 100\)"),
        ({"p_percent": "10"}, "'p_percent' parameter"),
        ({"nk_rule": (2, 0)}, r"'nk_rule' parameter of DisclosureRules must be a pair \(n, k\)"),
        ({"nk_rule": (2.5, 90)}, "'nk_rule' parameter"),
        ({"secondary": 1}, "'secondary' parameter of DisclosureRules must be True or False"),
    ],
)
def test_bad_dominance_and_secondary_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(OptionError, match=match):
        DisclosureRules(**kwargs)  # type: ignore[arg-type]


def test_binary_must_have_one_entry_per_row() -> None:
    with pytest.raises(OptionError, match="'binary' has 1 entries for a table of 2 rows"):
        DisclosureRules().control(pd.DataFrame({"n": [10, 20]}), counts=["n"], binary=[True])


def test_the_plan_reads_and_checks_the_new_disclosure_keys() -> None:
    from dwp_eval.report.plan import AnalysisPlan, PlanError

    base = {"design": {"assigned": "arm"}, "outcomes": {"primary": ["y"]}}
    plan = AnalysisPlan.from_dict({**base, "disclosure": {
        "p_percent": 15, "nk_n": 3, "nk_k": 80, "secondary": False, "suppress_zero": True,
        "rate_decimals": 3}})
    rules = plan.disclosure
    assert (rules.p_percent, rules.nk_rule, rules.secondary, rules.suppress_zero,
            rules.rate_decimals) == (15, (3, 80.0), False, True, 3)
    with pytest.raises(PlanError, match=r"\[disclosure\]: The 'p_percent' parameter of "
                                        r"DisclosureRules must be a number in \[0, 100\)"):
        AnalysisPlan.from_dict({**base, "disclosure": {"p_percent": 150}})
    with pytest.raises(PlanError, match=r"'nk_rule' parameter .*\(nk_rule is written as "
                                        r"nk_n and nk_k\)"):
        AnalysisPlan.from_dict({**base, "disclosure": {"nk_n": 2, "nk_k": 0}})
