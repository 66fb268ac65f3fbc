"""Microsimulation over an office's current caseload: the households of the latest decided month,
as the engine saw them, under today's parameters and under a reform (e.g. +5 % riksnorm)."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import numpy as np

from wegweiser import rulesets
from wegweiser.benefits.models import Application, BenefitOffice, Decision
from wegweiser.rules import tables
from wegweiser.rules.engine import Ruleset
from wegweiser.rules.periods import Month
from wegweiser.rules.reform import compare, scale


def reform_groups(ruleset: Ruleset) -> list[str]:
    """Key prefixes with money parameters: what a reform can scale (``riksnorm.``, …)."""
    groups = {p.key.split(".")[0] + "." for p in ruleset.parameters if p.unit == "currency"}
    return sorted(groups)


def caseload(office: BenefitOffice) -> tuple[str | None, list[dict[str, Any]]]:
    """The latest month with decisions, and each decided household of it (the decided assessment's
    request, with the office's facts as the engine saw them)."""
    latest = (Application.objects.filter(office=office, status=Application.Status.DECIDED)
              .order_by("-month").values_list("month", flat=True).first())
    if latest is None:
        return None, []
    requests = (Decision.objects.filter(application__office=office, application__month=latest,
                                        application__status=Application.Status.DECIDED,
                                        status=Decision.Status.FINAL)
                .values_list("assessment__request", flat=True).iterator(chunk_size=2000))
    return latest, [request["household"] for request in requests]


def to_tables(ruleset: Ruleset, households: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Contract households → the batch tables of ``benefits simulate`` (missing values are 0)."""
    schema = ruleset.schema
    person_rows: dict[str, list[Any]] = {name: [] for name in ("household_id", "role", "age", "partner",
                                                               *schema.income, *schema.person_flags)}
    household_rows: dict[str, list[Any]] = {name: [] for name in ("household_id", *schema.costs,
                                                                  *schema.benefits, *schema.household_fields)}
    for index, household in enumerate(households):
        household_rows["household_id"].append(index)
        for group in ("costs", "benefits"):
            for name in getattr(schema, group):
                household_rows[name].append(household.get(group, {}).get(name, 0))
        for name in schema.household_fields:
            household_rows[name].append(int(household.get(name, 0)))
        for person in household["persons"]:
            person_rows["household_id"].append(index)
            person_rows["role"].append(0 if person["role"] == "adult" else 1)
            person_rows["age"].append(person["age"])
            person_rows["partner"].append(0 if person.get("partner") is False else 1)
            for name in schema.income:
                person_rows[name].append(person.get("income", {}).get(name, 0))
            for name in schema.person_flags:
                person_rows[name].append(int(person.get(name, 0)))
    return ({k: np.array(v, dtype=np.int64) for k, v in household_rows.items()},
            {k: np.array(v, dtype=np.int64) for k, v in person_rows.items()})


def simulate_reform(office: BenefitOffice, group: str, percent: Fraction, round_to: int) -> dict[str, Any]:
    """The caseload's cost and who gains or loses if every money parameter of ``group`` changed by
    ``percent`` %, rounded to ``round_to`` minor units; with the seconds it took."""
    started = time.perf_counter()
    ruleset = rulesets.get(office.ruleset)
    month, households = caseload(office)
    if month is None or not households:
        return {"households": 0, "month": month}
    parsed = Month.parse(month)
    household_cols, person_cols = to_tables(ruleset, households)
    batch = tables.prepare(ruleset, household_cols, person_cols)
    reform = scale(ruleset.parameters, parsed, group, 1 + percent / 100, round_to)
    summary = compare(ruleset, parsed, batch, reform)
    summary["seconds"] = time.perf_counter() - started
    return summary
