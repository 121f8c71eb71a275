"""The fast path for plain records agrees with the pydantic models it stands in for (issue 5)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import aim.domain.batch as batch_module
import pytest
from aim.domain.batch import AcceptedRecord, BatchVerdict, QuarantineError, Reject, parse_json_line, read_batch
from aim.domain.contract import (
    COMPACT_DETAILS,
    COMPACT_RECORD,
    DETAIL_MODELS,
    FAST_DETAIL_CHECKS,
    RECORD_ADAPTER,
    compact_detail,
    describe_error,
    plain_record,
)
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


# ------------------------------------------------------------------------------------------------
# The kiosks' compact layout (contract.COMPACT_RECORD), read off one regular expression match,
# against the reader with no fast path at all: the strict parser and the models, line by line.

KIOSK_ORDER = ("event_id", "type", "prisoner_id", "occurred_at", "detail")
CREATED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def reference_read(records: list[str], oldest_allowed: datetime | None) -> Any:
    """What read_batch gives for a batch of these record lines (header HEADER), judged slowly."""
    parsed = []
    number = 1
    for raw in records:
        number += 1
        if not raw.strip():
            continue
        try:
            parsed.append((number, parse_json_line(raw.rstrip("\r"))))
        except (ValueError, RecursionError) as exc:
            return f"not valid JSON Lines: line {number}: {str(exc)[:120]}"
    accepted, rejects, duplicates, seen = [], [], 0, set()
    for n, obj in parsed:
        if not isinstance(obj, dict):
            rejects.append(Reject(n, "record is not a JSON object"))
            continue
        event_id = obj.get("event_id") if isinstance(obj.get("event_id"), str) else None
        try:
            record = AcceptedRecord.from_model(n, RECORD_ADAPTER.validate_python(obj))
        except ValidationError as exc:
            rejects.append(Reject(n, describe_error(exc), event_id))
            continue
        if record.occurred_at > CREATED + timedelta(minutes=10):
            rejects.append(Reject(n, "occurred_at: later than the batch's created_at (clock wrong?)", event_id))
        elif oldest_allowed is not None and record.occurred_at < oldest_allowed:
            rejects.append(Reject(n, "occurred_at: older than the retention period", event_id))
        elif record.event_id in seen:
            duplicates += 1
        else:
            seen.add(record.event_id)
            accepted.append(record)
    return [values(a) for a in accepted], rejects, duplicates


def values(a: AcceptedRecord) -> tuple[Any, ...]:
    return (a.line, a.event_id, a.type, a.prisoner_id, a.occurred_at, a.occurred_at.utcoffset(), a.detail, a.kind)


def fast_read(records: list[str], oldest_allowed: datetime | None) -> Any:
    head = json.dumps(HEADER | {"record_count": sum(1 for r in records if r.strip())}, separators=(",", ":"))
    try:
        verdict = read_batch("k.jsonl", "\n".join([head, *records]).encode(), oldest_allowed=oldest_allowed)
    except QuarantineError as exc:
        return str(exc)
    return [values(a) for a in verdict.accepted], verdict.rejects, verdict.duplicates_in_batch


tricky_times = st.sampled_from(
    [
        *("2026-11-20T08:00:00Z", "2026-11-20T08:00:00+00:00", "2026-11-20T08:00:00-00:00", "2026-11-20T09:10:00Z"),
        *(
            "2026-11-20T09:10:01Z",
            "2026-11-20T10:10:00+01:00",
            "2026-11-20T10:10:01+01:00",
            "2026-11-20T03:40:00-05:30",
        ),
        *("2026-11-20T08:00:00+14:00", "2026-11-20T08:00:00+24:00", "2026-11-20T08:00:00+0100", "2026-11-20T08:00Z"),
        *(
            "2026-11-20T08:00:00.5Z",
            "2026-11-20T08:00:00.123456789+01:00",
            "2026-11-20t08:00:00z",
            "2026-11-20T08:00:60Z",
        ),
        *("2026-11-20 08:00:00Z", "2026-11-20T24:00:00Z", "2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z"),
        *(
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T00:30:00Z",
            "2026-10-25T01:30:00+00:00",
            "2026-10-25T01:30:00+01:00",
        ),
        *(
            "2026-10-31T23:59:59Z",
            "2026-11-01T00:00:00+01:00",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
        ),
        *("\u0662026-11-20T08:00:00Z", "2026-11-20T08:00:00Z ", "2026-13-20T08:00:00Z", "2026-11-31T08:00:00Z"),
    ]
)
tricky_text = st.sampled_from(["caf\u00e9", "a,b", 'say "hi"', "back\\slash", "tab\there", "\u2028", "x" * 64, "}{"])
tricky_values = plausible_values | tricky_text | st.integers(-(10**19), 10**19) | st.floats(allow_nan=False)
kiosk_records = st.sampled_from([*sorted(DETAIL_MODELS), "mystery", "kiosk_heartbeat"]).flatmap(
    lambda t: st.fixed_dictionaries(
        {
            "event_id": st.sampled_from(["E-1", "E-2", "E:1.x_y", "e" * 64, "e" * 65, "E\u00e91", "E 1"]),
            "type": st.just(t),
            "occurred_at": tricky_times,
        }
        | ({} if t == "kiosk_heartbeat" else {"prisoner_id": st.sampled_from(["A1234BC", "G5678KL", "a1234bc"])}),
        optional={
            "detail": st.dictionaries(
                st.sampled_from([*sorted(FAST_DETAIL_CHECKS.get(t, {})), "extra", "Odd-Key"]), tricky_values, max_size=4
            )
            | st.none()
            | st.just({}),
            "extra": tricky_values,
        }
        | ({"prisoner_id": st.sampled_from(["A1234BC", "x"])} if t == "kiosk_heartbeat" else {}),
    )
)

# Mostly records a kiosk would send, so that most lines take the compact path.
compact_times = st.sampled_from(
    [
        *("2026-11-20T08:00:00Z", "2026-11-20T08:00:00+00:00", "2026-11-20T09:10:00Z", "2026-11-20T09:10:01Z"),
        *(
            "2026-11-20T10:10:00+01:00",
            "2026-11-20T10:10:01+01:00",
            "2026-11-20T03:40:00-05:30",
            "2024-02-29T12:00:00Z",
        ),
        *("2026-03-29T01:30:00+01:00", "2026-10-25T01:30:00+01:00", "2026-10-31T23:59:59Z", "2023-02-29T12:00:00Z"),
    ]
)
plausible_kiosk_records = st.sampled_from(sorted(DETAIL_MODELS)).flatmap(
    lambda t: st.fixed_dictionaries(
        {
            "event_id": st.sampled_from(["E-1", "E-2", "LEI-K03-0402030", "E:1.x_y"]),
            "type": st.just(t),
            "occurred_at": compact_times,
        }
        | ({} if t == "kiosk_heartbeat" else {"prisoner_id": st.sampled_from(["A1234BC", "G5678KL"])}),
        optional={
            "detail": st.dictionaries(st.sampled_from(sorted(FAST_DETAIL_CHECKS[t]) or ["extra"]), plausible_values)
        },
    )
)


def kiosk_order(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in KIOSK_ORDER if k in record} | record


@st.composite
def lines_of(draw: st.DrawFn, record: dict[str, Any]) -> str:
    """One record as a line: mostly in the kiosks' layout, sometimes any other valid or broken way."""
    style = draw(st.sampled_from(["kiosk"] * 8 + ["ascii", "spaced", "shuffled", "escaped", "dup", "raw", "cut"]))
    ordered = kiosk_order(record)
    if style == "kiosk":
        return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)
    if style == "ascii":
        return json.dumps(ordered, separators=(",", ":"))
    if style == "spaced":
        return draw(st.sampled_from([" ", "\t", ""])) + json.dumps(ordered) + draw(st.sampled_from([" ", "\r", ""]))
    if style == "shuffled":
        keys = draw(st.permutations(list(record)))
        return json.dumps({k: record[k] for k in keys}, separators=(",", ":"), ensure_ascii=False)
    line = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)
    if style == "escaped":  # the same values, one character written as an escape
        return line.replace("-", "\\u002d", 1).replace("_", "\\u005f", 1)
    if style == "dup":  # a key twice, with the same value or another
        pair = draw(st.sampled_from(re.findall(r'"[a-z_]+":(?:"[^"]*"|[^,{}"]+)', line) or ['"x":1']))
        other = pair.split(":", 1)[0] + ':"A1234BC"'
        return line.replace(pair, f"{draw(st.sampled_from([pair, other]))},{pair}", 1)
    if style == "raw":  # what a JSON encoder never writes: a raw control character, a leading zero
        return line.replace("\\t", "\t").replace(":1", ":01").replace(":0,", ":00,")
    return line[: draw(st.integers(0, len(line)))]


