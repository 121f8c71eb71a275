"""Reading one uploaded batch: framing, encodings and per-record verdicts."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aim.domain.batch import QuarantineError, decode_body, parse_json_line, read_batch
from aim.domain.contract import BatchHeader, HeartbeatRecord, UnknownRecord, describe_error
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

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


# --- the header's fast read agrees with the strict one ------------------------------------------

header_values = st.one_of(
    st.sampled_from(
        ["aim.kiosk-batch/1", "aim.kiosk-batch/2", "B-1", "LEI", "lei", "LEI-K01", "caf\u00e9", ""]
    ),
    st.sampled_from(["2026-11-20T12:00:00Z", "2026-11-20T12:00:00+01:00", "2026-11-20T12:00:00.5Z", "2026-13-20"]),
    st.sampled_from(["9999-12-31T23:55:00Z", "2026-11-20 12:00:00-05:30", "2026-11-20T12:00:00"]),
    st.integers(-2, 3) | st.integers(10**20, 10**20 + 1),
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.just([1]) | st.just({"a": "b"}),
)
header_keys = ["schema", "batch_id", "establishment", "kiosk_id", "created_at", "record_count"]


@st.composite
def header_lines(draw: st.DrawFn) -> str:
    head = json.loads(lines([rec(1)])[0])
    for key in draw(st.lists(st.sampled_from([*header_keys, "extra"]), max_size=2, unique=True)):
        if draw(st.booleans()):
            head.pop(key, None)
        else:
            head[key] = draw(header_values)
    head["record_count"] = head.get("record_count", 1) if draw(st.booleans()) else 1
    style = draw(st.sampled_from(["compact", "compact", "spaced", "escaped", "dup", "cut", "array"]))
    line = json.dumps(head, separators=(",", ":") if style != "spaced" else None, ensure_ascii=False)
    if style == "escaped":
        return line.replace("-", "\\u002d", 1)
    if style == "dup":
        key = draw(st.sampled_from(header_keys))
        return line.replace(f'"{key}":', f'"{key}":"LEI","{key}":', 1)
    if style == "cut":
        return line[: draw(st.integers(0, len(line)))]
    return f"[{line}]" if style == "array" else line


def strict_header(first: str) -> Any:
    """What the header line is, read by the strict parser and the model alone."""
    if not first.strip():
        return "header missing: line 1 is empty"
    try:
        obj = parse_json_line(first)
    except (ValueError, RecursionError) as exc:
        return f"header (line 1) is not valid JSON: {exc}"
    if not isinstance(obj, dict):
        return "header (line 1) is not a JSON object"
    try:
        return BatchHeader.model_validate(obj)
    except ValidationError as exc:
        return f"header (line 1) invalid: {describe_error(exc)}"


@settings(max_examples=500, deadline=None)
@given(first=header_lines())
def test_the_header_is_read_as_the_strict_parser_and_the_model_read_it(first: str) -> None:
    expected = strict_header(first)
    try:
        got: Any = read_batch(KEY, (first + "\n" + json.dumps(rec(1)) + "\n").encode()).header
    except QuarantineError as exc:
        got = str(exc)
    if isinstance(expected, BatchHeader) and expected.record_count != 1:
        expected = f"record_count is {expected.record_count} but 1 record lines follow (truncated or padded upload)"
    elif isinstance(expected, BatchHeader) and expected.created_at.replace(tzinfo=None) >= datetime(
        9999, 12, 31, 23, 50
    ):
        expected = "header created_at is out of range"  # created_at + the clock skew allowed is past year 9999
    assert got == expected
    if isinstance(got, BatchHeader):
        assert got.created_at.utcoffset() == expected.created_at.utcoffset()
