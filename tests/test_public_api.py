"""The public API: __all__ is sorted and complete; importing stays light."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import journeygraph as jg


def test_all_is_sorted_and_complete() -> None:
    assert list(jg.__all__) == sorted(jg.__all__)
    for name in jg.__all__:
        assert hasattr(jg, name), name


def test_every_module_declares_all() -> None:
    for info in pkgutil.iter_modules(jg.__path__):
        if info.name == "__main__":
            continue
        module = importlib.import_module(f"journeygraph.{info.name}")
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"


def test_import_loads_no_heavy_optional_dependencies() -> None:
    code = (
        "import sys, journeygraph as jg; "
        "jm = jg.load('tests/data/good/tiny.yaml'); "
        "heavy = [m for m in ('pandas', 'duckdb', 'pyspark', 'scipy.sparse', 'polars', 'pyarrow') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_version_matches_package_metadata() -> None:
    from importlib.metadata import version

    assert jg.__version__ == version("journeygraph")
