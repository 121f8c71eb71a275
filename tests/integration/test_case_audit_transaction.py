"""A case saved with its audit entry: both land or neither does, on DynamoDB (moto, one
TransactWriteItems over the CaseTable and the AuditTable) and in memory alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aim.adapters.audit_table import DynamoAuditLog
from aim.adapters.case_table import DynamoCaseRepository
from aim.domain import casework
from aim.domain.audit import AuditEntry, AuditEntryExistsError
from aim.domain.casework import AlertCase
from aim_local.memory import InMemoryAuditLog, InMemoryCaseRepository
from aim_local.stack import REGION, create_table

AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


@dataclass
class Stores:
    cases: Any
    audit: Any
    client: Any = None  # the DynamoDB client, for the store on moto


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stores]:
    if request.param == "memory":
        log = InMemoryAuditLog()
        yield Stores(InMemoryCaseRepository(log), log)
        return
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        create_table(ddb, "case")
        create_table(ddb, "audit")
        log = DynamoAuditLog("audit", 2555, client=ddb)
        yield Stores(DynamoCaseRepository("case", client=ddb, audit_log=log), log, ddb)


def _entry(action: str, user: str = "amy", at: datetime = AT) -> AuditEntry:
    return AuditEntry(at, user, "officer", action, "LEI", "A1234BC", "alert-1", "10.1.2.3")


def _opened() -> AlertCase:
    return AlertCase.opened("alert-1", "LEI", "A1234BC")


def _trail(stores: Stores) -> list[tuple[str, str]]:
    return sorted((e.action, e.user) for e in stores.audit.for_prisoner("LEI", "A1234BC"))


def test_a_change_and_its_audit_entry_are_both_stored(stores: Stores) -> None:
    # Given an open alert nobody has acted on
    taken = casework.acknowledge(_opened(), "amy", AT)
    # When the acknowledgement is saved with its audit entry
    saved = stores.cases.save(taken, _entry("alert.acknowledge"))
    # Then both are stored
    assert saved is True
    assert stores.cases.get("LEI", "alert-1") == taken
    assert _trail(stores) == [("alert.acknowledge", "amy")]


def test_a_version_clash_stores_neither_the_case_nor_its_entry(stores: Stores) -> None:
    # Given amy took the alert
    amy = casework.acknowledge(_opened(), "amy", AT)
    assert stores.cases.save(amy, _entry("alert.acknowledge"))
    # When bob's change, made on the version both read, is saved after hers
    bob = casework.acknowledge(_opened(), "bob", AT + timedelta(seconds=1))
    saved = stores.cases.save(bob, _entry("alert.acknowledge", "bob", AT + timedelta(seconds=1)))
    # Then it is refused, and neither his case nor his entry is stored
    assert saved is False
    assert stores.cases.get("LEI", "alert-1") == amy
    assert _trail(stores) == [("alert.acknowledge", "amy")]


def test_an_audit_entry_that_cannot_be_put_leaves_the_case_as_it_was(stores: Stores) -> None:
    # Given an acknowledged alert, and an entry whose key is recorded already
    taken = casework.acknowledge(_opened(), "amy", AT)
    assert stores.cases.save(taken, _entry("alert.acknowledge"))
    taken_again = _entry("alert.intervention", at=AT + timedelta(minutes=5))
    stores.audit.append(taken_again)
    # When a change is saved with that entry
    helped, _ = casework.record_intervention(taken, _intervention(), "amy", AT + timedelta(minutes=5))
    with pytest.raises(AuditEntryExistsError):
        stores.cases.save(helped, taken_again)
    # Then the case is still the acknowledged one, and the trail holds the entry only once
    assert stores.cases.get("LEI", "alert-1") == taken
    assert _trail(stores) == [("alert.acknowledge", "amy"), ("alert.intervention", "amy")]


def test_a_plain_append_of_an_existing_key_is_refused(stores: Stores) -> None:
    entry = _entry("alert.view")
    stores.audit.append(entry)
    with pytest.raises(AuditEntryExistsError):
        stores.audit.append(entry)
    assert _trail(stores) == [("alert.view", "amy")]


def test_a_case_saved_with_an_entry_needs_the_audit_log(stores: Stores) -> None:
    # Given a case repository built without the audit log
    cases = DynamoCaseRepository("case", client=stores.client) if stores.client else InMemoryCaseRepository()
    # When a change is saved with its audit entry, then it is refused and nothing is stored
    with pytest.raises(ValueError, match="audit_log"):
        cases.save(casework.acknowledge(_opened(), "amy", AT), _entry("alert.acknowledge"))
    assert cases.get("LEI", "alert-1") is None


def test_an_unreachable_audit_table_leaves_the_case_unwritten(stores: Stores) -> None:
    if stores.client is None:
        pytest.skip("an AuditTable only DynamoDB has")
    from botocore.exceptions import ClientError

    # Given the audit log's table does not exist
    cases = DynamoCaseRepository("case", client=stores.client, audit_log=DynamoAuditLog("absent", 2555, stores.client))
    # When an acknowledgement is saved with its entry
    with pytest.raises(ClientError) as raised:
        cases.save(casework.acknowledge(_opened(), "amy", AT), _entry("alert.acknowledge"))
    # Then the request fails and no case is stored
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert cases.get("LEI", "alert-1") is None


def _intervention() -> casework.InterventionInput:
    return casework.InterventionInput.model_validate(
        {"action": "welfare_check", "engaged": True, "outcome": "support_given", "useful": "yes"}
    )


@pytest.mark.parametrize(
    ("error", "reasons", "refused"),
    [
        ("ConditionalCheckFailedException", None, ["ConditionalCheckFailed"]),
        ("TransactionCanceledException", ["ConditionalCheckFailed", "None"], ["ConditionalCheckFailed", None]),
        ("TransactionCanceledException", ["TransactionConflict", "None"], ["TransactionConflict", None]),
        ("TransactionCanceledException", ["None", "ConditionalCheckFailed"], [None, "ConditionalCheckFailed"]),
        ("ResourceNotFoundException", None, []),
    ],
)
def test_refusals_are_read_per_put_as_dynamodb_reports_them(
    error: str, reasons: list[str] | None, refused: list[str | None]
) -> None:
    from aim.adapters.case_table import refused_puts
    from botocore.exceptions import ClientError

    response: dict[str, Any] = {"Error": {"Code": error, "Message": "refused"}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    assert refused_puts(ClientError(response, "TransactWriteItems")) == refused
