"""One place that creates the Logger, Tracer and Metrics every function uses."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="aim")
tracer = Tracer(service="aim")
metrics = Metrics(namespace="AIM", service="aim")
