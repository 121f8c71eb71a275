"""Staff API and board pages: API Gateway (REST) -> Powertools resolver -> StaffService."""

from __future__ import annotations

from functools import cache
from typing import Any

from aim.observability import logger, metrics, tracer
from aim.web.app import Wiring, build_app
from aim.web.settings import get_staff_settings
from aim.web.wiring import wiring_from
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext


@cache
def wiring() -> Wiring:
    return wiring_from(get_staff_settings())


@cache
def app() -> APIGatewayRestResolver:
    return build_app(wiring())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app().resolve(event, context)