batches = st.lists(
    plausible_kiosk_records.flatmap(lines_of)
    | plausible_kiosk_records.flatmap(lines_of)
    | kiosk_records.flatmap(lines_of)
    | st.sampled_from(["", "  ", "[1]", "null"]),
    max_size=8,
)


@settings(max_examples=1000, deadline=None)
@given(records=batches, oldest=st.sampled_from([None, datetime(2026, 11, 1, tzinfo=UTC)]))
def test_a_batch_is_read_as_the_strict_parser_and_the_models_read_it(
    records: list[str], oldest: datetime | None
) -> None:
    assert fast_read(records, oldest) == reference_read(records, oldest)


@settings(max_examples=500, deadline=None)
@given(record=kiosk_records)
def test_a_compact_record_holds_the_model_the_strict_reader_makes(record: dict[str, Any]) -> None:
    line = json.dumps(kiosk_order(record), separators=(",", ":"), ensure_ascii=False)
    try:
        expected = RECORD_ADAPTER.validate_python(parse_json_line(line))
    except ValueError:  # not JSON (inf) or not valid (a ValidationError): the batch test covers those
        return
    head = json.dumps(HEADER | {"record_count": 1})
    verdict = read_batch("k.jsonl", f"{head}\n{line}\n".encode())
    for accepted in verdict.accepted:
        assert accepted.record == expected


