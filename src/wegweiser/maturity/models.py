"""Digital-maturity self-checks of organization units: who answers, their answers, and the
stored result of a closed check (for comparison and peer benchmarks).

A check belongs to one organization unit and one questionnaire version. Several colleagues answer
it (the key user who started it invites them by a link). Answers are the unit's self-assessment,
not personal data about clients; they are shown only to the unit's respondents and the staff who
run checks for it. Benchmarks use only stored results of closed checks and only for groups of at
least ``benchmarks.MIN_PEERS`` organizations.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wegweiser.organizations.models import Node


class SizeBand(models.TextChoices):
    SMALL = "1-9", _("1 to 9 staff")
    MEDIUM = "10-49", _("10 to 49 staff")
    LARGE = "50-249", _("50 to 249 staff")
    VERY_LARGE = "250+", _("250 staff or more")


class Check(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    federation_path = models.CharField(max_length=255, db_index=True)
    region_path = models.CharField(max_length=255, db_index=True)
    size_band = models.CharField(_("size"), max_length=10, choices=SizeBand.choices)
    questionnaire = models.CharField(max_length=20)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    invite_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    scores = models.JSONField(default=dict, blank=True)
    overall = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(closed_at__isnull=True),
                name="maturity_one_open_check_per_unit",
            )
        ]
        indexes = [models.Index(fields=["closed_at", "organization"], name="maturity_closed_checks")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.created_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Respondent(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    check_run = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="respondents")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)  # where to resume
    joined_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["check_run", "user"], name="maturity_respondent_once")]

    def __str__(self) -> str:
        return f"{self.check_run_id}:{self.user_id}"


class Answer(models.Model):
    respondent = models.ForeignKey(Respondent, on_delete=models.CASCADE, related_name="answers")
    key = models.CharField(max_length=80)
    value = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["respondent", "key"], name="maturity_answer_once"),
            models.CheckConstraint(condition=Q(value__lte=4), name="maturity_answer_range"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
