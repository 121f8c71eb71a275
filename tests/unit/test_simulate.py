"""The establishment simulator: contract-shaped batches, honest ground truth, realistic noise."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aim_lab.simulate import (
    Scenario,
    ScenarioSpec,
    SimBatch,
    load_truth,
    simulate,
    tiny_spec,
    uk_bank_holidays,
    write_scenario,
)

PRISON_NUMBER = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
OFFSET_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
LONDON = ZoneInfo("Europe/London")
RECORD_TYPES = {
    "visit_booked",
    "visit_cancelled",
    "visit_attended",
    "phone_call",
    "phone_credit_added",
    "activity_attended",
    "activity_missed",
    "canteen_order",
    "meal_selected",
    "application_submitted",
    "complaint_submitted",
    "healthcare_request",
    "kiosk_login",
    "profile",
    "reception",
    "location_change",
    "transfer_out",
    "release",
    "significant_date",
    "kiosk_heartbeat",
}


def _lines(batch: SimBatch) -> list[dict[str, Any]]:
    body = gzip.decompress(batch.body) if batch.key.endswith(".gz") else batch.body
    return [json.loads(line) for line in body.decode("utf-8").split("\n") if line.strip()]


def _records(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Distinct events by event_id (a re-sent batch or a re-batched record counts once)."""
    out: dict[str, dict[str, Any]] = {}
    for batch in scenario.batches:
        for record in _lines(batch)[1:]:
            out[record["event_id"]] = record
    return out


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def tiny() -> Scenario:
    return simulate(tiny_spec(seed=3))


@pytest.fixture(scope="module")
def default() -> Scenario:
    return simulate(ScenarioSpec())


@pytest.fixture(scope="module")
def default_records(default: Scenario) -> dict[str, dict[str, Any]]:
    return _records(default)


def test_given_same_spec_when_simulated_twice_then_batches_and_truth_are_identical() -> None:
    first, second = simulate(tiny_spec(seed=7)), simulate(tiny_spec(seed=7))

    assert [(b.key, b.created_at, b.body) for b in first.batches] == [
        (b.key, b.created_at, b.body) for b in second.batches
    ]
    assert first.truth == second.truth
    assert first.confounders == second.confounders
    assert first.prisoners == second.prisoners


def test_given_different_seeds_when_simulated_then_scenarios_differ() -> None:
    first, second = simulate(tiny_spec(seed=1)), simulate(tiny_spec(seed=2))

    assert [p.prisoner_id for p in first.prisoners] != [p.prisoner_id for p in second.prisoners]
    assert [b.body for b in first.batches] != [b.body for b in second.batches]


def test_given_a_scenario_when_each_batch_is_read_then_header_first_and_record_count_matches(
    tiny: Scenario,
) -> None:
    assert tiny.batches
    for batch in tiny.batches:
        lines = _lines(batch)
        header, records = lines[0], lines[1:]
        assert header["schema"] == "aim.kiosk-batch/1"
        assert header["record_count"] == len(records) == batch.records
        assert header["establishment"] == "LEI"
        assert batch.key == f"incoming/LEI/{header['kiosk_id']}/{header['batch_id']}" + (
            ".jsonl.gz" if batch.key.endswith(".gz") else ".jsonl"
        )
        assert IDENTIFIER.match(header["batch_id"]) and IDENTIFIER.match(header["kiosk_id"])
        assert OFFSET_TIMESTAMP.match(header["created_at"])
        assert sum(1 for r in records if r["type"] == "kiosk_heartbeat") == 1
        for record in records:
            assert record["type"] in RECORD_TYPES
            assert IDENTIFIER.match(record["event_id"])
            assert OFFSET_TIMESTAMP.match(record["occurred_at"])
            # Nothing in a batch happened after the kiosk sealed it.
            assert _at(record["occurred_at"]) <= _at(header["created_at"])


def test_given_batches_when_listed_then_sorted_by_created_at_in_utc(tiny: Scenario) -> None:
    times = [b.created_at for b in tiny.batches]

    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) for t in times)


def test_given_records_then_prisoner_ids_are_valid_and_heartbeats_have_none(tiny: Scenario) -> None:
    for record in _records(tiny).values():
        if record["type"] == "kiosk_heartbeat":
            assert "prisoner_id" not in record
        else:
            assert PRISON_NUMBER.match(record["prisoner_id"])


def test_given_the_roster_then_prison_numbers_are_unique_and_ages_span_18_to_70(default: Scenario) -> None:
    ids = [p.prisoner_id for p in default.prisoners]
    ages = [(default.spec.start - p.date_of_birth).days / 365.25 for p in default.prisoners]

    assert len(ids) == len(set(ids)) == 240
    assert all(PRISON_NUMBER.match(i) for i in ids)
    assert min(ages) >= 18 and max(ages) < 71
    assert sum(1 for a in ages if a < 25) / len(ages) > 0.2


def test_given_an_event_id_in_two_batches_then_its_record_is_identical(tiny: Scenario) -> None:
    seen: dict[str, str] = {}
    repeated = 0
    for batch in tiny.batches:
        for record in _lines(batch)[1:]:
            text = json.dumps(record, sort_keys=True)
            if record["event_id"] in seen:
                repeated += 1
                assert seen[record["event_id"]] == text
            seen[record["event_id"]] = text

    assert repeated > 0


