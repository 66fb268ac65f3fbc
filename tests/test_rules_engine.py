"""The engine on its own: parameter files are checked and name file and key; dependencies are
resolved by name with cycles reported; formulas must not return floats; a month without
parameters is an error; reforms override parameters; grouping by household is exact."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wegweiser.rules.engine import HOUSEHOLD, PERSON, Ruleset, simulate
from wegweiser.rules.errors import DefinitionError, NoParameters, ParameterError
from wegweiser.rules.money import divide_half_up, format_amount, rate_half_up
from wegweiser.rules.parameters import load_directory
from wegweiser.rules.periods import Month
from wegweiser.rules.population import Population

LABEL = {"de": "x", "sv": "x", "en": "x"}
GOOD = """
amount:
  description: An amount
  metadata:
    label: {de: Betrag, sv: Belopp, en: Amount}
    unit: currency
    reference: "§ 1"
  values:
    2024-01-01: 95.71
    2025-01-01: {value: 100, reference: "§ 2", unverified: true, note: derived}
    2026-01-01: {value: null}
rate:
  metadata:
    label: {de: Satz, sv: Andel, en: Rate}
    unit: rate
    reference: "§ 3"
  values:
    2024-01-01: 0.17
"""


def write(tmp_path: Path, text: str, name: str = "group.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_parameters_load_with_history_minor_units_and_exact_rates(tmp_path: Path) -> None:
    parameters = load_directory(write(tmp_path, GOOD))
    assert parameters.at(Month(2024, 6)).values == {"group.amount": 9571, "group.rate": Fraction(17, 100)}
    assert parameters.at(Month(2025, 1)).values["group.amount"] == 10000
    assert parameters.at(Month(2025, 1)).entries["group.amount"].reference == "§ 2"
    assert "group.amount" not in parameters.at(Month(2026, 1)).values  # ended by null
    with pytest.raises(NoParameters, match=r"group\.amount.*2026-01"):
        parameters.at(Month(2026, 1)).value("group.amount")
    assert [(p.key, e.start.year) for p, e in parameters.unverified()] == [("group.amount", 2025)]


@pytest.mark.parametrize(("broken", "message"), [
    (GOOD.replace("sv: Belopp, ", ""), r"group\.yaml: group\.amount\.metadata\.label\.sv: missing"),
    (GOOD.replace("unit: currency", "unit: euro"), r"group\.amount\.metadata\.unit"),
    (GOOD.replace('reference: "§ 1"', 'reference: ""'), r"group\.amount\.metadata\.reference"),
    (GOOD.replace("95.71", "95.715"), r"group\.amount\.values\.2024-01-01: 95\.715 is not a whole"),
    (GOOD.replace("95.71", "-3"), r"group\.amount\.values\.2024-01-01: must be a finite number"),
    (GOOD.replace("95.71", "abc"), r"not a number"),
    (GOOD.replace("2024-01-01: 95.71", "2024-13-01: 95.71"), r"group\.yaml: not valid YAML: month"),
    (GOOD.replace("2024-01-01: 95.71", "'2024-1-1x': 95.71"),
     r"group\.amount\.values\.2024-1-1x: not a date"),
    (GOOD.replace("  description: An amount", "  descripton: An amount"), r"unknown keys \['descripton'\]"),
    (GOOD.replace("note: derived}", "nite: derived}"), r"expected value"),
    ("a: [1, 2", r"group\.yaml: not valid YAML"),
])
def test_broken_parameter_files_name_file_and_key(tmp_path: Path, broken: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        load_directory(write(tmp_path, broken))


def test_overrides_are_a_reform_and_refuse_unknown_keys(tmp_path: Path) -> None:
    parameters = load_directory(write(tmp_path, GOOD))
    reform = parameters.with_overrides({"group.amount": {"2024-07-01": 120}, "group.rate": 0.2})
    assert reform.at(Month(2024, 6)).values["group.amount"] == 9571
    assert reform.at(Month(2024, 7)).values["group.amount"] == 12000
    assert reform.at(Month(2024, 1)).values["group.rate"] == Fraction(1, 5)
    assert parameters.at(Month(2024, 7)).values["group.amount"] == 9571  # the original is untouched
    with pytest.raises(ParameterError, match=r"group\.nothing: no such parameter"):
        parameters.with_overrides({"group.nothing": 1})


def toy(tmp_path: Path) -> Ruleset:
    ruleset = Ruleset(id="toy", version="1", currency="EUR", first_month=Month(2024, 1),
                      last_month=Month(2025, 12), parameter_dir=write(tmp_path, GOOD), label=LABEL,
                      reference="§ 0")
    ruleset.input("income", entity=PERSON, unit="currency", label=LABEL)
    calls: list[str] = []

    @ruleset.formula(entity=PERSON, unit="currency", label=LABEL)
    def share(income: Any, p: Any) -> Any:
        calls.append("share")
        return rate_half_up(income, p.value("group.rate"))

    @ruleset.formula(entity=HOUSEHOLD, unit="currency", label=LABEL)
    def amount(share: Any, pop: Any, p: Any) -> Any:
        return np.maximum(p.value("group.amount") - pop.sum(share), 0)

    ruleset.__dict__["calls"] = calls
    return ruleset


def test_one_or_many_households_through_the_same_code(tmp_path: Path) -> None:
    ruleset = toy(tmp_path)
    ruleset.check()
    population = Population(np.array([0, 0, 1, 2, 2, 2]), 3)
    income = np.array([100, 200, 0, 10000, 5, 3], dtype=np.int64)
    result = simulate(ruleset, population, {"income": income}, Month(2024, 3), targets=["amount"])
    # 17 % half up: 17, 34 | 0 | 1700, 1 (0.85), 1 (0.51)
    assert result.values["amount"].tolist() == [9571 - 51, 9571, 9571 - 1702]
    assert "share" not in result.values  # intermediates are dropped after their last use
    assert ruleset.__dict__["calls"] == ["share"]  # computed once
    one = simulate(ruleset, Population.single(2), {"income": income[:2]}, Month(2024, 3))
    assert one.values["amount"].tolist() == [9571 - 51]


def test_month_without_parameters_is_an_error(tmp_path: Path) -> None:
    ruleset = toy(tmp_path)
    with pytest.raises(NoParameters, match="2026-01"):
        simulate(ruleset, Population.single(1), {}, Month(2026, 1))
    with pytest.raises(NoParameters):
        simulate(ruleset, Population.single(1), {}, Month(2023, 12))


def test_cycles_and_unknown_dependencies_are_reported(tmp_path: Path) -> None:
    ruleset = toy(tmp_path)

    @ruleset.formula(entity=PERSON, unit="currency", label=LABEL)
    def a(b: Any) -> Any:
        return b

    @ruleset.formula(entity=PERSON, unit="currency", label=LABEL)
    def b(a: Any) -> Any:
        return a

    with pytest.raises(DefinitionError, match="dependency cycle: a → b → a"):
        ruleset.plan(["a"])
    other = toy(tmp_path)

    @other.formula(entity=PERSON, unit="currency", label=LABEL)
    def c(nothing_like_this: Any) -> Any:
        return nothing_like_this

    with pytest.raises(DefinitionError, match="c needs unknown variable nothing_like_this"):
        other.check()


def test_floats_and_missing_labels_are_refused(tmp_path: Path) -> None:
    ruleset = toy(tmp_path)

    @ruleset.formula(entity=PERSON, unit="currency", label=LABEL)
    def halved(income: Any) -> Any:
        return income / 2

    with pytest.raises(DefinitionError, match="halved returned floats"):
        simulate(ruleset, Population.single(1), {"income": np.array([3])}, Month(2024, 1),
                 targets=["halved"])
    with pytest.raises(DefinitionError, match="labels in de, sv, en"):
        ruleset.input("unlabelled", entity=PERSON, unit="currency", label={"de": "x"})


def test_population_grouping() -> None:
    population = Population(np.array([0, 0, 0, 1, 2, 2]), 3)
    mask = np.array([True, False, True, True, True, True])
    assert population.sum(np.array([1, 2, 3, 4, 5, 6])).tolist() == [6, 4, 11]
    assert population.rank(mask).tolist() == [0, -1, 1, 0, 0, 1]
    assert population.project(np.array([7, 8, 9])).tolist() == [7, 7, 7, 8, 9, 9]
    with pytest.raises(Exception, match="at least one person"):
        Population(np.array([0, 0, 2]), 3)


def test_money_rounding_is_written_out() -> None:
    assert rate_half_up(np.array([56300, 50600, 1]), Fraction(17, 100)).tolist() == [9571, 8602, 0]
    assert rate_half_up(np.array([3]), Fraction(1, 2)).tolist() == [2]  # 1.5 → 2
    assert divide_half_up(np.array([171000, 5]), np.array([5, 2])).tolist() == [34200, 3]
    assert format_amount(-123456, "EUR", "de") == "−1.234,56\u00a0€"
    assert format_amount(522000, "SEK", "sv") == "5\u202f220,00\u00a0kr"
    assert format_amount(522000, "SEK", "en") == "SEK 5,220.00"


def test_an_empty_batch_gives_an_empty_result() -> None:
    from wegweiser.rules import tables
    from wegweiser.rulesets import get

    ruleset = get("se.ekonomiskt_bistand")
    empty = np.array([], dtype=np.int64)
    batch = tables.prepare(ruleset, {"household_id": empty},
                           {"household_id": empty, "role": empty.astype(np.int8), "age": empty})
    out = tables.run(ruleset, Month(2026, 1), batch)
    assert out["amount"].shape == (0,) and set(out) == {"household_id", "amount", *ruleset.outputs}
