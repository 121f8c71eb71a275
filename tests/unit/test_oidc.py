"""Access-token checks for any OIDC issuer: signature, issuer, audience, expiry, claim names."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from aim.adapters.oidc import InvalidTokenError, OidcSettings, TokenVerifier
from aim.web.security import csrf_ok, csrf_token
from cryptography.hazmat.primitives.asymmetric import rsa

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ISSUER = "https://sign-in.example.gov.uk/realms/prisons"


class Keys:
    """Stands in for the issuer's JWKS endpoint: the public key of KEY."""

    def get_signing_key_from_jwt(self, token: str) -> Any:
        return jwt.PyJWK.from_dict(
            jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True) | {"alg": "RS256"}
        )


ESTATE = OidcSettings(
    issuer=ISSUER,
    audience="aim-board",
    audience_claim="aud",
    username_claim="preferred_username",
    groups_claim="roles",
    token_use="",
)


def token(claims: dict[str, Any], key: Any = KEY) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "aim-board", "exp": now + 300, "iat": now, "preferred_username": "amy", **claims}
    return jwt.encode(body, key, algorithm="RS256")


def test_an_estate_issuer_with_its_own_claim_names() -> None:
    who = TokenVerifier(ESTATE, Keys()).principal(token({"roles": ["LEI-officer", "MDI-governor"]}))  # type: ignore[arg-type]
    assert who.user == "amy" and who.roles == {"LEI": "officer", "MDI": "governor"}


def test_groups_as_a_space_separated_string() -> None:
    who = TokenVerifier(ESTATE, Keys()).principal(token({"roles": "LEI-admin other"}))  # type: ignore[arg-type]
    assert who.roles == {"LEI": "admin"}


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-else"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600},
    ],
    ids=["audience", "issuer", "expired"],
)
def test_refused_claims(claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidTokenError):
        TokenVerifier(ESTATE, Keys()).principal(token(claims))  # type: ignore[arg-type]


def test_refused_signature_and_algorithm() -> None:
    verifier = TokenVerifier(ESTATE, Keys())  # type: ignore[arg-type]
    with pytest.raises(InvalidTokenError):
        verifier.principal(token({}, key=OTHER))
    unsigned = jwt.encode({"iss": ISSUER, "aud": "aim-board", "exp": int(time.time()) + 60}, "", algorithm="none")
    with pytest.raises(InvalidTokenError):
        verifier.principal(unsigned)


def test_cognito_access_token_checks_client_id_and_token_use() -> None:
    cognito = OidcSettings(issuer=ISSUER, audience="client-1")
    verifier = TokenVerifier(cognito, Keys())  # type: ignore[arg-type]
    base = {"client_id": "client-1", "token_use": "access", "username": "ben", "cognito:groups": ["LEI-officer"]}
    assert verifier.principal(token(base)).user == "ben"
    with pytest.raises(InvalidTokenError):
        verifier.principal(token({**base, "token_use": "id"}))
    with pytest.raises(InvalidTokenError):
        verifier.principal(token({**base, "client_id": "client-2"}))


def test_csrf_token_is_bound_to_the_session() -> None:
    assert csrf_ok("session-a", csrf_token("session-a"))
    assert not csrf_ok("session-b", csrf_token("session-a"))
    assert not csrf_ok("session-a", None) and not csrf_ok("session-a", "")
