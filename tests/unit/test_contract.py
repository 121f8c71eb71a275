"""The record and header models of ``aim.kiosk-batch/1``: edge cases of the contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aim.domain.contract import RECORD_ADAPTER, BatchHeader, HeartbeatRecord, PrisonerRecord, UnknownRecord
from pydantic import ValidationError


def record(**overrides):
    base = {"event_id": "E-1", "type": "phone_call", "prisoner_id": "A1234BC", "occurred_at": "2026-11-20T08:00:00Z"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def header(**overrides):
    base = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": "B-1",
        "establishment": "LEI",
        "kiosk_id": "LEI-K01",
        "created_at": "2026-11-20T09:00:00+00:00",
        "record_count": 3,
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20t08:00:00z", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20 08:00:00+00:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T09:30:00+01:30", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T03:00:00-05:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T08:00:00.5Z", datetime(2026, 11, 20, 8, 0, 0, 500000, tzinfo=UTC)),
        ("2026-11-20T08:00:00.123456789+00:00", datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_rfc3339_timestamps_with_offset_are_accepted_as_the_same_instant(text, expected):
    parsed = RECORD_ADAPTER.validate_python(record(occurred_at=text))
    assert parsed.occurred_at == expected
    assert parsed.occurred_at.utcoffset() is not None


def test_offset_is_kept_not_discarded():
    parsed = RECORD_ADAPTER.validate_python(record(occurred_at="2026-11-20T09:30:00+01:30"))
    assert parsed.occurred_at.utcoffset() == timedelta(hours=1, minutes=30)
    assert parsed.occurred_at.tzinfo == timezone(timedelta(hours=1, minutes=30))


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T08:00:00",  # naive
        "2026-11-20 10:02",  # naive, no seconds (the contract example)
        "2026-11-20T08:00Z",  # no seconds
        "2026-11-20",  # a date
        "20261120T080000Z",  # basic format
        "2026-11-20T08:00:00+0100",  # offset without colon
        "2026-11-20T08:00:00+24:00",  # offset out of range
        "2026-13-20T08:00:00Z",  # no such month
        "2026-02-30T08:00:00Z",  # no such day
        "2026-11-20T08:00:00.Z",  # empty fraction
        " 2026-11-20T08:00:00Z",  # padded
    ],
)
def test_timestamps_without_a_valid_offset_are_rejected_naming_occurred_at(text):
    with pytest.raises(ValidationError) as err:
        RECORD_ADAPTER.validate_python(record(occurred_at=text))
    assert "occurred_at" in str(err.value)


def test_timestamp_that_is_not_a_string_is_rejected():
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(record(occurred_at=1763625600))


@pytest.mark.parametrize("value", [5.0, "5", True, False, -1, 1.5, None])
def test_duration_must_be_a_strict_non_negative_integer(value):
    if value is None:  # absent detail fields are allowed
        assert RECORD_ADAPTER.validate_python(record(detail={})).detail.duration_s is None
        return
    with pytest.raises(ValidationError) as err:
        RECORD_ADAPTER.validate_python(record(detail={"duration_s": value}))
    assert "duration_s" in str(err.value)


def test_integer_duration_is_kept():
    assert RECORD_ADAPTER.validate_python(record(detail={"duration_s": 0})).detail.duration_s == 0


@pytest.mark.parametrize("value", [True, 3.0, "3", -1])
def test_record_count_is_a_strict_non_negative_integer(value):
    with pytest.raises(ValidationError) as err:
        BatchHeader.model_validate(header(record_count=value))
    assert "record_count" in str(err.value)


def test_bool_is_not_an_int_in_amounts_and_minutes():
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(record(type="canteen_order", detail={"amount_pence": True}))
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(record(type="activity_attended", detail={"activity": "work", "minutes": False}))


def test_self_harm_history_must_be_a_real_bool():
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(record(type="profile", detail={"self_harm_history": "true"}))
    ok = RECORD_ADAPTER.validate_python(record(type="profile", detail={"self_harm_history": False}))
    assert ok.detail.self_harm_history is False


def test_unknown_type_is_accepted_as_unknown_record_with_its_detail():
    parsed = RECORD_ADAPTER.validate_python(record(type="hologram_booked", detail={"x": 1}))
    assert isinstance(parsed, UnknownRecord)
    assert parsed.type == "hologram_booked"
    assert parsed.detail == {"x": 1}


def test_unknown_type_still_needs_a_valid_event_id_and_timestamp():
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(record(type="hologram_booked", occurred_at="2026-11-20"))
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(record(type="hologram_booked", event_id="has space"))
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(record(type="hologram_booked", prisoner_id="a1234bc"))


def test_unknown_type_without_prisoner_is_accepted():
    parsed = RECORD_ADAPTER.validate_python(record(type="kiosk_reboot", prisoner_id=None))
    assert isinstance(parsed, UnknownRecord)
    assert parsed.prisoner_id is None


@pytest.mark.parametrize("bad_type", ["", 7, None])
def test_missing_or_non_string_type_is_rejected(bad_type):
    data = record(type=bad_type)
    if bad_type is None:
        data.pop("type", None)
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(data)


def test_heartbeat_needs_no_prisoner():
    parsed = RECORD_ADAPTER.validate_python(record(type="kiosk_heartbeat", prisoner_id=None))
    assert isinstance(parsed, HeartbeatRecord)


def test_known_prisoner_type_without_prisoner_is_rejected_naming_prisoner_id():
    with pytest.raises(ValidationError) as err:
        RECORD_ADAPTER.validate_python(record(prisoner_id=None))
    assert "prisoner_id" in str(err.value)


@pytest.mark.parametrize("number", ["a1234bc", "A1234B", "A12345BC", "AA234BC", "A1234BCD", " A1234BC"])
def test_prison_number_must_be_nomis_format(number):
    with pytest.raises(ValidationError):
        RECORD_ADAPTER.validate_python(record(prisoner_id=number))


def test_known_type_gets_its_own_detail_model():
    parsed = RECORD_ADAPTER.validate_python(
        record(type="visit_cancelled", detail={"visit_date": "2026-11-23", "by": "establishment", "extra": 1})
    )
    assert isinstance(parsed, PrisonerRecord)
    assert parsed.detail.by == "establishment"
    assert not hasattr(parsed.detail, "extra")  # newer kiosks' extra keys are ignored


@pytest.mark.parametrize(
    ("type_", "detail", "field"),
    [
        ("visit_booked", {"visit_date": "23/11/2026"}, "visit_date"),
        ("visit_cancelled", {"visit_date": "2026-11-23", "by": "dog"}, "by"),
        ("activity_missed", {"activity": "work", "reason": "bored"}, "reason"),
        ("application_submitted", {"category": "x" * 65}, "category"),
        ("location_change", {"location": "b-2-14"}, "location"),
        ("profile", {"acct_status": "closed"}, "acct_status"),
        ("significant_date", {"date": "2026-11-31", "kind": "court"}, "date"),
    ],
)
def test_detail_rules_reject_with_the_field_named(type_, detail, field):
    with pytest.raises(ValidationError) as err:
        RECORD_ADAPTER.validate_python(record(type=type_, detail=detail))
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("schema", "aim.kiosk-batch/2"),
        ("establishment", "lei"),
        ("establishment", "LEIC"),
        ("batch_id", "b" * 65),
        ("batch_id", "has/slash"),
        ("kiosk_id", ""),
        ("created_at", "2026-11-20T09:00:00"),
    ],
)
def test_header_rules(field, value):
    with pytest.raises(ValidationError):
        BatchHeader.model_validate(header(**{field: value}))


def test_header_rejects_unknown_fields():
    with pytest.raises(ValidationError):
        BatchHeader.model_validate(header(extra="x"))


# --- from JSON text, as the batch reader validates ----------------------------------------------


@pytest.mark.parametrize(
    ("detail", "type_", "field"),
    [
        ('{"duration_s": 5.0}', "phone_call", "duration_s"),
        ('{"duration_s": "5"}', "phone_call", "duration_s"),
        ('{"duration_s": true}', "phone_call", "duration_s"),
        ('{"self_harm_history": "true"}', "profile", "self_harm_history"),
        ('{"self_harm_history": 1}', "profile", "self_harm_history"),
        ('{"visit_date": 20261123}', "visit_booked", "visit_date"),
        ('"not an object"', "phone_call", "detail"),
    ],
)
def test_json_text_gets_the_same_strict_types(detail, type_, field):
    line = (
        f'{{"event_id":"E-1","type":"{type_}","prisoner_id":"A1234BC",'
        f'"occurred_at":"2026-11-20T08:00:00Z","detail":{detail}}}'
    )
    with pytest.raises(ValidationError) as err:
        RECORD_ADAPTER.validate_json(line)
    assert field in str(err.value)


def test_json_text_of_a_valid_record_gives_the_model_the_python_object_gives():
    data = record(type="profile", detail={"date_of_birth": "1990-01-02", "self_harm_history": True, "location": "B-1"})
    assert RECORD_ADAPTER.validate_json(json.dumps(data)) == RECORD_ADAPTER.validate_python(data)


@pytest.mark.parametrize("count", ["true", "3.0", '"3"', "-1"])
def test_header_json_record_count_is_a_strict_non_negative_integer(count):
    text = (
        '{"schema":"aim.kiosk-batch/1","batch_id":"B-1","establishment":"LEI","kiosk_id":"LEI-K01",'
        f'"created_at":"2026-11-20T09:00:00Z","record_count":{count}}}'
    )
    with pytest.raises(ValidationError) as err:
        BatchHeader.model_validate_json(text)
    assert "record_count" in str(err.value)
