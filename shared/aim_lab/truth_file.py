"""Ground truth for a scenario written outside ``aim_lab.simulate`` (``truth.json``, ``aim.scenario-truth/1``).

``aim evaluate --scenario DIR`` replays the kiosk batches under ``DIR`` and scores the alerts
against ``DIR/truth.json``, so detection can be measured on scenarios the model was not tuned on
(an establishment's own reconstructed history, or another team's generator). This module only
reads the file and maps it onto the evaluation's own types; it is pure and typed. A directory
written by ``aim_lab.simulate.write_scenario`` (its own ``truth.json`` layout) is read as well.

The format (every date is a local calendar date, every moment RFC 3339 with an offset)::

    {"schema": "aim.scenario-truth/1", "seed": 1, "establishment": "HMW",
     "timezone": "Europe/London", "history_start": "...", "window_start": "...", "window_end": "...",
     "prisoners": [{"prisoner_id", "date_of_birth", "wing", "in_custody_from", "left_on", "left_how",
                    "low_kiosk_use", "self_harm_history", "acct"}],
     "collapses": [{"prisoner_id", "onset", "speed": "sudden|gradual", "depth": "zero|partial",
                    "factors": ["phone", "visits", "work", "self_care", "requests", "engagement", "distress"]}],
     "confounders": [{"kind", "scope": "establishment|wing:B|kiosk:K1", "start", "end"}]}

Only the evaluation window counts: alerts raised before ``window_start`` are the model's
burn-in on the history and are left out, as are prisoner-days before it. A prisoner counts as
gone from the start of the local day in ``left_on`` (strict: an alert raised that day counts as
an alert after release or transfer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aim_lab.simulate import (
    Collapse,
    Confounder,
    ConfounderKind,
    FallFactor,
    RiseKind,
    ScenarioSpec,
    ScenarioTruth,
    SimPrisoner,
)

TRUTH_SCHEMA = "aim.scenario-truth/1"
TRUTH_FILE = "truth.json"

# The truth file's factor names mapped onto the evaluation's fall factors (a factor may be two).
_FALLS: dict[str, tuple[FallFactor, ...]] = {
    "phone": ("phone",),
    "visits": ("visits",),
    "work": ("activities",),
    "education": ("activities",),
    "activities": ("activities",),
    "self_care": ("canteen", "meals"),
    "canteen": ("canteen",),
    "meals": ("meals",),
    "engagement": ("kiosk",),
    "kiosk": ("kiosk",),
}
_RISES: dict[str, tuple[RiseKind, ...]] = {
    "distress": ("healthcare_request",),
    "requests": ("healthcare_request",),
    "healthcare": ("healthcare_request",),
    "complaints": ("complaint_submitted",),
    "late_night": ("late_night_login",),
}
_KINDS: dict[str, ConfounderKind] = {
    "bank_holiday": "bank_holiday",
    "regime_change": "regime_change",
    "staff_shortage": "regime_change",
    "visits_cancelled": "visits_cancelled_by_establishment",
    "visits_cancelled_by_establishment": "visits_cancelled_by_establishment",
    "activities_cancelled": "activities_cancelled",
    "kiosk_outage": "kiosk_outage",
}


class TruthError(ValueError):
    """A truth file that cannot be used, with the reason."""


class TruthPrisoner(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prisoner_id: str
    date_of_birth: date
    wing: str = "?"
    in_custody_from: date | None = None
    left_on: date | None = None
    left_how: Literal["release", "transfer"] | None = None
    low_kiosk_use: bool = False
    self_harm_history: bool = False
    acct: Literal["open", "post_closure", "none"] = "none"


class TruthCollapse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prisoner_id: str
    onset: datetime
    speed: Literal["sudden", "gradual"] = "sudden"
    depth: Literal["zero", "partial"] = "zero"
    factors: list[str] = Field(default_factory=list)


class TruthConfounder(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: str
    scope: str = "establishment"
    start: datetime
    end: datetime


class TruthDocument(BaseModel):
    model_config = ConfigDict(extra="ignore")

    schema_: Literal["aim.scenario-truth/1"] = Field(alias="schema")
    seed: int = 0
    establishment: str = Field(pattern=r"^[A-Z]{3}$")
    timezone: str = "Europe/London"
    history_start: date | None = None
    window_start: date
    window_end: date
    prisoners: list[TruthPrisoner]
    collapses: list[TruthCollapse] = Field(default_factory=list)
    confounders: list[TruthConfounder] = Field(default_factory=list)


@dataclass(frozen=True)
class ExternalTruth:
    """A truth file mapped onto the evaluation's types."""

    spec: ScenarioSpec  # establishment, window start and length, seed: what the figures need
    window_from: datetime  # local midnight of window_start
    prisoners: list[SimPrisoner]
    collapses: list[Collapse]
    confounders: list[Confounder]


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _aware(moment: datetime, where: str) -> datetime:
    if moment.tzinfo is None:
        raise TruthError(f"{where}: timestamp without an offset")
    return moment


