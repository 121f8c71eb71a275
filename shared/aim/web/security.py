"""Session cookie, CSRF tokens and the security headers every staff page carries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

SESSION_COOKIE = "__Host-aim-session"
SIGN_IN_COOKIE = "__Host-aim-sign-in"  # the sign-in form's own CSRF token (there is no session yet)
LOCAL_SESSION_COOKIE = "aim-session"  # plain http on 127.0.0.1 cannot use the __Host- prefix
LOCAL_SIGN_IN_COOKIE = "aim-sign-in"


def cookie_names(secure: bool) -> tuple[str, str]:
    return (SESSION_COOKIE, SIGN_IN_COOKIE) if secure else (LOCAL_SESSION_COOKIE, LOCAL_SIGN_IN_COOKIE)


def csrf_token(session: str) -> str:
    """Bound to the session: derived from the token only the browser's HttpOnly cookie holds, so a
    page on another site can neither read nor compute it."""
    digest = hashlib.sha256(b"aim-csrf|" + session.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_ok(session: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(csrf_token(session), str(submitted))


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def new_form_secret() -> str:
    return secrets.token_urlsafe(24)


def session_cookie(name: str, value: str, secure: bool, max_age: int | None = None) -> Cookie:
    return Cookie(
        name=name, value=value, path="/", secure=secure, http_only=True, same_site=SameSite.STRICT_MODE, max_age=max_age
    )


def expired_cookie(name: str, secure: bool) -> Cookie:
    return session_cookie(name, "", secure, max_age=0)


def page_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        ),
        **COMMON_HEADERS,
    }


COMMON_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
