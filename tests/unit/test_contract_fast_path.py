"""The fast path for plain records agrees with the pydantic models it stands in for (issue 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aim.domain.batch import AcceptedRecord, QuarantineError, read_batch
from aim.domain.contract import DETAIL_MODELS, FAST_DETAIL_CHECKS, RECORD_ADAPTER, plain_record
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

HEADER = {
    "schema": "aim.kiosk-batch/1",
    "batch_id": "B-1",
    "establishment": "LEI",
    "kiosk_id": "K1",
    "created_at": "2026-11-20T09:00:00Z",
}


def batch(records: list[str]) -> bytes:
    return "\n".join([json.dumps(HEADER | {"record_count": len(records)}), *records]).encode()


@pytest.mark.parametrize("record_type", sorted(DETAIL_MODELS))
def test_fast_checks_name_the_same_detail_fields_as_the_model(record_type: str) -> None:
    model = DETAIL_MODELS[record_type]
    fields = {(f.alias or name): f.is_required() for name, f in model.model_fields.items()}
    checks = {key: required for key, (_, required) in FAST_DETAIL_CHECKS[record_type].items()}
    if record_type in ("kiosk_heartbeat",):
        assert checks == {}
    else:
        assert checks == fields


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["work", "gym", "sick", "visitor", "court", "open", "none", "B-2-14", "b-2-14", "LEI", "lei", "", "x" * 65]
    ),
    st.sampled_from(["2026-02-30", "2026-01-05", "2026-1-5", "\u0662026-01-05", "1990-10-13\n"]),
    st.text(max_size=70),
)
detail_keys = sorted({key for checks in FAST_DETAIL_CHECKS.values() for key in checks} | {"extra"})
records = st.fixed_dictionaries(
    {
        "event_id": st.sampled_from(["E-1", "E:1.x_y", "", "e" * 65, "E 1", "E-1\n"]) | st.text(max_size=5),
        "type": st.sampled_from([*sorted(DETAIL_MODELS), "mystery", "KIOSK_LOGIN"]),
        "prisoner_id": st.sampled_from(["A1234BC", "a1234bc", "A1234B", "A1234BC\n"]) | st.none() | st.integers(),
        "occurred_at": st.sampled_from(
            [
                "2026-11-20T08:00:00Z",
                "2026-11-20T08:00:00+01:00",
                "2026-11-20t08:00:00z",
                "2026-11-20 08:00:00-05:30",
                "2026-11-20T08:00:00.5Z",
                "2026-11-20T08:00:00",
                "2026-13-20T08:00:00Z",
                "2026-11-20T08:00:00Z\n",
            ]
        ),
    },
    optional={"detail": st.dictionaries(st.sampled_from(detail_keys), scalars, max_size=4) | scalars},
).map(
    lambda r: {k: v for k, v in r.items() if not (k == "prisoner_id" and v is None and r["type"] == "kiosk_heartbeat")}
)


# Mostly valid records, so the fast path's acceptances are exercised, not only its refusals.
plausible_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 1000),
    st.sampled_from(
        [
            *("work", "education", "gym", "library", "faith", "other", "refused", "sick", "cancelled"),
            *("prisoner", "visitor", "establishment", "court", "sentence", "parole", "anniversary"),
            *("open", "post_closure", "none", "B-2-14", "A", "LEI", "MDI", "2026-01-05", "1990-10-13"),
            *("caf\u00e9", "x" * 64, "x" * 65, "2026-02-30"),
        ]
    ),
)
plausible = st.sampled_from(sorted(DETAIL_MODELS)).flatmap(
    lambda t: st.fixed_dictionaries(
        {"event_id": st.just("E-1"), "type": st.just(t), "occurred_at": st.just("2026-11-20T08:00:00+01:00")}
        | ({} if t == "kiosk_heartbeat" else {"prisoner_id": st.just("A1234BC")}),
        optional={
            "detail": st.dictionaries(
                st.sampled_from(sorted(FAST_DETAIL_CHECKS[t]) or ["extra"]), plausible_values, max_size=4
            )
        },
    )
)


@settings(max_examples=3000, deadline=None)
@given(obj=records | plausible)
def test_a_record_the_fast_path_vouches_for_is_read_the_same_by_the_model(obj: dict[str, Any]) -> None:
    plain = plain_record(obj)
    if plain is None:
        return  # the model judges it, as before
    try:
        model = RECORD_ADAPTER.validate_python(obj)
    except ValidationError as exc:  # pragma: no cover - the failure this test exists to catch
        pytest.fail(f"fast path accepted what the model rejects: {exc}")
    expected = AcceptedRecord.from_model(2, model)
    got = (plain.event_id, plain.type, plain.prisoner_id, plain.occurred_at, plain.detail)
    assert got == (expected.event_id, expected.type, expected.prisoner_id, expected.occurred_at, expected.detail)
    assert plain.occurred_at.utcoffset() == expected.occurred_at.utcoffset()


def test_a_duplicate_key_in_a_plain_record_still_quarantines_the_batch() -> None:
    # Given a record that is otherwise plain and valid, with one key twice
    line = (
        '{"event_id":"E-1","type":"kiosk_login","prisoner_id":"A1234BC","prisoner_id":"B1234BC",'
        '"occurred_at":"2026-11-20T08:00:00Z"}'
    )
    # When the batch is read, then it is quarantined as before, naming the line and the key
    with pytest.raises(QuarantineError, match="line 2: duplicate key 'prisoner_id'"):
        read_batch("k.jsonl", batch([line]))


def test_a_duplicate_key_in_a_plain_detail_still_quarantines_the_batch() -> None:
    line = (
        '{"event_id":"E-1","type":"phone_call","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z",'
        '"detail":{"duration_s":5,"duration_s":6}}'
    )
    with pytest.raises(QuarantineError, match="line 2: duplicate key 'duration_s'"):
        read_batch("k.jsonl", batch([line]))


def test_escaped_text_and_unusual_spacing_are_read_as_the_strict_parser_reads_them() -> None:
    # Given records with escapes, spaces and a key order no kiosk uses
    lines = [
        '{"type":"application_submitted","event_id":"E-1","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z",'
        '"detail":{"category":"caf\\u00e9 \\"menu\\""}}',
        ' { "event_id" : "E-2" , "type" : "phone_call" , "prisoner_id" : "A1234BC" ,'
        ' "occurred_at" : "2026-11-20T08:00:00Z" , "detail" : { "duration_s" : 7 } } ',
    ]
    # When the batch is read
    verdict = read_batch("k.jsonl", batch(lines))
    # Then each record holds what the model makes of it
    assert [(a.event_id, a.detail) for a in verdict.accepted] == [
        ("E-1", '{"category":"caf\\u00e9 \\"menu\\""}'),
        ("E-2", '{"duration_s":7}'),
    ]
    assert verdict.accepted[0].record.detail.category == 'café "menu"'  # type: ignore[union-attr]


def test_a_large_float_in_an_ignored_field_still_quarantines_the_batch() -> None:
    line = (
        '{"event_id":"E-1","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z","x":1e400}'
    )
    with pytest.raises(QuarantineError, match="line 2: number 1e400 is out of range"):
        read_batch("k.jsonl", batch([line]))
