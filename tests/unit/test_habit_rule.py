"""The habit-drop rule measured beside the model as a second reference (aim_lab.habit_rule)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aim_lab.habit_rule import habit_rule_flags, poisson_lower_tail
from aim_lab.reference_rule import Flag, Upload

TZ = ZoneInfo("Europe/London")
START = date(2026, 1, 5)
DAYS = 60
STOP = START + timedelta(days=40)  # the day the subject's habits stop
SUBJECT = "A1111AA"
OTHERS = [f"B{n:04d}BB" for n in range(12)]
FIRST_CHECK, LAST_CHECK = START + timedelta(days=31), START + timedelta(days=DAYS - 1)


def _batch(seal: datetime, records: list[dict[str, object]], name: str = "K1") -> Upload:
    header = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": f"{name}-{seal:%Y%m%d%H%M}",
        "establishment": "LEI",
        "kiosk_id": name,
        "created_at": seal.isoformat(),
        "record_count": len(records),
    }
    lines = [json.dumps(header)] + [json.dumps(r) for r in records]
    return Upload(seal, ("\n".join(lines) + "\n").encode())


def _event(pid: str, day: date, kind: str, n: int, detail: dict[str, object] | None = None) -> dict[str, object]:
    at = datetime(day.year, day.month, day.day, 10 + n, tzinfo=TZ)
    rec: dict[str, object] = {"event_id": f"{pid}-{day}-{kind}-{n}", "type": kind, "prisoner_id": pid}
    rec["occurred_at"] = at.isoformat()
    if detail:
        rec["detail"] = detail
    return rec


def _routine(pid: str, day: date) -> list[dict[str, object]]:
    """Three calls and three kiosk logins a day, and work on weekdays."""
    recs = [_event(pid, day, "phone_call", n, {"duration_s": 300}) for n in range(3)]
    recs += [_event(pid, day, "kiosk_login", n) for n in range(3)]
    if day.weekday() < 5:
        recs.append(_event(pid, day, "activity_attended", 0, {"activity": "work", "minutes": 180}))
    return recs


def _scenario(
    subject_stops: date | None = None,
    everyone_quiet: tuple[date, ...] = (),
    late_days: tuple[date, ...] = (),
    subject_off: tuple[date, ...] = (),
) -> list[Upload]:
    """One batch a day at 20:00; ``late_days``' subject records are uploaded three days late."""
    uploads = []
    for i in range(DAYS):
        day = START + timedelta(days=i)
        seal = datetime(day.year, day.month, day.day, 20, tzinfo=TZ)
        records: list[dict[str, object]] = []
        for pid in OTHERS:
            if day not in everyone_quiet:
                records += _routine(pid, day)
        off = day in everyone_quiet or day in subject_off
        if (subject_stops is None or day < subject_stops) and not off:
            mine = _routine(SUBJECT, day)
            if day in late_days:
                uploads.append(_batch(seal + timedelta(days=3), mine, name="K2"))
            else:
                records += mine
        uploads.append(_batch(seal, records))
    return uploads


def _reds(uploads: list[Upload], threshold: float = 6.0) -> list[Flag]:
    return habit_rule_flags(uploads, TZ, FIRST_CHECK, LAST_CHECK, [threshold])[threshold]


def test_poisson_lower_tail_matches_the_formula() -> None:
    assert poisson_lower_tail(0, 3.0) == (0.049787068367863944)
    assert abs(poisson_lower_tail(2, 3.0) - 0.42319008112684353) < 1e-12
    assert poisson_lower_tail(0, 0.0) == 1.0


def test_a_person_who_stops_two_habits_is_flagged() -> None:
    # Given twelve steady people and one who stops calling and using the kiosk
    uploads = _scenario(subject_stops=STOP)

    # When the rule runs every morning
    reds = _reds(uploads)

    # Then the subject is red on the second morning after the stop (both judged days empty), and nobody else
    assert [r.prisoner_id for r in reds] == [SUBJECT]
    assert reds[0].raised_at.astimezone(TZ).date() == STOP + timedelta(days=2)
    assert reds[0].raised_at.astimezone(TZ).hour == 6


def test_a_high_threshold_keeps_the_same_person_green() -> None:
    assert _reds(_scenario(subject_stops=STOP), threshold=1000.0) == []


def test_an_establishment_wide_fall_is_not_flagged() -> None:
    # Given two days on which nobody uses the kiosk at all (a lockdown with the kiosks off)
    quiet = (STOP, STOP + timedelta(days=1))

    # When the rule runs
    reds = _reds(_scenario(everyone_quiet=quiet), threshold=3.0)

    # Then the establishment's fall scales everyone's expectation down: nobody is red
    assert reds == []


def test_no_second_red_for_the_same_person_within_14_days() -> None:
    # Given a person who goes quiet for two days three times: days 33-34, 40-41 and 52-53
    off = tuple(START + timedelta(days=d) for d in (33, 34, 40, 41, 52, 53))
    uploads = _scenario(subject_off=off)

    # When the rule runs
    reds = _reds(uploads)

    # Then the first and the third are red; the second, 7 days after the first red, is not
    days = [(r.raised_at.astimezone(TZ).date() - START).days for r in reds if r.prisoner_id == SUBJECT]
    assert days == [35, 54]
    # And the second spell alone would have been red (checks started after the first)
    later = habit_rule_flags(uploads, TZ, START + timedelta(days=38), LAST_CHECK, [6.0])[6.0]
    assert [(r.raised_at.astimezone(TZ).date() - START).days for r in later] == [42]


def test_records_uploaded_after_the_check_are_not_seen() -> None:
    # Given the subject's ordinary records for two days, uploaded three days late by a kiosk backlog
    late = (STOP, STOP + timedelta(days=1))

    # When the rule runs
    reds = _reds(_scenario(late_days=late))

    # Then at the morning after those two days the rule saw nothing of them and flagged the subject
    assert [(r.prisoner_id, r.raised_at.astimezone(TZ).date()) for r in reds] == [(SUBJECT, STOP + timedelta(days=2))]
    # And with the same records on time, nobody is red
    assert _reds(_scenario()) == []


def test_repeated_events_count_once_and_released_people_are_not_checked() -> None:
    # Given every batch uploaded twice
    uploads = _scenario(subject_stops=STOP)
    assert _reds(uploads + uploads) == _reds(uploads)

    # And given the subject released the day their records stop
    at = datetime(STOP.year, STOP.month, STOP.day, 9, tzinfo=TZ)
    release = {"event_id": "rel-1", "type": "release", "prisoner_id": SUBJECT, "occurred_at": at.isoformat()}
    uploads.append(_batch(at + timedelta(hours=1), [release], name="HUB"))

    # Then nobody is red
    assert _reds(uploads) == []


def test_two_refusals_make_a_red_even_with_habits_kept() -> None:
    # Given the subject refusing work twice in two days while keeping every habit
    uploads = _scenario()
    refusals = [
        _event(SUBJECT, STOP + timedelta(days=k), "activity_missed", 5, {"activity": "work", "reason": "refused"})
        for k in range(2)
    ]
    seal = datetime(STOP.year, STOP.month, STOP.day, 21, tzinfo=TZ) + timedelta(days=1)
    uploads.append(_batch(seal, refusals, name="HUB"))

    # When the rule runs at threshold 6 (two refusals score 6)
    reds = _reds(uploads)

    # Then the subject is red on the next morning
    assert [(r.prisoner_id, r.raised_at.astimezone(TZ).date()) for r in reds] == [(SUBJECT, STOP + timedelta(days=2))]