def test_given_default_spec_then_volume_is_near_target(default: Scenario) -> None:
    stats = default.stats()

    assert 70_000 <= stats["records"] <= 110_000
    assert 3_000 <= stats["batches"] <= 5_000
    assert 4.5 <= stats["events_per_prisoner_day"] <= 7.5


def test_given_default_spec_then_about_a_fifth_are_low_kiosk_users(
    default: Scenario, default_records: dict[str, dict[str, Any]]
) -> None:
    low = {p.prisoner_id for p in default.prisoners if p.usage == "low"}
    per_prisoner = Counter(r.get("prisoner_id") for r in default_records.values())

    assert 0.12 <= len(low) / len(default.prisoners) <= 0.3
    assert sum(per_prisoner[p] for p in low) / (len(low) * default.spec.days) <= 2.5


def test_given_collapses_then_onset_follows_enough_history(default: Scenario) -> None:
    spec = default.spec
    run_start = datetime.combine(spec.start, datetime.min.time(), LONDON)
    arrivals = {p.prisoner_id: p.arrival_at for p in default.prisoners}

    assert 0.03 * spec.prisoners <= len(default.truth) <= 0.05 * spec.prisoners
    for collapse in default.truth:
        arrived = arrivals[collapse.prisoner_id]
        if arrived is None:
            assert collapse.onset_at - run_start >= timedelta(days=spec.min_history_days)
        else:
            assert collapse.new_arrival
            assert collapse.onset_at - arrived >= timedelta(days=spec.arrival_history_days - 1)
        assert 1 <= len(collapse.factors) <= 4


def test_given_a_collapse_then_its_falling_factors_really_fall(
    default: Scenario, default_records: dict[str, dict[str, Any]]
) -> None:
    kinds = {"phone": {"phone_call"}, "meals": {"meal_selected"}, "canteen": {"canteen_order"}}
    by_prisoner: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in default_records.values():
        if "prisoner_id" in record:
            by_prisoner[record["prisoner_id"]].append(record)
    total_before = total_after = 0
    for collapse in default.truth:
        for factor, types in kinds.items():
            if factor not in collapse.factors:
                continue
            onset = collapse.onset_at
            settled = onset + timedelta(days=collapse.ramp_days + 1)
            before = [
                r
                for r in by_prisoner[collapse.prisoner_id]
                if r["type"] in types and onset - timedelta(days=14) <= _at(r["occurred_at"]) < onset
            ]
            after = [
                r
                for r in by_prisoner[collapse.prisoner_id]
                if r["type"] in types and settled <= _at(r["occurred_at"]) < settled + timedelta(days=14)
            ]
            total_before += len(before)
            total_after += len(after)

    # Per prisoner a partial collapse can hide in noise (weekly menus, a few calls); overall it cannot.
    assert total_before > 20
    assert total_after <= 0.5 * total_before


def test_given_departures_then_nothing_is_recorded_after_release_or_transfer(
    default: Scenario, default_records: dict[str, dict[str, Any]]
) -> None:
    departed = {p.prisoner_id: p for p in default.prisoners if p.departure_at is not None}
    last_seen: dict[str, datetime] = {}
    last_type: dict[str, str] = {}
    for record in default_records.values():
        pid = record.get("prisoner_id")
        if pid in departed:
            when = _at(record["occurred_at"])
            if pid not in last_seen or when > last_seen[pid]:
                last_seen[pid], last_type[pid] = when, record["type"]

    assert departed
    assert {p.departure_kind for p in departed.values()} == {"release", "transfer_out"}
    for pid, prisoner in departed.items():
        assert last_seen[pid] <= prisoner.departure_at
        assert last_type[pid] == prisoner.departure_kind


def test_given_receptions_then_arrivals_start_with_a_reception_record(
    default: Scenario, default_records: dict[str, dict[str, Any]]
) -> None:
    arrivals = {p.prisoner_id: p for p in default.prisoners if p.arrival_at is not None}
    first: dict[str, tuple[datetime, str]] = {}
    for record in default_records.values():
        pid = record.get("prisoner_id")
        if pid in arrivals:
            when = _at(record["occurred_at"])
            if pid not in first or when < first[pid][0]:
                first[pid] = (when, record["type"])

    assert arrivals
    for pid, prisoner in arrivals.items():
        assert first[pid] == (prisoner.arrival_at, "reception")


def test_given_a_kiosk_outage_then_no_batch_or_heartbeat_inside_and_the_backlog_comes_late(
    default: Scenario,
) -> None:
    outage = next(c for c in default.confounders if c.kind == "kiosk_outage")
    assert timedelta(hours=12) <= outage.end - outage.start <= timedelta(hours=36)
    kiosk = [b for b in default.batches if b.kiosk_id == outage.kiosk_id]

    assert not [b for b in kiosk if outage.start < b.created_at < outage.end]
    heartbeats = [_at(r["occurred_at"]) for b in kiosk for r in _lines(b)[1:] if r["type"] == "kiosk_heartbeat"]
    assert not [t for t in heartbeats if outage.start < t < outage.end]
    backlog = [b for b in kiosk if b.delivery == "backlog"]
    assert backlog and all(b.created_at >= outage.end for b in backlog)
    held = [
        r
        for b in backlog
        for r in _lines(b)[1:]
        if r["type"] != "kiosk_heartbeat" and outage.start < _at(r["occurred_at"]) < outage.end
    ]
    assert held


