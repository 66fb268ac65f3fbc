"""Batch input and output for ``benefits simulate``: a persons table and a households table
(Parquet or CSV, read with pyarrow) in, one row per household out.

Persons have ``household_id``, ``role`` (``adult``/``child``, or 0 = adult / 1 = child), ``age``,
optionally ``partner`` (false = not a partner), the ruleset's income columns and person flags;
households have ``household_id`` and the ruleset's cost, benefit and household columns. Missing
columns count as 0; an unknown column, an empty cell, a negative amount or an impossible age is an
``InputError`` naming the column and the first row, and nothing is computed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wegweiser.rules.engine import Ruleset, simulate
from wegweiser.rules.errors import InputError
from wegweiser.rules.parameters import ParameterSet
from wegweiser.rules.periods import Month
from wegweiser.rules.population import PERSON, Population
from wegweiser.rules.schema import MAX_AGE, MAX_AMOUNT, MIN_ADULT_AGE, separate_adults

Columns = Mapping[str, Any]


@dataclass
class Batch:
    household_ids: Any
    population: Population
    inputs: dict[str, Any]


def read_table(path: Path, what: str) -> dict[str, Any]:
    """A Parquet or CSV file as NumPy columns."""
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif path.suffix.lower() == ".csv":
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(path)
        else:
            raise InputError(f"{what}: a .parquet or .csv file", field=what, code="invalid")
    except OSError as exc:
        raise InputError(f"{what}: cannot read {path.name}: {exc}", field=what, code="invalid") from exc
    except Exception as exc:  # pyarrow's own errors (bad CSV, not Parquet) have no common base
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{what}: {path.name} is not a valid table: {exc}", field=what,
                         code="invalid") from exc
    columns: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        if column.null_count:
            raise InputError(f"{what}.{name}: {column.null_count} empty cells", field=f"{what}.{name}",
                             code="invalid")
        columns[name] = column.to_numpy()
    return columns


def write_table(path: Path, columns: Mapping[str, Any]) -> None:
    import pyarrow as pa

    table = pa.table(dict(columns))
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif path.suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    else:
        raise InputError("out: a .parquet or .csv file", field="out", code="invalid")


def _first_row(mask: Any) -> int:
    return int(np.flatnonzero(mask)[0])


def _integers(values: Any, where: str, low: int, high: int) -> Any:
    array = np.asarray(values)
    if array.dtype == np.bool_:
        array = array.astype(np.int64, copy=False)
    if array.dtype.kind == "f":
        bad = array != np.floor(array)
        if bad.any():
            raise InputError(f"{where}: whole numbers only (row {_first_row(bad)})", field=where,
                             code="invalid_amount")
    elif array.dtype.kind not in "iu":
        raise InputError(f"{where}: numbers expected", field=where, code="invalid")
    if array.size:
        below, above = array < low, array > high
        if below.any():
            code = "negative_amount" if low == 0 else "invalid"
            raise InputError(f"{where}: values below {low} (row {_first_row(below)})", field=where,
                             code=code)
        if above.any():
            raise InputError(f"{where}: values above {high} (row {_first_row(above)})", field=where,
                             code="invalid")
    return array


def prepare(ruleset: Ruleset, households: Columns, persons: Columns) -> Batch:
    """Check both tables and turn them into the engine's population and input arrays."""
    schema = ruleset.schema
    person_columns = {"household_id", "role", "age", "partner", *schema.income, *schema.person_flags}
    household_columns = {"household_id", *schema.costs, *schema.benefits, *schema.household_fields}
    for name in persons:
        if name not in person_columns:
            raise InputError(f"persons.{name}: unknown column", field=f"persons.{name}", code="unknown_field")
    for name in households:
        if name not in household_columns:
            raise InputError(f"households.{name}: unknown column", field=f"households.{name}",
                             code="unknown_field")
    for table, name in (("persons", "household_id"), ("persons", "role"), ("persons", "age"),
                        ("households", "household_id")):
        if name not in (persons if table == "persons" else households):
            raise InputError(f"{table}.{name}: required column", field=f"{table}.{name}", code="invalid")
    household_ids = np.asarray(households["household_id"])
    # Tables written household by household need no sorting (the common case, and the cheap one).
    already_sorted = household_ids.size < 2 or bool((household_ids[1:] > household_ids[:-1]).all())
    order = None if already_sorted else np.argsort(household_ids, kind="stable")
    sorted_ids = household_ids if order is None else household_ids[order]
    if sorted_ids.size > 1 and (sorted_ids[1:] == sorted_ids[:-1]).any():
        raise InputError("households.household_id: duplicate ids", field="households.household_id",
                         code="invalid")
    person_household_ids = np.asarray(persons["household_id"])
    # int32 positions, found a slice at a time: no person-sized int64 temporary for millions.
    position = np.empty(person_household_ids.size, dtype=np.int32)
    for low in range(0, position.size, 1 << 20):
        part = slice(low, low + (1 << 20))
        found = np.searchsorted(sorted_ids, person_household_ids[part])
        np.minimum(found, max(sorted_ids.size - 1, 0), out=found)
        if sorted_ids.size == 0 or (sorted_ids[found] != person_household_ids[part]).any():
            raise InputError("persons.household_id: a person's household is not in the households table",
                             field="persons.household_id", code="invalid")
        position[part] = found
    person_household = position if order is None else order[position]  # index into the table as given
    person_order = None
    if person_household.size > 1 and (np.diff(person_household) < 0).any():
        person_order = np.argsort(person_household, kind="stable")
        person_household = person_household[person_order]

    def person_column(name: str) -> Any:
        column = np.asarray(persons[name])
        return column if person_order is None else column[person_order]

    population = Population(person_household, household_ids.size)
    inputs: dict[str, Any] = {}
    role = person_column("role")
    if role.dtype.kind in "OUS":
        is_child = role == "child"
        bad = ~(is_child | (role == "adult"))
    else:
        role = _integers(role, "persons.role", 0, 1)
        is_child, bad = role == 1, np.zeros(role.shape, dtype=bool)
    if bad.any():
        raise InputError(f"persons.role: adult or child (row {_first_row(bad)})", field="persons.role",
                         code="invalid")
    is_adult = ~is_child
    age = _integers(person_column("age"), "persons.age", 0, MAX_AGE).astype(np.int16)
    wrong_age = (is_adult & (age < MIN_ADULT_AGE)) | (is_child & (age > schema.max_child_age))
    if wrong_age.any():
        raise InputError(f"persons.age: impossible for the role (row {_first_row(wrong_age)})",
                         field="persons.age", code="invalid_age")
    no_adult = ~population.any(is_adult)
    if no_adult.any():
        raise InputError(f"households: a household needs at least one adult (row {_first_row(no_adult)})",
                         field="households", code="no_adult")
    inputs["is_adult"], inputs["age"] = is_adult, age
    if "partner" in persons:
        inputs["not_partner"] = ~_integers(person_column("partner"), "persons.partner", 0, 1).astype(bool)
    if schema.max_dependent_adult_age is not None:
        bad = separate_adults(population, is_adult, inputs.get("not_partner"), age,
                              schema.max_dependent_adult_age)
        if bad.any():
            raise InputError(f"persons.age: an adult over {schema.max_dependent_adult_age} who is not a "
                             f"partner forms a unit of their own (row {_first_row(bad)})",
                             field="persons.age", code="separate_unit")
    for name in schema.income:
        if name in persons:
            column = _integers(person_column(name), f"persons.{name}", 0, MAX_AMOUNT)
            inputs[name] = column.astype(np.int64, copy=False)
    for name, (kind, maximum) in schema.person_flags.items():
        if name in persons:
            column = _integers(person_column(name), f"persons.{name}", 0, maximum)
            inputs[name] = column.astype(bool) if kind == "bool" else column.astype(np.int64, copy=False)
    for name in (*schema.costs, *schema.benefits):
        if name in households:
            column = _integers(households[name], f"households.{name}", 0, MAX_AMOUNT)
            inputs[name] = column.astype(np.int64, copy=False)
    for name, (kind, maximum) in schema.household_fields.items():
        if name in households:
            high = MAX_AMOUNT if kind == "money" else maximum
            column = _integers(households[name], f"households.{name}", 0, high)
            inputs[name] = column.astype(bool) if kind == "bool" else column.astype(np.int64, copy=False)
    return Batch(household_ids, population, inputs)


