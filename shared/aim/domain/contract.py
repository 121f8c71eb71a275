"""The kiosk batch contract (`aim.kiosk-batch/1`) in code.

These pydantic models are the code form of ``../shared/contract/README.md`` section 1.
Where they and that page disagree, one of them is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from json.encoder import encode_basestring_ascii
from typing import Annotated, Any, Literal, NamedTuple, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    Tag,
    TypeAdapter,
    create_model,
)

SCHEMA = "aim.kiosk-batch/1"
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
PRISON_NUMBER = r"^[A-Z][0-9]{4}[A-Z]{2}$"
EST_PATTERN = r"^[A-Z]{3}$"

# RFC 3339 date-time with a mandatory offset (Z or +hh:mm); "T" or a space is allowed by RFC 3339.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# The form every kiosk sends: upper-case T and Z, no fraction. datetime.fromisoformat reads it as is.
_RFC3339_PLAIN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})")


def _rfc3339(value: Any) -> datetime:
    if type(value) is str and _RFC3339_PLAIN.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # e.g. month 13: the general path below words the error
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string")
    if not _RFC3339.match(value):
        raise ValueError(f"'{value[:40]}' is not an RFC 3339 timestamp with an offset")
    text = value.replace("z", "Z").replace("t", "T")
    if "." in text:  # Python's parser takes at most 6 fraction digits
        head, _, tail = text.partition(".")
        digits = re.match(r"\d+", tail)
        assert digits is not None
        text = f"{head}.{digits.group()[:6].ljust(6, '0')}{tail[digits.end() :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"'{value[:40]}' is not a valid date-time: {exc}") from None


def _iso_date(value: Any) -> date:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a valid date: {exc}") from None


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]
PrisonNumber = Annotated[str, Field(pattern=PRISON_NUMBER)]
EstCode = Annotated[str, Field(pattern=EST_PATTERN)]
NonNegative = Annotated[StrictInt, Field(ge=0)]


class BatchHeader(BaseModel):
    """Line 1 of every batch. Authoritative over the object key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal["aim.kiosk-batch/1"] = Field(alias="schema")
    batch_id: Identifier
    establishment: EstCode
    kiosk_id: Identifier
    created_at: Timestamp
    record_count: NonNegative


class RecordType(StrEnum):
    VISIT_BOOKED = "visit_booked"
    VISIT_CANCELLED = "visit_cancelled"
    VISIT_ATTENDED = "visit_attended"
    PHONE_CALL = "phone_call"
    PHONE_CREDIT_ADDED = "phone_credit_added"
    ACTIVITY_ATTENDED = "activity_attended"
    ACTIVITY_MISSED = "activity_missed"
    CANTEEN_ORDER = "canteen_order"
    MEAL_SELECTED = "meal_selected"
    APPLICATION_SUBMITTED = "application_submitted"
    COMPLAINT_SUBMITTED = "complaint_submitted"
    HEALTHCARE_REQUEST = "healthcare_request"
    KIOSK_LOGIN = "kiosk_login"
    PROFILE = "profile"
    RECEPTION = "reception"
    LOCATION_CHANGE = "location_change"
    TRANSFER_OUT = "transfer_out"
    RELEASE = "release"
    SIGNIFICANT_DATE = "significant_date"
    KIOSK_HEARTBEAT = "kiosk_heartbeat"


KNOWN_TYPES: frozenset[str] = frozenset(t.value for t in RecordType)
Activity = Literal["work", "education", "gym", "library", "faith", "other"]
Location = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,4}(-[A-Z0-9]{1,4}){0,3}$")]


class _Detail(BaseModel):
    # Unknown detail keys are ignored (a newer kiosk may send more); known ones are checked.
    model_config = ConfigDict(extra="ignore", frozen=True)


class EmptyDetail(_Detail):
    pass


class VisitBooked(_Detail):
    visit_date: IsoDate


class VisitCancelled(_Detail):
    visit_date: IsoDate
    by: Literal["prisoner", "visitor", "establishment"]


class PhoneCall(_Detail):
    duration_s: NonNegative | None = None


class AmountDetail(_Detail):
    amount_pence: NonNegative | None = None


class ActivityAttended(_Detail):
    activity: Activity
    minutes: NonNegative | None = None


class ActivityMissed(_Detail):
    activity: Activity
    reason: Literal["refused", "sick", "cancelled", "other"]


class ApplicationSubmitted(_Detail):
    category: Annotated[str, Field(max_length=64)] | None = None


class Profile(_Detail):
    date_of_birth: IsoDate | None = None
    self_harm_history: StrictBool | None = None
    acct_status: Literal["open", "post_closure", "none"] | None = None
    location: Location | None = None


