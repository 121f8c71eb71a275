"""`aim replay` replays every establishment its batches name (contract section 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aim_cli.main import main


def write_batch(folder: Path, est: str, n: int) -> None:
    records = [
        {
            "event_id": f"{est}-K1-{n}-{i}",
            "type": "kiosk_login",
            "prisoner_id": "A1234BC",
            "occurred_at": f"2026-11-20T0{8 + i}:00:00+00:00",
        }
        for i in range(2)
    ]
    header = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": f"{est}-B{n}",
        "establishment": est,
        "kiosk_id": f"{est}-K1",
        "created_at": f"2026-11-20T1{n}:00:00+00:00",
        "record_count": len(records),
    }
    lines = [json.dumps(header)] + [json.dumps(r) for r in records]
    (folder / f"{est}-{n}.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def batches(tmp_path: Path) -> Path:
    folder = tmp_path / "batches"
    folder.mkdir()
    write_batch(folder, "XYZ", 1)
    write_batch(folder, "XYZ", 2)
    write_batch(folder, "QRS", 3)
    return folder


def test_replay_applies_batches_of_an_establishment_missing_from_the_default_config(
    batches: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given batches of two establishments the default configuration does not list
    # When they are replayed without --config
    code = main(["replay", str(batches), "--alerts-out", str(tmp_path / "alerts.jsonl"), "--quiet"])
    # Then every batch is applied with the default settings
    out = capsys.readouterr().out
    assert code == 0
    assert "batches: 3 applied, 0 quarantined" in out
    assert "records: 6 applied" in out


def test_replay_with_a_config_listing_none_of_them_reports_them_and_fails(
    batches: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a configuration that lists other establishments only
    config = tmp_path / "aim.json"
    config.write_text('{"establishments": ["LEI", "MDI"]}')
    # When the batches are replayed with it
    code = main(["replay", str(batches), "--alerts-out", str(tmp_path / "a.jsonl"), "--config", str(config)])
    # Then each left-out establishment is reported, and the command fails in one line
    captured = capsys.readouterr()
    assert code == 1
    assert "not in the configuration: QRS (1 batch), not applied" in captured.out
    assert "not in the configuration: XYZ (2 batches), not applied" in captured.out
    assert captured.err.strip() == f"aim replay: no batch could be applied: none of their establishments is in {config}"


def test_replay_with_a_config_applies_the_listed_establishments_and_reports_the_rest(
    batches: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "aim.json"
    config.write_text('{"establishments": ["XYZ"]}')
    code = main(["replay", str(batches), "--alerts-out", str(tmp_path / "a.jsonl"), "--config", str(config), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "not in the configuration: QRS (1 batch), not applied" in out
    assert "batches: 2 applied, 0 quarantined" in out


def test_replay_fails_when_every_batch_is_quarantined(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given only batches that cannot be read
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.jsonl").write_text("not a batch\n")
    # When they are replayed
    code = main(["replay", str(folder), "--alerts-out", str(tmp_path / "a.jsonl"), "--quiet"])
    # Then the summary shows the quarantine and the command fails
    captured = capsys.readouterr()
    assert code == 1
    assert "batches: 0 applied, 1 quarantined" in captured.out
    assert captured.err.startswith("aim replay: no batch could be applied (1 quarantined")