@pytest.mark.parametrize(
    "line",
    [
        '{"event_id":"LEI-K03-0402076","type":"kiosk_login","prisoner_id":"J3365UU","occurred_at":"2026-03-02T07:06:29+00:00"}',
        '{"event_id":"LEI-K03-HB-20260302T080727","type":"kiosk_heartbeat","occurred_at":"2026-03-02T08:07:27+01:00"}',
        '{"event_id":"E-1","type":"activity_attended","prisoner_id":"J9572DZ","occurred_at":"2026-03-02T11:20:43Z",'
        '"detail":{"activity":"library","minutes":43}}',
        '{"event_id":"E-1","type":"profile","prisoner_id":"B3880BT","occurred_at":"2026-03-02T05:30:02-05:30",'
        '"detail":{"date_of_birth":"1990-10-13","self_harm_history":false,"acct_status":null,"location":"C-1-24"}}',
        '{"event_id":"E-1","type":"application_submitted","prisoner_id":"B3880BT","occurred_at":"2026-03-02T05:30:02Z",'
        '"detail":{"category":"caf\u00e9, \u2028 }{"}}',
    ],
)
def test_the_kiosks_own_layout_takes_the_compact_path(line: str) -> None:
    # Given a record as kiosks write it, Then it is read off the regular expression, no JSON parser involved
    match = COMPACT_RECORD.fullmatch(line)
    assert match is not None
    assert compact_detail(match.group(2), match.group(5)) is not None
    verdict = read_batch("k.jsonl", batch([line]))
    (accepted,) = verdict.accepted
    assert (accepted.line, accepted.event_id) == (2, match.group(1))
    assert accepted.record == RECORD_ADAPTER.validate_python(json.loads(line))


def test_a_compact_line_after_a_broken_one_is_not_judged_before_the_batch_is_quarantined() -> None:
    good = '{"event_id":"E-1","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z"}'
    with pytest.raises(QuarantineError, match="line 3: "):
        read_batch("k.jsonl", batch([good, good[:-1], good]))
    with pytest.raises(QuarantineError, match="record_count is 3 but 2 record lines"):
        read_batch("k.jsonl", batch([good, good[:-1]]).replace(b'"record_count": 2', b'"record_count": 3'))


def test_a_compact_line_longer_than_the_limit_still_quarantines_the_batch() -> None:
    line = (
        '{"event_id":"E-1","type":"mystery","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z",'
        f'"detail":{{"note":"{"x" * 70_000}"}}}}'
    )
    kiosk = line.replace('"mystery"', '"application_submitted"').replace('"note"', '"category"')
    for record in (line, kiosk):
        with pytest.raises(QuarantineError, match="line 2 is longer than"):
            read_batch("k.jsonl", batch([record]))


def test_the_detail_table_stays_bounded() -> None:
    # Given more distinct details of one type than the table keeps
    for minutes in range(5000):
        assert compact_detail("activity_attended", f'"activity":"gym","minutes":{minutes}') == (
            f'{{"activity":"gym","minutes":{minutes}}}'
        )
    # Then it has been emptied and refilled rather than grown without end, and still answers right
    assert len(COMPACT_DETAILS["activity_attended"]) <= 4096
    assert compact_detail("activity_attended", None) is None  # activity is required
    assert compact_detail("kiosk_login", None) == ""


