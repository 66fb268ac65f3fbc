"""Swedish försörjningsstöd (ekonomiskt bistånd): riksnorm + reasonable costs outside the norm −
all net household income, per household and month.

Legal frame: SoL (2001:453) 4 kap. 1 a, 1 b, 3 §§ until 30 June 2025, SoL (2025:400) 12 kap. 7 §
from 1 July 2025; amounts in the socialtjänstförordningen's annex (SoF). Facts and sources:
../shared/reference/benefits.md §2. Kept out (decided individually by the case worker, not by
rules): livsföring i övrigt (dental care, glasses, furniture), a raised or lowered norm for special
reasons, children living part-time with each parent (per-day amounts), the "utan lunch" variant for
children aged 0–6, and the assets test.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from wegweiser.rules.engine import HOUSEHOLD, PERSON, Ruleset, labels
from wegweiser.rules.money import clip0, divide_half_up, on_subset, rate_down, rate_half_up
from wegweiser.rules.periods import Month
from wegweiser.rules.schema import InputSchema

SOL = "SoL (2025:400) 12 kap. 7 §; SoL (2001:453) 4 kap. 3 §"

ruleset = Ruleset(
    id="se.ekonomiskt_bistand", version="2026.1", currency="SEK",
    first_month=Month(2024, 1), last_month=Month(2026, 12),
    parameter_dir=Path(__file__).parent / "parameters",
    label={"de": "Schweden: Ekonomiskt bistånd (försörjningsstöd)",
           "sv": "Ekonomiskt bistånd (försörjningsstöd)",
           "en": "Sweden: financial assistance (försörjningsstöd)"},
    reference=SOL,
    outputs=("riksnorm", "reasonable_costs", "need_total", "income_counted"),
)
r = ruleset


L = labels  # short: every formula below carries three labels


# -- inputs (names as in the contract) -------------------------------------------------------
r.person_basics(not_partner=L("Lebt im Haushalt, ohne Partner zu sein",
                              "Ingår i hushållet utan att vara sambo",
                              "Lives in the household without being a partner"))
r.input("lives_at_home_in_school", entity=PERSON, unit="bool",
        label=L("19–20 Jahre, Schüler, wohnt bei den Eltern", "19–20 år, skolungdom hemma",
                "Aged 19–20, in school, living at home"))
INCOME = {
    "salary_net": L("Lohn (netto)", "Lön efter skatt", "Salary (net)"),
    "pension_net": L("Rente (netto)", "Pension efter skatt", "Pension (net)"),
    "sickness_benefit_net": L("Krankengeld (netto)", "Sjukpenning efter skatt", "Sickness benefit (net)"),
    "unemployment_benefit_net": L("Arbeitslosengeld (netto)", "A-kassa efter skatt",
                                  "Unemployment benefit (net)"),
    "parental_benefit_net": L("Elterngeld (netto)", "Föräldrapenning efter skatt", "Parental benefit (net)"),
    "student_aid": L("Studienbeihilfe (CSN)", "Studiemedel (CSN)", "Student aid (CSN)"),
    "other_net": L("Sonstiges Einkommen (netto)", "Övrig inkomst efter skatt", "Other income (net)"),
}
for _name, _label in INCOME.items():
    r.input(_name, entity=PERSON, unit="currency", label=_label, reference="SoL (2001:453) 4 kap. 1 §")
COSTS = {
    "housing": L("Wohnkosten", "Boendekostnad", "Housing"),
    "household_electricity": L("Haushaltsstrom", "Hushållsel", "Household electricity"),
    "home_insurance": L("Hausratversicherung", "Hemförsäkring", "Home insurance"),
    "work_travel": L("Fahrten zur Arbeit", "Arbetsresor", "Travel to work"),
    "union_fee": L("Gewerkschaftsbeitrag", "Fackföreningsavgift", "Union fee"),
    "unemployment_fund_fee": L("Beitrag Arbeitslosenkasse", "A-kasseavgift", "Unemployment fund fee"),
}
for _name, _label in COSTS.items():
    r.input(_name, entity=HOUSEHOLD, unit="currency", label=_label,
            reference="SoL (2001:453) 4 kap. 3 § 2 p.; SoL (2025:400) 12 kap.")
BENEFITS = {
    "child_allowance": L("Kindergeld (barnbidrag)", "Barnbidrag inkl. flerbarnstillägg", "Child allowance"),
    "housing_allowance": L("Wohngeld (bostadsbidrag)", "Bostadsbidrag", "Housing allowance"),
    "maintenance_support": L("Unterhaltsvorschuss (underhållsstöd)", "Underhållsstöd", "Maintenance support"),
}
for _name, _label in BENEFITS.items():
    r.input(_name, entity=HOUSEHOLD, unit="currency", label=_label, reference="SoL (2001:453) 4 kap. 1 §")
r.input("rent_cap", entity=HOUSEHOLD, unit="currency",
        label=L("Obergrenze der Wohnkosten der Gemeinde", "Kommunens högsta godtagbara boendekostnad",
                "The municipality's housing cost cap"))
r.input("months_on_support", entity=HOUSEHOLD, unit="months",
        label=L("Monate in Folge mit Försörjningsstöd", "Månader i följd med försörjningsstöd",
                "Consecutive months on support"), maximum=1200)
r.input("job_stimulus_months_used", entity=HOUSEHOLD, unit="months",
        label=L("Bereits genutzte Monate der jobbstimulans", "Redan använda månader med jobbstimulans",
                "Months of job stimulus already used"), maximum=1200)


# -- who is who in the household -------------------------------------------------------------
@r.formula(entity=PERSON, unit="bool", reference="SoF bilaga (skolungdom 19–20 år)",
           label=L("Schüler 19–20 im Elternhaus", "Skolungdom 19–20 år", "Pupil aged 19–20 at home"))
def school_youth(is_adult: Any, age: Any, lives_at_home_in_school: Any) -> Any:
    """A 19- or 20-year-old in school at home counts with the youth amount, not as an adult;
    a person given as a child aged 19–20 likewise."""
    return (age >= 19) & (age <= 20) & (lives_at_home_in_school | ~is_adult)


@r.formula(entity=PERSON, unit="bool", reference="SOSFS 2013:1 (hushållsgemenskap)",
           label=L("Erwachsene Person des Haushalts", "Vuxen i hushållet", "Adult of the household"))
def household_adult(is_adult: Any, school_youth: Any) -> Any:
    return is_adult & ~school_youth


@r.formula(entity=PERSON, unit="bool", reference="SoL (2001:453) 4 kap. 3 §; SOSFS 2013:1",
           label=L("Lebt in Partnerschaft (sambo)", "Sammanboende (sambo)", "Cohabiting partner"))
def cohabiting(household_adult: Any, not_partner: Any, pop: Any) -> Any:
    """Two adults are a couple unless one is marked ``partner: false``; with more candidates the
    first two (in the order given) are the couple."""
    candidate = household_adult & ~not_partner
    return candidate & (pop.rank(candidate) < 2) & pop.project(pop.sum(candidate) >= 2)


@r.formula(entity=PERSON, unit="bool",
           reference="Socialstyrelsen, riksnormen: person i hushåll utan att vara sambo",
           label=L("Erwachsene Person ohne Partnerschaft im Haushalt",
                   "Vuxen i hushållet utan att vara sambo", "Adult in the household who is not a partner"))
def non_partner_adult(household_adult: Any, cohabiting: Any, not_partner: Any, pop: Any) -> Any:
    """Adults beside the family: every adult not in the couple, except the one adult heading a
    household without a couple (the first adult not marked ``partner: false``, else the first)."""
    candidate = household_adult & ~not_partner
    has_couple = pop.project(pop.any(cohabiting))
    has_candidate = pop.project(pop.any(candidate))
    head = np.where(has_candidate, candidate & (pop.rank(candidate) == 0),
                    household_adult & (pop.rank(household_adult) == 0))
    return household_adult & ~cohabiting & ~(head & ~has_couple)


PERSONAL_KEYS = tuple(f"riksnorm.personal.{k}" for k in (
    "child_0", "child_1_2", "child_3", "child_4_6", "child_7_10", "child_11_14", "child_15_18",
    "youth_19_20", "single_adult", "cohabiting_adult"))
_CHILD_BANDS = np.array([0, 1, 3, 4, 7, 11, 15, 19], dtype=np.int16)


# -- the norm ----------------------------------------------------------------------------------
@r.formula(entity=PERSON, unit="currency", reference=SOL + "; SoF bilaga",
           label=L("Persönliche Kosten (riksnorm)", "Personliga kostnader (riksnorm)",
                   "Personal costs (riksnorm)"))
def riksnorm_personal(is_adult: Any, age: Any, school_youth: Any, cohabiting: Any, p: Any) -> Any:
    """Children and pupils by age band; adults as a single person, or half the couple amount."""
    band = (np.searchsorted(_CHILD_BANDS, age, side="right") - 1).astype(np.int8)
    np.minimum(band, 7, out=band)
    band[is_adult & ~school_youth] = 8
    band[cohabiting] = 9
    return p.choose(band, PERSONAL_KEYS)


COMMON_KEYS = tuple(f"riksnorm.common.persons_{n}" for n in range(1, 8))


@r.formula(entity=HOUSEHOLD, unit="currency", reference=SOL + "; SoF bilaga",
           label=L("Gemeinsame Haushaltskosten nach Haushaltsgröße",
                   "Gemensamma hushållskostnader efter hushållets storlek",
                   "Common household costs by household size"))
def household_common_costs(pop: Any, p: Any) -> Any:
    """Up to 7 persons from the table; each further person adds the step from 6 to 7 persons."""
    size = pop.sizes
    large = size > 7
    seven = p.value("riksnorm.common.persons_7", where=large)
    six = p.value("riksnorm.common.persons_6", where=large)
    table = p.choose(np.minimum(size, 7) - 1, COMMON_KEYS, where=~large)
    return np.where(large, seven + (size - 7) * (seven - six), table)


@r.formula(entity=PERSON, unit="currency",
           reference="Socialstyrelsen, riksnormen: personens del av de gemensamma hushållskostnaderna",
           label=L("Anteil an den gemeinsamen Haushaltskosten", "Andel av gemensamma hushållskostnader",
                   "Share of common household costs"))
def common_share_non_partner(non_partner_adult: Any, household_common_costs: Any, pop: Any) -> Any:
    """An adult who is not a partner: common costs of the whole household ÷ its size (to the öre,
    half up), next to the single person's personal costs."""
    share = divide_half_up(household_common_costs, pop.sizes)
    return np.where(non_partner_adult, pop.project(share), 0)


