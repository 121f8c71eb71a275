"""From scores to traffic lights, static factors and reasons an officer reads in ten seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from aim.config import AimConfig
from aim.domain.features import CHANNELS
from aim.domain.prisoner import PrisonerState

LIGHTS = ("red", "amber", "green", "insufficient")
MIN_EXPECTED_PER_DAY = 0.5  # below this much routine a day, a fall cannot be told from noise
MIN_THRESHOLD_MULTIPLIER = 0.8  # static factors lower the thresholds by at most a fifth


@dataclass(frozen=True)
class Assessment:
    prisoner_id: str
    light: str
    score: float
    amber_at: float
    red_at: float
    static_factors: list[str]
    reasons: list[dict[str, Any]] = field(default_factory=list)
    judged_day: str | None = None
    red_line: dict[str, Any] | None = None  # the establishment's line before static factors, and how it was set


def static_factors(state: PrisonerState, day: date, config: AimConfig) -> tuple[list[str], float]:
    """The static risk factors that apply on ``day`` and the threshold multiplier they give."""
    weights = config.static_factors
    found: list[tuple[str, float]] = []
    age = state.age_on(day)
    if age is not None and age < 25:
        found.append(("aged 18-24", weights.young_adult))
    history = state.profile.get("self_harm_history")
    if history and history[0] is True:
        found.append(("history of self-harm", weights.self_harm_history))
    acct = state.profile.get("acct_status")
    if acct and acct[0] == "open":
        found.append(("ACCT open", weights.acct_open))
    elif acct and acct[0] == "post_closure":
        found.append(("ACCT recently closed", weights.acct_post_closure))
    in_custody = state.days_in_custody(day)
    if state.reception_day is not None and in_custody is not None and in_custody < weights.early_days_limit:
        found.append((f"early days in custody (day {in_custody + 1})", weights.early_days))
    kind = state.significant_date_near(day, weights.significant_date_window_days)
    if kind is not None:
        found.append((f"significant date near ({kind})", weights.significant_date))
    multiplier = 1.0
    for _, w in found:
        multiplier *= w
    return [name for name, _ in found], max(multiplier, MIN_THRESHOLD_MULTIPLIER)


def reasons(
    observed: list[float], expected: list[float], deviance: list[float], window: int, judged: date, limit: int = 4
) -> list[dict[str, Any]]:
    """The channels that moved, most important first."""
    since = judged - timedelta(days=window - 1)
    order = sorted(range(len(CHANNELS)), key=lambda i: -deviance[i])
    out = []
    for i in order[:limit]:
        if deviance[i] < 0.5:
            break
        channel = CHANNELS[i]
        obs, exp = int(round(observed[i])), expected[i]
        span = "on " + judged.strftime("%a %d %b") if window == 1 else f"in the {window} days since {since:%a %d %b}"
        usual = f"usually about {exp:.0f}" if exp >= 1 else f"usually {exp:.1f}"
        word = "fell" if channel.direction == "drop" else "rose"
        out.append(
            {
                "factor": channel.factor,
                "signal": channel.name,
                "change": word,
                "observed": obs,
                "expected": round(exp, 1),
                "window_days": window,
                "since": since.isoformat(),
                "text": f"{channel.words.capitalize()} {word}: {obs} {span} ({usual})",
            }
        )
    return out


def silence_reasons(stopped: list[int], share: list[float], days: int, judged: date) -> list[dict[str, Any]]:
    """One reason per regular habit that stopped altogether, most regular first."""
    since = judged - timedelta(days=days - 1)
    out = []
    for i in sorted(stopped, key=lambda c: -share[c]):
        channel = CHANNELS[i]
        out.append(
            {
                "factor": channel.factor,
                "signal": channel.name,
                "change": "stopped",
                "observed": 0,
                "expected": round(share[i] * days, 1),
                "window_days": days,
                "since": since.isoformat(),
                "text": f"{channel.words.capitalize()} stopped: none in the {days} days since {since:%a %d %b} "
                f"(usually on {share[i]:.0%} of days)",
            }
        )
    return out


def silence_fires(stopped: int, rising: int, factors: int, factors_with_rise: int) -> bool:
    """Whether a silence makes the light red: ``factors`` regular habits stopped, or
    ``factors_with_rise`` of them with a sign of distress rising over the same days. ``factors: 0``
    switches silence off altogether; ``factors_with_rise: 0`` switches off the second part."""
    if not factors:
        return False
    return stopped >= factors or (factors_with_rise > 0 and rising > 0 and stopped >= factors_with_rise)


def rise_reasons(
    rising: list[int], observed: list[float], usual: list[float], days: int, judged: date
) -> list[dict[str, Any]]:
    """One reason per sign of distress that rose beside a silence, largest rise first (worded as
    ``reasons`` words any rise, over the silence days)."""
    ratio = [observed[c] / max(usual[c], 1e-9) if c in rising else 0.0 for c in range(len(CHANNELS))]
    return reasons(observed, usual, ratio, days, judged, limit=len(rising))