detail_values = plausible_values | st.sampled_from(["tab\there", "caf\u00e9", "a,b", 'say "hi"', "}{", "\u2028"])
near_kiosk_records = st.sampled_from(sorted(DETAIL_MODELS)).flatmap(
    lambda t: st.fixed_dictionaries(
        {"event_id": st.just("E-1"), "type": st.just(t), "occurred_at": compact_times}
        | ({} if t == "kiosk_heartbeat" else {"prisoner_id": st.just("A1234BC")}),
        optional={
            "detail": st.dictionaries(st.sampled_from(sorted(FAST_DETAIL_CHECKS[t]) or ["extra"]), detail_values)
        },
    )
)
FIRST_PAIR = r'("detail":\{)("[a-z_]+":)("[^"]*"|[^,{}"]+)'
FIRST_NUMBER = r'("detail":\{(?:[^}]*,)?"[a-z_]+":)([0-9]+)([,}])'
NEAR_MISSES = {
    "none": lambda line: line,
    "same pair twice": lambda line: re.sub(FIRST_PAIR, r"\1\2\3,\2\3", line, count=1),
    "key twice": lambda line: re.sub(FIRST_PAIR, r'\1\2"A1234BC",\2\3', line, count=1),
    "raw tab": lambda line: line.replace("\\t", "\t"),
    "leading zero": lambda line: re.sub(FIRST_NUMBER, r"\g<1>0\2\3", line, count=1),
    "minus": lambda line: re.sub(FIRST_NUMBER, r"\1-\2\3", line, count=1),
    "fraction": lambda line: re.sub(FIRST_NUMBER, r"\1\2.0\3", line, count=1),
    "exponent": lambda line: re.sub(FIRST_NUMBER, r"\1\2e0\3", line, count=1),
    "huge": lambda line: re.sub(FIRST_NUMBER, r"\g<1>1\g<2>000000000000000000\3", line, count=1),
    "escape": lambda line: re.sub(r'("detail":\{"[a-z_]+":")([a-z])', r"\1\\u00\2", line, count=1),
    "space": lambda line: line.replace(":", ": ", 1),
    "nested": lambda line: re.sub(FIRST_PAIR, r"\1\2[\3]", line, count=1),
}


@settings(max_examples=1500, deadline=None)
@given(record=near_kiosk_records, near_miss=st.sampled_from(sorted(NEAR_MISSES)))
def test_a_kiosk_line_and_its_near_misses_are_read_as_the_strict_reader_reads_them(
    record: dict[str, Any], near_miss: str
) -> None:
    line = NEAR_MISSES[near_miss](json.dumps(kiosk_order(record), separators=(",", ":"), ensure_ascii=False))
    lines = [line, line.replace('"E-1"', '"E-2"', 1), line]  # a second event, and the first again
    assert fast_read(lines, None) == reference_read(lines, None)


KIOSK_LINES = [
    '{"event_id":"E-1","type":"application_submitted","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z",'
    '"detail":{"category":"tab\\there"}}',
    '{"event_id":"E-1","type":"phone_call","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00+01:00",'
    '"detail":{"duration_s":5}}',
    '{"event_id":"E-1","type":"canteen_order","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z",'
    '"detail":{"amount_pence":0}}',
    '{"event_id":"E-1","type":"activity_missed","prisoner_id":"A1234BC","occurred_at":"2026-11-20T03:00:00-05:30",'
    '"detail":{"activity":"work","reason":"sick"}}',
    '{"event_id":"E-1","type":"profile","prisoner_id":"A1234BC","occurred_at":"2024-02-29T08:00:00Z",'
    '"detail":{"self_harm_history":true,"date_of_birth":"1990-10-13","acct_status":null,"location":"B-2-14"}}',
]


@pytest.mark.parametrize("near_miss", sorted(NEAR_MISSES))
@pytest.mark.parametrize("kiosk_line", KIOSK_LINES, ids=lambda line: json.loads(line)["type"])
def test_each_near_miss_of_a_kiosk_line_is_read_as_the_strict_reader_reads_it(kiosk_line: str, near_miss: str) -> None:
    line = NEAR_MISSES[near_miss](kiosk_line)
    lines = [line, line.replace('"E-1"', '"E-2"', 1), line]
    assert fast_read(lines, None) == reference_read(lines, None)


# ------------------------------------------------------------------------------------------------
# A batch whose every line is in the kiosks' layout is read at once (one findall, column by column):
# it gives what the line-by-line reader gives.

