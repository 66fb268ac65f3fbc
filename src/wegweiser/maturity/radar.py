"""The radar chart of a result as server-rendered SVG coordinates (no JavaScript, no library):
one axis per dimension, 0 in the centre, 100 on the outer ring. The page also shows the same
figures as a table, which is the chart's text alternative."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SIZE = 360
CENTRE = SIZE / 2
RADIUS = 120


@dataclass(frozen=True)
class Axis:
    label: str
    x: float
    y: float
    label_x: float
    label_y: float
    anchor: str


def _point(index: int, count: int, value: float) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * index / count
    r = RADIUS * max(0.0, min(100.0, value)) / 100
    return round(CENTRE + r * math.cos(angle), 1), round(CENTRE + r * math.sin(angle), 1)


def axes(labels: list[str]) -> list[Axis]:
    out = []
    for i, label in enumerate(labels):
        x, y = _point(i, len(labels), 100)
        lx, ly = _point(i, len(labels), 118)
        anchor = "middle" if abs(lx - CENTRE) < 10 else ("start" if lx > CENTRE else "end")
        out.append(Axis(label, x, y, lx, ly + (4 if ly > CENTRE else -4 if ly < CENTRE else 0), anchor))
    return out


def polygon(values: Sequence[float | None]) -> str:
    """The points attribute of a polygon; a missing value counts as 0 (the table says "—")."""
    return " ".join(f"{x},{y}" for x, y in (_point(i, len(values), v or 0) for i, v in enumerate(values)))


def rings(count: int) -> list[str]:
    return [polygon([level] * count) for level in (25, 50, 75, 100)]
