"""The configuration names what is wrong, and its defaults are the documented ones."""

from __future__ import annotations

import json

import pytest
from aim.config import ConfigError, load_config


def test_silence_with_rise_needing_more_habits_than_silence_alone_is_refused_naming_both() -> None:
    text = json.dumps({"silence": {"factors": 2, "factors_with_rise": 3}})
    with pytest.raises(ConfigError, match=r"silence\.factors_with_rise \(3\) must not exceed silence\.factors \(2\)"):
        load_config(text=text)


def test_silence_defaults_and_switches() -> None:
    default = load_config(text="{}")
    assert (default.silence.factors, default.silence.factors_with_rise, default.silence.days) == (3, 2, 2)
    assert load_config(text=json.dumps({"silence": {"factors_with_rise": 0}})).silence.factors_with_rise == 0
    # Silence off altogether: the rise part has nothing to add to, so any value is accepted
    assert load_config(text=json.dumps({"silence": {"factors": 0, "factors_with_rise": 4}})).silence.factors == 0


def test_an_unknown_silence_field_is_named() -> None:
    with pytest.raises(ConfigError, match="factors_with_rises"):
        load_config(text=json.dumps({"silence": {"factors_with_rises": 2}}))


def test_governor_emails_are_validated_like_alert_emails_and_named() -> None:
    config = load_config(text=json.dumps({"governor_emails": ["duty-governor@example.org"]}))
    assert config.governor_emails == ["duty-governor@example.org"]
    with pytest.raises(ConfigError, match=r"governor_emails.*not-an-address"):
        load_config(text=json.dumps({"governor_emails": ["not-an-address"]}))


def test_the_digest_goes_out_on_monday_at_eight_local_time_unless_configured() -> None:
    default = load_config(text="{}")
    assert (default.digest.weekday, default.digest.hour) == ("MON", 8)
    friday = load_config(text=json.dumps({"digest": {"weekday": "FRI", "hour": 16}}))
    assert (friday.digest.weekday, friday.digest.hour) == ("FRI", 16)
    with pytest.raises(ConfigError, match="digest.hour"):
        load_config(text=json.dumps({"digest": {"hour": 24}}))
    with pytest.raises(ConfigError, match="digest.weekday"):
        load_config(text=json.dumps({"digest": {"weekday": "Monday"}}))
