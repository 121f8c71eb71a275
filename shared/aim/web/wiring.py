"""Builds the staff app from its settings: the adapters behind the service's ports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aim.adapters.audit_table import DynamoAuditLog
from aim.adapters.board_state import StateTableBoardReader
from aim.adapters.case_table import DynamoCaseRepository
from aim.adapters.cognito_sign_in import CognitoPasswordSignIn
from aim.adapters.oidc import TokenVerifier
from aim.config import load_config
from aim.service.scoring_run import horizon
from aim.service.staff import StaffService
from aim.web.app import Wiring, build_app
from aim.web.settings import StaffSettings


def wiring_from(
    settings: StaffSettings, clients: dict[str, Any] | None = None, clock: Callable[[], datetime] | None = None
) -> Wiring:
    clients = clients or {}
    ddb = clients.get("dynamodb")
    config = load_config(text=settings.aim_config)
    kwargs = {"clock": clock} if clock else {}
    audit = DynamoAuditLog(settings.audit_table, settings.audit_retention_days, client=ddb)
    service = StaffService(
        StateTableBoardReader(settings.state_table, horizon(config), client=ddb),
        DynamoCaseRepository(settings.case_table, client=ddb, audit_log=audit),
        audit,
        **kwargs,
    )
    sign_in = (
        CognitoPasswordSignIn(settings.sign_in_client_id, client=clients.get("cognito-idp"))
        if settings.sign_in_client_id
        else None
    )
    return Wiring(service, TokenVerifier(settings.oidc), sign_in, cookie_secure=settings.cookie_secure)


def app_from(settings: StaffSettings, clients: dict[str, Any] | None = None) -> Any:
    return build_app(wiring_from(settings, clients))
