"""``aim serve``: the board pages and staff API on 127.0.0.1, over the embedded local AWS.

The staff function's own handler (``functions/api/handler.py``) answers every request: a small
``http.server`` turns each HTTP request into the API Gateway (REST) event the function gets in
AWS. Sign-in is real: moto's Cognito user pool checks the password and issues RS256 access
tokens, and the function verifies them against the pool's JWKS, served by a moto server thread
on 127.0.0.1. While it serves, the escalation job runs on the wall clock every few minutes, as
its schedule does in AWS: a red nobody acknowledges on the board is escalated.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aim.domain.escalation import SCHEDULE_MINUTES

from aim_local.stack import NAMES, REGION, FakeLambdaContext, LocalAws, _patched_env, _reset_caches, create_table

DEMO_PASSWORD = "Demo-Passw0rd!"  # local demo users only; printed by aim serve
DEMO_USERS: dict[str, list[str]] = {
    "lei-officer": ["LEI-officer"],
    "lei-governor": ["LEI-governor"],
    "mdi-officer": ["MDI-officer"],
}
STAFF_TABLES = {"case": NAMES["case"], "audit": "aim-audit-local"}  # the case table is the local stack's
DISCOVERY_PATH = "/local/cognito.json"  # the local server only: how `aim token` finds the user pool
ESCALATE_EVERY_SECONDS = 60.0 * SCHEDULE_MINUTES  # the escalation schedule, on the wall clock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StaffLocal:
    """The staff side of the embedded stack: tables, user pool, users, and the JWKS server."""

    local: LocalAws
    user_pool_id: str
    client_id: str
    moto_url: str
    env: dict[str, str]

    def call(self, event: dict[str, Any]) -> dict[str, Any]:
        from functions.api import handler

        return dict(handler.handler(event, FakeLambdaContext("aim-api-local")))

    def token(self, user: str, password: str = DEMO_PASSWORD) -> str:
        response = self.local.clients["cognito-idp"].initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user, "PASSWORD": password},
        )
        return str(response["AuthenticationResult"]["AccessToken"])


def create_user_pool(cognito: Any, users: dict[str, list[str]], password: str) -> tuple[str, str]:
    pool = cognito.create_user_pool(PoolName="aim-staff-local")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="aim-board-local", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    for group in sorted({g for gs in users.values() for g in gs}):
        cognito.create_group(UserPoolId=pool, GroupName=group)
    for user, groups in users.items():
        cognito.admin_create_user(UserPoolId=pool, Username=user, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(UserPoolId=pool, Username=user, Password=password, Permanent=True)
        for group in groups:
            cognito.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)
    return pool, client


@contextmanager
def staff_local(local: LocalAws, users: dict[str, list[str]] | None = None) -> Iterator[StaffLocal]:
    """Adds the staff tables and user pool to a running ``local_aws`` and points the staff
    function's settings at them, with a moto server thread serving the pool's JWKS."""
    import boto3
    from aim.web.settings import get_staff_settings
    from moto.server import ThreadedMotoServer

    from functions.api import handler

    ddb = local.clients["dynamodb"]
    for table in STAFF_TABLES.values():
        create_table(ddb, table)
    cognito = local.clients.get("cognito-idp") or boto3.client("cognito-idp", region_name=REGION)
    local.clients["cognito-idp"] = cognito
    pool, client = create_user_pool(cognito, users or DEMO_USERS, DEMO_PASSWORD)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    moto_url = f"http://127.0.0.1:{port}"
    env = {
        "CASE_TABLE": STAFF_TABLES["case"],
        "AUDIT_TABLE": STAFF_TABLES["audit"],
        "OIDC_ISSUER": f"https://cognito-idp.{REGION}.amazonaws.com/{pool}",
        "OIDC_JWKS_URL": f"{moto_url}/{pool}/.well-known/jwks.json",
        "OIDC_AUDIENCE": client,
        "SIGN_IN_CLIENT_ID": client,
        "COOKIE_SECURE": "false",
    }

    def reset() -> None:
        handler.app.cache_clear()
        handler.wiring.cache_clear()
        get_staff_settings.cache_clear()

    try:
        with _patched_env(env):
            reset()
            yield StaffLocal(local, pool, client, moto_url, env)
    finally:
        reset()
        server.stop()
        _reset_caches()


# --- HTTP -> API Gateway event ------------------------------------------------------------------
def api_event(
    method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """The API Gateway REST (payload 1.0) proxy event for one HTTP request."""
    parts = urlsplit(target)
    query = parse_qsl(parts.query, keep_blank_values=True)
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for k, v in query:
        single[k] = v
        multi.setdefault(k, []).append(v)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": single or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": parts.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


def make_http_server(staff: StaffLocal, port: int, lock: threading.Lock | None = None) -> ThreadingHTTPServer:
    # One request at a time through the in-process moto backends (and the escalation job's runs).
    serial = lock or threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "aim-local"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == DISCOVERY_PATH:
                self._send(
                    200,
                    {"Content-Type": "application/json"},
                    [],
                    json.dumps(
                        {
                            "region": REGION,
                            "endpoint": staff.moto_url,
                            "user_pool_id": staff.user_pool_id,
                            "client_id": staff.client_id,
                        }
                    ).encode(),
                )
                return
            event = api_event(self.command, self.path, dict(self.headers.items()), body, self.client_address[0])
            with serial:
                result = staff.call(event)
            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode("utf-8")
            headers = dict(result.get("headers") or {})
            multi = result.get("multiValueHeaders") or {}
            cookies = list(multi.pop("Set-Cookie", []))
            for name, values in multi.items():
                headers[name] = ", ".join(values)
            self._send(int(result["statusCode"]), headers, cookies, data)

        def _send(self, status: int, headers: dict[str, str], cookies: list[str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_HEAD = _serve

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


@contextmanager
def running_server(staff: StaffLocal, port: int = 0, lock: threading.Lock | None = None) -> Iterator[str]:
    server = make_http_server(staff, port or free_port(), lock)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def escalation_schedule(
    local: LocalAws,
    lock: threading.Lock,
    every_seconds: float = ESCALATE_EVERY_SECONDS,
    announce: Callable[[str], None] = print,
) -> Iterator[None]:
    """Run the escalation job on the local stack now and then every ``every_seconds`` until the
    block ends, one call at a time with the board's requests."""
    stop = threading.Event()

    def run() -> None:
        while True:
            try:
                with lock:
                    results = local.run_escalations(datetime.now(UTC))
                sent = sum(len(r["escalated"]) + len(r["resent"]) for r in results)
                if sent:
                    plural = "s" if sent != 1 else ""
                    announce(f"escalation job: {sent} escalation{plural} of unacknowledged reds sent")
            except Exception as exc:  # noqa: BLE001 - a failed run is reported; the next one retries
                announce(f"escalation job failed ({type(exc).__name__}); it runs again in {every_seconds:.0f} s")
            if stop.wait(every_seconds):
                return

    thread = threading.Thread(target=run, name="aim-escalation-schedule", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def serve_local(
    local: LocalAws,
    port: int,
    announce: Callable[[str], None] = print,
    until: Callable[[], None] | None = None,
    prepare: Callable[[StaffLocal], None] | None = None,
    escalate_every: float = ESCALATE_EVERY_SECONDS,
) -> None:
    """Serve the board over a running local stack until interrupted (or until ``until`` returns),
    with the escalation job every ``escalate_every`` seconds. ``prepare`` runs once the staff tables
    exist, before the first request (the demo's worked alerts)."""
    with staff_local(local) as staff:
        if prepare is not None:
            prepare(staff)
        lock = threading.Lock()
        with escalation_schedule(local, lock, escalate_every, announce):
            _serve_until(staff, port, announce, until, lock)


def _serve_until(
    staff: StaffLocal,
    port: int,
    announce: Callable[[str], None],
    until: Callable[[], None] | None,
    lock: threading.Lock | None = None,
) -> None:
    with running_server(staff, port, lock) as url:
        announce(f"AIM board and staff API: {url}/  (Ctrl-C to stop)")
        announce(
            f"Demo users (password {DEMO_PASSWORD}): "
            + ", ".join(f"{u} ({', '.join(g)})" for u, g in DEMO_USERS.items())
        )
        announce(f"Bearer token for the API: aim token lei-officer --url {url}")
        announce(f"Escalation job: every {SCHEDULE_MINUTES} minutes, for reds nobody has acknowledged")
        if until is not None:
            until()
            return
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            announce("stopped")


def fetch_token(user: str, url: str, password: str = DEMO_PASSWORD) -> str:
    """A bearer token for a demo user of a running ``aim serve``, signed by its user pool."""
    import urllib.request

    import boto3

    with urllib.request.urlopen(url.rstrip("/") + DISCOVERY_PATH, timeout=10) as response:  # noqa: S310 - local URL
        pool = json.loads(response.read())
    cognito = boto3.client(
        "cognito-idp",
        region_name=pool["region"],
        endpoint_url=pool["endpoint"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    result = cognito.initiate_auth(
        ClientId=pool["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": password},
    )
    return str(result["AuthenticationResult"]["AccessToken"])


__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "StaffLocal",
    "api_event",
    "escalation_schedule",
    "fetch_token",
    "running_server",
    "serve_local",
    "staff_local",
]
