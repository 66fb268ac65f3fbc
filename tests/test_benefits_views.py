"""The Django side of the rules: the public assessment API, the transparency pages, the
``benefits`` command (assess, simulate with a reform, unverified), and the engine's independence
from Django."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

import wegweiser
from wegweiser.benefits.management.commands.benefits import unverified_markdown
from wegweiser.rulesets import get

ROOT = Path(__file__).resolve().parent.parent
SE_REQUEST = {"ruleset": "se.ekonomiskt_bistand", "month": "2026-01", "household": {
    "persons": [{"id": "a", "role": "adult", "age": 34}, {"id": "b", "role": "adult", "age": 31},
                {"id": "c", "role": "child", "age": 8}],
    "costs": {"housing": 650000, "household_electricity": 30000, "home_insurance": 15000},
    "benefits": {"child_allowance": 125000}}}


def post(client: Any, body: Any, language: str = "de") -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/api/v1/benefits/assess", data=data, content_type="application/json",
                       headers={"accept-language": language})


def test_assess_api_returns_the_contract_result(client: Any) -> None:
    # No database fixture: any query would fail the request. A calculator reads and stores nothing.
    response = post(client, SE_REQUEST, "en")
    assert response.status_code == 200
    result = response.json()
    assert result["amount"] == 1840000 and result["currency"] == "SEK"
    assert result["ruleset_version"] == "2026.1" and result["month"] == "2026-01"
    assert [line["key"] for line in result["lines"]][:3] == [
        "riksnorm.personal.a", "riksnorm.personal.b", "riksnorm.personal.c"]
    assert result["lines"][2]["label"] == "Personal costs, child aged 7–10"
    assert "Entitlement for the month" in result["text"]
    swedish = post(client, SE_REQUEST, "sv").json()
    assert swedish["lines"][2]["label"] == "Personliga kostnader, barn 7–10 år"
    assert "18\u202f400,00\u00a0kr" in swedish["text"]
    assert "/api/v1/benefits/assess" in client.get("/api/v1/openapi.json").json()["paths"]


@pytest.mark.parametrize(("change", "code", "field"), [
    (lambda r: r["household"].update(pets=2), "unknown_field", "household.pets"),
    (lambda r: r["household"]["persons"][0].update(income={"salary_net": -5}), "negative_amount",
     "household.persons[0].income.salary_net"),
    (lambda r: r["household"]["persons"][0].update(income={"salary_gross": 5}), "unknown_field",
     "household.persons[0].income.salary_gross"),
    (lambda r: r["household"]["costs"].update(housing=6500.5), "invalid_amount", "household.costs.housing"),
    (lambda r: r["household"]["persons"][2].update(age=44), "invalid_age", "household.persons[2].age"),
    (lambda r: r["household"]["persons"][0].update(age=-1), "invalid_age", "household.persons[0].age"),
    (lambda r: r["household"].update(persons=[{"role": "child", "age": 3}]), "no_adult", "household.persons"),
    (lambda r: r.update(month="2027-01"), "no_parameters", "month"),
    (lambda r: r.update(month="2026-13"), "invalid_month", "month"),
    (lambda r: r.update(ruleset="fr.rsa"), "unknown_ruleset", "ruleset"),
])
def test_bad_input_is_a_translated_400_naming_the_field(client: Any, change: Any, code: str,
                                                        field: str) -> None:
    request = json.loads(json.dumps(SE_REQUEST))
    change(request)
    response = post(client, request, "de")
    assert response.status_code == 400
    error = response.json()
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"] and "amount" not in error
    if code == "negative_amount":
        assert error["message"] == f"{field}: Beträge können nicht negativ sein."
        assert post(client, request, "sv").json()["message"] == f"{field}: belopp kan inte vara negativa."


def test_broken_bodies(client: Any, settings: Any) -> None:
    assert post(client, "{not json").json()["code"] == "invalid"
    assert post(client, "[]").status_code == 400
    assert post(client, "[" * 100_000 + "]" * 100_000).json()["code"] == "invalid"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    huge = json.loads(json.dumps(SE_REQUEST))
    huge["household"]["persons"][0]["id"] = "x" * 2000
    assert post(client, huge).status_code == 400
    assert client.get("/api/v1/benefits/assess").status_code == 405


def test_transparency_pages_list_every_rule_and_parameter(client: Any) -> None:
    index = client.get("/rules/", headers={"accept-language": "en"})
    assert index.status_code == 200
    assert b"/rules/se.ekonomiskt_bistand/" in index.content and b"/rules/de.buergergeld/" in index.content
    for ruleset_id in ("se.ekonomiskt_bistand", "de.buergergeld"):
        page = client.get(f"/rules/{ruleset_id}/", headers={"accept-language": "en"}).content.decode()
        ruleset = get(ruleset_id)
        for parameter in ruleset.parameters:
            assert f'id="parameter-{parameter.key}"' in page
        for name in ruleset.variables:
            assert f'id="rule-{name}"' in page
    page = client.get("/rules/de.buergergeld/", headers={"accept-language": "de"}).content.decode()
    assert "563,00\u00a0€" in page and "RBSFV 2026" in page and "17\u00a0%" in page
    assert "ungeprüft" in page  # the 2026 housing change is marked
    assert client.get("/rules/fr.rsa/").status_code == 404


def run_command(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "wegweiser", "benefits", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_assess_prints_the_result_and_fails_clearly(tmp_path: Path) -> None:
    file = tmp_path / "household.json"
    file.write_text(json.dumps(SE_REQUEST), encoding="utf-8")
    done = run_command("assess", str(file), "--language", "en")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["amount"] == 1840000
    bad = dict(SE_REQUEST, month="2030-01")
    failed = run_command("assess", "-", stdin=json.dumps(bad))
    assert failed.returncode == 2 and failed.stdout == ""
    assert "month" in failed.stderr and "2030-01" in failed.stderr


def test_cli_simulate_csv_and_parquet_with_a_reform(tmp_path: Path, capsys: Any) -> None:
    persons = {"household_id": ["h2", "h1", "h1", "h1"], "role": ["adult", "adult", "adult", "child"],
               "age": [70, 34, 31, 8], "pension_net": [1100000, 0, 0, 0]}
    households = {"household_id": ["h1", "h2"], "housing": [650000, 500000],
                  "household_electricity": [30000, 0], "home_insurance": [15000, 0],
                  "child_allowance": [125000, 0]}
    pq.write_table(pa.table(persons), tmp_path / "persons.parquet")
    pacsv.write_csv(pa.table(households), tmp_path / "households.csv")
    out = tmp_path / "out.parquet"
    call_command("benefits", "simulate", "--ruleset", "se.ekonomiskt_bistand", "--month", "2026-01",
                 "--households", str(tmp_path / "households.csv"), "--persons",
                 str(tmp_path / "persons.parquet"), "--out", str(out))
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["households"] == 2 and summary["households_per_s"] > 0
    table = pq.read_table(out).to_pydict()
    assert table["household_id"] == ["h1", "h2"]
    assert table["amount"] == [1840000, 0]  # the pensioner's 11 000 kr cover 5 220 + 5 000
    assert table["riksnorm"][0] == 1270000
    reform = tmp_path / "reform.yaml"
    reform.write_text("riksnorm.personal.child_7_10: 4000\n", encoding="utf-8")
    csv_out = tmp_path / "out.csv"
    call_command("benefits", "simulate", "--ruleset", "se.ekonomiskt_bistand", "--month", "2026-01",
                 "--households", str(tmp_path / "households.csv"), "--persons",
                 str(tmp_path / "persons.parquet"), "--out", str(csv_out), "--parameters", str(reform))
    reformed = pacsv.read_csv(csv_out).to_pydict()
    assert reformed["amount"][0] == 1840000 + 18000


def test_cli_simulate_refuses_bad_tables_and_writes_nothing(tmp_path: Path) -> None:
    pacsv.write_csv(pa.table({"household_id": [1], "role": ["adult"], "age": [30], "salary_net": [-1]}),
                     tmp_path / "persons.csv")
    pacsv.write_csv(pa.table({"household_id": [1]}), tmp_path / "households.csv")
    done = run_command("simulate", "--ruleset", "se.ekonomiskt_bistand", "--month", "2026-01",
                       "--households", str(tmp_path / "households.csv"), "--persons",
                       str(tmp_path / "persons.csv"), "--out", str(tmp_path / "out.csv"))
    assert done.returncode == 2 and "persons.salary_net" in done.stderr
    assert not (tmp_path / "out.csv").exists()


def test_docs_list_every_unverified_value() -> None:
    """docs/rules.md carries the generated list; regenerate it with
    ``python -m wegweiser benefits unverified`` when parameters change."""
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert unverified_markdown() in docs


def test_the_rules_engine_imports_no_django() -> None:
    package = Path(wegweiser.__file__).parent
    for folder in ("rules", "rulesets"):
        for path in (package / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                assert not any(n.split(".")[0] == "django" for n in names), path
