"""The fit progress bar: off when stderr is not a terminal, on when forced, per phase.

Expected output is the bar's documented format (journeygraph/_progress.py): one line
on stderr redrawn with carriage returns, ending at 100 % with a newline.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import journeygraph as jg
from journeygraph import _progress

LOG = pd.DataFrame(
    {
        "c": [1, 1, 1, 2, 2, 3],
        "t": [1, 2, 3, 1, 2, 1],
        "e": ["ad", "shop", "buy", "ad", "shop", "shop"],
    }
)
KW: dict[str, Any] = dict(customer="c", time="t", touchpoint="e", outcomes={"buy": "conversion"})


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("engine", "phases"),
    [("numpy", ["encode", "sort", "count", "maps"]), ("duckdb", ["statistics", "count", "maps"])],
)
def test_forced_bar_shows_every_phase(
    engine: str, phases: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    jm = jg.fit(LOG, engine=engine, progress=True, **KW)
    assert isinstance(jm, jg.JourneyMap)
    err = capsys.readouterr().err
    frames = err.rstrip("\n").split("\r")[1:]
    assert err.endswith("\n") and err.count("\n") == 1
    assert all(f.startswith(f"fit ({engine}) [") for f in frames)
    seen = [p for p in phases if any(f"%  {p}  " in f for f in frames)]
    assert seen == phases
    assert "100%  done" in frames[-1] and "[" + "#" * 24 + "]" in frames[-1]


def test_file_fit_with_numpy_has_a_read_phase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    LOG.to_csv(tmp_path / "log.csv", index=False)
    jg.fit(tmp_path / "log.csv", engine="numpy", progress=True, **KW)
    assert "%  read  " in capsys.readouterr().err


def test_off_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    # pytest's captured stderr is not a TTY: the default (progress=None) draws nothing.
    assert not sys.stderr.isatty()
    jg.fit(LOG, **KW)
    jg.fit(LOG, engine="duckdb", **KW)
    jg.fit(LOG, progress=False, **KW)
    assert capsys.readouterr().err == ""


def test_off_in_a_non_interactive_subprocess(tmp_path: Path) -> None:
    LOG.to_csv(tmp_path / "log.csv", index=False)
    code = (
        "import journeygraph as jg; jg.fit(r'%s', customer='c', time='t', touchpoint='e', "
        "outcomes={'buy': 'conversion'})" % (tmp_path / "log.csv")
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == ""


def test_terminal_default_waits_for_long_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = FakeTTY()
    assert _progress.progress_enabled(None, tty)
    assert not _progress.progress_enabled(None, io.StringIO())
    assert _progress.progress_enabled(True, io.StringIO())
    # A short fit on a terminal stays silent (it finishes before DELAY)...
    monkeypatch.setattr(sys, "stderr", tty)
    jg.fit(LOG, **KW)
    assert tty.getvalue() == ""
    # ...a long one (DELAY 0 here) draws the bar.
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    jg.fit(LOG, **KW)
    assert tty.getvalue().startswith("\rfit (numpy) [") and tty.getvalue().endswith("\n")


def test_poll_detail_and_broken_stream() -> None:
    out = io.StringIO()
    with _progress.Progress(
        "fit", ["a", "b"], progress=True, stream=out, poll=lambda: (0.5, "stage 3: 2/4 tasks")
    ) as bar:
        bar.phase("a")
    assert "25%  a: stage 3: 2/4 tasks" in out.getvalue()

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("closed")

    with _progress.Progress("fit", ["a"], progress=True, stream=Broken()) as bar:
        bar.phase("a")  # a broken stderr turns the bar off, never fails the fit
    assert not bar.enabled
