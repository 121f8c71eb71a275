"""Self-contained HTML reports: what an officer or governor opens after a replay, demo or evaluate.

Figures are drawn with matplotlib (Agg backend, imported lazily so the Lambda code never
needs it) and embedded as base64 PNG, so the file can be mailed or opened offline. Titles
and captions carry no health detail; prison numbers appear only as data (table cells and
the label of a prisoner's own chart), never in headings.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aim.config import AimConfig

History = Mapping[str, Sequence[tuple[datetime, float, float]]]  # prisoner -> (tick, score, red_at)

LIGHT_COLOURS = {
    "red": "#c0392b",
    "amber": "#e69f00",
    "green": "#2e8b57",
    "insufficient": "#9e9e9e",
    "released": "#d0d0d0",
    "transferred": "#d0d0d0",
}
BOARD_LIGHTS = ("red", "amber", "green", "insufficient")
MAX_PRISONER_CHARTS = 40

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em} td,th{border:1px solid #ccc;padding:.25em .5em;
vertical-align:top;text-align:left} th{background:#f3f3f3} .num{text-align:right}
.red{color:#c0392b;font-weight:600} .amber{color:#b87800;font-weight:600} .caption{color:#555;font-size:.88em}
.met{color:#2e8b57;font-weight:600} .notmet{color:#c0392b;font-weight:600} img{max-width:100%}
"""


# --------------------------------------------------------------------------- helpers


def _figure_png(fig: Any) -> str:
    """Render a matplotlib figure to an <img> tag with an embedded base64 PNG, and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: list[str]) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_esc(title)}</h1><p class='caption'>Generated {stamp} by AIM.</p>" + "\n".join(body) + "</body></html>\n"
    )


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _load_alerts(alerts: Sequence[Mapping[str, Any]] | None, alerts_path: Path | None) -> list[dict[str, Any]]:
    out = [dict(a) for a in alerts or []]
    if alerts_path is not None and Path(alerts_path).exists():
        for line in Path(alerts_path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


# --------------------------------------------------------------------------- replay report


def _board_chart(board: Sequence[Mapping[str, Any]]) -> str:
    plt = _pyplot()
    by_wing: dict[str, Counter[str]] = defaultdict(Counter)
    for row in board:
        if row.get("in_custody", True):
            by_wing[str(row.get("wing") or "?")][str(row.get("light"))] += 1
    wings = sorted(by_wing)
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * max(1, len(wings))))
    left = [0] * len(wings)
    for light in BOARD_LIGHTS:
        values = [by_wing[w][light] for w in wings]
        ax.barh(wings, values, left=left, color=LIGHT_COLOURS[light], label=light)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("prisoners in custody")
    ax.set_ylabel("wing")
    ax.set_title("Traffic lights by wing")
    ax.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    return _figure_png(fig)


def _board_tables(board: Sequence[Mapping[str, Any]]) -> list[str]:
    by_wing: dict[str, Counter[str]] = defaultdict(Counter)
    for row in board:
        by_wing[str(row.get("wing") or "?")][str(row.get("light"))] += 1
    out = [
        "<table><tr><th>wing</th><th>red</th><th>amber</th><th>green</th><th>insufficient data</th><th>left</th></tr>"
    ]
    for wing in sorted(by_wing):
        c = by_wing[wing]
        out.append(
            f"<tr><td>{_esc(wing)}</td><td class='num red'>{c['red']}</td><td class='num amber'>{c['amber']}</td>"
            f"<td class='num'>{c['green']}</td><td class='num'>{c['insufficient']}</td>"
            f"<td class='num'>{c['released'] + c['transferred']}</td></tr>"
        )
    out.append("</table>")
    flagged = [r for r in board if r.get("light") in ("red", "amber")]
    flagged.sort(key=lambda r: (r.get("light") != "red", str(r.get("wing")), -float(r.get("score") or 0)))
    if not flagged:
        out.append("<p>No prisoner is red or amber.</p>")
        return out
    out.append(
        "<table><tr><th>light</th><th>wing</th><th>prisoner</th><th>location</th><th>score / red at</th>"
        "<th>what changed</th><th>static factors applied</th><th>since</th></tr>"
    )
    for r in flagged:
        reasons = "<br>".join(_esc(x.get("text")) for x in r.get("reasons") or [])
        score, red_at = r.get("score"), r.get("red_at")
        scored = f"{float(score or 0):.1f} / {float(red_at):.1f}" if red_at is not None else f"{float(score or 0):.1f}"
        out.append(
            f"<tr><td class='{_esc(r.get('light'))}'>{_esc(r.get('light'))}</td><td>{_esc(r.get('wing'))}</td>"
            f"<td>{_esc(r.get('prisoner_id'))}</td><td>{_esc(r.get('location'))}</td><td class='num'>{scored}</td>"
            f"<td>{reasons}</td><td>{_esc(', '.join(r.get('static_factors') or []))}</td>"
            f"<td>{_esc(str(r.get('light_since') or '')[:16])}</td></tr>"
        )
    out.append("</table>")
    return out


def _reason_chart(alert: Mapping[str, Any]) -> str | None:
    """Observed against expected for the factors that moved, in the alert's evidence window."""
    reasons = [r for r in alert.get("reasons") or [] if "observed" in r and "expected" in r]
    if not reasons:
        return None
    plt = _pyplot()
    labels = [f"{r.get('signal', r.get('factor'))} ({r.get('window_days', '?')} d)" for r in reasons]
    fig, ax = plt.subplots(figsize=(5.2, 0.6 + 0.42 * len(reasons)))
    y = list(range(len(reasons)))
    ax.barh([v + 0.2 for v in y], [float(r["expected"]) for r in reasons], 0.4, color="#9ecae1", label="expected")
    ax.barh([v - 0.2 for v in y], [float(r["observed"]) for r in reasons], 0.4, color="#c0392b", label="observed")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("records in the window")
    ax.set_title("What changed: observed vs expected")
    ax.legend(loc="lower right", fontsize=8)
    return _figure_png(fig)


