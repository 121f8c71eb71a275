"""A habit's daily counts against usual as a small inline SVG (no script, no inline style: the
page's Content-Security-Policy allows neither). The page shows the same numbers as a table."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from aim.domain.board import HabitSeries

WIDTH, HEIGHT, PAD = 420, 96, 4
BAR = "#1d70b8"  # GOV.UK blue
USUAL = "#d4351c"  # GOV.UK red: the usual line must stand out from the bars


def habit_chart(series: HabitSeries) -> Markup:
    n = max(1, len(series.counts))
    top = max([*series.counts, *(u for u in series.usual if u is not None), 1])
    step = (WIDTH - 2 * PAD) / n
    scale = (HEIGHT - 2 * PAD) / top
    bars = []
    for i, count in enumerate(series.counts):
        h = count * scale
        x = PAD + i * step
        bars.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{BAR}"/>'
        )
    points = [
        f"{PAD + (i + 0.5) * step:.1f},{HEIGHT - PAD - u * scale:.1f}"
        for i, u in enumerate(series.usual)
        if u is not None
    ]
    line = f'<polyline points="{" ".join(points)}" fill="none" stroke="{USUAL}" stroke-width="2.5"/>' if points else ""
    first, last = (series.days[0], series.days[-1]) if series.days else ("", "")
    title = escape(f"{series.words.capitalize()}: daily counts from {first} to {last} (bars) against usual (line)")
    return Markup(
        f'<svg class="aim-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}" '
        f'preserveAspectRatio="none" focusable="false"><title>{title}</title>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#b1b4b6"/>'
        + "".join(bars)
        + line
        + "</svg>"
    )


def _svg(title: str, body: str, height: int = HEIGHT) -> Markup:
    label = escape(title)
    return Markup(
        f'<svg class="aim-chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{label}" '
        f'preserveAspectRatio="none" focusable="false"><title>{label}</title>'
        f'<line x1="{PAD}" y1="{height - PAD}" x2="{WIDTH - PAD}" y2="{height - PAD}" stroke="#b1b4b6"/>'
        + body
        + "</svg>"
    )


def _bars(values: list[int | float]) -> str:
    n = max(1, len(values))
    top = max([*values, 1])
    step = (WIDTH - 2 * PAD) / n
    scale = (HEIGHT - 2 * PAD) / top
    return "".join(
        f'<rect x="{PAD + i * step + step * 0.15:.1f}" y="{HEIGHT - PAD - v * scale:.1f}" '
        f'width="{step * 0.7:.1f}" height="{v * scale:.1f}" fill="{BAR}"/>'
        for i, v in enumerate(values)
    )


def weekly_chart(weeks: dict[str, int], words: str, what: str = "alerts raised") -> Markup:
    """A count per week as bars, labelled for screen readers; the page has the same table."""
    top = max([*weeks.values(), 1])
    first, last = (next(iter(weeks)), list(weeks)[-1]) if weeks else ("", "")
    title = f"{words}: {what} per week from the week of {first} to the week of {last}, at most {top}"
    return _svg(title, _bars(list(weeks.values())))


ROW, LABEL = 22, 130  # a labelled bar's height and the room for its label


def bar_chart(values: dict[str, int], title: str) -> Markup:
    """One labelled horizontal bar per named group, in order, drawn to scale (not stretched); the
    page has the same table."""
    label = escape(f"{title}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    top = max([*values.values(), 1])
    scale = (WIDTH - LABEL - 40) / top
    rows = []
    for i, (name, n) in enumerate(values.items()):
        y = PAD + i * ROW
        rows.append(
            f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end" font-size="13" fill="#0b0c0c">{escape(name)}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{n * scale:.1f}" height="{ROW - 6}" fill="{BAR}"/>'
            f'<text x="{LABEL + n * scale + 5:.1f}" y="{y + 15}" font-size="13" fill="#0b0c0c">{n}</text>'
        )
    height = 2 * PAD + ROW * len(values)
    return Markup(
        f'<svg class="aim-chart aim-chart--rows" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{label}" '
        f'focusable="false"><title>{label}</title>' + "".join(rows) + "</svg>"
    )


LIGHT_FILLS = {"red": "#d4351c", "amber": "#f47738", "insufficient": "#b1b4b6", "green": "#00703c"}
MARK = "#0b0c0c"
MARK_ROOM = 10  # below the bars: a confounder day's mark


def lights_chart(days: list[str], lights: dict[str, dict[str, int]], marked: set[str], words: str) -> Markup:
    """People in each light per day as stacked bars (red at the bottom), with a black mark under
    each day something changed many people's routine at once; the page has the same tables."""
    height = HEIGHT + MARK_ROOM
    n = max(1, len(days))
    top = max([sum(c.values()) for c in lights.values()] + [1])
    step = (WIDTH - 2 * PAD) / n
    scale = (HEIGHT - 2 * PAD) / top
    parts = []
    for i, day in enumerate(days):
        x, y = PAD + i * step + step * 0.1, float(HEIGHT - PAD)
        for light, fill in LIGHT_FILLS.items():
            h = lights.get(day, {}).get(light, 0) * scale
            if h > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y - h:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}" fill="{fill}"/>'
                )
                y -= h
        if day in marked:
            parts.append(
                f'<rect x="{x:.1f}" y="{HEIGHT:.1f}" width="{step * 0.8:.1f}" height="{MARK_ROOM - 2}" fill="{MARK}"/>'
            )
    first, last = (days[0], days[-1]) if days else ("", "")
    title = (
        f"{words}: people in each light (red, amber, too little data, green) per day from {first} to {last}, "
        f"at most {top}; {len(marked)} days marked below the axis when routines changed for many at once"
    )
    return _svg(title, "".join(parts), height)


def red_line_chart(days: list[str], periods: list[dict[str, Any]]) -> Markup:
    """The red line (red) and amber line (orange) in force per day; the page has the same table."""
    values: dict[str, tuple[float, float]] = {}
    for p in periods:
        for day in days:
            if p["from"] <= day <= p["to"]:
                values[day] = (float(p["value"]), float(p["amber"]))
    top = max([v[0] for v in values.values()] + [1.0]) * 1.1
    step = (WIDTH - 2 * PAD) / max(1, len(days))
    lines = []
    for k, colour in ((0, LIGHT_FILLS["red"]), (1, LIGHT_FILLS["amber"])):
        points = " ".join(
            f"{PAD + (i + 0.5) * step:.1f},{HEIGHT - PAD - values[d][k] * (HEIGHT - 2 * PAD) / top:.1f}"
            for i, d in enumerate(days)
            if d in values
        )
        if points:
            lines.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
    first, last = (days[0], days[-1]) if days else ("", "")
    title = f"The red line (red) and amber line (orange) in force each day from {first} to {last}"
    return _svg(title, "".join(lines))
