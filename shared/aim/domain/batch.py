"""Reading one uploaded kiosk batch: bytes in, a verdict out. Pure: no AWS here.

A batch is quarantined whole when its framing is broken (gzip, UTF-8, JSON Lines,
header, record_count); otherwise each record is accepted or rejected alone with its
line number and reason, and unknown record types are kept but counted.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice, repeat
from operator import itemgetter
from typing import Any, Literal, NamedTuple

from pydantic import ValidationError
from pydantic_core import from_json

from aim.domain.contract import (
    COMPACT_DETAILS,
    COMPACT_RECORD,
    RECORD_ADAPTER,
    AnyRecord,
    BatchHeader,
    HeartbeatRecord,
    PlainRecord,
    UnknownRecord,
    compact_detail,
    describe_error,
    plain_record,
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


RecordKind = Literal["prisoner", "heartbeat", "unknown"]


class _AcceptedFields(NamedTuple):
    line: int
    event_id: str
    type: str
    prisoner_id: str | None
    occurred_at: datetime
    detail: str  # canonical compact JSON of the validated detail, "" when empty
    kind: RecordKind
    source: Any  # the model, or the JSON object (or line) it validates from


class AcceptedRecord(_AcceptedFields):
    """One record that met the contract, held as the values facts are made of.

    ``record`` is its pydantic model, built only when asked for: building one per record
    was most of the transform's cost (issue 5). A tuple, so that a batch's records are made and
    read without Python-level constructors or attribute look-ups (issue 5)."""

    __slots__ = ()

    @classmethod
    def from_model(cls, line: int, record: AnyRecord) -> AcceptedRecord:
        if isinstance(record, UnknownRecord):
            detail = json.dumps(record.detail, separators=(",", ":"), sort_keys=True) if record.detail else ""
            return cls(
                line, record.event_id, record.type, record.prisoner_id, record.occurred_at, detail, "unknown", record
            )
        dumped = record.detail.model_dump(mode="json", by_alias=True, exclude_none=True)
        detail = json.dumps(dumped, separators=(",", ":"), sort_keys=True) if dumped else ""
        if isinstance(record, HeartbeatRecord):
            return cls(line, record.event_id, record.type, None, record.occurred_at, detail, "heartbeat", record)
        return cls(
            line, record.event_id, record.type, record.prisoner_id, record.occurred_at, detail, "prisoner", record
        )

    @property
    def record(self) -> AnyRecord:
        source = self.source
        if isinstance(source, str):  # a line in the kiosks' compact layout: valid JSON, no duplicate keys
            source = from_json(source)
        if isinstance(source, dict):
            return RECORD_ADAPTER.validate_python(source)
        return source  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AcceptedRecord):
            return NotImplemented
        return self.line == other.line and self.record == other.record

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AcceptedRecord(line={self.line}, event_id={self.event_id!r}, type={self.type!r})"


@dataclass
class BatchVerdict:
    header: BatchHeader
    accepted: list[AcceptedRecord] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates_in_batch: int = 0

    @property
    def unknown_types(self) -> int:
        return list(map(_kind, self.accepted)).count("unknown")

    @property
    def heartbeats(self) -> int:
        return list(map(_kind, self.accepted)).count("heartbeat")


_kind = itemgetter(6)  # AcceptedRecord.kind


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


def _strict_header(first: str) -> BatchHeader:
    """Line 1 as the header, or QuarantineError saying why it is not one."""
    if not first.strip():
        raise QuarantineError("header missing: line 1 is empty")
    try:
        header_obj = parse_json_line(first)
    except (ValueError, RecursionError) as exc:
        raise QuarantineError(f"header (line 1) is not valid JSON: {exc}") from None
    if not isinstance(header_obj, dict):
        raise QuarantineError("header (line 1) is not a JSON object")
    try:
        return BatchHeader.model_validate(header_obj)
    except ValidationError as exc:
        raise QuarantineError(f"header (line 1) invalid: {describe_error(exc)}") from None


def _plain_header(first: str) -> BatchHeader | None:
    """A valid header read with pydantic-core's JSON parser, or None for _strict_header to judge.

    Trusted only without escapes and when every JSON string survived parsing (no key twice):
    then it is the object the strict parser reads, and the model judges it the same."""
    try:
        obj = from_json(first, allow_inf_nan=False)
    except (ValueError, TypeError):
        return None
    if type(obj) is not dict or "\\" in first:
        return None
    if first.count('"') != 2 * (len(obj) + sum(type(value) is str for value in obj.values())):
        return None  # a key twice, or strings inside a nested value: let the strict path judge
    try:
        return BatchHeader.model_validate(obj)
    except ValidationError:
        return None


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
    header = _plain_header(first)
    if header is None:
        header = _strict_header(first)
    if expected_establishment is not None and header.establishment != expected_establishment:
        raise QuarantineError(
            f"header establishment {header.establishment} does not match the key's {expected_establishment}"
        )

    # Checked here, raised only after every line has been read (a broken line is reported first).
    created_late = received_at is not None and header.created_at > received_at + CLOCK_SKEW
    try:
        latest_allowed = header.created_at + CLOCK_SKEW
        out_of_range = False
    except OverflowError:
        latest_allowed, out_of_range = _LATEST, True

    verdict = BatchVerdict(header=header)
    seen: set[str] = set()
    rejects = verdict.rejects
    admit = verdict.accepted.append
    compact = COMPACT_RECORD.fullmatch
    known_details = COMPACT_DETAILS.get
    from_iso = datetime.fromisoformat
    # Lines the fast path cannot vouch for, and every line after the first of them: they are
    # judged once every line has been read, as before, so that a broken line anywhere in the
    # batch quarantines it before any record is validated by the models.
    pending: list[tuple[int, Any, PlainRecord | AcceptedRecord | None]] = []
    count = _read_compact_batch(text, lines, latest_allowed, oldest_allowed, verdict)
    if count is None:  # some line needs the per-line reader: read the batch line by line
        count = 0  # record (non-blank) lines
        n = 1
        for raw in islice(lines, 1, None):
            n += 1
            # Fastest path: a line in the kiosks' own compact layout (contract.COMPACT_RECORD).
            match = compact(raw) if len(raw) <= MAX_LINE_BYTES else None
            if match is not None:
                event_id, record_type, prisoner_id, occurred, detail_body = match.groups()
                details = known_details(record_type)
                if details is not None and (prisoner_id is None) is (record_type == "kiosk_heartbeat"):
                    detail = details.get(detail_body, _UNSEEN)
                    if detail is _UNSEEN:
                        detail = compact_detail(record_type, detail_body)
                    if detail is not None:
                        try:
                            occurred_at = from_iso(occurred)
                        except ValueError:
                            pass  # e.g. month 13: read below, where the model words the reason
                        else:
                            count += 1
                            record = AcceptedRecord(
                                n,
                                event_id,
                                record_type,
                                prisoner_id,
                                occurred_at,
                                detail,
                                "heartbeat" if prisoner_id is None else "prisoner",
                                raw,
                            )
                            if pending:
                                pending.append((n, None, record))
                            elif occurred_at > latest_allowed:
                                rejects.append(Reject(n, _LATER, event_id))
                            elif oldest_allowed is not None and occurred_at < oldest_allowed:
                                rejects.append(Reject(n, _OLDER, event_id))
                            elif event_id in seen:
                                verdict.duplicates_in_batch += 1
                            else:
                                seen.add(event_id)
                                admit(record)
                            continue
            if not raw or raw.isspace():
                continue  # a blank line: not a record, not counted
            count += 1
            raw = raw.rstrip("\r")
            if len(raw) > MAX_LINE_BYTES:
                _check_count(header, lines)
                raise QuarantineError(f"line {n} is longer than {MAX_LINE_BYTES} bytes")
            # Fast path: pydantic-core's JSON parser, trusted only for a plain valid record with no
            # escapes whose every JSON string survived parsing (so no key was duplicated). Any other
            # line is parsed again by the strict decoder, which words the quarantine reason.
            plain = None
            try:
                obj = from_json(raw, allow_inf_nan=False)
            except (ValueError, TypeError):
                pass
            else:
                if type(obj) is dict and "\\" not in raw:
                    plain = plain_record(obj)
                    if plain is not None and raw.count('"') != 2 * plain.strings:
                        plain = None
            if plain is None:
                try:
                    obj = parse_json_line(raw)
                except (ValueError, RecursionError) as exc:
                    _check_count(header, lines)
                    raise QuarantineError(f"not valid JSON Lines: line {n}: {str(exc)[:120]}") from None
                if type(obj) is dict:
                    plain = plain_record(obj)
            pending.append((n, obj, plain))

    if count != header.record_count:
        _check_count(header, lines)
    if created_late:
        raise QuarantineError(
            f"header created_at {header.created_at.isoformat()} is after the batch was received (kiosk clock wrong?)"
        )
    if out_of_range:
        raise QuarantineError("header created_at is out of range")

    for n, obj, judged in pending:
        named: str | None  # the event_id a reject names
        if isinstance(judged, AcceptedRecord):
            record, named = judged, judged.event_id
        elif judged is not None:
            named = judged.event_id
            record = AcceptedRecord(
                n,
                judged.event_id,
                judged.type,
                judged.prisoner_id,
                judged.occurred_at,
                judged.detail,
                "prisoner" if judged.prisoner_id is not None else "heartbeat",
                obj,
            )
        else:
            if not isinstance(obj, dict):
                rejects.append(Reject(n, "record is not a JSON object"))
                continue
            maybe_id = obj.get("event_id")
            named = maybe_id if isinstance(maybe_id, str) else None
            try:
                record = AcceptedRecord.from_model(n, RECORD_ADAPTER.validate_python(obj))
            except ValidationError as exc:
                rejects.append(Reject(n, describe_error(exc), named))
                continue
        if record.occurred_at > latest_allowed:
            rejects.append(Reject(n, _LATER, named))
            continue
        if oldest_allowed is not None and record.occurred_at < oldest_allowed:
            rejects.append(Reject(n, _OLDER, named))
            continue
        if record.event_id in seen:
            verdict.duplicates_in_batch += 1
            continue
        seen.add(record.event_id)
        admit(record)
    return verdict


# Every record line of a batch at once: COMPACT_RECORD, one line each (a line with "\r" or blanks
# around it does not match, and such a batch is read line by line).
_COMPACT_LINES = re.compile("^" + COMPACT_RECORD.pattern + "$", re.MULTILINE)


def _read_compact_batch(
    text: str,
    lines: list[str],
    latest_allowed: datetime,
    oldest_allowed: datetime | None,
    verdict: BatchVerdict,
) -> int | None:
    """Read a batch whose every record line is in the kiosks' compact layout, vouched for by the fast
    checks, inside the batch's time range and not repeated: the number of record lines, or None, with
    ``verdict`` untouched, for the line-by-line reader to read the batch (a blank line, another
    layout, a type or detail only the models can judge, a reject, a repeat).

    Gives what the line-by-line reader gives, with every per-record step done by C-level ``map``s over
    one ``findall`` rather than by Python code per record (issue 5)."""
    last = len(lines) - 1  # index of the last line
    expected = last if lines[last] else last - 1  # record lines, if none is blank but a final empty one
    if expected <= 0:
        return None
    rest = text[len(lines[0]) + 1 :]
    if len(rest) > MAX_LINE_BYTES and max(map(len, lines)) > MAX_LINE_BYTES:
        return None
    matches = _COMPACT_LINES.findall(rest)
    if len(matches) != expected:
        return None  # some line is not in the layout: each match is one whole line
    event_ids, types, prisoners, stamps, bodies = zip(*matches, strict=True)  # columns
    if len(set(event_ids)) != expected:
        return None  # a repeat: the line-by-line reader counts it
    # "" (no prisoner) is a heartbeat's, and only a heartbeat's; any other pairing is for the models
    kinds = list(map(_KIND_OF.get, zip(types, map(bool, prisoners), strict=True)))
    if None in kinds:
        return None
    details = list(map(_COMPACT_DETAIL_OF.get, zip(types, bodies, strict=True), repeat(_UNSEEN)))
    if _UNSEEN in details:
        details = list(map(_compact_detail_of, types, bodies))
    if None in details:
        return None
    try:
        occurred = list(map(datetime.fromisoformat, stamps))
    except ValueError:
        return None  # e.g. month 13: the line-by-line reader has the model word the reason
    if max(occurred) > latest_allowed or (oldest_allowed is not None and min(occurred) < oldest_allowed):
        return None  # a reject: the line-by-line reader words it
    verdict.accepted = list(
        map(
            tuple.__new__,
            repeat(AcceptedRecord),
            zip(
                range(2, expected + 2),
                event_ids,
                types,
                map(_NO_PRISONER.get, prisoners, prisoners),  # "" -> None
                occurred,
                details,
                kinds,
                islice(lines, 1, expected + 1),
                strict=True,
            ),
        )
    )
    return expected


_NO_PRISONER: dict[str, None] = {"": None}
# (type, has a prisoner) -> the record's kind, for the pairings the fast checks accept
_KIND_OF: dict[tuple[str, bool], RecordKind] = {
    (t, True): "prisoner" for t in COMPACT_DETAILS if t != "kiosk_heartbeat"
}
_KIND_OF[("kiosk_heartbeat", False)] = "heartbeat"
# (type, detail body as COMPACT_LINES gives it, "" when absent or {}) -> compact_detail's verdict
_COMPACT_DETAIL_OF: dict[tuple[str, str], str | None] = {}
_COMPACT_DETAIL_OF_SIZE = 8192


def _compact_detail_of(record_type: str, body: str) -> str | None:
    key = (record_type, body)
    known = _COMPACT_DETAIL_OF.get(key, _UNSEEN)
    if known is not _UNSEEN:
        return known  # type: ignore[no-any-return]
    if record_type not in COMPACT_DETAILS:
        return None  # an unknown type: the models judge it
    detail = compact_detail(record_type, body or None)
    if len(_COMPACT_DETAIL_OF) >= _COMPACT_DETAIL_OF_SIZE:
        _COMPACT_DETAIL_OF.clear()
    _COMPACT_DETAIL_OF[key] = detail
    return detail


_UNSEEN: Any = object()  # a detail body not in contract.COMPACT_DETAILS yet
_LATER = "occurred_at: later than the batch's created_at (clock wrong?)"
_OLDER = "occurred_at: older than the retention period"
# Stands in for created_at + CLOCK_SKEW past datetime.max; such a batch is quarantined anyway.
_LATEST = datetime.max.replace(tzinfo=UTC)


def _check_count(header: BatchHeader, lines: list[str]) -> None:
    """Quarantine a batch whose record_count is not its number of record (non-blank) lines."""
    records = sum(1 for raw in islice(lines, 1, None) if raw and not raw.isspace())
    if records != header.record_count:
        raise QuarantineError(
            f"record_count is {header.record_count} but {records} record lines follow (truncated or padded upload)"
        )
