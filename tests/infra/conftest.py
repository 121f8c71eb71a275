"""Synthesize the AIM stack once per test session (a synth costs ~15-30 s).

Uses the real assets in .build/ when `make build` made them; otherwise tiny placeholder
directories, because synth only hashes and copies the assets, it never imports them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
# `infra` and `tests.infra.support` import from the repo root, however pytest was started.
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import pytest  # noqa: E402
from aim.config import load_config  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from infra import constants as c  # noqa: E402
from infra.app import create_app  # noqa: E402
from tests.infra.support import (  # noqa: E402
    ALERT_EMAILS,
    ESTABLISHMENTS,
    GOVERNOR_EMAILS,
    OPERATOR_EMAIL,
    Synthesized,
    asset_context,
    cdk_json_context,
    write_config,
)


@pytest.fixture(scope="session")
def infra_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def base_context(infra_tmp: Path) -> dict[str, Any]:
    """cdk.json context, assets resolved, cdk-nag off (test_nag runs the packs itself)."""
    return {**cdk_json_context(), **asset_context(infra_tmp), c.CONTEXT_NAG: False}


@pytest.fixture(scope="session")
def synthesized(infra_tmp: Path, base_context: dict[str, Any]) -> Iterator[Synthesized]:
    config_path = write_config(
        infra_tmp / "config.json",
        establishments=ESTABLISHMENTS,
        alert_emails=ALERT_EMAILS,
        governor_emails=GOVERNOR_EMAILS,
    )
    context = {
        **base_context,
        c.CONTEXT_CONFIG: str(config_path),
        c.CONTEXT_OPERATOR_EMAILS: [OPERATOR_EMAIL],
    }
    app, stack = create_app(context, outdir=str(infra_tmp / "cdk.out"))
    template = Template.from_stack(stack)
    yield Synthesized(
        app=app,
        stack=stack,
        config=load_config(config_path),
        template=template,
        resources=template.to_json()["Resources"],
    )