class Reception(_Detail):
    location: Location | None = None
    from_: EstCode | None = Field(default=None, alias="from")


class LocationChange(_Detail):
    location: Location


class TransferOut(_Detail):
    to: EstCode | None = None


class SignificantDate(_Detail):
    date: IsoDate
    kind: Literal["court", "sentence", "parole", "anniversary", "other"]


DETAIL_MODELS: dict[str, type[_Detail]] = {
    "visit_booked": VisitBooked,
    "visit_cancelled": VisitCancelled,
    "visit_attended": EmptyDetail,
    "phone_call": PhoneCall,
    "phone_credit_added": AmountDetail,
    "activity_attended": ActivityAttended,
    "activity_missed": ActivityMissed,
    "canteen_order": AmountDetail,
    "meal_selected": EmptyDetail,
    "application_submitted": ApplicationSubmitted,
    "complaint_submitted": EmptyDetail,
    "healthcare_request": EmptyDetail,
    "kiosk_login": EmptyDetail,
    "profile": Profile,
    "reception": Reception,
    "location_change": LocationChange,
    "transfer_out": TransferOut,
    "release": EmptyDetail,
    "significant_date": SignificantDate,
    "kiosk_heartbeat": EmptyDetail,
}


class _RecordBase(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Identifier
    occurred_at: Timestamp


class PrisonerRecord(_RecordBase):
    """A record about one prisoner: every known type except the heartbeat.

    ``detail`` is the type's own detail model (see ``DETAIL_MODELS``)."""

    type: str
    prisoner_id: PrisonNumber
    detail: _Detail = EmptyDetail()


class HeartbeatRecord(_RecordBase):
    """The kiosk was up at ``occurred_at``. It has no prisoner."""

    type: Literal["kiosk_heartbeat"]
    detail: EmptyDetail = EmptyDetail()


class UnknownRecord(_RecordBase):
    """A record of a type this version does not know: stored, counted, kept out of scoring."""

    type: Annotated[str, Field(min_length=1, max_length=64)]
    prisoner_id: PrisonNumber | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


def _record_model(record_type: str, detail_model: type[_Detail]) -> type[PrisonerRecord]:
    name = "".join(part.title() for part in record_type.split("_")) + "Record"
    # The record's type is a literal built at import time, one model per contract type.
    literal: Any = Literal[record_type]
    model: type[PrisonerRecord] = create_model(
        name,
        __base__=PrisonerRecord,
        type=(literal, ...),
        detail=(detail_model, Field(default_factory=dict, validate_default=True)),
    )
    return model


PRISONER_RECORD_MODELS: dict[str, type[PrisonerRecord]] = {
    record_type: _record_model(record_type, detail_model)
    for record_type, detail_model in DETAIL_MODELS.items()
    if record_type != "kiosk_heartbeat"
}


def _record_tag(value: Any) -> str:
    record_type = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if isinstance(record_type, str) and record_type in KNOWN_TYPES:
        return record_type
    return "unknown"


_choices: list[Any] = [Annotated[m, Tag(t)] for t, m in PRISONER_RECORD_MODELS.items()]
_choices += [Annotated[HeartbeatRecord, Tag("kiosk_heartbeat")], Annotated[UnknownRecord, Tag("unknown")]]
KioskRecord = Annotated[Union[tuple(_choices)], Discriminator(_record_tag)]  # type: ignore[valid-type]  # noqa: UP007

AnyRecord = PrisonerRecord | HeartbeatRecord | UnknownRecord
RECORD_ADAPTER: TypeAdapter[AnyRecord] = TypeAdapter(KioskRecord)  # type: ignore[arg-type]


def describe_error(exc: Exception) -> str:
    """One short line naming each field that is wrong and why."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for err in errors(include_url=False):
        loc = [str(p) for p in err.get("loc", ())]
        if loc and (loc[0] in KNOWN_TYPES or loc[0] in ("unknown", "function-after[_check_detail()]")):
            loc = loc[1:]  # the union tag is not a field
        field = ".".join(loc) or "record"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "missing":
            parts.append(f"{field}: missing")
            continue
        value = err.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float | bool) and len(repr(value)) < 60 else ""
        parts.append(f"{field}: {msg}{shown}")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------------
# The common valid record, checked without building a model.
#
# Building a pydantic model per record was most of the transform's cost (issue 5). The checks
# below accept only records the models above certainly accept, in plain JSON shapes, and give
# the same values the models would; anything else (a reject, an unknown type, an extra key, a
# float, a null where a value is required) returns None and the models judge it, so every
# reject's reason still comes from pydantic. tests/unit/test_contract_fast_path.py holds the
# two to agreement.

_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_PRISON_NUMBER = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")
_EST = re.compile(r"[A-Z]{3}")
_LOCATION = re.compile(r"[A-Z0-9]{1,4}(?:-[A-Z0-9]{1,4}){0,3}")
_ASCII_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# A check takes a JSON value and gives its canonical JSON text as facts store it, or None
# when the model might not accept it as it is.
Check = Callable[[Any], str | None]


def _date(value: Any) -> str | None:
    if type(value) is not str or not _ASCII_DATE.fullmatch(value):
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        return None
    return f'"{value}"'


def _count(value: Any) -> str | None:
    return int.__repr__(value) if type(value) is int and value >= 0 else None  # bool is not int here


def _bool(value: Any) -> str | None:
    return ("true" if value else "false") if type(value) is bool else None


def _one_of(*choices: str) -> Check:
    encoded = {choice: f'"{choice}"' for choice in choices}
    return lambda value: encoded.get(value) if type(value) is str else None


def _matching(pattern: re.Pattern[str]) -> Check:
    return lambda value: f'"{value}"' if type(value) is str and pattern.fullmatch(value) else None


def _short_text(value: Any) -> str | None:
    return encode_basestring_ascii(value) if type(value) is str and len(value) <= 64 else None


_location = _matching(_LOCATION)
_est = _matching(_EST)
_activity = _one_of("work", "education", "gym", "library", "faith", "other")

# Per record type, each detail key (by alias) -> (check, required). Mirrors DETAIL_MODELS;
# tests/unit/test_contract_fast_path.py holds the two to agreement.
FAST_DETAIL_CHECKS: dict[str, dict[str, tuple[Check, bool]]] = {
    "visit_booked": {"visit_date": (_date, True)},
    "visit_cancelled": {"visit_date": (_date, True), "by": (_one_of("prisoner", "visitor", "establishment"), True)},
    "visit_attended": {},
    "phone_call": {"duration_s": (_count, False)},
    "phone_credit_added": {"amount_pence": (_count, False)},
    "activity_attended": {"activity": (_activity, True), "minutes": (_count, False)},
    "activity_missed": {
        "activity": (_activity, True),
        "reason": (_one_of("refused", "sick", "cancelled", "other"), True),
    },
    "canteen_order": {"amount_pence": (_count, False)},
    "meal_selected": {},
    "application_submitted": {"category": (_short_text, False)},
    "complaint_submitted": {},
    "healthcare_request": {},
    "kiosk_login": {},
    "profile": {
        "date_of_birth": (_date, False),
        "self_harm_history": (_bool, False),
        "acct_status": (_one_of("open", "post_closure", "none"), False),
        "location": (_location, False),
    },
    "reception": {"location": (_location, False), "from": (_est, False)},
    "location_change": {"location": (_location, True)},
    "transfer_out": {"to": (_est, False)},
    "release": {},
    "significant_date": {
        "date": (_date, True),
        "kind": (_one_of("court", "sentence", "parole", "anniversary", "other"), True),
    },
    "kiosk_heartbeat": {},
}


class _DetailSpec(NamedTuple):
    fields: tuple[tuple[str, str, Check, bool], ...]  # (key, '"key":', check, required), by key
    required: bool  # some field is required, so an absent detail is a reject


_SPECS: dict[str, _DetailSpec] = {
    record_type: _DetailSpec(
        tuple((k, f'"{k}":', check, required) for k, (check, required) in sorted(checks.items())),
        any(required for _, required in checks.values()),
    )
    for record_type, checks in FAST_DETAIL_CHECKS.items()
}
_PRISONER_KEYS = frozenset({"event_id", "type", "prisoner_id", "occurred_at", "detail"})
_HEARTBEAT_KEYS = frozenset({"event_id", "type", "occurred_at", "detail"})
_ABSENT: Any = object()


class PlainRecord(NamedTuple):
    """A record the fast checks vouch for, with the values its model would hold."""

    event_id: str
    type: str
    prisoner_id: str | None
    occurred_at: datetime
    detail: str  # canonical JSON of the detail as facts store it, "" when empty
    strings: int  # JSON strings (keys and string values) the record is made of


def plain_record(obj: dict[str, Any]) -> PlainRecord | None:
    """The record as its model would read it, or None when only the model can judge it."""
    record_type: str = obj.get("type")  # type: ignore[assignment]  # checked just below
    spec = _SPECS.get(record_type) if type(record_type) is str else None
    if spec is None:
        return None
    if record_type == "kiosk_heartbeat":
        if not obj.keys() <= _HEARTBEAT_KEYS:
            return None
        prisoner_id = None
    else:
        prisoner_id = obj.get("prisoner_id")
        if (
            not obj.keys() <= _PRISONER_KEYS
            or type(prisoner_id) is not str
            or not _PRISON_NUMBER.fullmatch(prisoner_id)
        ):
            return None
    event_id = obj.get("event_id")
    if type(event_id) is not str or not _ID.fullmatch(event_id):
        return None
    occurred = obj.get("occurred_at")
    if type(occurred) is not str:
        return None
    try:
        occurred_at = _rfc3339(occurred)
    except ValueError:
        return None
    strings = 2 * len(obj)
    detail = obj.get("detail", _ABSENT)
    if detail is _ABSENT:
        if spec.required:
            return None  # absent means {}, which lacks a required field
        return PlainRecord(event_id, record_type, prisoner_id, occurred_at, "", strings)
    if type(detail) is not dict:
        return None
    text = _detail_text(spec, detail)
    if text is None:
        return None
    # each detail key is a string, and so is each string value; "detail" is a key without a string value
    strings += len(detail) - 1 + sum(type(value) is str for value in detail.values())
    return PlainRecord(event_id, record_type, prisoner_id, occurred_at, text, strings)


def _detail_text(spec: _DetailSpec, detail: dict[str, Any]) -> str | None:
    """The detail's canonical JSON as facts store it ("" when empty), or None for the model to judge."""
    parts = []
    found = 0
    for key, prefix, check, required in spec.fields:
        value = detail.get(key, _ABSENT)
        if value is _ABSENT or value is None:  # an explicit null is the default, and facts leave defaults out
            if required:
                return None
            found += value is None
            continue
        text = check(value)
        if text is None:
            return None
        found += 1
        parts.append(prefix + text)
    if found != len(detail):
        return None  # a key the model ignores: let the model say so
    return "{" + ",".join(parts) + "}" if parts else ""


# ------------------------------------------------------------------------------------------------
# The kiosks' own line layout, read with one regular expression.
#
# Every kiosk writes a record as compact JSON with its keys in one order and no escapes:
#   {"event_id":"..","type":"..","prisoner_id":"..","occurred_at":"..","detail":{..}}
# (prisoner_id absent for a heartbeat, detail absent when empty). COMPACT_RECORD matches only
# that layout, with every string free of escapes and control characters, every number a
# non-negative integer and no nested value, so such a line is valid JSON whose keys and values
# can be read off the match; compact_detail then checks the detail as plain_record does. Any
# other line (other spacing, key order, escapes, floats, ...) does not match and is read as
# before. tests/unit/test_contract_fast_path.py holds this to agreement with the models.

_JSON_SCALAR = r'(?:"[^"\\\x00-\x1f]*+"|0|[1-9][0-9]{0,17}|true|false|null)'
_JSON_PAIR = r'"([a-z_]++)":(' + _JSON_SCALAR + ")"
COMPACT_RECORD = re.compile(
    r'\{"event_id":"([A-Za-z0-9._:-]{1,64}+)","type":"([a-z_]++)",'
    r'(?:"prisoner_id":"([A-Z][0-9]{4}[A-Z]{2})",)?'
    r'"occurred_at":"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2}))"'
    r'(?:,"detail":\{((?:"[a-z_]++":' + _JSON_SCALAR + r')(?:,"[a-z_]++":' + _JSON_SCALAR + r")*+)?\})?\}"
)
_PAIRS = re.compile(_JSON_PAIR)
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}

