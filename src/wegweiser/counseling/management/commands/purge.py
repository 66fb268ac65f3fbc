from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from wegweiser.counseling.retention import purge


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


class Command(BaseCommand):
    help = (
        "Delete what the retention rules say must go: closed conversations whose topic's retention "
        "period (days after closing) has passed, and anonymous client accounts (no verified e-mail "
        "address) inactive for ANONYMOUS_ACCOUNT_RETENTION_DAYS, with their conversations and "
        "attachment files. Each deletion is recorded in the audit log (ids and counts only). "
        "Idempotent and safe to run at any time; run it daily from cron, e.g. "
        "'30 3 * * * wegweiser python -m wegweiser purge'."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = purge()
        self.stdout.write(
            f"Deleted {_plural(counts['conversations'], 'conversation')} and "
            f"{_plural(counts['accounts'], 'account')} "
            f"({_plural(counts['messages'], 'message')}, {_plural(counts['attachments'], 'attachment')})."
        )
