"""The two contract example batches through the real handlers on moto, with exactly the
outcome ``events/contract-examples/README.md`` describes."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from aim.adapters.activity_table import facts_of_items
from aim.adapters.dynamodb import from_attr
from aim.domain.activity import Fact, member_ref
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


def _batches(change_set: dict) -> list[str]:
    """The batch refs a day's change set names (members are ``{kiosk}/{batch_id}#{digest}``)."""
    return sorted(member_ref(m) for m in change_set["batches"]["SS"])


def _facts(local, pk: str = "LEI#2026-11-20") -> dict[str, Fact]:
    """The distinct facts of a day partition as the scorer reads them, by identity."""
    items = [from_attr(i) for (p, _), i in _activity(local).items() if p == pk]
    return {f.identity: f for f in facts_of_items(items)}


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
    # And one pack holding every record, on the local day, plus the day's change set
    items = _activity(local)
    (pack_sk,) = [sk for (pk, sk) in items if pk == "LEI#2026-11-20"]
    assert pack_sk.startswith("~B#LEI-K07#LEI-K07-20261120T0915#") and pack_sk.endswith("#000")
    facts = _facts(local)
    assert set(facts) == {
        "A1234BC#LEI-K07-000120",
        "A1234BC#LEI-K07-000121",
        "A1234BC#LEI-K07-000122",
        "A1234BC#LEI-K07-000123",
        "G5678KL#LEI-K07-000124",
        "G5678KL#LEI-K07-000125",
        "A1234BC#LEI-K07-000126",
        "~K#LEI-K07#LEI-K07-HB-0915",
    }
    assert _batches(items[("LEI#DAYS", "2026-11-20")]) == ["LEI-K07/LEI-K07-20261120T0915"]
    phone = facts["A1234BC#LEI-K07-000122"]
    assert phone.type == "phone_call"
    assert phone.detail_dict() == {"duration_s": 540}
    assert local.dead_letters() == 0


def test_second_example_batch_applies_line_2_rejects_3_to_5_ignores_duplicate_keeps_unknown(
    local, examples_dir, received_at, read_report
):
    # Given the first example batch is already applied
    _upload(local, examples_dir / GOOD, received_at)
    before = _facts(local)

    # When the batch with bad records is uploaded after it
    key = _upload(local, examples_dir / BAD, received_at)

    # Then the report: lines 2, 6 and 7 stored, lines 3/4/5 rejected with reasons. Line 6 repeats an
    # event of another batch: that is not looked up at ingest (it counts once when the day is read)
    report = read_report(local, key)
    assert report["status"] == "applied"
    assert report["records_applied"] == 3
    assert report["records_duplicate"] == 0
    assert report["records_rejected"] == 3
    assert report["unknown_types"] == 1
    rejects = {r["line"]: r for r in report["rejects"]}
    assert sorted(rejects) == [3, 4, 5]
    assert "prisoner_id" in rejects[3]["reason"]
    assert "occurred_at" in rejects[4]["reason"]
    assert "duration_s" in rejects[5]["reason"]
    assert [rejects[n]["event_id"] for n in (3, 4, 5)] == ["LEI-K07-000128", "LEI-K07-000129", "LEI-K07-000130"]

    after = _facts(local)
    new = {k: v for k, v in after.items() if k not in before}
    # line 2 applied, line 7 stored (unknown type); nothing of lines 3-5
    assert set(new) == {"A1234BC#LEI-K07-000127", "A1234BC#LEI-K07-000131"}
    assert new["A1234BC#LEI-K07-000131"].type == "hologram_booked"
    # line 6 (a repeat of event 000122) changed nothing: the fact read is the first batch's copy
    dup = "A1234BC#LEI-K07-000122"
    assert after[dup] == before[dup]
    assert after[dup].batch == "LEI-K07/LEI-K07-20261120T0915"
    assert _batches(_activity(local)[("LEI#DAYS", "2026-11-20")]) == [
        "LEI-K07/LEI-K07-20261120T0915",
        "LEI-K07/LEI-K07-20261120T1015",
    ]

    # And the unknown type is kept out of scoring: the day's vector counts routine records only
    facts = list(after.values())
    vectors = day_vectors(facts, LONDON)
    a = vectors["A1234BC"]
    # kiosk_login, 2 phone calls, visit_booked, activity_missed: 5 routine records; profile and unknown not counted
    assert int(a[F["routine"]]) == 5
    assert int(a[F["phone_call"]]) == 2
    assert int(a.sum()) == 5 + 5  # each routine record counts once in its feature and once in "routine"
