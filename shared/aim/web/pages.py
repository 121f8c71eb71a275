"""The board pages: server-rendered GOV.UK / MoJ Frontend HTML, working without JavaScript.

Signed in by a session cookie (HttpOnly, SameSite=Strict, Secure when served over HTTPS) that
holds the access token and is verified on every request like a bearer token. Every form carries
a CSRF token bound to the session; every change answers with a redirect (Post/Redirect/Get).
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Callable
from datetime import date, datetime, timedelta
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
from aim.domain.outcomes import CONFOUNDER_KINDS, MARKED_CONFOUNDERS, SUBGROUP_WORDS, figures_csv
from aim.observability import logger
from aim.service.staff import BadRangeError
from aim.web import security
from aim.web.charts import bar_chart, habit_chart, lights_chart, red_line_chart, weekly_chart

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
        weekly_chart=weekly_chart,
        lights_chart=lights_chart,
        red_line_chart=red_line_chart,
        bar_chart=bar_chart,
        CONFOUNDER_KINDS=CONFOUNDER_KINDS,
        MARKED_CONFOUNDERS=MARKED_CONFOUNDERS,
        SUBGROUP_WORDS=SUBGROUP_WORDS,
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


def safe_next(value: str | None) -> str:
    """A path within AIM to go to after signing in; anything else (another site) goes home."""
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


BOARD_ORDERS: dict[str, Callable[[Any], Any]] = {
    "light": lambda r: (LIGHT_ORDER.get(r.light, 9), -r.score, r.prisoner_id),
    "prisoner": lambda r: r.prisoner_id,
    "location": lambda r: (r.location or "~", r.prisoner_id),
    "score": lambda r: (r.score, r.prisoner_id),
    "since": lambda r: (r.since or "", r.prisoner_id),
}


def board_rows(rows: list[Any], wing: str, light: str, sort: str, order: str) -> list[Any]:
    """The board's rows on one wing and at one light (either may be blank: all), in the order asked for."""
    kept = [r for r in rows if (not wing or r.wing == wing) and (not light or r.light == light)]
    return sorted(kept, key=BOARD_ORDERS[sort], reverse=order == "desc")


def sort_links(wing: str, light: str, sort: str, order: str) -> Callable[[str], str]:
    """A column heading's link: sorts by that column, flipping the order if it is the current one."""

    def sort_link(key: str) -> str:
        flip = "desc" if sort == key and order == "asc" else "asc"
        return "?" + urlencode(
            {k: v for k, v in (("wing", wing), ("light", light), ("sort", key), ("order", flip)) if v}
        )

    return sort_link


def back_to(view: Any, notice: str) -> str:
    """The prisoner's page, at the alerts, telling what became of ``view``'s alert."""
    r = view.record
    return (
        f"/prisoners/{r.establishment}/{r.prisoner_id}?"
        + urlencode({"notice": notice, "alert": r.alert_id})
        + "#alerts"
    )


def intervention_from_form(submitted: dict[str, str]) -> tuple[InterventionInput | None, list[dict[str, str]]]:
    """The intervention a submitted form describes, or the errors to show, one per field, in form order."""
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
    order = {name: i for i, name in enumerate(INTERVENTION_FIELDS)}
    errors.sort(key=lambda e: order.get(e["field"], 99))
    return entry, errors


def asset(relative: str) -> Response[Any]:
    """A file under ``static/``, or 404 for anything outside it or missing."""
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


def asset_top(name: str) -> Response[Any]:
    return asset(name)


def asset_nested(folder: str, name: str) -> Response[Any]:
    return asset(f"{folder}/{name}")


