"""Property: however batches arrive, the scorer reads each distinct event exactly once.

Given a handful of events for a few prisoners across local days (one of them the spring DST
change), split into batches (an event may be in more than one batch, as kiosk retries and
re-batching do), when the batches are delivered in any order, more than once, re-uploaded
under new keys, late, and with attempts that crash part-way through writing (then retried,
as SQS redelivers), then the facts read from the activity table equal an independent fold of
the distinct events: each event once, on its Europe/London day, the copy of the batch whose
ref sorts first (facts are stored packed per batch and day, so a repeated event is stored in
every batch that carries it and de-duplicated on reading); and day change sets that name
exactly the batches whose packs are stored for that day.

Runs the real ingest service on the real DynamoDB/S3 adapters on moto; the only wrapper is a
fault injector that lets N item writes through and then raises.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from aim.adapters.activity_table import DynamoActivityRepository, facts_of_items
from aim.adapters.dynamodb import DynamoTable, from_attr
from aim.adapters.s3 import S3ObjectStore
from aim.config import AimConfig
from aim.service.ingest import ingest_object
from aim_local.stack import create_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

REGION = "eu-west-2"
LONDON = ZoneInfo("Europe/London")
# 2025-03-30 01:00 UTC clocks go forward: events from the evening before to three days after.
BASE = datetime(2025, 3, 29, 20, 0, tzinfo=UTC)
SPAN_MINUTES = 4 * 24 * 60
PRISONERS = ("A1111AA", "B2222BB", "C3333CC")
KIOSKS = ("K1", "K2")
OFFSETS = (UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)))
RETENTION_DAYS = 180
CONFIG = AimConfig(establishments=["LEI"])


class InjectedCrashError(RuntimeError):
    """The Lambda died part-way through a batch (timeout, out of memory)."""


class CrashAfterWrites:
    """The real DynamoDB table under the activity repository, but the process dies after ``budget`` item writes."""

    def __init__(self, inner: DynamoTable, budget: int) -> None:
        self._inner = inner
        self._budget = budget

    def batch_put(self, items: Any) -> int:
        rows = list(items)
        if len(rows) > self._budget:
            self._inner.batch_put(rows[: self._budget])
            self._budget = 0
            raise InjectedCrashError("crashed while writing facts")
        self._budget -= len(rows)
        return self._inner.batch_put(rows)

    def update(self, *args: Any) -> None:
        if self._budget == 0:
            raise InjectedCrashError("crashed before updating a day change set")
        self._budget -= 1
        self._inner.update(*args)

    def __getattr__(self, name: str) -> Any:  # reads pass straight through
        return getattr(self._inner, name)


def crashing(activity: DynamoActivityRepository, budget: int) -> DynamoActivityRepository:
    """The same repository over a table that crashes after ``budget`` item writes."""
    crashing = DynamoActivityRepository(activity.table.name, activity.table.client)
    crashing.table = CrashAfterWrites(activity.table, budget)  # type: ignore[assignment]
    return crashing


@dataclass(frozen=True)
class Event:
    event_id: str
    kiosk: str
    type: str
    prisoner: str | None
    occurred: datetime  # aware, in the offset the kiosk wrote
    detail: dict[str, Any]

    def record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {"event_id": self.event_id, "type": self.type, "occurred_at": self.occurred.isoformat()}
        if self.prisoner is not None:
            rec["prisoner_id"] = self.prisoner
        if self.detail:
            rec["detail"] = self.detail
        return rec


@st.composite
def events(draw: st.DrawFn, index: int) -> Event:
    kind = draw(st.sampled_from(["kiosk_login", "phone_call", "activity_attended", "canteen_order", "heartbeat"]))
    minute = draw(st.integers(0, SPAN_MINUTES))
    occurred = (BASE + timedelta(minutes=minute)).astimezone(draw(st.sampled_from(OFFSETS)))
    kiosk = draw(st.sampled_from(KIOSKS))
    if kind == "heartbeat":
        return Event(f"hb-{index}", kiosk, "kiosk_heartbeat", None, occurred, {})
    detail: dict[str, Any] = {}
    if kind == "phone_call":
        detail = {"duration_s": draw(st.integers(0, 3600))}
    elif kind == "activity_attended":
        detail = {"activity": draw(st.sampled_from(["work", "gym"])), "minutes": draw(st.integers(0, 240))}
    elif kind == "canteen_order":
        detail = {"amount_pence": draw(st.integers(0, 5000))}
    return Event(f"ev-{index}", kiosk, kind, draw(st.sampled_from(PRISONERS)), occurred, detail)


@dataclass(frozen=True)
class Batch:
    kiosk: str
    batch_id: str
    events: tuple[Event, ...]

    @property
    def ref(self) -> str:
        return f"{self.kiosk}/{self.batch_id}"

    @property
    def created_at(self) -> datetime:
        return max((e.occurred.astimezone(UTC) for e in self.events), default=BASE) + timedelta(minutes=1)

    def body(self) -> bytes:
        header = {
            "schema": "aim.kiosk-batch/1",
            "batch_id": self.batch_id,
            "establishment": "LEI",
            "kiosk_id": self.kiosk,
            "created_at": self.created_at.isoformat(),
            "record_count": len(self.events),
        }
        return ("\n".join(json.dumps(x) for x in [header, *(e.record() for e in self.events)]) + "\n").encode()


@dataclass(frozen=True)
class Delivery:
    batch: int
    reupload: int  # 0: the original key; n: re-uploaded under a new key
    crash_after: int | None  # item writes before the attempt dies, or None
    delay_hours: int  # how late after the batch was sealed it is processed


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Batch], list[Delivery]]:
    evs = [draw(events(i)) for i in range(draw(st.integers(1, 10)))]
    batches: list[Batch] = []
    for kiosk in KIOSKS:
        mine = [e for e in evs if e.kiosk == kiosk]
        n = draw(st.integers(1, 3))
        members: list[list[Event]] = [[] for _ in range(n)]
        for e in mine:  # every event in at least one batch, some in several (re-batching)
            for b in draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)):
                members[b].append(e)
        for b, chosen in enumerate(members):
            shuffled = draw(st.permutations(chosen))
            batches.append(Batch(kiosk, f"{kiosk}-b{b}", tuple(shuffled)))
    base = list(range(len(batches)))
    extra = draw(st.lists(st.sampled_from(base), max_size=4))  # duplicate deliveries and re-uploads
    order = draw(st.permutations(base + extra))
    deliveries = [
        Delivery(
            b,
            draw(st.integers(0, 1)) if i >= len(base) else 0,
            draw(st.none() | st.integers(0, 12)),
            draw(st.sampled_from([0, 1, 30, 72])),
        )
        for i, b in enumerate(order)
    ]
    return batches, deliveries


def expected_facts(batches: list[Batch]) -> dict[tuple[str, str], dict[str, Any]]:
    """The reference fold: each distinct event once, on its Europe/London calendar day."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for batch in batches:
        for e in batch.events:
            utc = e.occurred.astimezone(UTC)
            day = e.occurred.astimezone(LONDON).date()
            sk = f"~K#{batch.kiosk}#{e.event_id}" if e.prisoner is None else f"{e.prisoner}#{e.event_id}"
            item = {"t": e.type, "at": utc.strftime("%Y-%m-%dT%H:%M:%SZ"), "k": batch.kiosk}
            if e.detail:
                item["d"] = json.dumps(e.detail, separators=(",", ":"), sort_keys=True)
            out[(f"LEI#{day.isoformat()}", sk)] = item
    return out


