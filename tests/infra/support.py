"""Helpers shared by the infrastructure tests (imported as tests.infra.support)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aim.config import AimConfig
from aws_cdk import App
from aws_cdk.assertions import Template

from infra import constants as c
from infra.stack import AimStack

ALERT_EMAILS = ["safer-custody.lei@example.org", "duty-governor@example.org"]
# One address on both lists: it gets one subscription with what both lists get.
GOVERNOR_EMAILS = ["governor.lei@example.org", "duty-governor@example.org"]
OPERATOR_EMAIL = "aim-ops@example.org"
ESTABLISHMENTS = ["LEI", "MDI", "BWI"]


@dataclass(frozen=True)
class Synthesized:
    app: App
    stack: AimStack
    config: AimConfig
    template: Template
    resources: dict[str, dict[str, Any]]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def logical_id(self, construct: Any) -> str:
        """Logical id of an L2 construct's (or L1's) CloudFormation resource."""
        cfn = getattr(construct, "node", construct).default_child or construct
        return str(self.stack.resolve(self.stack.get_logical_id(cfn)))


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((c.REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def asset_context(tmp: Path) -> dict[str, str]:
    """The real .build assets if built, else placeholders."""
    code, layer = c.REPO_ROOT / c.CODE_ASSET_DIR, c.REPO_ROOT / c.LAYER_ASSET_DIR
    context: dict[str, str] = {}
    if not (code / "functions").is_dir() or not (code / "aim").is_dir():
        code = tmp / "code"
        (code / "functions").mkdir(parents=True, exist_ok=True)
        (code / "functions" / "__init__.py").write_text("# placeholder: run `make build`\n")
        context[c.CONTEXT_CODE_ASSET] = str(code)
    if not (layer / "python").is_dir():
        layer = tmp / "layer"
        (layer / "python").mkdir(parents=True, exist_ok=True)
        (layer / "python" / "README").write_text("placeholder: run `make build`\n")
        context[c.CONTEXT_LAYER_ASSET] = str(layer)
    return context


def write_config(path: Path, **overrides: Any) -> Path:
    base = json.loads((c.REPO_ROOT / c.DEFAULT_CONFIG_PATH).read_text())
    base.update(overrides)
    path.write_text(json.dumps(base))
    return path
