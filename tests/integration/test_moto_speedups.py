"""The local-only moto speed-ups answer exactly as plain moto does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto.core.responses as moto_responses
import moto.sqs.models as moto_sqs
import pytest
from aim_local.moto_speedups import fast_partition_queries
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.backends import get_backend
from moto.core.base_backend import BaseBackend
from moto.dynamodb.models import table as moto_table
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult

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
        for n in range(2):  # packed facts: a binary attribute (base64 on the wire)
            blob = bytes(range(256)) * (n + 1)
            rows.append(
                {"pk": {"S": "LEI#2026-11-17"}, "sk": {"S": f"~B#K1#B{n}#000"}, "f": {"B": blob}, "n": {"N": "3"}}
            )
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
    "binary pack items": {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "LEI#2026-11-17"}},
    },
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


def _patch_points() -> dict[str, Any]:
    return {
        "query": vars(Table)["query"],
        "table module copy": moto_table.copy,
        "execute_result": DynamoResult.execute_result,
        "inherited execute_result": "execute_result" in vars(DynamoResult),
        "urls": vars(BaseBackend)["urls"],
        "method_names": moto_responses.method_names_from_class,
        "underscores": moto_responses.camelcase_to_underscores,
        "sqs underscores": moto_sqs.camelcase_to_underscores,
        "size": vars(DynamoType)["size"],
        "item init": vars(Item)["__init__"],
        "canonical_request": vars(SigV4Auth)["canonical_request"],
        "signature": vars(SigV4Auth)["signature"],
        "payload hashing": vars(S3SigV4Auth)["_should_sha256_sign_payload"],
    }


def test_speed_ups_are_removed_on_exit(ddb):
    original = _patch_points()
    with fast_partition_queries():
        patched = _patch_points()
        assert all(patched[name] is not original[name] for name in original if name != "inherited execute_result")
    assert _patch_points() == original


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


def _attr_values() -> list[dict[str, Any]]:
    return [
        {"S": ""},
        {"S": "plain"},
        {"S": "caf\u00e9 \u2603"},
        {"N": "0"},
        {"N": "-12.500"},
        {"N": "123456789012345678901234567890"},
        {"B": b"\x00\xff" * 9},
        {"BOOL": True},
        {"NULL": True},
        {"SS": ["a", "\u2603"]},
        {"NS": ["1", "2.5"]},
        {"BS": [b"\x00", b"\x01\x02"]},
        {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]},
        {"M": {"a": {"S": "b"}, "n": {"N": "7"}, "l": {"L": []}}},
    ]


def test_fast_attribute_sizes_equal_moto_sizes_for_every_type():
    plain = [DynamoType(v).size() for v in _attr_values()]
    with fast_partition_queries():
        fast = [DynamoType(v).size() for v in _attr_values()]
    assert fast == plain
    assert plain[2] == len("caf\u00e9 \u2603".encode())


def _built(attrs: dict[str, Any]) -> tuple[Any, ...]:
    try:
        item = Item(DynamoType(attrs["pk"]), DynamoType(attrs["sk"]), attrs)
    except Exception as exc:  # the same exception, raised at the same attribute, is the point
        return ("raised", type(exc).__name__, str(exc))
    return ("built", item.to_json(), item.size(), type(item.attrs).__name__)


def test_item_size_limit_is_enforced_as_moto_does():
    # Given items just under, at and over moto's limit, and ordinary rich ones
    cases = [
        {"pk": {"S": "p"}, "sk": {"S": "s"}, **{f"a{i}": v for i, v in enumerate(_attr_values())}},
        {"pk": {"S": "p"}, "sk": {"S": "s"}, "big": {"S": "x" * 404_990}},
        {"pk": {"S": "p"}, "sk": {"S": "s"}, "big": {"S": "x" * 404_995}},
        {
            "pk": {"S": "p"},
            "sk": {"S": "s"},
            "one": {"S": "x" * 300_000},
            "two": {"B": b"y" * 200_000},
            "z": {"N": "1"},
        },
    ]
    # When each is built with and without the speed-up
    plain = [_built(c) for c in cases]
    with fast_partition_queries():
        fast = [_built(c) for c in cases]
    # Then the outcomes are identical, including which ones moto refuses
    assert fast == plain
    assert [p[0] for p in plain] == ["built", "built", "raised", "raised"]


def test_oversized_put_is_refused_the_same_way(ddb):
    item = {"pk": {"S": "LEI"}, "sk": {"S": "BIG"}, "one": {"S": "x" * 300_000}, "two": {"S": "y" * 200_000}}

    def attempt() -> str:
        with pytest.raises(ClientError) as refused:
            ddb.put_item(TableName=TABLE, Item=item)
        return str(refused.value.response["Error"])

    plain = attempt()
    with fast_partition_queries():
        fast = attempt()
    assert fast == plain
    assert "size" in plain


def test_backend_url_tables_and_method_lists_are_moto_own():
    backends = [
        get_backend(name)["123456789012"][region]
        for name, region in (("dynamodb", "eu-west-2"), ("sqs", "eu-west-2"), ("sns", "eu-west-2"), ("s3", "aws"))
    ]
    plain = [b.urls for b in backends]
    names = moto_responses.method_names_from_class(DynamoHandler)
    words = [moto_responses.camelcase_to_underscores(w) for w in ("BatchWriteItem", "GetObject", "ListObjectsV2")]
    with fast_partition_queries():
        assert [b.urls for b in backends] == plain
        assert [b.urls for b in backends] == plain  # and again, from the cache
        assert moto_responses.method_names_from_class(DynamoHandler) == names
        assert [
            moto_responses.camelcase_to_underscores(w) for w in ("BatchWriteItem", "GetObject", "ListObjectsV2")
        ] == words


def _s3_and_sqs_round(s3: Any, sqs: Any, queue_url: str, n: int) -> list[Any]:
    body = ('{"created_at": "2026-03-02T07:00:00Z"}\n' * 50 + "\u2603").encode()
    key = f"incoming/LEI/K1/B{n}.jsonl"
    out: list[Any] = []
    put = s3.put_object(Bucket="speedup-bucket", Key=key, Body=body)
    got = s3.get_object(Bucket="speedup-bucket", Key=key)
    out += [put["ETag"], got["Body"].read(), got["ContentLength"], got["ETag"]]
    s3.copy_object(Bucket="speedup-bucket", Key=f"quarantine/{n}", CopySource={"Bucket": "speedup-bucket", "Key": key})
    listed = s3.list_objects_v2(Bucket="speedup-bucket", Prefix="quarantine/")
    out.append([(o["Key"], o["Size"], o["ETag"]) for o in listed["Contents"]])
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "0", "MessageBody": body.decode()}])
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    out.append([(m["Body"], m["MD5OfBody"]) for m in received])
    sqs.delete_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
    )
    return out


def test_unsigned_requests_give_the_same_s3_and_sqs_results(ddb):
    # Given S3 and SQS on moto (signing skipped only inside the speed-ups)
    s3 = boto3.client("s3", region_name="eu-west-2")
    sqs = boto3.client("sqs", region_name="eu-west-2")
    s3.create_bucket(Bucket="speedup-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    queue_url = sqs.create_queue(QueueName="speedup-queue")["QueueUrl"]
    # When the same calls run with and without the speed-ups
    plain = _s3_and_sqs_round(s3, sqs, queue_url, 1)
    with fast_partition_queries():
        fast = _s3_and_sqs_round(s3, sqs, queue_url, 1)
    # Then every result is identical (the second round overwrote the first's objects)
    assert fast == plain
    assert len(plain[4]) == 1


def test_queries_without_copies_leave_the_stored_items_as_they_were(ddb):
    # Given a partition read with the speed-ups (no deep copy of the matches)
    before = _all_pages(ddb, **QUERIES["whole partition"])
    with fast_partition_queries():
        during = _all_pages(ddb, **QUERIES["whole partition"])
        during[0][0]["t"]["S"] = "changed by the caller"  # a caller mutating its parsed response
        again = _all_pages(ddb, **QUERIES["whole partition"])
    # Then what is stored is untouched, and a projection still returns only what it names
    assert again == before == _all_pages(ddb, **QUERIES["whole partition"])
    with fast_partition_queries():
        projected = ddb.query(TableName=TABLE, ProjectionExpression="sk", **QUERIES["whole partition"])["Items"]
    assert projected and all(set(i) == {"sk"} for i in projected)
    assert during[0][0]["t"]["S"] == "changed by the caller"
