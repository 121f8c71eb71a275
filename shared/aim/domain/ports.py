"""The small interfaces the application services need from storage and messaging.

Adapters in ``aim.adapters`` implement them with boto3; tests may use moto behind them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

Key = tuple[str, str]


class ItemStore(Protocol):
    """One DynamoDB table with string keys ``pk`` and ``sk``."""

    def existing(self, keys: Sequence[Key], attributes: Sequence[str] = ("b",)) -> dict[Key, dict[str, Any]]:
        """The items that exist among ``keys`` (strongly consistent), with only ``attributes`` besides the key."""
        ...

    def put_many(self, items: Iterable[dict[str, Any]]) -> int: ...

    def query(self, pk: str, sk_prefix: str | None = None, sk_from: str | None = None) -> list[dict[str, Any]]: ...

    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...

    def get_many(self, keys: Sequence[Key]) -> dict[Key, dict[str, Any]]: ...

    def add_to_set(self, pk: str, sk: str, attribute: str, values: set[str], expires_at: int) -> None:
        """Idempotent, commutative: adding members already present changes nothing."""
        ...

    def put_if_absent(self, item: dict[str, Any]) -> bool: ...

    def put_if(self, item: dict[str, Any], condition: str, values: dict[str, Any]) -> bool: ...

    def delete(self, pk: str, sk: str) -> None: ...


class ObjectStore(Protocol):
    def get_bytes(self, key: str) -> bytes: ...

    def put_json(self, key: str, document: dict[str, Any]) -> None: ...

    def copy(self, source_key: str, target_key: str) -> None: ...


class AlertPublisher(Protocol):
    def publish(self, *, machine_json: str, human_text: str, subject: str, attributes: dict[str, str]) -> str: ...
