"""The board pages: server-rendered GOV.UK / MoJ Frontend HTML, working without JavaScript.

Signed in by a session cookie (HttpOnly, SameSite=Strict, Secure when served over HTTPS) that
holds the access token and is verified on every request like a bearer token. Every form carries
a CSRF token bound to the session; every change answers with a redirect (Post/Redirect/Get).
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape
from pydantic import ValidationError

from aim.adapters.cognito_sign_in import SignInFailedError
from aim.adapters.oidc import InvalidTokenError
from aim.domain import casework
from aim.domain.access import AccessDeniedError, NotOnCaseloadError, Principal
from aim.domain.board import LIGHT_ORDER
from aim.domain.casework import ACTION_WORDS, OUTCOME_WORDS, USEFUL_WORDS, InterventionInput
from aim.observability import logger
from aim.web import security
from aim.web.charts import habit_chart

STATIC_DIR = Path(__file__).parent / "static"
LONDON = ZoneInfo("Europe/London")
LIGHT_TAGS = {
    "red": ("Red", "govuk-tag--red"),
    "amber": ("Amber", "govuk-tag--orange"),
    "green": ("Green", "govuk-tag--green"),
    "insufficient": ("Not enough data", "govuk-tag--grey"),
}
STATUS_TAGS = {
    "open": ("Open", "govuk-tag--red"),
    "acknowledged": ("Acknowledged", "govuk-tag--blue"),
    "closed": ("Closed", "govuk-tag--grey"),
}
SORT_KEYS = ("light", "prisoner", "location", "score", "since")
INTERVENTION_FIELDS = ("action", "engaged", "outcome", "useful", "note", "next_review")
FIELD_MESSAGES = {
    "action": "Select what was done",
    "engaged": "Select whether the person engaged",
    "outcome": "Select the outcome",
    "useful": "Select whether this alert was worth raising",
    "note": f"Note must be {casework.NOTE_MAX:,} characters or fewer",
    "next_review": "Next review must be a real date, like 27 3 2027",
}


def when(value: Any) -> str:
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(LONDON).strftime("%-d %b %Y, %H:%M")


def day(value: Any) -> str:
    if not value:
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return d.strftime("%-d %b %Y")


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("aim.web", "templates"),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
            ]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["day"] = day
    env.globals.update(
        LIGHT_TAGS=LIGHT_TAGS,
        STATUS_TAGS=STATUS_TAGS,
        ACTION_WORDS=ACTION_WORDS,
        OUTCOME_WORDS=OUTCOME_WORDS,
        USEFUL_WORDS=USEFUL_WORDS,
        habit_chart=habit_chart,
    )
    return env


def stage_prefix(seen_path: str, path: str) -> str:
    """The stage prefix the browser sees (``/prod`` on an API Gateway stage URL, else empty)."""
    return seen_path[: -len(path)] if seen_path.endswith(path) and seen_path != path else ""


def not_found_page(base: str) -> Response[str]:
    nonce = security.new_nonce()
    html = (
        environment()
        .get_template("error.html")
        .render(base=base, cspNonce=nonce, title="Page not found", message="Page not found.", who=None)
    )
    return Response(404, "text/html; charset=utf-8", html, headers=security.page_headers(nonce))


class SignInRequiredError(Exception):
    """No session, or one that no longer verifies: the page sends the browser to sign in."""


def register_pages(app: APIGatewayRestResolver, wiring: Any) -> None:
    service = wiring.service
    secure = wiring.cookie_secure
    session_name, sign_in_name = security.cookie_names(secure)

    # --- request helpers ------------------------------------------------------------------------
    def base() -> str:
        return stage_prefix(str(app.current_event.request_context.path or ""), app.current_event.path)

    def cookies() -> dict[str, str]:
        out: dict[str, str] = {}
        raw = app.current_event.headers.get("Cookie") or app.current_event.headers.get("cookie") or ""
        for part in raw.split(";"):
            name, _, value = part.strip().partition("=")
            if name:
                out[name] = value
        return out

    def session() -> str:
        token = cookies().get(session_name, "")
        if not token:
            raise SignInRequiredError()
        return token

    def principal() -> tuple[Principal, str]:
        token = session()
        try:
            return wiring.verifier.principal(token), token
        except InvalidTokenError as exc:
            raise SignInRequiredError() from exc

    def form() -> dict[str, str]:
        parsed = parse_qs(app.current_event.decoded_body or "", keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    def client() -> str:
        return str(app.current_event.request_context.identity.source_ip or "")

    def render(template: str, status: int = 200, cookies_out: list[Any] | None = None, **context: Any) -> Response[str]:
        nonce = security.new_nonce()
        html = environment().get_template(template).render(base=base(), cspNonce=nonce, **context)
        return Response(
            status_code=status,
            content_type="text/html; charset=utf-8",
            body=html,
            headers=security.page_headers(nonce),
            cookies=cookies_out or [],
        )

    def redirect(location: str, cookies_out: list[Any] | None = None) -> Response[str]:
        return Response(
            status_code=303,
            body="",
            headers={"Location": base() + location, **security.COMMON_HEADERS},
            cookies=cookies_out or [],
        )

    def page(handler: Callable[..., Response[str]]) -> Callable[..., Response[str]]:
        @functools.wraps(handler)
        def wrapped(*args: Any, **kwargs: Any) -> Response[str]:
            try:
                return handler(*args, **kwargs)
            except SignInRequiredError:
                target = app.current_event.path if app.current_event.http_method == "GET" else "/"
                return redirect(
                    "/sign-in?" + urlencode({"next": target}), [security.expired_cookie(session_name, secure)]
                )
            except NotOnCaseloadError:
                return render("error.html", 404, title="Page not found", message="Page not found.", who=None)
            except AccessDeniedError as exc:
                return render(
                    "error.html", 403, title="You cannot do this", message=str(exc).capitalize() + ".", who=None
                )

        return wrapped

    def check_csrf(token: str, submitted: dict[str, str]) -> None:
        if not security.csrf_ok(token, submitted.get("csrf")):
            logger.warning("form refused: CSRF token missing or wrong", path=app.current_event.path)
            raise AccessDeniedError("this form has expired or did not come from AIM: go back and try again")

    def common(who: Principal, token: str) -> dict[str, Any]:
        return {"who": who, "csrf": security.csrf_token(token)}

    # --- sign in --------------------------------------------------------------------------------
    def safe_next(value: str | None) -> str:
        return value if value and value.startswith("/") and not value.startswith("//") else "/"

    def sign_in_page(status: int = 200, error: str | None = None, username: str = "") -> Response[str]:
        secret = security.new_form_secret()
        query = app.current_event.query_string_parameters or {}
        return render(
            "sign_in.html",
            status,
            [security.session_cookie(sign_in_name, secret, secure, max_age=1800)],
            who=None,
            csrf=secret,
            error=error,
            username=username,
            next=safe_next(form().get("next") if app.current_event.http_method == "POST" else query.get("next")),
            enabled=wiring.sign_in is not None,
        )

    @app.get("/sign-in")
    def sign_in_get() -> Response[str]:
        return sign_in_page()

    @app.post("/sign-in")
    def sign_in_post() -> Response[str]:
        from aim.web.app import record_sign_in_failure

        submitted = form()
        expected = cookies().get(sign_in_name, "")
        if not expected or submitted.get("csrf") != expected:
            return render(
                "error.html",
                403,
                title="You cannot do this",
                message="The sign-in form expired: go back and try again.",
                who=None,
            )
        username, password = submitted.get("username", "").strip(), submitted.get("password", "")
        if not username or not password or wiring.sign_in is None:
            record_sign_in_failure()
            return sign_in_page(401, "Enter your username and password", username)
        try:
            token = wiring.sign_in.access_token(username, password)
            who = wiring.verifier.principal(token)
        except (SignInFailedError, InvalidTokenError) as exc:
            record_sign_in_failure()
            logger.info("sign-in refused", reason=str(exc))
            return sign_in_page(401, "Enter a correct username and password", username)
        target = safe_next(submitted.get("next"))
        if target == "/" and who.caseload:
            target = f"/establishments/{who.caseload[0]}"
        return redirect(
            target,
            [
                security.session_cookie(session_name, token, secure, max_age=3600),
                security.expired_cookie(sign_in_name, secure),
            ],
        )

    @app.post("/sign-out")
    @page
    def sign_out() -> Response[str]:
        token = session()
        check_csrf(token, form())
        return redirect("/sign-in", [security.expired_cookie(session_name, secure)])

    # --- board ----------------------------------------------------------------------------------
    @app.get("/")
    @page
    def home() -> Response[str]:
        who, token = principal()
        if len(who.caseload) == 1:
            return redirect(f"/establishments/{who.caseload[0]}")
        return render("home.html", **common(who, token))

    @app.get("/establishments/<est>")
    @page
    def board(est: str) -> Response[str]:
        who, token = principal()
        view = service.board(who, est)
        query = app.current_event.query_string_parameters or {}
        wing, light = query.get("wing", ""), query.get("light", "")
        sort = query.get("sort", "light") if query.get("sort") in SORT_KEYS else "light"
        order = "desc" if query.get("order") == "desc" else "asc"
        rows = [r for r in view.rows if (not wing or r.wing == wing) and (not light or r.light == light)]
        keys: dict[str, Callable[[Any], Any]] = {
            "light": lambda r: (LIGHT_ORDER.get(r.light, 9), -r.score, r.prisoner_id),
            "prisoner": lambda r: r.prisoner_id,
            "location": lambda r: (r.location or "~", r.prisoner_id),
            "score": lambda r: (r.score, r.prisoner_id),
            "since": lambda r: (r.since or "", r.prisoner_id),
        }
        rows = sorted(rows, key=keys[sort], reverse=order == "desc")
        counts = {k: sum(1 for r in view.rows if r.light == k) for k in LIGHT_TAGS}

        def sort_link(key: str) -> str:
            flip = "desc" if sort == key and order == "asc" else "asc"
            return "?" + urlencode(
                {k: v for k, v in (("wing", wing), ("light", light), ("sort", key), ("order", flip)) if v}
            )

        return render(
            "board.html",
            est=est,
            rows=rows,
            cases=view.cases,
            counts=counts,
            wings=sorted({r.wing for r in view.rows}),
            wing=wing,
            light=light,
            sort=sort,
            order=order,
            sort_link=sort_link,
            total=len(view.rows),
            **common(who, token),
        )

    # --- prisoner -------------------------------------------------------------------------------
    @app.get("/prisoners/<est>/<prisoner_id>")
    @page
    def prisoner(est: str, prisoner_id: str) -> Response[str]:
        who, token = principal()
        detail = service.prisoner(who, est, prisoner_id, client())
        query = app.current_event.query_string_parameters or {}
        notice = query.get("notice", "")
        noticed = next((a for a in detail.alerts if a.record.alert_id == query.get("alert")), None)
        return render(
            "prisoner.html",
            est=est,
            p=detail.view,
            alerts=detail.alerts,
            notice=notice,
            noticed=noticed,
            role=who.role_at(est),
            **common(who, token),
        )

    @app.get("/prisoners/<est>/<prisoner_id>/audit")
    @page
    def audit(est: str, prisoner_id: str) -> Response[str]:
        who, token = principal()
        entries = service.audit_trail(who, est, prisoner_id, client())
        return render("audit.html", est=est, prisoner_id=prisoner_id, entries=entries, **common(who, token))

    # --- alert actions --------------------------------------------------------------------------
    def back_to(view: Any, notice: str) -> str:
        r = view.record
        return (
            f"/prisoners/{r.establishment}/{r.prisoner_id}?"
            + urlencode({"notice": notice, "alert": r.alert_id})
            + "#alerts"
        )

    @app.post("/alerts/<alert_id>/acknowledge")
    @page
    def acknowledge(alert_id: str) -> Response[str]:
        who, token = principal()
        check_csrf(token, form())
        try:
            view = service.acknowledge(who, alert_id, client())
        except casework.AlertHeldError:
            view = service.alert(who, alert_id, client())
            return redirect(back_to(view, "held"))
        except casework.AlertClosedError:
            view = service.alert(who, alert_id, client())
            return redirect(back_to(view, "closed"))
        return redirect(back_to(view, "acknowledged"))

    def intervention_form(who: Principal, token: str, alert_id: str, status: int = 200, **extra: Any) -> Response[str]:
        view = service.alert(who, alert_id, client())
        who.can_act(view.record.establishment)
        values: dict[str, str] = extra.pop("values", {})
        errors: list[dict[str, str]] = extra.pop("errors", [])

        def items(choices: dict[str, str], name: str) -> list[dict[str, Any]]:
            return [{"value": k, "text": v, "checked": values.get(name) == k} for k, v in choices.items()]

        anchors = {"next_review": "next_review-day"}
        return render(
            "intervention.html",
            status,
            alert=view,
            values=values,
            errors=errors,
            error_list=[{"text": e["text"], "href": "#" + anchors.get(e["field"], e["field"])} for e in errors],
            action_items=items(ACTION_WORDS, "action"),
            engaged_items=items({"yes": "Yes", "no": "No"}, "engaged"),
            outcome_items=items(OUTCOME_WORDS, "outcome"),
            useful_items=items(USEFUL_WORDS, "useful"),
            idempotency_key=extra.pop("idempotency_key", security.new_form_secret()),
            **common(who, token),
        )

    @app.get("/alerts/<alert_id>/interventions/new")
    @page
    def intervention_new(alert_id: str) -> Response[str]:
        who, token = principal()
        return intervention_form(who, token, alert_id)

    @app.post("/alerts/<alert_id>/interventions")
    @page
    def intervention_post(alert_id: str) -> Response[str]:
        who, token = principal()
        submitted = form()
        check_csrf(token, submitted)
        service.may_act(who, alert_id)
        body: dict[str, Any] = {k: submitted[k] for k in INTERVENTION_FIELDS if submitted.get(k, "").strip()}
        errors: list[dict[str, str]] = []
        if "engaged" in body:
            body["engaged"] = {"yes": True, "no": False}.get(body["engaged"], body["engaged"])
        parts = [submitted.get(f"next_review-{p}", "").strip() for p in ("year", "month", "day")]
        if any(parts):
            try:
                body["next_review"] = date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
            except ValueError:
                errors.append({"field": "next_review", "text": FIELD_MESSAGES["next_review"]})
        entry = None
        try:
            entry = InterventionInput.model_validate(body)
        except ValidationError as exc:
            seen = {e["field"] for e in errors}
            for error in exc.errors():
                name = str(error["loc"][0]) if error.get("loc") else "action"
                if name in FIELD_MESSAGES and name not in seen:
                    seen.add(name)
                    errors.append({"field": name, "text": FIELD_MESSAGES[name]})
        if errors or entry is None:
            order = {name: i for i, name in enumerate(INTERVENTION_FIELDS)}
            errors.sort(key=lambda e: order.get(e["field"], 99))
            return intervention_form(
                who,
                token,
                alert_id,
                422,
                values=submitted,
                errors=errors,
                idempotency_key=submitted.get("idempotency_key"),
            )
        try:
            view, _, _ = service.record_intervention(who, alert_id, entry, client(), submitted.get("idempotency_key"))
        except casework.AlertClosedError:
            view = service.alert(who, alert_id, client())
            return redirect(back_to(view, "closed"))
        return redirect(back_to(view, "recorded"))

    @app.get("/alerts/<alert_id>/close")
    @page
    def close_get(alert_id: str) -> Response[str]:
        who, token = principal()
        view = service.alert(who, alert_id, client())
        who.can_act(view.record.establishment)
        return render("close.html", alert=view, errors=[], **common(who, token))

    @app.post("/alerts/<alert_id>/close")
    @page
    def close_post(alert_id: str) -> Response[str]:
        who, token = principal()
        check_csrf(token, form())
        try:
            view = service.close(who, alert_id, client())
        except casework.NoInterventionError:
            view = service.alert(who, alert_id, client())
            errors = [{"text": "Record an intervention before closing this alert", "href": "#close"}]
            return render("close.html", 422, alert=view, errors=errors, **common(who, token))
        return redirect(back_to(view, "closed"))

    # --- static assets --------------------------------------------------------------------------
    def asset(relative: str) -> Response[Any]:
        path = (STATIC_DIR / relative).resolve()
        if STATIC_DIR.resolve() not in path.parents or not path.is_file():
            return Response(404, "text/plain", "Not found", headers=security.COMMON_HEADERS)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".woff2":
            content_type = "font/woff2"
        body: Any = (
            path.read_text(encoding="utf-8")
            if content_type.startswith(("text/", "application/javascript", "application/json", "image/svg"))
            else path.read_bytes()
        )
        return Response(
            200,
            content_type,
            body,
            headers={
                "Cache-Control": "public, max-age=86400",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @app.get("/assets/<name>")
    def asset_top(name: str) -> Response[Any]:
        return asset(name)

    @app.get("/assets/<folder>/<name>")
    def asset_nested(folder: str, name: str) -> Response[Any]:
        return asset(f"{folder}/{name}")


__all__ = ["register_pages", "when", "day", "environment"]
