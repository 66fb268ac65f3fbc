"""A run chart of an improvement cycle's measure, drawn on the server as SVG (no JavaScript, no
chart library): the values over time joined by a line, the baseline as a solid line, the median
of the values as a dashed line, and the start of every PDSA cycle as a labelled vertical marker.

``build`` computes the geometry (pure: dates and Decimals in, numbers out); the template
``ideas/cycles/_runchart.html`` draws it with Django's autoescaping, so the only user text that
reaches the SVG (the measure and its unit, in ``<title>``/``<desc>``) is escaped. The page shows
the values as a table next to it: the chart's text alternative.

The two simple run-chart rules (Perla, Provost & Murray 2011, as taught by IHI and Qulturum) are
detected on the values in time order:
- a **shift**: ``SHIFT_POINTS`` (6) or more consecutive values on the same side of the median;
  values on the median neither count nor break the run;
- a **trend**: ``TREND_POINTS`` (5) or more consecutive values each going up (or each going
  down); equal neighbours neither count nor break it.
With fewer than ``RELIABLE_POINTS`` (10) values the rules are shown with a caution.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils.formats import date_format
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 40, 40  # margins: value labels left, PDSA labels on top
PLOT_LEFT, PLOT_RIGHT = LEFT, WIDTH - RIGHT
PLOT_TOP, PLOT_BOTTOM = TOP, HEIGHT - BOTTOM
SHIFT_POINTS = 6
TREND_POINTS = 5
RELIABLE_POINTS = 10
X_TICKS = 5


@dataclass(frozen=True)
class Point:
    date: datetime.date
    value: Decimal
    x: float
    y: float
    signal: bool = False


@dataclass(frozen=True)
class Tick:
    value: Any  # a Decimal on the value axis, a date on the time axis
    pos: float
    anchor: str = "end"


@dataclass(frozen=True)
class Marker:
    number: int
    date: datetime.date
    x: float
    label_y: float


@dataclass(frozen=True)
class Signal:
    kind: str  # "shift" or "trend"
    direction: str  # shift: "above" / "below"; trend: "up" / "down"
    first: int  # index of the first and last value of the run
    last: int
    count: int  # values that count for the rule

    def favourable(self, higher_is_better: bool) -> bool:
        return (self.direction in ("above", "up")) == higher_is_better


@dataclass(frozen=True)
class RunChart:
    points: list[Point]
    baseline: Decimal
    median: Decimal | None = None
    baseline_y: float = 0.0
    median_y: float | None = None
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM

    @property
    def empty(self) -> bool:
        return not self.points

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:g},{p.y:g}" for p in self.points)

    @property
    def first_date(self) -> datetime.date | None:
        return self.points[0].date if self.points else None

    @property
    def last_date(self) -> datetime.date | None:
        return self.points[-1].date if self.points else None

    @property
    def minimum(self) -> Decimal | None:
        return min(p.value for p in self.points) if self.points else None

    @property
    def maximum(self) -> Decimal | None:
        return max(p.value for p in self.points) if self.points else None

    @property
    def reliable(self) -> bool:
        return len(self.points) >= RELIABLE_POINTS


def median(values: Sequence[Decimal]) -> Decimal | None:
    return _median(values) if values else None


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def shifts(values: Sequence[Decimal], centre: Decimal | None, minimum: int = SHIFT_POINTS) -> list[Signal]:
    """Runs of ``minimum`` or more values on one side of ``centre`` (values on it are skipped)."""
    if centre is None:
        return []
    found: list[Signal] = []
    run: list[int] = []
    side = 0
    for index, value in enumerate(values):
        if value == centre:
            continue
        here = 1 if value > centre else -1
        if here != side:
            if len(run) >= minimum:
                found.append(Signal("shift", "above" if side > 0 else "below", run[0], run[-1], len(run)))
            run, side = [], here
        run.append(index)
    if len(run) >= minimum:
        found.append(Signal("shift", "above" if side > 0 else "below", run[0], run[-1], len(run)))
    return found


def trends(values: Sequence[Decimal], minimum: int = TREND_POINTS) -> list[Signal]:
    """Runs of ``minimum`` or more values each higher (or each lower) than the one before; an equal
    value repeats its neighbour and is skipped."""
    found: list[Signal] = []
    if not values:
        return found
    start = last = 0
    direction = steps = 0

    def close() -> None:
        if direction and steps + 1 >= minimum:
            found.append(Signal("trend", "up" if direction > 0 else "down", start, last, steps + 1))

    for index in range(1, len(values)):
        if values[index] == values[last]:
            continue
        here = 1 if values[index] > values[last] else -1
        if here != direction:
            close()
            start, direction, steps = last, here, 0
        steps += 1
        last = index
    close()
    return found


def _nice_step(span: Decimal, ticks: int = 4) -> Decimal:
    raw = span / ticks
    unit = Decimal(1).scaleb(raw.adjusted())
    for factor in (1, 2, 5, 10):
        if unit * factor >= raw:
            return unit * factor
    return unit * 10  # pragma: no cover - 10 always suffices


def value_axis(values: Sequence[Decimal]) -> tuple[Decimal, Decimal, list[Decimal]]:
    """The value range drawn (rounded out to a "nice" step) and its tick values."""
    low, high = min(values), max(values)
    if low == high:
        pad = max(abs(low) / 10, Decimal(1))
        low, high = low - pad, high + pad
    step = _nice_step(high - low)
    bottom = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    top = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    count = int((top - bottom) / step)
    return bottom, top, [_plain(bottom + step * i) for i in range(count + 1)]


def _plain(number: Decimal) -> Decimal:
    """Without exponent or trailing zeros: 20 rather than 2E+1, 2.5 rather than 2.50."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def build(measurements: Sequence[tuple[datetime.date, Decimal]], baseline: Decimal,
          pdsa_starts: Sequence[tuple[int, datetime.date]] = ()) -> RunChart:
    """The geometry of the chart: ``measurements`` as (date, value), ``pdsa_starts`` as (number,
    start date). Without measurements there is nothing to draw (``empty``)."""
    data = sorted(measurements, key=lambda m: m[0])
    if not data:
        return RunChart(points=[], baseline=baseline)
    values = [value for _date, value in data]
    centre = _median(values)
    signals = shifts(values, centre) + trends(values)
    in_signal = {i for s in signals for i in range(s.first, s.last + 1)}

    dates = [d for d, _value in data] + [d for _number, d in pdsa_starts]
    first, last = min(dates), max(dates)
    span = (last - first).days
    plot_width, plot_height = PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP

    def x(day: datetime.date) -> float:
        if span == 0:
            return round(PLOT_LEFT + plot_width / 2, 1)
        return round(PLOT_LEFT + (day - first).days / span * plot_width, 1)

    bottom, top, tick_values = value_axis([*values, baseline])
    height = float(top - bottom)

    def y(value: Decimal) -> float:
        return round(PLOT_TOP + float(top - value) / height * plot_height, 1)

    points = [Point(d, v, x(d), y(v), i in in_signal) for i, (d, v) in enumerate(data)]
    if span == 0:
        x_ticks = [Tick(first, x(first), "middle")]
    else:
        days = sorted({round(span * i / (X_TICKS - 1)) for i in range(X_TICKS)})
        x_ticks = [Tick(first + datetime.timedelta(days=n), x(first + datetime.timedelta(days=n)),
                        "start" if n == 0 else "end" if n == span else "middle") for n in days]
    markers = [Marker(number, day, x(day), PLOT_TOP - (22 if i % 2 == 0 else 8))
               for i, (number, day) in enumerate(sorted(pdsa_starts))]
    return RunChart(points=points, baseline=baseline, median=centre, baseline_y=y(baseline),
                    median_y=y(centre), y_ticks=[Tick(v, y(v)) for v in tick_values], x_ticks=x_ticks,
                    markers=markers, signals=signals)


