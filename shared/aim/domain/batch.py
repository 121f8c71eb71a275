"""Reading one uploaded kiosk batch: bytes in, a verdict out. Pure: no AWS here.

A batch is quarantined whole when its framing is broken (size, gzip, UTF-8, JSON Lines,
header, record_count, the header's created_at); otherwise each record is validated by the
contract's models (``aim.domain.contract``) and accepted or rejected alone, with its line
number and a reason that names the field and the rule, never the value. Unknown record types
are kept but counted.

JSON Lines is checked by a strict decoder before any record is validated, because pydantic's
JSON parser is lenient where the contract is not: it keeps the last of two equal keys, and
reads ``NaN``, ``Infinity`` and ``1e999`` as floats in any field it does not type.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

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

_LATER = "occurred_at: later than the batch's created_at (clock wrong?)"
_OLDER = "occurred_at: older than the retention period"
_NOT_AN_OBJECT = "record is not a JSON object"


class QuarantineError(ValueError):
    """The batch as a whole cannot be trusted; nothing of it is applied."""


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str
    event_id: str | None = None


RecordKind = Literal["prisoner", "heartbeat", "unknown"]


class AcceptedRecord(NamedTuple):
    """One record that met the contract: the values facts are made of, and its model.

    A tuple, so that facts can be made from a batch's records column by column."""

    line: int
    event_id: str
    type: str
    prisoner_id: str | None
    occurred_at: datetime
    detail: str  # compact JSON of the validated detail, keys sorted, defaults left out; "" when empty
    kind: RecordKind
    record: AnyRecord

    @classmethod
    def from_model(cls, line: int, record: AnyRecord) -> AcceptedRecord:
        kind: RecordKind
        if isinstance(record, UnknownRecord):
            kind, prisoner_id = "unknown", record.prisoner_id
        elif isinstance(record, HeartbeatRecord):
            kind, prisoner_id = "heartbeat", None
        else:
            kind, prisoner_id = "prisoner", record.prisoner_id
        return cls(
            line, record.event_id, record.type, prisoner_id, record.occurred_at, _detail_text(record), kind, record
        )

    def __repr__(self) -> str:  # the record's content stays out of logs and test output
        return f"AcceptedRecord(line={self.line}, event_id={self.event_id!r}, type={self.type!r})"


def _detail_text(record: AnyRecord) -> str:
    if isinstance(record, UnknownRecord):
        return _compact(record.detail)
    if not record.detail.model_fields_set:
        return ""  # every field at its default: nothing to store
    return _compact(record.detail.model_dump(mode="json", by_alias=True, exclude_none=True))


def _compact(detail: dict[str, Any]) -> str:
    return json.dumps(detail, separators=(",", ":"), sort_keys=True) if detail else ""


@dataclass
class BatchVerdict:
    header: BatchHeader
    accepted: list[AcceptedRecord] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates_in_batch: int = 0

    @property
    def unknown_types(self) -> int:
        return sum(1 for a in self.accepted if a.kind == "unknown")

    @property
    def heartbeats(self) -> int:
        return sum(1 for a in self.accepted if a.kind == "heartbeat")


# ------------------------------------------------------------------------------------------------
# Bytes to text


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
                out += inflater.decompress(data, max_decompressed + 1 - len(out))
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


# ------------------------------------------------------------------------------------------------
# Strict JSON: what pydantic's parser lets through


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key '{key[:40]}'")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError("a number is out of range (it overflows to infinity)")
    return value


# Built once: json.loads with hooks would build a new decoder for every line.
_STRICT_JSON = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant, parse_float=_finite_float
)


def strict_json(line: str) -> Any:
    """A JSON text's value; ValueError (or RecursionError) for what RFC 8259 does not allow or
    leaves to the reader: a key twice in an object, NaN, Infinity, a number beyond a float."""
    return _STRICT_JSON.decode(line)


# ------------------------------------------------------------------------------------------------
# The batch