def _trajectory_chart(
    points: Sequence[tuple[datetime, float, float]], alert_times: Sequence[datetime], red: float, amber_ratio: float
) -> str:
    plt = _pyplot()
    pts = sorted(points, key=lambda p: p[0])
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ticks = [p[0] for p in pts]
    ax.plot(ticks, [p[1] for p in pts], color="#333", lw=1.2, label="score")
    ax.step(ticks, [p[2] for p in pts], where="post", color="#c0392b", lw=1, ls="--", label="red threshold")
    amber = [p[2] * amber_ratio for p in pts]
    ax.step(ticks, amber, where="post", color="#e69f00", lw=0.8, ls=":", label="amber threshold")
    ax.fill_between(ticks, 0, amber, color="#2e8b57", alpha=0.08, step="post", label="expected band (green)")
    for i, moment in enumerate(alert_times):
        ax.axvline(moment, color="#c0392b", lw=1.5, alpha=0.7, label="red alert raised" if i == 0 else None)
    ax.set_ylabel("score")
    ax.set_title("Routine-change score over time against this person's thresholds")
    ax.set_ylim(bottom=0, top=max([red * 1.2] + [p[1] * 1.1 for p in pts]))
    ax.legend(fontsize=7, loc="upper left", ncol=5)
    fig.autofmt_xdate()
    return _figure_png(fig)


