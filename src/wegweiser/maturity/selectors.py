"""Reads of the self-check: a respondent's progress, the result with its comparison to the unit's
last check, the benchmarks and the recommendations for weak dimensions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps

from wegweiser.maturity import benchmarks as bench
from wegweiser.maturity import questionnaire, radar, scoring
from wegweiser.maturity.actions import check_result
from wegweiser.maturity.models import Answer, Check, Respondent
from wegweiser.organizations.models import Node


def progress(respondent: Respondent) -> dict[str, int]:
    q = questionnaire.get(respondent.check_run.questionnaire)
    answered = Answer.objects.filter(respondent=respondent, key__in=list(q.by_key)).count()
    return {
        "answered": answered,
        "total": len(q.statements),
        "percent": round(100 * answered / len(q.statements)) if q.statements else 0,
    }


def previous_check(check: Check) -> Check | None:
    return (
        Check.objects.filter(
            organization_id=check.organization_id, closed_at__isnull=False, created_at__lt=check.created_at
        )
        .order_by("-closed_at")
        .first()
    )


@dataclass(frozen=True)
class Recommendation:
    dimension: questionnaire.Dimension
    score: int
    text: questionnaire.Text
    tools: list[Any]
    ideas: list[Any]


def _tools(categories: tuple[str, ...]) -> list[Any]:
    if not categories or not apps.is_installed("wegweiser.catalogue"):
        return []
    from wegweiser.catalogue.selectors import tools_for_categories

    return list(tools_for_categories(list(categories), limit=3))


def _ideas(federation: Node | None, keywords: str) -> list[Any]:
    """Needs and ideas of the federation that match the area's keywords."""
    if federation is None:
        return []
    from wegweiser.ideas.selectors import duplicate_hints

    return [item for item, _hint in duplicate_hints(federation, keywords, threshold=0.05)]


def recommendations(check: Check, result: scoring.Result) -> list[Recommendation]:
    q = questionnaire.get(check.questionnaire)
    federation = Node.objects.filter(path=check.federation_path).first()
    out = []
    for row in sorted((r for r in result.dimensions if r.weak), key=lambda r: r.score or 0):
        dimension = q.dimension(row.key)
        out.append(
            Recommendation(
                dimension,
                row.score or 0,
                dimension.recommendations[row.band or "start"],
                _tools(dimension.tool_categories),
                _ideas(federation, str(dimension.idea_keywords)),
            )
        )
    return out


def result_page(check: Check) -> dict[str, Any]:
    """Everything the result page and its PDF show."""
    q = questionnaire.get(check.questionnaire)
    result = check_result(check)
    previous = previous_check(check)
    marks = bench.benchmarks(check)
    shown = [b for b in marks if b.shown]
    rows = []
    for dimension, score in zip(q.dimensions, result.dimensions, strict=True):
        rows.append(
            {
                "dimension": dimension,
                "score": score,
                "previous": previous.scores.get(dimension.key) if previous else None,
                "benchmarks": [b.medians.get(dimension.key) if b.medians else None for b in marks],
            }
        )
    labels = [str(d.label) for d in q.dimensions]
    values = [r.score for r in result.dimensions]
    return {
        "questionnaire": q,
        "result": result,
        "rows": rows,
        "previous": previous,
        "benchmarks": marks,
        "recommendations": recommendations(check, result),
        "chart": {
            "size": radar.SIZE,
            "centre": radar.CENTRE,
            "axes": radar.axes(labels),
            "rings": radar.rings(len(labels)),
            "result": radar.polygon(values) if any(v is not None for v in values) else "",
            "previous": radar.polygon([previous.scores.get(d.key) for d in q.dimensions]) if previous else "",
            "peers": radar.polygon([shown[0].medians.get(d.key) for d in q.dimensions])
            if shown and shown[0].medians
            else "",
            "peers_label": shown[0].label if shown else "",
        },
        "min_peers": bench.MIN_PEERS,
    }
