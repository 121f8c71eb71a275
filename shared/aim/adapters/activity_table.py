"""ActivityTable: facts packed per batch and local day, and each day's change set.

Key layout:
    pk = "{EST}#{local date}"   one partition per establishment-day, read whole by the scorer
    sk = "~B#{kiosk}#{batch_id}#{digest}#{chunk:03d}"
                                a pack chunk: ``f`` the zlib-compressed JSON rows, ``n`` how many facts,
                                ``expires_at`` (TTL) retention after the latest fact of the pack
    pk = "{EST}#DAYS", sk = "{local date}"
                                the day's change set: string set ``batches`` of the members
                                (``{kiosk}/{batch_id}#{digest}``) of the packs stored for that day,
                                expiring with the first pack that created it

Writes commute and are idempotent: a pack's bytes and key depend only on its facts, and adding a
member already in a change set changes nothing. A change set names a pack only after every chunk
of it is stored, so a crash between the two leaves the day to a retry, which writes exactly what
is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from aim.adapters.dynamodb import CallCounter, DynamoTable, Key
from aim.domain.activity import DayPack, Fact, distinct_facts, facts_of_chunk

PACK_PREFIX = "~B#"
CHANGE_SET = "batches"


def day_partition(establishment: str, day: date) -> str:
    return f"{establishment}#{day.isoformat()}"


def change_set_key(establishment: str, day: date) -> Key:
    return f"{establishment}#DAYS", day.isoformat()


def pack_sk(kiosk_id: str, batch_id: str, digest: str, chunk: int) -> str:
    return f"{PACK_PREFIX}{kiosk_id}#{batch_id}#{digest}#{chunk:03d}"


def pack_items(establishment: str, pack: DayPack) -> list[dict[str, Any]]:
    """The items that store a pack: one per chunk."""
    pk = day_partition(establishment, pack.day)
    return [
        {
            "pk": pk,
            "sk": pack_sk(pack.kiosk_id, pack.batch_id, pack.digest, n),
            "f": blob,
            "n": count,
            "expires_at": pack.expires_at,
        }
        for n, (count, blob) in enumerate(pack.chunks)
    ]


def facts_of_item(item: dict[str, Any]) -> list[Fact]:
    """The facts of one pack chunk item (``f`` bytes or any bytes-like value, e.g. boto3's Binary)."""
    establishment, _, day = str(item["pk"]).partition("#")
    kiosk_id, batch_id, _, _ = str(item["sk"])[len(PACK_PREFIX) :].split("#")
    blob = item["f"].value if hasattr(item["f"], "value") else item["f"]
    return facts_of_chunk(establishment, date.fromisoformat(day), kiosk_id, batch_id, bytes(blob))


def facts_of_items(items: Sequence[dict[str, Any]]) -> list[Fact]:
    """The distinct facts of a day partition's pack items."""
    return distinct_facts(f for item in items if str(item["sk"]).startswith(PACK_PREFIX) for f in facts_of_item(item))


class DynamoActivityRepository:
    """The activity port on DynamoDB.

    Round trips to store a batch: one read of its days' change sets (BatchGetItem), one BatchWriteItem
    per 25 pack chunks, one UpdateItem per day stored: three for a batch on one day, one for a
    redelivery."""

    def __init__(self, table: str, client: Any | None = None, counter: CallCounter | None = None) -> None:
        self.table = DynamoTable(table, client, counter)

    @property
    def counter(self) -> CallCounter:
        return self.table.counter

    def put_packs_if_absent(self, establishment: str, packs: Sequence[DayPack]) -> list[DayPack]:
        if not packs:
            return []
        keys = [change_set_key(establishment, p.day) for p in packs]
        recorded = self.table.batch_get(keys, projection=[CHANGE_SET])
        todo = [p for p, k in zip(packs, keys, strict=True) if p.member not in recorded.get(k, {}).get(CHANGE_SET, ())]
        self.table.batch_put(item for p in todo for item in pack_items(establishment, p))
        for p in todo:  # after every chunk is stored: a crash before this leaves the day to a retry
            self.table.update(
                change_set_key(establishment, p.day),
                "ADD #a :v SET expires_at = if_not_exists(expires_at, :e)",
                {"#a": CHANGE_SET},
                {":v": {"SS": [p.member]}, ":e": {"N": str(p.expires_at)}},
            )
        return todo

    def changed_days(self, establishment: str, days: Sequence[date], seen: Mapping[date, int]) -> dict[date, int]:
        found = self.table.batch_get([change_set_key(establishment, d) for d in days])
        counts = {date.fromisoformat(sk): len(item.get(CHANGE_SET, ())) for (_, sk), item in found.items()}
        return {d: n for d, n in sorted(counts.items()) if seen.get(d) != n}

    def facts_of_day(self, establishment: str, day: date) -> list[Fact]:
        # Strongly consistent: the change set named these packs only after they were stored.
        return facts_of_items(self.table.query(day_partition(establishment, day), PACK_PREFIX, consistent=True))

    def change_sets(self, establishment: str) -> dict[date, set[str]]:
        """Every change set of an establishment (for operators' tools and tests)."""
        return {
            date.fromisoformat(str(item["sk"])): set(item.get(CHANGE_SET, ()))
            for item in self.table.query(f"{establishment}#DAYS")
        }
