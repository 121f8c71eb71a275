"""The plain per-factor rule measured beside the model (aim_lab.reference_rule)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aim_lab.reference_rule import RuleSetting, Upload, plain_rule_flags

TZ = ZoneInfo("Europe/London")
START = date(2026, 1, 5)
STEADY, ERRATIC, LEAVER = "A1111AA", "B2222BB", "C3333CC"
SETTING = RuleSetting(regular=0.9, zero_days=2, factors=1)


def _batch(seal: datetime, records: list[dict[str, object]]) -> Upload:
    header = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": f"b{seal:%Y%m%d%H}",
        "establishment": "LEI",
        "kiosk_id": "K1",
        "created_at": seal.isoformat(),
        "record_count": len(records),
    }
    lines = [json.dumps(header)] + [json.dumps(r) for r in records]
    return Upload(seal, ("\n".join(lines) + "\n").encode())


def _call(pid: str, day: date, n: int = 0) -> dict[str, object]:
    at = datetime(day.year, day.month, day.day, 12, tzinfo=TZ)
    return {
        "event_id": f"{pid}-{day}-{n}",
        "type": "phone_call",
        "prisoner_id": pid,
        "occurred_at": at.isoformat(),
        "detail": {"duration_s": 60},
    }


def _scenario(stop: date, release: date | None = None) -> list[Upload]:
    uploads = []
    for i in range(60):
        day = START + timedelta(days=i)
        records = []
        if day < stop:
            records.append(_call(STEADY, day))
        if i % 3 == 0:
            records.append(_call(ERRATIC, day))
        if release is None or day < release:
            records.append(_call(LEAVER, day))
        elif day == release:
            at = datetime(day.year, day.month, day.day, 9, tzinfo=TZ)
            records.append(
                {"event_id": f"rel-{day}", "type": "release", "prisoner_id": LEAVER, "occurred_at": at.isoformat()}
            )
        uploads.append(_batch(datetime(day.year, day.month, day.day, 20, tzinfo=TZ), records))
    return uploads


def test_regular_factor_absent_for_two_closed_days_is_flagged_once() -> None:
    # Given a prisoner who phoned every day and stops on day 40
    stop = START + timedelta(days=40)
    flags = plain_rule_flags(_scenario(stop), TZ, START + timedelta(days=35), START + timedelta(days=59), [SETTING])
    mine = [f for f in flags[SETTING] if f.prisoner_id == STEADY]
    # Then the rule flags them at the morning check after two closed days without a call
    assert mine[0].raised_at.astimezone(TZ).date() == stop + timedelta(days=2)
    # And not again within 72 hours
    assert all(b.raised_at - a.raised_at >= timedelta(hours=72) for a, b in zip(mine, mine[1:], strict=False))
    # And someone who calls every third day is never regular enough to be flagged
    assert not [f for f in flags[SETTING] if f.prisoner_id == ERRATIC]


def test_nobody_is_checked_after_release() -> None:
    release = START + timedelta(days=45)
    flags = plain_rule_flags(
        _scenario(START + timedelta(days=99), release),
        TZ,
        START + timedelta(days=35),
        START + timedelta(days=59),
        [SETTING],
    )
    assert not [f for f in flags[SETTING] if f.prisoner_id == LEAVER]


def test_records_count_only_once_they_are_uploaded_and_once_per_event() -> None:
    # Given the steady caller's last 3 days of calls arrive late, in one batch sealed after the checks
    stop = START + timedelta(days=40)
    uploads = _scenario(stop)
    late_days = [stop + timedelta(days=k) for k in range(3)]
    late = _batch(datetime(2026, 3, 30, 20, tzinfo=TZ), [_call(STEADY, d) for d in late_days] * 2)
    flags = plain_rule_flags([*uploads, late], TZ, START + timedelta(days=35), START + timedelta(days=44), [SETTING])
    # Then the rule still saw the gap when it looked (it cannot see the future)
    assert [f for f in flags[SETTING] if f.prisoner_id == STEADY]
    # But when the same calls are uploaded before the morning check, there is no gap to flag
    on_time = _batch(datetime(2026, 2, 15, 21, tzinfo=TZ), [_call(STEADY, d) for d in late_days[:2]] * 2)
    flags = plain_rule_flags([*uploads, on_time], TZ, stop + timedelta(days=2), stop + timedelta(days=2), [SETTING])
    assert not [f for f in flags[SETTING] if f.prisoner_id == STEADY]


def test_two_factors_needed_means_one_missing_factor_is_not_enough() -> None:
    two = RuleSetting(regular=0.9, zero_days=2, factors=2)
    flags = plain_rule_flags(
        _scenario(START + timedelta(days=40)), TZ, START + timedelta(days=35), START + timedelta(days=59), [two]
    )
    assert flags[two] == []
