"""How AIM is doing in the field, as figures: alerts raised per week, times to act, outcomes.

Pure: alerts and their cases in, numbers out. Times are in minutes. The 90th percentile is the
linear interpolation between closest ranks (``statistics.quantiles(..., method="inclusive")``),
so for one value it is that value and for 1..10 minutes it is 9.1.
"""

from __future__ import annotations

import csv
import io
import statistics
from datetime import date, datetime, timedelta
from typing import Any

CSV_COLUMNS = ("establishment", "from", "to", "wing", "figure", "category", "value")
ALL_WINGS = "all"


def percentile_90(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=10, method="inclusive")[-1], 1)


def week_start(moment: str | datetime | date) -> date:
    """The Monday of the week ``moment`` falls in (UTC day)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def weeks_between(start: date, end: date) -> list[str]:
    """Every week (by its Monday) that overlaps ``start``..``end``."""
    weeks, monday = [], week_start(start)
    while monday <= end:
        weeks.append(monday.isoformat())
        monday += timedelta(days=7)
    return weeks


def figures_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The outcome figures as long rows (one number each) for a spreadsheet."""
    head = {"establishment": figures["establishment"], "from": figures["from"], "to": figures["to"]}
    groups = [(ALL_WINGS, figures["total"]), *figures["wings"].items()]
    rows: list[dict[str, Any]] = []

    def add(wing: str, figure: str, category: str, value: Any) -> None:
        rows.append({**head, "wing": _cell(wing), "figure": figure, "category": _cell(category), "value": value})

    for wing, group in groups:
        add(wing, "alerts_raised", "", group["alerts_raised"])
        for week, n in group.get("weeks", {}).items():
            add(wing, "alerts_raised_in_week", week, n)
        for name in (
            "median_minutes_to_acknowledge",
            "p90_minutes_to_acknowledge",
            "median_minutes_to_first_intervention",
            "p90_minutes_to_first_intervention",
            "longest_open_minutes",
        ):
            value = group.get(name)
            add(wing, name, "", "" if value is None else value)
        for kind in ("status", "outcomes", "useful"):
            for category, n in group[kind].items():
                add(wing, kind, category, n)
    return rows


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def figures_csv(figures: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(figures_rows(figures))
    return out.getvalue()


__all__ = ["CSV_COLUMNS", "figures_csv", "figures_rows", "percentile_90", "week_start", "weeks_between"]