def expected_pack_expiry(batches: list[Batch]) -> dict[tuple[str, str], int]:
    """(day partition, batch ref) -> when that batch's facts of that day expire: retention after the latest."""
    latest: dict[tuple[str, str], datetime] = {}
    for batch in batches:
        for e in batch.events:
            key = (f"LEI#{e.occurred.astimezone(LONDON).date().isoformat()}", batch.ref)
            latest[key] = max(latest.get(key, e.occurred), e.occurred)
    return {k: int((at + timedelta(days=RETENTION_DAYS)).timestamp()) for k, at in latest.items()}


def batches_with(batches: list[Batch]) -> dict[tuple[str, str], set[str]]:
    """For each expected fact key, the batches that carry its event."""
    out: dict[tuple[str, str], set[str]] = {}
    for batch in batches:
        for e in batch.events:
            day = e.occurred.astimezone(LONDON).date()
            sk = f"~K#{batch.kiosk}#{e.event_id}" if e.prisoner is None else f"{e.prisoner}#{e.event_id}"
            out.setdefault((f"LEI#{day.isoformat()}", sk), set()).add(batch.ref)
    return out


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    os.environ.update(fake)
    try:
        with mock_aws():
            yield {name: boto3.client(name, region_name=REGION) for name in ("s3", "dynamodb")}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fresh_stores(aws: dict[str, Any]) -> tuple[S3ObjectStore, DynamoActivityRepository, str]:
    name = f"aim-prop-{uuid.uuid4().hex[:12]}"
    aws["s3"].create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    create_table(aws["dynamodb"], name)
    return S3ObjectStore(name, aws["s3"]), DynamoActivityRepository(name, aws["dynamodb"]), name


