"""Facts packed per batch and local day: round trip through the stored items, deterministic chunks,
and a winner among repeated events that does not depend on arrival order."""

from __future__ import annotations

import itertools
import json
import random
import zlib
from datetime import UTC, date, datetime

import pytest
from aim.adapters.activity_table import PACK_PREFIX, facts_of_item, facts_of_items, pack_items
from aim.domain.activity import Fact, member_ref, pack_day

DAY = date(2026, 11, 20)
RETENTION = 180


def _fact(n: int, batch: str = "K1/B1", **overrides: object) -> Fact:
    kiosk = batch.split("/")[0]
    base = Fact(
        "LEI",
        DAY,
        f"E-{n:04d}",
        "phone_call",
        datetime(2026, 11, 20, 8, n % 60, n % 59, tzinfo=UTC),
        kiosk,
        f"A{n % 10000:04d}BC",
        json.dumps({"duration_s": n}, separators=(",", ":")),
        batch,
    )
    return base._replace(**overrides)  # type: ignore[arg-type]


def _pack(facts: list[Fact], batch: str = "K1/B1", limit: int = 350_000) -> list[dict]:
    kiosk, batch_id = batch.split("/")
    return pack_items("LEI", pack_day(kiosk, batch_id, DAY, facts, RETENTION, limit=limit))


def _digest(items: list[dict]) -> str:
    return items[0]["sk"].split("#")[3]


def test_pack_round_trip_keeps_every_field_including_unicode_detail() -> None:
    # Given a prisoner record with a non-ASCII detail, one without detail, a heartbeat and an unknown type
    facts = [
        _fact(1, detail=json.dumps({"category": "Cais am ymweliad – ☕ café"}, separators=(",", ":"))),
        _fact(2, type="kiosk_login", detail=""),
        _fact(3, type="kiosk_heartbeat", prisoner_id=None, detail=""),
        _fact(4, type="hologram_booked", prisoner_id=None, event_id="U-1", detail='{"x":[1,2,{"y":null}]}'),
    ]
    # When they are packed and read back
    items = _pack(facts)
    # Then one item holds them, and decoding gives the very same facts (in identity order)
    assert len(items) == 1 and items[0]["sk"] == f"{PACK_PREFIX}K1#B1#{_digest(items)}#000" and items[0]["n"] == 4
    assert facts_of_item(items[0]) == sorted(facts, key=lambda f: f.identity)
    assert facts_of_items(items) == sorted(facts, key=lambda f: f.identity)
    assert json.loads(zlib.decompress(items[0]["f"]))  # compact JSON inside


def test_pack_stores_occurred_at_to_the_second() -> None:
    fact = _fact(1, occurred_at=datetime(2026, 11, 20, 8, 0, 5, 999_999, tzinfo=UTC))
    (decoded,) = facts_of_item(_pack([fact])[0])
    assert decoded.occurred_at == datetime(2026, 11, 20, 8, 0, 5, tzinfo=UTC)
    assert decoded == fact._replace(occurred_at=datetime(2026, 11, 20, 8, 0, 5, tzinfo=UTC))


def test_pack_bytes_do_not_depend_on_record_order() -> None:
    facts = [_fact(n) for n in range(200)]
    shuffled = facts[:]
    random.Random(3).shuffle(shuffled)
    assert _pack(facts) == _pack(shuffled)


def test_pack_expires_retention_after_its_latest_fact() -> None:
    facts = [_fact(1), _fact(2, occurred_at=datetime(2026, 11, 20, 23, 59, tzinfo=UTC))]
    (item,) = _pack(facts)
    assert item["expires_at"] == int(datetime(2027, 5, 19, 23, 59, tzinfo=UTC).timestamp())


