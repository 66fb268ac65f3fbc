"""Properties of the contract's result (../shared/contracts/benefits-io.md) that hold for every valid
household of both rulesets, checked with generated requests:

* the amount is never negative, and raising one income of one person never raises it;
* the lines add up: needs - income = amount where that is >= 0, else the amount is 0;
* every parameter named in a line has the value in force that month, and every parameter the
  traced run actually used is named in some line;
* the text states the amount, formatted as the language writes money.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wegweiser.rules.engine import simulate
from wegweiser.rules.money import format_amount
from wegweiser.rules.periods import Month
from wegweiser.rules.schema import parse_request
from wegweiser.rulesets import assess, get

SE = "se.ekonomiskt_bistand"
DE = "de.buergergeld"
SE_INCOME = ("salary_net", "pension_net", "sickness_benefit_net", "unemployment_benefit_net",
             "parental_benefit_net", "student_aid", "other_net")
DE_INCOME = ("earnings_net", "child_benefit", "maintenance", "other")  # earnings_gross: see below

SETTINGS = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

months = st.integers(0, 35).map(lambda i: f"{2024 + i // 12}-{i % 12 + 1:02d}")
languages = st.sampled_from(["de", "sv", "en"])


def amounts(high: int, *edges: int) -> st.SearchStrategy[int]:
    return st.one_of(st.just(0), st.integers(1, high), st.sampled_from([1, *edges]) if edges else st.just(1))


# -- requests ---------------------------------------------------------------------------------
@st.composite
def se_requests(draw: st.DrawFn) -> dict[str, Any]:
    limit = get(SE).parameters.at(Month(2026, 1)).values["price_base_amount.value"] // 12
    persons: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 3))):
        person: dict[str, Any] = {"id": f"a{index}", "role": "adult",
                                  "age": draw(st.one_of(st.integers(15, 95), st.sampled_from([19, 20])))}
        if draw(st.integers(0, 3)) == 0:
            person["partner"] = False
        if draw(st.integers(0, 3)) == 0:
            person["lives_at_home_in_school"] = draw(st.booleans())
        person["income"] = draw(st.fixed_dictionaries({}, optional={
            k: amounts(3_000_000) for k in SE_INCOME}))
        persons.append(person)
    for index in range(draw(st.integers(0, 9))):
        person = {"id": f"c{index}", "role": "child", "age": draw(st.integers(0, 20))}
        person["income"] = draw(st.fixed_dictionaries({}, optional={
            "salary_net": amounts(1_500_000, limit - 1, limit, limit + 1), "student_aid": amounts(300_000)}))
        persons.append(person)
    persons = draw(st.permutations(persons))
    household: dict[str, Any] = {
        "persons": persons,
        "costs": draw(st.fixed_dictionaries({}, optional={
            "housing": amounts(2_000_000), "household_electricity": amounts(100_000),
            "home_insurance": amounts(50_000), "work_travel": amounts(150_000), "union_fee": amounts(60_000),
            "unemployment_fund_fee": amounts(20_000)})),
        "benefits": draw(st.fixed_dictionaries({}, optional={
            "child_allowance": amounts(800_000), "housing_allowance": amounts(500_000),
            "maintenance_support": amounts(500_000)})),
    }
    household.update(draw(st.fixed_dictionaries({}, optional={
        "rent_cap": amounts(2_000_000), "months_on_support": st.integers(0, 40),
        "job_stimulus_months_used": st.integers(0, 40)})))
    return {"ruleset": SE, "month": draw(months), "household": household}


@st.composite
def de_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Bedarfsgemeinschaft: one claimant (maybe marked ``partner: false``) or a couple first,
    then children under 25, given as ``child`` or as an adult marked ``partner: false``."""
    values = get(DE).parameters.at(Month(2026, 1)).values
    limits = ("grundfreibetrag", "band_1_upper", "band_2_upper", "band_3_upper", "band_3_upper_with_child")
    edges = [values[f"einkommen.{k}"] + d for k in limits for d in (-1, 0, 1)]
    income = st.fixed_dictionaries({}, optional={
        "earnings_gross": amounts(500_000, *edges), "earnings_net": amounts(400_000, *edges),
        "child_benefit": amounts(30_000, 25_000, 25_500, 25_900), "maintenance": amounts(200_000),
        "other": amounts(150_000)})
    shape = draw(st.sampled_from(["single", "couple", "no_candidate"]))
    persons: list[dict[str, Any]] = []
    for index in range(2 if shape == "couple" else 1):
        person: dict[str, Any] = {"id": f"h{index}", "role": "adult", "age": draw(st.integers(15, 80))}
        if shape == "no_candidate":
            person["partner"] = False
        persons.append(person)
    for index in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 3)) == 0:
            person = {"id": f"d{index}", "role": "adult", "age": draw(st.integers(15, 24)), "partner": False}
        else:
            person = {"id": f"d{index}", "role": "child", "age": draw(st.integers(0, 24))}
        persons.append(person)
    for person in persons:
        person["income"] = draw(income)
        if draw(st.integers(0, 4)) == 0:
            person["pregnancy_week"] = draw(st.integers(0, 45))
        if draw(st.integers(0, 5)) == 0:
            person["disability_additional_need"] = draw(st.booleans())
    household: dict[str, Any] = {
        "persons": persons,
        "costs": draw(st.fixed_dictionaries({}, optional={
            "rent": amounts(200_000), "utilities": amounts(40_000), "heating": amounts(30_000)})),
    }
    household.update(draw(st.fixed_dictionaries({}, optional={
        "rent_cap": amounts(200_000), "first_year": st.booleans()})))
    return {"ruleset": DE, "month": draw(months), "household": household}


