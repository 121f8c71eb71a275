"""The HTML reports render from tiny synthetic inputs (no moto, no replay)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aim.config import AimConfig
from aim_lab.report import write_ceiling_report, write_evaluate_report, write_replay_report

T0 = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)


class FakeSummary:
    def __init__(self, board: list[dict[str, Any]]) -> None:
        self.board = board

    def lines(self) -> list[str]:
        return ["batches: 3 applied, 0 quarantined", "alerts: 1 red, 0 amber"]


def _row(pid: str, wing: str, light: str, **kw: Any) -> dict[str, Any]:
    return {
        "prisoner_id": pid,
        "wing": wing,
        "location": f"{wing}-1-1",
        "light": light,
        "score": kw.get("score", 1.0),
        "red_at": 6.0,
        "amber_at": 3.0,
        "reasons": kw.get("reasons", []),
        "static_factors": kw.get("static_factors", []),
        "light_since": T0.isoformat(),
        "in_custody": light not in ("released", "transferred"),
    }


REASON = {
    "factor": "phone",
    "signal": "phone",
    "change": "fell",
    "observed": 0,
    "expected": 9.5,
    "window_days": 3,
    "since": "2026-03-17",
    "text": "Phone calls and credit fell: 0 in the 3 days since Tue 17 Mar (usually about 10)",
}
ALERT = {
    "schema": "aim.alert/1",
    "alert_id": "aim-tst-0001",
    "level": "red",
    "establishment": "TST",
    "prisoner_id": "X0001XX",
    "raised_at": T0.isoformat(),
    "reasons": [REASON],
    "kind": "new",
    "score": 7.2,
    "red_threshold": 6.0,
    "static_factors": [],
    "judged_day": "2026-03-19",
    "location": "A-1-1",
}
BOARD = [
    _row("X0001XX", "A", "red", score=7.2, reasons=[REASON]),
    _row("X0002XX", "A", "green"),
    _row("X0003XX", "B", "amber", score=4.0, reasons=[REASON]),
    _row("X0004XX", "B", "insufficient"),
    _row("X0005XX", "B", "released"),
]


def test_replay_report_with_history_embeds_charts(tmp_path: Path) -> None:
    # Given a tiny board, one red alert and a score history
    history = {"X0001XX": [(T0 - timedelta(days=3 - i), 2.0 * i, 6.0) for i in range(5)]}
    out = tmp_path / "replay.html"
    # When the report is written
    write_replay_report(out, FakeSummary(BOARD), alerts=[ALERT], config=AimConfig(), history=history)
    text = out.read_text()
    # Then it is a self-contained page with the board, the alert and embedded PNG charts
    assert text.startswith("<!DOCTYPE html>")
    assert text.count('<img alt="chart" src="data:image/png;base64,') >= 3  # board, reasons, trajectory
    assert "Traffic-light board by wing" in text and "aim-tst-0001" in text
    assert "Phone calls and credit fell" in text


def test_replay_report_reads_alerts_file_without_history(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(json.dumps(ALERT) + "\n")
    out = write_replay_report(tmp_path / "r.html", FakeSummary(BOARD), alerts_path=alerts, config=AimConfig())
    text = out.read_text()
    assert "<img" in text and "was not recorded for this run" in text


def test_replay_report_titles_carry_no_health_detail(tmp_path: Path) -> None:
    alert = {**ALERT, "static_factors": ["history of self-harm", "ACCT open"]}
    out = write_replay_report(tmp_path / "r.html", FakeSummary(BOARD), alerts=[alert], config=AimConfig())
    headings = re.findall(r"<h[1-3]>(.*?)</h[1-3]>", out.read_text())
    assert headings and not any("self-harm" in h or "ACCT" in h for h in headings)


def test_evaluate_report_has_tradeoff_and_subgroups(tmp_path: Path) -> None:
    sweep = [
        {"threshold": t, "recall_72h": max(0.0, 1 - t / 12), "false_reds": int(20 / t), "false_reds_per_1000": 8 / t}
        for t in (2.0, 4.0, 6.0, 8.0)
    ]
    figures = {
        "overall": {"collapses": 10, "recall_72h": 0.5, "false_reds_per_1000": 1.3},
        "current_threshold": 6.0,
        "subgroups": [
            {
                "group": "age",
                "band": "18-24",
                "collapses": 3,
                "recall_72h": 0.33,
                "recall_ratio": 0.66,
                "prisoner_days": 900,
                "false_reds_per_1000": 1.0,
                "false_red_ratio": None,
            }
        ],
        "targets": [{"name": "recall within 72 h of onset", "value": 0.5, "target": ">= 0.9", "met": False}],
    }
    out = write_evaluate_report(tmp_path / "e.html", figures, sweep)
    text = out.read_text()
    assert text.count("data:image/png;base64,") == 2
    assert "not met" in text and "Threshold trade-off" in text


def test_ceiling_report_charts_and_tabulates_each_kind_of_scenario(tmp_path: Path) -> None:
    # Given ceiling results for one kind of scenario, AIM's score and the classifier
    def point(recall: float, false_reds: float) -> dict[str, float]:
        return {"threshold": 0.5, "recall_72h": recall, "recall_7d": recall, "false_per_1000": false_reds}

    results = {
        "caps": [1.0, 5.0],
        "groups": {
            "stark": {
                "collapses": 32,
                "prisoner_days": 41221,
                "aim": {"1.0": point(0.34, 0.97), "5.0": point(0.53, 3.5)},
                "classifier": {"1.0": point(0.31, 0.9), "5.0": None},
            }
        },
    }
    # When the report is written
    page = write_ceiling_report(tmp_path / "ceiling-report.html", results).read_text(encoding="utf-8")
    # Then it has a chart and a row per series, with a dash where no threshold met the budget
    assert page.count("data:image/png;base64,") == 1
    assert "<h2>stark</h2>" in page
    assert "<td class='num'>0.34</td><td class='num'>0.53</td>" in page
    assert "<td class='num'>0.31</td><td>-</td>" in page
