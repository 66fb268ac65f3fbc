"""The tool catalogue: software a welfare organization might use, described by the criteria the
German data-protection authorities and guides use (DSK, BlnBDI, LfDI BW, mobilsicher,
klicksafe), with a traffic-light rating that always names its source and date.

The catalogue is facts about software, not data of an organization: the same rows for every
federation, readable by anyone. It is written only by ``catalogue_load`` from a versioned YAML
file (``data/tools.yaml``); nothing on the web changes it.

What the criteria mean, so the file and the advice read them the same way:

- They describe the tool *as an organization would get it*: the vendor's service for SaaS, the
  software itself for tools you run yourself. ``server_location = self_hosted`` means "wherever
  you (or a hosting provider you choose) run it", and ``dpa_available = own_operation`` means "run
  it yourself and no processing agreement is needed (DSK: selbst betriebener Dienst); have it run
  by a hoster and agree one with that hoster".
- ``unknown`` is an honest answer, never a default that hides a "no" (the Solawi catalogue hides
  unknown criteria; we show them, because "not known" is a reason to ask before using a tool).
- Ratings are rows, not a field: the Berlin results changed between versions, so every rating
  keeps its source, URL and date, an old rating stays as history when a newer one arrives, and
  exactly one rating per tool is current.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

LANGUAGES = ("de", "sv", "en")


def _in_language(row: models.Model, prefix: str) -> str:
    """The text in the reader's language, else English, else German."""
    language = (get_language() or "de")[:2]
    for code in (language, "en", "de"):
        text = getattr(row, f"{prefix}_{code}", "") if code in LANGUAGES else ""
        if text:
            return str(text)
    return ""


class Light(models.TextChoices):
    """BlnBDI's traffic light. Red: defects rule out lawful use and fixing them would need
    substantial changes; yellow: defects rule out lawful use but could be fixed without them;
    green: no defects found. ``unknown``: no authority rating we know of."""

    GREEN = "green", _("green")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")
    UNKNOWN = "unknown", _("not rated")


# Best first: how tools are ordered when "best-rated first" is asked for.
LIGHT_RANK = {Light.GREEN: 0, Light.YELLOW: 1, Light.UNKNOWN: 2, Light.RED: 3}


class Dpa(models.TextChoices):
    YES = "yes", _("available")
    NO = "no", _("not available")
    OWN_OPERATION = "own_operation", _("not needed when you run it yourself; otherwise from your hoster")
    UNKNOWN = "unknown", _("not known")


class ServerLocation(models.TextChoices):
    DE = "de", _("Germany")
    EU = "eu", _("EU/EEA")
    ADEQUATE = "adequate", _("outside the EU with an adequacy decision (e.g. Switzerland)")
    THIRD_COUNTRY = "third_country", _("third country (e.g. USA)")
    SELF_HOSTED = "self_hosted", _("wherever you or your hoster run it")
    UNKNOWN = "unknown", _("not known")


class E2e(models.TextChoices):
    YES = "yes", _("end-to-end encrypted")
    PARTIAL = "partial", _("partly end-to-end encrypted (optional or only some functions)")
    TRANSPORT_ONLY = "transport_only", _("transport encryption only")
    NO = "no", _("not encrypted")
    UNKNOWN = "unknown", _("not known")


class Telemetry(models.TextChoices):
    NONE = "none", _("none")
    LOW = "low", _("little")
    HIGH = "high", _("much")
    UNKNOWN = "unknown", _("not known")


class CostModel(models.TextChoices):
    FREE = "free", _("free of charge")
    FREEMIUM = "freemium", _("free basic version, paid plans")
    NONPROFIT_DISCOUNT = "nonprofit_discount", _("paid, with discounts for non-profits")
    PAID = "paid", _("paid")
    UNKNOWN = "unknown", _("not known")


class Accessibility(models.TextChoices):
    TESTED = "tested", _("tested (independent accessibility test)")
    STATEMENT = "statement", _("accessibility statement or conformance report by the vendor")
    UNKNOWN = "unknown", _("not known")