class PageHandlers:
    """What every page needs of the current request: the session, the form, CSRF checks, rendering.

    Each group of pages is a subclass whose ``register`` adds its routes to the resolver.
    """

    def __init__(self, app: APIGatewayRestResolver, wiring: Any) -> None:
        self.app = app
        self.wiring = wiring
        self.service = wiring.service
        self.secure: bool = wiring.cookie_secure
        self.session_name, self.sign_in_name = security.cookie_names(self.secure)

    def register(self) -> None:
        raise NotImplementedError

    def base(self) -> str:
        return stage_prefix(str(self.app.current_event.request_context.path or ""), self.app.current_event.path)

    def query(self) -> dict[str, str]:
        return self.app.current_event.query_string_parameters or {}

    def cookies(self) -> dict[str, str]:
        out: dict[str, str] = {}
        headers = self.app.current_event.headers
        raw = headers.get("Cookie") or headers.get("cookie") or ""
        for part in raw.split(";"):
            name, _, value = part.strip().partition("=")
            if name:
                out[name] = value
        return out

    def session(self) -> str:
        token = self.cookies().get(self.session_name, "")
        if not token:
            raise SignInRequiredError()
        return token

    def principal(self) -> tuple[Principal, str]:
        token = self.session()
        try:
            return self.wiring.verifier.principal(token), token
        except InvalidTokenError as exc:
            raise SignInRequiredError() from exc

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.app.current_event.decoded_body or "", keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    def client(self) -> str:
        return str(self.app.current_event.request_context.identity.source_ip or "")

    def render(
        self, template: str, status: int = 200, cookies_out: list[Any] | None = None, **context: Any
    ) -> Response[str]:
        nonce = security.new_nonce()
        html = environment().get_template(template).render(base=self.base(), cspNonce=nonce, **context)
        return Response(
            status_code=status,
            content_type="text/html; charset=utf-8",
            body=html,
            headers=security.page_headers(nonce),
            cookies=cookies_out or [],
        )

    def redirect(self, location: str, cookies_out: list[Any] | None = None) -> Response[str]:
        return Response(
            status_code=303,
            body="",
            headers={"Location": self.base() + location, **security.COMMON_HEADERS},
            cookies=cookies_out or [],
        )

    def page(self, handler: Callable[..., Response[str]]) -> Callable[..., Response[str]]:
        """``handler`` answering a missing session with sign-in, and refusals with an HTML error page."""

        @functools.wraps(handler)
        def wrapped(*args: Any, **kwargs: Any) -> Response[str]:
            try:
                return handler(*args, **kwargs)
            except SignInRequiredError:
                event = self.app.current_event
                target = event.path if event.http_method == "GET" else "/"
                expired = security.expired_cookie(self.session_name, self.secure)
                return self.redirect("/sign-in?" + urlencode({"next": target}), [expired])
            except NotOnCaseloadError:
                return self.render("error.html", 404, title="Page not found", message="Page not found.", who=None)
            except AccessDeniedError as exc:
                message = str(exc).capitalize() + "."
                return self.render("error.html", 403, title="You cannot do this", message=message, who=None)

        return wrapped

    def check_csrf(self, token: str, submitted: dict[str, str]) -> None:
        if not security.csrf_ok(token, submitted.get("csrf")):
            logger.warning("form refused: CSRF token missing or wrong", path=self.app.current_event.path)
            raise AccessDeniedError("this form has expired or did not come from AIM: go back and try again")

    def common(self, who: Principal, token: str) -> dict[str, Any]:
        return {"who": who, "csrf": security.csrf_token(token)}


class SignInPages(PageHandlers):
    """Signing in with a username and password (the form's own cookie-bound CSRF secret), and out."""

    def register(self) -> None:
        self.app.get("/sign-in")(self.sign_in_get)
        self.app.post("/sign-in")(self.sign_in_post)
        self.app.post("/sign-out")(self.page(self.sign_out))

    def sign_in_page(self, status: int = 200, error: str | None = None, username: str = "") -> Response[str]:
        secret = security.new_form_secret()
        posted = self.app.current_event.http_method == "POST"
        return self.render(
            "sign_in.html",
            status,
            [security.session_cookie(self.sign_in_name, secret, self.secure, max_age=1800)],
            who=None,
            csrf=secret,
            error=error,
            username=username,
            next=safe_next(self.form().get("next") if posted else self.query().get("next")),
            enabled=self.wiring.sign_in is not None,
        )

    def sign_in_get(self) -> Response[str]:
        return self.sign_in_page()

    def sign_in_post(self) -> Response[str]:
        from aim.web.app import record_sign_in_failure

        submitted = self.form()
        expected = self.cookies().get(self.sign_in_name, "")
        if not expected or submitted.get("csrf") != expected:
            message = "The sign-in form expired: go back and try again."
            return self.render("error.html", 403, title="You cannot do this", message=message, who=None)
        username, password = submitted.get("username", "").strip(), submitted.get("password", "")
        if not username or not password or self.wiring.sign_in is None:
            record_sign_in_failure()
            return self.sign_in_page(401, "Enter your username and password", username)
        try:
            token = self.wiring.sign_in.access_token(username, password)
            who = self.wiring.verifier.principal(token)
        except (SignInFailedError, InvalidTokenError) as exc:
            record_sign_in_failure()
            logger.info("sign-in refused", reason=str(exc))
            return self.sign_in_page(401, "Enter a correct username and password", username)
        target = safe_next(submitted.get("next"))
        if target == "/" and who.caseload:
            target = f"/establishments/{who.caseload[0]}"
        return self.redirect(
            target,
            [
                security.session_cookie(self.session_name, token, self.secure, max_age=3600),
                security.expired_cookie(self.sign_in_name, self.secure),
            ],
        )

    def sign_out(self) -> Response[str]:
        token = self.session()
        self.check_csrf(token, self.form())
        return self.redirect("/sign-in", [security.expired_cookie(self.session_name, self.secure)])


