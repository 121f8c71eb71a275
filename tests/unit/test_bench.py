"""The deterministic parts of ``aim bench``: counting round trips and units, and the cost arithmetic.

No timing is asserted: the machine is shared and timings are noisy.
"""

from __future__ import annotations

import json
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from aim.domain.batch import read_batch
from aim_lab.bench import (
    Estate,
    Measured,
    issue_batch,
    issue_round_trips,
    item_size,
    monthly_cost,
    rru,
    scoring_at_scale,
    transform_throughput,
    wru,
)


def test_item_size_counts_names_and_values_as_dynamodb_does() -> None:
    # Given an item with a string, a number and a binary attribute
    item = {"pk": {"S": "LEI#2026-03-10"}, "n": {"N": "12345"}, "b": {"B": b"\x00" * 10}}
    # Then its size is the names plus the values (a number: about one byte per two digits, plus one)
    assert item_size(item) == (2 + 14) + (1 + 4) + (1 + 10)


def test_request_units_round_up_per_item() -> None:
    assert wru(1) == 1 and wru(1024) == 1 and wru(1025) == 2
    assert rru(0, consistent=True) == 1.0
    assert rru(4097, consistent=True) == 2.0
    assert rru(4096, consistent=False) == 0.5


def test_issue_batch_is_valid_and_spans_the_prisoners() -> None:
    key, body, _ = issue_batch(records=50, prisoners=10)
    verdict = read_batch(key, body)
    assert len(verdict.accepted) == 50 and not verdict.rejects
    assert len({a.record.prisoner_id for a in verdict.accepted}) == 10  # type: ignore[union-attr]


def test_round_trips_of_a_small_batch_are_counted_exactly() -> None:
    # Given one batch of 30 records for 10 prisoners on one day, on the embedded local AWS
    result = issue_round_trips(records=30, prisoners=10)
    # Then storing it takes one read of the day's change set, one write of the day's pack and one
    # change-set update
    assert result["ingest_calls"] == {
        "activity.BatchGetItem": 1,
        "activity.BatchWriteItem": 1,
        "activity.UpdateItem": 1,
    }
    assert result["items_written"] == 2
    # And the same batch again only reads the change set, which already names it: nothing is written
    assert result["reupload_calls"] == {"activity.BatchGetItem": 1}
    assert result["score_read_round_trips"] >= 4


def test_every_cost_line_is_quantity_times_unit_price() -> None:
    lines = monthly_cost(Estate(), Measured())
    for line in lines:
        assert line.dollars == pytest.approx(line.quantity * line.unit_price)
    assert len({(c.service, c.item) for c in lines}) == len(lines)


def test_record_driven_lines_scale_with_the_record_rate() -> None:
    # Given the same estate at 10 and at 50 records per prisoner per day
    low = {c.item: c for c in monthly_cost(Estate(records_per_prisoner_day=10), Measured())}
    high = {c.item: c for c in monthly_cost(Estate(records_per_prisoner_day=50), Measured())}
    # Then fact writes grow five-fold, and per-batch (change-set reads) and per-run lines do not
    fact_writes = "ingest: fact item writes (BatchWriteItem)"
    assert high[fact_writes].quantity == pytest.approx(5 * low[fact_writes].quantity)
    checks = "ingest: change-set reads (BatchGetItem, consistent)"
    assert high[checks].quantity == pytest.approx(low[checks].quantity)
    assert high["PUT (kiosk upload + report)"].quantity == pytest.approx(low["PUT (kiosk upload + report)"].quantity)
    assert high["score requests"].quantity == pytest.approx(low["score requests"].quantity)


def test_fact_writes_for_the_estate_at_ten_records_a_day() -> None:
    # 88,000 prisoners x 10 records x 30.4 days x 1 WRU = 26.752 M WRU
    lines = {c.item: c for c in monthly_cost(Estate(), replace(Measured(), fact_wru_per_record=1.0))}
    writes = lines["ingest: fact item writes (BatchWriteItem)"]
    assert writes.quantity == pytest.approx(26.752)
    assert writes.dollars == pytest.approx(26.752 * 0.7425)


def test_storage_counts_the_per_item_overhead_once_per_stored_item() -> None:
    # Given facts of 30 bytes a record, stored one item per record or one pack per 35 records
    per_event = {c.item: c for c in monthly_cost(Estate(), replace(Measured(), fact_item_bytes=30.0))}
    packed = {
        c.item: c
        for c in monthly_cost(Estate(), replace(Measured(), fact_item_bytes=30.0, fact_items_per_record=1 / 35))
    }
    storage = "storage (facts, 180-day TTL; state)"
    records = 88_000 * 10 * 180
    # Then DynamoDB's 100 bytes an item is counted per item
    assert per_event[storage].quantity - packed[storage].quantity == pytest.approx(records * 100 * (1 - 1 / 35) / 1e9)


def test_cost_lines_serialise_for_bench_json() -> None:
    lines = monthly_cost(Estate(), Measured())
    text = json.dumps([{"item": c.item, "dollars": round(c.dollars, 2)} for c in lines])
    assert "fact item writes" in text


def test_scoring_at_scale_runs_the_real_assessment_for_every_prisoner() -> None:
    # Given a small establishment, When the scale bench's scoring pass runs once
    result = scoring_at_scale(prisoners=60, repeats=1)
    # Then every prisoner got a light and the estate figures are derived from the measured time
    assert sum(result["lights"].values()) == 60
    assert result["estate"]["cpu_s_per_establishment"] >= 0


def test_transform_figures_count_every_record_line_and_time_a_500_record_batch() -> None:
    # Given two valid batches, one of them uploaded twice
    first, second = issue_batch(records=30, prisoners=5)[:2], issue_batch(records=12, prisoners=3)[:2]
    # When the transform figures are measured
    result = transform_throughput([first, second, first], ZoneInfo("Europe/London"), repeats=1)
    # Then every record line counts, a repeated upload included, and the figures are derived from the time
    assert (result["batches"], result["records"]) == (3, 72)
    assert result["records_per_s"] > 0 and result["batch_500_ms"] > 0
    assert result["us_per_record"] == pytest.approx(1e6 / result["records_per_s"], rel=0.01)
    assert set(result["stage_share"]) == {"read_batch", "packs", "change_sets"}
    assert "ratio" not in result
