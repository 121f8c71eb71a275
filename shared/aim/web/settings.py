"""Environment of the staff API function, parsed once at cold start: a missing variable fails by name."""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from aim.adapters.oidc import OidcSettings


class StaffSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    state_table: str = Field(min_length=1)
    case_table: str = Field(min_length=1)
    audit_table: str = Field(min_length=1)
    aim_config: str = Field(default="{}", description="the validated AIM config as JSON")
    audit_retention_days: int = Field(default=2555, ge=30, le=3650)  # seven years unless configured

    oidc_issuer: str = Field(min_length=1)
    oidc_audience: str = Field(min_length=1)
    oidc_jwks_url: str = ""
    oidc_audience_claim: str = "client_id"
    oidc_username_claim: str = "username"
    oidc_groups_claim: str = "cognito:groups"
    oidc_token_use: str = "access"
    # The board page's sign-in form exchanges a password at this Cognito app client ("" hides the form).
    sign_in_client_id: str = ""
    # Only the local server on 127.0.0.1 sets this false; browsers keep Secure cookies on HTTPS alone.
    cookie_secure: bool = True

    @property
    def oidc(self) -> OidcSettings:
        return OidcSettings(
            issuer=self.oidc_issuer,
            audience=self.oidc_audience,
            jwks_url=self.oidc_jwks_url,
            audience_claim=self.oidc_audience_claim,
            username_claim=self.oidc_username_claim,
            groups_claim=self.oidc_groups_claim,
            token_use=self.oidc_token_use,
        )


@cache
def get_staff_settings() -> StaffSettings:
    return StaffSettings()  # type: ignore[call-arg]
