"""Environment of the Lambda functions, parsed once at cold start: a missing variable fails by name."""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from aim.config import AimConfig, load_config


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    activity_table: str = Field(min_length=1)
    state_table: str = Field(min_length=1)
    ingest_bucket: str = Field(min_length=1)
    alert_topic_arn: str = Field(min_length=1)
    aim_config: str = Field(default="{}", description="the validated AIM config as JSON (without alert_emails)")
    alert_id_key_secret_arn: str | None = Field(
        default=None, description="the scorer only: Secrets Manager ARN of the key of the alert-id HMAC"
    )

    @property
    def config(self) -> AimConfig:
        return _parse_config(self.aim_config)


@cache
def _parse_config(text: str) -> AimConfig:
    return load_config(text=text)


@cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]


class EscalationSettings(BaseSettings):
    """The escalation function's environment: alert records, cases and the alert topic only."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    state_table: str = Field(min_length=1)
    case_table: str = Field(min_length=1)
    alert_topic_arn: str = Field(min_length=1)
    aim_config: str = Field(default="{}", description="the validated AIM config as JSON (without alert_emails)")

    @property
    def config(self) -> AimConfig:
        return _parse_config(self.aim_config)


@cache
def get_escalation_settings() -> EscalationSettings:
    return EscalationSettings()  # type: ignore[call-arg]
