"""The automation policy: what may be decided without a person. A rejection or a reduction
against last month is never automatic, whatever the agency's settings."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wegweiser.benefits.policy import AutomationPolicy, Previous, changed_fields, reasons_for_a_person

OPEN = AutomationPolicy(enabled=True, repeat_only=True, max_change_percent=5,
                        allow_household_change=False, require_receipts=True)
LAST_MONTH: dict[str, Any] = {
    "persons": [{"id": "a", "role": "adult", "age": 34, "income": {"salary_net": 400000}},
                {"id": "c", "role": "child", "age": 8}],
    "costs": {"housing": 650000, "household_electricity": 30000},
    "benefits": {"child_allowance": 125000}, "months_on_support": 7,
}


def codes(household: dict[str, Any], amount: int = 900000, previous: int = 900000, receipts: int = 2,
          policy: AutomationPolicy = OPEN, first: bool = False) -> list[str]:
    before = None if first else Previous(LAST_MONTH, previous)
    return [r.code for r in reasons_for_a_person(policy, household=household, amount=amount,
                                                 previous=before, receipts=receipts)]


def test_an_unchanged_repeat_application_may_be_automatic() -> None:
    this_month = copy.deepcopy(LAST_MONTH)
    this_month["months_on_support"] = 8
    this_month["persons"][1]["age"] = 9  # a birthday is not a change
    assert codes(this_month) == []
    assert codes(this_month, amount=950000) == []  # more than last month is fine


def test_everything_else_goes_to_a_person() -> None:
    assert codes(LAST_MONTH, policy=AutomationPolicy()) == ["automation_off"]
    assert codes(LAST_MONTH, first=True) == ["first_application"]
    assert codes(LAST_MONTH, amount=0) == ["rejection", "reduction"]
    assert codes(LAST_MONTH, amount=899999) == ["reduction"]
    assert codes(LAST_MONTH, receipts=0) == ["receipts_missing"]
    raised = copy.deepcopy(LAST_MONTH)
    raised["costs"]["housing"] = 650000 * 106 // 100
    assert codes(raised) == ["input_changed"]
    assert changed_fields(LAST_MONTH, raised, 5) == ["costs.housing"]
    within = copy.deepcopy(LAST_MONTH)
    within["costs"]["housing"] = 650000 * 105 // 100
    assert codes(within) == []
    joined = copy.deepcopy(LAST_MONTH)
    joined["persons"].append({"id": "b", "role": "adult", "age": 30})
    assert codes(joined)[0] == "household_changed"
    new_income = copy.deepcopy(LAST_MONTH)
    new_income["persons"][1]["income"] = {"salary_net": 100}
    assert codes(new_income) == ["input_changed"]


@settings(max_examples=300, deadline=None)
@given(enabled=st.booleans(), repeat_only=st.booleans(), percent=st.integers(0, 100),
       household_change=st.booleans(), receipts_required=st.booleans(),
       previous=st.integers(1, 5_000_000), cut=st.integers(1, 5_000_000), receipts=st.integers(0, 5))
def test_no_policy_ever_decides_a_reduction_or_rejection(enabled: bool, repeat_only: bool, percent: int,
                                                         household_change: bool, receipts_required: bool,
                                                         previous: int, cut: int, receipts: int) -> None:
    policy = AutomationPolicy(enabled, repeat_only, percent, household_change, receipts_required)
    amount = max(previous - cut, 0)
    found = codes(LAST_MONTH, amount=amount, previous=previous, receipts=receipts, policy=policy)
    assert "reduction" in found
    if amount == 0:
        assert "rejection" in found
    assert codes(LAST_MONTH, amount=0, first=True, policy=policy, receipts=receipts).count("rejection") == 1
