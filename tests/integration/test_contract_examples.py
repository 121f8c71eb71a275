"""The two contract example batches through the real handlers on moto, with exactly the
outcome ``../shared/contract/examples/README.md`` describes."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from aim.domain.activity import Fact
from aim.domain.features import F, day_vectors

GOOD = "LEI-K07-20261120T0915.jsonl"
BAD = "LEI-K07-20261120T1015-bad-records.jsonl"
LONDON = ZoneInfo("Europe/London")


def _key_for(body: bytes) -> str:
    header = json.loads(body.split(b"\n", 1)[0])
    return f"incoming/{header['establishment']}/{header['kiosk_id']}/{header['batch_id']}.jsonl"


def _upload(local, path: Path, at) -> str:
    body = path.read_bytes()
    key = _key_for(body)
    local.upload(key, body, at)
    return key


def _activity(local) -> dict[tuple[str, str], dict]:
    ddb = local.clients["dynamodb"]
    items = ddb.scan(TableName=local.resources["activity_table"], ConsistentRead=True)["Items"]
    return {(i["pk"]["S"], i["sk"]["S"]): i for i in items}


def test_first_example_batch_applies_all_eight_records(local, examples_dir, received_at, read_report):
    # Given the valid example batch
    # When a kiosk uploads it
    key = _upload(local, examples_dir / GOOD, received_at)

    # Then the report says applied, 8 records, nothing rejected
    report = read_report(local, key)
    assert report["status"] == "applied"
    assert report["records_applied"] == 8
    assert report["records_rejected"] == 0
    assert report["records_duplicate"] == 0
    assert report["heartbeats"] == 1
    assert report["rejects"] == []
    # And one fact item per record, on the local day, plus the day's change set
    items = _activity(local)
    facts = {sk for (pk, sk) in items if pk == "LEI#2026-11-20"}
    assert facts == {
        "A1234BC#LEI-K07-000120",
        "A1234BC#LEI-K07-000121",
        "A1234BC#LEI-K07-000122",
        "A1234BC#LEI-K07-000123",
        "G5678KL#LEI-K07-000124",
        "G5678KL#LEI-K07-000125",
        "A1234BC#LEI-K07-000126",
        "~K#LEI-K07#LEI-K07-HB-0915",
    }
    assert items[("LEI#DAYS", "2026-11-20")]["batches"]["SS"] == ["LEI-K07/LEI-K07-20261120T0915"]
    phone = items[("LEI#2026-11-20", "A1234BC#LEI-K07-000122")]
    assert phone["t"]["S"] == "phone_call"
    assert json.loads(phone["d"]["S"]) == {"duration_s": 540}
    assert local.dead_letters() == 0


def test_second_example_batch_applies_line_2_rejects_3_to_5_ignores_duplicate_keeps_unknown(
    local, examples_dir, received_at, read_report
):
    # Given the first example batch is already applied
    _upload(local, examples_dir / GOOD, received_at)
    before = _activity(local)

    # When the batch with bad records is uploaded after it
    key = _upload(local, examples_dir / BAD, received_at)

    # Then the report: line 2 and line 7 applied, lines 3/4/5 rejected with reasons, line 6 duplicate
    report = read_report(local, key)
    assert report["status"] == "applied"
    assert report["records_applied"] == 2
    assert report["records_duplicate"] == 1
    assert report["records_rejected"] == 3
    assert report["unknown_types"] == 1
    rejects = {r["line"]: r for r in report["rejects"]}
    assert sorted(rejects) == [3, 4, 5]
    assert "prisoner_id" in rejects[3]["reason"]
    assert "occurred_at" in rejects[4]["reason"]
    assert "duration_s" in rejects[5]["reason"]
    assert [rejects[n]["event_id"] for n in (3, 4, 5)] == ["LEI-K07-000128", "LEI-K07-000129", "LEI-K07-000130"]

    after = _activity(local)
    new = {k: v for k, v in after.items() if k not in before}
    # line 2 applied, line 7 stored (unknown type); nothing of lines 3-5
    assert set(new) == {("LEI#2026-11-20", "A1234BC#LEI-K07-000127"), ("LEI#2026-11-20", "A1234BC#LEI-K07-000131")}
    assert new[("LEI#2026-11-20", "A1234BC#LEI-K07-000131")]["t"]["S"] == "hologram_booked"
    # line 6 (a repeat of event 000122) changed nothing: the item still names its first batch
    dup = ("LEI#2026-11-20", "A1234BC#LEI-K07-000122")
    assert after[dup] == before[dup]
    assert after[dup]["b"]["S"] == "LEI-K07/LEI-K07-20261120T0915"
    assert after[("LEI#DAYS", "2026-11-20")]["batches"]["SS"] == [
        "LEI-K07/LEI-K07-20261120T0915",
        "LEI-K07/LEI-K07-20261120T1015",
    ]

    # And the unknown type is kept out of scoring: the day's vector counts routine records only
    facts = [
        Fact.from_item({k: next(iter(v.values())) for k, v in i.items()})
        for (pk, _), i in after.items()
        if pk == "LEI#2026-11-20"
    ]
    vectors = day_vectors(facts, LONDON)
    a = vectors["A1234BC"]
    # kiosk_login, 2 phone calls, visit_booked, activity_missed: 5 routine records; profile and unknown not counted
    assert int(a[F["routine"]]) == 5
    assert int(a[F["phone_call"]]) == 2
    assert int(a.sum()) == 5 + 5  # each routine record counts once in its feature and once in "routine"
