"""The documentation site: it builds in strict mode, the API page covers every public
name, and the examples on the API page run."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import journeygraph as jg

from .conftest import ROOT

API_PAGE = ROOT / "docs" / "reference" / "api.md"


def _entries() -> list[str]:
    return re.findall(r"^::: (\S+)$", API_PAGE.read_text(encoding="utf-8"), flags=re.M)


def _resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_public_name_has_a_reference_entry() -> None:
    entries = _entries()
    documented = {path.rpartition(".")[2]: path for path in entries}
    missing = [n for n in jg.__all__ if n != "__version__" and n not in documented]
    assert not missing, f"docs/reference/api.md has no entry for {missing}"
    for name, path in documented.items():
        assert _resolve(path) is getattr(jg, name), f"{path} is not jg.{name}"
    assert len(entries) == len(set(entries))
    # ... and every one is used in an example that test_api_page_examples_run runs.
    text = API_PAGE.read_text(encoding="utf-8")
    examples = "\n".join(x for x in text.splitlines() if x.startswith((">>>", "...")))
    unused = [
        n for n in jg.__all__ if n != "__version__" and not re.search(rf"\bjg\.{n}\b", examples)
    ]
    assert not unused, f"no example on docs/reference/api.md uses {unused}"


def test_api_page_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    text = API_PAGE.read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(text, {}, "api.md", str(API_PAGE), 0)
    assert len(test.examples) > 40
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) on the API page failed (see above)"


def test_cli_reference_is_generated_from_the_parser() -> None:
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        import cli_reference
    finally:
        sys.path.pop(0)
    page = cli_reference.on_page_markdown(
        (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8"), page=None
    )
    assert cli_reference.MARKER not in page
    parser = importlib.import_module("journeygraph.cli")._parser()
    for command in cli_reference._commands(parser):
        assert f"## journeygraph {command}\n" in page


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    api = (tmp_path / "site" / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "credible_intervals" in api and "NotAbsorbingError" in api
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "journeygraph fit" in cli