@r.formula(entity=HOUSEHOLD, unit="currency", reference=SOL + "; SoF bilaga",
           label=L("Gemeinsame Haushaltskosten (riksnorm)", "Gemensamma hushållskostnader (riksnorm)",
                   "Common household costs (riksnorm)"))
def riksnorm_common(household_common_costs: Any, common_share_non_partner: Any, pop: Any) -> Any:
    return household_common_costs - pop.sum(common_share_non_partner)


@r.formula(entity=HOUSEHOLD, unit="currency", reference=SOL,
           label=L("Reichsnorm des Haushalts", "Hushållets riksnorm", "The household's riksnorm"))
def riksnorm(riksnorm_personal: Any, household_common_costs: Any, pop: Any) -> Any:
    return pop.sum(riksnorm_personal) + household_common_costs


# -- reasonable costs outside the norm -------------------------------------------------------
@r.formula(entity=HOUSEHOLD, unit="currency",
           reference="SoL (2001:453) 4 kap. 3 § 2 p.; SoL (2025:400) 12 kap.; kommunens riktlinjer",
           label=L("Wohnkosten (bis zur Obergrenze der Gemeinde)",
                   "Boendekostnad (upp till kommunens gräns)", "Housing (up to the municipality's cap)"))
def housing_counted(housing: Any, rent_cap: Any) -> Any:
    return np.where(rent_cap > 0, np.minimum(housing, rent_cap), housing)


