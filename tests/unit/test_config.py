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
