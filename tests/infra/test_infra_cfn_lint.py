"""cfn-lint (the CloudFormation resource specification and rules) finds no error."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import lint

from tests.infra.support import Synthesized

pytestmark = pytest.mark.xdist_group("infra-synth")


def test_template_has_no_cfn_lint_errors(synthesized: Synthesized) -> None:
    template = json.dumps(synthesized.template.to_json())

    matches = lint(template, regions=["eu-west-2", "us-east-1"])

    errors = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches if m.rule.id.startswith("E")]
    assert errors == [], "\n".join(errors)
