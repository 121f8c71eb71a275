"""Escalate: one establishment per invocation, every few minutes, apart from the scorer.

EventBridge Scheduler invokes it with ``{"establishment": "LEI", "scheduled_time": "<aws.scheduler.scheduled-time>"}``.
The tracer records no response: it carries alert ids.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aim.adapters.case_table import DynamoCaseRepository
from aim.adapters.sns import SnsAlertPublisher
from aim.adapters.state_table import DynamoEscalationStore
from aim.observability import logger, metrics, tracer
from aim.service.escalation import run_escalation
from aim.settings import get_escalation_settings
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, Field


class ScheduleEvent(BaseModel):
    establishment: str = Field(pattern=r"^[A-Z]{3}$")
    scheduled_time: AwareDatetime | None = None


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=ScheduleEvent)
def handler(event: ScheduleEvent, context: LambdaContext) -> dict[str, Any]:
    settings = get_escalation_settings()
    summary = run_escalation(
        event.establishment,
        event.scheduled_time or datetime.now(UTC),
        DynamoEscalationStore(settings.state_table),
        DynamoCaseRepository(settings.case_table),
        SnsAlertPublisher(settings.alert_topic_arn),
        settings.config,
    )
    logger.info(
        "escalation run",
        establishment=summary.establishment,
        unacknowledged=summary.unacknowledged,
        escalated=len(summary.escalated),
        resent=len(summary.resent),
        dropped=len(summary.dropped),
    )
    sent = len(summary.escalated) + len(summary.resent)
    metrics.add_metric(name="EscalationsSent", unit=MetricUnit.Count, value=sent)
    return asdict(summary)
