"""SNS behind the ``AlertPublisher`` port.

One publish carries both forms: JSON (``aim.alert/1``) for machine subscribers and a short
text with no special-category data for email and SMS (MessageStructure=json).
"""

from __future__ import annotations

import json
from typing import Any

from aim.adapters.aws import client as aws_client


class SnsAlertPublisher:
    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("sns")
        return self._client

    def publish(self, *, machine_json: str, human_text: str, subject: str, attributes: dict[str, str]) -> str:
        message = {
            "default": machine_json,
            "email": human_text,
            "email-json": machine_json,
            "sms": human_text,
        }
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(message),
            MessageStructure="json",
            Subject=subject[:99],
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        return str(response["MessageId"])
