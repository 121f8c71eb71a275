"""A minimal kiosk client: put batch files in the ingest bucket with boto3.

Honours ``AWS_ENDPOINT_URL`` (boto3 does), so it works against a deployed stack or a local
moto server. Keys follow the contract from each file's header; an existing object is never
overwritten (If-None-Match), as the kiosk role requires.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aim.adapters.aws import client
from aim_local.replay import _upload_key
from botocore.exceptions import ClientError


def upload_files(files: list[Path], bucket: str) -> int:
    s3 = client("s3")
    failures = 0
    for path in files:
        if not path.is_file():
            print(f"aim upload: {path}: no such file", file=sys.stderr)
            failures += 1
            continue
        body = path.read_bytes()
        key = _upload_key(path, path.parent, body)
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
            print(f"uploaded {path} -> s3://{bucket}/{key}")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "PreconditionFailed":
                print(f"already uploaded: s3://{bucket}/{key} (left unchanged)")
            else:
                print(f"aim upload: {path}: {code or exc}", file=sys.stderr)
                failures += 1
    return 1 if failures else 0