kiosk_lines = plausible_kiosk_records.map(
    lambda record: json.dumps(kiosk_order(record), separators=(",", ":"), ensure_ascii=False)
)


def read_values(body: bytes, oldest_allowed: datetime | None) -> Any:
    try:
        verdict = read_batch("k.jsonl", body, oldest_allowed=oldest_allowed)
    except QuarantineError as exc:
        return str(exc)
    accepted = [(*values(a), a.source) for a in verdict.accepted]
    return accepted, verdict.rejects, verdict.duplicates_in_batch, verdict.heartbeats, verdict.unknown_types


@settings(max_examples=500, deadline=None)
@given(
    records=st.lists(kiosk_lines, min_size=1, max_size=12) | batches,
    oldest=st.sampled_from([None, datetime(2026, 11, 1, tzinfo=UTC)]),
    end=st.sampled_from(["", "\n", "\n\n"]),
)
def test_a_batch_read_at_once_is_read_as_the_line_by_line_reader_reads_it(
    records: list[str], oldest: datetime | None, end: str
) -> None:
    head = json.dumps(HEADER | {"record_count": sum(1 for r in records if r.strip())}, separators=(",", ":"))
    body = ("\n".join([head, *records]) + end).encode()
    at_once = read_values(body, oldest)
    with patch("aim.domain.batch._read_compact_batch", return_value=None):
        line_by_line = read_values(body, oldest)
    assert at_once == line_by_line


def test_a_batch_in_the_kiosks_layout_is_read_at_once() -> None:
    # Given a batch as a kiosk writes it: records, a heartbeat, a final newline
    lines = [
        '{"event_id":"E-1","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z"}',
        '{"event_id":"E-2","type":"phone_call","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:01:00+00:00",'
        '"detail":{"duration_s":60}}',
        '{"event_id":"HB-1","type":"kiosk_heartbeat","occurred_at":"2026-11-20T08:02:00Z"}',
    ]
    body = batch(lines) + b"\n"
    text = body.decode()
    # When it is read, Then the whole-batch path reads it, and gives what the line-by-line reader gives
    verdict = BatchVerdict(header=None)  # type: ignore[arg-type]  # not read here
    assert batch_module._read_compact_batch(text, text.split("\n"), CREATED, None, verdict) == 3
    verdict = read_batch("k.jsonl", body)
    assert [(a.line, a.event_id, a.prisoner_id, a.detail, a.kind) for a in verdict.accepted] == [
        (2, "E-1", "A1234BC", "", "prisoner"),
        (3, "E-2", "A1234BC", '{"duration_s":60}', "prisoner"),
        (4, "HB-1", None, "", "heartbeat"),
    ]
    assert read_values(body, None) == _line_by_line(body)


def _line_by_line(body: bytes) -> Any:
    with patch("aim.domain.batch._read_compact_batch", return_value=None):
        return read_values(body, None)


@pytest.mark.parametrize(
    "odd_one",
    [
        "",  # a blank line
        '{"event_id":"E-1","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:05:00Z"}',
        '{"event_id":"E-3","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T09:30:00Z"}',  # late
        '{"event_id":"E-3","type":"kiosk_login","occurred_at":"2026-11-20T08:05:00Z"}',  # no prisoner
        '{"event_id":"E-3","type":"kiosk_heartbeat","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:05:00Z"}',
        '{"event_id":"E-3","type":"mystery","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:05:00Z"}',
        '{"event_id":"E-3","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-13-20T08:05:00Z"}',
        '{"event_id":"E-3","type":"activity_missed","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:05:00Z"}',
        '{"event_id":"E-3","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:05:00Z"}\r',
        '{"event_id":"E-3", "type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:05:00Z"}',
    ],
)
def test_one_line_the_fast_checks_cannot_vouch_for_sends_the_batch_line_by_line(odd_one: str) -> None:
    good = '{"event_id":"E-1","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:00:00Z"}'
    records = [good, odd_one, good.replace("E-1", "E-9")]
    head = json.dumps(HEADER | {"record_count": sum(1 for r in records if r.strip())}, separators=(",", ":"))
    body = "\n".join([head, *records]).encode()
    lines = body.decode().split("\n")
    verdict = BatchVerdict(header=None)  # type: ignore[arg-type]  # not read here
    assert batch_module._read_compact_batch(body.decode(), lines, CREATED, None, verdict) is None
    assert verdict.accepted == []
    assert read_values(body, None) == _line_by_line(body)
