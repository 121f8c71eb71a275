"""Fuzzing the batch reader and the ingest service with hostile input.

Whatever bytes arrive, the reader either returns a verdict (every record accepted or rejected
with its line and reason) or raises QuarantineError with a reason; nothing else escapes. The
ingest service on moto turns each of them into a report: applied, quarantined or ignored.

Why no atheris: the reader is pure Python over json/zlib/pydantic, whose C parts are
themselves fuzzed upstream (OSS-Fuzz covers CPython's json and zlib); coverage-guided
mutation of Python bytecode finds little that hypothesis's structured strategies below do
not, and atheris needs a libFuzzer build of clang, wheels for this Python and a long-running
campaign outside the test suite. The strategies here aim at the framing the contract defines.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.s3 import S3ObjectStore
from aim.config import AimConfig
from aim.domain import batch as batch_module
from aim.domain.batch import MAX_DECOMPRESSED_BYTES, BatchVerdict, QuarantineError, decode_body, read_batch
from aim.service.ingest import ingest_object
from aim_local.stack import create_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

REGION = "eu-west-2"
CONFIG = AimConfig(establishments=["LEI"])
KEY = "incoming/LEI/K1/b1.jsonl"
RECEIVED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def header(n: int, created_at: str = "2025-06-01T11:00:00Z", **extra: Any) -> dict[str, Any]:
    return {
        "schema": "aim.kiosk-batch/1",
        "batch_id": "b1",
        "establishment": "LEI",
        "kiosk_id": "K1",
        "created_at": created_at,
        "record_count": n,
        **extra,
    }


def good(i: int, **over: Any) -> dict[str, Any]:
    rec = {"event_id": f"ok-{i}", "type": "kiosk_login", "prisoner_id": "A1234BC"}
    rec["occurred_at"] = "2025-06-01T09:00:00Z"
    rec.update(over)
    return rec


def lines_to_bytes(lines: list[str], eol: str = "\n", bom: bool = False) -> bytes:
    text = eol.join(lines) + eol
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def check_outcome(key: str, body: bytes, **kw: Any) -> BatchVerdict | QuarantineError:
    """The reader's contract: a verdict, or QuarantineError with a reason. Anything else fails the test."""
    try:
        verdict = read_batch(key, body, **kw)
    except QuarantineError as exc:
        assert str(exc).strip(), "a quarantine always says why"
        return exc
    for r in verdict.rejects:
        assert r.line >= 2 and r.reason.strip()
    assert len(verdict.accepted) + len(verdict.rejects) + verdict.duplicates_in_batch == verdict.header.record_count
    return verdict


# --- the reader, pure ---------------------------------------------------------------------------


@FUZZ
@given(body=st.binary(max_size=2048))
def test_random_bytes_never_crash_the_reader(body: bytes) -> None:
    check_outcome(KEY, body)
    check_outcome(KEY + ".gz", body)


@FUZZ
@given(body=st.binary(max_size=512))
def test_random_bytes_after_a_gzip_magic_never_crash_the_reader(body: bytes) -> None:
    check_outcome(KEY + ".gz", b"\x1f\x8b" + body)


