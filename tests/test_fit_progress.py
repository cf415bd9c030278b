"""The fit's progress report: a callback, tqdm, or plain lines; silent off a terminal.

Expected phases are each engine's documented phases (journeygraph/fit/sources.py and
docs/fitting.md "Progress"): numpy ``encode, sort, count, maps`` (``read`` first for a
file), DuckDB ``statistics, count, maps``; a callback hears ``done`` of ``total`` phases
of the whole fit, then ``("done", total, total)`` (journeygraph/_progress.py).
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
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
KW: dict[str, Any] = dict(
    customer_column="c", time_column="t", touchpoint_column="e", outcomes={"buy": "conversion"}
)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _calls(source: object, **kw: Any) -> list[tuple[str, float, float | None]]:
    calls: list[tuple[str, float, float | None]] = []

    def progress(phase: str, done: float, total: float | None) -> None:
        # Called on the caller's thread, with no thread of journeygraph's running.
        assert threading.current_thread() is threading.main_thread()
        assert threading.active_count() == baseline
        calls.append((phase, done, total))

    baseline = threading.active_count()
    jm = jg.fit(source, progress=progress, **KW, **kw)
    assert isinstance(jm, jg.JourneyMap)
    return calls


@pytest.mark.parametrize(
    ("engine", "phases"),
    [("numpy", ["encode", "sort", "count", "maps"]), ("duckdb", ["statistics", "count", "maps"])],
)
def test_the_callback_hears_every_phase_in_order(engine: str, phases: list[str]) -> None:
    n = float(len(phases))
    expected = [(p, float(i), n) for i, p in enumerate(phases)] + [("done", n, n)]
    assert _calls(LOG, engine=engine) == expected


def test_a_file_fit_with_numpy_reads_first(tmp_path: Path) -> None:
    LOG.to_csv(tmp_path / "log.csv", index=False)
    phases = ["read", "encode", "sort", "count", "maps", "done"]
    calls = _calls(tmp_path / "log.csv", engine="numpy")
    assert [c[0] for c in calls] == phases
    assert [c[1] for c in calls] == [0, 1, 2, 3, 4, 5] and {c[2] for c in calls} == {5.0}
    # The same file with DuckDB (engine="auto" for files).
    assert [c[0] for c in _calls(tmp_path / "log.csv")] == ["statistics", "count", "maps", "done"]


def test_a_failed_fit_does_not_say_done() -> None:
    calls: list[str] = []
    with pytest.raises(jg.EventLogError, match="'nope' not found"):
        jg.fit(LOG, progress=lambda p, d, t: calls.append(p), **{**KW, "time_column": "nope"})
    assert "done" not in calls


def test_true_without_tqdm_prints_one_line_per_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    # tqdm cannot be imported (an import of a None entry in sys.modules fails).
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert not _progress.tqdm_available()
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    jg.fit(LOG, engine="duckdb", progress=True, **KW)
    lines = err.getvalue().splitlines()
    assert lines[:3] == [
        "fit (duckdb): statistics (phase 1 of 3)",
        "fit (duckdb): count (phase 2 of 3)",
        "fit (duckdb): maps (phase 3 of 3)",
    ]
    assert len(lines) == 4 and lines[3].startswith("fit (duckdb): done in ")
    assert "\r" not in err.getvalue()  # a log keeps it readably


def test_true_with_tqdm_draws_its_bar(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm", reason="tqdm comes with the 'progress' extra (in 'dev')")
    assert _progress.tqdm_available()
    jg.fit(LOG, engine="numpy", progress=True, **KW)
    err = capsys.readouterr().err
    frames = [f for f in err.replace("\n", "\r").split("\r") if f]
    # tqdm's bar: "fit (numpy): <percent>%|<bar>| [<elapsed>, <phase>]", redrawn in place.
    assert all(f.startswith("fit (numpy): ") and "%|" in f for f in frames)
    seen = [p for p in ["encode", "sort", "count", "maps"] if any(f", {p}]" in f for f in frames)]
    assert seen == ["encode", "sort", "count", "maps"]
    assert frames[-1].startswith("fit (numpy): 100%|") and frames[-1].endswith(", done]")
    assert err.endswith("\n")


def test_off_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    # pytest's captured stderr is not a TTY: the default (progress=None) shows nothing.
    assert not sys.stderr.isatty()
    jg.fit(LOG, **KW)
    jg.fit(LOG, engine="duckdb", **KW)
    jg.fit(LOG, progress=False, **KW)
    assert capsys.readouterr().err == ""


def test_off_in_a_non_interactive_subprocess(tmp_path: Path) -> None:
    LOG.to_csv(tmp_path / "log.csv", index=False)
    code = (
        "import journeygraph as jg; jg.fit(r'%s', customer_column='c', time_column='t', "
        "touchpoint_column='e', outcomes={'buy': 'conversion'})" % (tmp_path / "log.csv")
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == ""


def test_terminal_default_waits_for_long_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = FakeTTY()
    assert _progress.progress_enabled(None, tty)
    assert not _progress.progress_enabled(None, io.StringIO())
    assert _progress.progress_enabled(True, io.StringIO())
    assert _progress.progress_enabled(print, io.StringIO())
    # A short fit on a terminal stays silent (it finishes before DELAY)...
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(_progress, "DELAY", 3600.0)
    jg.fit(LOG, **KW)
    assert tty.getvalue() == ""
    # ...a long one (DELAY 0 here) shows the report (tqdm's bar or lines: the same text).
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    jg.fit(LOG, **KW)
    assert tty.getvalue().lstrip("\r").startswith("fit (numpy): ")
    assert "done" in tty.getvalue() and tty.getvalue().endswith("\n")


def test_poll_moves_the_report_within_a_phase() -> None:
    # Spark's stage poll (journeygraph/fit/spark_engine.py) reaches the report through
    # tick(): half the tasks of phase 2 of 2 done is 1.5 of 2 phases.
    calls: list[tuple[str, float, float | None]] = []
    with _progress.Progress(
        "fit",
        ["a", "b"],
        progress=lambda *c: calls.append(c),
        poll=lambda: (0.5, "stage 3: 2/4 tasks"),
    ) as bar:
        bar.tick()  # before any phase: nothing to refine
        bar.phase("a")
        bar.phase("b")
        bar.tick()
    assert calls == [("a", 0.0, 2.0), ("b", 1.0, 2.0), ("b", 1.5, 2.0), ("done", 2.0, 2.0)]
    out = io.StringIO()
    with _progress.Progress(
        "fit",
        ["a"],
        progress=True,
        stream=out,
        poll=lambda: (0.5, "stage 3: 2/4 tasks"),
        tqdm=False,
    ) as bar:
        bar.phase("a")
        bar.tick()
    assert out.getvalue().splitlines()[1] == "fit: a: stage 3: 2/4 tasks"


def test_a_broken_poll_or_stream_never_fails_the_fit() -> None:
    def broken_poll() -> tuple[float, str] | None:
        raise RuntimeError("tracker gone")

    calls: list[str] = []
    with _progress.Progress(
        "fit", ["a"], progress=lambda p, d, t: calls.append(p), poll=broken_poll
    ) as bar:
        bar.phase("a")
        bar.tick()
    assert calls == ["a", "done"]

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("closed")

    with _progress.Progress("fit", ["a"], progress=True, stream=Broken(), tqdm=False) as bar:
        bar.phase("a")  # a broken stderr turns the report off, never fails the fit
    assert not bar.enabled


def test_progress_must_be_a_flag_or_a_callable() -> None:
    with pytest.raises(TypeError, match=r"progress must be True, False, None or a callable"):
        jg.fit(LOG, progress="yes", **KW)  # type: ignore[call-overload]
