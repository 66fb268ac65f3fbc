"""Reforms over a caseload: +5 % riksnorm, rounded to whole tens of kronor as the norm is."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from wegweiser.rules import tables
from wegweiser.rules.errors import ParameterError
from wegweiser.rules.periods import Month
from wegweiser.rules.reform import compare, scale
from wegweiser.rulesets import get

MONTH = Month(2026, 1)


def test_five_percent_riksnorm_over_a_small_caseload() -> None:
    ruleset = get("se.ekonomiskt_bistand")
    reform = scale(ruleset.parameters, MONTH, "riksnorm.", Fraction(105, 100), round_to=1000)
    values = reform.at(MONTH).values
    assert values["riksnorm.personal.single_adult"] == 414000  # 3 940 × 1.05 = 4 137 → 4 140
    assert values["riksnorm.common.persons_1"] == 134000  # 1 280 × 1.05 = 1 344 → 1 340
    assert ruleset.parameters.at(Month(2025, 12)).values == reform.at(Month(2025, 12)).values
    households = {"household_id": np.array([1, 2, 3]),
                  "housing": np.array([500000, 500000, 700000])}
    persons = {"household_id": np.array([1, 2, 3, 3, 3]), "role": np.array([0, 0, 0, 0, 1]),
               "age": np.array([40, 70, 35, 33, 5]),
               "pension_net": np.array([0, 2000000, 0, 0, 0])}
    batch = tables.prepare(ruleset, households, persons)
    result = compare(ruleset, MONTH, batch, reform)
    assert result["households"] == 3
    assert result["better_off"] == 2 and result["worse_off"] == 0  # the pensioner stays at 0
    assert result["change"] == (414000 - 394000) + (134000 - 128000) + result["by_type"][
        "two_adults_children"]["change"]
    assert result["by_type"]["one_adult"]["households"] == 2
    assert result["cost_after"] - result["cost_before"] == result["change"]


def test_a_reform_must_touch_something() -> None:
    with pytest.raises(ParameterError, match="no money parameter"):
        scale(get("de.buergergeld").parameters, MONTH, "nothing.", Fraction(2))
