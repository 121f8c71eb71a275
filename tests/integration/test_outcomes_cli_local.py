"""``aim outcomes`` on the embedded local AWS: figures, HTML report, and an export without prison numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aim_cli.main import main
from aim_lab.outcomes_report import pseudonym

KEY = b"a-test-key-of-32-bytes-for-hmacs"
PRISON_NUMBER = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")


def test_cli_on_the_local_stack_writes_figures_report_and_an_export_without_prison_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aim_local.board_seed import prison_number

    monkeypatch.setenv("AIM_PSEUDONYM_KEY", KEY.decode())
    out = tmp_path / "report"
    code = main(["outcomes", "--from", "2026-11-02", "--to", "2026-11-29", "--est", "LEI", "--out", str(out)])
    assert code == 0
    figures = json.loads((out / "outcomes-LEI.json").read_text())
    export = (out / "alerts-LEI.jsonl").read_text()
    alerts = [json.loads(line) for line in export.splitlines()]
    assert figures["total"]["alerts_raised"] == len(alerts) > 0
    assert figures["weeks"] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert sum(figures["total"]["weeks"].values()) == len(alerts)
    assert figures["total"]["status"]["acknowledged"] + figures["total"]["status"]["closed"] > 0
    assert any(a["interventions"] for a in alerts)
    assert not PRISON_NUMBER.search(export)
    assert all(prison_number("LEI", n) not in export for n in range(20))
    assert {a["person"] for a in alerts} <= {pseudonym(KEY, "LEI", prison_number("LEI", n)) for n in range(20)}
    html = (out / "outcomes.html").read_text()
    assert "<svg" in html and f"{len(alerts)} alerts from 2026-11-02 to 2026-11-29" in html
    assert not PRISON_NUMBER.search(html)


def test_cli_report_has_lights_ambers_subgroups_confounders_and_red_lines_and_the_export_no_subgroups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIM_PSEUDONYM_KEY", KEY.decode())
    out = tmp_path / "report"
    assert main(["outcomes", "--from", "2026-10-05", "--to", "2026-11-29", "--est", "LEI", "--out", str(out)]) == 0
    figures = json.loads((out / "outcomes-LEI.json").read_text())
    total = figures["total"]
    assert total["lights"] and all(sum(c.values()) == 20 for c in total["lights"].values())
    assert total["new_ambers"] == sum(total["amber_weeks"].values()) == 2 * len(total["lights"])
    for kind in ("age_band", "kiosk_use"):
        assert sum(g["alerts_raised"] for g in figures["subgroups"][kind].values()) == total["alerts_raised"]
    assert figures["red_lines"] and figures["red_lines"][0]["method"] == "configured"
    assert figures["confounders"] and {c["day"] for c in figures["confounders"]} <= set(total["lights"])
    html = (out / "outcomes.html").read_text()
    for words in ("People newly amber per week", "People in each light per day", "Red lines in force"):
        assert words in html
    assert "Alerts by age band and kiosk use" in html and "Days when routines changed" in html
    export = (out / "alerts-LEI.jsonl").read_text()
    assert "age_band" not in export and "kiosk_use" not in export
