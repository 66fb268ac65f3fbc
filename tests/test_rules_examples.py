"""Worked examples with their sources. Where an official example predates the parameters we ship,
the example's own amounts are put in as a reform (parameter overrides) and the rule is checked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wegweiser.rules.errors import ParameterError
from wegweiser.rules.parameters import ParameterSet
from wegweiser.rules.periods import Month
from wegweiser.rulesets import assess, get

SE = "se.ekonomiskt_bistand"
DE = "de.buergergeld"


def request(ruleset: str, month: str, persons: list[dict[str, Any]], **household: Any) -> dict[str, Any]:
    return {"ruleset": ruleset, "month": month, "household": {"persons": persons, **household}}


def adult(pid: str, age: int = 35, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "role": "adult", "age": age, **extra}


def child(pid: str, age: int, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "role": "child", "age": age, **extra}


def line(result: dict[str, Any], key: str) -> dict[str, Any]:
    return next(item for item in result["lines"] if item["key"] == key)


# -- Sweden -----------------------------------------------------------------------------------
def test_riksnorm_2026_totals_single_and_couple() -> None:
    """regeringen.se, 'Riksnorm för 2026 fastställd' (2025-11): 5 220 kr for a single person and
    8 510 kr for cohabiting adults, common household costs included."""
    single = assess(request(SE, "2026-01", [adult("a")]))
    couple = assess(request(SE, "2026-03", [adult("a"), adult("b", 31)]))
    assert single["outputs"]["riksnorm"] == 522000
    assert couple["outputs"]["riksnorm"] == 851000
    assert line(couple, "riksnorm.personal.b")["parameters"] == {"riksnorm.personal.cohabiting_adult": 355000}


@pytest.mark.parametrize(("year", "personal", "common_5", "expected"), [
    (2014, 2950, 1710, 329200),  # Socialstyrelsen 2013-11-19, 'Oförändrade belopp i riksnormen för 2014'
    (2017, 2980, 1740, 332800),  # Socialstyrelsen, riksnormen 2017: 1 740 kr / 5 + 2 980 kr = 3 328 kr
])
def test_adult_sharing_a_household_without_being_a_partner(year: int, personal: int, common_5: int,
                                                            expected: int) -> None:
    """Socialstyrelsen's worked example: a person in a household of 5 who is not a sambo gets the
    single person's personal costs plus a fifth of the common costs."""
    reform = get(SE).parameters.with_overrides({"riksnorm.personal.single_adult": personal,
                                                "riksnorm.common.persons_5": common_5})
    household = request(SE, "2026-01", [adult("a", 40), adult("b", 38), child("c", 9), child("d", 12),
                                        adult("x", 30, partner=False)])
    result = assess(household, "sv", parameters=reform)
    mine = line(result, "riksnorm.personal.x")["amount"] + line(result, "riksnorm.common_share.x")["amount"]
    assert mine == expected
    share = line(result, "riksnorm.common_share.x")
    assert share["parameters"] == {"riksnorm.common.persons_5": common_5 * 100}


def test_households_above_seven_persons_add_the_step_from_six_to_seven() -> None:
    """SoF bilaga / Socialstyrelsen: each member beyond 7 adds the difference between 6 and 7."""
    parameters = get(SE).parameters
    nine = [adult("a"), adult("b")] + [child(f"c{i}", 8) for i in range(7)]
    result = assess(request(SE, "2026-01", nine))
    p = parameters.at(Month(2026, 1)).values
    seven, six = p["riksnorm.common.persons_7"], p["riksnorm.common.persons_6"]
    assert line(result, "riksnorm.common")["amount"] == seven + 2 * (seven - six)
    assert set(line(result, "riksnorm.common")["parameters"]) == {"riksnorm.common.persons_7",
                                                                  "riksnorm.common.persons_6"}


def test_job_stimulus_counts_75_percent_of_earnings() -> None:
    """Sundsvall kommun's Lifecare fixture (api-service-caremanagement): 'Lön efter skatt 5 000'
    counted as 3 750 with jobStimulusPercent 25; 4 kap. 1 b § SoL: after 6 months on support."""
    before = assess(request(SE, "2026-01", [adult("a", income={"salary_net": 500000})], months_on_support=5))
    after = assess(request(SE, "2026-01", [adult("a", income={"salary_net": 500000})], months_on_support=6))
    assert before["outputs"]["income_counted"] == 500000
    assert after["outputs"]["income_counted"] == 375000
    assert line(after, "income.job_stimulus.a")["parameters"]["job_stimulus.rate"] == 0.25
    used_up = assess(request(SE, "2026-01", [adult("a", income={"salary_net": 500000})],
                             months_on_support=40, job_stimulus_months_used=24))
    assert used_up["outputs"]["income_counted"] == 500000