def write_replay_report(
    path: Path,
    summary: Any,
    *,
    alerts: Sequence[Mapping[str, Any]] | None = None,
    alerts_path: Path | None = None,
    config: AimConfig,
    history: History | None = None,
) -> Path:
    """Board by wing, then each red alert: what changed and, with ``history``, the score over time.

    ``summary`` is an ``aim_local.replay.ReplaySummary`` (only ``board`` and ``lines()`` are
    used). ``history`` maps a prisoner to (scoring time, score, red threshold) points, e.g.
    collected with ``replay(..., observe=...)``; without it the report shows, for each alert,
    observed against expected in the alert's evidence window only."""
    board: list[dict[str, Any]] = list(getattr(summary, "board", []) or [])
    all_alerts = [a for a in _load_alerts(alerts, alerts_path) if a.get("level") == "red"]
    red = config.thresholds.red
    body: list[str] = []
    lines = summary.lines() if hasattr(summary, "lines") else []
    if lines:
        body.append("<p class='caption'>" + "<br>".join(_esc(x) for x in lines) + "</p>")
    body.append("<h2>Traffic-light board by wing</h2>")
    if board:
        body.append(_board_chart(board))
        body.extend(_board_tables(board))
    else:
        body.append("<p>No prisoners on the board.</p>")

    body.append("<h2>Red alerts</h2>")
    body.append(
        "<p class='caption'>A score measures how far a person's recent routine (1-7 days) has moved from "
        "their own expected level, aware of day of week; days with a kiosk outage, a wing- or "
        "establishment-wide drop or an establishment cancellation are left out. The red threshold is "
        f"{red:g}, lowered for a person by static factors (never below half). A red alert is a prompt to "
        "check on someone in person, not a finding about them.</p>"
    )
    if not all_alerts:
        body.append("<p>No red alerts.</p>")
    by_prisoner: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in all_alerts:
        by_prisoner[str(a.get("prisoner_id"))].append(a)
    order = sorted(by_prisoner, key=lambda p: min(str(a.get("raised_at")) for a in by_prisoner[p]))
    if len(order) > MAX_PRISONER_CHARTS:
        body.append(
            f"<p class='caption'>{len(order)} prisoners had red alerts; charts are shown for the first "
            f"{MAX_PRISONER_CHARTS} by time of first alert, all are listed in the table.</p>"
        )
        body.append(_alert_table(all_alerts))
    for pid in order[:MAX_PRISONER_CHARTS]:
        mine = sorted(by_prisoner[pid], key=lambda a: str(a.get("raised_at")))
        latest = mine[-1]
        body.append(f"<h3>Alert {_esc(latest.get('alert_id', ''))}</h3>")
        body.append(
            "<p>prisoner "
            + _esc(pid)
            + ", "
            + _esc(latest.get("location") or "")
            + "; raised "
            + ", ".join(_esc(str(a.get("raised_at"))[:16]) + f" ({_esc(a.get('kind', 'new'))})" for a in mine)
            + "</p>"
        )
        reasons = latest.get("reasons") or []
        if reasons:
            body.append("<ul>" + "".join(f"<li>{_esc(r.get('text'))}</li>" for r in reasons) + "</ul>")
        if latest.get("static_factors"):
            body.append(
                f"<p>Static factors that lowered the thresholds: {_esc(', '.join(latest['static_factors']))}</p>"
            )
        chart = _reason_chart(latest)
        if chart:
            body.append(chart)
        points = (history or {}).get(pid)
        if points:
            times = [t for t in (_parse_time(a.get("raised_at")) for a in mine) if t is not None]
            body.append(_trajectory_chart(points, times, red, config.thresholds.amber / red))
            body.append(
                "<p class='caption'>Score after each scoring run that re-scored, against this person's amber and "
                "red thresholds (after static factors); vertical lines mark red alerts. The shaded band is where "
                "the routine is as expected (green). The score summarises how far the factors moved from this "
                "person's own expected levels over the last 1-7 days; it is not a probability of harm. "
                "Per-factor daily counts are not kept by the report.</p>"
            )
        else:
            body.append(
                "<p class='caption'>Day-by-day score history was not recorded for this run; the chart shows "
                "observed against expected only over the alert's evidence window.</p>"
            )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page("AIM replay report", body), encoding="utf-8")
    return path


