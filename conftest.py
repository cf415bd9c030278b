"""Root conftest: the doctest namespace for docstring examples in journeygraph/.

Docstring examples use ``jg`` and ``jm`` (tests/data/good/tiny_doctest.yaml) and run
from the repository root, so ``examples/...`` paths work.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import journeygraph as jg

ROOT = Path(__file__).parent


@pytest.fixture(autouse=True)
def _doctest_namespace(
    doctest_namespace: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    doctest_namespace["jg"] = jg
    doctest_namespace["jm"] = jg.load(ROOT / "tests" / "data" / "good" / "tiny_doctest.yaml")
    monkeypatch.chdir(ROOT)