requests = {SE: se_requests(), DE: de_requests()}


def value_in_force(request: dict[str, Any]) -> dict[str, Any]:
    return get(request["ruleset"]).parameters.at(Month.parse(request["month"])).values


def as_json(value: Any) -> Any:
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


def used_parameters(request: dict[str, Any]) -> set[str]:
    """Every parameter a traced run used: a single read where its mask holds anywhere, a choice's
    chosen key for each element where its mask holds."""
    ruleset = get(request["ruleset"])
    household = parse_request(request, ruleset.id, ruleset.schema)
    result = simulate(ruleset, household.population, household.inputs, household.month, trace=True)
    assert result.reads is not None
    used: set[str] = set()
    for read in result.reads:
        if read.key is not None:
            if read.where is None or read.where.any():
                used.add(read.key)
            continue
        assert read.index is not None
        index = np.atleast_1d(read.index)
        mask = (np.ones(index.shape, dtype=bool) if read.where is None
                else np.broadcast_to(read.where, index.shape))
        used.update(read.keys[int(i)] for i in index[mask])
    return used


# -- the properties ---------------------------------------------------------------------------
def check_result(request: dict[str, Any], language: str) -> None:
    result = assess(request, language)
    amount = result["amount"]
    assert isinstance(amount, int)
    assert amount >= 0

    need = sum(line["amount"] for line in result["lines"] if line["kind"] == "need")
    income = sum(line["amount"] for line in result["lines"] if line["kind"] == "income")
    assert {line["kind"] for line in result["lines"]} <= {"need", "income"}
    if need - income >= 0:
        assert need - income == amount
    else:
        assert amount == 0

    in_force = value_in_force(request)
    listed: set[str] = set()
    for line in result["lines"]:
        for key, value in line["parameters"].items():
            assert key in in_force, (line["key"], key)
            assert value == as_json(in_force[key]), (line["key"], key, value)
            assert type(value) is type(as_json(in_force[key]))
            listed.add(key)
    used = used_parameters(request)
    assert used <= listed, f"used but in no line: {sorted(used - listed)}"
    assert listed <= used, f"in a line but not used: {sorted(listed - used)}"

    currency = get(request["ruleset"]).currency
    assert format_amount(amount, currency, language) in result["text"]


@SETTINGS
@given(request=se_requests(), language=languages)
def test_swedish_results_keep_the_contract(request: dict[str, Any], language: str) -> None:
    check_result(request, language)


@SETTINGS
@given(request=de_requests(), language=languages)
def test_german_results_keep_the_contract(request: dict[str, Any], language: str) -> None:
    check_result(request, language)


def raised(request: dict[str, Any], person: int, fields: tuple[str, ...], delta: int) -> dict[str, Any]:
    more = copy.deepcopy(request)
    income = more["household"]["persons"][person].setdefault("income", {})
    for name in fields:
        income[name] = income.get(name, 0) + delta
    return more


@SETTINGS
@given(request=se_requests(), data=st.data())
def test_swedish_more_income_never_means_more_support(request: dict[str, Any], data: st.DataObject) -> None:
    person = data.draw(st.integers(0, len(request["household"]["persons"]) - 1), label="person")
    field = data.draw(st.sampled_from(SE_INCOME), label="income")
    delta = data.draw(st.one_of(st.integers(1, 10), st.integers(1, 2_000_000)), label="delta")
    before = assess(request, "en")["amount"]
    after = assess(raised(request, person, (field,), delta), "en")["amount"]
    assert after <= before


@SETTINGS
@given(request=de_requests(), data=st.data())
def test_german_more_income_never_means_more_support(request: dict[str, Any], data: st.DataObject) -> None:
    """Gross earnings alone are not income but the base of the § 11b allowance (more gross at the
    same net is a larger allowance); so earnings are raised gross and net together."""
    person = data.draw(st.integers(0, len(request["household"]["persons"]) - 1), label="person")
    choices = [*((name,) for name in DE_INCOME), ("earnings_gross", "earnings_net")]
    fields = data.draw(st.sampled_from(choices), label="income")
    delta = data.draw(st.one_of(st.integers(1, 10), st.integers(1, 300_000)), label="delta")
    before = assess(request, "en")["amount"]
    after = assess(raised(request, person, fields, delta), "en")["amount"]
    assert after <= before
