"""AIM configuration: one validated file for deploy, demo and replay.

The same JSON file is read by the CDK app at synth (a bad threshold fails before
deploy), by the Lambda functions (passed in the ``AIM_CONFIG`` environment variable)
and by ``aim demo`` / ``aim replay --config``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

EST_CODE = r"^[A-Z]{3}$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

FACTORS: tuple[str, ...] = (
    "visits",
    "phone",
    "purposeful",
    "selfcare",
    "requests",
    "engagement",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Score cut-offs for the traffic light. A score is roughly 'how many typical
    deviations the routine has fallen'; static factors lower the cut-offs."""

    amber: Annotated[float, Field(gt=0)] = 4.0
    red: Annotated[float, Field(gt=0)] = 6.0

    @model_validator(mode="after")
    def _amber_below_red(self) -> Thresholds:
        if self.amber >= self.red:
            raise ValueError(f"thresholds.amber ({self.amber}) must be below thresholds.red ({self.red})")
        return self


class StaticFactorWeights(_Strict):
    """How much each static factor lowers the thresholds (multiplier on both cut-offs;
    1.0 = no effect). They never make anyone red on their own: a routine change is needed."""

    self_harm_history: Annotated[float, Field(gt=0, le=1)] = 0.8
    acct_open: Annotated[float, Field(gt=0, le=1)] = 0.7
    acct_post_closure: Annotated[float, Field(gt=0, le=1)] = 0.85
    early_days: Annotated[float, Field(gt=0, le=1)] = 0.8
    young_adult: Annotated[float, Field(gt=0, le=1)] = 0.9
    significant_date: Annotated[float, Field(gt=0, le=1)] = 0.85
    early_days_limit: Annotated[int, Field(ge=1, le=365)] = 30
    significant_date_window_days: Annotated[int, Field(ge=0, le=60)] = 7


class Silence(_Strict):
    """Several regular habits stopped altogether: red on its own, whatever the score.

    A habit is regular when the person did it on at least ``regular_share`` of their valid days in
    the four weeks before; it has stopped when it did not happen on any of the last ``days`` judged
    days, all of them valid evidence (no outage, lockdown, wing-wide fall or cancellation).
    ``factors`` such habits stopping together make the light red. ``factors: 0`` switches it off.
    ``factors_with_rise`` such habits are enough when, over the same days, a sign of distress rose
    well above the person's usual (refusals, complaints or healthcare requests, visits they cancelled,
    late-night kiosk use). ``factors_with_rise: 0`` switches that part off."""

    factors: Annotated[int, Field(ge=0, le=6)] = 3
    factors_with_rise: Annotated[int, Field(ge=0, le=6)] = 2
    days: Annotated[int, Field(ge=1, le=7)] = 2
    regular_share: Annotated[float, Field(gt=0, le=1)] = 0.6

    @model_validator(mode="after")
    def _rise_needs_fewer(self) -> Silence:
        if self.factors_with_rise and self.factors and self.factors_with_rise > self.factors:
            raise ValueError(
                f"silence.factors_with_rise ({self.factors_with_rise}) must not exceed silence.factors ({self.factors})"
            )
        return self


class Retention(_Strict):
    raw_upload_days: Annotated[int, Field(ge=1, le=3650)] = 30
    activity_days: Annotated[int, Field(ge=30, le=3650)] = 180


class Escalation(_Strict):
    """A red nobody has acknowledged is published again as an escalation: first after
    ``first_minutes``, then every ``repeat_minutes``, at most ``max_steps`` times (0: never)."""

    first_minutes: Annotated[int, Field(ge=5, le=24 * 60)] = 30
    repeat_minutes: Annotated[int, Field(ge=5, le=7 * 24 * 60)] = 120
    max_steps: Annotated[int, Field(ge=0, le=50)] = 12


class Digest(_Strict):
    """The weekly digest to the governors: sent per establishment on ``weekday`` at ``hour``
    o'clock local time (the configuration's ``timezone``), covering the seven days before."""

    weekday: Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"] = "MON"
    hour: Annotated[int, Field(ge=0, le=23)] = 8


class SignIn(_Strict):
    """The staff board's OpenID Connect issuer, when it is not the stack's own Cognito user pool
    (the estate's sign-in service, for example). Claim names say where the token carries the user,
    their groups (``{EST}-{role}``) and the audience."""

    issuer: Annotated[str, Field(pattern=r"^https://\S+$")]
    audience: Annotated[str, Field(min_length=1)]
    jwks_url: Annotated[str, Field(pattern=r"^(https://\S+)?$")] = ""
    audience_claim: Annotated[str, Field(min_length=1)] = "aud"
    username_claim: Annotated[str, Field(min_length=1)] = "preferred_username"
    groups_claim: Annotated[str, Field(min_length=1)] = "groups"
    token_use: str = ""


