"""Online counseling: topics, agencies, conversations (an enquiry is an open conversation),
messages, attachments, handovers, absences and per-user conversation state.

Conversation ids, message ids and attachment ids seen by users are UUIDs (``public_id``); the
integer primary keys never leave the server.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wegweiser.organizations.models import Node


class Topic(models.Model):
    """A counseling field (Beratungsfeld) offered by the agencies below ``organization``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="topics")
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    anonymous_allowed = models.BooleanField(_("anonymous enquiries allowed"), default=True)
    postcode_required = models.BooleanField(_("postcode required"), default=True)
    min_age = models.PositiveSmallIntegerField(_("minimum age"), default=0)
    welcome_message = models.TextField(_("welcome message"), blank=True, max_length=2000)
    retention_days = models.PositiveIntegerField(_("retention days after closing"), default=180)
    fallback_agency = models.ForeignKey(
        "Agency", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("fallback agency"),
    )
    team_counseling = models.BooleanField(_("team counseling"), default=False)
    encryption_required = models.BooleanField(
        _("end-to-end encryption required"), default=False,
        help_text=_("Enquiries and messages on this topic are accepted only end-to-end encrypted "
                    "(which needs JavaScript in the browser)."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return self.name


class Agency(models.Model):
    """Counseling settings of an organization unit of kind "agency"."""

    node = models.OneToOneField(Node, on_delete=models.CASCADE, related_name="agency")
    description = models.TextField(_("description"), blank=True, max_length=2000)
    topics = models.ManyToManyField(Topic, blank=True, related_name="agencies",
                                    verbose_name=_("topics"))
    languages = models.JSONField(_("languages spoken"), default=list, blank=True)
    opening_hours = models.TextField(_("opening hours"), blank=True, max_length=1000)
    offline = models.BooleanField(_("offline"), default=False)
    external_url = models.URLField(_("external website"), blank=True)
    min_age = models.PositiveSmallIntegerField(_("minimum age"), default=0)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")

    def __str__(self) -> str:
        return self.node.name

    @property
    def public_id(self) -> uuid.UUID:
        return self.node.public_id

    @property
    def is_external(self) -> bool:
        return bool(self.external_url)


class PostcodeRange(models.Model):
    """Inclusive range of five-digit postcodes (German "24103", Swedish "231 42" as "23142")."""

    class Country(models.TextChoices):
        DE = "DE", _("Germany")
        SE = "SE", _("Sweden")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="postcode_ranges")
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    start = models.CharField(_("from"), max_length=5)
    end = models.CharField(_("to"), max_length=5)

    class Meta:
        ordering = ["country", "start"]
        indexes = [models.Index(fields=["country", "start", "end"])]
        constraints = [
            models.CheckConstraint(condition=Q(start__lte=models.F("end")), name="postcode_range_order"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.start}-{self.end}"


class Conversation(models.Model):
    """An enquiry (status open) that a counselor accepted (active) and that is later closed."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open enquiry")
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Every chat message updates its conversation row (last_seq, last_message_at), and PostgreSQL
    # then writes every index of the row: foreign keys that lead a composite index below get no
    # index of their own (the composite one serves their look-ups and cascades).
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="conversations",
                               db_index=False)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="conversations")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="client_conversations", db_index=False)
    counselor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="counselor_conversations", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    team = models.BooleanField(default=False)
    postcode = models.CharField(max_length=5, blank=True)
    age = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_answer_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The inbox pages through conversations by (last_message_at, pk) (core.pagination), so it is
    # never NULL: set when the enquiry (and its first message) is written, moved by every message.
    last_message_at = models.DateTimeField(default=timezone.now)
    last_seq = models.PositiveIntegerField(default=0)
    absence_notified_for = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    loadtest = models.BooleanField(default=False)
    # End-to-end encrypted (docs/e2e-protocol.md): the id of the conversation key, chosen by the
    # client's browser; "" for a conversation in plain text (those from before encryption).
    key_id = models.CharField(max_length=22, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["agency", "status", "created_at"]),
            models.Index(fields=["counselor", "status", "last_message_at"]),
            # "My conversations" in keyset order (last_message_at, id), with the client, so that the
            # username search (client IN matching users) is decided in the index while walking it.
            models.Index(fields=["counselor", "last_message_at", "id", "client"]),
            models.Index(fields=["agency", "team", "last_message_at"]),
            models.Index(fields=["client", "status"]),
            models.Index(fields=["status", "closed_at"]),
        ]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return str(self.public_id)


class ConversationState(models.Model):
    """One user's view of one conversation: read marker, archive flag, last e-mail notice."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="states")
    # Indexed by conv_state_user_archived (user, archived, conversation) below.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="conversation_states", db_index=False)
    last_read_seq = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)
    notified_seq = models.PositiveIntegerField(default=0)
    # The end-to-end safety code this user marked as compared with the other side (protocol §7);
    # the page warns when the code it computes differs from it.
    safety_code = models.CharField(max_length=23, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="conversation_state_unique"),
        ]
        indexes = [
            # The archive tab starts from one user's archived rows (a few among one row per user
            # and conversation); it also serves the user's cascades in place of the FK index.
            models.Index(fields=["user", "archived", "conversation"], name="conv_state_user_archived"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}:{self.user_id}"


class Message(models.Model):
    class Role(models.TextChoices):
        CLIENT = "client", _("Client")
        COUNSELOR = "counselor", _("Counselor")
        SYSTEM = "system", _("System")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Indexed by message_seq_unique (conversation, seq) below.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages",
                                     db_index=False)
    seq = models.PositiveIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+")
    sender_role = models.CharField(max_length=10, choices=Role.choices)
    # The text, or for an end-to-end encrypted message (``nonce`` set) its ciphertext (b64u).
    body = models.TextField()
    client_id = models.UUIDField(null=True, blank=True)
    sent_at = models.DateTimeField()
    # The AES-GCM IV of an encrypted message (b64u); unique per conversation, so a replayed
    # ciphertext is refused (docs/e2e-protocol.md §5).
    nonce = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001 (NULL: plain text)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(fields=["conversation", "nonce"], name="message_nonce_unique",
                                    condition=Q(nonce__isnull=False)),
            models.UniqueConstraint(fields=["sender", "client_id"], name="message_client_id_unique",
                                    condition=Q(client_id__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq}"


class Attachment(models.Model):
    """A file sent in a conversation, stored encrypted (see ``counseling.files``)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="attachment")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    related_name="+")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    storage_name = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["uploaded_by", "created_at"])]

    def __str__(self) -> str:
        return self.filename


class Handover(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        CONFIRMED = "confirmed", _("Confirmed")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handovers")
    from_counselor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                       related_name="+")
    to_counselor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation"], name="one_open_handover",
                                    condition=Q(status="requested")),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}:{self.status}"


class Absence(models.Model):
    """A counselor's absence; clients writing during it get ``message`` once per conversation."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="absence")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    message = models.TextField(_("absence message"), max_length=2000)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=models.F("ends_at")), name="absence_order"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.starts_at:%Y-%m-%d}"


# --- end-to-end encryption (docs/e2e-protocol.md): the server keeps public keys and sealed or
# wrapped secrets only; every private key and every conversation key is opened in a browser.

class IdentityKey(models.Model):
    """A user's identity key pair: the public key and the private key wrapped twice, by a key
    derived from the password and by the recovery key (protocol §1)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="identity_key")
    public = models.CharField(max_length=90)
    bundle = models.JSONField()
    # A password-style hash of the recovery proof (protocol §1.2), never the recovery key.
    recovery_verifier = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"identity:{self.user_id}"


class TeamKey(models.Model):
    """An agency's team key pair (protocol §3); the newest one not retired is current."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="team_keys")
    key_id = models.CharField(max_length=22, unique=True)
    public = models.CharField(max_length=90)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency"], name="one_current_team_key",
                                    condition=Q(retired_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.key_id


class TeamKeyGrant(models.Model):
    """A team private key sealed to one counselor's identity key."""

    team_key = models.ForeignKey(TeamKey, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The identity public key it was sealed to: a grant to a replaced identity key is stale.
    recipient = models.CharField(max_length=90)
    sealed = models.JSONField()
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team_key", "user"], name="team_key_grant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.team_key_id}:{self.user_id}"


class ConversationKeyGrant(models.Model):
    """The conversation key sealed to the client's identity key or to a team key."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="key_grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+")
    team_key = models.ForeignKey(TeamKey, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="conversation_grants")
    recipient = models.CharField(max_length=90)  # the public key it was sealed to
    sealed = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(user__isnull=True) ^ Q(team_key__isnull=True),
                                   name="conversation_key_grant_one_recipient"),
            models.UniqueConstraint(fields=["conversation", "user"], name="conversation_grant_user",
                                    condition=Q(user__isnull=False)),
            models.UniqueConstraint(fields=["conversation", "team_key"], name="conversation_grant_team",
                                    condition=Q(team_key__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}:{self.user_id or self.team_key_id}"
