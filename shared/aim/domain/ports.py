"""The interfaces the application services need from storage and messaging, in the domain's words.

``aim.adapters`` implements them on DynamoDB, S3 and SNS; the local packages implement the same
ports in memory for the lab. Key layouts, item shapes and conditions belong to the implementations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from aim.domain.activity import DayPack, Fact
from aim.domain.prisoner import PrisonerState


class ActivityRepository(Protocol):
    """Facts, packed per batch and local day, and each day's change set (the packs stored for it)."""

    def put_packs_if_absent(self, establishment: str, packs: Sequence[DayPack]) -> list[DayPack]:
        """Store the packs whose day's change set does not name them yet, then add them to their change
        sets; return those stored. Idempotent: storing a pack again writes the identical pack, and a
        change set names a pack only after it is stored."""
        ...

    def changed_days(self, establishment: str, days: Sequence[date], seen: Mapping[date, int]) -> dict[date, int]:
        """Among ``days``, those whose change set names a number of packs other than ``seen`` gives,
        with that number."""
        ...

    def facts_of_day(self, establishment: str, day: date) -> list[Fact]:
        """The distinct facts stored for an establishment's local day (``activity.distinct_facts``)."""
        ...


@dataclass
class RunControl:
    """What a scoring run reads first: its record of the last run (``meta``: days loaded, kiosk hours,
    days judged) and the alerts recorded but not yet sent (their ``aim.alert/1`` messages)."""

    meta: dict[str, Any] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)


class StateRepository(Protocol):
    """Per-prisoner state, the scoring lease, the run's control record, alert records and the outbox."""

    def load_control(self, establishment: str) -> RunControl: ...

    def save_meta(self, establishment: str, meta: dict[str, Any]) -> None: ...

    def take_lease(self, establishment: str, holder: str, now: int, seconds: int) -> bool:
        """Hold the establishment's scoring lease until ``now + seconds`` (epoch seconds) unless
        another holder's lease has not yet expired."""
        ...

    def release_lease(self, establishment: str) -> None: ...

    def load_states(self, establishment: str, horizon: int) -> dict[str, PrisonerState]:
        """Every prisoner's state, with ``horizon`` days of counts."""
        ...

    def save_states(self, establishment: str, states: Iterable[PrisonerState]) -> int:
        """Store the states that differ from what is stored; return how many were written."""
        ...

    def record_alert(
        self, establishment: str, message: dict[str, Any], expires_at: int, subgroups: dict[str, str] | None = None
    ) -> bool:
        """Record an alert (kept until ``expires_at``) and put it in the outbox, unless an alert with
        its id is recorded already: then nothing changes and the answer is False. ``subgroups``
        (the person's fairness subgroups) is kept with the record, never in the message."""
        ...

    def save_day(self, establishment: str, day: date, figures: dict[str, Any]) -> None:
        """Set the given figures of an establishment's day record (counts only: lights and new ambers
        by wing, the red line, confounders), keeping its other figures."""
        ...

    def pending_alerts(self, establishment: str) -> list[dict[str, Any]]:
        """The outbox: alerts recorded and not yet marked sent."""
        ...

    def mark_sent(self, establishment: str, alert_id: str) -> None: ...


class ObjectStore(Protocol):
    def get_bytes(self, key: str) -> bytes: ...

    def put_json(self, key: str, document: dict[str, Any]) -> None: ...

    def copy(self, source_key: str, target_key: str) -> None: ...


class AlertPublisher(Protocol):
    def publish(self, *, machine_json: str, human_text: str, subject: str, attributes: dict[str, str]) -> str: ...