class AimConfig(_Strict):
    """The whole configuration. Every field has a safe default."""

    establishments: list[Annotated[str, Field(pattern=EST_CODE)]] = Field(default_factory=lambda: ["LEI"])
    timezone: str = "Europe/London"
    schedule_minutes: Annotated[int, Field(ge=5, le=1440)] = 60
    thresholds: Thresholds = Thresholds()
    establishment_thresholds: dict[Annotated[str, Field(pattern=EST_CODE)], Thresholds] = Field(default_factory=dict)
    # Reds per 1,000 prisoner-days the safety team can act on: once an establishment has
    # red_capacity_min_days judged days, its red line is set where its own recent judged days would
    # have raised reds at that rate, a red counted once per episode as alerts behave
    # (domain/calibration.py; bounded by half and twice the configured red, and the thresholds above
    # serve until then; static factors still lower it per person). null: the configured thresholds only.
    red_capacity_per_1000: Annotated[float, Field(gt=0, le=100)] | None = 2.0
    establishment_red_capacity: dict[
        Annotated[str, Field(pattern=EST_CODE)], Annotated[float, Field(gt=0, le=100)] | None
    ] = Field(default_factory=dict)
    # Judged days needed before the line is calibrated, and how many are kept.
    red_capacity_min_days: Annotated[int, Field(ge=1, le=120)] = 14
    red_capacity_history_days: Annotated[int, Field(ge=7, le=120)] = 28
    factor_weights: dict[str, Annotated[float, Field(ge=0, le=10)]] = Field(
        default_factory=lambda: dict.fromkeys(FACTORS, 1.0)
    )
    static_factors: StaticFactorWeights = StaticFactorWeights()
    silence: Silence = Silence()
    quiet_period_hours: Annotated[int, Field(ge=0, le=24 * 60)] = 336
    # Page again for a red that persists past the quiet period (off: persistent reds stay on the board).
    remind_while_red: bool = False
    late_data_hours: Annotated[int, Field(ge=0, le=72)] = 6
    # Also judge the days still open (today), in proportion to what each kiosk group has sent so far.
    # Off by default: measured no earlier detection on the evaluation scenario, and each hourly run then
    # re-reads and re-scores (docs/model.md section 2).
    judge_open_days: bool = False
    baseline_days: Annotated[int, Field(ge=14, le=120)] = 42
    # Baseline days someone already in custody needs before being judged (new arrivals: peer baseline).
    min_active_days: Annotated[int, Field(ge=1, le=60)] = 14
    # Duty officers: alerts and escalations. Governors: escalations and the weekly digest.
    alert_emails: list[str] = Field(default_factory=list)
    governor_emails: list[str] = Field(default_factory=list)
    retention: Retention = Retention()
    escalation: Escalation = Escalation()
    digest: Digest = Digest()
    sign_in: SignIn | None = None  # None: the stack's own Cognito user pool

    @field_validator("factor_weights")
    @classmethod
    def _known_factors(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(FACTORS))
        if unknown:
            raise ValueError(f"factor_weights has unknown factors {unknown}; known: {list(FACTORS)}")
        return {**dict.fromkeys(FACTORS, 1.0), **value}

    @field_validator("alert_emails", "governor_emails")
    @classmethod
    def _emails(cls, value: list[str], info: ValidationInfo) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"{info.field_name} has invalid addresses: {bad}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)  # raises a clear error for an unknown zone
        return value

    def thresholds_for(self, establishment: str) -> Thresholds:
        return self.establishment_thresholds.get(establishment, self.thresholds)

    @model_validator(mode="after")
    def _history_holds_min_days(self) -> AimConfig:
        if self.red_capacity_min_days > self.red_capacity_history_days:
            raise ValueError(
                f"red_capacity_min_days ({self.red_capacity_min_days}) must not exceed "
                f"red_capacity_history_days ({self.red_capacity_history_days})"
            )
        return self

    def red_capacity_for(self, establishment: str) -> float | None:
        return self.establishment_red_capacity.get(establishment, self.red_capacity_per_1000)

    def to_json(self) -> str:
        return self.model_dump_json()

    def runtime_json(self) -> str:
        """The configuration the functions need, without the staff addresses (``alert_emails`` and
        ``governor_emails`` are read at deploy to subscribe them to the alert topic; no function
        needs them)."""
        return self.model_dump_json(exclude={"alert_emails", "governor_emails"})

    def with_establishments(self, codes: Iterable[str]) -> AimConfig:
        """The same settings applied to exactly these establishments (validated)."""
        data = self.model_dump()
        data["establishments"] = sorted(set(codes))
        return AimConfig.model_validate(data)


class ConfigError(ValueError):
    """The configuration file is missing or invalid; the message names the field."""


def load_config(path: str | Path | None = None, text: str | None = None) -> AimConfig:
    """Load and validate a config from a file path or JSON text; defaults when neither."""
    try:
        if text is not None:
            return AimConfig.model_validate_json(text)
        if path is None:
            return AimConfig()
        raw = Path(path).read_text(encoding="utf-8")
        return AimConfig.model_validate(json.loads(raw))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"invalid AIM config ({path or 'inline'}): {describe_config_error(exc)}") from exc
    except ValueError as exc:
        raise ConfigError(f"invalid AIM config ({path or 'inline'}): {exc}") from exc


def describe_config_error(exc: ValidationError) -> str:
    """Every problem on one line, each naming its field: ``establishments.0: String should match ...``."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "config"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
