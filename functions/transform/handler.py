"""Transform: SQS-wrapped S3 notifications -> validated facts in DynamoDB, a report per batch.

Partial batch failures: one object that fails transiently is retried alone (then the DLQ);
the others in the same SQS batch are not re-run.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any
from urllib.parse import unquote_plus

from aim.adapters.dynamodb import DynamoItemStore
from aim.adapters.s3 import S3ObjectStore
from aim.observability import logger, metrics, tracer
from aim.service.ingest import ingest_object
from aim.settings import get_settings
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import S3Model
from aws_lambda_powertools.utilities.typing import LambdaContext

# A batch whose every message failed is reported item by item too, not raised as a whole.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _is_test_event(body: str) -> bool:
    # S3 sends one "s3:TestEvent" when a notification is configured; it names no object.
    return '"s3:TestEvent"' in body and '"Records"' not in body


@tracer.capture_method
def handle_record(record: SQSRecord) -> None:
    settings = get_settings()
    if _is_test_event(record.body):
        logger.info("s3 test event ignored")
        return
    notification = S3Model.model_validate_json(record.body)
    objects = S3ObjectStore(settings.ingest_bucket)
    activity = DynamoItemStore(settings.activity_table)
    for s3_record in notification.Records:
        if s3_record.s3.object is None:  # not an object event: nothing to ingest
            continue
        key = unquote_plus(s3_record.s3.object.key)
        received = s3_record.eventTime.astimezone(UTC)
        outcome = ingest_object(key, objects, activity, settings.config, received)
        # Counts and outcome only: never record contents or prison numbers.
        logger.info(
            "batch processed",
            status=outcome.status,
            establishment=outcome.establishment,
            applied=outcome.applied,
            duplicates=outcome.duplicates,
            rejected=outcome.rejected,
            reason=outcome.reason if outcome.status != "applied" else "",
        )
        metrics.add_metric(name=f"Batches_{outcome.status}", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RecordsApplied", unit=MetricUnit.Count, value=outcome.applied)
        metrics.add_metric(name="RecordsRejected", unit=MetricUnit.Count, value=outcome.rejected)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
