"""Weekly digest: one establishment per invocation, to the governors' subscriptions of the alert topic.

EventBridge Scheduler invokes it with ``{"establishment": "LEI", "scheduled_time": "<aws.scheduler.scheduled-time>"}``.
It reads the state table (alerts raised) and the case table (what staff did), and publishes counts
and times only, with the message attribute ``digest=true``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from aim.adapters.board_state import StateTableBoardReader
from aim.adapters.case_table import DynamoCaseRepository
from aim.adapters.sns import SnsAlertPublisher
from aim.config import load_config
from aim.observability import logger, metrics, tracer
from aim.service.digest import send_digest
from aim.service.scoring_run import horizon
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DigestEvent(BaseModel):
    establishment: str = Field(pattern=r"^[A-Z]{3}$")
    scheduled_time: AwareDatetime | None = None


class DigestSettings(BaseSettings):
    """The function's environment: a missing variable fails by name at cold start."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    state_table: str = Field(min_length=1)
    case_table: str = Field(min_length=1)
    alert_topic_arn: str = Field(min_length=1)
    aim_config: str = Field(default="{}", description="the validated AIM config as JSON")


@cache
def get_digest_settings() -> DigestSettings:
    return DigestSettings()  # type: ignore[call-arg]


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=DigestEvent)
def handler(event: DigestEvent, context: LambdaContext) -> dict[str, Any]:
    settings = get_digest_settings()
    config = load_config(text=settings.aim_config)
    now = event.scheduled_time or datetime.now(UTC)
    sent = send_digest(
        event.establishment,
        now,
        StateTableBoardReader(settings.state_table, horizon(config)),
        DynamoCaseRepository(settings.case_table),
        SnsAlertPublisher(settings.alert_topic_arn),
        ZoneInfo(config.timezone),
    )
    figures = sent.figures
    logger.info(
        "weekly digest sent",
        establishment=sent.establishment,
        start=figures.start,
        end=figures.end,
        reds_raised=figures.raised,
        open_over_a_day=figures.open_over_a_day,
    )
    return {"establishment": sent.establishment, "message_id": sent.message_id, **figures.to_json()}
