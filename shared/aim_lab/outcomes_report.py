"""``aim outcomes``: the field report for the safety team and the model's owners.

For each establishment and a date range it writes, under ``--out``:

- ``outcomes-<EST>.json``: the figures the governor's page and ``GET .../outcomes`` show;
- ``outcomes.html``: a self-contained report of the same figures with a weekly chart;
- ``alerts-<EST>.jsonl``: one line per alert with its reasons, status and recorded outcomes, the
  prison number replaced by a keyed pseudonym (HMAC-SHA256) and free-text notes left out.

The pseudonym key comes from ``--key-file`` or ``AIM_PSEUDONYM_KEY``; the same key gives the same
pseudonym for a person across exports, so model reviewers can follow someone without the number.

Figures are read from a deployed stack's tables (``--state-table`` and ``--case-table``, with the
usual AWS credentials and ``AWS_ENDPOINT_URL``), or, without them, from the embedded local AWS seeded
with a few weeks of alerts that demo officers acknowledge and act on.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from pathlib import Path
from typing import Any

from aim.domain.board import AlertRecord
from aim.domain.casework import AlertCase
from aim.domain.outcomes import (
    CONFOUNDER_KINDS,
    LIGHTS,
    MARKED_CONFOUNDERS,
    SUBGROUP_WORDS,
    days_between,
    weeks_between,
)
from aim.service.staff import BoardReader, CaseRepository, outcome_figures
from aim.web.charts import bar_chart, lights_chart, red_line_chart, weekly_chart

KEY_ENV = "AIM_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16


class OutcomesRequestError(Exception):
    """A request the report cannot be made for: bad dates, half a stack's tables."""


class PseudonymKeyError(OutcomesRequestError):
    """No key, or one too short to keep the pseudonyms from being guessed."""


def pseudonym_key(key_file: str | None, environ: dict[str, str] | None = None) -> bytes:
    """The key from ``key_file`` if given, else from ``AIM_PSEUDONYM_KEY``."""
    environ = dict(os.environ) if environ is None else environ
    key = Path(key_file).read_bytes().strip() if key_file else environ.get(KEY_ENV, "").encode()
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"a pseudonym key of at least {MIN_KEY_BYTES} bytes is required: --key-file FILE or {KEY_ENV}"
        )
    return key


def pseudonym(key: bytes, establishment: str, prisoner_id: str) -> str:
    digest = hmac.new(key, f"{establishment}:{prisoner_id}".encode(), hashlib.sha256).hexdigest()
    return "p-" + digest[:20]


@dataclass(frozen=True)
class FieldReport:
    figures: dict[str, Any]
    alerts: list[dict[str, Any]]  # pseudonymised


def _scrub(value: Any, prisoner_id: str, alias: str) -> Any:
    """``value`` with any copy of the prison number (say, inside a reason's text) replaced."""
    if isinstance(value, str):
        return value.replace(prisoner_id, alias)
    if isinstance(value, list):
        return [_scrub(v, prisoner_id, alias) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, prisoner_id, alias) for k, v in value.items()}
    return value


def export_row(record: AlertRecord, case: AlertCase | None, key: bytes) -> dict[str, Any]:
    """One alert for model review: what AIM saw and what staff recorded, without the person's number
    or the free-text notes (which may name people)."""
    alias = pseudonym(key, record.establishment, record.prisoner_id)
    m = record.message
    row = {
        "person": alias,
        "establishment": record.establishment,
        "wing": record.wing,
        "raised_at": record.raised_at,
        "judged_day": m.get("judged_day"),
        "kind": m.get("kind"),
        "score": m.get("score"),
        "red_threshold": m.get("red_threshold"),
        "reasons": m.get("reasons", []),
        "static_factors": m.get("static_factors", {}),
        "status": case.status if case else "open",
        "acknowledged_at": case.acknowledged_at.isoformat() if case and case.acknowledged_at else None,
        "closed_at": case.closed_at.isoformat() if case and case.closed_at else None,
        "interventions": [
            i.model_dump(mode="json", include={"action", "engaged", "outcome", "useful", "recorded_at", "next_review"})
            for i in (case.interventions if case else ())
        ],
    }
    return dict(_scrub(row, record.prisoner_id, alias))


