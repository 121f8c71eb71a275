"""Score: one establishment per invocation, at the schedule's time.

EventBridge Scheduler invokes it with ``{"establishment": "LEI", "scheduled_time": "<aws.scheduler.scheduled-time>"}``.
The key that makes alert ids unguessable is a Secrets Manager secret (``ALERT_ID_KEY_SECRET_ARN``),
read once per execution environment. The tracer records no response: it carries alert ids.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.sns import SnsAlertPublisher
from aim.adapters.state_table import DynamoStateRepository
from aim.observability import logger, metrics, tracer
from aim.service.scoring_run import run_scoring
from aim.settings import get_settings
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import get_secret
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, Field


class ScheduleEvent(BaseModel):
    establishment: str = Field(pattern=r"^[A-Z]{3}$")
    scheduled_time: AwareDatetime | None = None


ALERT_ID_KEY_ENV = "ALERT_ID_KEY_SECRET_ARN"


class MissingAlertIdKeyError(RuntimeError):
    """The function has no alert id key secret configured."""


def alert_id_key() -> bytes:
    arn = os.environ.get(ALERT_ID_KEY_ENV)
    if not arn:
        raise MissingAlertIdKeyError(f"{ALERT_ID_KEY_ENV} is not set")
    return _secret_bytes(arn)


@cache
def _secret_bytes(arn: str) -> bytes:
    value = get_secret(arn)
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=ScheduleEvent)
def handler(event: ScheduleEvent, context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    now = event.scheduled_time or datetime.now(UTC)
    summary = run_scoring(
        event.establishment,
        now,
        DynamoActivityRepository(settings.activity_table),
        DynamoStateRepository(settings.state_table),
        SnsAlertPublisher(settings.alert_topic_arn),
        settings.config,
        alert_id_key(),
    )
    logger.info(
        "scoring run",
        establishment=summary.establishment,
        status=summary.status,
        judged_day=summary.judged_day,
        prisoners=summary.prisoners,
        lights=summary.lights,
        alerts_sent=len(summary.alerts_sent),
        alerts_resent=len(summary.alerts_resent),
    )
    metrics.add_metric(name="AlertsSent", unit=MetricUnit.Count, value=len(summary.alerts_sent))
    metrics.add_metric(name="ScoringRuns", unit=MetricUnit.Count, value=1)
    return asdict(summary)
