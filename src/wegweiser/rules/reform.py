"""Reforms and their effect on a caseload: "what if the riksnorm rose by 5 %?".

A reform is a set of parameter overrides (``ParameterSet.with_overrides``); ``scale`` builds the
common kind, every money parameter under a key prefix times a factor, rounded as the statute
rounds (the riksnorm to whole tens of kronor). ``compare`` runs the caseload under today's rules
and under the reform and sums up who gains and who loses, by household type.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from wegweiser.rules.engine import Ruleset
from wegweiser.rules.errors import ParameterError
from wegweiser.rules.parameters import ParameterSet
from wegweiser.rules.periods import Month
from wegweiser.rules.tables import Batch, run

HOUSEHOLD_TYPES = ("one_adult", "one_adult_children", "two_adults", "two_adults_children", "other")


def scale(parameters: ParameterSet, month: Month, prefix: str, factor: Fraction,
          round_to: int = 1) -> ParameterSet:
    """Every money parameter whose key starts with ``prefix``, as in force in ``month``, times
    ``factor``, rounded half up to a multiple of ``round_to`` minor units, from that month on."""
    if factor < 0 or round_to < 1:
        raise ParameterError("reform: the factor must be ≥ 0 and the rounding step ≥ 1", field="reform")
    values = parameters.at(month).values
    overrides: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.unit != "currency" or not parameter.key.startswith(prefix):
            continue
        current = values.get(parameter.key)
        if current is None:
            continue
        scaled = Fraction(int(current)) * factor / round_to
        minor = int(scaled + Fraction(1, 2)) * round_to  # half up; values are ≥ 0
        overrides[parameter.key] = {month.first_day.isoformat(): f"{minor // 100}.{minor % 100:02d}"}
    if not overrides:
        raise ParameterError(f"reform: no money parameter starts with {prefix!r}", field="reform")
    return parameters.with_overrides(overrides, source="reform")


def household_types(batch: Batch) -> Any:
    """Per household, an index into ``HOUSEHOLD_TYPES``."""
    population = batch.population
    adults = population.sum(batch.inputs["is_adult"])
    children = population.sizes - adults
    kind = np.full(population.n_households, 4, dtype=np.int8)
    kind[(adults == 1) & (children == 0)] = 0
    kind[(adults == 1) & (children > 0)] = 1
    kind[(adults == 2) & (children == 0)] = 2
    kind[(adults == 2) & (children > 0)] = 3
    return kind


def compare(ruleset: Ruleset, month: Month, batch: Batch, reform: ParameterSet,
            base: ParameterSet | None = None) -> dict[str, Any]:
    """The caseload under ``base`` (today's parameters) and under ``reform``: total monthly cost
    in minor units, households better and worse off, newly entitled and no longer entitled,
    and the same by household type."""
    before = run(ruleset, month, batch, base)[ruleset.amount]
    after = run(ruleset, month, batch, reform)[ruleset.amount]
    change = after - before
    kinds = household_types(batch)

    def summary(mask: Any) -> dict[str, int]:
        return {"households": int(mask.sum()), "cost_before": int(before[mask].sum()),
                "cost_after": int(after[mask].sum()), "change": int(change[mask].sum()),
                "better_off": int((change[mask] > 0).sum()), "worse_off": int((change[mask] < 0).sum()),
                "newly_entitled": int(((before[mask] == 0) & (after[mask] > 0)).sum()),
                "no_longer_entitled": int(((before[mask] > 0) & (after[mask] == 0)).sum())}

    everyone = np.ones(before.shape, dtype=bool)
    return {"month": str(month), "ruleset": ruleset.id, "currency": ruleset.currency,
            **summary(everyone),
            "by_type": {name: summary(kinds == index) for index, name in enumerate(HOUSEHOLD_TYPES)}}
