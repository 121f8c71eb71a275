"""Alert lifecycle and the two forms of an alert message (contract section 2).

One open red per prisoner: a new red alert is raised when there is none open, when the
score escalates, or after the quiet period. The alert id is derived from what raised it with
a keyed hash (the deployment's secret key), so the same run repeated (the schedule firing
twice) derives the same id and pages nobody twice, and nobody without the key can recover a
prison number from an id by trying candidates. The human text (email, SMS) carries an
allow-listed set of fields only: no date of birth, self-harm history, ACCT status, health
detail or free text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aim.domain.assessment import Assessment

ALERT_SCHEMA = "aim.alert/1"
# The message attribute ``kind`` says what a publication is (alert, escalation, digest): the topic's
# subscriptions filter on it, so duty officers and governors each get their own.
KIND_ATTRIBUTE = "kind"
ALERT_KIND = "alert"
ESCALATION_RATIO = 1.5
DEFAULT_TIMEZONE = "Europe/London"
# Factor names as they may appear in an email or SMS: no health detail (requests covers healthcare).
PLAIN_FACTORS = {
    "visits": "visits",
    "phone": "phone use",
    "purposeful": "work/education",
    "selfcare": "canteen/meals",
    "requests": "applications/requests",
    "engagement": "kiosk use",
}
HUMAN_FIELDS = ("level", "establishment", "prisoner_id", "location", "factors", "raised_at", "alert_id")
# An SMS is one 160-character segment; the email body is the same text.
TEXT_LIMIT = 160


@dataclass(frozen=True)
class AlertDecision:
    kind: Literal["new", "escalation", "reminder"]
    alert_id: str


def alert_id_for(key: bytes, establishment: str, prisoner_id: str, judged_day: str, kind: str) -> str:
    """``aim-{est}-`` and 16 hex digits of HMAC-SHA256 under ``key`` of what raised the alert."""
    if not key:
        raise ValueError("an alert id needs a non-empty key")
    message = f"{establishment}|{prisoner_id}|{judged_day}|{kind}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()[:16]
    return f"aim-{establishment.lower()}-{digest}"


def decide(
    establishment: str,
    assessment: Assessment,
    open_alert: dict[str, Any] | None,
    now: datetime,
    quiet_period: timedelta,
    key: bytes,
    remind: bool = False,
) -> AlertDecision | None:
    """Whether this assessment raises an alert. A red that simply persists pages again only when
    ``remind`` is set (after the quiet period); otherwise the open alert stands until the light
    leaves red and the quiet period has passed, and a later red is a new alert."""
    if assessment.light != "red" or assessment.judged_day is None:
        return None
    if open_alert is None:
        kind: Literal["new", "escalation", "reminder"] = "new"
    elif assessment.score >= ESCALATION_RATIO * float(open_alert.get("score", 0.0)):
        kind = "escalation"
    elif remind and now - datetime.fromisoformat(str(open_alert["raised_at"])) >= quiet_period:
        kind = "reminder"
    else:
        return None
    return AlertDecision(kind, alert_id_for(key, establishment, assessment.prisoner_id, assessment.judged_day, kind))


def should_close(assessment: Assessment, open_alert: dict[str, Any] | None, now: datetime, quiet: timedelta) -> bool:
    """An open alert closes once the light is no longer red and the quiet period has passed."""
    if open_alert is None or assessment.light == "red":
        return False
    return now - datetime.fromisoformat(str(open_alert["raised_at"])) >= quiet


def alert_message(
    decision: AlertDecision,
    establishment: str,
    assessment: Assessment,
    raised_at: datetime,
    location: str | None,
) -> dict[str, Any]:
    """The ``aim.alert/1`` JSON for machine subscribers."""
    return {
        "schema": ALERT_SCHEMA,
        "alert_id": decision.alert_id,
        "level": "red",
        "establishment": establishment,
        "prisoner_id": assessment.prisoner_id,
        "raised_at": raised_at.isoformat(),
        "reasons": assessment.reasons,
        "kind": decision.kind,
        "score": round(assessment.score, 2),
        "red_threshold": round(assessment.red_at, 2),
        "red_line": assessment.red_line,
        "static_factors": assessment.static_factors,
        "judged_day": assessment.judged_day,
        "location": location,
    }


def human_fields(message: dict[str, Any]) -> dict[str, Any]:
    """The allow-listed fields a human channel may carry."""
    factors = []
    for reason in message.get("reasons", []):
        plain = PLAIN_FACTORS.get(str(reason.get("factor")), "routine")
        if plain not in factors:
            factors.append(plain)
    return {
        "level": message["level"],
        "establishment": message["establishment"],
        "prisoner_id": message["prisoner_id"],
        "location": message.get("location") or "unknown",
        "factors": factors,
        "raised_at": message["raised_at"],
        "alert_id": message["alert_id"],
    }


def alert_text(message: dict[str, Any], timezone: str | tzinfo = DEFAULT_TIMEZONE, lead: str = "") -> str:
    """Text for email and SMS, built only from ``human_fields``: at most ``TEXT_LIMIT`` characters.

    Where it is, when it was raised (local HH:MM), who, which routines changed and the reference.
    When everything does not fit, the list of routines is cut short ("+2 more") before the request
    to act is shortened; the reference is always whole. ``lead`` goes first (an escalation's word)."""
    f = human_fields(message)
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    raised = datetime.fromisoformat(str(f["raised_at"])).astimezone(zone).strftime("%H:%M")
    level = str(f["level"]).upper()
    head = f"{lead}AIM {level} {f['establishment']} {f['prisoner_id']} cell {f['location']} at {raised}."
    factors: list[str] = f["factors"] or ["routine"]
    for ask in (" Check on them in person now.", " Check in person now.", ""):
        tail = f"{ask} Ref {f['alert_id']}"
        for shown in range(len(factors), 0, -1):
            more = f" +{len(factors) - shown} more" if shown < len(factors) else ""
            text = f"{head} Routine change: {', '.join(factors[:shown])}{more}.{tail}"
            if len(text) <= TEXT_LIMIT:
                return text
    return f"{head} Ref {f['alert_id']}"[:TEXT_LIMIT]


def alert_subject(message: dict[str, Any]) -> str:
    return f"AIM {str(message['level']).upper()} alert {message['establishment']}"


def alert_attributes(message: dict[str, Any]) -> dict[str, str]:
    """The SNS message attributes of an alert: what subscriptions filter on, nothing about the person."""
    return {
        "establishment": str(message["establishment"]),
        "level": str(message["level"]),
        KIND_ATTRIBUTE: ALERT_KIND,
    }


def to_json(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), sort_keys=False)
