"""The staff API (contract section 4) and the board pages, on one Powertools resolver.

``/api/...`` answers JSON to a bearer token; the pages answer HTML to the session cookie the
sign-in page sets. Both call the same ``StaffService``; this module only turns requests into
calls and results into responses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import ValidationError

from aim.adapters.cognito_sign_in import CognitoPasswordSignIn
from aim.adapters.oidc import InvalidTokenError, TokenVerifier
from aim.domain import casework
from aim.domain.access import AccessDeniedError, NotOnCaseloadError, Principal
from aim.domain.casework import InterventionInput
from aim.observability import logger, metrics
from aim.service.staff import BadRangeError, CaseConflictError, StaffService
from aim.web.security import COMMON_HEADERS

JSON = "application/json"


@dataclass
class Wiring:
    service: StaffService
    verifier: TokenVerifier
    sign_in: CognitoPasswordSignIn | None
    cookie_secure: bool = True


class UnauthorisedError(Exception):
    """No token, or one that does not verify."""


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, separators=(",", ":"), default=str),
        headers={**COMMON_HEADERS, **(headers or {})},
    )


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as ``{"field", "message"}``, the field named as in the request body."""
    out = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p != "__root__"]
        out.append({"field": ".".join(loc) or "body", "message": str(error.get("msg", "invalid"))})
    return out


def build_app(wiring: Wiring) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()
    service = wiring.service

    def client_address() -> str:
        identity = app.current_event.request_context.identity
        return str(identity.source_ip or "")

    def bearer_principal() -> Principal:
        header = app.current_event.headers.get("Authorization") or app.current_event.headers.get("authorization")
        if not header or not header.lower().startswith("bearer "):
            raise UnauthorisedError("no token")
        try:
            return wiring.verifier.principal(header.split(" ", 1)[1].strip())
        except InvalidTokenError as exc:
            logger.info("token refused", reason=str(exc))
            raise UnauthorisedError("invalid token") from exc

    # --- errors ---------------------------------------------------------------------------------
    @app.exception_handler(UnauthorisedError)
    def _unauthorised(exc: UnauthorisedError) -> Response[str]:
        return json_response(401, {"message": "Unauthorized"}, {"WWW-Authenticate": 'Bearer realm="aim"'})

    @app.exception_handler(NotOnCaseloadError)
    def _not_found(exc: NotOnCaseloadError) -> Response[str]:
        return json_response(404, {"message": "Not found"})

    @app.exception_handler(AccessDeniedError)
    def _forbidden(exc: AccessDeniedError) -> Response[str]:
        return json_response(403, {"message": str(exc)})

    @app.exception_handler(casework.AlertHeldError)
    def _held(exc: casework.AlertHeldError) -> Response[str]:
        return json_response(
            409,
            {
                "message": "Already acknowledged by someone else",
                "acknowledged_by": exc.held_by,
                "acknowledged_at": exc.held_at.isoformat(),
            },
        )

    @app.exception_handler(casework.CaseworkError)
    def _refused(exc: casework.CaseworkError) -> Response[str]:
        return json_response(409, {"message": str(exc)})

    @app.exception_handler(CaseConflictError)
    def _conflict(exc: CaseConflictError) -> Response[str]:
        return json_response(409, {"message": "The alert changed while saving; try again"})

    # --- reads ----------------------------------------------------------------------------------
    @app.get("/api/establishments/<est>/board")
    def board(est: str) -> Response[str]:
        who = bearer_principal()
        return json_response(200, service.board(who, est).to_json())

    @app.get("/api/prisoners/<est>/<prisoner_id>")
    def prisoner(est: str, prisoner_id: str) -> Response[str]:
        who = bearer_principal()
        return json_response(200, service.prisoner(who, est, prisoner_id, client_address()).to_json())

    @app.get("/api/prisoners/<est>/<prisoner_id>/audit")
    def audit(est: str, prisoner_id: str) -> Response[str]:
        who = bearer_principal()
        entries = service.audit_trail(who, est, prisoner_id, client_address())
        return json_response(200, {"entries": [e.to_json() for e in entries]})

    @app.get("/api/alerts/<alert_id>")
    def alert(alert_id: str) -> Response[str]:
        who = bearer_principal()
        return json_response(200, service.alert(who, alert_id, client_address()).to_json())

    @app.get("/api/establishments/<est>/outcomes")
    def outcomes(est: str) -> Response[str]:
        who = bearer_principal()
        who.can_see(est)  # the caseload first: nothing about the range for someone else's prison
        query = app.current_event.query_string_parameters or {}
        errors = []
        days: dict[str, date] = {}
        for name in ("from", "to"):
            try:
                days[name] = date.fromisoformat(str(query.get(name, "")))
            except ValueError:
                errors.append({"field": name, "message": "a date as YYYY-MM-DD is required"})
        if errors:
            return json_response(422, {"message": "Invalid query", "errors": errors})
        try:
            figures = service.outcomes(who, est, days["from"], days["to"], client_address())
        except BadRangeError as exc:
            return json_response(422, {"message": "Invalid query", "errors": [{"field": "from", "message": str(exc)}]})
        return json_response(200, figures)

    # --- changes --------------------------------------------------------------------------------
    @app.post("/api/alerts/<alert_id>/acknowledge")
    def acknowledge(alert_id: str) -> Response[str]:
        who = bearer_principal()
        return json_response(200, service.acknowledge(who, alert_id, client_address()).to_json())

    @app.post("/api/alerts/<alert_id>/interventions")
    def intervention(alert_id: str) -> Response[str]:
        who = bearer_principal()
        service.may_act(who, alert_id)  # nothing about someone else's alert, not even that it exists
        try:
            body = json.loads(app.current_event.decoded_body or "")
        except (json.JSONDecodeError, TypeError, ValueError):
            return json_response(400, {"message": "The body must be a JSON object"})
        if not isinstance(body, dict):
            return json_response(400, {"message": "The body must be a JSON object"})
        try:
            entry = InterventionInput.model_validate(body)
        except ValidationError as exc:
            return json_response(422, {"message": "Invalid fields", "errors": field_errors(exc)})
        key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get("idempotency-key")
        view, stored, created = service.record_intervention(who, alert_id, entry, client_address(), key)
        return json_response(201 if created else 200, stored.to_json())

    @app.post("/api/alerts/<alert_id>/close")
    def close(alert_id: str) -> Response[str]:
        who = bearer_principal()
        return json_response(200, service.close(who, alert_id, client_address()).to_json())

    from aim.web.pages import not_found_page, register_pages, stage_prefix

    register_pages(app, wiring)

    @app.not_found
    def _nothing(exc: Exception) -> Response[str]:
        if app.current_event.path.startswith("/api/"):
            return json_response(404, {"message": "Not found"})
        event = app.current_event
        return not_found_page(stage_prefix(str(event.request_context.path or ""), event.path))

    return app


def record_sign_in_failure() -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name="SignInFailed", unit=MetricUnit.Count, value=1)


__all__ = ["UnauthorisedError", "Wiring", "build_app", "json_response", "record_sign_in_failure"]
