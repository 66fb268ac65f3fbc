"""The partner directory (issue 7): providers and freelancers who help welfare organizations with
IT, training, data protection, websites, counseling tools and funding; the requests organizations
send them; and the partners' own login accounts.

Specialties and regions are fixed codes stored as JSON lists on the partner (and one region on a
request). The directory is small — dozens or hundreds of entries, shared by every federation — so
filtering and matching run in Python over the active partners (``matching.py``) and no join tables
are needed. Regions are ISO 3166-2 codes of the German Länder and the Swedish län, the two
countries as a whole (``DE``, ``SE``: "nationwide") and ``remote`` (works from anywhere).

Partners are deactivated, never deleted, while requests point at them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

NAME_MAX = 200
TITLE_MAX = 200
DESCRIPTION_MAX = 4000
BUDGET_MAX = 200
REPLY_MAX = 1000


class Specialty(models.TextChoices):
    IT = "it", _("IT and infrastructure")
    TRAINING = "training", _("Training and further education")
    DATA_PROTECTION = "data_protection", _("Data protection")
    WEB = "web", _("Websites and online presence")
    COUNSELING_TOOLS = "counseling_tools", _("Online counseling tools")
    FUNDING = "funding", _("Funding and grant applications")
    ACCESSIBILITY = "accessibility", _("Accessibility")
    ORGANIZATION = "organization", _("Organizational development")


REMOTE = "remote"
GERMANY = "DE"
SWEDEN = "SE"

GERMAN_STATES: list[tuple[str, object]] = [
    ("DE-BW", pgettext_lazy("German state", "Baden-Württemberg")),
    ("DE-BY", pgettext_lazy("German state", "Bavaria")),
    ("DE-BE", pgettext_lazy("German state", "Berlin")),
    ("DE-BB", pgettext_lazy("German state", "Brandenburg")),
    ("DE-HB", pgettext_lazy("German state", "Bremen")),
    ("DE-HH", pgettext_lazy("German state", "Hamburg")),
    ("DE-HE", pgettext_lazy("German state", "Hesse")),
    ("DE-MV", pgettext_lazy("German state", "Mecklenburg-Western Pomerania")),
    ("DE-NI", pgettext_lazy("German state", "Lower Saxony")),
    ("DE-NW", pgettext_lazy("German state", "North Rhine-Westphalia")),
    ("DE-RP", pgettext_lazy("German state", "Rhineland-Palatinate")),
    ("DE-SL", pgettext_lazy("German state", "Saarland")),
    ("DE-SN", pgettext_lazy("German state", "Saxony")),
    ("DE-ST", pgettext_lazy("German state", "Saxony-Anhalt")),
    ("DE-SH", pgettext_lazy("German state", "Schleswig-Holstein")),
    ("DE-TH", pgettext_lazy("German state", "Thuringia")),
]
SWEDISH_COUNTIES: list[tuple[str, object]] = [
    ("SE-K", pgettext_lazy("Swedish county", "Blekinge County")),
    ("SE-W", pgettext_lazy("Swedish county", "Dalarna County")),
    ("SE-I", pgettext_lazy("Swedish county", "Gotland County")),
    ("SE-X", pgettext_lazy("Swedish county", "Gävleborg County")),
    ("SE-N", pgettext_lazy("Swedish county", "Halland County")),
    ("SE-Z", pgettext_lazy("Swedish county", "Jämtland County")),
    ("SE-F", pgettext_lazy("Swedish county", "Jönköping County")),
    ("SE-H", pgettext_lazy("Swedish county", "Kalmar County")),
    ("SE-G", pgettext_lazy("Swedish county", "Kronoberg County")),
    ("SE-BD", pgettext_lazy("Swedish county", "Norrbotten County")),
    ("SE-M", pgettext_lazy("Swedish county", "Skåne County")),
    ("SE-AB", pgettext_lazy("Swedish county", "Stockholm County")),
    ("SE-D", pgettext_lazy("Swedish county", "Södermanland County")),
    ("SE-C", pgettext_lazy("Swedish county", "Uppsala County")),
    ("SE-S", pgettext_lazy("Swedish county", "Värmland County")),
    ("SE-AC", pgettext_lazy("Swedish county", "Västerbotten County")),
    ("SE-Y", pgettext_lazy("Swedish county", "Västernorrland County")),
    ("SE-U", pgettext_lazy("Swedish county", "Västmanland County")),
    ("SE-O", pgettext_lazy("Swedish county", "Västra Götaland County")),
    ("SE-T", pgettext_lazy("Swedish county", "Örebro County")),
    ("SE-E", pgettext_lazy("Swedish county", "Östergötland County")),
]
WIDE_REGIONS: list[tuple[str, object]] = [
    (GERMANY, _("All of Germany (nationwide)")),
    (SWEDEN, _("All of Sweden (nationwide)")),
    (REMOTE, _("Remote (from anywhere)")),
]

# For select boxes: grouped by country; the flat dict for labels and validation.
REGION_GROUPS: list[tuple[object, list[tuple[str, object]]]] = [
    (_("Nationwide and remote"), WIDE_REGIONS),
    (_("Germany"), GERMAN_STATES),
    (_("Sweden"), SWEDISH_COUNTIES),
]
REGION_LABELS: dict[str, object] = dict(WIDE_REGIONS + GERMAN_STATES + SWEDISH_COUNTIES)
COUNTRY_LABELS: dict[str, object] = {GERMANY: _("Germany"), SWEDEN: _("Sweden")}


def region_country(code: str) -> str:
    """``DE-SH`` → ``DE``; a country code is its own country; ``remote`` has none."""
    if code == REMOTE:
        return ""
    return code.split("-", 1)[0]


def region_label(code: str) -> str:
    return str(REGION_LABELS.get(code, code))


def specialty_label(code: str) -> str:
    return str(dict(Specialty.choices).get(code, code))


class Partner(models.Model):
    """An entry of the directory: a company or a freelancer. Public data only — what the partner
    publishes about itself — so every staff member of every federation may read it."""

    class Kind(models.TextChoices):
        PROVIDER = "provider", _("Provider (company)")
        FREELANCER = "freelancer", _("Freelancer")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=NAME_MAX)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    specialties = models.JSONField(_("specialties"), default=list)
    regions = models.JSONField(_("regions"), default=list)
    description = models.TextField(_("description"), blank=True)
    website = models.URLField(_("website"), blank=True)
    email = models.EmailField(_("contact e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self) -> str:
        return self.name

    @property
    def specialty_labels(self) -> list[str]:
        return [specialty_label(code) for code in self.specialties]

    @property
    def region_labels(self) -> list[str]:
        return [region_label(code) for code in self.regions]


class PartnerMember(models.Model):
    """A login account of a partner: a staff-kind user without any organization membership (so it
    holds no organization permission) that sees only the requests addressed to its partner. One
    partner per account."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_membership"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("partner login")
        verbose_name_plural = _("partner logins")

    def __str__(self) -> str:
        return f"{self.user_id}@{self.partner_id}"