@r.formula(entity=HOUSEHOLD, unit="currency", reference="SoL (2001:453) 4 kap. 3 § 2 p.",
           label=L("Angemessene Kosten außerhalb der Norm", "Skäliga kostnader utanför normen",
                   "Reasonable costs outside the norm"))
def reasonable_costs(housing_counted: Any, household_electricity: Any, home_insurance: Any,
                     work_travel: Any, union_fee: Any, unemployment_fund_fee: Any) -> Any:
    return (housing_counted + household_electricity + home_insurance + work_travel + union_fee
            + unemployment_fund_fee)


@r.formula(entity=HOUSEHOLD, unit="currency", reference=SOL,
           label=L("Bedarf insgesamt", "Totalt behov", "Total need"))
def need_total(riksnorm: Any, reasonable_costs: Any) -> Any:
    return riksnorm + reasonable_costs


# -- income ------------------------------------------------------------------------------------
@r.formula(entity=PERSON, unit="currency", reference="SoL (2001:453) 4 kap. 1 §",
           label=L("Nettoeinkommen", "Inkomster efter skatt", "Net income"))
def income_net(salary_net: Any, pension_net: Any, sickness_benefit_net: Any,
               unemployment_benefit_net: Any, parental_benefit_net: Any, student_aid: Any,
               other_net: Any) -> Any:
    return (salary_net + pension_net + sickness_benefit_net + unemployment_benefit_net
            + parental_benefit_net + student_aid + other_net)


