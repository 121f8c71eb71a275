"""`aim serve DIR` replays the batches on the embedded local AWS, whose tables the board then reads."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from aim_lab import serve_demo

EXAMPLES = Path(__file__).resolve().parents[2] / "events" / "contract-examples"


def test_serve_hands_the_board_the_embedded_aws_the_batches_were_replayed_on(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # Given the board server replaced by a probe of what it would be given
    seen: dict[str, Any] = {}

    def probe(local: Any, port: int) -> None:
        state_table = local.resources["state_table"]
        seen["states"] = local.clients["dynamodb"].scan(TableName=state_table)["Count"]
        seen["port"] = port

    monkeypatch.setattr(serve_demo, "serve_local", probe)
    monkeypatch.setattr("aim_local.assets.ensure_assets", lambda: None)
    # When aim serve runs on the contract's example batches
    code = serve_demo.run_serve(argparse.Namespace(dir=str(EXAMPLES), port=8123, config=None))
    # Then the board is served from the DynamoDB tables the replay wrote
    assert code == 0
    assert seen["port"] == 8123
    assert seen["states"] > 0
    assert "2 applied" in capsys.readouterr().out