@FUZZ
@given(text=st.text(max_size=400), prefix=st.sampled_from(["", "{", '{"schema":', json.dumps(header(1)) + "\n"]))
def test_random_text_never_crashes_the_reader(text: str, prefix: str) -> None:
    check_outcome(KEY, (prefix + text).encode("utf-8", "surrogatepass"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# JSON-valid lines that break record rules: each must be rejected alone, not sink the batch.
bad_records = st.one_of(
    json_values.filter(lambda v: not isinstance(v, dict)),
    st.dictionaries(st.sampled_from(["event_id", "type", "prisoner_id", "occurred_at", "detail"]), json_values),
    st.builds(lambda i, v: good(i, prisoner_id=v), st.integers(100, 200), json_values),
    st.builds(lambda i, v: good(i, occurred_at=v), st.integers(100, 200), st.text(max_size=30)),
    st.builds(
        lambda i, v: good(i, type="phone_call", detail={"duration_s": v}),
        st.integers(100, 200),
        # null and a whole number >= 0 are valid durations, not bad records
        json_values.filter(lambda v: not (v is None or (type(v) is int and v >= 0))),
    ),
    st.builds(lambda i: good(i, occurred_at="2030-01-01T00:00:00Z"), st.integers(100, 200)),  # after created_at
    st.builds(lambda i: good(i, occurred_at="2019-01-01T00:00:00Z"), st.integers(100, 200)),  # before retention
)


@FUZZ
@given(
    goods=st.integers(0, 6),
    bads=st.lists(bad_records, max_size=6),
    blanks=st.lists(st.integers(0, 12), max_size=4),
    eol=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    seed=st.randoms(use_true_random=False),
)
def test_valid_records_beside_bad_ones_are_accepted(
    goods: int, bads: list[Any], blanks: list[int], eol: str, bom: bool, seed: Any
) -> None:
    # Given a valid header, valid records, records that break rules, blank lines, CRLF or a BOM
    records = [json.dumps(good(i)) for i in range(goods)] + [json.dumps(b) for b in bads]
    seed.shuffle(records)
    lines = [json.dumps(header(len(records)))] + records
    for at in blanks:
        lines.insert(1 + at % len(lines), "   " if at % 2 else "")
    # When it is read
    verdict = check_outcome(KEY, lines_to_bytes(lines, eol, bom), oldest_allowed=RECEIVED - timedelta(days=180))
    # Then it is not quarantined; every valid record is accepted and every bad one rejected with a reason
    assert isinstance(verdict, BatchVerdict), verdict
    accepted = {a.record.event_id for a in verdict.accepted}
    assert {f"ok-{i}" for i in range(goods)} <= accepted


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([], "header missing"),
        (["[1,2]"], "not a JSON object"),
        ([json.dumps(header(1)), "NaN"], "not valid JSON"),
        ([json.dumps(header(1)), '{"event_id": Infinity}'], "not valid JSON"),
        ([json.dumps(header(1)), '{"a": 1, "a": 2}'], "duplicate key"),
        ([json.dumps(header(1))[:-1] + ', "schema": "x"}'], "duplicate key"),
        ([json.dumps(header(1)), "[" * 50_000 + "]" * 50_000], "longer than"),
        ([json.dumps(header(1)), "[" * 30_000 + "]" * 30_000], "not valid JSON"),
        (["[" * 100_000 + "]" * 100_000], "not valid JSON"),
        ([json.dumps(header(1)), json.dumps(good(1, pad="x" * 70_000))], "longer than"),
        ([json.dumps(header(2)), json.dumps(good(1))], "record_count is 2"),
        ([json.dumps(header(1, establishment="MDI")), json.dumps(good(1))], "does not match"),
        ([json.dumps(header(1, created_at="yesterday")), json.dumps(good(1))], "header (line 1) invalid"),
        ([json.dumps(header(1)), '{"event_id": 1' + "0" * 5000 + "}"], "not valid JSON"),
    ],
)
def test_batch_level_faults_are_quarantined_with_their_reason(lines: list[str], reason: str) -> None:
    with pytest.raises(QuarantineError, match=re.escape(reason)):
        read_batch(KEY, lines_to_bytes(lines) if lines else b"", expected_establishment="LEI")


def test_invalid_utf8_and_bad_gzip_are_quarantined() -> None:
    body = lines_to_bytes([json.dumps(header(1)), json.dumps(good(1, detail={}))]).replace(b"A1234BC", b"A1234\xffC")
    with pytest.raises(QuarantineError, match="not valid UTF-8"):
        read_batch(KEY, body)
    with pytest.raises(QuarantineError, match="no gzip header"):
        read_batch(KEY + ".gz", b"plain text")
    with pytest.raises(QuarantineError, match="truncated"):
        read_batch(KEY + ".gz", gzip.compress(body)[:-12])


