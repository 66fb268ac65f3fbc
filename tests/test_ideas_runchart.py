"""The run chart of an improvement cycle (ideas/runchart.py): the geometry, the median, the two
run-chart rules (shift and trend), the empty and single-value cases, and the SVG's escaping and
accessibility."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from wegweiser.ideas import runchart
from wegweiser.ideas.runchart import PLOT_BOTTOM, PLOT_LEFT, PLOT_RIGHT, PLOT_TOP

D = Decimal
START = datetime.date(2025, 1, 6)


def weekly(*values: str | int) -> list[tuple[datetime.date, Decimal]]:
    return [(START + datetime.timedelta(weeks=i), D(str(v))) for i, v in enumerate(values)]


# -- median and the rules ------------------------------------------------------------------------
def test_median_of_odd_and_even_counts_and_of_nothing() -> None:
    assert runchart.median([D(3), D(1), D(2)]) == D(2)
    assert runchart.median([D(4), D(1), D(3), D(2)]) == D("2.5")
    assert runchart.median([D("7.25")]) == D("7.25")
    assert runchart.median([]) is None


def test_six_values_on_one_side_of_the_median_are_a_shift() -> None:
    values = [D(v) for v in (1, 1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 9)]
    assert runchart.median(values) == D(5)
    found = runchart.shifts(values, D(5))
    assert [(s.direction, s.first, s.last, s.count) for s in found] == [("below", 0, 5, 6),
                                                                        ("above", 6, 11, 6)]


def test_five_values_on_one_side_are_not_yet_a_shift() -> None:
    values = [D(v) for v in (1, 1, 1, 1, 1, 9, 1, 9, 9, 9, 9, 9)]
    assert runchart.shifts(values, D(5)) == []


def test_values_on_the_median_neither_count_for_nor_break_a_shift() -> None:
    values = [D(v) for v in (8, 8, 5, 8, 8, 5, 8, 8)]
    [shift] = runchart.shifts(values, D(5))
    assert (shift.direction, shift.first, shift.last, shift.count) == ("above", 0, 7, 6)
    assert runchart.shifts(values, None) == []


def test_five_values_each_going_up_are_a_trend() -> None:
    [trend] = runchart.trends([D(v) for v in (9, 1, 2, 3, 4, 5, 3)])
    assert (trend.kind, trend.direction, trend.first, trend.last, trend.count) == ("trend", "up", 1, 5, 5)


def test_four_values_going_down_are_not_a_trend_and_equal_neighbours_do_not_break_one() -> None:
    assert runchart.trends([D(v) for v in (4, 3, 2, 1)]) == []
    [trend] = runchart.trends([D(v) for v in (9, 8, 8, 7, 6, 5)])
    assert (trend.direction, trend.first, trend.last, trend.count) == ("down", 0, 5, 5)
    assert runchart.trends([]) == [] and runchart.trends([D(1)]) == []


def test_the_turning_point_belongs_to_both_trends() -> None:
    found = runchart.trends([D(v) for v in (1, 2, 3, 4, 5, 4, 3, 2, 1)])
    assert [(s.direction, s.first, s.last) for s in found] == [("up", 0, 4), ("down", 4, 8)]


@pytest.mark.parametrize(("direction", "higher_is_better", "good"), [
    ("above", True, True), ("below", True, False), ("up", False, False), ("down", False, True)])
def test_a_signal_is_favourable_in_the_desired_direction(direction: str, higher_is_better: bool,
                                                         good: bool) -> None:
    kind = "shift" if direction in ("above", "below") else "trend"
    assert runchart.Signal(kind, direction, 0, 5, 6).favourable(higher_is_better) is good


# -- geometry ------------------------------------------------------------------------------------
def test_points_are_placed_by_date_and_value() -> None:
    chart = runchart.build(weekly(10, 20, 30), D(10))
    assert [p.x for p in chart.points] == [PLOT_LEFT, (PLOT_LEFT + PLOT_RIGHT) / 2, PLOT_RIGHT]
    assert chart.y_ticks[0].value == D(10) and chart.y_ticks[-1].value == D(30)
    assert [p.y for p in chart.points] == [PLOT_BOTTOM, (PLOT_TOP + PLOT_BOTTOM) / 2, PLOT_TOP]
    assert chart.baseline_y == PLOT_BOTTOM  # the baseline 10 is the lowest tick
    assert chart.median == D(20) and chart.median_y == (PLOT_TOP + PLOT_BOTTOM) / 2
    assert chart.polyline == f"{PLOT_LEFT},{PLOT_BOTTOM} 348,160 {PLOT_RIGHT},{PLOT_TOP}"
    assert [t.anchor for t in chart.x_ticks] == ["start", "middle", "middle", "middle", "end"]


def test_time_is_proportional_not_one_slot_per_value() -> None:
    data = [(START, D(1)), (START + datetime.timedelta(days=1), D(2)),
            (START + datetime.timedelta(days=10), D(3))]
    chart = runchart.build(data, D(0))
    width = PLOT_RIGHT - PLOT_LEFT
    assert chart.points[1].x == round(PLOT_LEFT + width / 10, 1)


def test_values_are_sorted_by_date_and_the_baseline_widens_the_axis() -> None:
    data = list(reversed(weekly(5, 6, 7)))
    chart = runchart.build(data, D(100))
    assert [p.value for p in chart.points] == [D(5), D(6), D(7)]
    assert chart.y_ticks[-1].value >= D(100)
    assert chart.baseline_y == PLOT_TOP


def test_pdsa_starts_are_markers_and_widen_the_time_axis() -> None:
    late = START + datetime.timedelta(weeks=4)
    chart = runchart.build(weekly(1, 2, 3), D(1), [(2, late), (1, START + datetime.timedelta(weeks=1))])
    assert [(m.number, m.date) for m in chart.markers] == [(1, START + datetime.timedelta(weeks=1)),
                                                           (2, late)]
    assert chart.markers[-1].x == PLOT_RIGHT  # the later start became the right end
    assert chart.points[-1].x < PLOT_RIGHT
    assert chart.markers[0].label_y != chart.markers[1].label_y  # staggered labels do not overlap


def test_no_values_is_an_empty_chart_and_no_svg() -> None:
    chart = runchart.build([], D(5), [(1, START)])
    assert chart.empty and chart.median is None and chart.points == [] and chart.signals == []
    assert chart.first_date is None and chart.minimum is None and not chart.reliable
    assert runchart.render_svg(chart, measure="Wartetage") == ""


def test_a_single_value_sits_in_the_middle() -> None:
    chart = runchart.build([(START, D("4.5"))], D("4.5"))
    [point] = chart.points
    assert point.x == (PLOT_LEFT + PLOT_RIGHT) / 2
    assert chart.median == D("4.5") and chart.signals == []
    assert PLOT_TOP < point.y < PLOT_BOTTOM  # an equal baseline and value still get a range
    assert len(chart.x_ticks) == 1 and chart.x_ticks[0].anchor == "middle"


def test_value_axis_ticks_are_round_numbers() -> None:
    low, high, ticks = runchart.value_axis([D("0.13"), D("0.87")])
    assert (low, high) == (D("0"), D("1"))
    assert ticks == [D(0), D("0.2"), D("0.4"), D("0.6"), D("0.8"), D(1)]
    assert str(runchart.value_axis([D(0), D(100)])[2][-1]) == "100"  # not 1E+2
    assert runchart.value_axis([D(-3), D(-3)])[2][0] <= D(-4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False,
                            allow_infinity=False), min_size=1, max_size=40),
       st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_every_point_lies_inside_the_plot(values: list[Decimal], baseline: Decimal) -> None:
    chart = runchart.build([(START + datetime.timedelta(days=3 * i), v) for i, v in enumerate(values)],
                           baseline)
    assert chart.median is not None and min(values) <= chart.median <= max(values)
    for y in [p.y for p in chart.points] + [chart.baseline_y, chart.median_y]:
        assert y is not None and PLOT_TOP - 0.05 <= y <= PLOT_BOTTOM + 0.05
    for point in chart.points:
        assert PLOT_LEFT <= point.x <= PLOT_RIGHT
    for signal in chart.signals:
        assert 0 <= signal.first < signal.last < len(values)


# -- the SVG -------------------------------------------------------------------------------------
def test_svg_is_accessible_and_escapes_user_text() -> None:
    chart = runchart.build(weekly(3, 4), D(3), [(1, START)])
    svg = runchart.render_svg(chart, measure='<script>alert("x")</script> & Co', unit="<b>Tage</b>")
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="runchart-title runchart-desc"' in svg
    assert "<title id=\"runchart-title\">" in svg and "<desc id=\"runchart-desc\">" in svg
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in svg
    assert "&lt;b&gt;Tage&lt;/b&gt;" in svg
    assert "PDSA 1" in svg
    assert 'class="median"' in svg and 'class="baseline"' in svg and 'class="series"' in svg
    assert "style=" not in svg  # the CSP forbids inline styles: classes only


def test_svg_coordinates_are_never_localized_but_labels_are() -> None:
    chart = runchart.build([(START, D("1.5")), (START + datetime.timedelta(days=3), D("2.25"))], D(1))
    with translation.override("de"):
        svg = runchart.render_svg(chart, measure="Quote", unit="%")
    for name, value in re.findall(r'\s(x|y|x1|x2|y1|y2|cx|cy)="([^"]*)"', svg):
        assert re.fullmatch(r"-?\d+(\.\d+)?", value), (name, value)
    assert re.search(r'points="[\d., ]+"', svg)
    assert "2,25 %" in svg and "06.01.2025" in svg  # German number and date in the labels


def test_signals_are_described_in_words() -> None:
    chart = runchart.build(weekly(1, 2, 3, 4, 5, 6), D(1))
    [trend] = chart.signals
    with translation.override("en"):
        text = runchart.describe(chart, trend, higher_is_better=True)
        worse = runchart.describe(chart, trend, higher_is_better=False)
    assert text.startswith("Trend: 6 values in a row, each higher")
    assert text.endswith("The measure got better.") and worse.endswith("The measure got worse.")
    shift = runchart.build(weekly(1, 1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 9), D(1))
    with translation.override("en"):
        texts = [runchart.describe(shift, s, higher_is_better=True) for s in shift.signals]
    assert texts == [
        "Shift: 6 values in a row below the median (01/06/2025 to 02/10/2025). That is the worse side of "
        "the median.",
        "Shift: 6 values in a row above the median (02/17/2025 to 03/24/2025). That is the better side of "
        "the median."]
    assert all(p.signal for p in chart.points)
