"""cdk-nag 3.x (AwsSolutions, Serverless, HIPAA Security, NIST 800-53 r5) finds nothing
unacknowledged, and every acknowledgement says why."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, ServerlessChecks

import infra.app
from tests.infra.support import Synthesized

pytestmark = pytest.mark.xdist_group("infra-synth")

PACKS: list[type[NagPack]] = [AwsSolutionsChecks, ServerlessChecks, HIPAASecurityChecks, NIST80053R5Checks]


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_nag_findings(synthesized: Synthesized, pack: type[NagPack]) -> None:
    report = pack().validate_scope(synthesized.stack)

    findings = [
        f"{violation.rule_name} at {resource.construct_path or resource.resource_logical_id}: {violation.description}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert findings == [], "\n".join(findings)
    assert report.success


def _acknowledgements(synthesized: Synthesized) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for construct in synthesized.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                data: dict[str, Any] = entry.data
                found.setdefault(construct.node.path, {}).update(data)
    return found


def test_every_acknowledgement_has_a_specific_reason(synthesized: Synthesized) -> None:
    acknowledgements = _acknowledgements(synthesized)
    assert acknowledgements, "expected the documented acknowledgements in infra/nag.py"
    for path, rules in acknowledgements.items():
        for rule, reason in rules.items():
            assert len(reason) >= 40, f"{path} {rule}: reason too short to be specific: {reason!r}"


def test_acknowledgements_name_single_findings_not_whole_rules_for_iam5(synthesized: Synthesized) -> None:
    """Wildcard-permission findings are acknowledged one resource pattern at a time."""
    for path, rules in _acknowledgements(synthesized).items():
        for rule in rules:
            if "AwsSolutions-IAM5" in rule:
                assert "[" in rule, f"{path}: {rule} acknowledges every IAM5 finding at once"


def test_synth_registers_the_nag_packs_unless_disabled(
    base_context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cdk synth` runs the packs as policy-validation plugins: a finding fails the synth."""
    registered: list[App] = []
    monkeypatch.setattr(infra.app, "register_nag_packs", registered.append)

    app, _ = infra.app.create_app({**base_context, "nag": True})
    infra.app.create_app({**base_context, "nag": "false"})

    assert registered == [app]
