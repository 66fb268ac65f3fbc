"""Benefit applications: offices with their automation policy, monthly applications, the stored
assessments that reproduce to the cent, and the decisions.

Money is int64 minor units (öre, cent). A household is kept in the contract's JSON form
(../shared/contracts/benefits-io.md), so what the applicant gave is exactly what the engine got.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wegweiser.benefits.policy import AutomationPolicy
from wegweiser.organizations.models import Node

RULESET_CHOICES = [
    ("se.ekonomiskt_bistand", _("Sweden: försörjningsstöd")),
    ("de.buergergeld", _("Germany: Bürgergeld / Grundsicherungsgeld")),
]


class BenefitOffice(models.Model):
    """An agency that takes benefit applications, the ruleset it applies and what it lets the
    machine decide (see ``benefits.policy``; everything off by default)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    node = models.OneToOneField(Node, on_delete=models.PROTECT, related_name="benefit_office")
    ruleset = models.CharField(_("rules"), max_length=40, choices=RULESET_CHOICES)
    is_active = models.BooleanField(_("takes applications"), default=True)
    rent_cap = models.PositiveBigIntegerField(
        _("highest accepted housing cost (minor units, 0 = none)"), default=0)
    auto_enabled = models.BooleanField(_("decide automatically where the policy allows"), default=False)
    auto_repeat_only = models.BooleanField(_("only monthly re-applications"), default=True)
    auto_max_change_percent = models.PositiveSmallIntegerField(
        _("largest change of any amount against last month (%)"), default=0,
        validators=[MaxValueValidator(50)])
    auto_allow_household_change = models.BooleanField(_("also when someone joined or left"), default=False)
    auto_require_receipts = models.BooleanField(_("only with receipts"), default=True)
    four_eyes_above = models.PositiveBigIntegerField(
        _("second approval above this amount (minor units, 0 = never)"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.node.name

    @property
    def policy(self) -> AutomationPolicy:
        return AutomationPolicy(self.auto_enabled, self.auto_repeat_only, self.auto_max_change_percent,
                                self.auto_allow_household_change, self.auto_require_receipts)


class Application(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        QUEUED = "queued", _("Waiting for a case worker")
        DECIDED = "decided", _("Decided")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    office = models.ForeignKey(BenefitOffice, on_delete=models.PROTECT, related_name="applications")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="benefit_applications")
    month = models.CharField(_("month"), max_length=7)  # YYYY-MM
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    household = models.JSONField(default=dict)  # the contract's household form
    previous = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    review_reasons = models.JSONField(default=list, blank=True)  # why a person must decide
    language = models.CharField(max_length=5, default="de")  # the applicant's, for the letter
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["applicant", "office", "month"],
                                    condition=~Q(status="withdrawn"), name="one_application_per_month"),
        ]
        indexes = [models.Index(fields=["office", "status", "submitted_at"]),
                   models.Index(fields=["office", "month", "status"])]

    def __str__(self) -> str:
        return f"{self.month} {self.public_id}"


class Receipt(models.Model):
    """A proof the applicant uploaded (pay slip, rent contract), stored encrypted like counseling
    attachments (see ``counseling.files``)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="receipts")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    storage_name = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename


class Assessment(models.Model):
    """What the engine computed, with everything needed to compute it again: the request in the
    contract's form, the ruleset and its version, and every parameter value in force."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="assessments")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")  # None: on submission
    reason = models.TextField(blank=True, max_length=4000)  # why the inputs were changed
    ruleset = models.CharField(max_length=40)
    ruleset_version = models.CharField(max_length=20)
    request = models.JSONField()
    snapshot = models.JSONField()
    result = models.JSONField()
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return str(self.public_id)


class LetterStatus(models.TextChoices):
    NONE = "none", _("Not yet due")
    PENDING = "pending", _("Being prepared")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Could not be prepared yet")


class Decision(models.Model):
    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting", _("Waiting for a second approval")
        FINAL = "final", _("Final")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="decision")
    # RESTRICT: an assessment goes only together with its application (and so its decision).
    assessment = models.ForeignKey(Assessment, on_delete=models.RESTRICT, related_name="+")
    amount = models.BigIntegerField()
    automatic = models.BooleanField(default=False)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    override_reason = models.TextField(blank=True, max_length=4000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FINAL)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    # The decision letter (PDF, stored encrypted like attachments), issued after the decision is
    # final and committed; a failed render leaves the decision as it is and is retried.
    letter_status = models.CharField(max_length=10, choices=LetterStatus.choices, default=LetterStatus.NONE)
    letter_storage_name = models.CharField(max_length=80, blank=True)
    letter_attempts = models.PositiveSmallIntegerField(default=0)
    letter_at = models.DateTimeField(null=True, blank=True)
    applicant_emailed_at = models.DateTimeField(null=True, blank=True)  # the content-free e-mail

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def deviates(self) -> bool:
        return self.amount != self.assessment.amount
