"""The tracer never records what the handlers return: the score handler's response carries alert ids,
and a traced method's result could carry record contents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aim.observability import tracer


class RecordingSubsegment:
    def __init__(self, name: str, log: list[tuple[str, str, Any]]) -> None:
        self.name = name
        self.log = log

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.log.append((self.name, key, value))

    def put_annotation(self, key: str, value: Any) -> None:
        return None


class RecordingProvider:
    """Stands in for X-Ray: records each subsegment opened and the metadata put on it."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.metadata: list[tuple[str, str, Any]] = []

    @contextmanager
    def in_subsegment(self, name: str, **_: Any) -> Iterator[RecordingSubsegment]:
        self.opened.append(name)
        yield RecordingSubsegment(name, self.metadata)


def test_handlers_are_traced_without_their_responses(local, make_batch, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a tracer whose provider records what would be sent to X-Ray
    provider = RecordingProvider()
    monkeypatch.setattr(tracer, "provider", provider)
    records = [
        {"event_id": f"E-{n}", "type": "kiosk_login", "prisoner_id": "A1234BC", "occurred_at": "2026-11-20T09:00:00Z"}
        for n in range(3)
    ]
    # When a batch goes through the transform handler and the score handler runs
    local.upload("incoming/LEI/K1/B1.jsonl", make_batch(records), datetime(2026, 11, 20, 13, tzinfo=UTC))
    (summary,) = local.run_schedule(datetime(2026, 11, 21, 8, tzinfo=UTC))
    # Then both handlers and the record handler were traced
    assert (summary["establishment"], summary["prisoners"]) == ("LEI", 1)
    assert sum(n == "## handler" for n in provider.opened) == 2
    assert any(n.endswith("handle_record") for n in provider.opened)
    # And no response was put on any subsegment
    assert [key for _, key, _ in provider.metadata if key.endswith("response")] == []
