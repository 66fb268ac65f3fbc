"""Variables, rulesets and the simulation.

A variable is declared once, with its entity, labels in de/sv/en, legal reference and either no
formula (an input) or a vectorized formula over NumPy arrays. A formula names what it needs by its
argument names, as GETTSIM does: other variables, ``p`` (the parameters in force that month) and
``pop`` (the household grouping). The ruleset sorts the variables topologically once; a simulation
then runs each formula once, in that order, and drops every intermediate array after its last use,
so a million households need the memory of a few columns, not of every variable.

Money is int64 in minor units. A formula that returns floats is a definition error: rounding has to
be written out (see ``wegweiser.rules.money``).

Why not OpenFisca: it holds money as float32, traces expensively, and would be a second framework
beside Django; GETTSIM covers Germany only. This engine keeps their portable parts (OpenFisca's
parameter layout, GETTSIM's functions named by their arguments). See docs/decisions/0003.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from wegweiser.rules.errors import DefinitionError, NoParameters
from wegweiser.rules.parameters import LANGUAGES, ParameterSet, ParameterValues, load_directory
from wegweiser.rules.periods import Month
from wegweiser.rules.population import ENTITIES, HOUSEHOLD, PERSON, Array, Population

SPECIAL_ARGUMENTS = ("p", "pop")
UNITS = ("currency", "bool", "count", "years", "weeks", "months")
_DTYPES = {"currency": np.int64, "bool": np.bool_, "count": np.int64, "years": np.int64,
           "weeks": np.int64, "months": np.int64}


def labels(de: str, sv: str, en: str) -> dict[str, str]:
    """A label in the three languages every variable and parameter carries."""
    return {"de": de, "sv": sv, "en": en}


@dataclass(frozen=True)
class Variable:
    name: str
    entity: str
    unit: str
    label: Mapping[str, str]
    reference: str = ""
    formula: Callable[..., Any] | None = None
    arguments: tuple[str, ...] = ()
    maximum: int | None = None
    documentation: str = ""

    @property
    def is_input(self) -> bool:
        return self.formula is None

    @property
    def dtype(self) -> Any:
        return _DTYPES[self.unit]


@dataclass(frozen=True)
class Line:
    """One line of an explanation: a variable's value per person or per household, as a need
    (added) or as income (subtracted; a negative income line is money not counted)."""

    key: str  # "riksnorm.personal" → "riksnorm.personal.<person id>" for person variables
    variable: str
    kind: str  # "need" | "income"
    label_from_parameter: bool = False  # the label of the parameter the formula chose
    always: bool = False  # shown even when 0 (otherwise only when a parameter decided the 0)
    where: str = ""  # a bool variable of the same entity: the line exists only where it holds


@dataclass
class Plan:
    steps: list[Variable]
    drop_after: list[tuple[str, ...]]


@dataclass
class Ruleset:
    id: str
    version: str
    currency: str
    first_month: Month
    last_month: Month
    parameter_dir: Path
    label: Mapping[str, str]
    reference: str
    amount: str = "amount"
    outputs: tuple[str, ...] = ()
    schema: Any = None  # wegweiser.rules.schema.InputSchema: the contract's fields
    variables: dict[str, Variable] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    _plans: dict[tuple[str, ...], Plan] = field(default_factory=dict, repr=False)

    # -- declaring ---------------------------------------------------------------------------
    def input(self, name: str, *, entity: str, unit: str, label: Mapping[str, str],
              reference: str = "", maximum: int | None = None, documentation: str = "") -> None:
        self._add(Variable(name, entity, unit, label, reference, None, (), maximum, documentation))

    def person_basics(self, not_partner: Mapping[str, str]) -> None:
        """The contract's fields of every person: role (``is_adult``), age, ``partner: false``."""
        self.input("is_adult", entity=PERSON, unit="bool", label=labels("Erwachsen", "Vuxen", "Adult"))
        self.input("age", entity=PERSON, unit="years", label=labels("Alter", "Ålder", "Age"), maximum=130)
        self.input("not_partner", entity=PERSON, unit="bool", label=not_partner)

    def formula(self, *, entity: str, unit: str, label: Mapping[str, str], reference: str = "",
                documentation: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            arguments = tuple(inspect.signature(function).parameters)
            self._add(Variable(function.__name__, entity, unit, label, reference, function, arguments,
                               None, documentation or inspect.getdoc(function) or ""))
            return function
        return register

    def line(self, key: str, variable: str, kind: str, *, label_from_parameter: bool = False,
             always: bool = False, where: str = "") -> None:
        if kind not in {"need", "income"}:
            raise DefinitionError(f"{self.id}: line {key}: kind is need or income")
        self.lines.append(Line(key, variable, kind, label_from_parameter, always, where))

    def _add(self, variable: Variable) -> None:
        if variable.name in self.variables or variable.name in SPECIAL_ARGUMENTS:
            raise DefinitionError(f"{self.id}: variable {variable.name} declared twice")
        if variable.entity not in ENTITIES or variable.unit not in UNITS:
            raise DefinitionError(f"{self.id}: {variable.name}: entity in {ENTITIES}, unit in {UNITS}")
        if set(variable.label) != set(LANGUAGES) or not all(variable.label.values()):
            raise DefinitionError(f"{self.id}: {variable.name}: labels in {', '.join(LANGUAGES)}")
        self.variables[variable.name] = variable

    # -- checking and planning ---------------------------------------------------------------
    @cached_property
    def parameters(self) -> ParameterSet:
        return load_directory(self.parameter_dir)

    def check(self) -> None:
        """Every dependency exists, there is no cycle, every line names a variable."""
        self.plan(tuple(self.variables))
        for line in self.lines:
            for name in filter(None, (line.variable, line.where)):
                if name not in self.variables:
                    raise DefinitionError(f"{self.id}: line {line.key}: unknown variable {name}")
        for name in (self.amount, *self.outputs):
            if name not in self.variables:
                raise DefinitionError(f"{self.id}: output {name}: unknown variable")

    def plan(self, targets: Iterable[str]) -> Plan:
        key = tuple(targets)
        cached = self._plans.get(key)
        if cached is not None:
            return cached
        order: list[Variable] = []
        state: dict[str, int] = {}  # 1 = on the path, 2 = done

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = (*path[path.index(name):], name)
                raise DefinitionError(f"{self.id}: dependency cycle: {' → '.join(cycle)}",
                                      field=name)
            variable = self.variables.get(name)
            if variable is None:
                raise DefinitionError(f"{self.id}: {path[-1] if path else 'target'} needs unknown "
                                      f"variable {name}", field=name)
            state[name] = 1
            for argument in variable.arguments:
                if argument not in SPECIAL_ARGUMENTS:
                    visit(argument, (*path, name))
            state[name] = 2
            order.append(variable)

        for target in key:
            visit(target, ())
        last_use: dict[str, int] = {}
        for index, variable in enumerate(order):
            for argument in variable.arguments:
                last_use[argument] = index
        keep = set(key)
        drop_after: list[list[str]] = [[] for _ in order]
        for index, variable in enumerate(order):
            if variable.name not in keep:
                drop_after[last_use.get(variable.name, index)].append(variable.name)
        plan = Plan(order, [tuple(names) for names in drop_after])
        self._plans[key] = plan
        return plan

    def values_at(self, month: Month, parameters: ParameterSet | None = None) -> ParameterValues:
        if not self.first_month <= month <= self.last_month:
            raise NoParameters(f"{self.id} has no parameters in force in {month} (it covers "
                               f"{self.first_month} to {self.last_month})", field="month")
        return (parameters or self.parameters).at(month)


# -- running -----------------------------------------------------------------------------------
@dataclass
class Read:
    """One parameter read during a traced run: a single value, or a choice per element."""

    variable: str
    key: str | None
    value: Any
    where: Array | None = None
    index: Array | None = None
    keys: tuple[str, ...] = ()


class TracingValues:
    """Parameter values that remember who read what, for explanations. Only used when asked for,
    so an untraced run pays nothing for it."""

    def __init__(self, base: ParameterValues) -> None:
        self.base = base
        self.month = base.month
        self.reads: list[Read] = []
        self.current = ""

    def value(self, key: str, where: Any = None) -> Any:
        value = self.base.value(key)
        self.reads.append(Read(self.current, key, value, _mask(where)))
        return value

    def choose(self, index: Any, keys: tuple[str, ...], where: Any = None) -> Any:
        result = self.base.choose(index, keys)
        self.reads.append(Read(self.current, None, None, _mask(where), np.asarray(index), tuple(keys)))
        return result


def _mask(where: Any) -> Array | None:
    return None if where is None else np.asarray(where, dtype=bool)


@dataclass
class Result:
    ruleset: Ruleset
    month: Month
    population: Population
    values: dict[str, Array]
    parameters: ParameterValues
    reads: list[Read] | None = None


def simulate(ruleset: Ruleset, population: Population, inputs: Mapping[str, Any], month: Month, *,
             targets: Iterable[str] | None = None, parameters: ParameterSet | None = None,
             fixed_values: ParameterValues | None = None, trace: bool = False) -> Result:
    """Compute ``targets`` (default: the amount and the ruleset's outputs) for every household.
    ``inputs`` maps input variables to arrays of their entity's length; a missing input is 0 (a
    read-only broadcast, costing no memory). ``fixed_values`` (a stored snapshot, see
    ``ParameterValues.from_snapshot``) replaces the parameters in force, to reproduce an old
    result. With ``trace`` every value is kept and every parameter read recorded, for
    ``explain``."""
    values_in_force = fixed_values if fixed_values is not None else ruleset.values_at(month, parameters)
    p: ParameterValues | TracingValues = TracingValues(values_in_force) if trace else values_in_force
    wanted = tuple(targets) if targets is not None else (ruleset.amount, *ruleset.outputs)
    plan = ruleset.plan(tuple(ruleset.variables) if trace else wanted)
    values: dict[str, Array] = {}
    for step, drops in zip(plan.steps, plan.drop_after, strict=True):
        size = population.count(step.entity)
        if step.formula is None:
            given = inputs.get(step.name)
            values[step.name] = (np.broadcast_to(np.zeros((), dtype=step.dtype), (size,))
                                 if given is None else given)
            continue
        if trace:
            p.current = step.name  # type: ignore[union-attr]
        arguments = [p if a == "p" else population if a == "pop" else values[a] for a in step.arguments]
        result = np.asarray(step.formula(*arguments))
        if result.shape != (size,):
            if result.ndim != 0:
                raise DefinitionError(f"{ruleset.id}: {step.name} returned shape {result.shape}, "
                                      f"expected ({size},) for its entity {step.entity}")
            result = np.broadcast_to(result, (size,))
        if result.dtype.kind == "f":
            raise DefinitionError(f"{ruleset.id}: {step.name} returned floats; money and counts "
                                  "are integers (write the rounding out)")
        values[step.name] = result
        if not trace:
            for name in drops:
                del values[name]
    return Result(ruleset, month, population, values, values_in_force,
                  p.reads if isinstance(p, TracingValues) else None)


__all__ = ["HOUSEHOLD", "PERSON", "Line", "Result", "Ruleset", "Variable", "simulate"]
