"""German Bürgergeld (from 1 July 2026 Grundsicherungsgeld), SGB II: Regelbedarf + Mehrbedarfe +
Unterkunft und Heizung − bereinigtes Einkommen, per Bedarfsgemeinschaft and month.

The household given is one Bedarfsgemeinschaft: one adult or a couple, and their children under
25 (given as ``child``, or as an adult under 25 marked ``partner: false``). Parents' income counts
for their children; a child's income only for the child itself, except surplus Kindergeld, which
counts as the parent's income (§ 11 Abs. 1 S. 5, § 9 Abs. 2 SGB II). Income covers the Regelbedarf
and Mehrbedarfe first, then housing (§ 19 Abs. 3 SGB II): ``regelleistung`` and ``kdu_leistung``
say which part of the amount is which.

Kept out (need data the contract does not carry, or local decisions): Bildung und Teilhabe, the
decentral warm-water Mehrbedarf, special diets, unavoidable special needs (§ 21 Abs. 6), the
higher proven work costs over 400 € (§ 11b Abs. 2 S. 2), the allowances for pupils and students
(§ 11b Abs. 2b), assets (§ 12), sanctions, RBS 3 for under-25s who moved out without consent,
and the per-member split of the entitlement (§ 9 Abs. 2 S. 3).
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from pathlib import Path
from typing import Any

import numpy as np

from wegweiser.rules.engine import HOUSEHOLD, PERSON, Ruleset, labels
from wegweiser.rules.money import clip0, divide_half_up, on_subset, rate_half_up
from wegweiser.rules.periods import Month
from wegweiser.rules.schema import InputSchema

ruleset = Ruleset(
    id="de.buergergeld", version="2026.1", currency="EUR",
    first_month=Month(2024, 1), last_month=Month(2026, 12),
    parameter_dir=Path(__file__).parent / "parameters",
    label={"de": "Bürgergeld / Grundsicherungsgeld (SGB II)",
           "sv": "Tyskland: Bürgergeld / Grundsicherungsgeld (SGB II)",
           "en": "Germany: Bürgergeld / Grundsicherungsgeld (SGB II)"},
    reference="§§ 19–22, 11–11b SGB II",
    outputs=("regelbedarf_total", "mehrbedarf_total", "kdu_total", "need_total", "income_counted",
             "regelleistung", "kdu_leistung"),
)
r = ruleset


L = labels  # short: every formula below carries three labels


# -- inputs ------------------------------------------------------------------------------------
r.person_basics(not_partner=L("Nicht Partner in der Bedarfsgemeinschaft", "Inte partner", "Not a partner"))
INCOME = {
    "earnings_gross": L("Erwerbseinkommen (brutto)", "Arbetsinkomst (brutto)", "Earnings (gross)"),
    "earnings_net": L("Erwerbseinkommen (netto)", "Arbetsinkomst (netto)", "Earnings (net)"),
    "child_benefit": L("Kindergeld", "Barnbidrag (Kindergeld)", "Child benefit (Kindergeld)"),
    "maintenance": L("Unterhalt / Unterhaltsvorschuss", "Underhåll", "Maintenance"),
    "other": L("Sonstiges Einkommen", "Övrig inkomst", "Other income"),
}
for _name, _label in INCOME.items():
    r.input(_name, entity=PERSON, unit="currency", label=_label, reference="§ 11 SGB II")
r.input("pregnancy_week", entity=PERSON, unit="weeks", maximum=45,
        label=L("Schwangerschaftswoche", "Graviditetsvecka", "Week of pregnancy"))
r.input("disability_additional_need", entity=PERSON, unit="bool",
        label=L("Leistungen zur Teilhabe am Arbeitsleben (Behinderung)",
                "Stöd för deltagande i arbetslivet (funktionsnedsättning)",
                "Participation benefits for working life (disability)"))
COSTS = {
    "rent": L("Miete (kalt)", "Hyra (kall)", "Rent (without heating)"),
    "utilities": L("Nebenkosten", "Driftskostnader", "Service charges"),
    "heating": L("Heizkosten", "Uppvärmning", "Heating"),
}
for _name, _label in COSTS.items():
    r.input(_name, entity=HOUSEHOLD, unit="currency", label=_label, reference="§ 22 Abs. 1 SGB II")
r.input("rent_cap", entity=HOUSEHOLD, unit="currency",
        label=L("Angemessenheitsgrenze Unterkunft (Bruttokaltmiete)",
                "Lokal gräns för skälig boendekostnad", "Local limit for reasonable accommodation costs"),
        reference="§ 22 Abs. 1, §§ 22a–22c SGB II")
r.input("first_year", entity=HOUSEHOLD, unit="bool",
        label=L("Karenzzeit (erstes Jahr des Leistungsbezugs)", "Karenstid (första året)",
                "Grace year (first year on benefit)"), reference="§ 22 Abs. 1 S. 2 SGB II")


# -- who is who in the Bedarfsgemeinschaft ----------------------------------------------------
@r.formula(entity=PERSON, unit="bool", reference="§ 7 Abs. 3 Nr. 3 SGB II",
           label=L("Partner", "Partner", "Partner"))
def partner(is_adult: Any, not_partner: Any, pop: Any) -> Any:
    """Two adults are partners unless marked otherwise; with more, the first two given."""
    candidate = is_adult & ~not_partner
    return candidate & (pop.rank(candidate) < 2) & pop.project(pop.sum(candidate) >= 2)


@r.formula(entity=PERSON, unit="bool", reference="§ 7 Abs. 3 Nr. 1 SGB II",
           label=L("Antragstellende Person (ohne Partner)", "Sökande (utan partner)",
                   "Claimant without a partner"))
def single_head(is_adult: Any, not_partner: Any, partner: Any, pop: Any) -> Any:
    """Without a couple, the first adult not marked ``partner: false`` (else the first adult)."""
    candidate = is_adult & ~not_partner
    has_couple = pop.project(pop.any(partner))
    has_candidate = pop.project(pop.any(candidate))
    first = np.where(has_candidate, candidate & (pop.rank(candidate) == 0),
                     is_adult & (pop.rank(is_adult) == 0))
    return first & ~has_couple


@r.formula(entity=PERSON, unit="bool", reference="§ 7 Abs. 3 Nr. 4 SGB II",
           label=L("Kind in der Bedarfsgemeinschaft", "Barn i hushållet", "Child in the household"))
def bg_child(partner: Any, single_head: Any) -> Any:
    return ~partner & ~single_head


@r.formula(entity=HOUSEHOLD, unit="count", reference="§ 11b Abs. 3 S. 3 SGB II; § 21 Abs. 3 SGB II",
           label=L("Minderjährige Kinder", "Minderåriga barn", "Minor children"))
def minor_children(bg_child: Any, age: Any, pop: Any) -> Any:
    return pop.sum(bg_child & (age < 18))


RBS_KEYS = tuple(f"regelbedarf.rbs_{n}" for n in range(1, 7))


@r.formula(entity=PERSON, unit="currency", reference="§§ 20, 23 SGB II",
           label=L("Regelbedarf", "Regelbedarf", "Standard needs"))
def regelbedarf(partner: Any, single_head: Any, age: Any, pop: Any, p: Any) -> Any:
    """Level 1 for the claimant without a partner (level 4 if under 18), 2 for each partner of
    full age; a partner under 18 is on level 4 and the other partner then on level 1 (§ 20 Abs. 2
    S. 1, Abs. 4); children by age: 3 from 18, 4 from 14, 5 from 6, else 6."""
    minor_partner = pop.project(pop.any(partner & (age < 18)))
    child_level = np.where(age >= 18, 2, np.where(age >= 14, 3, np.where(age >= 6, 4, 5)))
    partner_level = np.where(age < 18, 3, np.where(minor_partner, 0, 1))
    level = np.where(partner, partner_level, np.where(single_head, np.where(age >= 18, 0, 3), child_level))
    return p.choose(level, RBS_KEYS)


@r.formula(entity=PERSON, unit="currency", reference="§ 72 SGB II",
           label=L("Sofortzuschlag für Kinder", "Omedelbart barntillägg", "Immediate child supplement"))
def sofortzuschlag(bg_child: Any, age: Any, p: Any) -> Any:
    """For everyone with Regelbedarfsstufe 3 to 6: the children, and a claimant or partner under 18."""
    applies = bg_child | (age < 18)
    return np.where(applies, p.value("regelbedarf.sofortzuschlag", where=applies), 0)


# -- Mehrbedarfe ------------------------------------------------------------------------------
@r.formula(entity=PERSON, unit="currency", reference="§ 21 Abs. 2 SGB II",
           label=L("Mehrbedarf bei Schwangerschaft", "Merbehov vid graviditet",
                   "Additional need in pregnancy"))
def mehrbedarf_pregnancy(pregnancy_week: Any, regelbedarf: Any, p: Any) -> Any:
    applies = pregnancy_week >= p.value("mehrbedarf.pregnancy_from_week", where=pregnancy_week > 0)
    rate = p.value("mehrbedarf.pregnancy_rate", where=applies)
    return on_subset(applies, regelbedarf, lambda need: rate_half_up(need, rate))


@r.formula(entity=PERSON, unit="currency", reference="§ 21 Abs. 3 SGB II",
           label=L("Mehrbedarf für Alleinerziehende", "Merbehov för ensamstående förälder",
                   "Additional need of a lone parent"))
def mehrbedarf_lone_parent(single_head: Any, bg_child: Any, age: Any, regelbedarf: Any, pop: Any,
                           p: Any) -> Any:
    """36 % with one child under 7 or two or three under 16, else 12 % per minor child; the higher
    of the two, at most 60 %, of the parent's Regelbedarf."""
    minors = pop.project(pop.sum(bg_child & (age < 18)))
    under_7 = pop.project(pop.sum(bg_child & (age < 7)))
    under_16 = pop.project(pop.sum(bg_child & (age < 16)))
    applies = single_head & (minors > 0)
    high = applies & ((under_7 >= 1) | ((under_16 >= 2) & (under_16 <= 3)))
    high_rate = p.value("mehrbedarf.lone_parent_high_rate", where=high)
    per_child = p.value("mehrbedarf.lone_parent_per_child_rate", where=applies)
    max_rate = p.value("mehrbedarf.lone_parent_max_rate", where=applies & (minors >= 5))
    # Shares as whole hundredths of a percent keep the comparison exact in integers.
    scale = lcm(high_rate.denominator, per_child.denominator, max_rate.denominator)
    share = np.minimum(np.maximum(np.where(high, high_rate.numerator * (scale // high_rate.denominator), 0),
                                  minors * (per_child.numerator * (scale // per_child.denominator))),
                       max_rate.numerator * (scale // max_rate.denominator))
    amount = (regelbedarf * share + scale // 2) // scale
    return np.where(applies, amount, 0)


@r.formula(entity=PERSON, unit="currency", reference="§ 21 Abs. 4 SGB II",
           label=L("Mehrbedarf bei Behinderung", "Merbehov vid funktionsnedsättning",
                   "Additional need with a disability"))
def mehrbedarf_disability(disability_additional_need: Any, age: Any, regelbedarf: Any, p: Any) -> Any:
    applies = disability_additional_need & (age >= 15)
    rate = p.value("mehrbedarf.disability_rate", where=applies)
    return on_subset(applies, regelbedarf, lambda need: rate_half_up(need, rate))


@r.formula(entity=PERSON, unit="currency", reference="§ 21 Abs. 8 SGB II",
           label=L("Kürzung: Mehrbedarfe höchstens in Höhe des Regelbedarfs",
                   "Avdrag: merbehov högst lika med regelbedarf",
                   "Reduction: additional needs at most the standard need"))
def mehrbedarf_cap_reduction(mehrbedarf_pregnancy: Any, mehrbedarf_lone_parent: Any,
                             mehrbedarf_disability: Any, regelbedarf: Any, p: Any) -> Any:
    total = mehrbedarf_pregnancy + mehrbedarf_lone_parent + mehrbedarf_disability
    cap = rate_half_up(regelbedarf, p.value("mehrbedarf.cap_rate", where=total > 0))
    return -clip0(total - cap)


@r.formula(entity=HOUSEHOLD, unit="currency", reference="§ 21 SGB II",
           label=L("Mehrbedarfe insgesamt", "Merbehov totalt", "Additional needs in total"))
def mehrbedarf_total(mehrbedarf_pregnancy: Any, mehrbedarf_lone_parent: Any, mehrbedarf_disability: Any,
                     mehrbedarf_cap_reduction: Any, pop: Any) -> Any:
    return pop.sum(mehrbedarf_pregnancy + mehrbedarf_lone_parent + mehrbedarf_disability
                   + mehrbedarf_cap_reduction)


@r.formula(entity=HOUSEHOLD, unit="currency", reference="§§ 20, 23, 72 SGB II",
           label=L("Regelbedarfe insgesamt", "Regelbedarf totalt", "Standard needs in total"))
def regelbedarf_total(regelbedarf: Any, sofortzuschlag: Any, pop: Any) -> Any:
    return pop.sum(regelbedarf + sofortzuschlag)


# -- Unterkunft und Heizung ---------------------------------------------------------------------
@r.formula(entity=HOUSEHOLD, unit="currency", reference="§ 22 Abs. 1 SGB II",
           label=L("Bedarf für Unterkunft", "Behov för boende", "Accommodation need"))
def kdu_accommodation(rent: Any, utilities: Any, rent_cap: Any, first_year: Any, p: Any) -> Any:
    """The actual rent in the grace year (from July 2026 at most 150 % of the local limit), else
    up to the local limit; without a limit given, the actual rent."""
    actual = rent + utilities
    has_cap = rent_cap > 0
    karenz_rate = p.value("unterkunft.karenzzeit_cap_rate", where=first_year & has_cap)
    karenz_limit = np.where(has_cap & (karenz_rate > 0), rate_half_up(rent_cap, karenz_rate), actual)
    return np.where(first_year, np.minimum(actual, karenz_limit),
                    np.where(has_cap, np.minimum(actual, rent_cap), actual))


@r.formula(entity=HOUSEHOLD, unit="currency", reference="§ 22 Abs. 1 SGB II",
           label=L("Bedarf für Heizung", "Behov för uppvärmning", "Heating need"))
def kdu_heating(heating: Any) -> Any:
    return heating


@r.formula(entity=HOUSEHOLD, unit="currency", reference="§ 22 SGB II",
           label=L("Unterkunft und Heizung", "Boende och uppvärmning", "Accommodation and heating"))
def kdu_total(kdu_accommodation: Any, kdu_heating: Any) -> Any:
    return kdu_accommodation + kdu_heating


# -- income -------------------------------------------------------------------------------------
@r.formula(entity=PERSON, unit="currency", reference="§ 11b Abs. 2, 3 SGB II",
           label=L("Freibetrag auf Erwerbseinkommen", "Fribelopp på arbetsinkomst", "Allowance on earnings"))
def earnings_allowance(earnings_gross: Any, earnings_net: Any, minor_children: Any, bg_child: Any,
                       age: Any, pop: Any, p: Any) -> Any:
    """100 € basic allowance, plus 20 % of gross from 100 to 520 €, 30 % to 1 000 €, 10 % to
    1 200 € (1 500 € with a minor child); the bands are added exactly and rounded half up to the
    cent once; at most the net earnings."""
    works = (earnings_gross > 0) | (earnings_net > 0)
    base = p.value("einkommen.grundfreibetrag", where=works)
    upper_1 = p.value("einkommen.band_1_upper", where=works & (earnings_gross > base))
    upper_2 = p.value("einkommen.band_2_upper", where=works & (earnings_gross > upper_1))
    # "mit mindestens einem minderjährigen Kind": a minor child other than the earner themself.
    with_child = (pop.project(minor_children) - (bg_child & (age < 18))) > 0
    upper_3 = np.where(with_child,
                       p.value("einkommen.band_3_upper_with_child", where=works & with_child
                               & (earnings_gross > upper_2)),
                       p.value("einkommen.band_3_upper",
                               where=works & ~with_child & (earnings_gross > upper_2)))
    rates: list[Fraction] = [p.value("einkommen.band_1_rate", where=works & (earnings_gross > base)),
                             p.value("einkommen.band_2_rate", where=works & (earnings_gross > upper_1)),
                             p.value("einkommen.band_3_rate", where=works & (earnings_gross > upper_2))]
    scale = lcm(*(rate.denominator for rate in rates))
    bands = ((base, upper_1), (upper_1, upper_2), (upper_2, upper_3))
    scaled = np.zeros_like(earnings_gross, dtype=np.int64)
    for (low, high), rate in zip(bands, rates, strict=True):
        portion = np.clip(earnings_gross - low, 0, np.maximum(high - low, 0))
        scaled = scaled + portion * (rate.numerator * (scale // rate.denominator))
    allowance = np.minimum(earnings_gross, base) + (scaled + scale // 2) // scale
    # The basic allowance applies to earnings even where gross was not given separately.
    allowance = np.maximum(allowance, np.minimum(earnings_net, base))
    return np.where(works, np.minimum(allowance, earnings_net), 0)


@r.formula(entity=PERSON, unit="currency", reference="§ 11b Abs. 1 S. 1 Nr. 3 SGB II; § 6 Bürgergeld-V",
           label=L("Versicherungspauschale", "Schablonavdrag för försäkringar", "Flat insurance deduction"))
def insurance_allowance(age: Any, earnings_gross: Any, earnings_net: Any, child_benefit: Any,
                        maintenance: Any, other: Any, p: Any) -> Any:
    """Everyone of full age (volljährig, whatever their role in the household) with income but no
    earnings (the 100 € basic allowance covers it otherwise)."""
    unearned = child_benefit + maintenance + other
    applies = (age >= 18) & (earnings_gross == 0) & (earnings_net == 0) & (unearned > 0)
    return np.where(applies, np.minimum(unearned, p.value("einkommen.versicherungspauschale",
                                                          where=applies)), 0)


@r.formula(entity=PERSON, unit="currency", reference="§§ 11, 11b SGB II",
           label=L("Bereinigtes Einkommen", "Inkomst efter avdrag", "Income after deductions"))
def income_adjusted(earnings_net: Any, child_benefit: Any, maintenance: Any, other: Any,
                    earnings_allowance: Any, insurance_allowance: Any) -> Any:
    return earnings_net + child_benefit + maintenance + other - earnings_allowance - insurance_allowance


@r.formula(entity=PERSON, unit="currency", reference="§ 22 SGB II (Aufteilung nach Kopfteilen)",
           label=L("Bedarf des Kindes", "Barnets behov", "The child's own need"))
def child_need(bg_child: Any, regelbedarf: Any, sofortzuschlag: Any, mehrbedarf_pregnancy: Any,
               mehrbedarf_disability: Any, mehrbedarf_cap_reduction: Any, kdu_total: Any, pop: Any) -> Any:
    """A child's Regelbedarf, Mehrbedarfe and its head share of housing (rounded half up)."""
    housing_share = pop.project(divide_half_up(kdu_total, pop.sizes))
    own = (regelbedarf + sofortzuschlag + mehrbedarf_pregnancy + mehrbedarf_disability
           + mehrbedarf_cap_reduction)
    return np.where(bg_child, own + housing_share, 0)


@r.formula(entity=PERSON, unit="currency", reference="§ 9 Abs. 2 S. 1 SGB II; § 11 Abs. 1 S. 5 SGB II",
           label=L("Einkommen des Kindes über seinem Bedarf (nicht angerechnet)",
                   "Barnets inkomst över dess behov (räknas inte)",
                   "Child's income above its own need (not counted)"))
def child_income_not_counted(bg_child: Any, income_adjusted: Any, child_need: Any, child_benefit: Any) -> Any:
    """A child's income covers only the child; what exceeds its need is not counted, except
    surplus Kindergeld, which counts as the parent's income."""
    surplus = clip0(income_adjusted - child_need)
    transferred = np.minimum(surplus, child_benefit)
    return -np.where(bg_child, surplus - transferred, 0)


@r.formula(entity=HOUSEHOLD, unit="currency", reference="§§ 9, 11–11b SGB II",
           label=L("Angerechnetes Einkommen", "Inkomst som räknas", "Income counted"))
def income_counted(income_adjusted: Any, child_income_not_counted: Any, pop: Any) -> Any:
    return pop.sum(income_adjusted + child_income_not_counted)


@r.formula(entity=PERSON, unit="currency", reference="§ 11 SGB II",
           label=L("Einkommen", "Inkomst", "Income"))
def income_gross_line(earnings_net: Any, child_benefit: Any, maintenance: Any, other: Any) -> Any:
    return earnings_net + child_benefit + maintenance + other


@r.formula(entity=PERSON, unit="currency", reference="§ 11b SGB II",
           label=L("Absetzbeträge (nicht angerechnet)", "Avdrag (räknas inte)", "Deductions (not counted)"))
def deductions_line(earnings_allowance: Any, insurance_allowance: Any) -> Any:
    return -(earnings_allowance + insurance_allowance)


# -- the amount ---------------------------------------------------------------------------------
@r.formula(entity=HOUSEHOLD, unit="currency", reference="§ 19 SGB II",
           label=L("Gesamtbedarf", "Totalt behov", "Total need"))
def need_total(regelbedarf_total: Any, mehrbedarf_total: Any, kdu_total: Any) -> Any:
    return regelbedarf_total + mehrbedarf_total + kdu_total


@r.formula(entity=HOUSEHOLD, unit="currency", reference="§ 19 Abs. 1, 3 SGB II; § 41 Abs. 2 SGB II",
           label=L("Anspruch im Monat", "Belopp för månaden", "Entitlement for the month"))
def amount(need_total: Any, income_counted: Any) -> Any:
    return clip0(need_total - income_counted)


@r.formula(entity=HOUSEHOLD, unit="currency", reference="§ 19 Abs. 3 SGB II",
           label=L("davon Regelbedarf und Mehrbedarfe", "varav regelbedarf och merbehov",
                   "of which standard and additional needs"))
def regelleistung(regelbedarf_total: Any, mehrbedarf_total: Any, income_counted: Any) -> Any:
    """Income covers the Regelbedarf and Mehrbedarfe first."""
    return clip0(regelbedarf_total + mehrbedarf_total - income_counted)


@r.formula(entity=HOUSEHOLD, unit="currency", reference="§ 19 Abs. 3 SGB II",
           label=L("davon Unterkunft und Heizung", "varav boende och uppvärmning",
                   "of which accommodation and heating"))
def kdu_leistung(amount: Any, regelleistung: Any) -> Any:
    return amount - regelleistung


# -- explanation lines --------------------------------------------------------------------------
r.line("regelbedarf", "regelbedarf", "need", label_from_parameter=True, always=True)
r.line("sofortzuschlag", "sofortzuschlag", "need")
r.line("mehrbedarf.lone_parent", "mehrbedarf_lone_parent", "need")
r.line("mehrbedarf.pregnancy", "mehrbedarf_pregnancy", "need")
r.line("mehrbedarf.disability", "mehrbedarf_disability", "need")
r.line("mehrbedarf.cap", "mehrbedarf_cap_reduction", "need")
r.line("kdu.accommodation", "kdu_accommodation", "need")
r.line("kdu.heating", "kdu_heating", "need")
r.line("income", "income_gross_line", "income")
r.line("income.deductions", "deductions_line", "income")
r.line("income.child_not_counted", "child_income_not_counted", "income", where="bg_child")

r.schema = InputSchema(
    income=tuple(INCOME), costs=tuple(COSTS),
    person_flags={"pregnancy_week": ("int", 45), "disability_additional_need": ("bool", 1)},
    household_fields={"rent_cap": ("money", 0), "first_year": ("bool", 1)},
    max_child_age=24, max_dependent_adult_age=24,
)