def test_bom_crlf_and_concatenated_gzip_members_are_read() -> None:
    lines = [json.dumps(header(2)), json.dumps(good(1)), json.dumps(good(2))]
    text = lines_to_bytes(lines, "\r\n", bom=True)
    split = text.index(b"\r\n") + 2
    verdict = read_batch(KEY + ".gz", gzip.compress(text[:split]) + gzip.compress(text[split:]))
    assert [a.record.event_id for a in verdict.accepted] == ["ok-1", "ok-2"]


def test_gzip_bomb_is_stopped_at_the_decompressed_cap() -> None:
    bomb = gzip.compress(b"\n" * (1 << 20), compresslevel=9)  # 1 MiB of newlines in ~1 KiB
    with pytest.raises(QuarantineError, match="gzip bomb"):
        decode_body(KEY + ".gz", bomb, max_decompressed=64 * 1024)
    many_members = bomb * 8  # the cap counts every member together
    with pytest.raises(QuarantineError, match="gzip bomb"):
        decode_body(KEY + ".gz", many_members, max_decompressed=(1 << 20) * 4)


def test_oversized_object_is_quarantined(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_module, "MAX_OBJECT_BYTES", 1024)
    with pytest.raises(QuarantineError, match="byte limit"):
        read_batch(KEY, lines_to_bytes([json.dumps(header(0)), " " * 2000]))


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        ("2025-06-01T11:20:00Z", "later than the batch's created_at"),
        ("2024-01-01T00:00:00Z", "older than the retention period"),
        ("0001-01-01T00:00:00Z", "older than the retention period"),
        ("2025-02-30T00:00:00Z", "not a valid date-time"),
        ("2025-06-01T09:00:00", "not an RFC 3339 timestamp"),
    ],
)
def test_out_of_range_timestamps_are_rejected_alone(occurred_at: str, reason: str) -> None:
    lines = [json.dumps(header(2)), json.dumps(good(1)), json.dumps(good(2, occurred_at=occurred_at))]
    verdict = read_batch(KEY, lines_to_bytes(lines), oldest_allowed=RECEIVED - timedelta(days=180))
    assert [a.record.event_id for a in verdict.accepted] == ["ok-1"]
    assert len(verdict.rejects) == 1 and reason in verdict.rejects[0].reason and verdict.rejects[0].line == 3


def test_header_created_at_at_the_end_of_time_is_quarantined_not_a_crash() -> None:
    lines = [json.dumps(header(1, created_at="9999-12-31T23:55:00Z")), json.dumps(good(1))]
    with pytest.raises(QuarantineError):
        read_batch(KEY, lines_to_bytes(lines))


def test_a_number_that_overflows_to_infinity_is_not_stored() -> None:
    record = '{"event_id":"e1","type":"new_type","occurred_at":"2025-06-01T09:00:00Z","detail":{"x":1e999}}'
    lines = [json.dumps(header(1)), record]
    try:
        verdict = read_batch(KEY, lines_to_bytes(lines))
    except QuarantineError:
        return
    assert verdict.accepted == [], "an infinite value was accepted"


# --- the ingest service on moto ------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    os.environ.update(fake)
    try:
        with mock_aws():
            s3, ddb = boto3.client("s3", region_name=REGION), boto3.client("dynamodb", region_name=REGION)
            name = f"aim-fuzz-{uuid.uuid4().hex[:8]}"
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
            create_table(ddb, name)
            yield {
                "s3": s3,
                "ddb": ddb,
                "objects": S3ObjectStore(name, s3),
                "activity": DynamoActivityRepository(name, ddb),
            }
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def ingest(aws: dict[str, Any], key: str, body: bytes, received: datetime = RECEIVED) -> Any:
    aws["s3"].put_object(Bucket=aws["objects"].bucket, Key=key, Body=body)
    outcome = ingest_object(key, aws["objects"], aws["activity"], CONFIG, received)
    assert outcome.status in ("applied", "quarantined", "ignored")
    if outcome.status != "applied":
        assert outcome.reason.strip()
    if outcome.status != "ignored":
        report_key = "reports/" + key.removeprefix("incoming/") + ".report.json"
        report = json.loads(aws["s3"].get_object(Bucket=aws["objects"].bucket, Key=report_key)["Body"].read())
        assert report["status"] == outcome.status and report["reason"] == outcome.reason
    return outcome


