"""Access tokens from the deployment's OpenID Connect issuer, verified on every request.

The signature is checked against the issuer's published keys (JWKS, cached), and the issuer,
expiry and audience (``aud``, or Cognito's ``client_id`` in access tokens) must match. The user
name and groups come from configurable claims, so an estate's own sign-in service can be used
in place of a Cognito user pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from aim.domain.access import Principal

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384"]
LEEWAY_SECONDS = 30


class InvalidTokenError(Exception):
    """Missing, malformed, expired, wrongly signed or for someone else: answered 401."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    audience: str
    jwks_url: str = ""  # default: {issuer}/.well-known/jwks.json
    audience_claim: str = "client_id"  # "aud" for most issuers; Cognito access tokens carry "client_id"
    username_claim: str = "username"
    groups_claim: str = "cognito:groups"
    token_use: str = "access"  # checked when the token carries "token_use" (Cognito); "" to skip

    @property
    def keys_url(self) -> str:
        return self.jwks_url or self.issuer.rstrip("/") + "/.well-known/jwks.json"


class TokenVerifier:
    def __init__(self, settings: OidcSettings, jwks_client: jwt.PyJWKClient | None = None) -> None:
        self.settings = settings
        self.jwks = jwks_client or jwt.PyJWKClient(settings.keys_url, cache_keys=True, lifespan=3600, timeout=5)

    def claims(self, token: str) -> dict[str, Any]:
        s = self.settings
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            options: dict[str, Any] = {"require": ["exp", "iss"], "verify_aud": s.audience_claim == "aud"}
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                issuer=s.issuer,
                audience=s.audience if s.audience_claim == "aud" else None,
                leeway=LEEWAY_SECONDS,
                options=options,  # type: ignore[arg-type]
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidTokenError(type(exc).__name__) from exc
        if s.audience_claim != "aud" and claims.get(s.audience_claim) != s.audience:
            raise InvalidTokenError("audience")
        if s.token_use and "token_use" in claims and claims["token_use"] != s.token_use:
            raise InvalidTokenError("token_use")
        return claims

    def principal(self, token: str) -> Principal:
        claims = self.claims(token)
        user = claims.get(self.settings.username_claim) or claims.get("sub")
        if not user:
            raise InvalidTokenError("no user")
        groups = claims.get(self.settings.groups_claim) or []
        if isinstance(groups, str):
            groups = groups.replace(",", " ").split()
        return Principal.from_groups(str(user), [str(g) for g in groups])


__all__ = ["InvalidTokenError", "OidcSettings", "TokenVerifier"]
