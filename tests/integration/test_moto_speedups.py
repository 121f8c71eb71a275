"""The local-only moto Query speed-up answers exactly as plain moto does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aim.local.moto_speedups import fast_partition_queries
from moto import mock_aws
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

TABLE = "speedup-test"


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-2")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        rows = []
        for p in range(6):
            for s in range(40):
                prisoner = ["A1234BC", "G5678KL", "~K"][s % 3]
                rows.append(
                    {
                        "pk": {"S": f"LEI#2026-11-{10 + p:02d}"},
                        "sk": {"S": f"{prisoner}#E-{s:03d}"},
                        "t": {"S": "phone_call"},
                        "n": {"N": str(s)},
                    }
                )
        rows.append({"pk": {"S": "LEI#DAYS"}, "sk": {"S": "2026-11-10"}, "batches": {"SS": ["K1/B1"]}})
        for start in range(0, len(rows), 25):
            client.batch_write_item(
                RequestItems={TABLE: [{"PutRequest": {"Item": r}} for r in rows[start : start + 25]]}
            )
        yield client


def _all_pages(client: Any, **kwargs: Any) -> list[list[dict]]:
    pages = []
    while True:
        response = client.query(TableName=TABLE, **kwargs)
        pages.append(response["Items"] + [response.get("LastEvaluatedKey"), response["Count"]])
        if "LastEvaluatedKey" not in response:
            return pages
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


QUERIES = {
    "whole partition": {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "LEI#2026-11-12"}},
    },
    "prefix": {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "ExpressionAttributeValues": {":pk": {"S": "LEI#2026-11-12"}, ":p": {"S": "G5678KL#"}},
    },
    "range from": {
        "KeyConditionExpression": "pk = :pk AND sk >= :f",
        "ExpressionAttributeValues": {":pk": {"S": "LEI#2026-11-13"}, ":f": {"S": "G5678KL#E-020"}},
    },
    "between": {
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":pk": {"S": "LEI#2026-11-14"}, ":a": {"S": "A"}, ":b": {"S": "H"}},
    },
    "paginated": {
        "KeyConditionExpression": "pk = :pk",
        "Limit": 7,
        "ExpressionAttributeValues": {":pk": {"S": "LEI#2026-11-15"}},
    },
    "paginated prefix, descending": {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "Limit": 4,
        "ScanIndexForward": False,
        "ExpressionAttributeValues": {":pk": {"S": "LEI#2026-11-10"}, ":p": {"S": "~K"}},
    },
    "filtered": {
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": "n > :n",
        "Limit": 9,
        "ExpressionAttributeValues": {":pk": {"S": "LEI#2026-11-11"}, ":n": {"N": "20"}},
    },
    "missing partition": {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "MDI#X"}}},
    "set item": {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "LEI#DAYS"}}},
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_fast_partition_query_returns_the_same_pages_as_plain_moto(ddb, name):
    # Given a table with several partitions; When the same query runs with and without the speed-up
    plain = _all_pages(ddb, **QUERIES[name])
    with fast_partition_queries():
        fast = _all_pages(ddb, **QUERIES[name])
    # Then every page is identical, item for item, keys and counts included
    assert fast == plain
    assert plain[0][-1] >= 0


def test_speed_up_is_removed_on_exit(ddb):
    original = (Table.query, DynamoResult.execute_result)
    with fast_partition_queries():
        assert (Table.query, DynamoResult.execute_result) != original
    assert (Table.query, DynamoResult.execute_result) == original


def test_partitioned_results_are_not_empty_by_accident(ddb):
    with fast_partition_queries():
        pages = _all_pages(ddb, **QUERIES["paginated"])
    items = [i for page in pages for i in page[:-2]]
    assert len(items) == 40
    assert len(pages) == 6  # 7 per page
    assert [i["sk"]["S"] for i in items] == sorted(i["sk"]["S"] for i in items)


RICH_ITEM = {
    "pk": {"S": "LEI"},
    "sk": {"S": "P#A1234BC"},
    "days": {"B": bytes(range(256)) * 3},
    "n": {"N": "-12.5"},
    "ss": {"SS": ["b", "a"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x00\x01", b"\xff"]},
    "m": {"M": {"x": {"L": [{"S": "y"}, {"N": "3"}, {"BOOL": False}, {"NULL": True}]}}},
    "s": {"S": 'caf\u00e9 \u2603 "quoted" \n'},
}


def _responses(client: Any) -> list[Any]:
    key = {"pk": RICH_ITEM["pk"], "sk": RICH_ITEM["sk"]}
    out = [
        client.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"],
        client.batch_get_item(RequestItems={TABLE: {"Keys": [key]}})["Responses"],
        client.query(
            TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "LEI"}}
        )["Items"],
        sorted(client.scan(TableName=TABLE)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"])),
        client.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="ADD ss :v",
            ExpressionAttributeValues={":v": {"SS": ["c"]}},
            ReturnValues="ALL_NEW",
        )["Attributes"],
    ]
    client.update_item(
        TableName=TABLE, Key=key, UpdateExpression="DELETE ss :v", ExpressionAttributeValues={":v": {"SS": ["c"]}}
    )
    return out


def test_fast_serialisation_gives_the_same_parsed_responses_for_every_attribute_type(ddb):
    # Given an item with binary, sets, a map, a list, bool, null and unicode
    ddb.put_item(TableName=TABLE, Item=RICH_ITEM)
    # When it is read back through each data-plane call, with and without the speed-ups
    plain = _responses(ddb)
    with fast_partition_queries():
        fast = _responses(ddb)
    # Then the parsed responses are identical
    assert fast == plain
    assert plain[0]["days"]["B"] == RICH_ITEM["days"]["B"]