def unique_key(suffix: str = ".jsonl") -> str:
    return f"incoming/LEI/K1/{uuid.uuid4().hex}{suffix}"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=512) | st.binary(max_size=256).map(lambda b: json.dumps(header(1)).encode() + b"\n" + b))
def test_ingest_turns_any_bytes_into_a_report(aws: dict[str, Any], body: bytes) -> None:
    ingest(aws, unique_key(), body)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bads=st.lists(bad_records, min_size=1, max_size=5), goods=st.integers(1, 4))
def test_ingest_applies_valid_records_beside_bad_ones(aws: dict[str, Any], bads: list[Any], goods: int) -> None:
    tag = uuid.uuid4().hex[:10]
    records = [json.dumps(good(i, event_id=f"{tag}-{i}")) for i in range(goods)] + [json.dumps(b) for b in bads]
    outcome = ingest(aws, unique_key(), lines_to_bytes([json.dumps(header(len(records))), *records]))
    assert outcome.status == "applied"
    assert outcome.applied == goods and outcome.rejected >= 1
    assert all(r["reason"] and r["line"] >= 2 for r in outcome.rejects)


@pytest.mark.parametrize(
    ("key", "status", "reason"),
    [
        ("reports/LEI/K1/b1.jsonl.report.json", "ignored", "outside incoming/"),
        ("elsewhere/LEI/K1/b1.jsonl", "ignored", "outside incoming/"),
        ("incoming/LEI/K1/../../reports/x.jsonl", "quarantined", "'..'"),
        ("incoming/LEI//b1.jsonl", "quarantined", "empty or '..'"),
        ("incoming/LEI/K1/b1.json", "quarantined", "does not match"),
        ("incoming/lei/K1/b1.jsonl", "quarantined", "does not match"),
        ("incoming/MDI/K1/b1.jsonl", "quarantined", "does not match the key's MDI"),
    ],
)
def test_keys_outside_the_contract_are_ignored_or_quarantined(
    aws: dict[str, Any], key: str, status: str, reason: str
) -> None:
    body = lines_to_bytes([json.dumps(header(1)), json.dumps(good(1))])
    outcome = ingest(aws, key, body)
    assert (outcome.status, outcome.applied) == (status, 0)
    assert reason in outcome.reason


def test_ingest_quarantines_a_real_gzip_bomb(aws: dict[str, Any]) -> None:
    # 16 KiB blocks of newlines, repeated past the real 200 MiB cap: ~200 KiB compressed
    bomb = gzip.compress(b"\n" * (MAX_DECOMPRESSED_BYTES + 1), compresslevel=1)
    outcome = ingest(aws, unique_key(".jsonl.gz"), bomb)
    assert outcome.status == "quarantined" and "gzip bomb" in outcome.reason


def test_ingest_quarantines_an_oversized_object(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_module, "MAX_OBJECT_BYTES", 4096)
    outcome = ingest(aws, unique_key(), lines_to_bytes([json.dumps(header(1)), json.dumps(good(1, pad="x" * 5000))]))
    assert outcome.status == "quarantined" and "byte limit" in outcome.reason


def test_ingest_rejects_records_dated_years_after_receipt(aws: dict[str, Any]) -> None:
    lines = [
        json.dumps(header(2, created_at="2035-06-01T11:00:00Z")),
        json.dumps(good(1, event_id=f"fut-{uuid.uuid4().hex[:8]}", occurred_at="2035-06-01T09:00:00Z")),
        json.dumps(good(2, event_id=f"now-{uuid.uuid4().hex[:8]}")),
    ]
    outcome = ingest(aws, unique_key(), lines_to_bytes(lines))
    assert outcome.status == "quarantined" or (outcome.applied == 1 and outcome.rejected == 1)
