"""``python -m wegweiser benefits assess FILE.json`` and ``benefits simulate …`` as fixed in
../shared/contracts/benefits-io.md, plus ``benefits unverified`` (the list in docs/rules.md).
Bad input: a message naming the field on stderr and exit status 2; nothing is computed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from wegweiser import rulesets
from wegweiser.benefits.errors import message
from wegweiser.benefits.selectors import format_value
from wegweiser.rules import tables
from wegweiser.rules.errors import InputError, NoParameters, ParameterError
from wegweiser.rules.parameters import ParameterSet
from wegweiser.rules.periods import Month


class Command(BaseCommand):
    help = "Assess one household or simulate many with the income-support rulesets."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        assess = commands.add_parser("assess", help="one household (contract JSON) → result JSON")
        assess.add_argument("file", help="the request as JSON; - reads standard input")
        assess.add_argument("--language", default="", help="de, sv or en (default: the site's)")
        simulate = commands.add_parser("simulate", help="many households from Parquet or CSV tables")
        simulate.add_argument("--ruleset", required=True)
        simulate.add_argument("--month", required=True, help="YYYY-MM")
        simulate.add_argument("--households", required=True, type=Path)
        simulate.add_argument("--persons", required=True, type=Path)
        simulate.add_argument("--out", required=True, type=Path)
        simulate.add_argument("--parameters", type=Path,
                              help="YAML of parameter overrides (a reform): key: value or key: {date: value}")
        unverified = commands.add_parser("unverified", help="Markdown list of unverified values")
        unverified.add_argument("--ruleset", default="")
        commands.add_parser("letters", help="issue decision letters that are due (run from cron)")
        office = commands.add_parser("office", help="let an agency take benefit applications")
        office.add_argument("--node", required=True, help="the agency unit's id (see its page's address)")
        office.add_argument("--ruleset", required=True, choices=list(rulesets.RULESETS))
        reproduce = commands.add_parser("reproduce", help="compute a stored assessment again and compare")
        reproduce.add_argument("id", help="the assessment's id, or an application's (its latest assessment)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "assess":
                self._assess(options["file"], options["language"])
            elif options["action"] == "simulate":
                self._simulate(options)
            elif options["action"] == "reproduce":
                self._reproduce(options["id"])
            elif options["action"] == "office":
                self._office(options["node"], options["ruleset"])
            elif options["action"] == "letters":
                from wegweiser.benefits.letters import letters_retry

                self.stdout.write(json.dumps(letters_retry()))
            else:
                self.stdout.write(unverified_markdown(options["ruleset"] or None))
        except (InputError, NoParameters, ParameterError) as error:
            sys.stderr.write(f"{message(error)}\n  [{error.code}] {error.field}: {error.message}\n")
            sys.exit(2)

    def _assess(self, file: str, language: str) -> None:
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
            data = json.loads(text)
        except (OSError, ValueError, RecursionError) as exc:
            raise InputError(f"{file}: cannot read JSON: {exc}", field="file", code="invalid") from exc
        language = language or translation.get_language() or "de"
        self.stdout.write(json.dumps(rulesets.assess(data, language), ensure_ascii=False, indent=2))

    def _office(self, node_id: str, ruleset: str) -> None:
        from django.core.exceptions import ValidationError
        from django.http import Http404

        from wegweiser.benefits.actions import office_create
        from wegweiser.organizations.access import parse_uuid
        from wegweiser.organizations.models import Node

        try:
            node = Node.objects.filter(public_id=parse_uuid(node_id)).first()
        except Http404:
            node = None
        if node is None:
            raise InputError(f"{node_id}: no such unit", field="node", code="invalid")
        try:
            office = office_create(actor=None, node=node, ruleset=ruleset)
        except ValidationError as exc:
            raise InputError(f"{node.name}: {' '.join(exc.messages)}", field="node", code="invalid") from exc
        self.stdout.write(f"{node.name} takes {ruleset} applications (office {office.public_id}); "
                          "everything automatic is off until its agency lead switches it on.")

    def _reproduce(self, identifier: str) -> None:
        """Exit 0 when the stored result comes out again to the cent, 1 when it does not."""
        from django.http import Http404

        from wegweiser.benefits.actions import assessment_reproduce
        from wegweiser.benefits.models import Assessment
        from wegweiser.organizations.access import parse_uuid

        try:
            key = parse_uuid(identifier)
        except Http404:
            raise InputError(f"{identifier}: not an id", field="id", code="invalid") from None
        assessment = (Assessment.objects.filter(public_id=key).first()
                      or Assessment.objects.filter(application__public_id=key).order_by("-created_at", "-id")
                      .first())
        if assessment is None:
            raise InputError(f"{identifier}: no such assessment or application", field="id", code="invalid")
        again = assessment_reproduce(assessment)
        stored = assessment.result
        identical = again["amount"] == stored["amount"] and again["lines"] == stored["lines"]
        installed = rulesets.get(assessment.ruleset).version
        self.stdout.write(json.dumps({
            "assessment": str(assessment.public_id), "ruleset": assessment.ruleset,
            "ruleset_version": assessment.ruleset_version, "installed_version": installed,
            "stored_amount": stored["amount"], "amount": again["amount"], "identical": identical,
        }, ensure_ascii=False))
        if not identical:
            sys.exit(1)

    def _simulate(self, options: dict[str, Any]) -> None:
        ruleset = rulesets.get(options["ruleset"])
        month = Month.parse(options["month"])
        parameters = None
        if options["parameters"]:
            parameters = load_overrides(ruleset.parameters, options["parameters"])
        ruleset.values_at(month, parameters)  # no_parameters before reading any table
        summary = tables.simulate_files(ruleset, month, options["households"], options["persons"],
                                        options["out"], parameters)
        self.stdout.write(tables.summary_line(summary))


def load_overrides(base: ParameterSet, path: Path) -> ParameterSet:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"{path.name}: cannot read YAML: {exc}", field="parameters") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"{path.name}: expected a mapping of parameter keys", field="parameters")
    return base.with_overrides(data, source=path.name)


def unverified_markdown(ruleset_id: str | None = None) -> str:
    """The generated list in docs/rules.md: every value not confirmed from a primary source."""
    lines = []
    for ruleset in rulesets.all_rulesets():
        if ruleset_id and ruleset.id != ruleset_id:
            continue
        lines += [f"### {ruleset.id}", "", "| parameter | from | value | note |", "|---|---|---|---|"]
        for parameter, entry in ruleset.parameters.unverified():
            shown = format_value(entry.value, parameter.unit, ruleset.currency, "en")
            lines.append(f"| `{parameter.key}` | {entry.start.isoformat()} | {shown} | {entry.note} |")
        lines.append("")
    return "\n".join(lines)


