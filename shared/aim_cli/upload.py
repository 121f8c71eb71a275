"""A minimal kiosk client: check batch files locally, then put them in the ingest bucket with boto3.

Each file is read as the transform will read it (gzip, UTF-8, header, record count); a file the
transform would quarantine is refused here, with the reason, and not sent. Honours
``AWS_ENDPOINT_URL`` (boto3 does), so it works against a deployed stack or a local moto server.
Keys follow the contract from each file's header; an existing object is never overwritten
(If-None-Match), as the kiosk role requires.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from aim.adapters.aws import client
from aim.domain.batch import QuarantineError, read_batch
from aim.service.ingest import upload_key
from botocore.exceptions import ClientError


class BatchRefusedError(ValueError):
    """A batch file the transform would quarantine; the message says why."""


def checked_key(path: Path, body: bytes, now: datetime | None = None) -> str:
    """The key to upload ``body`` under, once it reads as a valid batch; BatchRefusedError if not."""
    gz = body[:2] == b"\x1f\x8b"
    name = path.name if gz or not path.name.endswith(".gz") else path.name.removesuffix(".gz")
    try:
        verdict = read_batch(name, body, received_at=now or datetime.now(UTC))
    except QuarantineError as exc:
        raise BatchRefusedError(str(exc)) from None
    return upload_key(verdict.header, gz=gz)


def upload_files(files: list[Path], bucket: str) -> int:
    """Upload every file that reads as a valid batch. Returns 1 when any file was refused or failed."""
    checked: list[tuple[Path, bytes, str]] = []
    failures = 0
    for path in files:
        try:
            body = path.read_bytes()
            checked.append((path, body, checked_key(path, body)))
        except OSError as exc:
            print(f"aim upload: {path}: {exc.strerror or exc}", file=sys.stderr)
            failures += 1
        except BatchRefusedError as exc:
            print(f"aim upload: {path}: not sent, it would be quarantined: {exc}", file=sys.stderr)
            failures += 1
    s3 = client("s3") if checked else None
    for path, body, key in checked:
        assert s3 is not None
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
            print(f"uploaded {path} -> s3://{bucket}/{key}")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "PreconditionFailed":
                print(f"already uploaded: s3://{bucket}/{key} (left unchanged)")
            elif code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket"):
                raise  # every other file would fail the same way: one line from the command
            else:
                print(f"aim upload: {path}: {code or exc}", file=sys.stderr)
                failures += 1
    return 1 if failures else 0
