"""The staff use cases: the board, a prisoner's page, an alert and its lifecycle, outcomes.

Every use case takes the caller (``Principal``) first and checks their caseload before it reads
anything; anything outside it is ``NotOnCaseloadError`` (answered 404 with an empty body). Every
read of a prisoner's detail is appended to the audit log before the answer goes back; a change to
a case is saved together with its audit entry, both or neither, and a refused change is audited
too. An audit entry that cannot be written fails the request. Changes to a case are written only
over the version they were read at; on a clash the case is read again and the change re-applied,
so the second of two officers taking the same alert is told who took it.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from aim.domain import casework
from aim.domain.access import NotOnCaseloadError, Principal
from aim.domain.audit import AuditEntry
from aim.domain.board import AlertRecord, BoardRow, PrisonerView, board_order
from aim.domain.casework import AlertCase, Intervention, InterventionInput
from aim.domain.outcomes import (
    ALL_WINGS,
    SUBGROUPS,
    day_figures,
    days_between,
    percentile_90,
    week_start,
    weeks_between,
)

MAX_SAVE_ATTEMPTS = 5
MAX_OUTCOME_DAYS = 366


# --- ports --------------------------------------------------------------------------------------
class BoardReader(Protocol):
    """What the scorer wrote: prisoners' states and the alerts it raised."""

    def board(self, establishment: str) -> list[BoardRow]: ...

    def prisoner(self, establishment: str, prisoner_id: str) -> PrisonerView | None: ...

    def alert(self, establishments: Sequence[str], alert_id: str) -> AlertRecord | None:
        """The alert with this id raised in one of ``establishments`` (the caller's caseload)."""
        ...

    def alerts_for_prisoner(self, establishment: str, prisoner_id: str) -> list[AlertRecord]: ...

    def alerts_raised(self, establishment: str, start: datetime, end: datetime) -> list[AlertRecord]: ...

    def day_records(self, establishment: str, start: date, end: date) -> list[dict[str, Any]]:
        """The scorer's day records from ``start`` to ``end`` (``day``, ``lights``, ``new_amber``,
        ``red_line``, ``confounders``; counts only)."""
        ...


class CaseRepository(Protocol):
    """Alert cases, written only over the version they were read at."""

    def get(self, establishment: str, alert_id: str) -> AlertCase | None: ...

    def get_many(self, establishment: str, alert_ids: Sequence[str]) -> dict[str, AlertCase]: ...

    def save(self, case: AlertCase, audit: AuditEntry | None = None) -> bool:
        """Store ``case`` if what is stored is still at ``case.version - 1`` (absent for 1); False otherwise,
        writing nothing. With ``audit``, the entry is appended in the same all-or-nothing write: if it
        cannot be (``AuditEntryExistsError``, or the log is unreachable) the error is raised and the
        stored case is as it was."""
        ...


class AuditLog(Protocol):
    """Append-only."""

    def append(self, entry: AuditEntry) -> None: ...

    def for_prisoner(self, establishment: str, prisoner_id: str) -> list[AuditEntry]: ...


class CaseConflictError(Exception):
    """The case kept changing under us: the caller may try again."""


class BadRangeError(ValueError):
    """An outcomes range that is not ``from <= to`` within a year."""


# --- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertView:
    record: AlertRecord
    case: AlertCase

    def to_json(self) -> dict[str, Any]:
        return {**self.record.message, **self.case.to_json()}


@dataclass(frozen=True)
class BoardView:
    establishment: str
    rows: list[BoardRow]
    cases: dict[str, AlertCase]  # open alerts' cases, by alert id

    def to_json(self) -> dict[str, Any]:
        return {"establishment": self.establishment, "prisoners": [r.to_json() for r in self.rows]}