@r.formula(entity=PERSON, unit="bool", reference="SoL (2001:453) 4 kap. 1 a §",
           label=L("Kind oder Schüler (eigenes Erwerbseinkommen bleibt frei)",
                   "Barn eller skolungdom (egen arbetsinkomst räknas inte)",
                   "Child or pupil (own earnings not counted)"))
def child_or_pupil(is_adult: Any, school_youth: Any) -> Any:
    return ~is_adult | school_youth


@r.formula(entity=PERSON, unit="currency", reference="SoL (2001:453) 4 kap. 1 a §; prop. 2012/13:94",
           label=L("Nicht angerechnetes Erwerbseinkommen des Kindes (bis 1/12 Preisbasisbetrag)",
                   "Barns arbetsinkomst som inte räknas (upp till 1/12 prisbasbelopp)",
                   "Child's earnings not counted (up to 1/12 of the price base amount)"))
def child_earnings_not_counted(salary_net: Any, child_or_pupil: Any, p: Any) -> Any:
    earning = child_or_pupil & (salary_net > 0)
    monthly_limit = rate_down(p.value("price_base_amount.value", where=earning), Fraction(1, 12))
    return on_subset(earning, salary_net, lambda salary: -np.minimum(salary, monthly_limit))


@r.formula(entity=PERSON, unit="currency", reference="SoL (2001:453) 4 kap. 1 b §; prop. 2012/13:94",
           label=L("Nicht angerechnetes Erwerbseinkommen (jobbstimulans 25 %)",
                   "Arbetsinkomst som inte räknas (jobbstimulans 25 %)",
                   "Earnings not counted (job stimulus 25 %)"))
def job_stimulus_not_counted(salary_net: Any, child_or_pupil: Any, months_on_support: Any,
                             job_stimulus_months_used: Any, pop: Any, p: Any) -> Any:
    """After 6 consecutive months on support, 25 % of an adult's earnings is not counted, for 24
    months; rounded half up to the öre."""
    earning = ~child_or_pupil & (salary_net > 0)
    qualifies = ((months_on_support >= p.value("job_stimulus.qualifying_months", where=earning))
                 & (job_stimulus_months_used < p.value("job_stimulus.duration_months", where=earning)))
    applies = earning & pop.project(qualifies)
    rate = p.value("job_stimulus.rate", where=applies)
    return on_subset(applies, salary_net, lambda salary: -rate_half_up(salary, rate))


@r.formula(entity=HOUSEHOLD, unit="currency", reference="SoL (2001:453) 4 kap. 1 §",
           label=L("Angerechnetes Einkommen des Haushalts", "Hushållets inkomster som räknas",
                   "Household income counted"))
def income_counted(income_net: Any, child_earnings_not_counted: Any, job_stimulus_not_counted: Any,
                   child_allowance: Any, housing_allowance: Any, maintenance_support: Any,
                   pop: Any) -> Any:
    person = income_net + child_earnings_not_counted
    person += job_stimulus_not_counted  # in place: one person-sized array less at the peak
    return pop.sum(person) + child_allowance + housing_allowance + maintenance_support


@r.formula(entity=HOUSEHOLD, unit="currency", reference=SOL,
           label=L("Försörjningsstöd im Monat", "Försörjningsstöd för månaden",
                   "Försörjningsstöd for the month"))
def amount(need_total: Any, income_counted: Any) -> Any:
    return clip0(need_total - income_counted)


# -- explanation lines, in the order a decision letter lists them ----------------------------
r.line("riksnorm.personal", "riksnorm_personal", "need", label_from_parameter=True, always=True)
r.line("riksnorm.common_share", "common_share_non_partner", "need", where="non_partner_adult")
r.line("riksnorm.common", "riksnorm_common", "need", label_from_parameter=True, always=True)
r.line("costs.housing", "housing_counted", "need")
for _name in list(COSTS)[1:]:
    r.line(f"costs.{_name}", _name, "need")
r.line("income.net", "income_net", "income")
r.line("income.child_earnings_not_counted", "child_earnings_not_counted", "income")
r.line("income.job_stimulus", "job_stimulus_not_counted", "income")
for _name in BENEFITS:
    r.line(f"income.{_name}", _name, "income")

r.schema = InputSchema(
    income=tuple(INCOME), costs=tuple(COSTS), benefits=tuple(BENEFITS),
    person_flags={"lives_at_home_in_school": ("bool", 1)},
    household_fields={"months_on_support": ("int", 1200), "rent_cap": ("money", 0),
                      "job_stimulus_months_used": ("int", 1200)},
    max_child_age=20,
)
