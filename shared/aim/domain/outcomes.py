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

CSV_COLUMNS = ("establishment", "from", "to", "wing", "subgroup", "figure", "category", "value")
ALL_WINGS = "all"
LIGHTS = ("red", "amber", "green", "insufficient")
SUBGROUPS = {"age_band": ("18-24", "25-39", "40+", "unknown"), "kiosk_use": ("low", "normal", "unknown")}
SUBGROUP_WORDS = {"age_band": "age", "kiosk_use": "kiosk use"}
CONFOUNDER_KINDS = {
    "routine_drop": "Routine fell across the wing or establishment (a lockdown, a bank holiday)",
    "habits_drop": "Some habits fell across the wing or establishment",
    "kiosk_outage": "Kiosk outage",
    "activities_cancelled": "Activities cancelled by the establishment",
    "visits_cancelled": "Visits cancelled by the establishment",
}
# Marked on the time axis: what changes everyone's routine on a wing or more (lockdowns, bank
# holidays, kiosk outages); smaller ones are listed only.
MARKED_CONFOUNDERS = ("routine_drop", "kiosk_outage")


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


def days_between(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def day_figures(records: list[dict[str, Any]], weeks: list[str]) -> dict[str, Any]:
    """The scorer's day records (``{"day", "lights", "new_amber", "red_line", "confounders"}``, any
    missing) as figures: people in each light per day and people newly amber per week, by wing
    (``ALL_WINGS`` for the establishment), the confounder days, and the red lines in force as periods."""
    lights: dict[str, dict[str, dict[str, int]]] = {}
    ambers: dict[str, dict[str, int]] = {}
    confounders: list[dict[str, Any]] = []
    for r in sorted(records, key=lambda r: str(r["day"])):
        day = str(r["day"])
        if "lights" in r:
            everyone = lights.setdefault(ALL_WINGS, {}).setdefault(day, dict.fromkeys(LIGHTS, 0))
            for wing, counts in r["lights"].items():
                lights.setdefault(wing, {})[day] = {k: int(counts.get(k, 0)) for k in LIGHTS}
                for k in LIGHTS:
                    everyone[k] += int(counts.get(k, 0))
        week = week_start(date.fromisoformat(day)).isoformat()
        for wing, n in (r.get("new_amber") or {}).items():
            for group in (ALL_WINGS, wing):
                by_week = ambers.setdefault(group, dict.fromkeys(weeks, 0))
                by_week[week] = by_week.get(week, 0) + int(n)
        confounders += [{"day": day, **c} for c in r.get("confounders") or []]
    return {
        "lights": lights,
        "amber_weeks": ambers,
        "confounders": confounders,
        "red_lines": red_line_periods(records),
    }


def red_line_periods(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The red line in force as periods of days with the same line (``from``, ``to``, ``value``,
    ``amber``, ``method``, ``basis``), oldest first."""
    periods: list[dict[str, Any]] = []
    for r in sorted((r for r in records if r.get("red_line")), key=lambda r: str(r["day"])):
        line = {k: r["red_line"].get(k) for k in ("value", "amber", "method", "basis")}
        if periods and {k: periods[-1][k] for k in line} == line:
            periods[-1]["to"] = str(r["day"])
        else:
            periods.append({"from": str(r["day"]), "to": str(r["day"]), **line})
    return periods


TIME_FIGURES = (
    "median_minutes_to_acknowledge",
    "p90_minutes_to_acknowledge",
    "median_minutes_to_first_intervention",
    "p90_minutes_to_first_intervention",
    "longest_open_minutes",
)


def _group_rows(group: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(figure, category, value) of one group's alert figures (a wing, everyone or a subgroup)."""
    rows: list[tuple[str, str, Any]] = [("alerts_raised", "", group["alerts_raised"])]
    rows += [("alerts_raised_in_week", week, n) for week, n in group.get("weeks", {}).items()]
    rows += [(name, "", "" if group.get(name) is None else group[name]) for name in TIME_FIGURES]
    rows += [(kind, category, n) for kind in ("status", "outcomes", "useful") for category, n in group[kind].items()]
    if "new_ambers" in group:
        rows.append(("ambers_new", "", group["new_ambers"]))
        rows += [("ambers_new_in_week", week, n) for week, n in group.get("amber_weeks", {}).items()]
    for day, counts in group.get("lights", {}).items():
        rows += [(f"people_{light}", day, counts[light]) for light in LIGHTS]
    return rows


def figures_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The outcome figures as long rows (one number each) for a spreadsheet."""
    head = {"establishment": figures["establishment"], "from": figures["from"], "to": figures["to"]}
    rows: list[dict[str, Any]] = []

    def add(wing: str, subgroup: str, figure: str, category: str, value: Any) -> None:
        rows.append(
            {
                **head,
                "wing": _cell(wing),
                "subgroup": subgroup,
                "figure": figure,
                "category": _cell(category),
                "value": _cell(value) if isinstance(value, str) else value,
            }
        )

    for wing, group in [(ALL_WINGS, figures["total"]), *figures["wings"].items()]:
        for figure, category, value in _group_rows(group):
            add(wing, "", figure, category, value)
    for kind, bands in figures.get("subgroups", {}).items():
        for band, group in bands.items():
            for figure, category, value in _group_rows(group):
                add(ALL_WINGS, f"{SUBGROUP_WORDS.get(kind, kind)} {band}", figure, category, value)
    for c in figures.get("confounders", []):
        add(str(c.get("wing", ALL_WINGS)), "", f"confounder_{c['kind']}", c["day"], c.get("people", 1))
    for p in figures.get("red_lines", []):
        for name in ("value", "amber", "method", "basis"):
            add(ALL_WINGS, "", f"red_line_{name}", f"{p['from']}/{p['to']}", p[name])
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


__all__ = [
    "CONFOUNDER_KINDS",
    "CSV_COLUMNS",
    "LIGHTS",
    "MARKED_CONFOUNDERS",
    "SUBGROUPS",
    "SUBGROUP_WORDS",
    "day_figures",
    "days_between",
    "figures_csv",
    "figures_rows",
    "percentile_90",
    "red_line_periods",
    "week_start",
    "weeks_between",
]
