"""The kiosk batch contract (`aim.kiosk-batch/1`) in code.

These pydantic models are the code form of ``../shared/contract/README.md`` section 1, and the
only one: the batch reader validates each record's JSON text with ``RECORD_ADAPTER`` and each
header with ``BatchHeader``. Where they and that page disagree, one of them is wrong.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

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
    ValidationError,
    create_model,
)

SCHEMA = "aim.kiosk-batch/1"
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
PRISON_NUMBER = r"^[A-Z][0-9]{4}[A-Z]{2}$"
EST_PATTERN = r"^[A-Z]{3}$"

# RFC 3339 date-time with a mandatory offset (Z or +hh:mm); "T" or a space is allowed by RFC 3339.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FRACTION = re.compile(r"\.(\d+)")

# The texts of these errors become reject reasons: they describe the rule, never the value.


def _rfc3339(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string")
    if not _RFC3339.match(value):
        raise ValueError("is not an RFC 3339 timestamp with an offset")
    text = value.replace("z", "Z").replace("t", "T")
    if "." in text:  # Python's parser takes at most 6 fraction digits
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a valid date-time (no such month, day, hour, minute, second or offset)") from None


def _iso_date(value: Any) -> date:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a valid date (no such month or day)") from None


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


# Error types whose pydantic message is made of the rule alone (pattern, bound, allowed values),
# never of the input. Any other type is named by its code.
_RULE_MESSAGES = frozenset(
    {
        "bool_type",
        "dict_type",
        "extra_forbidden",
        "greater_than_equal",
        "int_type",
        "json_invalid",
        "literal_error",
        "model_attributes_type",
        "model_type",
        "string_pattern_mismatch",
        "string_too_long",
        "string_too_short",
        "string_type",
    }
)
_UNION_TAGS = KNOWN_TYPES | {"unknown"}


def describe_error(exc: ValidationError) -> str:
    """One short line naming each field that is wrong and the rule it breaks, never its value
    (a reject reason is kept for months and may be read by anyone who reads the reports)."""
    return "; ".join(
        f"{_field(err['loc'])}: {_rule(err)}" for err in exc.errors(include_url=False, include_input=False)
    )


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p)[:40] for p in loc]
    if parts and parts[0] in _UNION_TAGS:
        parts = parts[1:]  # the union tag is not a field
    return ".".join(parts) or "record"


def _rule(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "missing"
    if kind == "value_error":  # raised by this module's validators, worded without the value
        return str(err["ctx"]["error"])
    if kind in _RULE_MESSAGES:
        return str(err["msg"])
    return kind.replace("_", " ")
