"""Needs and ideas of a federation's staff, their stages, supporters, triage, moderation, the
workshops that take them further and the improvement cycles (PDSA) of local teams.

Everything belongs to one federation (a root of the organization tree); nothing is seen across
federations. Internal notes, evaluator assignments and scores belong to the triage side and are
never rendered on the pages or in the exports the author's side sees.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from wegweiser.organizations.models import Node

TITLE_MAX = 160
TEXT_MAX = 5000
SHORT_TEXT_MAX = 1000
SCORE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class Row(models.Model):
    """Base of the rows that have no natural name (their str is for the admin and logs only)."""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"


class FieldOfWork(models.TextChoices):
    ELDERLY_CARE = "elderly_care", _("Elderly care")
    CHILDCARE = "childcare", _("Childcare")
    YOUTH = "youth", _("Youth social work")
    HEALTH = "health", _("Health promotion")
    COUNSELING = "counseling", _("Counseling")
    DISABILITY = "disability", _("Disability assistance")
    MIGRATION = "migration", _("Migration and integration")
    EMERGENCY = "emergency", _("Emergency services and rescue")
    VOLUNTEERING = "volunteering", _("Volunteering")
    ADMINISTRATION = "administration", _("Administration")
    OTHER = "other", _("Other")


class StageKind(models.TextChoices):
    """What the system knows about a stage, whatever the federation calls it (Fider's kinds)."""

    OPEN = "open", _("Open")
    ACTIVE = "active", _("In progress")
    DONE = "done", _("Done")
    DECLINED = "declined", _("Declined")
    DEFERRED = "deferred", _("Deferred")
    DUPLICATE = "duplicate", _("Duplicate")


CLOSED_KINDS = frozenset({StageKind.DONE, StageKind.DECLINED, StageKind.DEFERRED, StageKind.DUPLICATE})


class Stage(models.Model):
    """One stage of a federation's pipeline. Labels are the federation's own, in each language."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    federation = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="idea_stages")
    key = models.SlugField(max_length=40)
    kind = models.CharField(_("kind"), max_length=20, choices=StageKind.choices)
    label_de = models.CharField(_("name (German)"), max_length=60)
    label_sv = models.CharField(_("name (Swedish)"), max_length=60)
    label_en = models.CharField(_("name (English)"), max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["federation", "key"], name="ideas_stage_key_unique")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        language = (get_language() or "de")[:2]
        return str(getattr(self, f"label_{language}", "") or self.label_de)

    @property
    def is_closed(self) -> bool:
        return self.kind in CLOSED_KINDS


class Item(models.Model):
    class Kind(models.TextChoices):
        NEED = "need", _("Need")
        IDEA = "idea", _("Idea")

    class Moderation(models.TextChoices):
        NONE = "", _("Visible")
        PENDING = "pending", _("Hidden, waiting for review")
        REMOVED = "removed", _("Removed by a moderator")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    federation = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.IDEA)
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    problem = models.TextField(_("problem"), max_length=TEXT_MAX)
    affected = models.TextField(_("who is affected"), max_length=SHORT_TEXT_MAX, blank=True)
    field = models.CharField(_("field of work"), max_length=30, choices=FieldOfWork.choices)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="items")
    stage_changed_at = models.DateTimeField()
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="duplicates")
    effort = models.PositiveSmallIntegerField(null=True, blank=True, validators=SCORE_VALIDATORS)
    impact = models.PositiveSmallIntegerField(null=True, blank=True, validators=SCORE_VALIDATORS)
    support_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    report_count = models.PositiveIntegerField(default=0)
    moderation = models.CharField(max_length=10, choices=Moderation.choices, default=Moderation.NONE,
                                  blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["federation", "moderation", "stage", "-support_count", "-created_at"],
                         name="ideas_item_board"),
            models.Index(fields=["federation", "-created_at"], name="ideas_item_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.stage.kind in CLOSED_KINDS

    @property
    def is_hidden(self) -> bool:
        return self.moderation != self.Moderation.NONE


class Support(Row):
    """"We need this too": one per person and item, counted for the supporter's unit."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    branch = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    moved_from = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "user"], name="ideas_support_once")]


class Follow(Row):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "user"], name="ideas_follow_once")]


class Comment(Row):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    branch = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=TEXT_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class DeclineReason(models.TextChoices):
    OUT_OF_SCOPE = "out_of_scope", _("Outside what the federation can do")
    NO_RESOURCES = "no_resources", _("No money or staff for it now")
    EXISTS = "exists", _("A solution exists already")
    LEGAL = "legal", _("Legal or data-protection reasons")
    NOT_FEASIBLE = "not_feasible", _("Not feasible")
    OTHER = "other", _("Other reason (see the answer)")


