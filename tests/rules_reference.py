"""A second, independent reading of both rulesets: one household at a time in plain Python (ints
and ``Fraction``, no NumPy), every amount read from the parameters in force. Used by
tests/test_rules_reference.py, which compares it with the vectorized engine."""

from __future__ import annotations

from fractions import Fraction
from math import floor
from typing import Any

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
