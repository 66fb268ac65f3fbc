"""``python -m wegweiser catalogue load [PATH]`` loads (or updates) the tool catalogue from a YAML
file, by default the demo set shipped in ``wegweiser/catalogue/data/tools.yaml``;
``catalogue check [PATH]`` only checks a file. A bad file: every problem with the file name and
its place on stderr, exit status 2, nothing stored."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from wegweiser.catalogue.loader import DEFAULT_PATH


class Command(BaseCommand):
    help = "Load or check the data-protection-rated tool catalogue."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        for name, text in (("load", "load or update the catalogue (idempotent)"),
                           ("check", "check a catalogue file without storing anything")):
            sub = commands.add_parser(name, help=text)
            sub.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH,
                             help="the YAML file (default: the shipped demo set)")

    def handle(self, *args: Any, **options: Any) -> None:
        from wegweiser.catalogue.actions import catalogue_load
        from wegweiser.catalogue.loader import parse

        try:
            if options["action"] == "check":
                data = parse(options["path"])
                self.stdout.write(f"{data.name}: {len(data.tools)} tools in {len(data.categories)} "
                                  "categories, no problems found")
                return
            summary = catalogue_load(actor=None, path=options["path"])
        except ValidationError as exc:
            for problem in exc.messages:
                sys.stderr.write(f"{problem}\n")
            sys.exit(2)
        self.stdout.write(summary.line() if summary.changed else f"{summary.file}: already up to date")
