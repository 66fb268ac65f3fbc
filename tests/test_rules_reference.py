"""The vectorized rules engine against a second, independent reading of the same rules.

The reference below computes one household at a time in plain Python (ints and ``Fraction``, no
NumPy), written from the rules as the ruleset modules, their docstrings and the parameter files
state them; every amount is read from the parameters in force that month. Thousands of seeded
random households (with the edge cases that matter: 8+ person households, persons marked
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
from fractions import Fraction
from functools import cache
from math import floor
from typing import Any

import numpy as np
import pytest

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

Household = dict[str, Any]  # the contract's "household" object
Values = dict[str, Any]  # key -> int (minor units) or Fraction


def half_up(value: Fraction | int) -> int:
    return floor(Fraction(value) + Fraction(1, 2))


# -- reference: Swedish försörjningsstöd -------------------------------------------------------
SE_INCOME = ("salary_net", "pension_net", "sickness_benefit_net", "unemployment_benefit_net",
             "parental_benefit_net", "student_aid", "other_net")
SE_COSTS = ("housing", "household_electricity", "home_insurance", "work_travel", "union_fee",
            "unemployment_fund_fee")
SE_BENEFITS = ("child_allowance", "housing_allowance", "maintenance_support")
SE_AGE_BANDS = ((0, "child_0"), (1, "child_1_2"), (3, "child_3"), (4, "child_4_6"), (7, "child_7_10"),
                (11, "child_11_14"), (15, "child_15_18"), (19, "youth_19_20"))


def se_child_band(age: int) -> str:
    band = ""
    for lowest, name in SE_AGE_BANDS:
        if age >= lowest:
            band = name
    return band


def se_reference(household: Household, v: Values) -> dict[str, int]:
    """Riksnorm (personal costs per person + common costs by household size) + reasonable costs
    (housing up to the municipality's cap, electricity, insurance, travel, union and fund fees)
    minus all net income, with children's/pupils' earnings free up to 1/12 of the price base
    amount and 25 % of adults' earnings free after 6 months on support (for 24 months)."""
    persons = household["persons"]
    size = len(persons)
    costs, benefits = household.get("costs", {}), household.get("benefits", {})

    # A 19- or 20-year-old pupil at home (or a "child" of that age) counts with the youth amount.
    pupil = [19 <= p["age"] <= 20 and (p.get("lives_at_home_in_school", False) or p["role"] == "child")
             for p in persons]
    adult = [p["role"] == "adult" and not pupil[i] for i, p in enumerate(persons)]
    candidates = [i for i in range(size) if adult[i] and persons[i].get("partner", True)]
    couple = candidates[:2] if len(candidates) >= 2 else []
    # Every other adult, the one heading the household or not, has a single person's personal costs.

    common = (v[f"riksnorm.common.persons_{size}"] if size <= 7 else
              v["riksnorm.common.persons_7"]
              + (size - 7) * (v["riksnorm.common.persons_7"] - v["riksnorm.common.persons_6"]))
    personal = 0
    for i, person in enumerate(persons):
        if i in couple:
            personal += v["riksnorm.personal.cohabiting_adult"]
        elif adult[i]:
            personal += v["riksnorm.personal.single_adult"]
        else:
            personal += v[f"riksnorm.personal.{se_child_band(person['age'])}"]
    # A non-partner adult's share of the common costs is only a split of the same total.
    riksnorm = personal + common

    housing = costs.get("housing", 0)
    cap = household.get("rent_cap", 0)
    reasonable = (min(housing, cap) if cap > 0 else housing) + sum(costs.get(k, 0) for k in SE_COSTS[1:])

    months = household.get("months_on_support", 0)
    used = household.get("job_stimulus_months_used", 0)
    stimulus = (months >= v["job_stimulus.qualifying_months"] and used < v["job_stimulus.duration_months"])
    income = sum(benefits.get(k, 0) for k in SE_BENEFITS)
    for i, person in enumerate(persons):
        got = person.get("income", {})
        income += sum(got.get(k, 0) for k in SE_INCOME)
        salary = got.get("salary_net", 0)
        if person["role"] == "child" or pupil[i]:
            income -= min(salary, floor(Fraction(v["price_base_amount.value"], 12)))
        elif stimulus and salary > 0:
            income -= half_up(salary * v["job_stimulus.rate"])
    need = riksnorm + reasonable
    return {"amount": max(need - income, 0), "riksnorm": riksnorm, "reasonable_costs": reasonable,
            "need_total": need, "income_counted": income}


def se_common_shares(household: Household, v: Values) -> dict[str, int]:
    """Adults beside the family (not in the couple, and not the one adult heading a household
    without a couple: the first adult not marked ``partner: false``, else the first adult) are
    shown with the common costs / household size, rounded half up, as their share."""
    persons = household["persons"]
    pupil = [19 <= p["age"] <= 20 and (p.get("lives_at_home_in_school", False) or p["role"] == "child")
             for p in persons]
    adults = [i for i, p in enumerate(persons) if p["role"] == "adult" and not pupil[i]]
    candidates = [i for i in adults if persons[i].get("partner", True)]
    heads = candidates[:2] if len(candidates) >= 2 else (candidates or adults)[:1]
    size = len(persons)
    common = (v[f"riksnorm.common.persons_{size}"] if size <= 7 else
              v["riksnorm.common.persons_7"]
              + (size - 7) * (v["riksnorm.common.persons_7"] - v["riksnorm.common.persons_6"]))
    return {persons[i]["id"]: half_up(Fraction(common, size)) for i in adults if i not in heads}


# -- reference: German Bürgergeld ---------------------------------------------------------------
DE_INCOME = ("earnings_gross", "earnings_net", "child_benefit", "maintenance", "other")


def de_heads(persons: list[dict[str, Any]]) -> tuple[list[int], int | None]:
    """The couple (the first two adults not marked ``partner: false``), else the one claimant (the
    first such adult, else the first adult); everyone else is a child of the unit."""
    adults = [i for i, p in enumerate(persons) if p["role"] == "adult"]
    candidates = [i for i in adults if persons[i].get("partner", True)]
    if len(candidates) >= 2:
        return candidates[:2], None
    return [], (candidates or adults)[0]


def de_valid(persons: list[dict[str, Any]]) -> bool:
    couple, head = de_heads(persons)
    return all(p["age"] <= 24 for i, p in enumerate(persons)
               if p["role"] == "adult" and i not in couple and i != head)


def de_reference(household: Household, v: Values) -> dict[str, int]:
    """Regelbedarf (+ Sofortzuschlag for children) + Mehrbedarfe (pregnancy, lone parent,
    disability; together at most the Regelbedarf) + accommodation and heating, minus income after
    the § 11b allowances, where a child's income covers only the child and its surplus Kindergeld
    goes to the parents (see the module docstring for the finer points)."""
    persons = household["persons"]
    size = len(persons)
    costs = household.get("costs", {})
    couple, head = de_heads(persons)
    child = [i not in couple and i != head for i in range(size)]
    ages = [p["age"] for p in persons]
    minors = sum(1 for i in range(size) if child[i] and ages[i] < 18)
    under_7 = sum(1 for i in range(size) if child[i] and ages[i] < 7)
    under_16 = sum(1 for i in range(size) if child[i] and ages[i] < 16)

    minor_partner = any(ages[i] < 18 for i in couple)

    def level(i: int) -> int:
        if i in couple:
            return 4 if ages[i] < 18 else 1 if minor_partner else 2
        if i == head:
            return 1 if ages[i] >= 18 else 4
        return 3 if ages[i] >= 18 else 4 if ages[i] >= 14 else 5 if ages[i] >= 6 else 6

    regelbedarf, own_mehrbedarf, sofort = [], [], []
    regelbedarf_total = mehrbedarf_total = 0
    for i, person in enumerate(persons):
        rb = v[f"regelbedarf.rbs_{level(i)}"]
        gets_sofort = level(i) >= 3
        zuschlag = v["regelbedarf.sofortzuschlag"] if gets_sofort else 0
        pregnancy = (half_up(rb * v["mehrbedarf.pregnancy_rate"])
                     if person.get("pregnancy_week", 0) >= v["mehrbedarf.pregnancy_from_week"] else 0)
        lone = 0
        if i == head and minors:
            high = under_7 >= 1 or 2 <= under_16 <= 3
            share = max(v["mehrbedarf.lone_parent_high_rate"] if high else 0,
                        minors * v["mehrbedarf.lone_parent_per_child_rate"])
            lone = half_up(rb * min(share, v["mehrbedarf.lone_parent_max_rate"]))
        disability = (half_up(rb * v["mehrbedarf.disability_rate"])
                      if person.get("disability_additional_need", False) and ages[i] >= 15 else 0)
        over_cap = max(pregnancy + lone + disability - half_up(rb * v["mehrbedarf.cap_rate"]), 0)
        regelbedarf.append(rb)
        sofort.append(zuschlag)
        own_mehrbedarf.append(pregnancy + disability - over_cap)  # a child is never the lone parent
        regelbedarf_total += rb + zuschlag
        mehrbedarf_total += pregnancy + lone + disability - over_cap

    actual = costs.get("rent", 0) + costs.get("utilities", 0)
    cap = household.get("rent_cap", 0)
    if household.get("first_year", False):
        karenz = v["unterkunft.karenzzeit_cap_rate"]
        accommodation = min(actual, half_up(cap * karenz)) if cap > 0 and karenz > 0 else actual
    else:
        accommodation = min(actual, cap) if cap > 0 else actual
    kdu_total = accommodation + costs.get("heating", 0)

    base = v["einkommen.grundfreibetrag"]
    upper_1, upper_2 = v["einkommen.band_1_upper"], v["einkommen.band_2_upper"]
    income_counted = 0
    for i, person in enumerate(persons):
        other_minors = minors - (1 if child[i] and ages[i] < 18 else 0)
        upper_3 = v["einkommen.band_3_upper_with_child" if other_minors else "einkommen.band_3_upper"]
        bands = ((base, upper_1, v["einkommen.band_1_rate"]), (upper_1, upper_2, v["einkommen.band_2_rate"]),
                 (upper_2, upper_3, v["einkommen.band_3_rate"]))
        got = {k: person.get("income", {}).get(k, 0) for k in DE_INCOME}
        gross, net = got["earnings_gross"], got["earnings_net"]
        allowance = 0
        if gross > 0 or net > 0:
            exact = sum((Fraction(min(max(gross - low, 0), max(high - low, 0))) * rate
                         for low, high, rate in bands), Fraction(0))
            allowance = max(min(gross, base) + half_up(exact), min(net, base))
            allowance = min(allowance, net)
        unearned = got["child_benefit"] + got["maintenance"] + got["other"]
        grown_up = ages[i] >= 18
        insurance = (min(unearned, v["einkommen.versicherungspauschale"])
                     if grown_up and gross == 0 and net == 0 and unearned > 0 else 0)
        adjusted = net + unearned - allowance - insurance
        if child[i]:
            own_need = regelbedarf[i] + sofort[i] + own_mehrbedarf[i] + half_up(Fraction(kdu_total, size))
            surplus = max(adjusted - own_need, 0)
            adjusted -= surplus - min(surplus, got["child_benefit"])  # surplus Kindergeld stays
        income_counted += adjusted

    need = regelbedarf_total + mehrbedarf_total + kdu_total
    amount = max(need - income_counted, 0)
    regelleistung = max(regelbedarf_total + mehrbedarf_total - income_counted, 0)
    return {"amount": amount, "regelbedarf_total": regelbedarf_total, "mehrbedarf_total": mehrbedarf_total,
            "kdu_total": kdu_total, "need_total": need, "income_counted": income_counted,
            "regelleistung": regelleistung, "kdu_leistung": amount - regelleistung}


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