class BoardPages(PageHandlers):
    """Home (a caseload of one goes straight to its board) and an establishment's board."""

    def register(self) -> None:
        self.app.get("/")(self.page(self.home))
        self.app.get("/establishments/<est>")(self.page(self.board))

    def home(self) -> Response[str]:
        who, token = self.principal()
        if len(who.caseload) == 1:
            return self.redirect(f"/establishments/{who.caseload[0]}")
        return self.render("home.html", **self.common(who, token))

    def board(self, est: str) -> Response[str]:
        who, token = self.principal()
        view = self.service.board(who, est)
        query = self.query()
        wing, light = query.get("wing", ""), query.get("light", "")
        sort = query.get("sort", "light") if query.get("sort") in SORT_KEYS else "light"
        order = "desc" if query.get("order") == "desc" else "asc"
        return self.render(
            "board.html",
            est=est,
            rows=board_rows(view.rows, wing, light, sort, order),
            cases=view.cases,
            counts={k: sum(1 for r in view.rows if r.light == k) for k in LIGHT_TAGS},
            wings=sorted({r.wing for r in view.rows}),
            wing=wing,
            light=light,
            sort=sort,
            order=order,
            sort_link=sort_links(wing, light, sort, order),
            total=len(view.rows),
            **self.common(who, token),
        )


class PrisonerPages(PageHandlers):
    """A prisoner's page (routine, alerts, interventions) and their audit trail."""

    def register(self) -> None:
        self.app.get("/prisoners/<est>/<prisoner_id>")(self.page(self.prisoner))
        self.app.get("/prisoners/<est>/<prisoner_id>/audit")(self.page(self.audit))

    def prisoner(self, est: str, prisoner_id: str) -> Response[str]:
        who, token = self.principal()
        detail = self.service.prisoner(who, est, prisoner_id, self.client())
        query = self.query()
        notice = query.get("notice", "")
        noticed = next((a for a in detail.alerts if a.record.alert_id == query.get("alert")), None)
        return self.render(
            "prisoner.html",
            est=est,
            p=detail.view,
            alerts=detail.alerts,
            notice=notice,
            noticed=noticed,
            role=who.role_at(est),
            **self.common(who, token),
        )

    def audit(self, est: str, prisoner_id: str) -> Response[str]:
        who, token = self.principal()
        entries = self.service.audit_trail(who, est, prisoner_id, self.client())
        return self.render("audit.html", est=est, prisoner_id=prisoner_id, entries=entries, **self.common(who, token))


class AlertPages(PageHandlers):
    """Acting on an alert: acknowledge it, record an intervention, close it."""

    def register(self) -> None:
        self.app.post("/alerts/<alert_id>/acknowledge")(self.page(self.acknowledge))
        self.app.get("/alerts/<alert_id>/interventions/new")(self.page(self.intervention_new))
        self.app.post("/alerts/<alert_id>/interventions")(self.page(self.intervention_post))
        self.app.get("/alerts/<alert_id>/close")(self.page(self.close_get))
        self.app.post("/alerts/<alert_id>/close")(self.page(self.close_post))

    def acknowledge(self, alert_id: str) -> Response[str]:
        who, token = self.principal()
        self.check_csrf(token, self.form())
        try:
            view = self.service.acknowledge(who, alert_id, self.client())
        except casework.AlertHeldError:
            view = self.service.alert(who, alert_id, self.client())
            return self.redirect(back_to(view, "held"))
        except casework.AlertClosedError:
            view = self.service.alert(who, alert_id, self.client())
            return self.redirect(back_to(view, "closed"))
        return self.redirect(back_to(view, "acknowledged"))

    def intervention_form(
        self, who: Principal, token: str, alert_id: str, status: int = 200, **extra: Any
    ) -> Response[str]:
        view = self.service.alert(who, alert_id, self.client())
        who.can_act(view.record.establishment)
        values: dict[str, str] = extra.pop("values", {})
        errors: list[dict[str, str]] = extra.pop("errors", [])

        def items(choices: dict[str, str], name: str) -> list[dict[str, Any]]:
            return [{"value": k, "text": v, "checked": values.get(name) == k} for k, v in choices.items()]

        anchors = {"next_review": "next_review-day"}
        return self.render(
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
            **self.common(who, token),
        )

    def intervention_new(self, alert_id: str) -> Response[str]:
        who, token = self.principal()
        return self.intervention_form(who, token, alert_id)

    def intervention_post(self, alert_id: str) -> Response[str]:
        who, token = self.principal()
        submitted = self.form()
        self.check_csrf(token, submitted)
        self.service.may_act(who, alert_id)
        entry, errors = intervention_from_form(submitted)
        key = submitted.get("idempotency_key")
        if errors or entry is None:
            return self.intervention_form(
                who, token, alert_id, 422, values=submitted, errors=errors, idempotency_key=key
            )
        try:
            view, _, _ = self.service.record_intervention(who, alert_id, entry, self.client(), key)
        except casework.AlertClosedError:
            view = self.service.alert(who, alert_id, self.client())
            return self.redirect(back_to(view, "closed"))
        return self.redirect(back_to(view, "recorded"))

    def close_get(self, alert_id: str) -> Response[str]:
        who, token = self.principal()
        view = self.service.alert(who, alert_id, self.client())
        who.can_act(view.record.establishment)
        return self.render("close.html", alert=view, errors=[], **self.common(who, token))

    def close_post(self, alert_id: str) -> Response[str]:
        who, token = self.principal()
        self.check_csrf(token, self.form())
        try:
            view = self.service.close(who, alert_id, self.client())
        except casework.NoInterventionError:
            view = self.service.alert(who, alert_id, self.client())
            errors = [{"text": "Record an intervention before closing this alert", "href": "#close"}]
            return self.render("close.html", 422, alert=view, errors=errors, **self.common(who, token))
        return self.redirect(back_to(view, "closed"))


