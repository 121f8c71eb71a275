"""`aim upload`: a kiosk client that honours AWS_ENDPOINT_URL, against a moto server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aim.adapters.aws import reset_clients
from aim_cli.main import main
from moto.server import ThreadedMotoServer

EXAMPLE = '{"schema":"aim.kiosk-batch/1","batch_id":"B-1","establishment":"LEI","kiosk_id":"K07",'
EXAMPLE += '"created_at":"2026-11-20T09:15:00+00:00","record_count":0}\n'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    url = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }.items():
        monkeypatch.setenv(key, value)
    reset_clients()
    try:
        yield url
    finally:
        reset_clients()
        moto.stop()


def test_upload_puts_the_batch_under_its_headers_key_and_never_overwrites(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a bucket on the endpoint named by AWS_ENDPOINT_URL and a batch file with any name
    s3 = boto3.client("s3", endpoint_url=server, region_name="eu-west-2")
    s3.create_bucket(Bucket="ingest", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    batch = tmp_path / "whatever.jsonl"
    batch.write_text(EXAMPLE)
    # When the kiosk uploads it twice
    first = main(["upload", str(batch), "--bucket", "ingest"])
    second = main(["upload", str(batch), "--bucket", "ingest"])
    # Then it lands at the contract's key, once, and the second upload leaves it unchanged
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="ingest").get("Contents", [])]
    assert keys == ["incoming/LEI/K07/B-1.jsonl"]
    assert first == 0 and second == 0
    assert "already uploaded" in capsys.readouterr().out


def test_upload_of_a_missing_file_fails_with_its_name(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upload", "/nonexistent/batch.jsonl", "--bucket", "ingest"]) == 1
    assert "/nonexistent/batch.jsonl" in capsys.readouterr().err
