"""Print the Lambda layer's requirements: pyproject's runtime dependencies minus those the
Lambda Python runtime already provides (boto3/botocore). Used by `make build`."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "s3transfer"})


def layer_requirements(pyproject: Path) -> list[str]:
    dependencies: list[str] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    name = re.compile(r"^\s*([A-Za-z0-9_.-]+)")
    kept = []
    for requirement in dependencies:
        match = name.match(requirement)
        if match and match.group(1).lower().replace("_", "-") not in PROVIDED_BY_RUNTIME:
            kept.append(requirement)
    return kept


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    sys.stdout.write("\n".join(layer_requirements(root / "pyproject.toml")) + "\n")
