"""Dated parameters in YAML, laid out as OpenFisca does it so the files stay portable.

A ruleset's ``parameters/`` directory is a tree: every ``.yaml`` file is a node whose dotted key is
its path (``riksnorm/personal.yaml`` → ``riksnorm.personal``); inside a file, a mapping with
``values`` is a parameter and any other mapping is a child node::

    single_adult:
      description: Personal costs, adult living alone
      metadata:
        label: {de: …, sv: …, en: …}
        unit: currency            # currency | rate | count | years | weeks | months
        reference: SoF (2025:…) bilaga
      values:
        2025-01-01: {value: 3910, unverified: true, note: derived +2.8 %}
        2026-01-01: {value: 3940, reference: …}

Money is written in major units as the statute prints it (``95.71``) and held as an integer in
minor units; a value that is not a whole number of minor units is refused. Rates are held as exact
fractions, never as floats. A value ``null`` ends a parameter. Loading checks every file and key
and fails with the file and key named.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from wegweiser.rules.errors import NoParameters, ParameterError
from wegweiser.rules.periods import Month

LANGUAGES = ("de", "sv", "en")
UNITS = ("currency", "rate", "count", "years", "weeks", "months")
_PARAMETER_KEYS = {"description", "metadata", "values", "documentation"}
_METADATA_KEYS = {"label", "unit", "reference", "unverified", "note"}
_VALUE_KEYS = {"value", "reference", "unverified", "note"}
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Value = int | Fraction


@dataclass(frozen=True)
class ValueEntry:
    start: date
    value: Value | None
    reference: str
    unverified: bool
    note: str = ""


@dataclass(frozen=True)
class Parameter:
    key: str
    label: Mapping[str, str]
    description: str
    unit: str
    reference: str
    values: tuple[ValueEntry, ...]
    documentation: str = ""
    source: str = ""

    def entry_at(self, day: date) -> ValueEntry | None:
        found = None
        for entry in self.values:
            if entry.start > day:
                break
            found = entry
        return found if found is not None and found.value is not None else None

    @property
    def unverified(self) -> bool:
        return any(entry.unverified for entry in self.values)


@dataclass(frozen=True)
class ParameterSet:
    """Every parameter of a ruleset with its history; ``at(month)`` gives the values in force."""

    parameters: Mapping[str, Parameter]
    _cache: dict[Month, ParameterValues] = field(default_factory=dict, compare=False, repr=False)

    def __getitem__(self, key: str) -> Parameter:
        return self.parameters[key]

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters.values())

    def at(self, month: Month) -> ParameterValues:
        cached = self._cache.get(month)
        if cached is None:
            day = month.first_day
            entries = {}
            for key, parameter in self.parameters.items():
                entry = parameter.entry_at(day)
                if entry is not None:
                    entries[key] = entry
            cached = self._cache[month] = ParameterValues(self, month, entries)
        return cached

    def with_overrides(self, overrides: Mapping[str, Any], *, source: str = "overrides") -> ParameterSet:
        """A reform: the given parameters take the given values (major units for money) from the
        given dates, or for every month when given a bare value. Unknown keys are refused."""
        changed = dict(self.parameters)
        for key, spec in overrides.items():
            if key not in changed:
                raise ParameterError(f"{source}: {key}: no such parameter", field=key)
            parameter = changed[key]
            if isinstance(spec, Mapping) and "values" in spec:
                spec = spec["values"]
            history = {entry.start: entry for entry in parameter.values}
            if not isinstance(spec, Mapping):  # a bare value: this value in every month
                spec, history = {date(1900, 1, 1): spec}, {}
            for start, raw in spec.items():
                day = _parse_date(start, source, key)
                history[day] = _value_entry(day, raw, parameter.unit, source, key, parameter.reference)
            changed[key] = replace(parameter, values=tuple(history[d] for d in sorted(history)))
        return ParameterSet(changed)

    def unverified(self) -> list[tuple[Parameter, ValueEntry]]:
        return [(p, e) for p in self for e in p.values if e.unverified]


class ParameterValues:
    """The values in force in one month. Formulas read them through ``value``/``choose``; a
    parameter without a value that month is an error naming it."""

    def __init__(self, parameters: ParameterSet, month: Month, entries: dict[str, ValueEntry]) -> None:
        self.parameters = parameters
        self.month = month
        self.entries = entries
        self.values: dict[str, Value] = {k: e.value for k, e in entries.items() if e.value is not None}
        self._tables: dict[tuple[str, ...], Any] = {}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every value in force with its legal reference, as JSON: money and counts as integers,
        rates as exact fractions written ``"1/4"``. Stored with an assessment, it reproduces the
        result and its explanation even after the parameter files change."""
        out: dict[str, dict[str, Any]] = {}
        for key in sorted(self.values):
            entry, value = self.entries[key], self.values[key]
            shown = f"{value.numerator}/{value.denominator}" if isinstance(value, Fraction) else value
            out[key] = {"value": shown, "reference": entry.reference, "unverified": entry.unverified}
        return out

    @classmethod
    def from_snapshot(cls, parameters: ParameterSet, month: Month, snapshot: Mapping[str, Any]
                      ) -> ParameterValues:
        """The values of a snapshot, with the references stored in it. Refuses anything that is
        not an integer or a fraction."""
        entries: dict[str, ValueEntry] = {}
        for key, stored in snapshot.items():
            raw = stored.get("value") if isinstance(stored, Mapping) else stored
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ParameterError(f"snapshot: {key}: not an integer or a fraction", field=key)
            try:
                value: Value = Fraction(raw) if isinstance(raw, str) else raw
            except (ValueError, ZeroDivisionError):
                raise ParameterError(f"snapshot: {key}: not a fraction: {raw!r}", field=key) from None
            current = parameters.parameters.get(key)
            reference = (stored.get("reference") if isinstance(stored, Mapping) else None) or (
                current.reference if current else "snapshot")
            unverified = bool(stored.get("unverified")) if isinstance(stored, Mapping) else False
            entries[key] = ValueEntry(month.first_day, value, str(reference), unverified,
                                      "from a stored snapshot")
        return cls(parameters, month, entries)

    def value(self, key: str, where: Any = None) -> Any:
        """One parameter's value. ``where`` (ignored here) tells the tracer which elements the
        value was used for, so explanations name it only where it mattered."""
        try:
            return self.values[key]
        except KeyError:
            raise self._missing(key) from None

    def choose(self, index: Any, keys: tuple[str, ...], where: Any = None) -> Any:
        """Per element, the value of ``keys[index]``: age bands, household sizes."""
        table = self._tables.get(keys)
        if table is None:
            import numpy as np

            table = self._tables[keys] = np.array([self.value(k) for k in keys], dtype=np.int64)
        return table[index]

    def _missing(self, key: str) -> Exception:
        if key not in self.parameters.parameters:
            from wegweiser.rules.errors import DefinitionError

            return DefinitionError(f"formula reads unknown parameter {key}", field=key)
        return NoParameters(f"no value of {key} is in force in {self.month}", field="month",
                            parameter=key)