class VulnerableFit(models.TextChoices):
    YES = "yes", _("suitable")
    WITH_MEASURES = "with_measures", _("suitable with additional measures")
    NO = "no", _("not suitable")
    UNKNOWN = "unknown", _("not known")


class Category(models.Model):
    """What a tool is for (messenger, video, online counseling …). Keys are stable codes that
    other apps use (``selectors.tools_for_categories``)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.SlugField(max_length=40, unique=True)
    label_de = models.CharField(_("name (German)"), max_length=80)
    label_sv = models.CharField(_("name (Swedish)"), max_length=80)
    label_en = models.CharField(_("name (English)"), max_length=80)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "key"]
        verbose_name = _("tool category")
        verbose_name_plural = _("tool categories")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _in_language(self, "label")


class Tool(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    vendor = models.CharField(_("vendor"), max_length=160)
    website = models.URLField(_("website"), max_length=300)
    categories = models.ManyToManyField(Category, related_name="tools")
    dpa_available = models.CharField(_("processing agreement (Art. 28 GDPR)"), max_length=20,
                                     choices=Dpa.choices, default=Dpa.UNKNOWN)
    server_location = models.CharField(_("server location"), max_length=20,
                                       choices=ServerLocation.choices, default=ServerLocation.UNKNOWN)
    e2e = models.CharField(_("end-to-end encryption"), max_length=20, choices=E2e.choices,
                           default=E2e.UNKNOWN)
    telemetry = models.CharField(_("telemetry and metadata"), max_length=20, choices=Telemetry.choices,
                                 default=Telemetry.UNKNOWN)
    open_source = models.BooleanField(_("open source"), default=False)
    licence = models.CharField(_("licence"), max_length=120, blank=True)
    self_hostable = models.BooleanField(_("can be self-hosted"), default=False)
    hosted_offer = models.BooleanField(_("available as a hosted service"), default=True)
    cost_model = models.CharField(_("cost model"), max_length=20, choices=CostModel.choices,
                                  default=CostModel.UNKNOWN)
    accessibility = models.CharField(_("accessibility"), max_length=20, choices=Accessibility.choices,
                                     default=Accessibility.UNKNOWN)
    vulnerable_clients_fit = models.CharField(_("fit for vulnerable clients"), max_length=20,
                                              choices=VulnerableFit.choices, default=VulnerableFit.UNKNOWN)
    description_de = models.TextField(_("description (German)"))
    description_sv = models.TextField(_("description (Swedish)"))
    description_en = models.TextField(_("description (English)"))
    reviewed_on = models.DateField(_("criteria reviewed on"))
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "slug"]
        verbose_name = _("tool")
        verbose_name_plural = _("tools")

    def __str__(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        return _in_language(self, "description")

    @property
    def current_rating(self) -> Rating | None:
        """From the prefetch of the selectors when there is one (no query per tool)."""
        prefetched = getattr(self, "current_ratings", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.ratings.filter(is_current=True).first()

    @property
    def light(self) -> str:
        rating = self.current_rating
        return rating.light if rating else Light.UNKNOWN


class Rating(models.Model):
    """One traffic-light rating of a tool by a named source on a date. Never edited away: a newer
    rating becomes current and the older ones stay as the tool's history."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="ratings")
    light = models.CharField(_("rating"), max_length=10, choices=Light.choices)
    source_name = models.CharField(_("source"), max_length=300)
    source_url = models.URLField(_("source address"), max_length=500)
    source_date = models.DateField(_("date of the source"))
    note_de = models.TextField(_("note (German)"), blank=True)
    note_sv = models.TextField(_("note (Swedish)"), blank=True)
    note_en = models.TextField(_("note (English)"), blank=True)
    is_current = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-source_date", "-id"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["tool"], condition=Q(is_current=True),
                                    name="catalogue_rating_one_current"),
            models.UniqueConstraint(fields=["tool", "source_name", "source_date", "light"],
                                    name="catalogue_rating_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tool_id} {self.light} {self.source_date}"

    @property
    def note(self) -> str:
        return _in_language(self, "note")