class PartnerRequest(models.Model):
    """What an organization is looking for. It reaches only the partners the requester chose
    among the matches offered for it (``RequestRecipient``)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("partner request", "Open")
        CLOSED = "closed", pgettext_lazy("partner request", "Closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "organizations.Node", on_delete=models.PROTECT, related_name="partner_requests"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    description = models.TextField(_("description"))
    specialties = models.JSONField(_("specialties wanted"), default=list)
    region = models.CharField(_("region"), max_length=10)
    budget_note = models.CharField(_("budget"), max_length=BUDGET_MAX, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("partner request")
        verbose_name_plural = _("partner requests")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def specialty_labels(self) -> list[str]:
        return [specialty_label(code) for code in self.specialties]

    @property
    def region_label(self) -> str:
        return region_label(self.region)


class RequestRecipient(models.Model):
    """A request addressed to one partner, and that partner's answer."""

    class Status(models.TextChoices):
        SENT = "sent", pgettext_lazy("partner answer", "No answer yet")
        INTERESTED = "interested", pgettext_lazy("partner answer", "Interested")
        DECLINED = "declined", pgettext_lazy("partner answer", "Declined")

    request = models.ForeignKey(PartnerRequest, on_delete=models.CASCADE, related_name="recipients")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="received")
    status = models.CharField(_("answer"), max_length=12, choices=Status.choices, default=Status.SENT)
    reply = models.TextField(_("message"), blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "partner"], name="partners_recipient_once"),
        ]
        verbose_name = _("request recipient")
        verbose_name_plural = _("request recipients")

    def __str__(self) -> str:
        return f"{self.request_id}→{self.partner_id}"
