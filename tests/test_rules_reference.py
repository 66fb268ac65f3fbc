"""The vectorized rules engine against a second, independent reading of the same rules.

The reference (tests/rules_reference.py) computes one household at a time in plain Python (ints
and ``Fraction``, no NumPy), written from the rules as the ruleset modules, their docstrings and
the parameter files state them; every amount is read from the parameters in force that month.
Thousands of seeded random households (with the edge cases that matter: 8+ person households, persons marked
``partner: false``, 19-20-year-old pupils, the job stimulus, rent caps, children's earnings,
lone parents, pregnancy weeks, disability, every band of the § 11b earnings allowance, surplus
Kindergeld, the grace year before and after July 2026) go through ``tables.prepare`` +
``tables.run`` in one batch per month and must match the reference household by household, in
the amount and in every output column.

German rules worth a second look are read as the statute does: the Versicherungspauschale by age
(§ 6 Abs. 1 Nr. 1 Bürgergeld-V: "volljährige"), whatever the person's role; the Sofortzuschlag for
everyone with Regelbedarf level 3-6, a claimant under 18 too (§ 72 SGB II); a partner under 18 on
level 4 and the other partner then on level 1 (§ 20 Abs. 2 S. 1, Abs. 4 SGB II); and the 1 500 €
band of § 11b Abs. 3 only for a person living with a minor child other than themselves.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest

from tests.rules_reference import (
    SE_INCOME,
    Household,
    Values,
    de_heads,
    de_reference,
    de_valid,
    se_common_shares,
    se_reference,
)
from wegweiser.rules import tables
from wegweiser.rules.errors import InputError
from wegweiser.rules.periods import Month
from wegweiser.rules.schema import parse_request
from wegweiser.rulesets import assess, get

SE = "se.ekonomiskt_bistand"
DE = "de.buergergeld"
HOUSEHOLDS = 3000
SE_MONTHS = (Month(2024, 1), Month(2024, 6), Month(2025, 1), Month(2025, 7), Month(2025, 12),
             Month(2026, 1), Month(2026, 12))
DE_MONTHS = (Month(2024, 1), Month(2024, 11), Month(2025, 1), Month(2025, 8), Month(2026, 1),
             Month(2026, 6), Month(2026, 7), Month(2026, 12))

# -- random households ----------------------------------------------------------------------------
def _sometimes(rng: random.Random, chance: float, make: Callable[[], int]) -> int:
    return make() if rng.random() < chance else 0


def _put(target: dict[str, Any], key: str, value: Any, rng: random.Random) -> None:
    """Zero amounts are sometimes written, sometimes left out (the contract's default)."""
    if value or rng.random() < 0.3:
        target[key] = value


def se_household(rng: random.Random, v: Values) -> Household:
    limit = v["price_base_amount.value"] // 12
    persons: list[dict[str, Any]] = []
    n_adults = rng.choices([1, 2, 3, 4], weights=[45, 40, 10, 5])[0]
    for index in range(n_adults):
        roll = rng.random()
        if roll < 0.12:
            age, school = rng.choice([19, 20]), rng.random() < 0.7
        elif roll < 0.17:
            age, school = rng.randint(15, 18), rng.random() < 0.2  # the flag is for 19-20 only
        else:
            age, school = rng.randint(21, 90), rng.random() < 0.03
        person: dict[str, Any] = {"id": f"a{index}", "role": "adult", "age": age}
        if school or rng.random() < 0.05:
            person["lives_at_home_in_school"] = school
        if rng.random() < 0.22:
            person["partner"] = False
        elif rng.random() < 0.1:
            person["partner"] = True
        income: dict[str, int] = {}
        _put(income, "salary_net", _sometimes(rng, 0.4, lambda: rng.choice(
            [rng.randrange(1, 4_000_001), rng.randrange(1, 20_000), 1, 2, 3, 4, 5, 6, 7])), rng)
        for name in SE_INCOME[1:]:
            _put(income, name, _sometimes(rng, 0.1, lambda: rng.randrange(0, 2_500_001)), rng)
        if income or rng.random() < 0.2:
            person["income"] = income
        persons.append(person)
    n_children = (rng.randint(6, 11) if rng.random() < 0.12 else
                  rng.choices([0, 1, 2, 3, 4], weights=[35, 25, 22, 12, 6])[0])
    for index in range(n_children):
        age = rng.choice([rng.randint(0, 20), rng.randint(0, 6), rng.randint(15, 20)])
        person = {"id": f"c{index}", "role": "child", "age": age}
        if rng.random() < 0.05:
            person["lives_at_home_in_school"] = rng.random() < 0.5
        income = {}
        _put(income, "salary_net", _sometimes(rng, 0.2, lambda: rng.choice(
            [rng.randrange(1, 1_000_000), limit - 1, limit, limit + 1, rng.randrange(1, 3 * limit)])), rng)
        aid = _sometimes(rng, 0.1, lambda: rng.choice([125_000, rng.randrange(0, 400_000)]))
        _put(income, "student_aid", aid, rng)
        _put(income, "other_net", _sometimes(rng, 0.05, lambda: rng.randrange(0, 300_000)), rng)
        if income:
            person["income"] = income
        persons.append(person)
    if rng.random() < 0.25:
        rng.shuffle(persons)

    household: Household = {"persons": persons}
    costs: dict[str, int] = {}
    housing = _sometimes(rng, 0.9, lambda: rng.randrange(0, 1_500_001))
    _put(costs, "housing", housing, rng)
    _put(costs, "household_electricity", _sometimes(rng, 0.6, lambda: rng.randrange(0, 100_001)), rng)
    _put(costs, "home_insurance", _sometimes(rng, 0.5, lambda: rng.randrange(0, 50_001)), rng)
    _put(costs, "work_travel", _sometimes(rng, 0.2, lambda: rng.randrange(0, 150_001)), rng)
    _put(costs, "union_fee", _sometimes(rng, 0.15, lambda: rng.randrange(0, 60_001)), rng)
    _put(costs, "unemployment_fund_fee", _sometimes(rng, 0.15, lambda: rng.randrange(0, 20_001)), rng)
    if costs or rng.random() < 0.5:
        household["costs"] = costs
    benefits: dict[str, int] = {}
    _put(benefits, "child_allowance", _sometimes(rng, 0.7, lambda: n_children * 125_000 + rng.choice(
        [0, 0, rng.randrange(0, 200_000)])), rng)
    _put(benefits, "housing_allowance", _sometimes(rng, 0.2, lambda: rng.randrange(0, 500_001)), rng)
    _put(benefits, "maintenance_support", _sometimes(rng, 0.15, lambda: rng.randrange(0, 500_001)), rng)
    if benefits:
        household["benefits"] = benefits
    if rng.random() < 0.45:
        household["rent_cap"] = max(1, housing + rng.choice(
            [0, -1, 1, rng.randint(-400_000, 400_000), rng.randint(-400_000, 0)]))
    if rng.random() < 0.7:
        household["months_on_support"] = rng.choice([0, 5, 6, 7, 12, rng.randint(0, 60)])
    if rng.random() < 0.5:
        household["job_stimulus_months_used"] = rng.choice([0, 0, 23, 24, 25, rng.randint(0, 40)])
    return household


def de_household(rng: random.Random, v: Values) -> Household:
    base, u1, u2 = v["einkommen.grundfreibetrag"], v["einkommen.band_1_upper"], v["einkommen.band_2_upper"]
    u3, u3c = v["einkommen.band_3_upper"], v["einkommen.band_3_upper_with_child"]
    edges = [0, 1, base - 1, base, base + 1, u1 - 1, u1, u1 + 1, u2 - 1, u2, u2 + 1, u3 - 1, u3, u3 + 1,
             u3c - 1, u3c, u3c + 1]

    def earnings(person: dict[str, Any]) -> None:
        gross = rng.choice([rng.choice(edges), rng.randrange(0, 400_001), rng.randrange(u3c, 600_001)])
        mode = rng.random()
        if mode < 0.7:
            net = gross * rng.randint(55, 95) // 100
        elif mode < 0.8:
            net = gross
        elif mode < 0.9:
            gross, net = 0, rng.choice([rng.randrange(1, 300_000), base - 1, base, base + 1])
        else:
            net = gross + rng.randrange(1, 20_000)
        income = person.setdefault("income", {})
        _put(income, "earnings_gross", gross, rng)
        _put(income, "earnings_net", net, rng)

    def unearned(person: dict[str, Any], is_child: bool) -> None:
        income = person.setdefault("income", {})
        if rng.random() < (0.75 if is_child else 0.06):
            income["child_benefit"] = rng.choice([25_000, 25_500, 25_900, rng.randrange(0, 30_001)])
        if rng.random() < (0.25 if is_child else 0.1):
            income["maintenance"] = rng.choice([rng.randrange(0, 80_001), rng.randrange(80_000, 250_001)])
        if rng.random() < 0.1:
            income["other"] = rng.randrange(0, 100_001)
        if not income and rng.random() < 0.7:
            del person["income"]

    def flags(person: dict[str, Any]) -> None:
        if person["age"] >= 14 and rng.random() < 0.15:
            person["pregnancy_week"] = rng.choice([0, 1, 12, 13, 14, 25, 40, 45, rng.randint(0, 45)])
        if rng.random() < 0.1:
            person["disability_additional_need"] = rng.random() < 0.8

    shape = rng.choices(["single", "couple", "no_candidate", "third_candidate"], weights=[50, 35, 10, 5])[0]
    heads: list[dict[str, Any]] = []
    if shape == "single":
        minor = rng.random() < 0.1
        heads.append({"role": "adult", "age": rng.randint(15, 17) if minor else rng.randint(18, 70)})
    else:
        for _ in range(1 if shape == "no_candidate" else 2):
            minor = rng.random() < 0.04
            heads.append({"role": "adult", "age": rng.randint(16, 17) if minor else rng.randint(18, 70)})
        if shape == "no_candidate":
            heads[0]["partner"] = False
        if shape == "third_candidate":
            heads.append({"role": "adult", "age": rng.randint(18, 24)})
    for person in heads:
        if rng.random() < 0.45:
            earnings(person)
        unearned(person, person is heads[-1] and shape == "third_candidate")
        flags(person)
    dependants: list[dict[str, Any]] = []
    lone_parent_mix = shape in {"single", "no_candidate"} and rng.random() < 0.5
    n_dependants = rng.choices([0, 1, 2, 3, 4, 5, 6, 7], weights=[25, 25, 20, 12, 8, 5, 3, 2])[0]
    for _ in range(n_dependants):
        if rng.random() < 0.2:
            person = {"role": "adult", "age": rng.randint(15, 24), "partner": False}
        else:
            age = rng.choice([rng.randint(0, 6), rng.randint(7, 15), rng.randint(0, 24)] if lone_parent_mix
                             else [rng.randint(0, 24)])
            person = {"role": "child", "age": age}
        if person["age"] >= 15 and rng.random() < 0.2:
            earnings(person)
        unearned(person, True)
        flags(person)
        dependants.append(person)
    persons = heads + dependants
    if rng.random() < 0.2:
        rng.shuffle(persons)
    for index, person in enumerate(persons):
        person["id"] = f"p{index}"

    household: Household = {"persons": persons}
    costs: dict[str, int] = {}
    _put(costs, "rent", _sometimes(rng, 0.9, lambda: rng.randrange(0, 150_001)), rng)
    _put(costs, "utilities", _sometimes(rng, 0.7, lambda: rng.randrange(0, 40_001)), rng)
    _put(costs, "heating", _sometimes(rng, 0.7, lambda: rng.randrange(0, 25_001)), rng)
    if costs or rng.random() < 0.5:
        household["costs"] = costs
    if rng.random() < 0.55:
        actual = costs.get("rent", 0) + costs.get("utilities", 0)
        household["rent_cap"] = max(1, rng.choice([actual, actual - 1, actual + 1, actual * 2 // 3,
                                                   actual * 2 // 3 + 1,
                                                   actual + rng.randint(-60_000, 60_000)]))
    if rng.random() < 0.6:
        household["first_year"] = rng.random() < 0.7
    return household


@cache
def cases(ruleset_id: str) -> tuple[list[tuple[Month, Household]], list[tuple[Month, Household]]]:
    """(valid households with their month, invalid German ones) — the same every run."""
    ruleset = get(ruleset_id)
    rng = random.Random(20260101 if ruleset_id == SE else 20260702)
    months = SE_MONTHS if ruleset_id == SE else DE_MONTHS
    valid: list[tuple[Month, Household]] = []
    invalid: list[tuple[Month, Household]] = []
    while len(valid) < HOUSEHOLDS:
        month = rng.choice(months)
        values = ruleset.parameters.at(month).values
        if ruleset_id == SE:
            valid.append((month, se_household(rng, values)))
            continue
        household = de_household(rng, values)
        (valid if de_valid(household["persons"]) else invalid).append((month, household))
    return valid, invalid


def request(ruleset_id: str, month: Month, household: Household) -> dict[str, Any]:
    return {"ruleset": ruleset_id, "month": str(month), "household": household}


def to_columns(ruleset_id: str, households: list[Household], ids: list[int], rng: random.Random
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The batch tables: households in the order given (ids not sorted), persons of different
    households interleaved but in their household's order."""
    schema = get(ruleset_id).schema
    house_columns: dict[str, list[Any]] = {"household_id": list(ids)}
    for name in (*schema.costs, *schema.benefits):
        group = "costs" if name in schema.costs else "benefits"
        house_columns[name] = [h.get(group, {}).get(name, 0) for h in households]
    for name, (kind, _) in schema.household_fields.items():
        house_columns[name] = [int(h.get(name, False if kind == "bool" else 0)) for h in households]
    rows: list[tuple[float, int, dict[str, Any]]] = []
    for household_id, household in zip(ids, households, strict=True):
        keys = sorted(rng.random() for _ in household["persons"])
        rows.extend((key, household_id, person)
                    for key, person in zip(keys, household["persons"], strict=True))
    rows.sort(key=lambda row: row[0])
    person_columns: dict[str, list[Any]] = {
        "household_id": [row[1] for row in rows],
        # Sweden as text, Germany as 0 = adult / 1 = child: both forms of the batch contract.
        "role": [p["role"] if ruleset_id == SE else int(p["role"] == "child") for _, _, p in rows],
        "age": [p["age"] for _, _, p in rows],
        "partner": [int(p.get("partner", True)) for _, _, p in rows],
    }
    for name in schema.income:
        person_columns[name] = [p.get("income", {}).get(name, 0) for _, _, p in rows]
    for name in schema.person_flags:
        person_columns[name] = [int(p.get(name, 0)) for _, _, p in rows]
    return ({k: np.asarray(c) for k, c in house_columns.items()},
            {k: np.asarray(c) for k, c in person_columns.items()})


@cache
def batch_results(ruleset_id: str) -> list[dict[str, int]]:
    """The engine's results for every valid household, one ``tables.run`` per month."""
    ruleset = get(ruleset_id)
    valid, _ = cases(ruleset_id)
    rng = random.Random(7)
    results: list[dict[str, int] | None] = [None] * len(valid)
    for month in sorted({month for month, _ in valid}):
        positions = [i for i, (m, _) in enumerate(valid) if m == month]
        ids = rng.sample(range(10**6), len(positions))
        households, persons = to_columns(ruleset_id, [valid[i][1] for i in positions], ids, rng)
        out = tables.run(ruleset, month, tables.prepare(ruleset, households, persons))
        row_of = {int(h): row for row, h in enumerate(out["household_id"])}
        for position, household_id in zip(positions, ids, strict=True):
            row = row_of[household_id]
            results[position] = {name: int(out[name][row]) for name in ("amount", *ruleset.outputs)}
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def reference(ruleset_id: str, month: Month, household: Household) -> dict[str, int]:
    values = get(ruleset_id).parameters.at(month).values
    if ruleset_id == SE:
        return se_reference(household, values)
    return de_reference(household, values)


def disagreements(ruleset_id: str) -> list[str]:
    found = []
    for (month, household), engine in zip(cases(ruleset_id)[0], batch_results(ruleset_id), strict=True):
        expected = reference(ruleset_id, month, household)
        if engine != expected:
            differing = {k: (engine[k], expected[k]) for k in expected if engine[k] != expected[k]}
            found.append(f"{month}: {household} -> engine vs reference {differing}")
    return found


# -- the tests --------------------------------------------------------------------------------------
def test_the_random_households_cover_the_edge_cases() -> None:
    se = [h for _, h in cases(SE)[0]]
    assert sum(len(h["persons"]) >= 8 for h in se) > 100
    assert sum(any(p.get("partner") is False for p in h["persons"]) for h in se) > 300
    assert sum(any(p.get("lives_at_home_in_school") and 19 <= p["age"] <= 20 for p in h["persons"])
               for h in se) > 100
    assert sum(h.get("months_on_support", 0) >= 6 and any(p.get("income", {}).get("salary_net")
               for p in h["persons"] if p["role"] == "adult") for h in se) > 200
    assert sum(h.get("rent_cap", 0) < h.get("costs", {}).get("housing", 0) for h in se) > 200
    assert sum(any(p["role"] == "child" and p.get("income", {}).get("salary_net") for p in h["persons"])
               for h in se) > 200

    de = [(m, h) for m, h in cases(DE)[0]]
    lone = [h for _, h in de if de_heads(h["persons"])[1] is not None and len(h["persons"]) > 1]
    assert len(lone) > 500
    assert len({tuple(sorted(p["age"] for p in h["persons"] if p["role"] == "child")) for h in lone}) > 200
    assert sum(any(p.get("pregnancy_week", 0) >= 13 for p in h["persons"]) for _, h in de) > 100
    assert sum(any(p.get("disability_additional_need") for p in h["persons"]) for _, h in de) > 100
    gross = [p.get("income", {}).get("earnings_gross", 0) for _, h in de for p in h["persons"]]
    for low, high in ((1, 10_000), (10_001, 52_000), (52_001, 100_000), (100_001, 120_000),
                      (120_001, 150_000), (150_001, 10**9)):
        assert sum(low <= g <= high for g in gross) > 50
    karenz = [(m, bool(h.get("rent_cap"))) for m, h in de if h.get("first_year")]
    assert sum(m >= Month(2026, 7) and capped for m, capped in karenz) > 50
    assert sum(m < Month(2026, 7) and capped for m, capped in karenz) > 50
    assert sum(not capped for _, capped in karenz) > 50
    assert len(cases(DE)[1]) > 20


@pytest.mark.parametrize("ruleset_id", [SE, DE])
def test_batch_engine_equals_the_reference_household_by_household(ruleset_id: str) -> None:
    found = disagreements(ruleset_id)
    assert not found, f"{len(found)} of {HOUSEHOLDS} households differ, e.g.\n" + "\n".join(found[:5])


@pytest.mark.parametrize("ruleset_id", [SE, DE])
def test_assess_agrees_with_the_batch_engine(ruleset_id: str) -> None:
    valid = cases(ruleset_id)[0]
    results = batch_results(ruleset_id)
    ruleset = get(ruleset_id)
    rng = random.Random(11)
    for position in rng.sample(range(len(valid)), 300):
        month, household = valid[position]
        result = assess(request(ruleset_id, month, household), rng.choice(["de", "sv", "en"]))
        assert result["amount"] == results[position]["amount"], household
        assert result["outputs"] == {k: results[position][k] for k in ruleset.outputs}, household
        if ruleset_id == SE:  # the split of the common costs, which no output column shows
            shares = {line["person"]: line["amount"] for line in result["lines"]
                      if line["key"].startswith("riksnorm.common_share.")}
            assert shares == se_common_shares(household, ruleset.parameters.at(month).values), household


def test_german_adults_over_24_beside_the_couple_or_claimant_are_refused() -> None:
    ruleset = get(DE)
    invalid = cases(DE)[1]
    for month, household in invalid[:60]:
        with pytest.raises(InputError) as raised:
            parse_request(request(DE, month, household), DE, ruleset.schema)
        assert raised.value.code == "separate_unit"
        with pytest.raises(InputError):
            assess(request(DE, month, household), "en")
        households, persons = to_columns(DE, [household], [1], random.Random(1))
        with pytest.raises(InputError) as raised:
            tables.prepare(ruleset, households, persons)
        assert raised.value.code == "separate_unit"
    # One invalid household among valid ones spoils the whole batch: nothing is computed.
    valid = [h for m, h in cases(DE)[0][:50]]
    households, persons = to_columns(DE, [*valid, invalid[0][1]], list(range(51)), random.Random(2))
    with pytest.raises(InputError):
        tables.prepare(ruleset, households, persons)


def _amount(household: Household, month: str = "2026-01") -> int:
    return int(assess({"ruleset": DE, "month": month, "household": household}, "en")["amount"])


def test_a_child_aged_20_gives_the_same_amount_in_both_encodings() -> None:
    parent = {"id": "m", "role": "adult", "age": 45}
    as_child = {"id": "k", "role": "child", "age": 20, "income": {"child_benefit": 25900}}
    as_adult = {**as_child, "role": "adult", "partner": False}
    costs = {"rent": 50000, "heating": 8000}
    assert _amount({"persons": [parent, as_child], "costs": costs}) == _amount(
        {"persons": [parent, as_adult], "costs": costs})


def test_no_versicherungspauschale_for_a_minor_given_as_adult() -> None:
    parent = {"id": "m", "role": "adult", "age": 45}
    teen = {"id": "k", "role": "adult", "age": 16, "partner": False, "income": {"maintenance": 10000}}
    result = assess({"ruleset": DE, "month": "2026-01", "household": {"persons": [parent, teen]}}, "en")
    assert not [line for line in result["lines"] if line["key"] == "income.deductions.k"]


def test_sofortzuschlag_for_a_claimant_under_18() -> None:
    values = get(DE).parameters.at(Month(2026, 1)).values
    alone = {"persons": [{"id": "a", "role": "adult", "age": 17}]}
    assert _amount(alone) == values["regelbedarf.rbs_4"] + values["regelbedarf.sofortzuschlag"]


def test_a_minor_partner_is_on_level_4_and_the_other_partner_on_level_1() -> None:
    """§ 20 Abs. 2 S. 1 and Abs. 4 SGB II."""
    values = get(DE).parameters.at(Month(2026, 1)).values
    couple = {"persons": [{"id": "a", "role": "adult", "age": 17}, {"id": "b", "role": "adult", "age": 22}]}
    assert _amount(couple) == (values["regelbedarf.rbs_4"] + values["regelbedarf.sofortzuschlag"]
                               + values["regelbedarf.rbs_1"])


def test_the_1500_band_needs_a_minor_child_other_than_the_earner() -> None:
    """§ 11b Abs. 3 S. 3 SGB II: "mit mindestens einem minderjährigen Kind" - a 17-year-old earner
    without a minor sibling has the 1 200 € upper limit."""
    teen = {"id": "k", "role": "child", "age": 17,
            "income": {"earnings_gross": 150000, "earnings_net": 115000}}
    parents = [{"id": "m", "role": "adult", "age": 45}, {"id": "v", "role": "adult", "age": 44}]
    result = assess({"ruleset": DE, "month": "2026-01", "household": {"persons": [*parents, teen]}}, "en")
    deductions = next(line for line in result["lines"] if line["key"] == "income.deductions.k")
    assert deductions["amount"] == -34800
    assert "einkommen.band_3_upper" in deductions["parameters"]
    sibling = {"id": "s", "role": "child", "age": 9}
    result = assess({"ruleset": DE, "month": "2026-01", "household": {"persons": [*parents, teen, sibling]}},
                    "en")
    deductions = next(line for line in result["lines"] if line["key"] == "income.deductions.k")
    assert deductions["amount"] == -37800