@dataclass(frozen=True)
class PrisonerDetail:
    view: PrisonerView
    alerts: list[AlertView]  # newest first

    def to_json(self) -> dict[str, Any]:
        v = self.view
        return {
            "establishment": v.establishment,
            "prisoner_id": v.prisoner_id,
            "wing": v.wing,
            "location": v.location,
            "light": v.light,
            "score": round(v.score, 2),
            "since": v.since,
            "judged_day": v.judged_day,
            "reasons": v.reasons,
            "static_factors": v.static_factors,
            "open_alert_id": v.open_alert_id,
            "routine": [h.to_json() for h in v.routine],
            "alerts": [a.to_json() for a in self.alerts],
        }


# --- the service --------------------------------------------------------------------------------
class StaffService:
    def __init__(
        self,
        board: BoardReader,
        cases: CaseRepository,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reader = board
        self.cases = cases
        self.audit = audit
        self.clock = clock

    # --- reads ----------------------------------------------------------------------------------
    def board(self, who: Principal, establishment: str) -> BoardView:
        who.can_see(establishment)
        rows = self.reader.board(establishment)
        open_ids = [r.open_alert_id for r in rows if r.open_alert_id]
        cases = self.cases.get_many(establishment, open_ids) if open_ids else {}
        # An alert staff have closed is no longer open, whatever the scorer still holds.
        shown = [
            r
            if not r.open_alert_id or cases.get(r.open_alert_id) is None or cases[r.open_alert_id].status != "closed"
            else BoardRow(r.prisoner_id, r.wing, r.location, r.light, r.score, r.since, None)
            for r in rows
        ]
        return BoardView(establishment, board_order(shown), cases)

    def prisoner(self, who: Principal, establishment: str, prisoner_id: str, client: str) -> PrisonerDetail:
        role = who.role_at(establishment)
        view = self.reader.prisoner(establishment, prisoner_id)
        if view is None:
            raise NotOnCaseloadError(prisoner_id)  # unknown here: the same answer as elsewhere
        self._audit(who, role, "prisoner.view", establishment, prisoner_id, None, client)
        records = self.reader.alerts_for_prisoner(establishment, prisoner_id)
        cases = self.cases.get_many(establishment, [r.alert_id for r in records]) if records else {}
        alerts = [
            AlertView(r, cases.get(r.alert_id) or AlertCase.opened(r.alert_id, r.establishment, r.prisoner_id))
            for r in sorted(records, key=lambda r: r.raised_at, reverse=True)
        ]
        return PrisonerDetail(view, alerts)

    def alert(self, who: Principal, alert_id: str, client: str) -> AlertView:
        record = self._record(who, alert_id)
        role = who.role_at(record.establishment)
        self._audit(who, role, "alert.view", record.establishment, record.prisoner_id, alert_id, client)
        return AlertView(record, self._case(record))

    def may_act(self, who: Principal, alert_id: str) -> None:
        """Raises unless the alert is on the caller's caseload (``NotOnCaseloadError``) and their role
        there works alerts (``AccessDeniedError``): checked before a request body is judged."""
        who.can_act(self._record(who, alert_id).establishment)

    def audit_trail(self, who: Principal, establishment: str, prisoner_id: str, client: str) -> list[AuditEntry]:
        who.can_see(establishment)
        who.can_oversee(establishment)
        self._audit(who, who.role_at(establishment), "audit.view", establishment, prisoner_id, None, client)
        return sorted(self.audit.for_prisoner(establishment, prisoner_id), key=lambda e: e.at, reverse=True)

    # --- changes --------------------------------------------------------------------------------
    def acknowledge(self, who: Principal, alert_id: str, client: str) -> AlertView:
        return self._change(
            who, alert_id, client, "alert.acknowledge", lambda c, now: casework.acknowledge(c, who.user, now)
        )[0]

    def record_intervention(
        self,
        who: Principal,
        alert_id: str,
        entry: InterventionInput,
        client: str,
        idempotency_key: str | None = None,
    ) -> tuple[AlertView, Intervention, bool]:
        """The stored intervention, and whether it is new (False: the same idempotency key again)."""
        made: dict[str, Intervention] = {}

        def apply(case: AlertCase, now: datetime) -> AlertCase:
            changed, stored = casework.record_intervention(case, entry, who.user, now, idempotency_key)
            made["it"] = stored
            return changed

        view, changed = self._change(who, alert_id, client, "alert.intervention", apply)
        return view, made["it"], changed

    def close(self, who: Principal, alert_id: str, client: str) -> AlertView:
        return self._change(who, alert_id, client, "alert.close", lambda c, now: casework.close(c, who.user, now))[0]

    def _change(
        self,
        who: Principal,
        alert_id: str,
        client: str,
        action: str,
        transition: Callable[[AlertCase, datetime], AlertCase],
    ) -> tuple[AlertView, bool]:
        record = self._record(who, alert_id)
        est = record.establishment
        role = who.role_at(est)
        who.can_act(est)
        for _ in range(MAX_SAVE_ATTEMPTS):
            case = self._case(record)
            now = self.clock()
            try:
                changed = transition(case, now)
            except casework.CaseworkError as exc:
                self._audit(who, role, action, est, record.prisoner_id, alert_id, client, result=_refusal(exc))
                raise
            if changed is case:  # nothing to store: the same request again
                self._audit(who, role, action, est, record.prisoner_id, alert_id, client, result="unchanged")
                return AlertView(record, case), False
            entry = self._entry(who, role, action, est, record.prisoner_id, alert_id, client)
            if self.cases.save(changed, entry):
                return AlertView(record, changed), True
        raise CaseConflictError(alert_id)

    # --- outcomes -------------------------------------------------------------------------------
    def outcomes(self, who: Principal, establishment: str, start: date, end: date, client: str) -> dict[str, Any]:
        who.can_see(establishment)
        who.can_oversee(establishment)
        if end < start or (end - start).days > MAX_OUTCOME_DAYS:
            raise BadRangeError("'from' must be on or before 'to', at most a year apart")
        self._audit(who, who.role_at(establishment), "outcomes.view", establishment, None, None, client)
        lo = datetime.combine(start, time(0), tzinfo=UTC)
        hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC)
        records = self.reader.alerts_raised(establishment, lo, hi)
        cases = self.cases.get_many(establishment, [r.alert_id for r in records]) if records else {}
        days = self.reader.day_records(establishment, start, end)
        return {
            "establishment": establishment,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "days": days_between(start, end),
            **outcome_figures(records, cases, weeks_between(start, end), self.clock(), days),
        }

    # --- helpers --------------------------------------------------------------------------------
    def _record(self, who: Principal, alert_id: str) -> AlertRecord:
        record = self.reader.alert(who.caseload, alert_id) if who.caseload else None
        if record is None or record.establishment not in who.roles:
            raise NotOnCaseloadError(alert_id)
        return record

    def _case(self, record: AlertRecord) -> AlertCase:
        case = self.cases.get(record.establishment, record.alert_id)
        return case or AlertCase.opened(record.alert_id, record.establishment, record.prisoner_id)

    def _audit(
        self,
        who: Principal,
        role: str,
        action: str,
        establishment: str,
        prisoner_id: str | None,
        alert_id: str | None,
        client: str,
        result: str = "ok",
    ) -> None:
        self.audit.append(self._entry(who, role, action, establishment, prisoner_id, alert_id, client, result))

    def _entry(
        self,
        who: Principal,
        role: str,
        action: str,
        establishment: str,
        prisoner_id: str | None,
        alert_id: str | None,
        client: str,
        result: str = "ok",
    ) -> AuditEntry:
        return AuditEntry(
            at=self.clock(),
            user=who.user,
            role=role,
            action=action,
            establishment=establishment,
            prisoner_id=prisoner_id,
            alert_id=alert_id,
            client_address=client,
            result=result,
        )


