"""``aim outcomes``: the figures, the HTML report and an export that never holds a prison number."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aim.domain.board import AlertRecord
from aim.domain.casework import AlertCase, Intervention
from aim_cli.main import main
from aim_lab.outcomes_report import PseudonymKeyError, export_row, pseudonym, pseudonym_key

KEY = b"a-test-key-of-32-bytes-for-hmacs"
PRISON_NUMBER = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")


def test_export_row_replaces_the_number_everywhere_and_leaves_out_notes() -> None:
    message = {
        "alert_id": "al1",
        "establishment": "LEI",
        "prisoner_id": "A1234LE",
        "raised_at": "2026-11-02T07:00:00+00:00",
        "location": "B-2-11",
        "reasons": [{"signal": "phone", "text": "Phone calls by A1234LE stopped"}],
        "score": 7.2,
    }
    record = AlertRecord.from_message(message)
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    done = Intervention(
        action="conversation",
        engaged=True,
        outcome="support_given",
        useful="yes",
        note="Spoke to A1234LE on B wing",
        intervention_id="i1",
        recorded_by="lei-officer",
        recorded_at=at,
    )
    case = AlertCase("al1", "LEI", "A1234LE", "acknowledged", "lei-officer", at, interventions=(done,))
    row = export_row(record, case, KEY)
    text = json.dumps(row)
    assert "A1234LE" not in text and "Spoke to" not in text and "lei-officer" not in text
    assert row["person"] == pseudonym(KEY, "LEI", "A1234LE")
    assert row["reasons"][0]["text"] == f"Phone calls by {row['person']} stopped"
    assert row["wing"] == "B" and row["interventions"][0]["outcome"] == "support_given"


def test_pseudonym_is_stable_for_a_key_and_differs_between_keys() -> None:
    assert pseudonym(KEY, "LEI", "A1234LE") == pseudonym(KEY, "LEI", "A1234LE")
    assert pseudonym(KEY, "LEI", "A1234LE") != pseudonym(b"another-key-of-enough-length", "LEI", "A1234LE")
    assert pseudonym(KEY, "LEI", "A1234LE") != pseudonym(KEY, "LEI", "A1235LE")


def test_a_missing_or_short_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError):
        pseudonym_key(None, {})
    with pytest.raises(PseudonymKeyError):
        pseudonym_key(None, {"AIM_PSEUDONYM_KEY": "short"})
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    assert pseudonym_key(str(key_file), {}) == KEY


def test_cli_without_a_key_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AIM_PSEUDONYM_KEY", raising=False)
    code = main(["outcomes", "--from", "2026-11-02", "--to", "2026-11-29", "--out", str(tmp_path)])
    assert code == 2
    assert "pseudonym key" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
