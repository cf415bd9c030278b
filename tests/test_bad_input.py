"""The bad-input corpus: one file per case under tests/data/bad/.

Each YAML case states its expectation in its first line, ``# expect: ErrorClass regex``;
other files have a sidecar ``<name>.expect`` with the same line. Adding a case is
adding a file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import journeygraph as jg
from journeygraph.cli import main

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(p for p in BAD.iterdir() if p.suffix != ".expect")


def _expectation(path: Path) -> tuple[type[Exception], str]:
    sidecar = path.with_name(path.name + ".expect")
    if sidecar.exists():
        line = sidecar.read_text().strip()
    else:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# expect: "), f"{path.name} needs an '# expect:' first line"
        line = first.removeprefix("# expect: ")
    name, _, pattern = line.partition(" ")
    return getattr(jg, name), pattern


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_bad_map_raises_one_clear_error(path: Path) -> None:
    error, pattern = _expectation(path)
    with pytest.raises(jg.MapError) as info:
        jg.load(path)
    assert type(info.value) is error
    message = str(info.value)
    assert str(path) in message, "the message names the file"
    assert re.search(pattern, message), message
    assert "Traceback" not in message and "pydantic" not in message.lower()


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_cli_validate_reports_bad_map_without_traceback(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("journeygraph: error: ")
    assert "Traceback" not in err


def test_corpus_covers_every_case() -> None:
    assert len(CASES) >= 40
