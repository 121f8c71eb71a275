"""Reading one uploaded kiosk batch: bytes in, a verdict out. Pure: no AWS here.

A batch is quarantined whole when its framing is broken (gzip, UTF-8, JSON Lines,
header, record_count); otherwise each record is accepted or rejected alone with its
line number and reason, and unknown record types are kept but counted.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from aim.domain.contract import (
    RECORD_ADAPTER,
    AnyRecord,
    BatchHeader,
    HeartbeatRecord,
    UnknownRecord,
    describe_error,
)

MAX_OBJECT_BYTES = 50 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
# A kiosk clock may be a little ahead of ours; a record sealed after its batch beyond this is wrong.
CLOCK_SKEW = timedelta(minutes=10)


class QuarantineError(ValueError):
    """The batch as a whole cannot be trusted; nothing of it is applied."""


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str
    event_id: str | None = None


@dataclass(frozen=True)
class AcceptedRecord:
    line: int
    record: AnyRecord


@dataclass
class BatchVerdict:
    header: BatchHeader
    accepted: list[AcceptedRecord] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates_in_batch: int = 0

    @property
    def unknown_types(self) -> int:
        return sum(1 for a in self.accepted if isinstance(a.record, UnknownRecord))

    @property
    def heartbeats(self) -> int:
        return sum(1 for a in self.accepted if isinstance(a.record, HeartbeatRecord))


def decode_body(key: str, body: bytes, max_decompressed: int = MAX_DECOMPRESSED_BYTES) -> str:
    """Bytes of an uploaded object to text, enforcing size caps, gzip and UTF-8."""
    if len(body) > MAX_OBJECT_BYTES:
        raise QuarantineError(f"object is {len(body)} bytes, over the {MAX_OBJECT_BYTES} byte limit")
    is_gzip = body[:2] == b"\x1f\x8b"
    if key.endswith(".gz") or is_gzip:
        if not is_gzip:
            raise QuarantineError("not valid gzip: the key ends in .gz but the object has no gzip header")
        body = _gunzip(body, max_decompressed)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QuarantineError(f"not valid UTF-8: byte {exc.start} (0x{body[exc.start]:02x})") from None
    return text.removeprefix("\ufeff")  # a byte-order mark is tolerated


def _gunzip(body: bytes, max_decompressed: int) -> bytes:
    out = bytearray()
    data = body
    try:
        while data:
            inflater = zlib.decompressobj(wbits=31)
            while data:
                chunk = inflater.decompress(data, max_decompressed + 1 - len(out))
                out += chunk
                if len(out) > max_decompressed:
                    raise QuarantineError(
                        f"decompressed size exceeds the {max_decompressed} byte limit (possible gzip bomb)"
                    )
                data = inflater.unconsumed_tail
                if inflater.eof:
                    break
            if not inflater.eof:
                raise QuarantineError("not valid gzip: the stream is truncated")
            data = inflater.unused_data  # concatenated gzip members are allowed
    except zlib.error as exc:
        raise QuarantineError(f"not valid gzip: {exc}") from None
    return bytes(out)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key '{key[:40]}'")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value) or math.isnan(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


# Built once: json.loads with hooks would build a new decoder for every line.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant, parse_float=_finite_float
)


def parse_json_line(line: str) -> Any:
    return _DECODER.decode(line)


def read_batch(
    key: str,
    body: bytes,
    *,
    expected_establishment: str | None = None,
    oldest_allowed: datetime | None = None,
    received_at: datetime | None = None,
) -> BatchVerdict:
    """Decode and validate one batch. Raises QuarantineError for a batch-level fault."""
    text = decode_body(key, body)
    lines = text.split("\n")
    first = lines[0].rstrip("\r") if lines else ""
    if not first.strip():
        raise QuarantineError("header missing: line 1 is empty")
    try:
        header_obj = parse_json_line(first)
    except (ValueError, RecursionError) as exc:
        raise QuarantineError(f"header (line 1) is not valid JSON: {exc}") from None
    if not isinstance(header_obj, dict):
        raise QuarantineError("header (line 1) is not a JSON object")
    try:
        header = BatchHeader.model_validate(header_obj)
    except ValidationError as exc:
        raise QuarantineError(f"header (line 1) invalid: {describe_error(exc)}") from None
    if expected_establishment is not None and header.establishment != expected_establishment:
        raise QuarantineError(
            f"header establishment {header.establishment} does not match the key's {expected_establishment}"
        )

    numbered = [(n, raw.rstrip("\r")) for n, raw in enumerate(lines[1:], start=2)]
    record_lines = [(n, raw) for n, raw in numbered if raw.strip()]
    if len(record_lines) != header.record_count:
        raise QuarantineError(
            f"record_count is {header.record_count} but {len(record_lines)} record lines follow "
            "(truncated or padded upload)"
        )

    parsed: list[tuple[int, Any]] = []
    for n, raw in record_lines:
        if len(raw) > MAX_LINE_BYTES:
            raise QuarantineError(f"line {n} is longer than {MAX_LINE_BYTES} bytes")
        try:
            parsed.append((n, parse_json_line(raw)))
        except (ValueError, RecursionError) as exc:
            raise QuarantineError(f"not valid JSON Lines: line {n}: {str(exc)[:120]}") from None

    if received_at is not None and header.created_at > received_at + CLOCK_SKEW:
        raise QuarantineError(
            f"header created_at {header.created_at.isoformat()} is after the batch was received (kiosk clock wrong?)"
        )
    verdict = BatchVerdict(header=header)
    try:
        latest_allowed = header.created_at + CLOCK_SKEW
    except OverflowError:
        raise QuarantineError("header created_at is out of range") from None
    seen: set[str] = set()
    for n, obj in parsed:
        if not isinstance(obj, dict):
            verdict.rejects.append(Reject(n, "record is not a JSON object"))
            continue
        event_id = obj.get("event_id") if isinstance(obj.get("event_id"), str) else None
        try:
            record = RECORD_ADAPTER.validate_python(obj)
        except ValidationError as exc:
            verdict.rejects.append(Reject(n, describe_error(exc), event_id))
            continue
        if record.occurred_at > latest_allowed:
            verdict.rejects.append(Reject(n, "occurred_at: later than the batch's created_at (clock wrong?)", event_id))
            continue
        if oldest_allowed is not None and record.occurred_at < oldest_allowed:
            verdict.rejects.append(Reject(n, "occurred_at: older than the retention period", event_id))
            continue
        if record.event_id in seen:
            verdict.duplicates_in_batch += 1
            continue
        seen.add(record.event_id)
        verdict.accepted.append(AcceptedRecord(n, record))
    return verdict
