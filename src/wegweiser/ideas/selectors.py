"""Reads of the needs & ideas pipeline: the board, an item's public page, duplicate hints and the
federation overview. Nothing here returns internal notes: they are read only by the triage page.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber, Substr
from django.utils import timezone

from wegweiser.ideas.models import FieldOfWork, Item, Stage, StageChange, StageKind
from wegweiser.ideas.similarity import DEFAULT_THRESHOLD, DuplicateIndex, Hint
from wegweiser.organizations.models import Node, NodeKind

PER_COLUMN = 20
AGE_FILTERS = {"14": (None, 14), "90": (None, 90), "older90": (90, None), "older365": (365, None)}


@dataclass
class BoardFilters:
    field: str = ""
    kind: str = ""
    branch: Node | None = None
    stage: Stage | None = None
    age: str = ""
    query: str = ""

    def apply(self, items: QuerySet[Item]) -> QuerySet[Item]:
        if self.field:
            items = items.filter(field=self.field)
        if self.kind:
            items = items.filter(kind=self.kind)
        if self.branch is not None:
            items = items.filter(branch__path__startswith=self.branch.path)
        if self.stage is not None:
            items = items.filter(stage=self.stage)
        if self.age in AGE_FILTERS:
            older, newer = AGE_FILTERS[self.age]
            now = timezone.now()
            if newer is not None:
                items = items.filter(created_at__gte=now - dt.timedelta(days=newer))
            if older is not None:
                items = items.filter(created_at__lt=now - dt.timedelta(days=older))
        if self.query:
            items = items.filter(title__icontains=self.query)
        return items


@dataclass
class Column:
    stage: Stage
    count: int = 0
    items: list[Item] = field(default_factory=list)


def board_columns(
    items: QuerySet[Item], stages: list[Stage], *, per_column: int = PER_COLUMN, show_closed: bool = False
) -> list[Column]:
    """One column per stage in use (closed stages only when asked for or filtered), each with its
    count and its most supported items: two queries whatever the number of items."""
    columns = {s.pk: Column(s) for s in stages if (s.is_active or False) and (show_closed or not s.is_closed)}
    if not columns:
        return []
    items = items.filter(stage_id__in=list(columns))
    for stage_id, count in items.values_list("stage_id").annotate(n=Count("id")).order_by():
        columns[stage_id].count = count
    ranked = (
        items.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("support_count").desc(), F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=per_column)
        .select_related("branch")
        .only(
            "public_id",
            "title",
            "kind",
            "field",
            "stage_id",
            "support_count",
            "comment_count",
            "created_at",
            "effort",
            "impact",
            "branch__name",
        )
        .order_by("stage_id", "rank")
    )
    for item in ranked:
        columns[item.stage_id].items.append(item)
    return list(columns.values())


def filter_nodes(federation: Node) -> list[Node]:
    """Units to filter by: the federation's regions and branches (a filter takes the subtree)."""
    return list(
        Node.objects.filter(
            path__startswith=federation.path,
            depth__gt=1,
            is_active=True,
            kind__in=[NodeKind.REGION, NodeKind.BRANCH],
        ).order_by("path")
    )


def supporting_branches(item: Item) -> list[dict[str, Any]]:
    rows = (
        item.supports.values("branch__name", "branch__path")
        .annotate(n=Count("id"))
        .order_by("-n", "branch__name")
    )
    return [{"name": r["branch__name"], "count": r["n"]} for r in rows]


# -- duplicate hints -----------------------------------------------------------------------------
@dataclass
class _Cached:
    count: int
    last_pk: int
    edited: dt.datetime | None
    index: DuplicateIndex


_indexes: dict[int, _Cached] = {}
_lock = threading.Lock()


def duplicate_index(federation: Node) -> DuplicateIndex:
    """The federation's index, kept per process. New items are added to it as they come; when
    items were hidden or removed (the count no longer adds up) or an author changed a text, it is
    built again. One aggregate query tells which."""
    visible = Item.objects.filter(federation=federation, moderation=Item.Moderation.NONE)
    with _lock:
        cached = _indexes.get(federation.pk)
        known = cached.last_pk if cached is not None else 0
        stamp = visible.aggregate(
            n=Count("id"), last=Max("id"), edited=Max("updated_at", filter=Q(pk__lte=known))
        )
        count, last_pk, edited = stamp["n"], stamp["last"] or 0, stamp["edited"]
        if cached is not None and edited == cached.edited:
            if (cached.count, cached.last_pk) == (count, last_pk):
                return cached.index
            if last_pk > cached.last_pk:
                new = list(visible.filter(pk__gt=cached.last_pk).values_list("public_id", "title", "problem"))
                if cached.count + len(new) == count:
                    cached.index.add(new)
                    cached.count, cached.last_pk = count, last_pk
                    return cached.index
        rows = visible.filter(pk__lte=last_pk)
        index = DuplicateIndex(rows.values_list("public_id", "title", "problem").iterator(chunk_size=2000))
        _indexes[federation.pk] = _Cached(count, last_pk, rows.aggregate(m=Max("updated_at"))["m"], index)
        return index


