from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who logs in: a client (often anonymous) or a staff member.

    The kind is fixed at creation: clients register themselves and can never be given a staff
    role; staff accounts are created by an organization admin.
    """

    class Kind(models.TextChoices):
        CLIENT = "client", _("Client")
        STAFF = "staff", _("Staff")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CLIENT)
    language = models.CharField(_("language"), max_length=8, blank=True)
    # Content-free e-mail when a new message waits; only ever sent to an address the user added.
    email_notifications = models.BooleanField(_("e-mail notifications"), default=False)
    # Created by ``loadtest-seed``; ``loadtest-seed --purge`` deletes exactly these accounts.
    loadtest = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