def field_report(
    reader: BoardReader, cases: CaseRepository, establishment: str, start: date, end: date, now: datetime, key: bytes
) -> FieldReport:
    lo = datetime.combine(start, time(0), tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC)
    records = reader.alerts_raised(establishment, lo, hi)
    found = cases.get_many(establishment, [r.alert_id for r in records]) if records else {}
    days = reader.day_records(establishment, start, end)
    figures = {
        "establishment": establishment,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": days_between(start, end),
        **outcome_figures(records, found, weeks_between(start, end), now, days),
    }
    return FieldReport(figures, [export_row(r, found.get(r.alert_id), key) for r in records])


# --- writing ------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    return "None" if value is None else escape(str(value))


def _table(caption: str, head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "".join(
        "<tr><th scope='row'>" + _cell(r[0]) + "</th>" + "".join(f"<td>{_cell(v)}</td>" for v in r[1:]) + "</tr>"
        for r in rows
    )
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


TIMES = (
    "median_minutes_to_acknowledge",
    "p90_minutes_to_acknowledge",
    "median_minutes_to_first_intervention",
    "p90_minutes_to_first_intervention",
    "longest_open_minutes",
)


def establishment_section(figures: dict[str, Any]) -> str:
    groups = [("All wings", figures["total"]), *((f"Wing {w}", g) for w, g in figures["wings"].items())]
    weekly = _table(
        "Alerts raised per week (by the Monday it starts)",
        ["Week of", *(name for name, _ in groups)],
        [[week, *(g["weeks"][week] for _, g in groups)] for week in figures["weeks"]],
    )
    times = _table("Minutes to act", ["Wing", *TIMES], [[n, *(g[k] for k in TIMES)] for n, g in groups])
    outcome_keys = sorted({k for _, g in groups for k in g["outcomes"]})
    outcomes = _table(
        "Status, outcomes of interventions and whether the alert was worth raising",
        ["Wing", "open", "acknowledged", "closed", *outcome_keys, "useful: yes", "useful: no", "useful: unsure"],
        [
            [n, *g["status"].values(), *(g["outcomes"].get(k, 0) for k in outcome_keys), *g["useful"].values()]
            for n, g in groups
        ],
    )
    est = escape(figures["establishment"])
    return (
        f"<h2>{est}: {figures['total']['alerts_raised']} alerts from {figures['from']} to {figures['to']}</h2>"
        + str(weekly_chart(figures["total"]["weeks"], f"{est}, all wings"))
        + weekly
        + times
        + outcomes
        + day_sections(figures, groups)
        + subgroup_section(figures)
    )


def day_sections(figures: dict[str, Any], groups: list[tuple[str, dict[str, Any]]]) -> str:
    """New ambers per week, people in each light per day (confounder days marked), the confounders
    and the red lines in force."""
    total = figures["total"]
    marked = {c["day"] for c in figures.get("confounders", []) if c["kind"] in MARKED_CONFOUNDERS}
    ambers = _table(
        "People newly amber per week (by the Monday it starts)",
        ["Week of", *(name for name, _ in groups)],
        [[week, *(g["amber_weeks"][week] for _, g in groups)] for week in figures["weeks"]],
    )
    lights = _table(
        "People in each light per day, all wings (marked: routines changed for many at once)",
        ["Day", *LIGHTS, "marked"],
        [[d, *(total["lights"][d][k] for k in LIGHTS), "yes" if d in marked else ""] for d in total["lights"]],
    )
    confounders = _table(
        "Days when routines changed for many people at once",
        ["Day", "Wing", "What", "Detail"],
        [
            [c["day"], c["wing"], CONFOUNDER_KINDS.get(c["kind"], c["kind"]), c.get("people") or c.get("detail", "")]
            for c in figures.get("confounders", [])
        ],
    )
    lines = _table(
        "Red lines in force and how they were set",
        ["From", "To", "Red", "Amber", "Method", "Basis"],
        [[p["from"], p["to"], p["value"], p["amber"], p["method"], p["basis"]] for p in figures.get("red_lines", [])],
    )
    return (
        "<h3>Ambers</h3>"
        + str(weekly_chart(total["amber_weeks"], "All wings", "people newly amber"))
        + ambers
        + "<h3>People in each light</h3>"
        + str(lights_chart(figures.get("days", []), total["lights"], marked, "All wings"))
        + lights
        + confounders
        + "<h3>Red lines</h3>"
        + str(red_line_chart(figures.get("days", []), figures.get("red_lines", [])))
        + lines
    )


def subgroup_section(figures: dict[str, Any]) -> str:
    """Alerts, status and usefulness by the fairness subgroups (counts only)."""
    groups = [
        (f"{SUBGROUP_WORDS.get(kind, kind)} {band}", g)
        for kind, bands in figures.get("subgroups", {}).items()
        for band, g in bands.items()
    ]
    table = _table(
        "Alerts by age band and kiosk use",
        ["Group", "alerts", "open", "acknowledged", "closed", "useful: yes", "useful: no", "useful: unsure"],
        [[n, g["alerts_raised"], *g["status"].values(), *g["useful"].values()] for n, g in groups],
    )
    chart = bar_chart({n: g["alerts_raised"] for n, g in groups}, "Red alerts raised by subgroup")
    return "<h3>By age band and kiosk use</h3>" + str(chart) + table


def report_html(reports: list[FieldReport], start: date, end: date) -> str:
    style = (
        "body{font-family:Arial,sans-serif;margin:2em;color:#0b0c0c}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border-bottom:1px solid #b1b4b6;padding:.3em .6em;text-align:right}caption{text-align:left;"
        "font-weight:bold}svg{width:100%;max-width:640px;height:120px}"
    )
    sections = "".join(establishment_section(r.figures) for r in reports)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AIM outcomes '
        f"{start} to {end}</title><style>{style}</style></head><body><h1>How AIM is doing in the field</h1>"
        "<p>Alerts raised, time to act on them, and what staff recorded. Times are in minutes; p90 is the "
        "90th percentile; longest open is the longest an alert not yet acknowledged has waited.</p>"
        f"{sections}</body></html>"
    )