def test_a_large_pack_splits_into_deterministic_chunks_each_under_the_limit() -> None:
    # Given facts whose compressed pack exceeds the chunk limit
    facts = [_fact(n, detail=json.dumps({"category": f"{n * 7919 % 100003:x}" * 4})) for n in range(600)]
    whole = _pack(facts)
    assert len(whole) == 1
    limit = len(whole[0]["f"]) // 3
    # When packed under that limit
    chunks = _pack(facts, limit=limit)
    # Then every chunk fits, the chunks together hold every fact once, and the split depends only on content
    assert len(chunks) >= 3
    assert [c["sk"] for c in chunks] == [f"{PACK_PREFIX}K1#B1#{_digest(whole)}#{n:03d}" for n in range(len(chunks))]
    assert all(len(c["f"]) <= limit for c in chunks)
    assert sum(c["n"] for c in chunks) == len(facts)
    assert facts_of_items(chunks) == sorted(facts, key=lambda f: f.identity)
    assert _pack(list(reversed(facts)), limit=limit) == chunks
    assert len({c["expires_at"] for c in chunks}) == 1


def test_chunking_boundary_exactly_at_the_limit() -> None:
    facts = [_fact(n) for n in range(50)]
    size = len(_pack(facts)[0]["f"])
    assert len(_pack(facts, limit=size)) == 1  # fits exactly: one chunk
    assert len(_pack(facts, limit=size - 1)) >= 2  # one byte less: split
    with pytest.raises(ValueError, match="does not fit"):
        _pack(facts[:1], limit=5)


def test_repeated_event_winner_does_not_depend_on_arrival_order() -> None:
    # Given one event carried by three batches from different kiosks (a re-batched retry), with
    # different provenance, plus a heartbeat repeated by two batches of one kiosk
    copies = [
        _pack([_fact(7, batch="K2/B9", kiosk_id="K2")], batch="K2/B9"),
        _pack([_fact(7, batch="K1/B5", kiosk_id="K1")], batch="K1/B5"),
        _pack([_fact(7, batch="K3/B1", kiosk_id="K3")], batch="K3/B1"),
        _pack([_fact(8, batch="K1/B6", type="kiosk_heartbeat", prisoner_id=None)], batch="K1/B6"),
        _pack([_fact(8, batch="K1/B7", type="kiosk_heartbeat", prisoner_id=None)], batch="K1/B7"),
    ]
    # When the items come back in every order
    results = {tuple(facts_of_items(itertools.chain(*order))) for order in itertools.permutations(copies)}
    # Then the result is always the same: each event once, the copy of the batch whose ref sorts first
    assert len(results) == 1
    (facts,) = results
    assert [(f.identity, f.batch) for f in facts] == [
        ("A0007BC#E-0007", "K1/B5"),
        ("~K#K1#E-0008", "K1/B6"),
    ]


def test_heartbeats_of_two_kiosks_with_one_event_id_are_two_facts() -> None:
    a = _pack([_fact(8, batch="K1/B1", type="kiosk_heartbeat", prisoner_id=None)], batch="K1/B1")
    b = _pack([_fact(8, batch="K2/B1", kiosk_id="K2", type="kiosk_heartbeat", prisoner_id=None)], batch="K2/B1")
    assert [f.identity for f in facts_of_items([*a, *b])] == ["~K#K1#E-0008", "~K#K2#E-0008"]


def test_change_set_member_names_the_batch_and_a_digest_of_its_facts_of_the_day() -> None:
    # Given a batch's facts of a day, and the same batch_id re-used with other content
    first = pack_day("K1", "B1", DAY, [_fact(1), _fact(2)], RETENTION)
    same = pack_day("K1", "B1", DAY, [_fact(2), _fact(1)], RETENTION)
    other = pack_day("K1", "B1", DAY, [_fact(1), _fact(3)], RETENTION)
    # Then the same facts give the same member and keys; other facts a different member and keys
    assert first == same
    assert first.member.startswith("K1/B1#") and member_ref(first.member) == "K1/B1"
    assert other.member != first.member
    assert pack_items("LEI", other)[0]["sk"] != pack_items("LEI", first)[0]["sk"]
