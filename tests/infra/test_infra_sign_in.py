"""The staff function verifies tokens from the stack's user pool or from the estate's own issuer."""

from __future__ import annotations

import pytest
from aim.config import AimConfig, ConfigError, load_config

from infra.constructs.staff import _oidc_environment


def test_without_a_sign_in_section_tokens_come_from_the_stacks_user_pool() -> None:
    # Given no sign_in in the configuration
    env = _oidc_environment(AimConfig().sign_in, "https://cognito-idp.example/pool", "client-1")
    # Then the function trusts the user pool and its app client
    assert env == {"OIDC_ISSUER": "https://cognito-idp.example/pool", "OIDC_AUDIENCE": "client-1"}


def test_an_estate_issuer_and_its_claim_names_reach_the_staff_function() -> None:
    # Given the estate's sign-in service in the configuration
    config = AimConfig.model_validate(
        {"sign_in": {"issuer": "https://sign-in.justice.example", "audience": "aim", "groups_claim": "roles"}}
    )
    # When the function's environment is made
    env = _oidc_environment(config.sign_in, "https://cognito-idp.example/pool", "client-1")
    # Then it names that issuer, audience and claims, not the user pool
    assert env["OIDC_ISSUER"] == "https://sign-in.justice.example"
    assert env["OIDC_AUDIENCE"] == "aim"
    assert env["OIDC_GROUPS_CLAIM"] == "roles"
    assert env["OIDC_AUDIENCE_CLAIM"] == "aud"


def test_a_sign_in_issuer_that_is_not_https_fails_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="sign_in.issuer"):
        load_config(text='{"sign_in": {"issuer": "http://plain.example", "audience": "aim"}}')