CHUNK_HOUSEHOLDS = 1 << 16


def run(ruleset: Ruleset, month: Month, batch: Batch, parameters: ParameterSet | None = None,
        chunk: int = CHUNK_HOUSEHOLDS) -> dict[str, Any]:
    """The amount and the main intermediate amounts for every household, computed ``chunk``
    households at a time: the engine's temporaries then stay the size of one chunk (a few MiB,
    warm in the CPU cache) however many households there are, and only the results are full size."""
    names = (ruleset.amount, *ruleset.outputs)
    population = batch.population
    total = population.n_households
    out: dict[str, Any] = {"household_id": batch.household_ids}
    if total == 0:  # an empty table gives an empty result, not an error
        out.update({name: np.zeros(0, dtype=np.int64) for name in names})
        return out
    if total <= chunk:
        result = simulate(ruleset, population, batch.inputs, month, targets=names, parameters=parameters)
        out.update({name: result.values[name] for name in names})
        return out
    for name in names:
        out[name] = np.empty(total, dtype=np.int64)
    entity = {name: ruleset.variables[name].entity for name in batch.inputs}
    for low in range(0, total, chunk):
        high = min(total, low + chunk)
        first = int(population.starts[low])
        last = int(population.starts[high]) if high < total else population.n_persons
        part = Population(population.person_household[first:last] - low, high - low)
        inputs = {name: values[first:last] if entity[name] == PERSON else values[low:high]
                  for name, values in batch.inputs.items()}
        result = simulate(ruleset, part, inputs, month, targets=names, parameters=parameters)
        for name in names:
            out[name][low:high] = result.values[name]
    return out


def simulate_files(ruleset: Ruleset, month: Month, households_path: Path, persons_path: Path,
                   out_path: Path, parameters: ParameterSet | None = None) -> dict[str, Any]:
    """The ``benefits simulate`` command without its argument parsing; returns the summary."""
    households = read_table(households_path, "households")
    persons = read_table(persons_path, "persons")
    started = time.perf_counter()
    batch = prepare(ruleset, households, persons)
    del households, persons  # the batch keeps the columns it needs; the ids can go
    out = run(ruleset, month, batch, parameters)
    seconds = time.perf_counter() - started
    write_table(out_path, out)
    count = int(batch.population.n_households)
    return {"households": count, "seconds": round(seconds, 4),
            "households_per_s": round(count / seconds) if seconds > 0 else None}


def summary_line(summary: Mapping[str, Any]) -> str:
    return json.dumps(dict(summary), separators=(",", ":"))