def _refusal(exc: Exception) -> str:
    if isinstance(exc, casework.AlertHeldError):
        return "held"
    if isinstance(exc, casework.AlertClosedError):
        return "closed"
    if isinstance(exc, casework.NoInterventionError):
        return "no intervention"
    return "refused"


def _minutes(start: str, end: datetime | None) -> float | None:
    if end is None:
        return None
    return (end - datetime.fromisoformat(start)).total_seconds() / 60


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def outcome_figures(
    records: list[AlertRecord],
    cases: dict[str, AlertCase],
    weeks: Sequence[str] = (),
    now: datetime | None = None,
    day_records: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Alerts raised (in all and per week, by the Monday it starts), time to acknowledge and to first
    intervention (median and 90th percentile, minutes), the longest an alert still unacknowledged
    at ``now`` has been open, outcomes and staff-judged usefulness, by wing and in total, and by the
    fairness subgroups (age band, kiosk use). From the scorer's ``day_records``: people newly amber
    per week and people in each light per day, by wing and in total; confounder days; red lines."""
    days = day_figures(list(day_records), list(weeks))
    by_wing: dict[str, list[AlertRecord]] = defaultdict(list)
    for r in records:
        by_wing[r.wing].append(r)
    wings = sorted(set(by_wing) | set(days["lights"]) - {ALL_WINGS} | set(days["amber_weeks"]) - {ALL_WINGS})
    by_group: dict[str, dict[str, list[AlertRecord]]] = {k: defaultdict(list) for k in SUBGROUPS}
    for r in records:
        for kind in SUBGROUPS:
            by_group[kind][r.subgroups.get(kind, "unknown")].append(r)
    return {
        "weeks": list(weeks),
        "total": _with_days(_group_figures(records, cases, weeks, now), days, ALL_WINGS, weeks),
        "wings": {w: _with_days(_group_figures(by_wing[w], cases, weeks, now), days, w, weeks) for w in wings},
        "subgroups": {
            kind: {band: _group_figures(by_group[kind][band], cases, weeks, now) for band in bands}
            for kind, bands in SUBGROUPS.items()
        },
        "confounders": days["confounders"],
        "red_lines": days["red_lines"],
    }


def _with_days(group: dict[str, Any], days: dict[str, Any], wing: str, weeks: Sequence[str]) -> dict[str, Any]:
    ambers = days["amber_weeks"].get(wing, {})
    amber_weeks = {w: ambers.get(w, 0) for w in weeks}
    return {
        **group,
        "new_ambers": sum(amber_weeks.values()),
        "amber_weeks": amber_weeks,
        "lights": days["lights"].get(wing, {}),
    }


def _group_figures(
    group: list[AlertRecord], cases: dict[str, AlertCase], weeks: Sequence[str], now: datetime | None
) -> dict[str, Any]:
    status: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    useful: Counter[str] = Counter()
    to_ack: list[float] = []
    to_first: list[float] = []
    still_open: list[float] = []
    for r in group:
        case = cases.get(r.alert_id)
        status[case.status if case else "open"] += 1
        ack = _minutes(r.raised_at, case.acknowledged_at) if case else None
        if ack is not None:
            to_ack.append(ack)
        elif now is not None:
            still_open.append(_minutes(r.raised_at, now) or 0.0)
        if case and case.interventions:
            first = min(i.recorded_at for i in case.interventions)
            to_first.append(_minutes(r.raised_at, first) or 0.0)
        for i in case.interventions if case else ():
            outcomes[i.outcome] += 1
            useful[i.useful] += 1
    per_week = Counter(week_start(r.raised_at).isoformat() for r in group)
    return {
        "alerts_raised": len(group),
        "weeks": {w: per_week.get(w, 0) for w in weeks},
        "status": {s: status.get(s, 0) for s in ("open", "acknowledged", "closed")},
        "median_minutes_to_acknowledge": _median(to_ack),
        "p90_minutes_to_acknowledge": percentile_90(to_ack),
        "median_minutes_to_first_intervention": _median(to_first),
        "p90_minutes_to_first_intervention": percentile_90(to_first),
        "longest_open_minutes": round(max(still_open), 1) if still_open else None,
        "outcomes": dict(sorted(outcomes.items())),
        "useful": {u: useful.get(u, 0) for u in ("yes", "no", "unsure")},
    }


__all__ = [
    "AlertView",
    "AuditLog",
    "BadRangeError",
    "BoardReader",
    "BoardView",
    "CaseConflictError",
    "CaseRepository",
    "PrisonerDetail",
    "StaffService",
    "outcome_figures",
]
