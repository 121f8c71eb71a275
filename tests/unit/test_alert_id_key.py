"""The score handler's alert id key comes from Secrets Manager, named by ``ALERT_ID_KEY_SECRET_ARN``."""

from __future__ import annotations

import pytest

from functions.score import handler as score


def test_a_missing_secret_arn_fails_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERT_ID_KEY_SECRET_ARN", raising=False)
    with pytest.raises(score.MissingAlertIdKeyError, match="ALERT_ID_KEY_SECRET_ARN"):
        score.alert_id_key()


def test_the_secret_is_read_once_per_execution_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a secret store that counts reads
    reads: list[str] = []

    def get_secret(arn: str) -> str:
        reads.append(arn)
        return "s3cret"

    monkeypatch.setattr(score, "get_secret", get_secret)
    monkeypatch.setenv("ALERT_ID_KEY_SECRET_ARN", "arn:aws:secretsmanager:eu-west-2:1:secret:aim-alert-id-key-test")
    score._secret_bytes.cache_clear()
    # When the key is asked for on every invocation
    keys = {score.alert_id_key() for _ in range(3)}
    score._secret_bytes.cache_clear()
    # Then it is the secret's bytes, read once
    assert keys == {b"s3cret"} and len(reads) == 1
