"""The Lambda code asset holds the runtime package and the handlers, and nothing they do not need."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from infra import constants as c

FORBIDDEN = ("moto", "matplotlib", "aim_lab", "aim_local", "aim_cli")


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The asset as `make code` builds it (into a temporary directory, so the test needs no prior build)."""
    out = tmp_path_factory.mktemp("asset") / "code"
    subprocess.run(["make", "-s", "code", f"CODE_DIR={out}"], cwd=c.REPO_ROOT, check=True, capture_output=True)
    return out


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a file imports, anywhere in it (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def assert_runtime_only(code: Path) -> None:
    assert sorted(p.name for p in code.iterdir()) == ["aim", "functions"]
    sources = sorted(code.rglob("*.py"))
    assert sources, f"no Python files in {code}"
    for path in sources:
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top not in FORBIDDEN, f"{path.relative_to(code)} imports {module}"
            if top == "aim":  # every runtime module it needs is in the asset
                parts = module.split(".")
                assert (code.joinpath(*parts).with_suffix(".py")).is_file() or (
                    code.joinpath(*parts) / "__init__.py"
                ).is_file(), f"{path.relative_to(code)} imports {module}, which is not in the asset"


def test_make_code_copies_only_the_runtime_package_and_the_handlers(asset: Path) -> None:
    assert_runtime_only(asset)
    assert (asset / "aim" / "__init__.py").is_file()
    handlers = sorted(p.parent.name for p in (asset / "functions").glob("*/handler.py"))
    assert handlers == sorted(p.parent.name for p in (c.REPO_ROOT / "functions").glob("*/handler.py"))
    assert not list(asset.rglob("__pycache__"))


def test_the_built_asset_is_the_runtime_package_and_the_handlers() -> None:
    # `make build` (run by `make test`) leaves the asset the stack deploys here.
    built = c.REPO_ROOT / c.CODE_ASSET_DIR
    if not built.is_dir():
        pytest.skip(f"{c.CODE_ASSET_DIR} not built: run `make build`")
    assert_runtime_only(built)


def test_the_import_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from aim_lab.simulate import simulate\n    import moto.core\n")
    assert imported_modules(module) == {"aim_lab.simulate", "moto.core"}
