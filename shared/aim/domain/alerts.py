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
from datetime import datetime, timedelta
from typing import Any, Literal

from aim.domain.assessment import Assessment

ALERT_SCHEMA = "aim.alert/1"
ESCALATION_RATIO = 1.5
# Factor names as they may appear in an email or SMS: no health detail (requests covers healthcare).
PLAIN_FACTORS = {
    "visits": "visits",
    "phone": "phone use",
    "purposeful": "work/education",
    "selfcare": "canteen/meals",
    "requests": "applications/requests",
    "engagement": "kiosk use",
}
HUMAN_FIELDS = ("level", "establishment", "prisoner_id", "wing", "factors", "raised_at", "alert_id")


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
        "static_factors": assessment.static_factors,
        "judged_day": assessment.judged_day,
        "location": location,
    }


def human_fields(message: dict[str, Any]) -> dict[str, Any]:
    """The allow-listed fields a human channel may carry."""
    location = message.get("location") or ""
    factors = []
    for reason in message.get("reasons", []):
        plain = PLAIN_FACTORS.get(str(reason.get("factor")), "routine")
        if plain not in factors:
            factors.append(plain)
    return {
        "level": message["level"],
        "establishment": message["establishment"],
        "prisoner_id": message["prisoner_id"],
        "wing": location.split("-")[0] if location else "unknown",
        "factors": factors,
        "raised_at": message["raised_at"],
        "alert_id": message["alert_id"],
    }


def alert_text(message: dict[str, Any]) -> str:
    """Short text for email and SMS, built only from ``human_fields``."""
    f = human_fields(message)
    changed = ", ".join(f["factors"]) or "routine"
    return (
        f"AIM {f['level'].upper()} alert, {f['establishment']}: prisoner {f['prisoner_id']} (wing {f['wing']}). "
        f"Sudden change in routine: {changed}. Please check on them in person now and record the contact. "
        f"Details in AIM, ref {f['alert_id']}."
    )


def alert_subject(message: dict[str, Any]) -> str:
    return f"AIM {str(message['level']).upper()} alert {message['establishment']}"


def to_json(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), sort_keys=False)