def load_directory(root: Path) -> ParameterSet:
    """Load and check every ``.yaml`` below ``root``."""
    if not root.is_dir():
        raise ParameterError(f"{root}: no parameter directory")
    parameters: dict[str, Parameter] = {}
    for path in sorted(root.rglob("*.yaml")):
        relative = path.relative_to(root).with_suffix("")
        prefix = ".".join(relative.parts)
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (safe loader)
        except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2024-13-01
            raise ParameterError(f"{relative}.yaml: not valid YAML: {exc}") from exc
        source = f"{relative}.yaml"
        for parameter in _walk(document, prefix, source):
            if parameter.key in parameters:
                raise ParameterError(f"{source}: {parameter.key}: defined twice", field=parameter.key)
            parameters[parameter.key] = parameter
    if not parameters:
        raise ParameterError(f"{root}: no parameters found")
    return ParameterSet(parameters)


def _walk(node: Any, key: str, source: str) -> Iterator[Parameter]:
    if not isinstance(node, Mapping):
        raise ParameterError(f"{source}: {key}: expected a mapping", field=key)
    if "values" in node:
        yield _parameter(node, key, source)
        return
    for name, child in node.items():
        if name in {"description", "metadata", "documentation"}:
            continue
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            raise ParameterError(f"{source}: {key}.{name}: keys are letters, digits and _", field=key)
        yield from _walk(child, f"{key}.{name}", source)


