"""The functions' environment: the alert-id key secret is named by ARN, the config carries no addresses."""

from __future__ import annotations

import json

import pytest
from aim.config import AimConfig
from aim.settings import Settings

ENV = {"ACTIVITY_TABLE": "a", "STATE_TABLE": "s", "INGEST_BUCKET": "b", "ALERT_TOPIC_ARN": "arn:aws:sns:x"}


def test_the_scorer_reads_the_alert_id_key_secret_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ALERT_ID_KEY_SECRET_ARN", "arn:aws:secretsmanager:eu-west-2:1:secret:AlertIdKey")
    assert Settings().alert_id_key_secret_arn == "arn:aws:secretsmanager:eu-west-2:1:secret:AlertIdKey"


def test_the_runtime_config_leaves_out_staff_addresses_and_keeps_the_rest() -> None:
    config = AimConfig(
        establishments=["LEI", "MDI"],
        alert_emails=["duty@example.org"],
        governor_emails=["governor@example.org"],
        schedule_minutes=30,
    )
    text = config.runtime_json()
    assert "alert_emails" not in json.loads(text)
    assert "governor_emails" not in json.loads(text)
    assert "@" not in text
    assert AimConfig.model_validate_json(text) == config.model_copy(update={"alert_emails": [], "governor_emails": []})


def test_with_establishments_applies_the_same_settings_to_the_given_codes() -> None:
    config = AimConfig(establishments=["LEI"], schedule_minutes=30)
    assert config.with_establishments(["XYZ", "ABC", "XYZ"]).establishments == ["ABC", "XYZ"]
    assert config.with_establishments(["XYZ"]).schedule_minutes == 30
    with pytest.raises(ValueError, match="establishments"):
        config.with_establishments(["xyz"])