# Kiosks repeat the same few details ({"activity":"work","reason":"other"}): per record type,
# the verdict on each detail body seen (None for "the model judges it"), so the next record with
# that body costs one look-up. Keyed by COMPACT_RECORD's group 5: None when the detail is absent
# or {}. Bounded: a type's table is emptied when full.
COMPACT_DETAILS: dict[str, dict[str | None, str | None]] = {
    t: {None: None if spec.required else ""} for t, spec in _SPECS.items()
}
_COMPACT_DETAILS_SIZE = 4096


def compact_detail(record_type: str, body: str | None) -> str | None:
    """The canonical detail of a ``COMPACT_RECORD`` match's detail body (group 5), as
    plain_record gives it, or None when only the model can judge it.

    ``record_type`` must be a key of ``FAST_DETAIL_CHECKS``."""
    known = COMPACT_DETAILS[record_type]
    if body in known:
        return known[body]
    assert body is not None  # None is always known
    detail: dict[str, Any] = {}
    for key, token in _PAIRS.findall(body):
        if key in detail:
            text = None  # a duplicate key: the strict parser quarantines the batch
            break
        first = token[0]
        detail[key] = token[1:-1] if first == '"' else _LITERALS[token] if first in "tfn" else int(token)
    else:
        text = _detail_text(_SPECS[record_type], detail)
    if len(known) >= _COMPACT_DETAILS_SIZE:
        known.clear()
        known[None] = None if _SPECS[record_type].required else ""
    known[body] = text
    return text
