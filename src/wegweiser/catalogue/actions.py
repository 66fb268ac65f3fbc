"""The only write of the catalogue: loading the versioned YAML file.

``catalogue_load`` is an idempotent upsert: categories by key, tools by slug. A rating is
identified by (tool, source, date, light); one the database does not have yet is added, the
newest rating *in the file* becomes current and every older row stays as history, even when the
file no longer lists it. Loading the same file twice changes nothing and writes no audit entry.
Tools missing from the file are left as they are (withdrawing a tool is not part of this).

The file is checked completely before the first write (``loader.parse``); everything happens in
one transaction, so a refused or failing load leaves the catalogue exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from wegweiser.catalogue.loader import DEFAULT_PATH, CatalogueData, ToolData, parse
from wegweiser.catalogue.models import LANGUAGES, Category, Rating, Tool
from wegweiser.core.audit import audit_record


@dataclass
class LoadSummary:
    file: str
    categories_created: list[str] = field(default_factory=list)
    categories_updated: list[str] = field(default_factory=list)
    tools_created: list[str] = field(default_factory=list)
    tools_updated: list[str] = field(default_factory=list)
    ratings_added: list[str] = field(default_factory=list)  # slugs of the tools that got one

    @property
    def changed(self) -> bool:
        return any((self.categories_created, self.categories_updated, self.tools_created,
                    self.tools_updated, self.ratings_added))

    def line(self) -> str:
        return (f"{self.file}: {len(self.tools_created)} tools added, {len(self.tools_updated)} updated, "
                f"{len(self.ratings_added)} ratings added, {len(self.categories_created)} categories "
                f"added, {len(self.categories_updated)} updated")


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ; True when one did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _categories(data: CatalogueData, summary: LoadSummary) -> dict[str, Category]:
    existing = {c.key: c for c in Category.objects.filter(key__in=[c.key for c in data.categories])}
    for item in data.categories:
        values = {"position": item.position, **{f"label_{code}": item.labels[code] for code in LANGUAGES}}
        category = existing.get(item.key)
        if category is None:
            existing[item.key] = Category.objects.create(key=item.key, **values)
            summary.categories_created.append(item.key)
        elif _assign(category, values):
            category.save()
            summary.categories_updated.append(item.key)
    return existing


def _tool_values(item: ToolData, demo: bool) -> dict[str, Any]:
    return {
        "name": item.name, "vendor": item.vendor, "website": item.website,
        "reviewed_on": item.reviewed_on, "is_demo": demo, **item.criteria,
        **{f"description_{code}": item.descriptions[code] for code in LANGUAGES},
    }


def _ratings(tool: Tool, item: ToolData) -> tuple[bool, bool]:
    """Add the ratings the database lacks and make the file's newest current.
    Returns (a rating was added, anything changed)."""
    rows = {(r.source_name, r.source_date, r.light): r for r in tool.ratings.all()}
    added = changed = False
    current = item.current
    for entry in item.ratings:
        values = {"source_url": entry.source_url,
                  **{f"note_{code}": entry.notes[code] for code in LANGUAGES}}
        row = rows.get((entry.source_name, entry.source_date, entry.light))
        if row is None:
            rows[(entry.source_name, entry.source_date, entry.light)] = Rating.objects.create(
                tool=tool, light=entry.light, source_name=entry.source_name,
                source_date=entry.source_date, **values)
            added = changed = True
        elif _assign(row, values):
            row.save()
            changed = True
    wanted = rows[(current.source_name, current.source_date, current.light)]
    if not wanted.is_current:
        # Unset first: at most one current rating per tool is a database constraint.
        Rating.objects.filter(tool=tool, is_current=True).update(is_current=False)
        Rating.objects.filter(pk=wanted.pk).update(is_current=True)
        changed = True
    return added, changed


def catalogue_load(*, actor: Any, path: Path | str | None = None) -> LoadSummary:
    """Load (or update) the catalogue from ``path`` (default: the shipped demo set). Raises
    ValidationError naming the file and every problem; nothing is written then."""
    data = parse(path or DEFAULT_PATH)
    summary = LoadSummary(file=data.name)
    with transaction.atomic():
        categories = _categories(data, summary)
        tools = {t.slug: t for t in Tool.objects.filter(slug__in=[t.slug for t in data.tools])
                 .prefetch_related("categories", "ratings")}
        for item in data.tools:
            values = _tool_values(item, data.demo)
            tool = tools.get(item.slug)
            created = tool is None
            if tool is None:
                tool = Tool.objects.create(slug=item.slug, **values)
                updated = False
            else:
                updated = _assign(tool, values)
                if updated:
                    tool.save()
            wanted = {categories[key].pk for key in item.categories}
            if created or {c.pk for c in tool.categories.all()} != wanted:
                tool.categories.set(wanted)
                updated = True
            added, rating_changed = _ratings(tool, item)
            if added:
                summary.ratings_added.append(item.slug)
            if created:
                summary.tools_created.append(item.slug)
            elif updated or rating_changed:
                summary.tools_updated.append(item.slug)
        if summary.changed:
            audit_record(actor=actor, action="catalogue.loaded", object_type="catalogue.file",
                         object_id=data.sha256[:64], data={
                             "file": data.name, "sha256": data.sha256,
                             "categories_created": summary.categories_created,
                             "categories_updated": summary.categories_updated,
                             "tools_created": summary.tools_created,
                             "tools_updated": summary.tools_updated,
                             "ratings_added": summary.ratings_added,
                         })
    return summary
