"""The dashboard's trend chart keeps its date labels inside the drawing."""

import re
from datetime import date, timedelta

from colloquy.web.charts import Series, line_chart

DATE_TICK = re.compile(r'<text class="tick" x="([\d.]+)" y="\d+" text-anchor="(\w+)">(\d\d-\d\d)<')


def date_ticks(days: int) -> list[tuple[float, str, str]]:
    first = date(2026, 11, 4)
    dates = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    svg = line_chart(dates, [Series("proposed", "Proposed", [1] * days)], "Trend", "trend")
    return [(float(x), anchor, label) for x, anchor, label in DATE_TICK.findall(svg)]


def test_the_newest_days_label_ends_at_its_day():
    """Centred on the chart's last point, a wide date ran past the right edge (the right margin
    is narrower than half a label): it ends there instead, and the others stay centred."""
    ticks = date_ticks(30)
    assert [label for _, _, label in ticks] == ["11-05", "11-12", "11-19", "11-26", "12-03"]
    *earlier, (x, anchor, _) = ticks
    assert anchor == "end" and x == max(x for x, _, _ in ticks)
    assert {anchor for _, anchor, _ in earlier} == {"middle"}


def test_a_single_day_is_labelled_inside_the_chart():
    assert [(anchor, label) for _, anchor, label in date_ticks(1)] == [("end", "11-04")]
