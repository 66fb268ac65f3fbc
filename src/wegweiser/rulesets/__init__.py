"""The rulesets Wegweiser ships, by contract id, and the one-household entry point."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from wegweiser.rules.engine import Ruleset, simulate
from wegweiser.rules.errors import InputError
from wegweiser.rules.explain import explain
from wegweiser.rules.parameters import ParameterSet, ParameterValues
from wegweiser.rules.schema import parse_request

RULESETS = {
    "se.ekonomiskt_bistand": "wegweiser.rulesets.se.ekonomiskt_bistand",
    "de.buergergeld": "wegweiser.rulesets.de.buergergeld",
}
_loaded: dict[str, Ruleset] = {}


def get(ruleset_id: Any) -> Ruleset:
    """The ruleset, checked (dependencies, cycles, parameter files) the first time it is used."""
    if ruleset_id not in RULESETS:
        raise InputError(f"ruleset: one of {', '.join(RULESETS)}", field="ruleset", code="unknown_ruleset")
    ruleset = _loaded.get(ruleset_id)
    if ruleset is None:
        ruleset = import_module(RULESETS[ruleset_id]).ruleset
        ruleset.check()
        ruleset.parameters  # noqa: B018 (load and validate the YAML now, not mid-request)
        _loaded[ruleset_id] = ruleset
    return ruleset


def all_rulesets() -> list[Ruleset]:
    return [get(ruleset_id) for ruleset_id in RULESETS]


def assess(data: Any, language: str = "de", parameters: ParameterSet | None = None,
           snapshot: Mapping[str, Any] | None = None, with_snapshot: bool = False) -> dict[str, Any]:
    """One household in the contract's JSON form → the contract's result with explanation. With
    ``with_snapshot``, also every parameter value in force under ``parameter_snapshot`` (store it
    with the request to reproduce the result); with ``snapshot``, those stored values are used
    instead of today's files."""
    ruleset_id = data.get("ruleset") if isinstance(data, dict) else None
    ruleset = get(ruleset_id)
    household = parse_request(data, ruleset.id, ruleset.schema)
    values = None
    if snapshot is not None:
        values = ParameterValues.from_snapshot(parameters or ruleset.parameters, household.month, snapshot)
    result = simulate(ruleset, household.population, household.inputs, household.month,
                      parameters=parameters, fixed_values=values, trace=True)
    explained = explain(result, household.person_ids, language)
    if with_snapshot:
        explained["parameter_snapshot"] = result.parameters.snapshot()
    return explained