def read_header(first: str) -> BatchHeader:
    """Line 1 as the batch header, or QuarantineError saying why it is not one."""
    if not first.strip():
        raise QuarantineError("header missing: line 1 is empty")
    try:
        value = strict_json(first)
    except (ValueError, RecursionError) as exc:
        raise QuarantineError(f"header (line 1) is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise QuarantineError("header (line 1) is not a JSON object")
    try:
        return BatchHeader.model_validate_json(first)
    except ValidationError as exc:
        raise QuarantineError(f"header (line 1) invalid: {describe_error(exc)}") from None


def read_batch(
    key: str,
    body: bytes,
    *,
    expected_establishment: str | None = None,
    oldest_allowed: datetime | None = None,
    received_at: datetime | None = None,
) -> BatchVerdict:
    """Decode and validate one batch. Raises QuarantineError for a batch-level fault.

    Every line is read before any record is judged, so a batch that is broken anywhere is
    quarantined whole rather than partly rejected."""
    lines = decode_body(key, body).split("\n")
    header = read_header(lines[0].rstrip("\r"))
    if expected_establishment is not None and header.establishment != expected_establishment:
        raise QuarantineError(
            f"header establishment {header.establishment} does not match the key's {expected_establishment}"
        )
    records = _record_lines(header, lines)
    latest_allowed = _latest_allowed(header, received_at)
    verdict = BatchVerdict(header=header)
    seen: set[str] = set()
    for line in records:
        _judge(line, verdict, seen, latest_allowed, oldest_allowed)
    return verdict


class _RecordLine(NamedTuple):
    number: int  # 1-based, counting the header and blank lines
    text: str
    is_object: bool
    event_id: str | None  # what a reject names: the line's event_id if it is a string


def _record_lines(header: BatchHeader, lines: list[str]) -> list[_RecordLine]:
    """The record (non-blank) lines, each valid JSON within the line cap, as many as the header
    says; QuarantineError otherwise (a wrong record_count is reported before a broken line)."""
    out: list[_RecordLine] = []
    for number, raw in enumerate(lines[1:], start=2):
        if not raw or raw.isspace():
            continue  # a blank line: not a record, not counted
        text = raw.rstrip("\r")
        if len(text) > MAX_LINE_BYTES or (len(text) > MAX_LINE_BYTES // 4 and len(text.encode()) > MAX_LINE_BYTES):
            _check_count(header, lines)
            raise QuarantineError(f"line {number} is longer than {MAX_LINE_BYTES} bytes")
        try:
            value = strict_json(text)
        except (ValueError, RecursionError) as exc:
            _check_count(header, lines)
            raise QuarantineError(f"not valid JSON Lines: line {number}: {str(exc)[:120]}") from None
        is_object = type(value) is dict
        event_id = value.get("event_id") if is_object else None
        out.append(_RecordLine(number, text, is_object, event_id if isinstance(event_id, str) else None))
    if len(out) != header.record_count:
        _check_count(header, lines)
    return out


def _check_count(header: BatchHeader, lines: list[str]) -> None:
    """Quarantine a batch whose record_count is not its number of record (non-blank) lines."""
    records = sum(1 for raw in lines[1:] if raw and not raw.isspace())
    if records != header.record_count:
        raise QuarantineError(
            f"record_count is {header.record_count} but {records} record lines follow (truncated or padded upload)"
        )


def _latest_allowed(header: BatchHeader, received_at: datetime | None) -> datetime:
    """The latest occurred_at a record of this batch may have; QuarantineError for a batch sealed
    after it was received (beyond the clock skew allowed) or at the end of time."""
    if received_at is not None and header.created_at > received_at + CLOCK_SKEW:
        raise QuarantineError(
            f"header created_at {header.created_at.isoformat()} is after the batch was received (kiosk clock wrong?)"
        )
    try:
        return header.created_at + CLOCK_SKEW
    except OverflowError:
        raise QuarantineError("header created_at is out of range") from None


def _judge(
    line: _RecordLine,
    verdict: BatchVerdict,
    seen: set[str],
    latest_allowed: datetime,
    oldest_allowed: datetime | None,
) -> None:
    """Accept one record line into the verdict, reject it with its reason, or count it as a repeat."""
    if not line.is_object:
        verdict.rejects.append(Reject(line.number, _NOT_AN_OBJECT))
        return
    try:
        record = RECORD_ADAPTER.validate_json(line.text)
    except ValidationError as exc:
        verdict.rejects.append(Reject(line.number, describe_error(exc), line.event_id))
        return
    if record.occurred_at > latest_allowed:
        verdict.rejects.append(Reject(line.number, _LATER, record.event_id))
    elif oldest_allowed is not None and record.occurred_at < oldest_allowed:
        verdict.rejects.append(Reject(line.number, _OLDER, record.event_id))
    elif record.event_id in seen:
        verdict.duplicates_in_batch += 1
    else:
        seen.add(record.event_id)
        verdict.accepted.append(AcceptedRecord.from_model(line.number, record))
