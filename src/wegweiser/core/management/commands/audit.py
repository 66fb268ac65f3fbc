from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wegweiser.core.audit import audit_verify


class Command(BaseCommand):
    help = "Audit log tools. 'audit verify' checks the hash chain and names the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subcommand", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify()
        if not result.ok:
            raise CommandError(
                f"Audit chain BROKEN at entry {result.broken_seq}: {result.problem}. "
                f"{result.count} entries before it are intact."
            )
        self.stdout.write(
            f"Audit chain intact: {result.count} entries. Head hash: {result.head_hash}\n"
            "Record the head hash outside this server to detect truncation later."
        )
