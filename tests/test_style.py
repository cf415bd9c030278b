"""Code style and types are part of the build: ruff and strict mypy on the package."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


def _tool(name: str) -> list[str]:
    if shutil.which(name, path=str(ROOT / ".venv" / "bin")) is None and not _has_module(name):
        pytest.skip(f"{name} is not installed (it comes with the 'dev' extra)")
    return [sys.executable, "-m", name]


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.mark.parametrize(
    "args",
    [
        ["check", "journeygraph", "tests", "examples", "docs/hooks"],
        ["format", "--check", "journeygraph", "tests", "examples", "docs/hooks"],
    ],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff(args: list[str]) -> None:
    result = subprocess.run([*_tool("ruff"), *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = subprocess.run(
        [*_tool("mypy"), "--no-error-summary"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