def describe(chart: RunChart, signal: Signal, higher_is_better: bool) -> str:
    """A signal in words, for the page."""
    first = date_format(chart.points[signal.first].date, "SHORT_DATE_FORMAT")
    last = date_format(chart.points[signal.last].date, "SHORT_DATE_FORMAT")
    texts = {
        "above": _("Shift: %(count)s values in a row above the median (%(first)s to %(last)s)."),
        "below": _("Shift: %(count)s values in a row below the median (%(first)s to %(last)s)."),
        "up": _("Trend: %(count)s values in a row, each higher than the one before (%(first)s to "
                "%(last)s)."),
        "down": _("Trend: %(count)s values in a row, each lower than the one before (%(first)s to "
                  "%(last)s)."),
    }
    text = texts[signal.direction] % {"count": signal.count, "first": first, "last": last}
    good = signal.favourable(higher_is_better)
    if signal.kind == "shift":
        verdict = (_("That is the better side of the median.") if good
                   else _("That is the worse side of the median."))
    else:
        verdict = _("The measure got better.") if good else _("The measure got worse.")
    return f"{text} {verdict}"


def render_svg(chart: RunChart, *, measure: str, unit: str = "", higher_is_better: bool = True) -> str:
    """The chart as an inline SVG element (empty string when there is nothing to draw)."""
    if chart.empty:
        return ""
    return render_to_string("ideas/cycles/_runchart.html", {
        "chart": chart, "measure": measure, "unit": f" {unit}" if unit else "",
        "higher_is_better": higher_is_better})
