"""Days are local calendar days in Europe/London, DST-correct."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from aim.domain.activity import facts_from_verdict, local_date
from aim.domain.batch import read_batch
from aim.service.scoring_run import latest_closed_day

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), date(2026, 7, 2)),  # summer: 00:30 BST next day
        (datetime(2026, 7, 1, 22, 59, tzinfo=UTC), date(2026, 7, 1)),
        (datetime(2026, 12, 1, 23, 30, tzinfo=UTC), date(2026, 12, 1)),  # winter: GMT = UTC
        # autumn change, Sun 25 Oct 2026: 02:00 BST -> 01:00 GMT at 01:00 UTC
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25)),  # 00:30 BST
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), date(2026, 10, 25)),  # 01:30 BST
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), date(2026, 10, 25)),  # 01:30 GMT (the repeated hour)
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25)),  # 23:30 GMT
        (datetime(2026, 10, 26, 0, 0, tzinfo=UTC), date(2026, 10, 26)),
        # spring change, Sun 29 Mar 2026: 01:00 GMT -> 02:00 BST at 01:00 UTC
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 28)),  # 23:30 GMT
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), date(2026, 3, 29)),
        (datetime(2026, 3, 29, 22, 59, tzinfo=UTC), date(2026, 3, 29)),  # 23:59 BST
        (datetime(2026, 3, 29, 23, 0, tzinfo=UTC), date(2026, 3, 30)),  # 00:00 BST
    ],
)
def test_local_day_of_a_moment(utc, expected):
    assert local_date(utc, LONDON) == expected


def test_record_at_2330_utc_in_summer_is_stored_on_the_next_local_day():
    # Given a summer batch whose record is 23:30 UTC, written with a +01:00 and a Z offset
    head = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": "B-1",
        "establishment": "LEI",
        "kiosk_id": "K1",
        "created_at": "2026-07-02T08:00:00+01:00",
        "record_count": 2,
    }
    recs = [
        {"event_id": "E-1", "type": "kiosk_login", "prisoner_id": "A1234BC", "occurred_at": "2026-07-01T23:30:00Z"},
        {
            "event_id": "E-2",
            "type": "kiosk_login",
            "prisoner_id": "A1234BC",
            "occurred_at": "2026-07-02T00:30:00+01:00",
        },
    ]
    body = "\n".join(json.dumps(x) for x in [head, *recs]).encode()
    # When it becomes facts
    facts = facts_from_verdict(read_batch("incoming/LEI/K1/B-1.jsonl", body), LONDON)
    # Then both are on 2 July, in that day's partition, stored in UTC
    assert [(f.local_date, f.occurred_at) for f in facts] == [
        (date(2026, 7, 2), datetime(2026, 7, 1, 23, 30, tzinfo=UTC)),
        (date(2026, 7, 2), datetime(2026, 7, 1, 23, 30, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 21, 6, 0, tzinfo=UTC), date(2026, 11, 20)),  # winter: closed 6 h after local midnight
        (datetime(2026, 11, 21, 5, 59, tzinfo=UTC), date(2026, 11, 19)),
        (datetime(2026, 7, 2, 5, 0, tzinfo=UTC), date(2026, 7, 1)),  # summer: local midnight is 23:00 UTC
        (datetime(2026, 7, 2, 4, 59, tzinfo=UTC), date(2026, 6, 30)),
        (datetime(2026, 10, 25, 6, 0, tzinfo=UTC), date(2026, 10, 24)),  # autumn change day
        (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), date(2026, 3, 28)),  # spring change day
        (datetime(2026, 3, 29, 4, 59, tzinfo=UTC), date(2026, 3, 27)),
    ],
)
def test_latest_closed_day_waits_for_late_data_after_local_midnight(now, expected):
    assert latest_closed_day(now, LONDON, late_hours=6) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 24 Oct ends at 00:00 BST = 23:00 UTC; 6 real hours later is 05:00 UTC
        (datetime(2026, 10, 25, 5, 0, tzinfo=UTC), date(2026, 10, 24)),
        # 28 Mar ends at 00:00 GMT = 00:00 UTC; 6 real hours later is 06:00 UTC, not 05:00
        (datetime(2026, 3, 29, 5, 30, tzinfo=UTC), date(2026, 3, 27)),
    ],
)
def test_late_data_wait_is_real_hours_on_clock_change_days(now, expected):
    assert latest_closed_day(now, LONDON, late_hours=6) == expected


@pytest.mark.parametrize("zone", ["Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"])
def test_facts_get_the_local_day_of_each_moment_through_both_clock_changes(zone):
    # Given records about every 6 h 11 min (so at every minute of the hour) across 2026, in zones with
    # whole, half and quarter hour offsets
    tz = ZoneInfo(zone)
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    moments = [datetime.fromtimestamp(start + i * 7 * 60 * 53, tz=UTC) for i in range(1400)]
    head = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": "B-year",
        "establishment": "LEI",
        "kiosk_id": "K1",
        "created_at": "2027-01-01T00:00:00Z",
        "record_count": len(moments),
    }
    lines = [json.dumps(head)] + [
        json.dumps({"event_id": f"E{i}", "type": "kiosk_login", "prisoner_id": "A1234BC", "occurred_at": m.isoformat()})
        for i, m in enumerate(moments)
    ]
    verdict = read_batch("k.jsonl", ("\n".join(lines) + "\n").encode(), received_at=datetime(2027, 1, 1, tzinfo=UTC))
    # When turned into facts, Then each is on the local calendar day of its own moment
    facts = facts_from_verdict(verdict, tz)
    assert len(facts) == len(moments)
    assert [f.local_date for f in facts] == [m.astimezone(tz).date() for m in moments]