def write_reports(reports: list[FieldReport], out: Path, start: date, end: date) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for r in reports:
        est = r.figures["establishment"]
        figures_path = out / f"outcomes-{est}.json"
        figures_path.write_text(json.dumps(r.figures, indent=2) + "\n", encoding="utf-8")
        export_path = out / f"alerts-{est}.jsonl"
        export_path.write_text("".join(json.dumps(a, sort_keys=True) + "\n" for a in r.alerts), encoding="utf-8")
        written += [figures_path, export_path]
    html_path = out / "outcomes.html"
    html_path.write_text(report_html(reports, start, end), encoding="utf-8")
    return [*written, html_path]


# --- where the figures come from ----------------------------------------------------------------
OUTCOME_CHOICES = ("no_concern", "support_given", "support_given", "acct_opened", "escalated", "not_seen")
USEFUL_CHOICES = ("yes", "yes", "no", "unsure")
ACTION_CHOICES = ("welfare_check", "conversation", "key_worker", "healthcare_referral")
DEMO_CONFOUNDERS = (
    {"kind": "routine_drop", "wing": "all", "detail": "visits, phone, purposeful, selfcare"},
    {"kind": "routine_drop", "wing": "B", "detail": "phone, purposeful, selfcare"},
    {"kind": "kiosk_outage", "wing": "C", "detail": "K-C1"},
    {"kind": "activities_cancelled", "wing": "A", "people": 12},
)


def work_alerts(service: Any, records: list[AlertRecord], moment: list[datetime], rng: random.Random) -> None:
    """Demo officers act on most alerts: acknowledge within two hours, record an intervention within
    a shift, close about half; a few stay open."""
    from aim.domain.access import Principal
    from aim.domain.casework import InterventionInput

    for r in records:
        who = Principal(f"{r.establishment.lower()}-officer", {r.establishment: "officer"})
        raised = datetime.fromisoformat(r.raised_at)
        if rng.random() < 0.15:
            continue
        moment[0] = raised + timedelta(minutes=rng.randint(3, 120))
        service.acknowledge(who, r.alert_id, "127.0.0.1")
        if rng.random() < 0.2:
            continue
        moment[0] += timedelta(minutes=rng.randint(10, 360))
        entry = InterventionInput(
            action=rng.choice(ACTION_CHOICES),  # type: ignore[arg-type]
            engaged=rng.random() < 0.8,
            outcome=rng.choice(OUTCOME_CHOICES),  # type: ignore[arg-type]
            useful=rng.choice(USEFUL_CHOICES),  # type: ignore[arg-type]
            note=f"Seen on the wing about {r.prisoner_id}",  # a note naming the person: never exported
        )
        service.record_intervention(who, r.alert_id, entry, "127.0.0.1")
        if rng.random() < 0.5:
            moment[0] += timedelta(minutes=rng.randint(30, 600))
            service.close(who, r.alert_id, "127.0.0.1")


