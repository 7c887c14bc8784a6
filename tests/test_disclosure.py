"""Disclosure control of published counts (suppression and rounding to base 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    rules = DisclosureRules(min_count=0, round_to=1)
    out = rules.apply(pd.DataFrame({"n": [1, 2, 3]}), counts=["n"])
    assert out["n"].tolist() == [1, 2, 3]
    assert not rules.active
    assert rules.describe() == "No disclosure control was applied to counts."


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