def test_childrens_own_earnings_free_up_to_a_twelfth_of_the_price_base_amount() -> None:
    """4 kap. 1 a § SoL (prop. 2012/13:94): children's earnings are not counted up to one
    prisbasbelopp a year; 2026: 59 200 kr (regeringen.se) → 4 933.33 kr a month, rounded down."""
    result = assess(request(SE, "2026-01", [adult("a"), child("c", 17, income={"salary_net": 600000})]))
    assert result["outputs"]["income_counted"] == 600000 - 493333
    not_counted = line(result, "income.child_earnings_not_counted.c")
    assert not_counted["parameters"] == {"price_base_amount.value": 5920000}


def test_constructed_single_adult_example_with_rent() -> None:
    """The reference report's constructed example (not an official oracle): 2026, rent 6 000 kr,
    electricity 300, home insurance 150, no income → 11 670 kr."""
    result = assess(request(SE, "2026-01", [adult("a")], costs={
        "housing": 600000, "household_electricity": 30000, "home_insurance": 15000}))
    assert result["amount"] == 1167000
    capped = assess(request(SE, "2026-01", [adult("a")], costs={"housing": 600000}, rent_cap=550000))
    assert line(capped, "costs.housing")["amount"] == 550000


# -- Germany -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("gross", "with_child", "allowance"), [
    (30000, False, 14000), (52000, False, 18400), (100000, False, 32800), (120000, False, 34800),
    (150000, False, 34800), (150000, True, 37800), (8000, False, 8000),
])
def test_erwerbstaetigenfreibetrag_checkpoints(gross: int, with_child: bool, allowance: int) -> None:
    """§ 11b Abs. 2, 3 SGB II since 1.7.2023 (BA Wissensdatenbank § 11b; GETTSIM freibeträge.yaml):
    gross 300 € → 140 €; 520 → 184; 1 000 → 328; 1 200 → 348; 1 500 → 348, with a child 378."""
    persons = [adult("a", 40, income={"earnings_gross": gross, "earnings_net": gross})]
    if with_child:
        persons.append(child("k", 10))
    result = assess(request(DE, "2025-05", persons))
    assert line(result, "income.deductions.a")["amount"] == -allowance


def test_single_with_earnings_constructed_example() -> None:
    """The reference report's constructed example (not an official oracle): 2026, single,
    reasonable warm rent 600 €, gross 1 000 €, net 800 € → need 1 163 €, counted 472 €, 691 €."""
    result = assess(request(DE, "2026-02", [adult("a", 40, income={"earnings_gross": 100000,
                                                                    "earnings_net": 80000})],
                            costs={"rent": 50000, "heating": 10000}))
    assert result["outputs"]["need_total"] == 116300
    assert result["outputs"]["income_counted"] == 47200
    assert result["amount"] == 69100
    assert result["outputs"]["regelleistung"] == 56300 - 47200  # income covers the Regelbedarf first
    assert result["outputs"]["kdu_leistung"] == 60000


def test_mehrbedarfe_percentages() -> None:
    """§ 21 SGB II: lone parent 36 % of RBS 1 = 202.68 €; pregnancy 17 % = 95.71 € (RBS 1) and
    86.02 € (RBS 2); disability 35 % = 197.05 €."""
    lone = assess(request(DE, "2026-01", [adult("m", 30), child("k", 4)]))
    assert line(lone, "mehrbedarf.lone_parent.m")["amount"] == 20268
    pregnant = assess(request(DE, "2026-01", [adult("a", 28, pregnancy_week=13), adult("b", 30)]))
    assert line(pregnant, "mehrbedarf.pregnancy.a")["amount"] == 8602
    single = assess(request(DE, "2026-01", [adult("a", 28, pregnancy_week=20)]))
    assert line(single, "mehrbedarf.pregnancy.a")["amount"] == 9571
    early = assess(request(DE, "2026-01", [adult("a", 28, pregnancy_week=12)]))
    assert line(early, "mehrbedarf.pregnancy.a")["amount"] == 0  # shown: week 13 decided it
    disabled = assess(request(DE, "2026-01", [adult("a", 40, disability_additional_need=True)]))
    assert line(disabled, "mehrbedarf.disability.a")["amount"] == 19705