def table_items(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(from_attr(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def deliver(
    batch: Batch, d: Delivery, objects: S3ObjectStore, activity: DynamoActivityRepository, s3: Any
) -> tuple[str, datetime]:
    suffix = f"-r{d.reupload}" if d.reupload else ""
    key = f"incoming/LEI/{batch.kiosk}/{batch.batch_id}{suffix}.jsonl"
    s3.put_object(Bucket=objects.bucket, Key=key, Body=batch.body())  # an upload (or the same object again)
    return key, batch.created_at + timedelta(hours=d.delay_hours)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_any_mix_of_redelivery_reupload_order_and_crashes_stores_each_event_once(
    aws: dict[str, Any], scenario: tuple[list[Batch], list[Delivery]]
) -> None:
    # Given a fresh bucket and activity table, and batches of overlapping events
    batches, deliveries = scenario
    objects, activity, table = fresh_stores(aws)

    # When every delivery is processed, crashed attempts being retried later (SQS redelivery)
    retries: list[tuple[str, datetime]] = []
    for d in deliveries:
        key, received = deliver(batches[d.batch], d, objects, activity, aws["s3"])
        if d.crash_after is None:
            assert ingest_object(key, objects, activity, CONFIG, received).status == "applied"
            continue
        try:
            ingest_object(key, objects, crashing(activity, d.crash_after), CONFIG, received)
        except InjectedCrashError:
            retries.append((key, received))
    for key, received in retries:
        assert ingest_object(key, objects, activity, CONFIG, received + timedelta(minutes=15)).status == "applied"

    # Then the facts read are exactly the distinct events, each once, on its local day
    items = table_items(aws["dynamodb"], table)
    days = {i["sk"]: {m.partition("#")[0] for m in i["batches"]} for i in items if i["pk"] == "LEI#DAYS"}
    stored = [i for i in items if not i["pk"].endswith("#DAYS")]
    partitions = sorted({i["pk"] for i in stored})
    facts = {(pk, f.identity): f for pk in partitions for f in facts_of_items([i for i in stored if i["pk"] == pk])}
    expected = expected_facts(batches)
    read = {
        k: {"t": f.type, "at": f.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "k": f.kiosk_id}
        | ({"d": f.detail} if f.detail else {})
        for k, f in facts.items()
    }
    assert read == expected
    carriers = batches_with(batches)
    for key, f in facts.items():
        assert f.batch == min(carriers[key]), "the copy of the batch whose ref sorts first wins"

    # And every stored item is a pack of a batch that carries events of that day, expiring retention
    # after the batch's latest event of the day
    expiry = expected_pack_expiry(batches)
    packs: dict[str, set[str]] = {}
    for i in stored:
        kiosk, batch_id, _, _ = i["sk"].removeprefix("~B#").split("#")
        ref = f"{kiosk}/{batch_id}"
        assert i["expires_at"] == expiry[(i["pk"], ref)]
        packs.setdefault(i["pk"].removeprefix("LEI#"), set()).add(ref)

    # And the day change sets name exactly the days with facts, and on each day exactly the batches
    # whose packs are stored there (every attempt, crashed ones included, was retried to the end)
    fact_days = {pk.removeprefix("LEI#") for pk, _ in expected}
    assert set(days) == fact_days
    assert days == packs
    reference: dict[str, set[str]] = {}
    for pk, ref in expiry:
        reference.setdefault(pk.removeprefix("LEI#"), set()).add(ref)
    assert days == reference
    assert all(isinstance(date.fromisoformat(d), date) for d in days)
