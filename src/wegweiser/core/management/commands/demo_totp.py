from __future__ import annotations

import time
from typing import Any

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wegweiser.core.management.commands.demo import DEMO_TOTP_SECRET


def current_demo_code() -> str:
    counter = int(time.time()) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter))


class Command(BaseCommand):
    help = "Print the current TOTP code of the demo staff accounts (demo only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_ALLOWED:
            raise CommandError("Only with DEBUG=1 or WEGWEISER_DEMO=1.")
        self.stdout.write(current_demo_code())