def local_demo_reports(
    establishments: list[str], start: date, end: date, key: bytes, seed: int = 7
) -> list[FieldReport]:
    """The embedded local AWS, seeded with a red or several each week of the range, worked by demo officers."""
    from aim.adapters.audit_table import DynamoAuditLog
    from aim.adapters.board_state import StateTableBoardReader
    from aim.adapters.case_table import DynamoCaseRepository
    from aim.config import load_config
    from aim.service.scoring_run import horizon
    from aim.service.staff import StaffService
    from aim_local.board_seed import seed_establishment
    from aim_local.serve import STAFF_TABLES
    from aim_local.stack import create_table, local_aws

    config = load_config().with_establishments(establishments)
    rng = random.Random(seed)
    now = datetime.combine(end + timedelta(days=1), time(12), tzinfo=UTC)
    with local_aws(config) as local:
        ddb, table = local.clients["dynamodb"], local.resources["state_table"]
        for name in STAFF_TABLES.values():
            create_table(ddb, name)
        reader = StateTableBoardReader(table, horizon(config), client=ddb)
        audit = DynamoAuditLog(STAFF_TABLES["audit"], 2555, client=ddb)
        cases = DynamoCaseRepository(STAFF_TABLES["case"], client=ddb, audit_log=audit)
        moment = [now]
        service = StaffService(reader, cases, audit, clock=lambda: moment[0])
        lo, hi = datetime.combine(start, time(0), tzinfo=UTC), now
        for n, est in enumerate(establishments):
            judged = end - timedelta(days=1)
            while judged >= start - timedelta(days=1):
                reds = rng.randint(1, 5)
                confounders = [rng.choice(DEMO_CONFOUNDERS)] if rng.random() < 0.3 else []
                seed_establishment(
                    ddb, table, est, config, 20, reds=reds, judged=judged, seed=seed + n, confounders=confounders
                )
                judged -= timedelta(days=rng.randint(3, 7))
            work_alerts(service, reader.alerts_raised(est, lo, hi), moment, rng)
        return [field_report(reader, cases, est, start, end, now, key) for est in establishments]


def deployed_reports(args: argparse.Namespace, start: date, end: date, key: bytes) -> list[FieldReport]:
    """A deployed stack's tables, read with the usual AWS credentials (or ``AWS_ENDPOINT_URL``)."""
    from aim.adapters.board_state import StateTableBoardReader
    from aim.adapters.case_table import DynamoCaseRepository
    from aim.config import load_config
    from aim.service.scoring_run import horizon

    config = load_config(args.config) if args.config else load_config()
    reader = StateTableBoardReader(args.state_table, horizon(config))
    cases = DynamoCaseRepository(args.case_table)
    establishments = [args.est] if args.est else list(config.establishments)
    now = datetime.now(UTC)
    return [field_report(reader, cases, est, start, end, now, key) for est in establishments]


def run_outcomes(args: argparse.Namespace) -> int:
    start, end = args.date_from, args.date_to
    if end < start:
        raise OutcomesRequestError("--from must be on or before --to")
    key = pseudonym_key(args.key_file)
    if bool(args.state_table) != bool(args.case_table):
        raise OutcomesRequestError(
            "give both --state-table and --case-table (a deployed stack), or neither (local demo)"
        )
    if args.state_table:
        reports = deployed_reports(args, start, end, key)
    else:
        print("Seeding the embedded local AWS with demo alerts and officers' outcomes...")
        reports = local_demo_reports([args.est or "LEI"], start, end, key)
    for path in write_reports(reports, Path(args.out), start, end):
        print(f"wrote {path}")
    return 0


__all__ = [
    "FieldReport",
    "OutcomesRequestError",
    "PseudonymKeyError",
    "export_row",
    "field_report",
    "pseudonym",
    "pseudonym_key",
    "report_html",
    "run_outcomes",
    "write_reports",
]
