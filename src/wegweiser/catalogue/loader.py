"""Reading and checking a catalogue file (``data/tools.yaml``) before anything is written.

The whole file is checked first and every problem is reported with the file name and the place
in the file (``tools.yaml: tools[3] (zoom).ratings[0].url: …``), so an editor can fix them all in
one go; ``actions.catalogue_load`` writes only a file without problems. Refused: unknown keys at
any level (a typo must not silently drop a criterion), values outside the model's choices, missing
texts in one of the three languages, a rating without source, address or date, a date in the
future, two ratings of a tool on the same date, and categories the file does not declare.

The format (see the file itself for a commented example)::

    version: 1
    demo: true                      # marks every tool of the file as demo data in the UI
    x-notes: …                      # keys starting with "x-" are ignored (YAML anchors live there)
    categories:
      - key: video
        label: {de: …, sv: …, en: …}
    tools:
      - slug: jitsi-meet
        name: Jitsi Meet
        vendor: …
        website: https://…
        categories: [video]
        reviewed_on: 2026-12-03
        criteria: {dpa_available: …, server_location: …, e2e: …, telemetry: …, open_source: …,
                   licence: …, self_hostable: …, hosted_offer: …, cost_model: …,
                   accessibility: …, vulnerable_clients_fit: …}
        description: {de: …, sv: …, en: …}
        ratings:                    # history; the newest is current
          - {light: …, source: …, url: https://…, date: 2020-07-03, note: {de: …, sv: …, en: …}}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from wegweiser.catalogue.models import (
    LANGUAGES,
    Accessibility,
    CostModel,
    Dpa,
    E2e,
    Light,
    ServerLocation,
    Telemetry,
    VulnerableFit,
)

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "tools.yaml"
MAX_BYTES = 1_000_000
MAX_ERRORS = 25
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KEY = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
RESERVED_SLUGS = {"compare", "advice"}  # /tools/compare/ and /tools/advice/ are pages

CHOICES: dict[str, type[models.TextChoices]] = {
    "dpa_available": Dpa,
    "server_location": ServerLocation,
    "e2e": E2e,
    "telemetry": Telemetry,
    "cost_model": CostModel,
    "accessibility": Accessibility,
    "vulnerable_clients_fit": VulnerableFit,
}
BOOLEANS = ("open_source", "self_hostable", "hosted_offer")
TOP_KEYS = {"version", "demo", "categories", "tools"}
CATEGORY_KEYS = {"key", "label", "position"}
TOOL_KEYS = {"slug", "name", "vendor", "website", "categories", "reviewed_on", "criteria",
             "description", "ratings"}
CRITERIA_KEYS = {*CHOICES, *BOOLEANS, "licence"}
RATING_KEYS = {"light", "source", "url", "date", "note"}


@dataclass(frozen=True)
class CategoryData:
    key: str
    labels: dict[str, str]
    position: int


@dataclass(frozen=True)
class RatingData:
    light: str
    source_name: str
    source_url: str
    source_date: dt.date
    notes: dict[str, str]


@dataclass(frozen=True)
class ToolData:
    slug: str
    name: str
    vendor: str
    website: str
    categories: tuple[str, ...]
    reviewed_on: dt.date
    criteria: dict[str, Any]
    descriptions: dict[str, str]
    ratings: tuple[RatingData, ...]

    @property
    def current(self) -> RatingData:
        return max(self.ratings, key=lambda r: r.source_date)


@dataclass
class CatalogueData:
    name: str
    sha256: str
    demo: bool
    categories: list[CategoryData] = field(default_factory=list)
    tools: list[ToolData] = field(default_factory=list)


class _Checker:
    """Collects problems as ``file: where: what``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{self.name}: {where}: {what}" if where else f"{self.name}: {what}")

    def mapping(self, value: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(where, _("expected a mapping of keys and values"))
            return None
        for key in sorted(set(map(str, value)) - allowed):
            self.problem(where, _("unknown key “%(key)s” (allowed: %(allowed)s)")
                         % {"key": key, "allowed": ", ".join(sorted(allowed))})
        for key in sorted(required - set(map(str, value))):
            self.problem(where, _("“%(key)s” is missing") % {"key": key})
        return value

    def text(self, value: Any, where: str, *, max_length: int, required: bool = True) -> str:
        if value is None or value == "":
            if required:
                self.problem(where, _("must not be empty"))
            return ""
        if not isinstance(value, str):
            self.problem(where, _("expected text"))
            return ""
        value = value.strip()
        if len(value) > max_length:
            self.problem(where, _("longer than %(max)d characters") % {"max": max_length})
        return value

    def url(self, value: Any, where: str) -> str:
        text = self.text(value, where, max_length=500)
        if text:
            try:
                URLValidator(schemes=["https", "http"])(text)
            except ValidationError:
                self.problem(where, _("not a web address (http or https)"))
        return text

    def date(self, value: Any, where: str) -> dt.date:
        if isinstance(value, dt.datetime):
            value = value.date()
        elif isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                value = None
        if not isinstance(value, dt.date):
            self.problem(where, _("expected a date like 2021-02-18"))
            return dt.date.min
        if value > timezone.localdate():
            self.problem(where, _("the date lies in the future"))
        return value

    def languages(self, value: Any, where: str, *, max_length: int, required: bool = True) -> dict[str, str]:
        if value is None and not required:
            return dict.fromkeys(LANGUAGES, "")
        texts = self.mapping(value, where, set(LANGUAGES), set(LANGUAGES) if required else set())
        if texts is None:
            return dict.fromkeys(LANGUAGES, "")
        return {code: self.text(texts.get(code), f"{where}.{code}", max_length=max_length, required=required)
                for code in LANGUAGES}

    def choice(self, value: Any, where: str, choices: type[models.TextChoices]) -> str:
        if value not in choices.values:
            self.problem(where, _("“%(value)s” is not one of %(allowed)s")
                         % {"value": value, "allowed": ", ".join(choices.values)})
            return ""
        return str(value)


def _category(check: _Checker, raw: Any, where: str, position: int) -> CategoryData | None:
    item = check.mapping(raw, where, CATEGORY_KEYS, {"key", "label"})
    if item is None:
        return None
    key = check.text(item.get("key"), f"{where}.key", max_length=40)
    if key and not KEY.match(key):
        check.problem(f"{where}.key", _("use lower-case letters, digits and “_” only"))
    labels = check.languages(item.get("label"), f"{where}.label", max_length=80)
    pos = item.get("position", position)
    if not isinstance(pos, int) or isinstance(pos, bool) or not 0 <= pos < 1000:
        check.problem(f"{where}.position", _("expected a whole number from 0 to 999"))
        pos = position
    return CategoryData(key=key, labels=labels, position=pos)


def _criteria(check: _Checker, raw: Any, where: str) -> dict[str, Any]:
    item = check.mapping(raw, where, CRITERIA_KEYS, CRITERIA_KEYS - {"licence"})
    if item is None:
        return {}
    out: dict[str, Any] = {}
    for name, choices in CHOICES.items():
        if name in item:
            out[name] = check.choice(item[name], f"{where}.{name}", choices)
    for name in BOOLEANS:
        if name in item:
            if not isinstance(item[name], bool):
                check.problem(f"{where}.{name}", _("expected true or false"))
            out[name] = bool(item[name])
    out["licence"] = check.text(item.get("licence"), f"{where}.licence", max_length=120, required=False)
    if out.get("open_source") and not out["licence"]:
        check.problem(f"{where}.licence", _("an open-source tool needs its licence"))
    return out


def _rating(check: _Checker, raw: Any, where: str) -> RatingData | None:
    item = check.mapping(raw, where, RATING_KEYS, RATING_KEYS - {"note"})
    if item is None:
        return None
    return RatingData(
        light=check.choice(item.get("light"), f"{where}.light", Light),
        source_name=check.text(item.get("source"), f"{where}.source", max_length=300),
        source_url=check.url(item.get("url"), f"{where}.url"),
        source_date=check.date(item.get("date"), f"{where}.date"),
        notes=check.languages(item.get("note"), f"{where}.note", max_length=2000,
                              required="note" in item),
    )


def _tool(check: _Checker, raw: Any, where: str, category_keys: set[str]) -> ToolData | None:
    item = check.mapping(raw, where, TOOL_KEYS, TOOL_KEYS)
    if item is None:
        return None
    slug = check.text(item.get("slug"), f"{where}.slug", max_length=60)
    if slug and not SLUG.match(slug):
        check.problem(f"{where}.slug", _("use lower-case letters, digits and “-” only"))
    if slug in RESERVED_SLUGS:
        check.problem(f"{where}.slug", _("“%(slug)s” is the name of a page; choose another") % {"slug": slug})
    where = f"{where} ({slug})" if slug else where
    categories = item.get("categories")
    if not isinstance(categories, list) or not categories:
        check.problem(f"{where}.categories", _("expected a list of at least one category key"))
        categories = []
    for key in categories:
        if key not in category_keys:
            check.problem(f"{where}.categories", _("unknown category “%(key)s”") % {"key": key})
    ratings_raw = item.get("ratings")
    if not isinstance(ratings_raw, list) or not ratings_raw:
        check.problem(f"{where}.ratings", _("every tool needs at least one rating with its source and date"))
        ratings_raw = []
    ratings = [_rating(check, r, f"{where}.ratings[{i}]") for i, r in enumerate(ratings_raw)]
    dates = [r.source_date for r in ratings if r is not None]
    if len(dates) != len(set(dates)):
        check.problem(f"{where}.ratings", _("two ratings on the same date: which one is current?"))
    return ToolData(
        slug=slug,
        name=check.text(item.get("name"), f"{where}.name", max_length=120),
        vendor=check.text(item.get("vendor"), f"{where}.vendor", max_length=160),
        website=check.url(item.get("website"), f"{where}.website"),
        categories=tuple(str(k) for k in categories),
        reviewed_on=check.date(item.get("reviewed_on"), f"{where}.reviewed_on"),
        criteria=_criteria(check, item.get("criteria"), f"{where}.criteria"),
        descriptions=check.languages(item.get("description"), f"{where}.description", max_length=5000),
        ratings=tuple(r for r in ratings if r is not None),
    )


def _duplicates(check: _Checker, where: str, keys: list[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key and key in seen:
            check.problem(where, _("“%(key)s” appears twice") % {"key": key})
        seen.add(key)


def parse(path: Path | str) -> CatalogueData:
    """Read and check the file. Raises ValidationError listing every problem found."""
    path = Path(path)
    check = _Checker(path.name)
    try:
        raw_bytes = path.read_bytes()
        if len(raw_bytes) > MAX_BYTES:
            raise ValidationError([f"{path.name}: " + _("the file is larger than 1 MB")])
        document = yaml.safe_load(raw_bytes.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        message = _("cannot read the file: %(error)s") % {"error": exc}
        raise ValidationError([f"{path.name}: {message}"]) from exc
    if isinstance(document, dict):  # "x-…" keys only hold YAML anchors for repeated texts
        document = {k: v for k, v in document.items() if not str(k).startswith("x-")}
    top = check.mapping(document, "", TOP_KEYS, {"version", "categories", "tools"})
    if top is None:
        raise ValidationError(check.problems)
    if top.get("version") != 1:
        check.problem("version", _("only version 1 is known"))
    demo = top.get("demo", False)
    if not isinstance(demo, bool):
        check.problem("demo", _("expected true or false"))
    data = CatalogueData(name=path.name, sha256=hashlib.sha256(raw_bytes).hexdigest(), demo=demo is True)
    lists: dict[str, list[Any]] = {}
    for name in ("categories", "tools"):
        lists[name] = top[name] if isinstance(top.get(name), list) else []
        if not isinstance(top.get(name), list):
            check.problem(name, _("expected a list"))
    for index, raw in enumerate(lists["categories"]):
        category = _category(check, raw, f"categories[{index}]", index)
        if category is not None:
            data.categories.append(category)
    _duplicates(check, "categories", [c.key for c in data.categories])
    keys = {c.key for c in data.categories}
    for index, raw in enumerate(lists["tools"]):
        tool = _tool(check, raw, f"tools[{index}]", keys)
        if tool is not None:
            data.tools.append(tool)
    _duplicates(check, "tools", [t.slug for t in data.tools])
    if check.problems:
        shown = check.problems[:MAX_ERRORS]
        if len(check.problems) > MAX_ERRORS:
            shown.append(_("… and %(n)d more problems") % {"n": len(check.problems) - MAX_ERRORS})
        raise ValidationError(shown)
    return data
