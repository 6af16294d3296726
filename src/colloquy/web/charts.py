"""Inline SVG charts, rendered on the server (colours come from the stylesheet's classes)."""

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from colloquy.web.wording import plural


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    href: str


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: list[int]


def _close(parts: list[str]) -> Markup:
    """The finished SVG; every interpolated label and link above went through ``escape``."""
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (at least 1)."""
    if value <= 4:
        return max(value, 1)
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def _svg_open(width: int, height: int, title: str, chart_id: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
    )


def histogram(bars: Sequence[Bar], title: str, chart_id: str) -> Markup:
    """Vertical bars, one link per bar."""
    width, height = 360, 200
    top, bottom, side = 24, 32, 12
    plot = height - top - bottom
    slot = (width - 2 * side) / max(len(bars), 1)
    peak = max((b.count for b in bars), default=0) or 1
    parts = [_svg_open(width, height, title, chart_id)]
    parts.append(
        f'<line class="axis" x1="{side}" y1="{top + plot}" x2="{width - side}" y2="{top + plot}"/>'
    )
    for i, bar in enumerate(bars):
        h = round(plot * bar.count / peak, 1)
        x = side + i * slot + slot * 0.15
        w = slot * 0.7
        y = top + plot - h
        label = f"{bar.label}: {plural(bar.count, 'unit')}"
        parts.append(
            f'<a href="{escape(bar.href)}" aria-label="{escape(label)}">'
            f"<title>{escape(label)}</title>"
            f'<rect class="hit" x="{x - slot * 0.1:.1f}" y="{top - 20}" '
            f'width="{w + slot * 0.2:.1f}" height="{plot + 20 + bottom}"/>'
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{max(h, 1)}" '
            f'rx="3"/>'
            f'<text class="value" x="{x + w / 2:.1f}" y="{y - 6:.1f}" '
            f'text-anchor="middle">{bar.count}</text>'
            f'<text class="tick" x="{x + w / 2:.1f}" y="{height - 10}" '
            f'text-anchor="middle">{escape(bar.label)}</text></a>'
        )
    return _close(parts)


def bar_list(bars: Sequence[Bar], title: str, chart_id: str) -> Markup:
    """Horizontal bars with their labels, one link per row, largest first."""
    row, label_w, width = 28, 140, 360
    height = max(len(bars), 1) * row + 8
    peak = max((b.count for b in bars), default=0) or 1
    avail = width - label_w - 48
    parts = [_svg_open(width, height, title, chart_id)]
    for i, bar in enumerate(bars):
        y = 4 + i * row
        w = max(round(avail * bar.count / peak, 1), 2)
        name = bar.label if len(bar.label) <= 20 else bar.label[:19] + "…"
        label = f"{bar.label}: {plural(bar.count, 'approved unit')}"
        parts.append(
            f'<a href="{escape(bar.href)}" aria-label="{escape(label)}">'
            f"<title>{escape(label)}</title>"
            f'<rect class="hit" x="0" y="{y}" width="{width}" height="{row}"/>'
            f'<text class="tick" x="{label_w - 8}" y="{y + row / 2 + 4}" '
            f'text-anchor="end">{escape(name)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 5}" width="{w}" height="{row - 10}" rx="3"/>'
            f'<text class="value" x="{label_w + w + 6}" y="{y + row / 2 + 4}">{bar.count}</text>'
            "</a>"
        )
    return _close(parts)


def line_chart(dates: Sequence[str], series: Sequence[Series], title: str, chart_id: str) -> Markup:
    """One polyline per series over the days, with gridlines and weekly date ticks."""
    width, height = 720, 240
    left, right, top, bottom = 40, 16, 16, 32
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for s in series for v in s.values), default=0))
    n = max(len(dates), 1)
    step = plot_w / max(n - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: int) -> float:
        return top + plot_h - plot_h * v / peak

    parts = [_svg_open(width, height, title, chart_id)]
    for tick in sorted({0, peak // 2 if peak % 2 == 0 else 0, peak}):
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{left - 8}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    for i, day in enumerate(dates):
        if (n - 1 - i) % 7 == 0:
            # The right margin is narrower than half of some labels: the newest day's (at the
            # edge) ends at its day instead of centring on it.
            anchor = "end" if i == n - 1 else "middle"
            parts.append(
                f'<text class="tick" x="{x(i):.1f}" y="{height - 10}" '
                f'text-anchor="{anchor}">{escape(day[5:])}</text>'
            )
    for s in series:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(f'<polyline class="line series-{s.key}" points="{points}"/>')
        for i, v in enumerate(s.values):
            if v:
                parts.append(
                    f'<circle class="dot series-{s.key}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3">'
                    f"<title>{escape(dates[i])}: {v} {escape(s.label.lower())}</title></circle>"
                )
    return _close(parts)
