"""The contract's input forms (../shared/contracts/benefits-io.md), checked strictly: an unknown
field, a negative or fractional amount, an impossible age or a household without an adult is an
``InputError`` naming the field, and nothing is computed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wegweiser.rules.errors import InputError
from wegweiser.rules.periods import Month
from wegweiser.rules.population import Population

MAX_AMOUNT = 10**11  # a billion kronor/euro in minor units: anything above is a mistake
MAX_PERSONS = 50
MAX_AGE = 130
MIN_ADULT_AGE = 15
_ID_LENGTH = 64


@dataclass(frozen=True)
class InputSchema:
    """What a ruleset accepts beyond the common person fields (id, role, age, partner)."""

    income: tuple[str, ...]
    costs: tuple[str, ...]
    benefits: tuple[str, ...] = ()
    person_flags: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # name → (kind, max)
    household_fields: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    max_child_age: int = 20
    # Adults beside the couple (or the one claimant) belong to the unit only up to this age
    # (Bürgergeld: children under 25); older ones form a unit of their own.
    max_dependent_adult_age: int | None = None


@dataclass
class Household:
    month: Month
    population: Population
    inputs: dict[str, Any]
    person_ids: list[str]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def amount(value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        raise InputError(f"{where}: amounts are whole minor units (öre, cent), written without a "
                         "decimal point", field=where, code="invalid_amount")
    if not _is_int(value):
        raise InputError(f"{where}: expected a whole number of minor units (öre, cent)", field=where,
                         code="invalid_amount")
    if value < 0:
        raise InputError(f"{where}: amounts cannot be negative", field=where, code="negative_amount")
    if value > MAX_AMOUNT:
        raise InputError(f"{where}: amount is implausibly large", field=where, code="invalid_amount")
    return int(value)


def _typed(value: Any, kind: str, maximum: int, where: str) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false", field=where, code="invalid")
        return value
    if kind == "money":
        return amount(value, where)
    if not _is_int(value) or not 0 <= value <= maximum:
        raise InputError(f"{where}: expected a whole number from 0 to {maximum}", field=where,
                         code="invalid")
    return int(value)


def _only(data: Any, allowed: set[str], where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InputError(f"{where or 'input'}: expected an object", field=where, code="invalid")
    for key in data:
        if key not in allowed:
            name = f"{where}.{key}" if where else str(key)
            raise InputError(f"{name}: unknown field", field=name, code="unknown_field")
    return data


def parse_request(data: Any, ruleset_id: str, schema: InputSchema) -> Household:
    """One household as the contract's JSON (already decoded)."""
    top = _only(data, {"ruleset", "month", "household"}, "")
    if top.get("ruleset") != ruleset_id:
        raise InputError(f"ruleset: expected {ruleset_id}", field="ruleset", code="unknown_ruleset")
    month = Month.parse(top.get("month"))
    allowed = {"persons", "costs", "benefits", *schema.household_fields}
    household = _only(top.get("household"), allowed, "household")
    persons = household.get("persons")
    if not isinstance(persons, list) or not persons:
        raise InputError("household.persons: at least one person", field="household.persons",
                         code="no_adult")
    if len(persons) > MAX_PERSONS:
        raise InputError(f"household.persons: at most {MAX_PERSONS} persons",
                         field="household.persons", code="too_many_persons")
    count = len(persons)
    columns: dict[str, list[Any]] = {name: [] for name in ("is_adult", "age", "not_partner")}
    given: dict[str, list[Any]] = {}  # income and flags somebody has; the engine reads others as 0
    ids: list[str] = []
    for index, person in enumerate(persons):
        where = f"household.persons[{index}]"
        person = _only(person, {"id", "role", "age", "partner", "income", *schema.person_flags}, where)
        person_id = person.get("id", f"p{index + 1}")
        if not isinstance(person_id, str) or not 0 < len(person_id) <= _ID_LENGTH or person_id in ids:
            raise InputError(f"{where}.id: a unique text of up to {_ID_LENGTH} characters",
                             field=f"{where}.id", code="invalid")
        ids.append(person_id)
        role = person.get("role")
        if role not in {"adult", "child"}:
            raise InputError(f"{where}.role: adult or child", field=f"{where}.role", code="invalid")
        age = person.get("age")
        if not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= MAX_AGE:
            raise InputError(f"{where}.age: a whole number of years from 0 to {MAX_AGE}",
                             field=f"{where}.age", code="invalid_age")
        if role == "adult" and age < MIN_ADULT_AGE:
            raise InputError(f"{where}.age: an adult is at least {MIN_ADULT_AGE}", field=f"{where}.age",
                             code="invalid_age")
        if role == "child" and age > schema.max_child_age:
            raise InputError(f"{where}.age: a child here is at most {schema.max_child_age}",
                             field=f"{where}.age", code="invalid_age")
        partner = person.get("partner", True)
        if not isinstance(partner, bool):
            raise InputError(f"{where}.partner: true or false", field=f"{where}.partner", code="invalid")
        columns["is_adult"].append(role == "adult")
        columns["age"].append(age)
        columns["not_partner"].append(not partner)
        income = _only(person.get("income", {}), set(schema.income), f"{where}.income")
        for name, value in income.items():
            given.setdefault(name, [0] * count)[index] = amount(value, f"{where}.income.{name}")
        for name, (kind, maximum) in schema.person_flags.items():
            if name in person:
                given.setdefault(name, [0] * count)[index] = _typed(person[name], kind, maximum,
                                                                    f"{where}.{name}")
    if not any(columns["is_adult"]):
        raise InputError("household.persons: a household needs at least one adult",
                         field="household.persons", code="no_adult")
    inputs: dict[str, Any] = {"is_adult": np.array(columns["is_adult"], dtype=np.bool_),
                              "age": np.array(columns["age"], dtype=np.int64),
                              "not_partner": np.array(columns["not_partner"], dtype=np.bool_)}
    population = Population.single(len(ids))
    if schema.max_dependent_adult_age is not None:
        bad = separate_adults(population, inputs["is_adult"], inputs["not_partner"], inputs["age"],
                              schema.max_dependent_adult_age)
        if bad.any():
            where = f"household.persons[{int(np.flatnonzero(bad)[0])}]"
            raise InputError(f"{where}: an adult over {schema.max_dependent_adult_age} who is not a "
                             "partner forms a unit of their own; assess them separately", field=where,
                             code="separate_unit")
    for name, values in given.items():
        kind = schema.person_flags.get(name, ("int",))[0]
        inputs[name] = np.array(values, dtype=np.bool_ if kind == "bool" else np.int64)
    for group, names in (("costs", schema.costs), ("benefits", schema.benefits)):
        group_values = _only(household.get(group, {}), set(names), f"household.{group}")
        for name, value in group_values.items():
            inputs[name] = np.array([amount(value, f"household.{group}.{name}")], dtype=np.int64)
    for name, (kind, maximum) in schema.household_fields.items():
        if name in household:
            value = _typed(household[name], kind, maximum, f"household.{name}")
            inputs[name] = np.array([value], dtype=np.bool_ if kind == "bool" else np.int64)
    return Household(month, population, inputs, ids)


def separate_adults(population: Population, is_adult: Any, not_partner: Any, age: Any, max_age: int) -> Any:
    """Per person: an adult over ``max_age`` beside the couple (the first two adults not marked
    ``partner: false``) or the one claimant: someone who forms a unit of their own. One rule for
    the JSON form and the batch tables."""
    candidate = is_adult if not_partner is None else is_adult & ~not_partner
    couple = candidate & (population.rank(candidate) < 2) & population.project(population.sum(candidate) >= 2)
    has_candidate = population.project(population.any(candidate))
    head = np.where(has_candidate, candidate & (population.rank(candidate) == 0),
                    is_adult & (population.rank(is_adult) == 0))
    head &= ~population.project(population.any(couple))
    return is_adult & ~couple & ~head & (age > max_age)
