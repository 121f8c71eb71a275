"""A bad AIM config fails synth, before anything is deployed, naming the field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aim.config import ConfigError

from infra import constants as c
from infra.app import create_app
from tests.infra.support import write_config

pytestmark = pytest.mark.xdist_group("infra-synth")


def test_amber_not_below_red_fails_synth_naming_the_thresholds(tmp_path: Path, base_context: dict[str, Any]) -> None:
    bad = write_config(tmp_path / "bad.json", thresholds={"amber": 6.0, "red": 6.0})

    with pytest.raises(ConfigError, match=r"thresholds\.amber \(6\.0\) must be below thresholds\.red"):
        create_app({**base_context, c.CONTEXT_CONFIG: str(bad)})


def test_unknown_establishment_code_fails_synth(tmp_path: Path, base_context: dict[str, Any]) -> None:
    bad = write_config(tmp_path / "bad.json", establishments=["LEI", "leeds"])

    with pytest.raises(ConfigError, match="establishments"):
        create_app({**base_context, c.CONTEXT_CONFIG: str(bad)})


def test_missing_config_file_fails_synth_naming_the_path(tmp_path: Path, base_context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="not found"):
        create_app({**base_context, c.CONTEXT_CONFIG: str(tmp_path / "absent.json")})


def test_cdk_app_exits_non_zero_with_a_readable_message(tmp_path: Path, base_context: dict[str, Any]) -> None:
    """What `cdk synth -c config=bad.json` shows: one line naming the field, no traceback."""
    bad = write_config(tmp_path / "bad.json", thresholds={"amber": 7.0, "red": 6.0})
    context = {**base_context, c.CONTEXT_CONFIG: str(bad)}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")}

    result = subprocess.run(
        [sys.executable, "-m", "infra.app"],
        cwd=c.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "AIM synth failed" in result.stderr
    assert "thresholds.amber (7.0) must be below thresholds.red (6.0)" in result.stderr
    assert "Traceback" not in result.stderr
