"""Explanations in the form of the contract (../shared/contracts/benefits-io.md): for one household
of a traced run, the lines with amount, label in the requested language, legal reference and every
parameter value used, and a readable text.

A line's parameters are the reads of its own formula and of every formula it depends on that is
not a line itself, narrowed to the line's person or household: a choice (age band, household size)
contributes the chosen key, and a read made ``where=`` some elements only counts for those.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from wegweiser.rules.engine import Line, Read, Result, Ruleset
from wegweiser.rules.errors import DefinitionError
from wegweiser.rules.money import format_amount
from wegweiser.rules.population import HOUSEHOLD, PERSON

_TEXTS = {
    "de": {"title": "{ruleset}, {month}", "amount": "Anspruch im Monat", "floor":
           "Das Einkommen deckt den Bedarf; es besteht kein Anspruch.", "unverified":
           "Ungeprüfte Werte (nicht aus einer Primärquelle bestätigt): {keys}"},
    "sv": {"title": "{ruleset}, {month}", "amount": "Bistånd för månaden", "floor":
           "Inkomsterna täcker behovet; inget bistånd.", "unverified":
           "Overifierade värden (inte bekräftade i en primärkälla): {keys}"},
    "en": {"title": "{ruleset}, {month}", "amount": "Entitlement for the month", "floor":
           "Income covers the need; no entitlement.", "unverified":
           "Unverified values (not confirmed from a primary source): {keys}"},
}


def explain(result: Result, person_ids: list[str], language: str = "de", household: int = 0
            ) -> dict[str, Any]:
    """The contract's result for ``household`` of a traced ``result``."""
    if result.reads is None:
        raise DefinitionError("explain needs a traced simulation (simulate(..., trace=True))")
    if language not in _TEXTS:
        language = "de"
    ruleset = result.ruleset
    population = result.population
    first = int(population.starts[household])
    persons = range(first, first + int(population.sizes[household]))
    reads_by_variable: dict[str, list[Read]] = {}
    for read in result.reads:
        reads_by_variable.setdefault(read.variable, []).append(read)
    entries = result.parameters.entries
    lines: list[dict[str, Any]] = []
    used_unverified: set[str] = set()
    for line in ruleset.lines:
        variable = ruleset.variables[line.variable]
        values = result.values[line.variable]
        elements = ([(e, f"{line.key}.{person_ids[e - first]}") for e in persons]
                    if variable.entity == PERSON else [(household, line.key)])
        condition = result.values[line.where] if line.where else None
        for element, key in elements:
            if condition is not None and not condition[element]:
                continue
            amount = int(values[element])
            parameters: dict[str, Any] = {}
            own_choice = ""
            for name in _closure(ruleset, line):
                for read in reads_by_variable.get(name, ()):
                    chosen = _read_at(read, ruleset, variable.entity, element, population, household)
                    for parameter_key in chosen:
                        parameters[parameter_key] = _json_value(entries[parameter_key].value)
                        if entries[parameter_key].unverified:
                            used_unverified.add(parameter_key)
                    if read.key is None and chosen and not own_choice:  # the line's own choice comes first
                        own_choice = chosen[0]
            if not amount and not line.always and not parameters:
                continue  # a zero line is shown only where a parameter decided it
            label = variable.label[language]
            reference = variable.reference
            if line.label_from_parameter and own_choice:
                label = ruleset.parameters[own_choice].label[language]
                reference = entries[own_choice].reference
            entry: dict[str, Any] = {"key": key, "label": label, "amount": amount, "kind": line.kind,
                                     "reference": reference, "parameters": parameters}
            if variable.entity == PERSON:
                entry["person"] = person_ids[element - first]
            lines.append(entry)
    amount = int(result.values[ruleset.amount][household])
    return {
        "ruleset": ruleset.id, "ruleset_version": ruleset.version, "month": str(result.month),
        "currency": ruleset.currency, "amount": amount, "lines": lines,
        "outputs": {name: int(result.values[name][household]) for name in ruleset.outputs
                    if ruleset.variables[name].entity == HOUSEHOLD},
        "unverified_parameters": sorted(used_unverified),
        "text": _text(ruleset, result, lines, amount, language, sorted(used_unverified)),
    }


def _closure(ruleset: Ruleset, line: Line) -> tuple[str, ...]:
    """The line's variable and the formulas below it up to (not into) other lines' variables."""
    cache: dict[str, tuple[str, ...]] = ruleset.__dict__.setdefault("_closures", {})
    cached = cache.get(line.variable)
    if cached is not None:
        return cached
    line_variables = {other.variable for other in ruleset.lines}
    seen: list[str] = []
    pending = [line.variable]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.append(name)
        for argument in ruleset.variables[name].arguments:
            dependency = ruleset.variables.get(argument)
            if dependency is not None and not dependency.is_input and argument not in line_variables:
                pending.append(argument)
    cache[line.variable] = tuple(seen)
    return cache[line.variable]


def _read_at(read: Read, ruleset: Ruleset, line_entity: str, element: int, population: Any,
             household: int) -> list[str]:
    """The parameter keys ``read`` contributed to the line's element."""
    read_entity = ruleset.variables[read.variable].entity
    if read_entity == line_entity:
        positions = [element]
    elif read_entity == PERSON:  # a household line built from person values
        first = int(population.starts[household])
        positions = list(range(first, first + int(population.sizes[household])))
    else:  # a person line built from a household value
        positions = [household]
    keys: list[str] = []
    for position in positions:
        if read.where is not None and not bool(read.where[position] if read.where.ndim else read.where):
            continue
        if read.key is not None:
            key = read.key
        elif read.index is not None:  # a choice: the key chosen for this element
            key = read.keys[int(read.index[position] if read.index.ndim else read.index)]
        else:
            continue
        if key not in keys:
            keys.append(key)
    return keys


def _json_value(value: Any) -> Any:
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


def _text(ruleset: Ruleset, result: Result, lines: list[dict[str, Any]], amount: int, language: str,
          unverified: list[str]) -> str:
    texts = _TEXTS[language]
    out = [texts["title"].format(ruleset=ruleset.label[language], month=result.month)]
    for line in lines:
        # A need adds; income subtracts; a negative income line (money not counted) adds back.
        adds = line["kind"] == "need" or line["amount"] < 0
        sign = "+" if adds else "−"
        shown = abs(line["amount"])
        who = f" ({line['person']})" if "person" in line else ""
        out.append(f"{sign} {format_amount(shown, ruleset.currency, language)}  {line['label']}{who}"
                   f" — {line['reference']}")
    out.append(f"= {format_amount(amount, ruleset.currency, language)}  {texts['amount']}")
    need = sum(line["amount"] for line in lines if line["kind"] == "need")
    income = sum(line["amount"] for line in lines if line["kind"] == "income")
    if need - income < 0:
        out.append(texts["floor"])
    if unverified:
        out.append(texts["unverified"].format(keys=", ".join(unverified)))
    return "\n".join(out)