def map_truth(doc: TruthDocument) -> ExternalTruth:
    """The truth document as the evaluation's prisoners, collapses and confounders."""
    tz = ZoneInfo(doc.timezone)
    if doc.window_end < doc.window_start:
        raise TruthError("window_end is before window_start")
    days = (doc.window_end - doc.window_start).days + 1
    if days < 7:
        raise TruthError(f"the evaluation window is {days} days; at least 7 are needed")
    spec = ScenarioSpec(
        establishment=doc.establishment,
        prisoners=max(1, len(doc.prisoners)),
        days=days,
        start=doc.window_start,
        seed=doc.seed,
    )
    history_start = doc.history_start or doc.window_start
    prisoners = []
    roster: dict[str, TruthPrisoner] = {}
    for p in doc.prisoners:
        if p.prisoner_id in roster:
            raise TruthError(f"prisoner {p.prisoner_id} is listed twice")
        roster[p.prisoner_id] = p
        arrived = p.in_custody_from is not None and p.in_custody_from > history_start
        prisoners.append(
            SimPrisoner(
                prisoner_id=p.prisoner_id,
                wing=p.wing,
                location=p.wing,
                date_of_birth=p.date_of_birth,
                self_harm_history=p.self_harm_history,
                acct_status=p.acct,
                usage="low" if p.low_kiosk_use else "normal",
                arrival_at=_midnight(p.in_custody_from, tz) if arrived and p.in_custody_from else None,
                departure_at=_midnight(p.left_on, tz) if p.left_on else None,
                departure_kind=("transfer_out" if p.left_how == "transfer" else "release") if p.left_on else None,
            )
        )
    collapses = []
    seen: set[str] = set()
    for c in doc.collapses:
        onset = _aware(c.onset, f"collapse of {c.prisoner_id}")
        person = roster.get(c.prisoner_id)
        if person is None:
            raise TruthError(f"collapse of {c.prisoner_id}: not in the prisoners list")
        if c.prisoner_id in seen:
            raise TruthError(f"collapse of {c.prisoner_id}: a prisoner has at most one collapse")
        seen.add(c.prisoner_id)
        falls = sorted({f for name in c.factors for f in _FALLS.get(name, ())})
        rises = sorted({r for name in c.factors for r in _RISES.get(name, ())})
        new = person.in_custody_from is not None and (onset.astimezone(tz).date() - person.in_custody_from).days < 30
        collapses.append(
            Collapse(
                prisoner_id=c.prisoner_id,
                onset_at=onset,
                factors=falls,
                speed="abrupt" if c.speed == "sudden" else "gradual",
                ramp_days=0.0 if c.speed == "sudden" else 5.0,
                severity="total" if c.depth == "zero" else "partial",
                remaining_level=0.0 if c.depth == "zero" else 0.4,
                rises=rises,
                static_risk=person.self_harm_history or person.acct != "none",
                new_arrival=new,
                usage="low" if person.low_kiosk_use else "normal",
            )
        )
    confounders = []
    for k in doc.confounders:
        scope_kind, _, scope_value = k.scope.partition(":")
        wing = scope_value if scope_kind == "wing" else None
        kiosk = scope_value if scope_kind == "kiosk" else None
        if k.kind == "lockdown":
            kind: ConfounderKind = "lockdown_wing" if wing else "lockdown_establishment"
        elif k.kind in _KINDS:
            kind = _KINDS[k.kind]
        else:
            raise TruthError(f"confounder kind {k.kind!r} is not one of lockdown, {', '.join(sorted(_KINDS))}")
        confounders.append(
            Confounder(
                kind=kind,
                start=_aware(k.start, f"confounder {k.kind}"),
                end=_aware(k.end, f"confounder {k.kind}"),
                wing=wing,
                kiosk_id=kiosk,
                note=k.kind,
            )
        )
    return ExternalTruth(spec, _midnight(doc.window_start, tz), prisoners, collapses, confounders)


def load_truth(directory: Path) -> ExternalTruth:
    """Read and map ``directory/truth.json``; a clear :class:`TruthError` names what is wrong."""
    path = directory / TRUTH_FILE
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TruthError(f"{path} not found: a scenario directory needs a {TRUTH_FILE}") from exc
    except (OSError, ValueError) as exc:
        raise TruthError(f"{path}: not readable JSON ({exc})") from exc
    if isinstance(raw, dict) and "spec" in raw and "truth" in raw:  # written by aim_lab.simulate.write_scenario
        return _from_simulation(path, raw)
    try:
        doc = TruthDocument.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TruthError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s))") from exc
    return map_truth(doc)


def _from_simulation(path: Path, raw: dict[str, Any]) -> ExternalTruth:
    try:
        sim = ScenarioTruth.model_validate(raw)
    except ValidationError as exc:
        raise TruthError(f"{path}: not a valid aim_lab.simulate truth file ({exc.error_count()} problem(s))") from exc
    start = sim.spec.start
    return ExternalTruth(
        sim.spec,
        datetime(start.year, start.month, start.day, tzinfo=ZoneInfo("Europe/London")),
        list(sim.prisoners),
        list(sim.truth),
        list(sim.confounders),
    )
