"""Facts: the events of one batch for one local day, packed together (one pack per batch and day).

A pack holds a batch's facts of one local day, sorted by identity, as compact JSON rows compressed
with zlib, split into the fewest near-equal chunks that each fit a storage item. Its content depends
only on the batch's accepted records, so a redelivered message or a re-uploaded batch gives the
identical pack, and its member (``{kiosk}/{batch_id}#{digest}``, named in the day's change set)
says that it is stored. The same event in *another* batch is stored again, in that batch's pack,
and counts once when the day is read (``distinct_facts``): copies share an identity (prisoner +
event_id; kiosk + event_id for heartbeats) and the copy whose batch ref (``{kiosk}/{batch_id}``)
sorts first wins, whatever order the batches arrived in.

Where packs are stored, and under which keys, is the activity repository's business.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from operator import floordiv
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from aim.domain.batch import AcceptedRecord, BatchVerdict

# Compressed bytes of facts in one pack chunk: DynamoDB items max 400 KB, keys and attributes included.
PACK_CHUNK_BYTES = 350_000
PACK_DIGEST_CHARS = 10  # hex digits of SHA-256 of a day's facts in a pack's key and change-set member
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_EPOCH_ORDINAL = _EPOCH.toordinal()


class Fact(NamedTuple):
    """One stored event. Immutable; a named tuple because a batch builds one per record and a
    frozen dataclass costs several times more to construct."""

    establishment: str
    local_date: date
    event_id: str
    type: str
    occurred_at: datetime  # UTC
    kiosk_id: str
    prisoner_id: str | None = None
    detail: str = ""  # compact JSON of the validated detail, "" when empty
    batch: str = ""  # "{kiosk}/{batch_id}" whose copy this is (provenance; the first ref wins on reading)

    @property
    def identity(self) -> str:
        """The event's identity within its day: copies of one event in several batches share it."""
        if self.type == "kiosk_heartbeat":
            return f"~K#{self.kiosk_id}#{self.event_id}"
        if self.prisoner_id is None:
            return f"~U#{self.event_id}"
        return f"{self.prisoner_id}#{self.event_id}"

    def detail_dict(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The establishment's calendar day of a moment (DST-correct)."""
    return moment.astimezone(tz).date()


# zone -> UTC quarter hour (days since 0001-01-01 * 96 + quarter of the day) -> local date
_DAY_OF_QUARTER: dict[ZoneInfo, dict[int, date]] = {}
_DAY_CACHE_QUARTERS = 400 * 96  # about 400 days of quarters per zone, then the zone's cache starts again


def facts_from_verdict(verdict: BatchVerdict, tz: ZoneInfo) -> list[Fact]:
    header = verdict.header
    establishment, kiosk_id = header.establishment, header.kiosk_id
    ref = batch_ref(kiosk_id, header.batch_id)
    facts: list[Fact] = []
    append = facts.append
    new, fact, utc = tuple.__new__, Fact, UTC  # a Fact without its Python-level __new__
    # Local dates change only at whole quarter hours of UTC in every real zone since 1970 (offsets
    # are multiples of 15 minutes): one time-zone lookup per quarter hour, not per record, kept
    # across batches. The quarter is counted from the UTC calendar fields, cheaper than timestamp().
    day_of_quarter = _DAY_OF_QUARTER.get(tz)
    if day_of_quarter is None or len(day_of_quarter) > _DAY_CACHE_QUARTERS:
        day_of_quarter = _DAY_OF_QUARTER[tz] = {}
    day_of = day_of_quarter.get
    for record in verdict.accepted:
        occurred = record.occurred_at
        if occurred.tzinfo is not utc:
            occurred = occurred.astimezone(utc)
        quarter = occurred.toordinal() * 96 + occurred.hour * 4 + occurred.minute // 15
        local_day = day_of(quarter)
        if local_day is None:
            local_day = day_of_quarter[quarter] = occurred.astimezone(tz).date()
        append(
            new(
                fact,
                (
                    establishment,
                    local_day,
                    record.event_id,
                    record.type,
                    occurred,
                    kiosk_id,
                    record.prisoner_id,
                    record.detail,
                    ref,
                ),
            )
        )
    return facts


def batch_ref(kiosk_id: str, batch_id: str) -> str:
    return f"{kiosk_id}/{batch_id}"


def batch_days(facts: list[Fact]) -> dict[date, datetime]:
    """Local days a batch's facts fall on, each with its latest occurred_at (for expiry)."""
    out: dict[date, datetime] = {}
    latest = out.get
    for f in facts:
        day, at = f.local_date, f.occurred_at
        held = latest(day)
        if held is None or at > held:  # as max(held, at): the earlier of equal moments stays
            out[day] = at
    return out


# ------------------------------------------------------------------------------------------------
# Packs: one item (or a few chunks) per batch and local day


class DayPack(NamedTuple):
    """One batch's facts of one local day, packed: the chunks that store them (each its number of
    facts and its zlib-compressed JSON rows), and when they expire (epoch seconds)."""

    day: date
    kiosk_id: str
    batch_id: str
    digest: str  # of the day's facts in the pack ("" when there are none)
    chunks: list[tuple[int, bytes]]
    facts: int
    expires_at: int

    @property
    def member(self) -> str:
        """What the day's change set names once the pack is stored: ``{kiosk}/{batch_id}#{digest}``."""
        ref = batch_ref(self.kiosk_id, self.batch_id)
        return f"{ref}#{self.digest}" if self.digest else ref


def member_ref(member: str) -> str:
    """The batch ref of a change-set member."""
    return member.partition("#")[0]


def _row(f: Fact) -> list[Any]:
    return [f.prisoner_id, f.event_id, f.type, (f.occurred_at - _EPOCH) // _SECOND, f.detail]


# json.dumps(rows, separators=(",", ":"), ensure_ascii=False) without building an encoder per call
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json(rows: list[list[Any]]) -> bytes:
    return _ENCODER.encode(rows).encode("utf-8")


# Level 1: about a third less CPU than level 6 for packs of a few KB, for about a tenth more bytes.
# Any level reads back with zlib.decompress.
PACK_ZLIB_LEVEL = 1


def _join_rows(row_texts: list[str]) -> bytes:
    """``_json`` of rows given each row's own ``_json`` text."""
    return ("[" + ",".join(row_texts) + "]").encode("utf-8")


def _chunks(
    rows: list[Any], limit: int, text: bytes | None = None, encode: Callable[[Any], bytes] = _json
) -> list[tuple[int, bytes]]:
    """The fewest near-equal runs of ``rows`` (in order) that each compress to at most ``limit`` bytes:
    a function of the rows alone, so the same facts always give the same chunks. ``encode``: the JSON
    of a run of rows (``_json`` of row lists, or ``_join_rows`` of row texts); ``text``: the JSON of all
    the rows, when the caller has it already."""
    whole = zlib.compress(encode(rows) if text is None else text, PACK_ZLIB_LEVEL)
    if len(whole) <= limit:
        return [(len(rows), whole)]
    for k in range(max(2, -(-len(whole) // limit)), len(rows) + 1):
        size, extra = divmod(len(rows), k)
        bounds = [i * size + min(i, extra) for i in range(k + 1)]
        encoded = [
            (bounds[i + 1] - bounds[i], zlib.compress(encode(rows[bounds[i] : bounds[i + 1]]), PACK_ZLIB_LEVEL))
            for i in range(k)
        ]
        if all(len(blob) <= limit for _, blob in encoded):
            return encoded
    raise ValueError("a single fact does not fit in a pack chunk")


def _sorted_rows(facts: Iterable[Fact]) -> tuple[list[list[Any]], datetime | None]:
    """``[_row(f) for f in sorted(facts, key=lambda f: f.identity)]`` and the first latest occurred_at in that
    order (of equal moments in different zones, the one a day added to gives what it always gave)."""
    keys: list[str] = []
    rows: list[list[Any]] = []
    moments: list[datetime] = []
    key, row, moment = keys.append, rows.append, moments.append
    utc, epoch_days = UTC, _EPOCH_ORDINAL
    for _est, _day, event_id, type_, occurred, kiosk_id, prisoner, detail, _batch in facts:
        if type_ == "kiosk_heartbeat":
            key(f"~K#{kiosk_id}#{event_id}")
        elif prisoner is None:
            key(f"~U#{event_id}")
        else:
            key(f"{prisoner}#{event_id}")
        if occurred.tzinfo is utc:  # whole seconds since the epoch, floored, from the calendar fields
            seconds = (
                (occurred.toordinal() - epoch_days) * 86400
                + occurred.hour * 3600
                + occurred.minute * 60
                + occurred.second
            )
        else:
            seconds = (occurred - _EPOCH) // _SECOND
        row([prisoner, event_id, type_, seconds, detail])
        moment(occurred)
    if len(rows) < 2:
        return rows, moments[0] if moments else None
    order = sorted(range(len(rows)), key=keys.__getitem__)  # stable, as sorted(facts, key=identity)
    return [rows[i] for i in order], max(map(moments.__getitem__, order))


def pack_day(
    kiosk_id: str,
    batch_id: str,
    day: date,
    facts: Iterable[Fact],
    retention_days: int,
    limit: int = PACK_CHUNK_BYTES,
) -> DayPack:
    """One batch's facts of one local day, sorted by identity, packed: deterministic bytes.

    The member (and the storage key) carries a digest of the day's facts, so a batch_id re-used with
    other content (a kiosk bug; or a re-upload whose records now fall differently inside retention)
    is stored beside the first, never mistaken for a redelivery. The pack expires ``retention_days``
    after its latest fact (at most a day after its earliest fact would have)."""
    rows, latest = _sorted_rows(facts)
    if latest is None:
        return DayPack(day, kiosk_id, batch_id, "", [], 0, 0)
    expires = int((latest + timedelta(days=retention_days)).timestamp())
    text = _json(rows)
    digest = hashlib.sha256(text).hexdigest()[:PACK_DIGEST_CHARS]
    return DayPack(day, kiosk_id, batch_id, digest, _chunks(rows, limit, text), len(rows), expires)


def batch_packs(
    verdict: BatchVerdict, tz: ZoneInfo, retention_days: int, limit: int = PACK_CHUNK_BYTES
) -> list[DayPack]:
    """The packs of a batch, one per local day in day order: what ``pack_day`` gives for each day
    of ``facts_by_day(facts_from_verdict(verdict, tz))``, made without a Fact per record."""
    accepted = verdict.accepted
    if not accepted:
        return []
    header = verdict.header
    kiosk_id, batch_id = header.kiosk_id, header.batch_id
    day_of_quarter = _DAY_OF_EPOCH_QUARTER.get(tz)
    if day_of_quarter is None or len(day_of_quarter) > _DAY_CACHE_QUARTERS:
        day_of_quarter = _DAY_OF_EPOCH_QUARTER[tz] = {}
    by_day = _columns(accepted, kiosk_id, tz, day_of_quarter) or _per_record(accepted, kiosk_id, tz, day_of_quarter)
    packs = []
    for day in sorted(by_day):
        keys, row_texts, latest = by_day[day]
        if len(keys) > 1:
            row_texts = list(map(row_texts.__getitem__, sorted(range(len(keys)), key=keys.__getitem__)))  # stable
        text = _join_rows(row_texts)
        digest = hashlib.sha256(text).hexdigest()[:PACK_DIGEST_CHARS]
        chunks = _chunks(row_texts, limit, text, _join_rows)
        packs.append(DayPack(day, kiosk_id, batch_id, digest, chunks, len(row_texts), latest + retention_days * 86400))
    return packs


# A local day's facts of one batch: their identities (Fact.identity), their rows' JSON texts, and the
# latest fact's whole seconds since the epoch.
_DayRows = tuple[list[str], list[str], int]


def _per_record(
    accepted: list[AcceptedRecord], kiosk_id: str, tz: ZoneInfo, day_of_quarter: dict[int, date]
) -> dict[date, _DayRows]:
    """``_columns`` for any accepted records, one record at a time."""
    utc, epoch_days, encode = UTC, _EPOCH_ORDINAL, _ENCODER.encode
    out: dict[date, _DayRows] = {}
    for _line, event_id, type_, prisoner, occurred, detail, _kind, _source in accepted:
        if occurred.tzinfo is not utc:
            occurred = occurred.astimezone(utc)
        seconds = (  # whole seconds since the epoch, floored, from the calendar fields
            (occurred.toordinal() - epoch_days) * 86400 + occurred.hour * 3600 + occurred.minute * 60 + occurred.second
        )
        quarter = seconds // 900  # local dates change only at whole quarter hours of UTC (facts_from_verdict)
        day = day_of_quarter.get(quarter)
        if day is None:
            day = day_of_quarter[quarter] = occurred.astimezone(tz).date()
        if type_ == "kiosk_heartbeat":
            key = f"~K#{kiosk_id}#{event_id}"
        elif prisoner is None:
            key = f"~U#{event_id}"
        else:
            key = f"{prisoner}#{event_id}"
        row = encode([prisoner, event_id, type_, seconds, detail])
        held = out.get(day)
        if held is None:
            out[day] = ([key], [row], seconds)
        else:
            held[0].append(key)
            held[1].append(row)
            if seconds > held[2]:
                out[day] = (held[0], held[1], seconds)
    return out


def _columns(
    accepted: list[AcceptedRecord], kiosk_id: str, tz: ZoneInfo, day_of_quarter: dict[int, date]
) -> dict[date, _DayRows] | None:
    """What ``_per_record`` gives, made column by column with C-level ``map``s, for records of
    contract types (their event_id, type and prisoner need no JSON escapes: the contract's patterns)
    at whole seconds within about 270 years of 1970 (where a float timestamp is exact); else None."""
    _lines, event_ids, types, prisoners, occurred, details, kinds, _sources = zip(*accepted, strict=True)
    if "unknown" in kinds:
        return None  # an unknown type may be any text: _per_record encodes it
    stamps = list(map(datetime.timestamp, occurred))
    if not all(map(float.is_integer, stamps)) or max(stamps) >= 2.0**33 or min(stamps) <= -(2.0**33):
        return None
    seconds = list(map(int, stamps))
    days: list[date] = list(map(day_of_quarter.get, map(floordiv, seconds, repeat(900))))  # type: ignore[arg-type]
    if None in days:  # a quarter hour not seen yet
        for i, day in enumerate(days):
            if day is None:
                quarter = seconds[i] // 900
                held = day_of_quarter.get(quarter)
                if held is None:
                    held = day_of_quarter[quarter] = occurred[i].astimezone(tz).date()
                days[i] = held
    # identities: "{prisoner}#{event_id}", "~K#{kiosk}#{event_id}" for a heartbeat (f-strings: str.format
    # costs several times more)
    heartbeat_key = {"kiosk_heartbeat": f"~K#{kiosk_id}"}.get
    keys = [f"{who}#{e}" for who, e in zip(map(heartbeat_key, types, prisoners), event_ids, strict=True)]
    row_texts = [
        f'["{p}","{e}","{t}",{s},{d}]' if p is not None else f'[null,"{e}","{t}",{s},{d}]'
        for p, e, t, s, d in zip(prisoners, event_ids, types, seconds, map(encode_basestring, details), strict=True)
    ]
    first = days[0]
    if days.count(first) == len(days):
        return {first: (keys, row_texts, max(seconds))}
    out: dict[date, _DayRows] = {}
    for i, day in enumerate(days):
        held = out.get(day)
        if held is None:
            out[day] = ([keys[i]], [row_texts[i]], seconds[i])
        else:
            held[0].append(keys[i])
            held[1].append(row_texts[i])
            if seconds[i] > held[2]:
                out[day] = (held[0], held[1], seconds[i])
    return out


# zone -> UTC quarter hour (whole quarters since the epoch, floored) -> local date
_DAY_OF_EPOCH_QUARTER: dict[ZoneInfo, dict[int, date]] = {}


def facts_of_chunk(establishment: str, day: date, kiosk_id: str, batch_id: str, blob: bytes) -> list[Fact]:
    """The facts of one pack chunk (``blob``: its zlib-compressed JSON rows)."""
    ref = batch_ref(kiosk_id, batch_id)
    rows = json.loads(zlib.decompress(blob))
    seconds: dict[int, datetime] = {}
    out = []
    for prisoner, event_id, type_, at, detail in rows:
        occurred = seconds.get(at)
        if occurred is None:
            occurred = seconds[at] = _EPOCH + timedelta(seconds=at)
        out.append(Fact(establishment, day, event_id, type_, occurred, kiosk_id, prisoner, detail, ref))
    return out


def distinct_facts(facts: Iterable[Fact]) -> list[Fact]:
    """The distinct facts of a day's packs, each once, in identity order.

    Copies of one event (same ``identity``) from different batches: the copy whose batch ref sorts
    first wins, so the result does not depend on the order batches arrived in."""
    best: dict[str, Fact] = {}
    for f in facts:
        key = f.identity
        held = best.get(key)
        if held is None or _rank(f) < _rank(held):
            best[key] = f
    return [best[k] for k in sorted(best)]


def _rank(f: Fact) -> tuple[str, str, datetime, str, str]:
    return (f.batch, f.type, f.occurred_at, f.kiosk_id, f.detail)


def facts_by_day(facts: Iterable[Fact]) -> dict[date, list[Fact]]:
    out: dict[date, list[Fact]] = {}
    held = out.get
    for f in facts:
        day = f.local_date
        same_day = held(day)
        if same_day is None:
            out[day] = [f]
        else:
            same_day.append(f)
    return out
