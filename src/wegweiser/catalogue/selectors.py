"""Reads of the catalogue: the list by category with filters, one tool with its history, the
comparison, the advice's candidates, and ``tools_for_categories`` for other apps (the
self-check's recommendations).

Every list is a fixed number of queries whatever its length: categories, tools, the tools'
categories and their current ratings (prefetched into ``Tool.current_ratings``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from wegweiser.catalogue import advice
from wegweiser.catalogue.models import Category, Dpa, E2e, Light, Rating, ServerLocation, Tool

LIGHT_FILTERS = {"green": [Light.GREEN], "green_yellow": [Light.GREEN, Light.YELLOW]}

# The criteria in the order the detail and comparison pages show them (what BlnBDI checks first
# comes first: the contract, then where the data goes, then the technology).
CRITERIA = [
    ("dpa_available", _("Processing agreement (Art. 28 GDPR)")),
    ("server_location", _("Server location")),
    ("e2e", _("Encryption")),
    ("telemetry", _("Telemetry and metadata")),
    ("open_source", _("Open source")),
    ("self_hostable", _("Can be self-hosted")),
    ("hosted_offer", _("Available as a hosted service")),
    ("cost_model", _("Cost model")),
    ("accessibility", _("Accessibility")),
    ("vulnerable_clients_fit", _("Fit for vulnerable clients")),
]
# How a value reads next to its text: good, bad or to check (the text always says it too).
_GOOD = {"yes", "own_operation", "de", "eu", "self_hosted", "none", "free", "tested", "statement"}
_BAD = {"no", "third_country", "high", "transport_only"}


@dataclass(frozen=True)
class Filters:
    category: str = ""
    light: str = ""
    self_hostable: bool = False
    eu_servers: bool = False
    open_source: bool = False
    e2e: bool = False
    dpa: bool = False

    @property
    def active(self) -> bool:
        return any((self.category, self.light, self.self_hostable, self.eu_servers, self.open_source,
                    self.e2e, self.dpa))


@dataclass(frozen=True)
class Section:
    category: Category
    tools: list[Tool]


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    value: str
    tone: str  # good | bad | unknown | neutral


def categories() -> list[Category]:
    return list(Category.objects.all())


def _tools() -> QuerySet[Tool]:
    return Tool.objects.prefetch_related(
        "categories",
        Prefetch("ratings", queryset=Rating.objects.filter(is_current=True), to_attr="current_ratings"),
    )


def _filtered(filters: Filters) -> QuerySet[Tool]:
    tools = _tools()
    if filters.category:
        tools = tools.filter(categories__key=filters.category)
    if filters.light in LIGHT_FILTERS:
        tools = tools.filter(Exists(Rating.objects.filter(
            tool=OuterRef("pk"), is_current=True, light__in=LIGHT_FILTERS[filters.light])))
    if filters.self_hostable:
        tools = tools.filter(self_hostable=True)
    if filters.eu_servers:
        tools = tools.filter(server_location__in=[ServerLocation.DE, ServerLocation.EU,
                                                  ServerLocation.SELF_HOSTED])
    if filters.open_source:
        tools = tools.filter(open_source=True)
    if filters.e2e:
        tools = tools.filter(e2e=E2e.YES)
    if filters.dpa:
        tools = tools.filter(dpa_available__in=[Dpa.YES, Dpa.OWN_OPERATION])
    return tools.distinct()


def catalogue_sections(filters: Filters, all_categories: list[Category]) -> list[Section]:
    """The tools that pass the filters, under each of their categories (a tool for video and
    online counseling appears in both), best-rated first; empty categories are left out."""
    tools = sorted(_filtered(filters), key=lambda t: advice.best_first_key(candidate(t)))
    sections = []
    for category in all_categories:
        if filters.category and category.key != filters.category:
            continue
        members = [t for t in tools if any(c.pk == category.pk for c in t.categories.all())]
        if members:
            sections.append(Section(category=category, tools=members))
    return sections


def tool_history(tool: Tool) -> list[Rating]:
    return list(tool.ratings.order_by("-source_date", "-id"))


def tools_by_slugs(slugs: list[str]) -> list[Tool]:
    """The tools in the order asked for; the caller has checked that they exist."""
    found = {t.slug: t for t in _tools().filter(slug__in=slugs)}
    return [found[s] for s in slugs if s in found]


def tool_choices() -> list[tuple[str, str]]:
    return list(Tool.objects.order_by("name", "slug").values_list("slug", "name"))


def criteria(tool: Tool) -> list[Criterion]:
    rows = []
    for key, label in CRITERIA:
        raw = getattr(tool, key)
        if isinstance(raw, bool):
            value = str(_("yes") if raw else _("no"))
            if key == "open_source" and raw and tool.licence:
                value = f"{value} ({tool.licence})"
            tone = "good" if raw else "neutral"
        else:
            value = getattr(tool, f"get_{key}_display")()
            tone = "unknown" if raw == "unknown" else "good" if raw in _GOOD else "bad" if raw in _BAD \
                else "neutral"
        rows.append(Criterion(key=key, label=str(label), value=value, tone=tone))
    return rows


def comparison(tools: list[Tool]) -> list[dict[str, Any]]:
    """One row per criterion with a cell per tool, for a table with tools as columns."""
    per_tool = [criteria(t) for t in tools]
    return [{"label": label, "cells": [rows[i] for rows in per_tool]}
            for i, (_key, label) in enumerate(CRITERIA)]


def candidate(tool: Tool) -> advice.Candidate:
    rating = tool.current_rating
    return advice.Candidate(
        slug=tool.slug, name=tool.name,
        light=rating.light if rating else Light.UNKNOWN,
        rating_source=rating.source_name if rating else "",
        rating_date=rating.source_date if rating else None,
        dpa=tool.dpa_available, server_location=tool.server_location, e2e=tool.e2e,
        telemetry=tool.telemetry, open_source=tool.open_source, licence=tool.licence,
        self_hostable=tool.self_hostable, hosted_offer=tool.hosted_offer, cost_model=tool.cost_model,
        accessibility=tool.accessibility, vulnerable_fit=tool.vulnerable_clients_fit,
    )


def advice_for(needs: advice.Needs) -> tuple[advice.Advice, dict[str, Tool]]:
    """The advice for the purpose's tools, and the tools by slug for the page's links."""
    tools = list(_tools().filter(categories__key=needs.purpose).distinct())
    return advice.advise(needs, [candidate(t) for t in tools]), {t.slug: t for t in tools}


def tools_for_categories(keys: list[str], *, limit: int = 3) -> list[Tool]:
    """The best-rated tools of any of the categories (for the self-check's recommendations): the
    traffic light first (green, yellow, not rated, red), then the criteria, then the name.
    Unknown keys are ignored; each tool appears once."""
    if limit < 1 or not keys:
        return []
    tools = list(_tools().filter(Q(categories__key__in=list(keys))).distinct())
    return sorted(tools, key=lambda t: advice.best_first_key(candidate(t)))[:limit]
