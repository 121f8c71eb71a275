"""A habit's daily counts against usual as a small inline SVG (no script, no inline style: the
page's Content-Security-Policy allows neither). The page shows the same numbers as a table."""

from __future__ import annotations

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


def weekly_chart(weeks: dict[str, int], words: str) -> Markup:
    """Alerts raised per week as bars, labelled for screen readers; the page has the same table."""
    n = max(1, len(weeks))
    top = max([*weeks.values(), 1])
    step = (WIDTH - 2 * PAD) / n
    scale = (HEIGHT - 2 * PAD) / top
    bars = []
    for i, count in enumerate(weeks.values()):
        h = count * scale
        bars.append(
            f'<rect x="{PAD + i * step + step * 0.15:.1f}" y="{HEIGHT - PAD - h:.1f}" '
            f'width="{step * 0.7:.1f}" height="{h:.1f}" fill="{BAR}"/>'
        )
    first, last = (next(iter(weeks)), list(weeks)[-1]) if weeks else ("", "")
    title = escape(f"{words}: alerts raised per week from the week of {first} to the week of {last}, at most {top}")
    return Markup(
        f'<svg class="aim-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}" '
        f'preserveAspectRatio="none" focusable="false"><title>{title}</title>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#b1b4b6"/>'
        + "".join(bars)
        + "</svg>"
    )
