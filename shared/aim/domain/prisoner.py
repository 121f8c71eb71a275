"""Per-prisoner derived state: what the scorer keeps between runs.

It is derived from the facts and can be rebuilt from them. Profile, movement and
significant-date events fold in commutatively (the latest by (occurred_at, event_id)
wins, field by field), so folding the same facts again, or in another order, gives the
same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from aim.domain.activity import Fact
from aim.domain.features import NF

MOVEMENT_TYPES = frozenset({"reception", "transfer_out", "release"})
PROFILE_FIELDS = ("date_of_birth", "self_harm_history", "acct_status", "location")


def _stamp(fact: Fact) -> str:
    return f"{fact.occurred_at.strftime('%Y-%m-%dT%H:%M:%SZ')}|{fact.event_id}"


@dataclass
class PrisonerState:
    establishment: str
    prisoner_id: str
    origin: date  # the calendar day of row 0 of ``days``
    days: npt.NDArray[np.int16]  # [H, NF] feature counts per local day
    profile: dict[str, list[Any]] = field(default_factory=dict)  # field -> [value, stamp]
    movement: list[Any] | None = None  # [type, stamp, local date]
    reception_day: str | None = None
    first_seen: str | None = None
    significant_dates: dict[str, list[str]] = field(default_factory=dict)  # ISO date -> [kind, stamp]
    kiosks: dict[str, str] = field(default_factory=dict)  # kiosk -> latest local day it sent their records
    light: str = "insufficient"
    score: float = 0.0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    static_factors: list[str] = field(default_factory=list)
    judged_day: str | None = None
    light_since: str | None = None
    open_alert: dict[str, Any] | None = None
    thresholds: list[float] = field(default_factory=list)  # [amber_at, red_at] after static factors
    red_line: dict[str, Any] | None = None  # the establishment's red line in force and how it was set
    retention_days: int = 0  # set by the scorer from config: how long state outlives a release or transfer

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def new(cls, establishment: str, prisoner_id: str, origin: date, horizon: int) -> PrisonerState:
        return cls(establishment, prisoner_id, origin, np.zeros((horizon, NF), dtype=np.int16))

    # --- custody --------------------------------------------------------------------------
    @property
    def in_custody(self) -> bool:
        return self.movement is None or self.movement[0] == "reception"

    @property
    def location(self) -> str | None:
        value = self.profile.get("location")
        return str(value[0]) if value else None

    @property
    def wing(self) -> str:
        loc = self.location
        return loc.split("-")[0] if loc else "?"

    def custody_start(self) -> date | None:
        day = self.reception_day or self.first_seen
        return date.fromisoformat(day) if day else None

    # --- days -----------------------------------------------------------------------------
    def shift_to(self, origin: date) -> None:
        """Move the window so row 0 is ``origin``; rows that fall off are forgotten."""
        delta = (origin - self.origin).days
        if delta == 0:
            return
        horizon = self.days.shape[0]
        new = np.zeros_like(self.days)
        if 0 < delta < horizon:
            new[: horizon - delta] = self.days[delta:]
        elif -horizon < delta < 0:
            new[-delta:] = self.days[: horizon + delta]
        self.days = new
        self.origin = origin

    def set_day(self, day: date, vector: npt.NDArray[np.int16] | None) -> None:
        t = (day - self.origin).days
        if 0 <= t < self.days.shape[0]:
            self.days[t] = 0 if vector is None else vector

    # --- folding events -------------------------------------------------------------------
    def fold(self, fact: Fact, day: date) -> None:
        stamp = _stamp(fact)
        iso = day.isoformat()
        if self.first_seen is None or iso < self.first_seen:
            self.first_seen = iso
        if fact.kiosk_id and iso > self.kiosks.get(fact.kiosk_id, ""):
            self.kiosks[fact.kiosk_id] = iso
        detail = fact.detail_dict() if fact.detail else {}
        if fact.type == "profile":
            for name in PROFILE_FIELDS:
                if name in detail:
                    self._set_field(name, detail[name], stamp)
        elif fact.type in MOVEMENT_TYPES:
            if self.movement is None or stamp > self.movement[1]:
                self.movement = [fact.type, stamp, iso]
            if fact.type == "reception":
                if self.reception_day is None or iso > self.reception_day:
                    self.reception_day = iso
                if "location" in detail:
                    self._set_field("location", detail["location"], stamp)
        elif fact.type == "location_change" and "location" in detail:
            self._set_field("location", detail["location"], stamp)
        elif fact.type == "significant_date" and "date" in detail:
            current = self.significant_dates.get(str(detail["date"]))
            if current is None or stamp > current[1]:
                self.significant_dates[str(detail["date"])] = [str(detail.get("kind", "other")), stamp]

    def _set_field(self, name: str, value: Any, stamp: str) -> None:
        current = self.profile.get(name)
        if current is None or stamp > current[1]:
            self.profile[name] = [value, stamp]

    # --- static factors -------------------------------------------------------------------
    def age_on(self, day: date) -> int | None:
        dob = self.profile.get("date_of_birth")
        if not dob:
            return None
        born = date.fromisoformat(str(dob[0]))
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def days_in_custody(self, day: date) -> int | None:
        start = self.custody_start()
        return None if start is None else (day - start).days

    def significant_date_near(self, day: date, window: int) -> str | None:
        for iso, (kind, _) in sorted(self.significant_dates.items()):
            if abs((date.fromisoformat(iso) - day).days) <= window:
                return kind
        return None

    def kiosk(self) -> str | None:
        """The kiosk they used most recently (ties broken by name, so the answer is order-free)."""
        return max(self.kiosks, key=lambda k: (self.kiosks[k], k)) if self.kiosks else None
