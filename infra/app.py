"""CDK entry point: `cdk synth` / `cdk deploy` run `python -m infra.app` from the repo root.

The AIM config file comes from the context key `config` (default `config/default.json`),
e.g. `cdk deploy -c config=config/prod.json`. It is validated with the same pydantic model
the functions and the CLI use, so a bad threshold fails here, before anything is deployed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aim.config import AimConfig, ConfigError, load_config  # noqa: E402
from aws_cdk import App, Environment, Validations  # noqa: E402

from infra import constants as c  # noqa: E402
from infra.stack import AimStack  # noqa: E402


def resolve_path(value: str | os.PathLike[str]) -> Path:
    """Paths in context are relative to the repo root, wherever the app is started from."""
    path = Path(value)
    return path if path.is_absolute() else c.REPO_ROOT / path


def load_stack_config(path: str | os.PathLike[str]) -> AimConfig:
    """Load and validate the AIM config; ConfigError names the file and the bad field."""
    return load_config(resolve_path(path))


def _emails(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    raise ConfigError(f"context {c.CONTEXT_OPERATOR_EMAILS} must be a list or comma-separated string")


def _flag(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off", "")
    return bool(value)


def register_nag_packs(app: App) -> None:
    """cdk-nag 3.x runs as CDK policy-validation plugins at synth."""
    from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks

    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), ServerlessChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app)
    )


def create_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> tuple[App, AimStack]:
    """Build the app and the stack. `context` overrides cdk.json context (tests use this)."""
    app = App(context=dict(context) if context else None, outdir=outdir)
    config_path = app.node.try_get_context(c.CONTEXT_CONFIG) or c.DEFAULT_CONFIG_PATH
    config = load_stack_config(config_path)
    sms_usd = app.node.try_get_context(c.CONTEXT_SMS_SPEND_ALARM_USD)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    stack = AimStack(
        app,
        c.STACK_ID,
        config=config,
        code_asset_dir=resolve_path(app.node.try_get_context(c.CONTEXT_CODE_ASSET) or c.CODE_ASSET_DIR),
        layer_asset_dir=resolve_path(app.node.try_get_context(c.CONTEXT_LAYER_ASSET) or c.LAYER_ASSET_DIR),
        operator_emails=_emails(app.node.try_get_context(c.CONTEXT_OPERATOR_EMAILS)),
        sms_spend_alarm_usd=float(sms_usd) if sms_usd is not None else c.DEFAULT_SMS_SPEND_ALARM_USD,
        env=Environment(account=account, region=region) if account or region else None,
    )
    if _flag(app.node.try_get_context(c.CONTEXT_NAG), default=True):
        register_nag_packs(app)
    return app, stack


def main() -> int:
    try:
        app, _ = create_app()
    except ConfigError as exc:
        print(f"AIM synth failed: {exc}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
