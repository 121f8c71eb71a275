"""The embedded local AWS: the production handlers, in process, on moto.

It creates the same bucket, queues, tables and topic as the CDK stack, delivers S3
notifications through the ingest queue to the transform handler (with partial batch
failures and a dead-letter queue), and drives the schedule on a clock it controls.
Production code does not know whether it runs here or in AWS: it only sees the same
environment variables and AWS APIs.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aim.config import AimConfig

REGION = "eu-west-2"
ACCOUNT = "123456789012"
NAMES = {
    "bucket": "aim-ingest-local",
    "queue": "aim-ingest-local",
    "dlq": "aim-ingest-dlq-local",
    "activity": "aim-activity-local",
    "state": "aim-state-local",
    "case": "aim-case-local",
    "topic": "aim-alerts-local",
    "alerts_queue": "aim-alerts-subscriber-local",
    "alert_id_key": "aim-alert-id-key-local",
}
MAX_RECEIVE_COUNT = 5

_LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "aim",
    "POWERTOOLS_METRICS_NAMESPACE": "AIM",
}


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class DeliveryStats:
    messages: int = 0
    failures: int = 0


def create_table(ddb: Any, name: str) -> None:
    """A table with AIM's key schema (string pk and sk), as the CDK stack defines the tables.
    A table of that name that exists already is kept: the escalation job and the staff side
    share the case table."""
    if name in ddb.list_tables()["TableNames"]:
        return
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_resources(config: AimConfig, clients: dict[str, Any]) -> dict[str, str]:
    """Create the stack's resources on whatever endpoint the clients point at (moto)."""
    from aim_local.memory import LAB_ALERT_ID_KEY

    s3, sqs, ddb, sns = clients["s3"], clients["sqs"], clients["dynamodb"], clients["sns"]
    s3.create_bucket(Bucket=NAMES["bucket"], CreateBucketConfiguration={"LocationConstraint": REGION})
    dlq_url = sqs.create_queue(QueueName=NAMES["dlq"])["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=NAMES["queue"],
        Attributes={
            "VisibilityTimeout": "900",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
        },
    )["QueueUrl"]
    for table in (NAMES["activity"], NAMES["state"], NAMES["case"]):
        create_table(ddb, table)
    topic_arn = sns.create_topic(Name=NAMES["topic"])["TopicArn"]
    alerts_url = sqs.create_queue(QueueName=NAMES["alerts_queue"])["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=alerts_arn, Attributes={"RawMessageDelivery": "true"})
    secret_arn = clients["secretsmanager"].create_secret(
        Name=NAMES["alert_id_key"], SecretString=LAB_ALERT_ID_KEY.decode()
    )["ARN"]
    return {
        "bucket": NAMES["bucket"],
        "queue_url": queue_url,
        "dlq_url": dlq_url,
        "topic_arn": topic_arn,
        "alerts_queue_url": alerts_url,
        "activity_table": NAMES["activity"],
        "state_table": NAMES["state"],
        "case_table": NAMES["case"],
        "alert_id_key_secret_arn": secret_arn,
    }


def s3_notification(bucket: str, key: str, size: int, at: datetime) -> dict[str, Any]:
    """An S3 ObjectCreated notification as S3 sends it to SQS (key URL-encoded)."""
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:KIOSK"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "aim-ingest",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": "0", "sequencer": "0"},
                },
            }
        ]
    }


