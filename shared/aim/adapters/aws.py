"""boto3 clients, created lazily so nothing is built at import time (and moto can patch)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=20)


@cache
def client(service: str, region: str | None = None) -> Any:
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-2"
    return boto3.client(service, region_name=region, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (the local stack calls this when it starts or stops moto)."""
    client.cache_clear()
