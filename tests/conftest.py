"""Shared fixtures for the unit, integration and e2e tests.

Kept light: the infra tests and the simulator tests load this file too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO_ROOT / "events" / "contract-examples"
EVENTS_DIR = REPO_ROOT / "events"

BatchMaker = Callable[..., bytes]


def _make_batch(
    records: list[dict[str, Any]],
    *,
    batch_id: str = "LEI-K01-B0001",
    kiosk_id: str = "LEI-K01",
    establishment: str = "LEI",
    created_at: str = "2026-11-20T12:00:00+00:00",
    record_count: int | None = None,
) -> bytes:
    header = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": batch_id,
        "establishment": establishment,
        "kiosk_id": kiosk_id,
        "created_at": created_at,
        "record_count": len(records) if record_count is None else record_count,
    }
    lines = [json.dumps(header)] + [json.dumps(r) for r in records]
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture
def make_batch() -> BatchMaker:
    """Build the bytes of a kiosk batch: ``make_batch(records, batch_id=..., ...)``."""
    return _make_batch


@pytest.fixture
def examples_dir() -> Path:
    """The contract's example batches, kept in the project (``events/contract-examples``)."""
    return EXAMPLES_DIR


@pytest.fixture
def events_dir() -> Path:
    return EVENTS_DIR


@pytest.fixture
def received_at() -> datetime:
    """When the example batches are processed: shortly after they were sealed."""
    return datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


@pytest.fixture
def local() -> Iterator[Any]:
    """The embedded local AWS (moto in process) with the production handlers, default config."""
    from aim.config import AimConfig
    from aim_local.stack import local_aws

    with local_aws(AimConfig()) as stack:
        yield stack


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of a table, as raw attribute-value dicts, sorted by key."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


@pytest.fixture
def snapshot() -> Callable[[Any], dict[str, list[dict[str, Any]]]]:
    """Both DynamoDB tables of a local stack, every item in full, for byte-for-byte comparison."""

    def take(stack: Any) -> dict[str, list[dict[str, Any]]]:
        ddb = stack.clients["dynamodb"]
        return {
            "activity": scan_table(ddb, stack.resources["activity_table"]),
            "state": scan_table(ddb, stack.resources["state_table"]),
        }

    return take


@pytest.fixture
def read_report() -> Callable[[Any, str], dict[str, Any]]:
    """The batch report an operator finds at ``reports/<path under incoming/>.report.json``."""

    def read(stack: Any, key: str) -> dict[str, Any]:
        report_key = "reports/" + key.removeprefix("incoming/") + ".report.json"
        obj = stack.clients["s3"].get_object(Bucket=stack.resources["bucket"], Key=report_key)
        return dict(json.loads(obj["Body"].read()))

    return read
