"""When may a benefit decision be taken without a person? The agency's automation policy, and the
reasons that send an application to a case worker instead.

GDPR Art. 22 and förvaltningslagen 28 § allow automated decisions only within clear limits, so
the limits are settings (``AutomationPolicy``), off by default, and two limits are not settings
at all: a rejection (amount 0) and a reduction against last month's decision always go to a
person. Pure functions over the contract's household form, so the rule can be tested on its own
and the reasons can be shown to the case worker as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class AutomationPolicy:
    enabled: bool = False  # nothing is decided automatically unless the agency says so
    repeat_only: bool = True  # only monthly re-applications, never a first application
    max_change_percent: int = 0  # every input may differ from last month by at most this much
    allow_household_change: bool = False  # a person joining or leaving goes to a person
    require_receipts: bool = True  # incomes and costs above 0 need at least one receipt


@dataclass(frozen=True)
class Previous:
    """Last month's decided application: its household (contract form) and decided amount."""

    household: Mapping[str, Any]
    amount: int


@dataclass(frozen=True)
class Reason:
    code: str  # automation_off, first_application, rejection, reduction, household_changed,
    # input_changed, receipts_missing
    fields: tuple[str, ...] = field(default=())


def flatten(household: Mapping[str, Any]) -> dict[str, Any]:
    """The household's values by a stable path (``persons.<id>.income.salary_net``,
    ``costs.housing``, ``months_on_support``), for comparing two months."""
    flat: dict[str, Any] = {}
    for person in household.get("persons", ()):
        prefix = f"persons.{person.get('id')}"
        for key, value in person.items():
            if key == "income":
                for name, amount in value.items():
                    flat[f"{prefix}.income.{name}"] = amount
            elif key != "id":
                flat[f"{prefix}.{key}"] = value
    for group in ("costs", "benefits"):
        for name, amount in household.get(group, {}).items():
            flat[f"{group}.{name}"] = amount
    for key, value in household.items():
        if key not in {"persons", "costs", "benefits"}:
            flat[key] = value
    return flat


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any], percent: int) -> list[str]:
    """Paths whose value differs by more than ``percent`` % (numbers; a value appearing or
    disappearing counts as 0), or at all (other values). Ages may grow by one year; the months on
    support by whatever passed."""
    old, new = flatten(before), flatten(after)
    changed = []
    limit = Fraction(percent, 100)
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, 0), new.get(path, 0)
        grows = 1 if path.endswith(".age") else 12 if path in {"months_on_support",
                                                                "job_stimulus_months_used"} else None
        if grows is not None and isinstance(a, int) and isinstance(b, int) and 0 <= b - a <= grows:
            continue
        if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, int) and isinstance(b, int)):
            if a != b:
                changed.append(path)
            continue
        if abs(b - a) > limit * abs(a) or (a == 0 and b != 0):
            changed.append(path)
    return changed


def _has_money(household: Mapping[str, Any]) -> bool:
    flat = flatten(household)
    return any(isinstance(value, int) and not isinstance(value, bool) and value > 0 and
               (".income." in path or path.startswith(("costs.", "benefits.")))
               for path, value in flat.items())


def reasons_for_a_person(policy: AutomationPolicy, *, household: Mapping[str, Any], amount: int,
                         previous: Previous | None, receipts: int) -> list[Reason]:
    """Why this application must be decided by a case worker; empty: it may be decided
    automatically. The rejection and reduction rules hold whatever the policy says."""
    reasons: list[Reason] = []
    if not policy.enabled:
        reasons.append(Reason("automation_off"))
    if amount <= 0:
        reasons.append(Reason("rejection"))
    if previous is None:
        if policy.repeat_only:
            reasons.append(Reason("first_application"))
    else:
        if amount < previous.amount:
            reasons.append(Reason("reduction"))
        ids_before = {p.get("id") for p in previous.household.get("persons", ())}
        ids_now = {p.get("id") for p in household.get("persons", ())}
        if ids_before != ids_now and not policy.allow_household_change:
            reasons.append(Reason("household_changed", tuple(sorted(map(str, ids_before ^ ids_now)))))
        changed = changed_fields(previous.household, household, policy.max_change_percent)
        if changed:
            reasons.append(Reason("input_changed", tuple(changed)))
    if policy.require_receipts and receipts == 0 and _has_money(household):
        reasons.append(Reason("receipts_missing"))
    return reasons
