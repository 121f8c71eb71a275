"""S3 behind the ``ObjectStore`` port."""

from __future__ import annotations

import json
from typing import Any

from aim.adapters.aws import client as aws_client


class S3ObjectStore:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("s3")
        return self._client

    def get_bytes(self, key: str) -> bytes:
        response = self.client.get_object(Bucket=self.bucket, Key=key)
        body: bytes = response["Body"].read()
        return body

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(document, indent=1, default=str).encode("utf-8"),
            ContentType="application/json",
        )

    def copy(self, source_key: str, target_key: str) -> None:
        self.client.copy_object(
            Bucket=self.bucket, Key=target_key, CopySource={"Bucket": self.bucket, "Key": source_key}
        )