def _parameter(node: Mapping[str, Any], key: str, source: str) -> Parameter:
    unknown = set(node) - _PARAMETER_KEYS
    if unknown:
        raise ParameterError(f"{source}: {key}: unknown keys {sorted(unknown)}", field=key)
    metadata = node.get("metadata")
    if not isinstance(metadata, Mapping):
        raise ParameterError(f"{source}: {key}.metadata: missing", field=key)
    unknown = set(metadata) - _METADATA_KEYS
    if unknown:
        raise ParameterError(f"{source}: {key}.metadata: unknown keys {sorted(unknown)}", field=key)
    label = metadata.get("label")
    if not isinstance(label, Mapping):
        raise ParameterError(f"{source}: {key}.metadata.label: missing", field=key)
    for language in LANGUAGES:
        if not isinstance(label.get(language), str) or not label[language].strip():
            raise ParameterError(f"{source}: {key}.metadata.label.{language}: missing", field=key)
    unit = metadata.get("unit")
    if unit not in UNITS:
        raise ParameterError(f"{source}: {key}.metadata.unit: one of {', '.join(UNITS)}", field=key)
    reference = metadata.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        raise ParameterError(f"{source}: {key}.metadata.reference: every parameter names its "
                             "statute or regulation", field=key)
    values = node.get("values")
    if not isinstance(values, Mapping) or not values:
        raise ParameterError(f"{source}: {key}.values: at least one dated value", field=key)
    default_unverified = bool(metadata.get("unverified", False))
    entries = []
    for start, raw in values.items():
        day = _parse_date(start, source, key)
        entries.append(_value_entry(day, raw, unit, source, key, reference, default_unverified))
    entries.sort(key=lambda e: e.start)
    return Parameter(key=key, label=dict(label), description=str(node.get("description", "")),
                     unit=unit, reference=reference, values=tuple(entries),
                     documentation=str(node.get("documentation", "")), source=source)


def _parse_date(start: Any, source: str, key: str) -> date:
    if isinstance(start, date):
        return start
    try:
        return date.fromisoformat(str(start))
    except ValueError:
        raise ParameterError(f"{source}: {key}.values.{start}: not a date (YYYY-MM-DD)", field=key) from None


def _value_entry(day: date, raw: Any, unit: str, source: str, key: str, reference: str,
                 unverified: bool = False) -> ValueEntry:
    where = f"{source}: {key}.values.{day.isoformat()}"
    note = ""
    if isinstance(raw, Mapping):
        unknown = set(raw) - _VALUE_KEYS
        if unknown or "value" not in raw:
            raise ParameterError(f"{where}: expected value (and reference, unverified, note)", field=key)
        reference = str(raw.get("reference") or reference)
        unverified = bool(raw.get("unverified", unverified))
        note = str(raw.get("note", ""))
        raw = raw["value"]
    return ValueEntry(day, None if raw is None else convert(raw, unit, where, key), reference,
                      unverified, note)


def convert(raw: Any, unit: str, where: str, key: str = "") -> Value:
    """A YAML number as the engine holds it: minor units for money, a fraction for rates."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ParameterError(f"{where}: not a number: {raw!r}", field=key)
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        raise ParameterError(f"{where}: not a number: {raw!r}", field=key) from None
    if not number.is_finite() or number < 0:
        raise ParameterError(f"{where}: must be a finite number ≥ 0", field=key)
    if unit == "rate":
        return Fraction(number)
    if unit == "currency":
        number *= 100
    if number != number.to_integral_value():
        raise ParameterError(f"{where}: {raw} is not a whole number of "
                             f"{'minor units' if unit == 'currency' else unit}", field=key)
    return int(number)
