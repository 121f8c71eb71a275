"""Score: one establishment per invocation, at the schedule's time.

EventBridge Scheduler invokes it with ``{"establishment": "LEI", "scheduled_time": "<aws.scheduler.scheduled-time>"}``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aim.adapters.dynamodb import DynamoItemStore
from aim.adapters.sns import SnsAlertPublisher
from aim.observability import logger, metrics, tracer
from aim.service.scoring_run import run_scoring
from aim.settings import get_settings
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, Field


class ScheduleEvent(BaseModel):
    establishment: str = Field(pattern=r"^[A-Z]{3}$")
    scheduled_time: AwareDatetime | None = None


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=ScheduleEvent)
def handler(event: ScheduleEvent, context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    now = event.scheduled_time or datetime.now(UTC)
    summary = run_scoring(
        event.establishment,
        now,
        DynamoItemStore(settings.activity_table),
        DynamoItemStore(settings.state_table),
        SnsAlertPublisher(settings.alert_topic_arn),
        settings.config,
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
