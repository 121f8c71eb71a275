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
from aim.domain.outcomes import figures_csv
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


def client_address(app: APIGatewayRestResolver) -> str:
    identity = app.current_event.request_context.identity
    return str(identity.source_ip or "")


def bearer_principal(app: APIGatewayRestResolver, verifier: TokenVerifier) -> Principal:
    """The caller named by the request's ``Authorization: Bearer`` token."""
    header = app.current_event.headers.get("Authorization") or app.current_event.headers.get("authorization")
    if not header or not header.lower().startswith("bearer "):
        raise UnauthorisedError("no token")
    try:
        return verifier.principal(header.split(" ", 1)[1].strip())
    except InvalidTokenError as exc:
        logger.info("token refused", reason=str(exc))
        raise UnauthorisedError("invalid token") from exc


def unauthorised(exc: UnauthorisedError) -> Response[str]:
    return json_response(401, {"message": "Unauthorized"}, {"WWW-Authenticate": 'Bearer realm="aim"'})


def not_on_caseload(exc: NotOnCaseloadError) -> Response[str]:
    return json_response(404, {"message": "Not found"})


def forbidden(exc: AccessDeniedError) -> Response[str]:
    return json_response(403, {"message": str(exc)})


def held(exc: casework.AlertHeldError) -> Response[str]:
    return json_response(
        409,
        {
            "message": "Already acknowledged by someone else",
            "acknowledged_by": exc.held_by,
            "acknowledged_at": exc.held_at.isoformat(),
        },
    )


def refused(exc: casework.CaseworkError) -> Response[str]:
    return json_response(409, {"message": str(exc)})


def conflict(exc: CaseConflictError) -> Response[str]:
    return json_response(409, {"message": "The alert changed while saving; try again"})


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Refusals as JSON; a page handler answers its own refusals as HTML before these see them."""
    app.exception_handler(UnauthorisedError)(unauthorised)
    app.exception_handler(NotOnCaseloadError)(not_on_caseload)
    app.exception_handler(AccessDeniedError)(forbidden)
    app.exception_handler(casework.AlertHeldError)(held)
    app.exception_handler(casework.CaseworkError)(refused)
    app.exception_handler(CaseConflictError)(conflict)


def date_range(query: dict[str, str]) -> tuple[dict[str, date], list[dict[str, str]]]:
    """The ``from`` and ``to`` days of a query, and a field error for each one missing or malformed."""
    errors = []
    days: dict[str, date] = {}
    for name in ("from", "to"):
        try:
            days[name] = date.fromisoformat(str(query.get(name, "")))
        except ValueError:
            errors.append({"field": name, "message": "a date as YYYY-MM-DD is required"})
    return days, errors


def json_object(raw: str | None) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(raw or "")
    except (json.JSONDecodeError, TypeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


class StaffApi:
    """The ``/api/...`` routes: a bearer token in, the service's answer out as JSON."""

    def __init__(self, app: APIGatewayRestResolver, wiring: Wiring) -> None:
        self.app = app
        self.service = wiring.service
        self.verifier = wiring.verifier

    def principal(self) -> Principal:
        return bearer_principal(self.app, self.verifier)

    def client(self) -> str:
        return client_address(self.app)

    def register(self) -> None:
        app = self.app
        app.get("/api/establishments/<est>/board")(self.board)
        app.get("/api/prisoners/<est>/<prisoner_id>")(self.prisoner)
        app.get("/api/prisoners/<est>/<prisoner_id>/audit")(self.audit)
        app.get("/api/alerts/<alert_id>")(self.alert)
        app.get("/api/establishments/<est>/outcomes")(self.outcomes)
        app.post("/api/alerts/<alert_id>/acknowledge")(self.acknowledge)
        app.post("/api/alerts/<alert_id>/interventions")(self.intervention)
        app.post("/api/alerts/<alert_id>/close")(self.close)

    # --- reads ----------------------------------------------------------------------------------
    def board(self, est: str) -> Response[str]:
        who = self.principal()
        return json_response(200, self.service.board(who, est).to_json())

    def prisoner(self, est: str, prisoner_id: str) -> Response[str]:
        who = self.principal()
        return json_response(200, self.service.prisoner(who, est, prisoner_id, self.client()).to_json())

    def audit(self, est: str, prisoner_id: str) -> Response[str]:
        who = self.principal()
        entries = self.service.audit_trail(who, est, prisoner_id, self.client())
        return json_response(200, {"entries": [e.to_json() for e in entries]})

    def alert(self, alert_id: str) -> Response[str]:
        who = self.principal()
        return json_response(200, self.service.alert(who, alert_id, self.client()).to_json())

    def outcomes(self, est: str) -> Response[str]:
        who = self.principal()
        who.can_see(est)  # the caseload first: nothing about the range for someone else's prison
        days, errors = date_range(self.app.current_event.query_string_parameters or {})
        if errors:
            return json_response(422, {"message": "Invalid query", "errors": errors})
        try:
            figures = self.service.outcomes(who, est, days["from"], days["to"], self.client())
        except BadRangeError as exc:
            return json_response(422, {"message": "Invalid query", "errors": [{"field": "from", "message": str(exc)}]})
        if (self.app.current_event.query_string_parameters or {}).get("format") == "csv":
            return Response(200, "text/csv; charset=utf-8", figures_csv(figures), headers=dict(COMMON_HEADERS))
        return json_response(200, figures)

    # --- changes --------------------------------------------------------------------------------
    def acknowledge(self, alert_id: str) -> Response[str]:
        who = self.principal()
        return json_response(200, self.service.acknowledge(who, alert_id, self.client()).to_json())

    def intervention(self, alert_id: str) -> Response[str]:
        who = self.principal()
        self.service.may_act(who, alert_id)  # nothing about someone else's alert, not even that it exists
        event = self.app.current_event
        body = json_object(event.decoded_body)
        if body is None:
            return json_response(400, {"message": "The body must be a JSON object"})
        try:
            entry = InterventionInput.model_validate(body)
        except ValidationError as exc:
            return json_response(422, {"message": "Invalid fields", "errors": field_errors(exc)})
        key = event.headers.get("Idempotency-Key") or event.headers.get("idempotency-key")
        view, stored, created = self.service.record_intervention(who, alert_id, entry, self.client(), key)
        return json_response(201 if created else 200, stored.to_json())

    def close(self, alert_id: str) -> Response[str]:
        who = self.principal()
        return json_response(200, self.service.close(who, alert_id, self.client()).to_json())


def register_not_found(app: APIGatewayRestResolver) -> None:
    """Unknown paths: JSON under ``/api/``, the HTML "Page not found" page elsewhere."""
    from aim.web.pages import not_found_page, stage_prefix

    @app.not_found
    def _nothing(exc: Exception) -> Response[str]:
        if app.current_event.path.startswith("/api/"):
            return json_response(404, {"message": "Not found"})
        event = app.current_event
        return not_found_page(stage_prefix(str(event.request_context.path or ""), event.path))


def build_app(wiring: Wiring) -> APIGatewayRestResolver:
    from aim.web.pages import register_pages

    app = APIGatewayRestResolver()
    register_error_handlers(app)
    StaffApi(app, wiring).register()
    register_pages(app, wiring)
    register_not_found(app)
    return app


def record_sign_in_failure() -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name="SignInFailed", unit=MetricUnit.Count, value=1)


__all__ = ["UnauthorisedError", "Wiring", "build_app", "json_response", "record_sign_in_failure"]