def duplicate_hints(
    federation: Node, title: str, *, threshold: float = DEFAULT_THRESHOLD
) -> list[tuple[Item, Hint]]:
    """The visible items most like ``title`` (for the self-check's advice also a keyword list,
    with a lower threshold: there a topic match is enough)."""
    if len(title.strip()) < 4:
        return []
    hints = duplicate_index(federation).hints(title, threshold=threshold)
    items: dict[Any, Item] = {
        i.public_id: i
        for i in Item.objects.filter(
            public_id__in=[h.item_id for h in hints], moderation=Item.Moderation.NONE
        ).select_related("stage")
    }
    return [(items[h.item_id], h) for h in hints if h.item_id in items]


# -- federation overview -------------------------------------------------------------------------
def region_of(federation: Node) -> tuple[int, dict[str, str]]:
    """The length of a region's path and the names of the federation's depth-2 units."""
    length = federation.steplen * 2
    names = dict(Node.objects.filter(path__startswith=federation.path, depth=2).values_list("path", "name"))
    return length, names


def heat_table(items: QuerySet[Item], federation: Node) -> dict[str, Any]:
    """Needs by field of work (rows) and region (columns)."""
    length, names = region_of(federation)
    counts: dict[tuple[str, str], int] = {}
    for field_key, region_path, n in (
        items.filter(kind=Item.Kind.NEED)
        .annotate(region=Substr("branch__path", 1, length))
        .values_list("field", "region")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[(field_key, region_path)] = n
    regions = sorted({r for _f, r in counts} | set(names), key=lambda p: names.get(p, ""))
    top = max(counts.values(), default=0)
    rows = []
    for value, label in FieldOfWork.choices:
        cells = [counts.get((value, r), 0) for r in regions]
        rows.append(
            {"field": label, "cells": [{"n": n, "level": _level(n, top)} for n in cells], "total": sum(cells)}
        )
    return {
        "regions": [names.get(r, federation.name) for r in regions],
        "rows": rows,
        "totals": [sum(counts.get((v, r), 0) for v, _l in FieldOfWork.choices) for r in regions],
    }


def _level(n: int, top: int) -> int:
    """0–4 for the colour of a heat-table cell (the count is always printed too)."""
    return 0 if n == 0 or top == 0 else 1 + min(3, (4 * n - 1) // top)


def stage_counts(items: QuerySet[Item], stages: list[Stage]) -> list[dict[str, Any]]:
    counts: defaultdict[int, dict[str, int]] = defaultdict(lambda: {"need": 0, "idea": 0})
    for stage_id, kind, n in items.values_list("stage_id", "kind").annotate(n=Count("id")).order_by():
        counts[stage_id][kind] = n
    return [
        {"stage": s, "needs": counts[s.pk]["need"], "ideas": counts[s.pk]["idea"]}
        for s in stages
        if s.is_active or counts[s.pk]["need"] + counts[s.pk]["idea"]
    ]


def time_in_stage(
    items: QuerySet[Item], stages: list[Stage], *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Days items spent in each stage, from the public history: finished stays and the current
    one so far (median and number of stays)."""
    now = now or timezone.now()
    days: dict[int, list[float]] = defaultdict(list)
    entered: dict[int, tuple[int, dt.datetime]] = {}
    for pk, stage_id, created in items.values_list("pk", "stage_id", "created_at").order_by("pk"):
        entered[pk] = (stage_id, created)
    changes = (
        StageChange.objects.filter(item_id__in=items.values("pk"))
        .exclude(from_stage=F("to_stage"))
        .order_by("created_at", "id")
        .values_list("item_id", "from_stage_id", "to_stage_id", "created_at")
    )
    first_stage: dict[int, int] = {}
    for item_id, from_stage, to_stage, at in changes.iterator(chunk_size=5000):
        if item_id not in entered:
            continue
        stage_id, since = entered[item_id]
        if item_id not in first_stage:
            first_stage[item_id] = from_stage
            stage_id = from_stage
        days[stage_id].append((at - since).total_seconds() / 86400)
        entered[item_id] = (to_stage, at)
    for stage_id, since in entered.values():
        days[stage_id].append((now - since).total_seconds() / 86400)
    rows = []
    for s in stages:
        values = days.get(s.pk, [])
        if values and not s.is_closed:
            rows.append(
                {
                    "stage": s,
                    "stays": len(values),
                    "median": round(statistics.median(values), 1),
                    "longest": round(max(values), 1),
                }
            )
    return rows


def open_kinds() -> list[str]:
    return [StageKind.OPEN, StageKind.ACTIVE]


def items_in(federation: Node, prefixes: list[str]) -> QuerySet[Item]:
    """The federation's visible items of the branches under ``prefixes`` (a triage scope)."""
    from wegweiser.ideas.access import triage_q

    return Item.objects.filter(Q(federation=federation) & triage_q(prefixes)).filter(
        moderation=Item.Moderation.NONE
    )