def test_lone_parent_per_child_and_cap() -> None:
    """§ 21 Abs. 3 SGB II: four children aged 8–17 → 4 × 12 % = 48 %; six → capped at 60 %."""
    four = assess(request(DE, "2026-01", [adult("m", 40)] + [child(f"k{i}", 8 + i) for i in range(4)]))
    assert line(four, "mehrbedarf.lone_parent.m")["amount"] == 27024  # 563 € × 48 %
    six = assess(request(DE, "2026-01", [adult("m", 45)] + [child(f"k{i}", 8 + i) for i in range(6)]))
    assert line(six, "mehrbedarf.lone_parent.m")["amount"] == 33780  # 563 € × 60 %


def test_kindergeld_above_the_childs_need_counts_for_the_parent() -> None:
    """§ 11 Abs. 1 S. 5 SGB II: surplus Kindergeld is the parent's income; other surplus child
    income (maintenance) is not counted for the parents (§ 9 Abs. 2 SGB II)."""
    persons = [adult("m", 40), child("k", 17, income={"child_benefit": 25500, "maintenance": 80000})]
    result = assess(request(DE, "2026-01", persons, costs={"rent": 40000}))
    need_child = 47100 + 2500 + 20000  # RBS 4 + Sofortzuschlag + half the rent
    counted_child = need_child + 25500  # maintenance covers the need first, all Kindergeld left over
    assert result["outputs"]["income_counted"] == counted_child
    assert line(result, "income.child_not_counted.k")["amount"] == -(25500 + 80000 - counted_child)


def test_housing_cap_and_grace_year_with_the_2026_change() -> None:
    """§ 22 Abs. 1 SGB II: actual costs in the grace year; afterwards up to the local limit; from
    1 July 2026 at most 150 % of the limit in the grace year (Grundsicherungsgeld, unverified)."""
    costs = {"rent": 90000, "utilities": 10000, "heating": 8000}
    base = [adult("a", 40)]
    assert line(assess(request(DE, "2026-06", base, costs=costs, rent_cap=50000, first_year=True)),
                "kdu.accommodation")["amount"] == 100000
    after = assess(request(DE, "2026-07", base, costs=costs, rent_cap=50000, first_year=True))
    assert line(after, "kdu.accommodation")["amount"] == 75000
    assert "unterkunft.karenzzeit_cap_rate" in after["unverified_parameters"]
    assert line(assess(request(DE, "2026-06", base, costs=costs, rent_cap=50000)),
                "kdu.accommodation")["amount"] == 50000


def test_every_parameter_file_is_sourced_and_labelled() -> None:
    for ruleset_id in (SE, DE):
        parameters: ParameterSet = get(ruleset_id).parameters
        for parameter in parameters:
            assert parameter.reference.strip(), parameter.key
            assert all(parameter.label[lang].strip() for lang in ("de", "sv", "en")), parameter.key
            for entry in parameter.values:
                assert entry.reference.strip(), parameter.key


def test_a_stored_snapshot_reproduces_the_result_after_the_files_change() -> None:
    """An assessment stores its inputs and every parameter value in force; years later, after a
    parameter gained a corrected value for that very month, the snapshot still gives the old
    result to the cent (issue 5's `benefits reproduce` rests on this)."""
    earner = adult("m", 30, income={"earnings_gross": 60000, "earnings_net": 48000})
    household = request(DE, "2026-01", [earner, child("k", 4, income={"child_benefit": 25900})],
                        costs={"rent": 55000, "heating": 9000})
    original = assess(household, "de", with_snapshot=True)
    snapshot = json.loads(json.dumps(original["parameter_snapshot"]))  # as stored in a JSON column
    assert snapshot["mehrbedarf.lone_parent_high_rate"]["value"] == "9/25"
    corrected = get(DE).parameters.with_overrides({"regelbedarf.rbs_1": {"2026-01-01": 600},
                                                   "mehrbedarf.lone_parent_high_rate": {"2025-06-01": 0.4}})
    assert assess(household, "de", parameters=corrected)["amount"] != original["amount"]
    again = assess(household, "de", parameters=corrected, snapshot=snapshot, with_snapshot=True)
    assert again["amount"] == original["amount"]
    assert again["parameter_snapshot"] == snapshot
    assert again["lines"] == original["lines"] and again["text"] == original["text"]
    with pytest.raises(ParameterError, match="not a fraction"):
        assess(household, "de", snapshot={**snapshot, "regelbedarf.rbs_1": {"value": "abc"}})