class StageChange(Row):
    """The public history of an item: every move with its answer (and the reason of a decline)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, null=True, on_delete=models.PROTECT, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    answer = models.TextField(max_length=TEXT_MAX)
    reason = models.CharField(max_length=20, choices=DeclineReason.choices, blank=True)
    duplicate_of = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]


class EvaluatorAssignment(Row):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="evaluators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "user"], name="ideas_evaluator_once")]


class InternalNote(Row):
    """Triage only: never shown to the author's side, never exported."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="internal_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    text = models.TextField(max_length=TEXT_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class ReportReason(models.TextChoices):
    SPAM = "spam", _("Spam")
    OFFENSIVE = "offensive", _("Offensive")
    OFF_TOPIC = "off_topic", _("Off-topic")
    CLIENT_DATA = "client_data", _("Contains personal data of clients")


class Report(Row):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=ReportReason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "reporter"], name="ideas_report_once")]


class ItemAttachment(Row):
    """A file on an item, encrypted at rest like counseling attachments (counseling.files)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    storage_name = models.CharField(max_length=32, unique=True)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class Notice(Row):
    """News for a follower (an item they follow changed stage or got an answer or a comment) or
    for a participant (a workshop they registered for was moved or cancelled)."""

    class Kind(models.TextChoices):
        STAGE = "stage", _("moved to a new stage")
        COMMENT = "comment", _("has a new comment")
        MERGED = "merged", _("was merged into another item")
        WORKSHOP_CHANGED = "ws_changed", _("has a new date, place or link")
        WORKSHOP_CANCELLED = "ws_cancel", _("was cancelled")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    workshop = models.ForeignKey("Workshop", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="ideas_notice_user")]
        constraints = [models.CheckConstraint(condition=Q(item__isnull=False) | Q(workshop__isnull=False),
                                              name="ideas_notice_about_something")]


# -- workshops -----------------------------------------------------------------------------------
class Workshop(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    federation = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    organizer = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    description = models.TextField(_("description"), max_length=TEXT_MAX, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    place = models.CharField(_("place"), max_length=300, blank=True)
    online_url = models.URLField(_("online link"), max_length=500, blank=True)
    capacity = models.PositiveIntegerField(_("places"), validators=[MinValueValidator(1),
                                                                   MaxValueValidator(1000)])
    ideas = models.ManyToManyField(Item, through="WorkshopIdea", related_name="workshops")
    outcome = models.TextField(_("outcome report"), max_length=TEXT_MAX * 2, blank=True)
    attendee_count = models.PositiveIntegerField(null=True, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                              name="ideas_workshop_ends_after_start")]

    def __str__(self) -> str:
        return self.title


class WorkshopIdea(Row):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="links")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="workshop_links")
    moved_on = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workshop", "item"], name="ideas_workshop_item_once")]


class Registration(Row):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    branch = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["workshop", "user"], name="ideas_registration_once")]


# -- improvement cycles (the Swedish improvement model: aim, measure, change, PDSA) ---------------
class ImprovementCycle(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    federation = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="improvement_cycles")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    aim = models.TextField(_("aim: what are we trying to accomplish?"), max_length=SHORT_TEXT_MAX)
    measure = models.CharField(_("measure: how will we know a change is an improvement?"), max_length=200)
    measure_unit = models.CharField(_("unit of the measure"), max_length=40, blank=True)
    higher_is_better = models.BooleanField(_("higher values are better"), default=True)
    baseline = models.DecimalField(_("baseline"), max_digits=12, decimal_places=2)
    change_idea = models.TextField(_("change: what change can we make?"), max_length=SHORT_TEXT_MAX)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Measurement(Row):
    cycle = models.ForeignKey(ImprovementCycle, on_delete=models.CASCADE, related_name="measurements")
    date = models.DateField(_("date"))
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]


class Pdsa(Row):
    class Decision(models.TextChoices):
        ADOPT = "adopt", _("Adopt")
        ADAPT = "adapt", _("Adapt")
        ABANDON = "abandon", _("Abandon")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cycle = models.ForeignKey(ImprovementCycle, on_delete=models.CASCADE, related_name="pdsa_cycles")
    number = models.PositiveSmallIntegerField()
    plan = models.TextField(_("plan: what do we test, who, when, where?"), max_length=SHORT_TEXT_MAX)
    prediction = models.TextField(_("prediction: what do we expect?"), max_length=SHORT_TEXT_MAX)
    started_on = models.DateField(_("start"))
    do_notes = models.TextField(_("do: what happened, what was unexpected?"), max_length=SHORT_TEXT_MAX,
                                blank=True)
    study = models.TextField(_("study: results compared with the prediction"), max_length=SHORT_TEXT_MAX,
                             blank=True)
    decision = models.CharField(_("act"), max_length=10, choices=Decision.choices, blank=True)
    act_notes = models.TextField(_("act: what next?"), max_length=SHORT_TEXT_MAX, blank=True)
    ended_on = models.DateField(_("end"), null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["cycle", "number"], name="ideas_pdsa_number_unique")]
