"""Ctrl-C anywhere in the command line: exit 130, one line, no traceback (issue #17).

Each case runs the real command in a child process and sends it a real SIGINT at a
known moment: the child says where it is (on stderr) and waits there. ``--debug``
still shows the traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import journeygraph as jg
from journeygraph.cli import main

from .conftest import DATA, ROOT

TINY = str(DATA / "good" / "tiny.yaml")
SCRIPT = Path(sys.executable).parent / "journeygraph"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(argv: list[str], *, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Start ``argv``, wait for its first stderr line, send SIGINT; (exit code, stderr)."""
    child = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        # As a terminal delivers Ctrl-C: a test run started in the background (nohup,
        # `cmd &` in a script, some CI runners) has SIGINT ignored, and a child would
        # inherit that and never see the signal.
        preexec_fn=_default_sigint,
    )
    assert child.stderr is not None
    try:
        ready = child.stderr.readline()
        assert ready == "ready\n", ready + child.stderr.read()
        child.send_signal(signal.SIGINT)
        # A signal that lands in the instant before a C call (a DuckDB query) starts
        # listening for it can be missed on a loaded machine; a user then presses
        # Ctrl-C again, and so does the test, every 10 s for up to 2 minutes.
        for _ in range(12):
            try:
                _, err = child.communicate(timeout=10)
                break
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGINT)
        else:
            raise AssertionError("the command did not stop after 12 interrupts in 2 minutes")
    finally:
        child.kill()
        child.communicate()  # reaps the child and closes its pipes
    return child.returncode, err


# A sitecustomize that holds the import of journeygraph.analysis (in the middle of
# importing the package) until the test interrupts it.
_SLOW_IMPORT = textwrap.dedent(
    """
    import importlib.abc, sys, time

    class _Hold(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "journeygraph.analysis":
                sys.stderr.write("ready\\n")
                sys.stderr.flush()
                time.sleep(60)
            return None

    sys.meta_path.insert(0, _Hold())
    """
)


@pytest.mark.parametrize("debug", [False, True])
def test_ctrl_c_during_start_up_imports(tmp_path: Path, debug: bool) -> None:
    if not SCRIPT.exists():
        pytest.skip(f"the console script is not installed next to {sys.executable}")
    (tmp_path / "sitecustomize.py").write_text(_SLOW_IMPORT)
    args = [str(SCRIPT), "validate", TINY, *(["--debug"] if debug else [])]
    code, err = interrupt(args, env={"PYTHONPATH": str(tmp_path)})
    if debug:
        assert "Traceback (most recent call last)" in err and "KeyboardInterrupt" in err
    else:
        assert (code, err) == (130, "journeygraph: interrupted\n")


# The DuckDB fit runs a query that takes minutes first, after saying it is ready.
_SLOW_QUERY = textwrap.dedent(
    """
    import sys
    import time
    from journeygraph.fit import duckdb_engine as engines
    real_run = engines._run
    def slow_run(con, sql, params=None):
        sys.stderr.write("ready\\n")
        sys.stderr.flush()
        # Between two DuckDB statements of the fit (the signal lands in Python, so it
        # is acted on at once). Inside a statement DuckDB 2.0 looks for Ctrl-C only
        # after about 2 s, so an early one waits for the statement's end
        # (docs/reliability.md): a race a test cannot time on a loaded machine.
        time.sleep(30)
        return real_run(con, sql, params)
    engines._run = slow_run
    from journeygraph.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_ctrl_c_during_a_duckdb_fit(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    log = tmp_path / "log.csv"
    jg.simulate(jg.load(TINY), 30, seed=0).write(log)
    out = tmp_path / "map.yaml"
    args = [sys.executable, "-c", _SLOW_QUERY, "fit", str(log), "--customer", "customer_id"]
    args += ["--time", "step", "--touchpoint", "touchpoint", "--outcomes", TINY]
    args += ["--engine", "duckdb", "-o", str(out)]
    code, err = interrupt(args)
    assert (code, err) == (130, "journeygraph: interrupted\n")
    assert not out.exists()


def test_ctrl_c_in_a_command_and_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(jg, "analyze", stopped)
    assert main(["analyze", TINY]) == 130
    assert capsys.readouterr().err == "journeygraph: interrupted\n"
    with pytest.raises(KeyboardInterrupt):
        main(["analyze", TINY, "--debug"])


def test_an_unexpected_error_prints_no_traceback_unless_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(jg, "analyze", broken)
    assert main(["analyze", TINY]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "journeygraph: internal error: RuntimeError: boom",
        "  this is a bug in journeygraph: rerun with --debug to see the traceback, and report it",
    ]
    with pytest.raises(RuntimeError, match="boom"):
        main(["analyze", TINY, "--debug"])


def test_running_out_of_memory_is_one_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def huge(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(jg, "analyze", huge)
    assert main(["analyze", TINY]) == 1
    assert capsys.readouterr().err.startswith("journeygraph: error: not enough memory")
