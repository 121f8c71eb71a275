"""The transform's fast paths give exactly what the plain implementations kept here give: facts,
their grouping by day, the latest moment of each day, and the packs (bytes included)."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aim.adapters.activity_table import facts_of_item, pack_items
from aim.domain.activity import (
    PACK_DIGEST_CHARS,
    PACK_ZLIB_LEVEL,
    DayPack,
    Fact,
    _columns,
    _per_record,
    batch_days,
    batch_packs,
    facts_by_day,
    facts_from_verdict,
    pack_day,
)
from aim.domain.batch import AcceptedRecord
from hypothesis import given, settings
from hypothesis import strategies as st

ZONES = [
    ZoneInfo(z)
    for z in ("Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham", "UTC")
]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# ------------------------------------------------------------------------------------------------
# Reference implementations: the plain code the fast paths replaced


def ref_facts_from_verdict(verdict: Any, tz: ZoneInfo) -> list[Fact]:
    h = verdict.header
    ref = f"{h.kiosk_id}/{h.batch_id}"
    return [
        Fact(
            h.establishment,
            r.occurred_at.astimezone(tz).date(),
            r.event_id,
            r.type,
            r.occurred_at.astimezone(UTC),
            h.kiosk_id,
            r.prisoner_id,
            r.detail,
            ref,
        )
        for r in verdict.accepted
    ]


def ref_facts_by_day(facts: Iterable[Fact]) -> dict[date, list[Fact]]:
    out: dict[date, list[Fact]] = {}
    for f in facts:
        out.setdefault(f.local_date, []).append(f)
    return out


def ref_batch_days(facts: list[Fact]) -> dict[date, datetime]:
    out: dict[date, datetime] = {}
    for f in facts:
        out[f.local_date] = max(out.get(f.local_date, f.occurred_at), f.occurred_at)
    return out


def _ref_json(rows: list[list[Any]]) -> bytes:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _ref_encode(rows: list[list[Any]]) -> bytes:
    return zlib.compress(_ref_json(rows), PACK_ZLIB_LEVEL)


def _ref_chunks(rows: list[list[Any]], limit: int) -> list[tuple[int, bytes]]:
    whole = _ref_encode(rows)
    if len(whole) <= limit:
        return [(len(rows), whole)]
    for k in range(max(2, -(-len(whole) // limit)), len(rows) + 1):
        size, extra = divmod(len(rows), k)
        bounds = [i * size + min(i, extra) for i in range(k + 1)]
        encoded = [(bounds[i + 1] - bounds[i], _ref_encode(rows[bounds[i] : bounds[i + 1]])) for i in range(k)]
        if all(len(blob) <= limit for _, blob in encoded):
            return encoded
    raise ValueError("a single fact does not fit in a pack chunk")


def ref_pack_day(
    kiosk_id: str,
    batch_id: str,
    day: date,
    facts: Iterable[Fact],
    retention_days: int,
    limit: int,
) -> DayPack:
    ordered = sorted(facts, key=lambda f: f.identity)
    if not ordered:
        return DayPack(day, kiosk_id, batch_id, "", [], 0, 0)
    expires = int((max(f.occurred_at for f in ordered) + timedelta(days=retention_days)).timestamp())
    rows = [
        [f.prisoner_id, f.event_id, f.type, (f.occurred_at - _EPOCH) // timedelta(seconds=1), f.detail] for f in ordered
    ]
    digest = hashlib.sha256(_ref_json(rows)).hexdigest()[:PACK_DIGEST_CHARS]
    return DayPack(day, kiosk_id, batch_id, digest, _ref_chunks(rows, limit), len(rows), expires)


# ------------------------------------------------------------------------------------------------
# Strategies

offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=3, minutes=30)), ZoneInfo("Asia/Tokyo")]
)
# Since 1970: every zone's offsets are whole quarter hours (the local-date cache relies on it).
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=offsets)
# Moments bunched into a few days, so that days, quarters and identities repeat.
near_moments = st.builds(
    lambda base, minutes, micro: base + timedelta(minutes=minutes, microseconds=micro),
    st.sampled_from(
        [
            datetime(2026, 3, 28, 22, tzinfo=UTC),  # London spring change
            datetime(2026, 10, 24, 22, tzinfo=UTC),  # London autumn change
            datetime(2026, 7, 1, 20, tzinfo=ZoneInfo("Asia/Kathmandu")),
        ]
    ),
    st.integers(0, 3 * 24 * 60),
    st.integers(0, 999_999),
)
types = st.sampled_from(["kiosk_login", "phone_call", "kiosk_heartbeat", "hologram_booked", "visit_cancelled"])
texts = st.text(alphabet='ab#/é☕ "\\', max_size=6)


@st.composite
def records(draw: st.DrawFn) -> SimpleNamespace:
    t = draw(types)
    return SimpleNamespace(
        event_id=draw(st.sampled_from(["E1", "E2", "E#3"]) | texts),
        type=t,
        prisoner_id=None if t == "kiosk_heartbeat" else draw(st.none() | st.sampled_from(["A1234BC", "B0001AA"])),
        occurred_at=draw(moments | near_moments),
        detail=draw(st.just("") | texts.map(lambda x: json.dumps({"x": x}, ensure_ascii=False))),
    )


verdicts = st.builds(
    lambda kiosk, batch_id, accepted: SimpleNamespace(
        header=SimpleNamespace(establishment="LEI", kiosk_id=kiosk, batch_id=batch_id), accepted=accepted
    ),
    st.sampled_from(["K1", "K-A-2"]),
    st.sampled_from(["B1", "b.2"]),
    st.lists(records(), max_size=40),
)


# ------------------------------------------------------------------------------------------------
# Equivalence


@settings(max_examples=300, deadline=None)
@given(verdict=verdicts, tz=st.sampled_from(ZONES))
def test_facts_from_verdict_are_the_reference_facts(verdict: Any, tz: ZoneInfo) -> None:
    facts = facts_from_verdict(verdict, tz)
    expected = ref_facts_from_verdict(verdict, tz)
    assert facts == expected
    assert all(type(f) is Fact and f.occurred_at.tzinfo is UTC for f in facts)
    # And the grouping by day and each day's latest moment are the reference ones too
    assert facts_by_day(facts) == ref_facts_by_day(expected)
    assert list(facts_by_day(facts)) == list(ref_facts_by_day(expected))
    assert batch_days(facts) == ref_batch_days(expected)


@settings(max_examples=300, deadline=None)
@given(
    verdict=verdicts,
    tz=st.sampled_from(ZONES),
    limit=st.sampled_from([60, 150, 400, 350_000]),
    retention=st.integers(1, 400),
    shuffle=st.randoms(use_true_random=False),
)
def test_pack_day_is_the_reference_pack_byte_for_byte(
    verdict: Any, tz: ZoneInfo, limit: int, retention: int, shuffle: Any
) -> None:
    facts = ref_facts_from_verdict(verdict, tz)
    # Facts as the reader may see them: some with an equal moment in another zone (not UTC)
    facts = [f._replace(occurred_at=f.occurred_at.astimezone(tz)) if i % 3 == 1 else f for i, f in enumerate(facts)]
    shuffle.shuffle(facts)
    for day, day_facts in ref_facts_by_day(facts).items():
        args = (verdict.header.kiosk_id, verdict.header.batch_id, day, day_facts, retention)
        try:
            expected = ref_pack_day(*args, limit=limit)
        except ValueError as exc:
            with pytest.raises(ValueError, match=str(exc)):
                pack_day(*args, limit=limit)
            continue
        assert pack_day(*args, limit=limit) == expected
        assert pack_day(*args[:3], iter(day_facts), retention, limit=limit) == expected  # any iterable


def test_an_empty_pack_is_the_reference_one() -> None:
    assert pack_day("K1", "B1", date(2026, 1, 1), [], 30) == ref_pack_day("K1", "B1", date(2026, 1, 1), [], 30, 350_000)


def test_facts_of_one_zone_are_right_whatever_other_zones_were_seen_before() -> None:
    # Given one batch read in two zones in turn (the local-date cache is per zone)
    moment = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    verdict = SimpleNamespace(
        header=SimpleNamespace(establishment="LEI", kiosk_id="K1", batch_id="B1"),
        accepted=[SimpleNamespace(event_id="E1", type="phone_call", prisoner_id="A1", occurred_at=moment, detail="")],
    )
    for tz in [ZoneInfo("Europe/London"), ZoneInfo("UTC"), ZoneInfo.no_cache("Europe/London"), ZoneInfo("UTC")]:
        assert facts_from_verdict(verdict, tz)[0].local_date == moment.astimezone(tz).date()  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# batch_packs: a batch's packs made in one pass (what ingest runs), against the reference facts,
# grouping and pack_items. Records as read_batch holds them: contract types with contract-shaped
# ids (their JSON needs no escapes), unknown types of any text.

contract_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,10}", fullmatch=True)
prison_numbers = st.sampled_from(["A1234BC", "B0001AA", "Z9999ZZ"])


@st.composite
def accepted_records(draw: st.DrawFn) -> AcceptedRecord:
    kind = draw(st.sampled_from(["prisoner", "prisoner", "heartbeat", "unknown"]))
    if kind == "prisoner":
        type_, prisoner = draw(st.sampled_from(["kiosk_login", "phone_call", "visit_cancelled"])), draw(prison_numbers)
    elif kind == "heartbeat":
        type_, prisoner = "kiosk_heartbeat", None
    else:
        type_, prisoner = (
            draw(st.sampled_from(["hologram_booked"]) | texts.filter(bool)),
            draw(st.none() | prison_numbers),
        )
    whole = draw(st.booleans())
    moment = draw(moments | near_moments)
    return AcceptedRecord(
        draw(st.integers(2, 99)),
        draw(contract_ids),
        type_,
        prisoner,
        moment.replace(microsecond=0) if whole else moment,
        draw(st.just("") | texts.map(lambda x: json.dumps({"x": x}, ensure_ascii=False))),
        kind,  # type: ignore[arg-type]
        None,
    )


batch_verdicts = st.builds(
    lambda kiosk, batch_id, accepted: SimpleNamespace(
        header=SimpleNamespace(establishment="LEI", kiosk_id=kiosk, batch_id=batch_id), accepted=accepted
    ),
    st.sampled_from(["K1", "K-A-2"]),
    st.sampled_from(["B1", "b.2"]),
    st.lists(accepted_records(), max_size=30)
    | st.lists(accepted_records().filter(lambda a: a.kind != "unknown"), max_size=30),
)


def reference_packs(verdict: Any, tz: ZoneInfo, retention: int, limit: int) -> list[DayPack] | str:
    h = verdict.header
    try:
        return [
            ref_pack_day(h.kiosk_id, h.batch_id, day, day_facts, retention, limit)
            for day, day_facts in sorted(ref_facts_by_day(ref_facts_from_verdict(verdict, tz)).items())
        ]
    except ValueError as exc:
        return str(exc)


@settings(max_examples=400, deadline=None)
@given(
    verdict=batch_verdicts,
    tz=st.sampled_from(ZONES),
    limit=st.sampled_from([60, 150, 400, 350_000]),
    retention=st.integers(1, 400),
)
def test_batch_packs_are_the_reference_packs_byte_for_byte(
    verdict: Any, tz: ZoneInfo, limit: int, retention: int
) -> None:
    try:
        packs: list[DayPack] | str = batch_packs(verdict, tz, retention, limit)
    except ValueError as exc:
        packs = str(exc)
    assert packs == reference_packs(verdict, tz, retention, limit)
    if isinstance(packs, list):  # And each change set expires with its pack: retention after the day's latest fact
        latest = ref_batch_days(ref_facts_from_verdict(verdict, tz))
        for p in packs:
            assert p.expires_at == int((latest[p.day] + timedelta(days=retention)).timestamp())


@settings(max_examples=300, deadline=None)
@given(verdict=batch_verdicts, tz=st.sampled_from(ZONES))
def test_the_column_path_gives_what_the_per_record_path_gives(verdict: Any, tz: ZoneInfo) -> None:
    if not verdict.accepted:
        return
    columns = _columns(verdict.accepted, verdict.header.kiosk_id, tz, {})
    per_record = _per_record(verdict.accepted, verdict.header.kiosk_id, tz, {})
    assert columns is None or columns == per_record
    whole_seconds = all(a.occurred_at.microsecond == 0 for a in verdict.accepted)
    if whole_seconds and all(a.kind != "unknown" for a in verdict.accepted):
        assert columns is not None  # the common batch takes the column path


def test_a_pack_written_at_level_6_still_reads() -> None:
    # Given a pack as written before packs were compressed at PACK_ZLIB_LEVEL (level 6)
    moment = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    verdict = SimpleNamespace(
        header=SimpleNamespace(establishment="LEI", kiosk_id="K1", batch_id="B1"),
        accepted=[AcceptedRecord(2, "E1", "phone_call", "A1234BC", moment, '{"duration_s":5}', "prisoner", None)],
    )
    (pack,) = batch_packs(verdict, ZoneInfo("Europe/London"), 30)  # type: ignore[arg-type]
    (item,) = pack_items("LEI", pack)
    old = item | {"f": zlib.compress(zlib.decompress(item["f"]), 6)}
    assert old["f"] != item["f"]
    # When it is read, Then it gives the same facts
    assert facts_of_item(old) == facts_of_item(item)
    assert facts_of_item(old)[0].occurred_at == moment
