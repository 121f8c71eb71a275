"""Reading one uploaded batch: framing, encodings and per-record verdicts."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aim.domain.batch import MAX_LINE_BYTES, QuarantineError, decode_body, read_batch, read_header
from aim.domain.contract import BatchHeader, HeartbeatRecord, UnknownRecord
from hypothesis import given, settings
from hypothesis import strategies as st

KEY = "incoming/LEI/LEI-K01/B-1.jsonl"


def rec(n: int, **overrides) -> dict:
    base = {
        "event_id": f"E-{n}",
        "type": "kiosk_login",
        "prisoner_id": "A1234BC",
        "occurred_at": f"2026-11-20T08:{n:02d}:00Z",
    }
    base.update(overrides)
    return base


def lines(records: list[dict], record_count: int | None = None) -> list[str]:
    head = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": "B-1",
        "establishment": "LEI",
        "kiosk_id": "LEI-K01",
        "created_at": "2026-11-20T12:00:00Z",
        "record_count": len(records) if record_count is None else record_count,
    }
    return [json.dumps(head)] + [json.dumps(r) for r in records]


def body(records: list[dict], sep: str = "\n", record_count: int | None = None) -> bytes:
    return (sep.join(lines(records, record_count)) + sep).encode()


def test_plain_batch_is_read_in_line_order():
    verdict = read_batch(KEY, body([rec(1), rec(2)]))
    assert [(a.line, a.record.event_id) for a in verdict.accepted] == [(2, "E-1"), (3, "E-2")]
    assert verdict.rejects == []
    assert verdict.header.batch_id == "B-1"


def test_crlf_line_endings_are_accepted():
    verdict = read_batch(KEY, body([rec(1), rec(2)], sep="\r\n"))
    assert [a.record.event_id for a in verdict.accepted] == ["E-1", "E-2"]


def test_missing_final_newline_is_accepted():
    verdict = read_batch(KEY, "\n".join(lines([rec(1)])).encode())
    assert len(verdict.accepted) == 1


def test_byte_order_mark_is_tolerated():
    verdict = read_batch(KEY, b"\xef\xbb\xbf" + body([rec(1)]))
    assert len(verdict.accepted) == 1


def test_blank_lines_are_skipped_and_not_counted_but_line_numbers_stay_true():
    text = "\n".join([lines([rec(1), rec(2)])[0], "", json.dumps(rec(1)), "   ", json.dumps(rec(2, prisoner_id="x"))])
    verdict = read_batch(KEY, (text + "\n\n").encode())
    assert [a.line for a in verdict.accepted] == [3]
    assert [(r.line, r.event_id) for r in verdict.rejects] == [(5, "E-2")]


def test_gzip_batch_is_read():
    verdict = read_batch(KEY + ".gz", gzip.compress(body([rec(1), rec(2)])))
    assert len(verdict.accepted) == 2


def test_gzip_is_detected_by_magic_bytes_even_without_gz_suffix():
    verdict = read_batch(KEY, gzip.compress(body([rec(1)])))
    assert len(verdict.accepted) == 1


def test_multi_member_gzip_is_read_whole():
    raw = body([rec(1), rec(2), rec(3)])
    cut = raw.index(b"\n", raw.index(b"\n") + 1) + 1  # split after the first record
    verdict = read_batch(KEY + ".gz", gzip.compress(raw[:cut]) + gzip.compress(raw[cut:]))
    assert [a.record.event_id for a in verdict.accepted] == ["E-1", "E-2", "E-3"]


def test_gzip_bomb_is_capped():
    bomb = gzip.compress(b"\n" * 1_000_000)
    assert len(bomb) < 5_000
    with pytest.raises(QuarantineError, match="gzip bomb"):
        decode_body(KEY + ".gz", bomb, max_decompressed=10_000)


def test_gzip_bomb_cap_applies_across_members():
    member = gzip.compress(b"x" * 6_000)
    assert decode_body(KEY + ".gz", member, max_decompressed=10_000) == "x" * 6_000
    with pytest.raises(QuarantineError, match="limit"):
        decode_body(KEY + ".gz", member + member, max_decompressed=10_000)


def test_output_exactly_at_the_cap_is_accepted():
    assert len(decode_body(KEY + ".gz", gzip.compress(b"y" * 4096), max_decompressed=4096)) == 4096


@pytest.mark.parametrize(
    ("name", "data", "word"),
    [
        ("gz key, plain bytes", body([rec(1)]), "gzip"),
        ("truncated gzip", gzip.compress(body([rec(1)]))[:-10], "gzip"),
        ("corrupt deflate", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage!", "gzip"),
    ],
)
def test_broken_gzip_is_quarantined(name, data, word):
    with pytest.raises(QuarantineError, match=word):
        read_batch(KEY + ".gz", data)


def test_invalid_utf8_is_quarantined_with_byte_position():
    data = body([rec(1)]).replace(b"A1234BC", b"A1234\xc3(")
    with pytest.raises(QuarantineError, match="UTF-8"):
        read_batch(KEY, data)


def test_latin1_is_not_utf8():
    data = body([rec(1, type="application_submitted", detail={"category": "caf\u00e9"})])
    with pytest.raises(QuarantineError, match="UTF-8"):
        read_batch(KEY, data.replace(b"\\u00e9", "\u00e9".encode("latin-1")))


@pytest.mark.parametrize(
    ("data", "word"),
    [
        (b"", "header missing"),
        (b"\n" + body([rec(1)]), "header missing"),
        (json.dumps(rec(1)).encode() + b"\n", "header"),
        (b"[1, 2]\n", "not a JSON object"),
        (b"{not json\n", "not valid JSON"),
    ],
)
def test_missing_or_broken_header_is_quarantined(data, word):
    with pytest.raises(QuarantineError, match=word):
        read_batch(KEY, data)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_record_count_mismatch_is_quarantined(count):
    with pytest.raises(QuarantineError, match="record_count"):
        read_batch(KEY, body([rec(1), rec(2)], record_count=count))


def test_header_establishment_must_match_the_key():
    with pytest.raises(QuarantineError, match="establishment"):
        read_batch(KEY, body([rec(1)]), expected_establishment="MDI")


def test_invalid_json_line_quarantines_the_whole_batch():
    text = "\n".join([lines([rec(1), rec(2)])[0], json.dumps(rec(1)), '{"event_id": "E-2",'])
    with pytest.raises(QuarantineError, match="line 3"):
        read_batch(KEY, text.encode())


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant):
    line = json.dumps(rec(1, type="phone_call")).replace('"E-1"', f'"E-1", "detail": {{"duration_s": {constant}}}')
    text = "\n".join([lines([rec(1)])[0], line])
    with pytest.raises(QuarantineError, match=constant.lstrip("-")):
        read_batch(KEY, text.encode())


def test_duplicate_keys_in_a_record_quarantine_the_batch():
    line = (
        '{"event_id":"E-1","type":"kiosk_login","prisoner_id":"A1234BC","prisoner_id":"G5678KL",'
        '"occurred_at":"2026-11-20T08:00:00Z"}'
    )
    text = "\n".join([lines([rec(1)])[0], line])
    with pytest.raises(QuarantineError, match="duplicate key"):
        read_batch(KEY, text.encode())


def test_duplicate_keys_in_the_header_quarantine_the_batch():
    head = lines([rec(1)])[0].replace('"batch_id": "B-1"', '"batch_id": "B-1", "batch_id": "B-2"')
    with pytest.raises(QuarantineError, match="duplicate key"):
        read_batch(KEY, (head + "\n" + json.dumps(rec(1))).encode())


def test_non_object_record_is_rejected_alone():
    text = "\n".join([lines([rec(1), rec(2)])[0], json.dumps(rec(1)), "[1, 2]"])
    verdict = read_batch(KEY, text.encode())
    assert [a.record.event_id for a in verdict.accepted] == ["E-1"]
    assert [(r.line, r.reason) for r in verdict.rejects] == [(3, "record is not a JSON object")]


def test_bad_record_is_rejected_alone_with_line_event_id_and_reason():
    verdict = read_batch(KEY, body([rec(1), rec(2, type="phone_call", detail={"duration_s": -5}), rec(3)]))
    assert [a.record.event_id for a in verdict.accepted] == ["E-1", "E-3"]
    (reject,) = verdict.rejects
    assert (reject.line, reject.event_id) == (3, "E-2")
    assert "duration_s" in reject.reason


def test_record_later_than_the_batch_beyond_clock_skew_is_rejected():
    verdict = read_batch(
        KEY, body([rec(1, occurred_at="2026-11-20T12:09:00Z"), rec(2, occurred_at="2026-11-20T12:11:00Z")])
    )
    assert [a.record.event_id for a in verdict.accepted] == ["E-1"]
    assert "created_at" in verdict.rejects[0].reason


def test_record_older_than_retention_is_rejected():
    verdict = read_batch(KEY, body([rec(1)]), oldest_allowed=datetime(2026, 11, 20, 8, 2, tzinfo=UTC))
    assert verdict.accepted == []
    assert "retention" in verdict.rejects[0].reason


def test_event_repeated_inside_a_batch_counts_once():
    verdict = read_batch(KEY, body([rec(1), rec(1), rec(2)]))
    assert [a.record.event_id for a in verdict.accepted] == ["E-1", "E-2"]
    assert verdict.duplicates_in_batch == 1


def test_unknown_types_and_heartbeats_are_counted():
    verdict = read_batch(
        KEY, body([rec(1, type="hologram_booked"), rec(2, type="kiosk_heartbeat", prisoner_id=None), rec(3)])
    )
    assert verdict.unknown_types == 1
    assert verdict.heartbeats == 1
    assert isinstance(verdict.accepted[0].record, UnknownRecord)
    assert isinstance(verdict.accepted[1].record, HeartbeatRecord)


def test_very_long_line_quarantines():
    long = rec(1, type="hologram_booked", detail={"blob": "x" * 70_000})
    with pytest.raises(QuarantineError, match="longer than"):
        read_batch(KEY, body([long]))


# --- the header ----------------------------------------------------------------------------------

header_values = st.one_of(
    st.sampled_from(["aim.kiosk-batch/1", "aim.kiosk-batch/2", "B-1", "LEI", "lei", "LEI-K01", "caf\u00e9", ""]),
    st.sampled_from(["2026-11-20T12:00:00Z", "2026-11-20T12:00:00+01:00", "2026-11-20T12:00:00.5Z", "2026-13-20"]),
    st.sampled_from(["9999-12-31T23:55:00Z", "2026-11-20 12:00:00-05:30", "2026-11-20T12:00:00"]),
    st.integers(-2, 3) | st.integers(10**20, 10**20 + 1),
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.just([1]) | st.just({"a": "b"}),
)
header_keys = ["schema", "batch_id", "establishment", "kiosk_id", "created_at", "record_count"]


@st.composite
def header_lines(draw: st.DrawFn) -> tuple[str, dict[str, Any] | None]:
    """A header line, and the object it holds when it is one JSON object with no key twice."""
    head = json.loads(lines([rec(1)])[0])
    for key in draw(st.lists(st.sampled_from([*header_keys, "extra"]), max_size=2, unique=True)):
        if draw(st.booleans()):
            head.pop(key, None)
        else:
            head[key] = draw(header_values)
    head["record_count"] = head.get("record_count", 1) if draw(st.booleans()) else 1
    style = draw(st.sampled_from(["compact", "compact", "spaced", "escaped", "dup", "cut", "array"]))
    line = json.dumps(head, separators=(",", ":") if style != "spaced" else None, ensure_ascii=False)
    if "Infinity" in line:
        return line, None  # json.dumps writes an infinite float as Infinity, which is not JSON
    if style == "escaped":
        return line.replace('"LEI-K01"', '"LEI\\u002dK01"', 1), head  # an escape inside a string
    if style == "dup":
        key = draw(st.sampled_from(header_keys))
        return line.replace(f'"{key}":', f'"{key}":"LEI","{key}":', 1), None
    if style == "cut":
        cut = line[: draw(st.integers(0, len(line)))]
        return cut, head if cut == line else None
    return (f"[{line}]", None) if style == "array" else (line, head)


@settings(max_examples=300, deadline=None)
@given(drawn=header_lines())
def test_a_header_is_read_when_it_meets_the_contract_and_quarantined_with_a_reason_otherwise(drawn) -> None:
    first, obj = drawn
    try:
        got: Any = read_header(first)
    except QuarantineError as exc:
        got = str(exc)
    if obj is None:  # not one JSON object with distinct keys
        assert isinstance(got, str) and got.startswith("header")
        return
    valid = _model_accepts(obj)
    assert isinstance(got, BatchHeader) == valid, got
    if valid:
        assert got.model_dump(by_alias=True, mode="json") == _model(obj).model_dump(by_alias=True, mode="json")
    else:
        assert got.startswith("header (line 1) invalid: ")


def _model(obj: dict[str, Any]) -> BatchHeader:
    return BatchHeader.model_validate(obj)


def _model_accepts(obj: dict[str, Any]) -> bool:
    try:
        _model(obj)
    except ValueError:
        return False
    return True


def test_an_escaped_header_is_read_as_its_text() -> None:
    first = lines([rec(1)])[0].replace('"B-1"', '"B\\u002d1"')
    assert read_header(first).batch_id == "B-1"


def test_an_invalid_header_names_each_field_and_rule() -> None:
    first = lines([rec(1)])[0].replace('"LEI"', '"lei"').replace('"record_count": 1', '"record_count": -1')
    with pytest.raises(QuarantineError) as err:
        read_header(first)
    assert str(err.value).startswith("header (line 1) invalid: ")
    assert "establishment: String should match pattern" in str(err.value)
    assert "record_count: Input should be greater than or equal to 0" in str(err.value)


def test_a_header_at_the_end_of_time_is_quarantined() -> None:
    text = "\n".join(lines([rec(1)])).replace("2026-11-20T12:00:00Z", "9999-12-31T23:55:00Z")
    with pytest.raises(QuarantineError, match="created_at is out of range"):
        read_batch(KEY, text.encode())


def test_a_header_sealed_after_the_batch_arrived_is_quarantined() -> None:
    with pytest.raises(QuarantineError, match="after the batch was received"):
        read_batch(KEY, body([rec(1)]), received_at=datetime(2026, 11, 20, 11, 49, tzinfo=UTC))
    assert len(read_batch(KEY, body([rec(1)]), received_at=datetime(2026, 11, 20, 11, 50, tzinfo=UTC)).accepted) == 1


# --- strict JSON where pydantic's parser is lenient ----------------------------------------------


def test_a_duplicate_key_inside_a_detail_quarantines_the_batch() -> None:
    line = json.dumps(rec(1, type="phone_call")).replace('"E-1"', '"E-1", "detail": {"duration_s": 5, "duration_s": 6}')
    with pytest.raises(QuarantineError, match="line 2: duplicate key 'duration_s'"):
        read_batch(KEY, "\n".join([lines([rec(1)])[0], line]).encode())


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1E400"])
def test_a_number_that_overflows_to_infinity_quarantines_the_batch(number: str) -> None:
    # Given an unknown type, whose detail pydantic would keep as it is
    line = json.dumps(rec(1, type="hologram_booked")).replace('"E-1"', f'"E-1", "detail": {{"x": {number}}}')
    with pytest.raises(QuarantineError, match="line 2: a number is out of range"):
        read_batch(KEY, "\n".join([lines([rec(1)])[0], line]).encode())


def test_nan_in_a_field_the_model_ignores_still_quarantines_the_batch() -> None:
    line = json.dumps(rec(1)).replace('"E-1"', '"E-1", "extra": NaN')
    with pytest.raises(QuarantineError, match="NaN is not valid JSON"):
        read_batch(KEY, "\n".join([lines([rec(1)])[0], line]).encode())


def test_a_lone_surrogate_escape_rejects_the_record_alone() -> None:
    # Given text with half a UTF-16 pair: valid JSON syntax, but not a Unicode string
    line = json.dumps(rec(1, type="application_submitted", detail={"category": "caf"})).replace('caf"', 'caf\\ud800"')
    verdict = read_batch(KEY, "\n".join([lines([rec(1), rec(2)])[0], line, json.dumps(rec(2))]).encode())
    assert [a.event_id for a in verdict.accepted] == ["E-2"]
    assert [(r.line, r.event_id) for r in verdict.rejects] == [(2, "E-1")]
    assert verdict.rejects[0].reason.startswith("record: Invalid JSON")


def test_a_record_count_mismatch_is_reported_before_a_broken_line() -> None:
    text = "\n".join([lines([rec(1)], record_count=3)[0], json.dumps(rec(1)), "{broken"])
    with pytest.raises(QuarantineError, match="record_count is 3 but 2"):
        read_batch(KEY, text.encode())


def test_the_line_cap_counts_bytes_not_characters() -> None:
    # Given an unknown type whose detail is under the cap in characters but over it in UTF-8 bytes
    long = rec(1, type="hologram_booked", detail={"note": "\u00e9" * (MAX_LINE_BYTES // 2)})
    text = "\n".join(lines([rec(2)])[:1] + [json.dumps(long, ensure_ascii=False)])
    assert len(text.split("\n")[1]) < MAX_LINE_BYTES < len(text.split("\n")[1].encode())
    with pytest.raises(QuarantineError, match="line 2 is longer than"):
        read_batch(KEY, text.encode())


# --- what is stored of a record ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        (rec(1), ""),
        (rec(1, detail={}), ""),
        (rec(1, type="phone_call", detail={"duration_s": None}), ""),
        (rec(1, type="phone_call", detail={"duration_s": 30, "newer_field": "x"}), '{"duration_s":30}'),
        (
            rec(1, type="profile", detail={"location": "B-2-14", "acct_status": "open", "date_of_birth": "1990-01-02"}),
            '{"acct_status":"open","date_of_birth":"1990-01-02","location":"B-2-14"}',
        ),
        (rec(1, type="reception", detail={"from": "MDI"}), '{"from":"MDI"}'),
        (rec(1, type="application_submitted", detail={"category": "caf\u00e9"}), '{"category":"caf\\u00e9"}'),
        (rec(1, type="hologram_booked", detail={"b": [1, 2.5], "a": None}), '{"a":null,"b":[1,2.5]}'),
        (rec(1, type="kiosk_heartbeat", prisoner_id=None), ""),
    ],
)
def test_the_detail_stored_is_compact_json_of_the_validated_detail(record: dict, detail: str) -> None:
    (accepted,) = read_batch(KEY, body([{k: v for k, v in record.items() if v is not None}])).accepted
    assert accepted.detail == detail


def test_an_accepted_record_holds_its_model_and_the_values_facts_are_made_of() -> None:
    (a,) = read_batch(KEY, body([rec(1, occurred_at="2026-11-20T09:01:00+01:00")])).accepted
    assert (a.line, a.event_id, a.type, a.prisoner_id, a.kind) == (2, "E-1", "kiosk_login", "A1234BC", "prisoner")
    assert a.occurred_at == datetime(2026, 11, 20, 8, 1, tzinfo=UTC)
    assert a.record.event_id == "E-1" and a.record.occurred_at == a.occurred_at
    assert "A1234BC" not in repr(a)


# --- reject reasons name the field and the rule, never the value ---------------------------------


def only_reject(record: dict) -> str:
    verdict = read_batch(KEY, body([rec(2), record]))
    assert [a.event_id for a in verdict.accepted] == ["E-2"]
    (reject,) = verdict.rejects
    return reject.reason


@pytest.mark.parametrize("dob", ["1990-13-45", "1990-02-30", "02/01/1990", "1990-1-2"])
def test_a_malformed_date_of_birth_is_rejected_naming_the_field_not_the_value(dob: str) -> None:
    reason = only_reject(rec(1, type="profile", detail={"date_of_birth": dob}))
    assert reason.startswith("detail.date_of_birth: ")
    assert dob not in reason
    assert "1990" not in reason


@pytest.mark.parametrize("number", ["A1234B", "a1234bc", "X9876YZQ", "G 4321 KL"])
def test_a_malformed_prisoner_id_is_rejected_naming_the_field_not_the_value(number: str) -> None:
    reason = only_reject(rec(1, prisoner_id=number))
    assert reason.startswith("prisoner_id: ")
    assert number not in reason
    assert "1234" not in reason and "9876" not in reason and "4321" not in reason


# A marker no rule text contains, with a character no rule allows: a reason that holds it echoes the value.
MARK = "Zq7!"
marked_text = st.text(max_size=20).map(lambda t: MARK + t)
marked_number = st.integers(-(10**12), -1).map(lambda n: n * 1000 - 777)  # negative, ends in 777
FIELDS = [
    ("event_id", lambda v: rec(1, event_id=v)),
    ("prisoner_id", lambda v: rec(1, prisoner_id=v)),
    ("occurred_at", lambda v: rec(1, occurred_at=v)),
    ("type", lambda v: rec(1, type=v if not isinstance(v, str) else MARK * 30)),
    ("detail.visit_date", lambda v: rec(1, type="visit_booked", detail={"visit_date": v})),
    ("detail.by", lambda v: rec(1, type="visit_cancelled", detail={"visit_date": "2026-11-23", "by": v})),
    ("detail.duration_s", lambda v: rec(1, type="phone_call", detail={"duration_s": v})),
    ("detail.amount_pence", lambda v: rec(1, type="canteen_order", detail={"amount_pence": v})),
    ("detail.category", lambda v: rec(1, type="application_submitted", detail={"category": v * 20})),
    ("detail.date_of_birth", lambda v: rec(1, type="profile", detail={"date_of_birth": v})),
    ("detail.self_harm_history", lambda v: rec(1, type="profile", detail={"self_harm_history": v})),
    ("detail.acct_status", lambda v: rec(1, type="profile", detail={"acct_status": v})),
    ("detail.location", lambda v: rec(1, type="location_change", detail={"location": v})),
    ("detail.from", lambda v: rec(1, type="reception", detail={"from": v})),
    ("detail.date", lambda v: rec(1, type="significant_date", detail={"date": v, "kind": "court"})),
    ("detail", lambda v: rec(1, type="hologram_booked", detail=[v])),
]


@settings(max_examples=300, deadline=None)
@given(field_and_record=st.sampled_from(FIELDS), value=marked_text | marked_number)
def test_no_reject_reason_holds_the_value_it_rejects(field_and_record, value) -> None:
    field, make = field_and_record
    if field in ("detail.duration_s", "detail.amount_pence", "type", "detail") or not isinstance(value, int):
        reason = only_reject(make(value))
        assert reason.startswith(f"{field}: ")
        assert "Zq7" not in reason and "777" not in reason