def test_given_delivery_noise_then_late_and_resent_batches_exist(default: Scenario) -> None:
    by_key: dict[str, list[SimBatch]] = defaultdict(list)
    for batch in default.batches:
        by_key[batch.key].append(batch)
    resent = [b for b in default.batches if b.delivery == "resent"]
    late = [b for b in default.batches if b.delivery == "late"]

    assert resent and late
    for batch in resent:
        first = by_key[batch.key][0]
        assert first.delivery != "resent" and first.body == batch.body and first.created_at < batch.created_at
    for batch in late:
        sealed = max(_at(r["occurred_at"]) for r in _lines(batch)[1:])
        assert batch.created_at - sealed >= timedelta(minutes=50)


def test_given_gzip_keys_then_bodies_decompress_to_json_lines(tiny: Scenario) -> None:
    gz = [b for b in tiny.batches if b.key.endswith(".jsonl.gz")]
    plain = [b for b in tiny.batches if b.key.endswith(".jsonl")]

    assert gz and plain
    for batch in gz:
        assert batch.body[:2] == b"\x1f\x8b"
        assert json.loads(gzip.decompress(batch.body).split(b"\n")[0])["schema"] == "aim.kiosk-batch/1"


def test_given_the_bst_change_then_timestamps_carry_both_offsets_and_are_local_correct(
    default_records: dict[str, dict[str, Any]],
) -> None:
    offsets = Counter(r["occurred_at"][-6:] for r in default_records.values())

    assert offsets["+00:00"] > 0 and offsets["+01:00"] > 0
    assert set(offsets) == {"+00:00", "+01:00"}
    for record in default_records.values():
        when = _at(record["occurred_at"])
        if record["occurred_at"].endswith("+01:00"):
            assert when.astimezone(LONDON).utcoffset() == timedelta(hours=1)


def test_given_confounders_then_they_affect_many_prisoners_at_once(
    default: Scenario, default_records: dict[str, dict[str, Any]]
) -> None:
    kinds = {c.kind for c in default.confounders}
    lockdown = next(c for c in default.confounders if c.kind == "lockdown_establishment")
    cancelled = [
        r
        for r in default_records.values()
        if r["type"] == "activity_missed"
        and r["detail"]["reason"] == "cancelled"
        and lockdown.start <= _at(r["occurred_at"]) < lockdown.end
    ]

    assert {"lockdown_establishment", "lockdown_wing", "bank_holiday", "kiosk_outage", "regime_change"} <= kinds
    assert len({r["prisoner_id"] for r in cancelled}) > 50


def test_given_2026_then_bank_holidays_include_easter_and_may() -> None:
    holidays = uk_bank_holidays(2026)

    assert date(2026, 4, 3) in holidays and date(2026, 4, 6) in holidays and date(2026, 5, 4) in holidays
    assert date(2026, 12, 28) in holidays  # Boxing Day falls on a Saturday


def test_given_a_scenario_when_written_then_batches_and_truth_are_on_disk(tmp_path: Path) -> None:
    scenario = simulate(tiny_spec(seed=5))

    truth_path = write_scenario(scenario, tmp_path)

    truth = load_truth(truth_path)
    assert truth.truth == scenario.truth and truth.prisoners == scenario.prisoners
    for batch in scenario.batches:
        if batch.delivery != "resent":
            assert (tmp_path / batch.key).read_bytes() == batch.body
    written = list(tmp_path.rglob("*.jsonl")) + list(tmp_path.rglob("*.jsonl.gz"))
    assert len(written) == len(scenario.batches)


def test_stark_collapses_are_abrupt_total_and_broad_and_leave_the_rest_of_the_run_alone() -> None:
    # Given the same spec with mixed and with stark collapses
    spec = tiny_spec(seed=5).model_copy(update={"collapse_fraction": 0.3})
    mixed = simulate(spec)
    stark = simulate(spec.model_copy(update={"collapse_style": "stark"}))
    # Then the same people collapse at the same moments
    assert [(c.prisoner_id, c.onset_at) for c in stark.truth] == [(c.prisoner_id, c.onset_at) for c in mixed.truth]
    assert stark.truth
    # And every stark collapse is abrupt, total and touches at least as many factors
    for s, m in zip(stark.truth, mixed.truth, strict=True):
        assert (s.speed, s.severity, s.ramp_days) == ("abrupt", "total", 0.0)
        assert s.remaining_level <= 0.05
        assert set(m.factors) <= set(s.factors)
    # And people who did not collapse keep the same roster
    assert [p.prisoner_id for p in stark.prisoners] == [p.prisoner_id for p in mixed.prisoners]