def _alert_table(alerts: Sequence[Mapping[str, Any]]) -> str:
    rows = ["<table><tr><th>raised</th><th>prisoner</th><th>kind</th><th>score / red at</th><th>what changed</th></tr>"]
    for a in sorted(alerts, key=lambda x: str(x.get("raised_at"))):
        first = (a.get("reasons") or [{}])[0].get("text", "")
        rows.append(
            f"<tr><td>{_esc(str(a.get('raised_at'))[:16])}</td><td>{_esc(a.get('prisoner_id'))}</td>"
            f"<td>{_esc(a.get('kind', 'new'))}</td><td class='num'>{_esc(a.get('score'))} / "
            f"{_esc(a.get('red_threshold'))}</td><td>{_esc(first)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


# --------------------------------------------------------------------------- evaluate report


def _tradeoff_chart(sweep: Sequence[Mapping[str, Any]], current: float | None) -> str:
    plt = _pyplot()
    pts = [p for p in sweep if p.get("recall_72h") is not None and p.get("false_reds_per_1000") is not None]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    xs = [float(p["false_reds_per_1000"]) for p in pts]
    ys = [float(p["recall_72h"]) for p in pts]
    ax.plot(xs, ys, marker="o", ms=3, color="#2c7fb8", lw=1.2, label="red threshold sweep")
    for p, x, y in zip(pts, xs, ys, strict=True):
        if float(p["threshold"]) % 1 == 0:
            ax.annotate(f"{float(p['threshold']):g}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    if current is not None:
        here = [(x, y) for p, x, y in zip(pts, xs, ys, strict=True) if abs(float(p["threshold"]) - current) < 1e-9]
        if here:
            ax.plot(*here[0], marker="*", ms=14, color="#c0392b", ls="none", label=f"configured red = {current:g}")
    ax.axhline(0.9, color="#2e8b57", ls=":", lw=1, label="target recall@72h 0.90")
    ax.axvline(1.0, color="#e69f00", ls=":", lw=1, label="target 1 false red / 1,000 days")
    ax.set_xlabel("false red alerts per 1,000 prisoner-days in custody (linear to 1, then log)")
    ax.set_ylabel("recall within 72 h of onset")
    ax.set_ylim(0, 1.02)
    ax.set_xscale("symlog", linthresh=1.0)  # keeps the region around the 1-per-1,000 target readable
    ax.set_xlim(left=0)
    ax.set_title("Trade-off: recall against false reds, by red threshold")
    ax.legend(fontsize=8, loc="lower right")
    return _figure_png(fig)


def _subgroup_chart(subgroups: Sequence[Mapping[str, Any]]) -> str:
    plt = _pyplot()
    labels = [f"{s['group']}\n{s['band']}" for s in subgroups]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, title in (
        (axes[0], "recall_ratio", "Recall@72h, ratio to overall"),
        (axes[1], "false_red_ratio", "False reds per 1,000 days, ratio to overall"),
    ):
        values = [s.get(key) for s in subgroups]
        shown = [float(v) if v is not None else 0.0 for v in values]
        colours = ["#9e9e9e" if v is None else ("#2e8b57" if 0.8 <= float(v) <= 1.25 else "#c0392b") for v in values]
        ax.bar(range(len(labels)), shown, color=colours)
        ax.axhspan(0.8, 1.25, color="#2e8b57", alpha=0.1)
        ax.axhline(1.0, color="#333", lw=0.8)
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        for i, v in enumerate(values):
            ax.text(i, shown[i] + 0.02, "n/a" if v is None else f"{float(v):.2f}", ha="center", fontsize=7)
    fig.suptitle("Subgroups (band 0.8-1.25 shaded; grey = not measurable)", fontsize=10)
    return _figure_png(fig)


def write_evaluate_report(path: Path, figures: Mapping[str, Any], sweep: Sequence[Mapping[str, Any]]) -> Path:
    """The trade-off curve, subgroup ratios and the targets, from ``aim_lab.evaluate`` results.

    ``figures`` is the dict ``aim evaluate`` writes to ``evaluate.json`` (it needs at least
    ``overall``; ``subgroups``, ``targets`` and ``current_threshold`` are used when present);
    ``sweep`` is a list of points with ``threshold``, ``recall_72h`` and ``false_reds_per_1000``."""
    body: list[str] = []
    overall = figures.get("overall") or {}
    if overall:
        body.append("<h2>Overall</h2><table>")
        for key, label in (
            ("collapses", "collapses (simulated truth)"),
            ("recall_72h", "recall within 72 h of onset"),
            ("recall_7d", "recall within 7 days"),
            ("median_hours_to_detect", "median hours to detect"),
            ("prisoner_days", "prisoner-days in custody"),
            ("red_alerts", "red alerts"),
            ("false_reds", "false red alerts"),
            ("false_reds_per_1000", "false reds per 1,000 prisoner-days"),
            ("false_reds_from_confounders", "false reds overlapping a confounder"),
            ("reds_after_departure", "reds after release or transfer"),
        ):
            value = overall.get(key)
            shown = f"{value:.2f}" if isinstance(value, float) else _esc(value)
            body.append(f"<tr><th>{label}</th><td class='num'>{shown}</td></tr>")
        body.append("</table>")
    targets = figures.get("targets") or []
    if targets:
        body.append("<h2>Targets</h2><table><tr><th>target</th><th>measured</th><th>goal</th><th>met</th></tr>")
        for t in targets:
            value = t.get("text") or (f"{t['value']:.2f}" if isinstance(t.get("value"), float) else t.get("value"))
            cls = "met" if t.get("met") else "notmet"
            body.append(
                f"<tr><td>{_esc(t.get('name'))}</td><td>{_esc(value)}</td><td>{_esc(t.get('target'))}</td>"
                f"<td class='{cls}'>{'met' if t.get('met') else 'not met'}</td></tr>"
            )
        body.append("</table>")
    body.append("<h2>Threshold trade-off</h2>")
    if sweep:
        body.append(_tradeoff_chart(sweep, figures.get("current_threshold")))
        body.append(
            "<p class='caption'>Each point replays the alert lifecycle (one open red per prisoner; again only "
            "on escalation or after the quiet period) over the scores recorded after every scoring run, with "
            "the red threshold set to the labelled value (static factors still lower it per person). "
            "Simulated data: the curve shows the shape of the trade-off, not the rates a real establishment "
            "will see.</p>"
        )
        body.append("<table><tr><th>red threshold</th><th>recall@72h</th><th>false reds</th><th>per 1,000</th></tr>")
        for p in sweep:
            r, f = p.get("recall_72h"), p.get("false_reds_per_1000")
            body.append(
                f"<tr><td class='num'>{float(p['threshold']):g}</td>"
                f"<td class='num'>{'n/a' if r is None else f'{r:.2f}'}</td>"
                f"<td class='num'>{_esc(p.get('false_reds'))}</td>"
                f"<td class='num'>{'n/a' if f is None else f'{f:.2f}'}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append("<p>No sweep.</p>")
    subgroups = figures.get("subgroups") or []
    if subgroups:
        body.append("<h2>Subgroups</h2>")
        body.append(_subgroup_chart(subgroups))
        body.append(
            "<table><tr><th>group</th><th>collapses</th><th>recall@72h</th><th>ratio</th><th>prisoner-days</th>"
            "<th>false reds / 1,000</th><th>ratio</th></tr>"
        )
        for s in subgroups:

            def f2(v: Any) -> str:
                return "n/a" if v is None else f"{float(v):.2f}"

            body.append(
                f"<tr><td>{_esc(s['group'])} {_esc(s['band'])}</td><td class='num'>{s['collapses']}</td>"
                f"<td class='num'>{f2(s.get('recall_72h'))}</td><td class='num'>{f2(s.get('recall_ratio'))}</td>"
                f"<td class='num'>{s.get('prisoner_days')}</td><td class='num'>{f2(s.get('false_reds_per_1000'))}</td>"
                f"<td class='num'>{f2(s.get('false_red_ratio'))}</td></tr>"
            )
        body.append("</table>")
        body.append(
            "<p class='caption'>Subgroups with few collapses give wide uncertainty: a ratio from a handful of "
            "cases is an indication, not a measurement.</p>"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page("AIM detection quality (simulated establishments)", body), encoding="utf-8")
    return path


_CEILING_SERIES = (
    ("aim", "AIM's score", "#2c7fb8", "o"),
    ("classifier", "classifier trained on ground truth (same generator)", "#c0392b", "s"),
    ("classifier_from_mixed", "classifier trained on the mixed generator", "#7f7f7f", "^"),
)


def _ceiling_chart(name: str, group: Mapping[str, Any], caps: Sequence[float]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    for key, label, colour, marker in _CEILING_SERIES:
        points = group.get(key)
        if not points:
            continue
        xs = [float(c) for c in caps]
        ys = [float(points[str(float(c))]["recall_72h"]) if points.get(str(float(c))) else 0.0 for c in caps]
        ax.plot(xs, ys, marker=marker, ms=4, lw=1.2, color=colour, label=label)
    ax.axhline(0.9, color="#2e8b57", ls=":", lw=1, label="target recall@72h 0.90")
    ax.axvline(1.0, color="#e69f00", ls=":", lw=1, label="target 1 false red / 1,000 days")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("at most this many false reds per 1,000 prisoner-days (log)")
    ax.set_ylabel("best recall within 72 h")
    ax.set_title(f"{name}: {group.get('collapses')} collapses, {group.get('prisoner_days')} prisoner-days")
    ax.legend(fontsize=7, loc="center left")
    return _figure_png(fig)


def write_ceiling_report(path: Path, results: Mapping[str, Any]) -> Path:
    """AIM's score beside a classifier trained on ground truth, per kind of scenario, from the
    results ``aim ceiling`` writes (``caps`` and ``groups``)."""
    caps = [float(c) for c in results.get("caps", ())]
    body = [
        "<p>Best recall within 72 hours of onset under each budget of false reds, for AIM's score and for "
        "a gradient-boosted classifier trained on the simulated ground truth (it sees everything the "
        "score sees, and the score). Where the lines meet, no model built on the same counts does "
        "better. Simulated data; see docs/ceiling.md.</p>"
    ]
    for name, group in (results.get("groups") or {}).items():
        body.append(f"<h2>{_esc(name)}</h2>")
        body.append(_ceiling_chart(name, group, caps))
        body.append("<table><tr><th></th>" + "".join(f"<th>&le; {c:g}</th>" for c in caps) + "</tr>")
        for key, label, _, _ in _CEILING_SERIES:
            points = group.get(key)
            if not points:
                continue
            cells = "".join(
                f"<td class='num'>{points[str(c)]['recall_72h']:.2f}</td>" if points.get(str(c)) else "<td>-</td>"
                for c in caps
            )
            body.append(f"<tr><th>{_esc(label)}</th>{cells}</tr>")
        body.append("</table>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page("AIM detection ceiling (simulated establishments)", body), encoding="utf-8")
    return path


__all__ = ["write_ceiling_report", "write_evaluate_report", "write_replay_report"]
