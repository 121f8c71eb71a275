"""checkov (CloudFormation) finds no failure outside a documented skip list.

checkov lives in its own virtualenv (`.venv-checkov`, made by `make checkov-venv`, a prerequisite of
`make test`) because it pins an older boto3 than the project. Every skip has its reason here and in
docs/security.md.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.infra.support import Synthesized

pytestmark = pytest.mark.xdist_group("infra-synth")

CHECKOV = Path(__file__).resolve().parents[2] / ".venv-checkov" / "bin" / "checkov"

SKIPS: dict[str, str] = {
    "CKV_AWS_117": "Lambda outside a VPC: the functions call only AWS APIs (S3, SQS, DynamoDB, SNS) over TLS; "
    "a VPC would add NAT/endpoint cost and no data path (also acknowledged in cdk-nag).",
    "CKV_AWS_115": "No reserved concurrency: the SQS event source caps the transform and the scorer runs one "
    "invocation per establishment schedule; reserving concurrency can fail deploys in new accounts.",
    "CKV_AWS_116": "No Lambda DLQ: the transform's failures go to the ingest queue's redrive DLQ, the scorer's to "
    "the scheduler DLQ; CDK's own bucket-notification helper is synchronous (CloudFormation custom resource).",
    "CKV_AWS_173": "Environment variables hold only resource names and the (non-secret) scoring config; no "
    "secrets are ever put in them, so a customer key for them adds nothing.",
    "CKV_AWS_18": "The access-log bucket itself does not log access: logging the log bucket would be circular.",
}


@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov venv missing: run `make checkov-venv`")
def test_template_has_no_checkov_failures_outside_the_skip_list(synthesized: Synthesized, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text(json.dumps(synthesized.template.to_json()))
    result = subprocess.run(
        [
            str(CHECKOV),
            "-f",
            str(template),
            "--framework",
            "cloudformation",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-check",
            ",".join(SKIPS),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [f"{r['check_id']} {r['check_name']} ({r['resource']})" for r in report["results"]["failed_checks"]]
    assert failed == [], "\n".join(failed)
    assert report["summary"]["passed"] > 100  # it really checked the template
