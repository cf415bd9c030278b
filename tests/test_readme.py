"""The README's "A first look" runs as written, after the README's demo set-up.

The Python block and the command lines are read from README.md itself, so they cannot
drift. They run in a fresh folder holding a copy of examples/, one after the other as
a reader would, in a Python that refuses to import what the demo extras do not install
(pandas, PySpark, polars): the demo set-up installs ``.[wasm,files]`` only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

# Packages of the dev extra that the README's demo set-up does not install.
NOT_IN_DEMO = ("pandas", "pyspark", "polars")
BLOCK_IMPORTS = f"""
import importlib.abc, sys
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {NOT_IN_DEMO!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in the demo extras)")
        return None
sys.meta_path.insert(0, _NotInstalled())
"""


def _first_look() -> tuple[str, list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A first look", 1)[1].split("\n## ", 1)[0]
    python = re.findall(r"```python\n(.*?)```", section, re.S)
    shell = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(python) == 1 and len(shell) == 1, "one Python and one shell block"
    lines = shell[0].replace("\\\n", " ").splitlines()
    commands = [re.sub(r"\s+#.*$", "", line).strip() for line in lines]
    return python[0], [c for c in commands if c]


def test_the_demo_setup_installs_the_extras_the_first_look_needs() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = re.findall(r"```sh\n(python3 -m venv .+)\n```", text)[0]
    extras = re.search(r"-e '\.\[([^\]]*)\]'", demo)
    assert extras is not None
    assert {"wasm", "files"} <= set(extras.group(1).split(","))


def test_the_first_look_runs_as_written(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("pyarrow")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    python, commands = _first_look()
    assert any(c.startswith("journeygraph simulate") for c in commands)
    assert 'jg.fit("events.parquet"' in python
    run = subprocess.run(
        [sys.executable, "-c", BLOCK_IMPORTS + python],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "conversion" in run.stdout  # the compare summary is printed
    for command in commands:
        words = command.split()
        assert words[0] == "journeygraph", command
        args: list[str] = []
        for word in words[1:]:
            matches = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob(word))
            args += matches if any(ch in word for ch in "*?[") else [word]
        code = BLOCK_IMPORTS + (
            "from journeygraph.cli import main\nraise SystemExit(main(sys.argv[1:]))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    assert (tmp_path / "fitted.yaml").exists() and (tmp_path / "retail.svg").exists()
