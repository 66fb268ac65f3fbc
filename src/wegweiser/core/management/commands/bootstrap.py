"""Create the first federation and its first federation admin on a fresh installation.

There is no Django admin site; everything after this runs through the federation admin's pages.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from wegweiser.accounts.actions import password_set_link, staff_account_create
from wegweiser.accounts.models import User
from wegweiser.organizations.actions import federation_create
from wegweiser.organizations.models import Node, Role


class Command(BaseCommand):
    help = "Create a federation and its first federation admin; prints a link to set the password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--federation", required=True, help="name of the federation")
        parser.add_argument("--admin", required=True, help="username of the first admin")
        parser.add_argument("--email", required=True, help="work e-mail of the first admin")
        parser.add_argument(
            "--url", default=f"https://{settings.ALLOWED_HOSTS[0]}",
            help="public base URL used in the link (default: https://<first ALLOWED_HOSTS>)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            validate_email(options["email"])
        except ValidationError:
            raise CommandError("--email: not a valid e-mail address.") from None
        if User.objects.filter(username__iexact=options["admin"]).exists():
            raise CommandError("--admin: this username is already taken.")
        if Node.objects.get_root_nodes().filter(name=options["federation"]).exists():
            raise CommandError("--federation: a federation with this name exists already.")
        try:
            with transaction.atomic():
                root = federation_create(actor=None, name=options["federation"])
                user = staff_account_create(
                    actor=None, node=root, username=options["admin"], email=options["email"],
                    role=Role.FEDERATION_ADMIN, base_url=options["url"],
                )
        except (OSError, smtplib.SMTPException) as exc:
            # The rows are committed; only the e-mail failed. The link below still works.
            self.stderr.write(f"Could not send the invitation e-mail ({exc}).")
            user = User.objects.get(username=options["admin"])
            root = Node.objects.get_root_nodes().get(name=options["federation"])
        self.stdout.write(f"Federation created: {root.name} ({root.public_id})")
        self.stdout.write(f"Federation admin: {user.username}. Set the password here (once):")
        self.stdout.write(password_set_link(user, options["url"]))
