"""The weekly digest against a fixture worked out by hand: its text, what it must never carry,
and how it is published."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aim.domain.board import AlertRecord
from aim.domain.casework import AlertCase, Intervention
from aim.domain.digest import duration_text
from aim.service.digest import build_digest, digest_window, send_digest

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday: the week is Mon 9 to Sun 15 November
NOTES = ("Felt low after a call home", "Said the kiosk was broken")
PRISON_NUMBER = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")


def record(alert_id: str, prisoner: str, raised: datetime) -> AlertRecord:
    return AlertRecord.from_message(
        {
            "alert_id": alert_id,
            "establishment": "LEI",
            "prisoner_id": prisoner,
            "raised_at": raised.isoformat(),
            "location": "A-1-01",
            "reasons": [{"text": "Phone calls stopped"}],
            "static_factors": ["history of self-harm"],
        }
    )


def intervention(n: int, at: datetime, useful: str, note: str) -> Intervention:
    return Intervention(
        action="welfare_check",
        engaged=True,
        outcome="support_given",
        useful=useful,  # type: ignore[arg-type]
        note=note,
        intervention_id=f"i{n}",
        recorded_by="officer.one",
        recorded_at=at,
    )


class Reader:
    def __init__(self, records: list[AlertRecord]) -> None:
        self.records = records

    def alerts_raised(self, establishment: str, start: datetime, end: datetime) -> list[AlertRecord]:
        return [
            r
            for r in self.records
            if r.establishment == establishment and start <= datetime.fromisoformat(r.raised_at) < end
        ]


class Cases:
    def __init__(self, cases: dict[str, AlertCase]) -> None:
        self.cases = cases

    def get_many(self, establishment: str, alert_ids: Sequence[str]) -> dict[str, AlertCase]:
        return {a: self.cases[a] for a in alert_ids if a in self.cases}


class Publisher:
    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    def publish(self, *, machine_json: str, human_text: str, subject: str, attributes: dict[str, str]) -> str:
        self.sent.append({"json": machine_json, "text": human_text, "subject": subject, "attributes": attributes})
        return "m-1"


def fixture() -> tuple[Reader, Cases]:
    """w1: acknowledged after 10 min, intervention at 30 min (useful yes), closed.
    w2: acknowledged after 30 min, intervention at 150 min (useful no), still open six days on.
    w3: raised 13 hours before the digest, not acknowledged: not yet a day old.
    old: raised a fortnight before, never acknowledged: outside the week, open over a day.
    today: raised on the digest's day: outside the week, not a day old."""
    w1 = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    w2 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    records = [
        record("w1", "A1234BC", w1),
        record("w2", "B2345CD", w2),
        record("w3", "C3456DE", datetime(2026, 11, 15, 20, 0, tzinfo=UTC)),
        record("old", "D4567EF", datetime(2026, 11, 1, 9, 0, tzinfo=UTC)),
        record("today", "E5678FG", datetime(2026, 11, 16, 8, 0, tzinfo=UTC)),
    ]
    m = timedelta(minutes=1)
    cases = {
        "w1": AlertCase(
            "w1",
            "LEI",
            "A1234BC",
            "closed",
            "officer.one",
            w1 + 10 * m,
            "officer.one",
            w1 + 60 * m,
            (intervention(1, w1 + 30 * m, "yes", NOTES[0]),),
        ),  # fmt: skip
        "w2": AlertCase(
            "w2",
            "LEI",
            "B2345CD",
            "acknowledged",
            "officer.two",
            w2 + 30 * m,
            None,
            None,
            (intervention(2, w2 + 150 * m, "no", NOTES[1]),),
        ),  # fmt: skip
    }
    return Reader(records), Cases(cases)


EXPECTED = """AIM weekly digest for LEI, 2026-11-09 to 2026-11-15

Reds raised: 3
Acknowledged: 2
Closed: 1

Time to acknowledge: median 20 min, 90th percentile 28 min
Time to first intervention: median 1.5 h, 90th percentile 2.3 h

Alerts open for more than a day: 2 (not yet acknowledged: 1)

Staff judged the alert useful: yes 1, no 1, unsure 0

Details on the board: the establishment's outcomes page."""


def test_window_is_the_seven_whole_days_before_the_run_day() -> None:
    start, end = digest_window(NOW, LONDON)
    assert (start.isoformat(), end.isoformat()) == ("2026-11-09", "2026-11-15")


def test_the_week_is_in_local_days_as_the_schedule_runs() -> None:
    # Given the Monday 08:00 run in summer time (07:00 UTC), and an alert at 00:30 local on the
    # Monday a week before (23:30 UTC on the Sunday before it)
    now = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)
    assert digest_window(now, LONDON) == (date(2026, 6, 8), date(2026, 6, 14))
    early = record("early", "A1234BC", datetime(2026, 6, 7, 23, 30, tzinfo=UTC))
    late = record("late", "A1234BC", datetime(2026, 6, 14, 23, 30, tzinfo=UTC))
    # Then the first is in the week (local Monday 8 June) and the second is not (local Monday 15 June)
    figures = build_digest("LEI", now, Reader([early]), Cases({}), LONDON)
    assert figures.raised == 1 and (figures.start, figures.end) == ("2026-06-08", "2026-06-14")
    assert build_digest("LEI", now, Reader([late]), Cases({}), LONDON).raised == 0


def test_digest_text_matches_the_hand_worked_fixture() -> None:
    publisher = Publisher()
    sent = send_digest("LEI", NOW, *fixture(), publisher, LONDON)
    assert sent.message_id == "m-1"
    assert publisher.sent[0]["text"] == EXPECTED
    machine = json.loads(str(publisher.sent[0]["json"]))
    assert machine["reds_raised"] == 3 and machine["acknowledged"] == 2 and machine["closed"] == 1
    assert machine["p90_minutes_to_first_intervention"] == 138.0
    assert machine["open_over_a_day"] == 2 and machine["unacknowledged_over_a_day"] == 1


def test_digest_carries_no_prison_number_note_reason_or_name() -> None:
    publisher = Publisher()
    send_digest("LEI", NOW, *fixture(), publisher, LONDON)
    for form in (str(publisher.sent[0]["text"]), str(publisher.sent[0]["json"])):
        assert not PRISON_NUMBER.search(form)
        for secret in (*NOTES, "officer", "self-harm", "Phone calls", "w1", "A-1-01"):
            assert secret not in form


def test_digest_is_published_for_governors_only() -> None:
    publisher = Publisher()
    send_digest("LEI", NOW, *fixture(), publisher, LONDON)
    assert publisher.sent[0]["attributes"] == {"kind": "digest", "digest": "true", "establishment": "LEI"}
    assert publisher.sent[0]["subject"] == "AIM weekly digest LEI"


def test_a_quiet_week_says_no_data_rather_than_zero() -> None:
    figures = build_digest("MDI", NOW, *fixture(), LONDON)
    assert (figures.raised, figures.acknowledged, figures.open_over_a_day) == (0, 0, 0)
    assert figures.median_minutes_to_acknowledge is None
    assert duration_text(None) == "no data"
    assert (duration_text(59.4), duration_text(90), duration_text(3 * 24 * 60)) == ("59 min", "1.5 h", "3.0 days")
