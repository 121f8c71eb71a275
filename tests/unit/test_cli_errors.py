"""`aim` errors: one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import gzip
from pathlib import Path

import boto3
import pytest
from aim.adapters.aws import reset_clients
from aim_cli.main import expected_failure, main
from aim_cli.upload import BatchRefusedError, checked_key
from botocore.exceptions import EndpointConnectionError

HEADER = (
    '{"schema":"aim.kiosk-batch/1","batch_id":"B-1","establishment":"LEI","kiosk_id":"K07",'
    '"created_at":"2026-11-20T09:15:00+00:00","record_count":%d}\n'
)
RECORD = '{"event_id":"K07-1","type":"kiosk_login","prisoner_id":"A1234BC","occurred_at":"2026-11-20T08:29:41+00:00"}\n'


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["demo", "--days", "0"], ["aim demo", "--days", "from 7 to 400"]),
        (["demo", "--wings", "9"], ["--wings", "from 1 to 4"]),
        (["demo", "--prisoners", "many"], ["--prisoners", "not a whole number"]),
        (["evaluate", "--days", "-3"], ["--days", "from 7 to 400"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_a_bad_argument_is_one_line_naming_it(argv: list[str], words: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    line = one_line(capsys.readouterr().err)
    for word in words:
        assert word in line


def test_replay_of_a_missing_directory_is_one_line(tmp_path: Path, capsys) -> None:
    code = main(["replay", str(tmp_path / "absent"), "--alerts-out", str(tmp_path / "a.jsonl")])
    assert code == 2
    assert one_line(capsys.readouterr().err) == f"aim replay: {tmp_path / 'absent'} is not a directory"


def test_replay_with_a_bad_config_names_the_field_in_one_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "aim.json"
    config.write_text('{"establishments": ["lei"], "thresholds": {"amber": 7}}')
    code = main(["replay", str(tmp_path), "--alerts-out", str(tmp_path / "a.jsonl"), "--config", str(config)])
    assert code == 2
    line = one_line(capsys.readouterr().err)
    assert "establishments.0" in line and "thresholds" in line


def test_replay_with_a_missing_config_file_is_one_line(tmp_path: Path, capsys) -> None:
    code = main(["replay", str(tmp_path), "--alerts-out", str(tmp_path / "a.jsonl"), "--config", "/no/such.json"])
    assert code == 2
    assert "config file not found: /no/such.json" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"hello\n", "header (line 1) is not valid JSON"),
        ((HEADER % 2 + RECORD).encode(), "record_count is 2 but 1 record lines follow"),
        (b"\x1f\x8b\x08\x00garbage", "not valid gzip"),
        (b'{"schema":"aim.kiosk-batch/1"}\n', "header (line 1) invalid"),
        (b"\xff\xfe" + (HEADER % 0).encode(), "not valid UTF-8"),
    ],
)
def test_upload_refuses_a_file_the_transform_would_quarantine_and_sends_nothing(
    content: bytes, reason: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a broken batch and no AWS endpoint that could receive it
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    reset_clients()
    path = tmp_path / "batch.jsonl"
    path.write_bytes(content)
    # When the kiosk client is asked to upload it
    code = main(["upload", str(path), "--bucket", "ingest"])
    # Then it is refused locally with the reason (nothing was sent: the endpoint is unreachable)
    assert code == 1
    line = one_line(capsys.readouterr().err)
    assert "not sent" in line and reason in line, line


def test_a_valid_batch_gets_the_key_its_header_names(tmp_path: Path) -> None:
    body = (HEADER % 1 + RECORD).encode()
    assert checked_key(tmp_path / "x.jsonl", body) == "incoming/LEI/K07/B-1.jsonl"
    assert checked_key(tmp_path / "x.jsonl", gzip.compress(body)) == "incoming/LEI/K07/B-1.jsonl.gz"
    with pytest.raises(BatchRefusedError, match="record_count"):
        checked_key(tmp_path / "x.jsonl", (HEADER % 3).encode())


def test_upload_without_aws_credentials_is_one_line(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a valid batch and no credentials anywhere boto3 looks
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a session made by an earlier test keeps its credentials
    reset_clients()
    path = tmp_path / "batch.jsonl"
    path.write_text(HEADER % 1 + RECORD)
    try:
        # When it is uploaded
        code = main(["upload", str(path), "--bucket", "ingest"])
    finally:
        reset_clients()
    # Then the command says what is missing, in one line
    assert code == 2
    assert "no AWS credentials" in one_line(capsys.readouterr().err)


def test_an_unreachable_endpoint_is_reported_not_raised() -> None:
    failure = expected_failure(EndpointConnectionError(endpoint_url="https://s3.eu-west-2.amazonaws.com/ingest"))
    assert failure is not None
    message, code = failure
    assert code == 2 and "Could not connect" in message and "\n" not in message


def test_a_bug_is_not_disguised_as_a_user_error() -> None:
    assert expected_failure(KeyError("x")) is None