def sqs_lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the SQS event source mapping hands to the function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": "0",
                    "SenderId": "LOCAL",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class LocalAws:
    """A running embedded stack. Use ``local_aws(config)`` to get one."""

    def __init__(self, config: AimConfig, clients: dict[str, Any], resources: dict[str, str]) -> None:
        self.config = config
        self.clients = clients
        self.resources = resources
        self.delivery = DeliveryStats()
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{NAMES['queue']}"
        import warnings

        # Metrics are disabled locally; Powertools still warns that none were published.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        from aim.observability import metrics

        from functions.escalate import handler as escalate_handler
        from functions.score import handler as score_handler
        from functions.transform import handler as transform_handler

        def transform(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                return dict(transform_handler.handler(event, context))
            finally:
                metrics.clear_metrics()  # in process there is no CloudWatch to flush to

        def score(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                return dict(score_handler.handler(event, context))
            finally:
                metrics.clear_metrics()

        def escalate(event: dict[str, Any], context: Any) -> dict[str, Any]:
            try:
                return dict(escalate_handler.handler(event, context))
            finally:
                metrics.clear_metrics()

        self._transform = transform
        self._score = score
        self._escalate = escalate

    # --- ingest -------------------------------------------------------------------------------
    def upload(self, key: str, body: bytes, at: datetime, deliver: bool = True) -> None:
        """A kiosk puts an object; S3 notifies the queue; optionally deliver at once."""
        self.clients["s3"].put_object(Bucket=self.resources["bucket"], Key=key, Body=body)
        self.notify(key, len(body), at)
        if deliver:
            self.deliver()

    def notify(self, key: str, size: int, at: datetime) -> None:
        body = json.dumps(s3_notification(self.resources["bucket"], key, size, at))
        self.clients["sqs"].send_message(QueueUrl=self.resources["queue_url"], MessageBody=body)

    def upload_many(self, uploads: list[tuple[str, bytes, datetime]]) -> None:
        """Several kiosks put objects; S3 notifies the queue (sent ten per call, as S3 may batch)."""
        for key, body, _ in uploads:
            self.clients["s3"].put_object(Bucket=self.resources["bucket"], Key=key, Body=body)
        for start in range(0, len(uploads), 10):
            chunk = uploads[start : start + 10]
            self.clients["sqs"].send_message_batch(
                QueueUrl=self.resources["queue_url"],
                Entries=[
                    {"Id": str(i), "MessageBody": json.dumps(s3_notification(self.resources["bucket"], k, len(b), at))}
                    for i, (k, b, at) in enumerate(chunk)
                ],
            )

    def ingest(self, uploads: list[tuple[str, bytes, datetime]]) -> None:
        """Kiosks put objects; the event source mapping drains the queue (ten notifications at a time)."""
        for start in range(0, len(uploads), 10):
            self.upload_many(uploads[start : start + 10])
            self.deliver(expected=len(uploads[start : start + 10]))

    def deliver(self, max_rounds: int = 10_000, expected: int | None = None) -> DeliveryStats:
        """Run the event source mapping until the ingest queue is empty.

        ``expected``: how many messages were just sent; once that many are handled without a
        failure the final (empty) poll is skipped."""
        sqs = self.clients["sqs"]
        handled = 0
        for _ in range(max_rounds):
            if expected is not None and handled >= expected:
                return self.delivery
            response = sqs.receive_message(
                QueueUrl=self.resources["queue_url"],
                MaxNumberOfMessages=10,
                AttributeNames=["ApproximateReceiveCount"],
            )
            messages = response.get("Messages", [])
            if not messages:
                return self.delivery
            result = self._transform(
                sqs_lambda_event(messages, self.queue_arn), FakeLambdaContext("aim-transform-local")
            )
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            handled += len(messages) - len(failed)
            if failed:
                expected = None  # retries in play: drain until the queue is really empty
            self.delivery.messages += len(messages)
            self.delivery.failures += len(failed)
            done = [m for m in messages if m["MessageId"] not in failed]
            for start in range(0, len(done), 10):
                sqs.delete_message_batch(
                    QueueUrl=self.resources["queue_url"],
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done[start : start + 10])
                    ],
                )
            for m in messages:
                if m["MessageId"] in failed:  # visible again at once: the local clock does not wait
                    sqs.change_message_visibility(
                        QueueUrl=self.resources["queue_url"], ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                    )
        raise RuntimeError("ingest queue did not drain")

    # --- schedule -----------------------------------------------------------------------------
    def run_schedule(self, at: datetime) -> list[dict[str, Any]]:
        """Fire the per-establishment schedules at simulated time ``at``."""
        results = []
        for establishment in self.config.establishments:
            event = {"establishment": establishment, "scheduled_time": at.astimezone(UTC).isoformat()}
            results.append(self._score(event, FakeLambdaContext("aim-score-local")))
        return results

    def run_escalations(self, at: datetime) -> list[dict[str, Any]]:
        """Fire the per-establishment escalation schedules at simulated time ``at``: reds nobody has
        acknowledged (in the case table) are published again, with ``kind: "escalation"``."""
        results = []
        for establishment in self.config.establishments:
            event = {"establishment": establishment, "scheduled_time": at.astimezone(UTC).isoformat()}
            results.append(self._escalate(event, FakeLambdaContext("aim-escalate-local")))
        return results

    # --- subscribers --------------------------------------------------------------------------
    def drain_alerts(self) -> list[dict[str, Any]]:
        """Alerts the topic delivered to the local SQS subscriber, in publication order."""
        sqs = self.clients["sqs"]
        alerts: list[dict[str, Any]] = []
        # Most scheduled runs publish nothing: skip the empty poll (one round trip per run).
        while not self._queue_is_empty(NAMES["alerts_queue"]):
            response = sqs.receive_message(QueueUrl=self.resources["alerts_queue_url"], MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return alerts
            alerts.extend(json.loads(m["Body"]) for m in messages)
            sqs.delete_message_batch(
                QueueUrl=self.resources["alerts_queue_url"],
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return alerts

    def read_object(self, key: str) -> bytes:
        """An object's bytes, read from the embedded S3 directly.

        For the harness's own bookkeeping (e.g. the replay counting batch reports): not an S3
        API call, so it costs no round trip and is not counted as one."""
        from moto.s3.models import s3_backends

        bucket = s3_backends[ACCOUNT]["aws"].get_bucket(self.resources["bucket"])
        if key not in bucket.keys:
            raise KeyError(key)
        value: bytes = bucket.keys[key].value
        return value

    def report(self, key: str) -> dict[str, Any]:
        """The report the transform wrote for a batch (read from the embedded S3 directly)."""
        from aim.service.ingest import report_key

        document: dict[str, Any] = json.loads(self.read_object(report_key(key)))
        return document

    def states(self, establishment: str, horizon: int) -> list[Any]:
        """Every prisoner's stored state (read with the state repository's codec)."""
        from aim.adapters.dynamodb import DynamoTable
        from aim.adapters.state_table import STATE_PREFIX, state_from_item

        table = DynamoTable(self.resources["state_table"], self.clients["dynamodb"])
        return [state_from_item(i, horizon) for i in table.query(establishment, STATE_PREFIX)]

    def _queue_is_empty(self, name: str) -> bool:
        """No message visible on a queue (what ReceiveMessage would find), asked of moto directly."""
        from moto.sqs.models import sqs_backends

        return sqs_backends[ACCOUNT][REGION].get_queue(name).approximate_number_of_messages == 0

    def dead_letters(self) -> int:
        attrs = self.clients["sqs"].get_queue_attributes(
            QueueUrl=self.resources["dlq_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def local_env(config: AimConfig, resources: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(_LOCAL_ENV)
    env["AIM_CONFIG"] = config.runtime_json()
    env["LOG_LEVEL"] = os.environ.get("AIM_LOCAL_LOG_LEVEL", "WARNING")
    env["POWERTOOLS_LOG_LEVEL"] = env["LOG_LEVEL"]
    if resources:
        env.update(
            {
                "ACTIVITY_TABLE": resources["activity_table"],
                "STATE_TABLE": resources["state_table"],
                "CASE_TABLE": resources["case_table"],
                "INGEST_BUCKET": resources["bucket"],
                "ALERT_TOPIC_ARN": resources["topic_arn"],
                "ALERT_ID_KEY_SECRET_ARN": resources["alert_id_key_secret_arn"],
            }
        )
    return env


@contextmanager
def _patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _reset_caches() -> None:
    from aim.adapters.aws import reset_clients
    from aim.settings import _parse_config, get_escalation_settings, get_settings
    from aws_lambda_powertools.utilities.parameters import clear_caches

    reset_clients()
    clear_caches()  # Powertools' providers hold a boto3 client of the stack that created them
    get_settings.cache_clear()
    get_escalation_settings.cache_clear()
    _parse_config.cache_clear()


@contextmanager
def local_aws(config: AimConfig) -> Iterator[LocalAws]:
    """Start moto in process, create the stack, yield it; everything is gone afterwards."""
    import boto3
    from moto import mock_aws

    with _patched_env(local_env(config)), mock_aws():
        _reset_caches()
        services = ("s3", "sqs", "dynamodb", "sns", "secretsmanager")
        clients = {name: boto3.client(name, region_name=REGION) for name in services}
        resources = create_resources(config, clients)
        with _patched_env(local_env(config, resources)):
            _reset_caches()
            try:
                yield LocalAws(config, clients, resources)
            finally:
                _reset_caches()