DEFAULT_OUTCOME_WEEKS = 8


def outcome_range(query: dict[str, str], today: date) -> tuple[date, date, list[dict[str, str]]]:
    """The ``from`` and ``to`` days asked for (the last eight weeks if neither is given), and an
    error for each that is not a real date."""
    if not query.get("from") and not query.get("to"):
        return today - timedelta(days=7 * DEFAULT_OUTCOME_WEEKS - 1), today, []
    days: dict[str, date] = {}
    errors = []
    for name, words in (("from", "From"), ("to", "To")):
        try:
            days[name] = date.fromisoformat(query.get(name, "").strip())
        except ValueError:
            errors.append({"text": f"{words} must be a real date, like 2026-11-02", "href": f"#{name}"})
    if not errors and days["to"] < days["from"]:
        errors.append({"text": "From must be on or before to", "href": "#from"})
    return days.get("from", today), days.get("to", today), errors


class OutcomesPages(PageHandlers):
    """The governor's view: alerts raised, times to act, outcomes and usefulness, as a page or CSV."""

    def register(self) -> None:
        self.app.get("/establishments/<est>/outcomes")(self.page(self.outcomes))

    def outcomes(self, est: str) -> Response[str]:
        who, token = self.principal()
        who.can_oversee(est)  # another prison's: not found; an officer: refused
        query = self.query()
        start, end, errors = outcome_range(query, self.service.clock().date())
        figures = None
        if not errors:
            try:
                figures = self.service.outcomes(who, est, start, end, self.client())
            except BadRangeError:
                errors = [{"text": "From and to must be at most a year apart", "href": "#from"}]
        if figures is not None and query.get("format") == "csv":
            name = f"aim-outcomes-{est}-{start.isoformat()}-{end.isoformat()}.csv"
            return Response(
                200,
                "text/csv; charset=utf-8",
                figures_csv(figures),
                headers={"Content-Disposition": f'attachment; filename="{name}"', **security.COMMON_HEADERS},
            )
        return self.render(
            "outcomes.html",
            422 if errors else 200,
            est=est,
            start=query.get("from", start.isoformat()),
            end=query.get("to", end.isoformat()),
            figures=figures,
            errors=errors,
            csv_link="?" + urlencode({"from": start.isoformat(), "to": end.isoformat(), "format": "csv"}),
            **self.common(who, token),
        )


def register_assets(app: APIGatewayRestResolver) -> None:
    """The CSS, JavaScript, fonts and images the pages load, served from ``static/``."""
    app.get("/assets/<name>")(asset_top)
    app.get("/assets/<folder>/<name>")(asset_nested)


def register_pages(app: APIGatewayRestResolver, wiring: Any) -> None:
    for group in (SignInPages, BoardPages, PrisonerPages, AlertPages, OutcomesPages):
        group(app, wiring).register()
    register_assets(app)


__all__ = ["register_pages", "when", "day", "environment"]
