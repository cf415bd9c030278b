"""The one output-writing path (journeygraph/_files.py), through the API and the CLI.

Issue #17, outputs: a command never writes over a file it read, whatever ``--format``,
the suffix or ``--force`` say; a folder or a device is refused; ``-o link`` updates the
file the link names; the temporary file is removed on any exit (an error, a full device,
SIGINT, SIGTERM); several outputs are all checked before the first is written. Each
test checks the file system afterwards: the bytes of every input and old output, and
that no ``.*.tmp`` file is left.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import journeygraph as jg
from journeygraph._files import atomic_write, check_targets, note_input, protect_inputs
from journeygraph.cli import main

from .conftest import DATA, ROOT, fit_simulated_log

TINY = DATA / "good" / "tiny.yaml"


def leftovers(folder: Path) -> list[str]:
    """Temporary files atomic_write left behind (``.NAME.XXXX.tmp``)."""
    return sorted(p.name for p in folder.rglob(".*.tmp"))


@pytest.fixture
def map_file(tmp_path: Path) -> Path:
    path = tmp_path / "map.yaml"
    path.write_bytes(TINY.read_bytes())
    return path


# -- own input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("map.yaml", ["--format", "svg"]),
        ("map.yaml", ["--format", "dot"]),
        ("map.yaml", ["--view", "canvas", "--format", "svg"]),
        ("map.json", ["--format", "svg"]),
        ("map.json", ["--view", "canvas", "--format", "svg"]),
    ],
)
def test_render_never_writes_over_its_map(
    tmp_path: Path, name: str, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    jg.save(jg.load(TINY), path)
    before = path.read_bytes()
    assert main(["render", str(path), *options, "-o", str(path)]) == 1
    err = capsys.readouterr().err
    assert "is an input of the command; refusing to write over it" in err
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("how", ["symlink", "hardlink", "dotdot"])
def test_render_sees_its_map_through_links_and_dotdot(
    map_file: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = map_file.parent
    if how == "symlink":
        other = folder / "link.svg"
        other.symlink_to(map_file)
    elif how == "hardlink":
        other = folder / "hard.svg"
        os.link(map_file, other)
    else:
        (folder / "sub").mkdir()
        other = folder / "sub" / ".." / "map.yaml"
    before = map_file.read_bytes()
    assert main(["render", str(map_file), "--format", "svg", "-o", str(other)]) == 1
    assert f"(the same file as {map_file})" in capsys.readouterr().err
    assert map_file.read_bytes() == before
    assert leftovers(folder) == []


def test_compare_and_simulate_never_write_over_their_maps(
    map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = map_file.read_bytes()
    other = map_file.parent / "future.yaml"
    other.write_bytes(before)
    assert main(["compare", str(map_file), str(other), "-o", str(other)]) == 1
    assert main(["simulate", str(map_file), "-n", "5", "-o", str(map_file)]) == 1
    err = capsys.readouterr().err
    assert err.count("is an input of the command") == 2
    assert map_file.read_bytes() == before and other.read_bytes() == before


@pytest.fixture
def sim_log(tmp_path: Path) -> Path:
    log = tmp_path / "log.csv"
    jg.simulate(jg.load(TINY), 40, seed=1).write(log)
    return log


@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
def test_fit_force_never_replaces_the_template_it_read(
    map_file: Path, sim_log: Path, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if engine == "duckdb":
        pytest.importorskip("duckdb")
    before = map_file.read_bytes()
    args = [*fit_simulated_log(sim_log, map_file, map_file), "--engine", engine]
    # the --outcomes map, then the --stages template, each as the output, with --force
    assert main([*args, "--force"]) == 1
    assert main([*args, "--stages", str(map_file), "--force"]) == 1
    err = capsys.readouterr().err
    assert err.count("is an input of the command") == 2 and "--force" in err
    assert map_file.read_bytes() == before
    assert leftovers(map_file.parent) == []
    # the same command writes a new map, and --force replaces that output
    out = map_file.parent / "fitted.yaml"
    assert main([*fit_simulated_log(sim_log, map_file, out)]) == 0
    assert main([*fit_simulated_log(sim_log, map_file, out), "--stages", str(map_file)]) == 1
    assert "the file exists; pass --force" in capsys.readouterr().err
    assert (
        main([*fit_simulated_log(sim_log, map_file, out), "--stages", str(map_file), "--force"])
        == 0
    )
    assert jg.load(out).stages == jg.load(map_file).stages


def test_every_log_file_of_a_folder_is_protected(tmp_path: Path) -> None:
    """note_input is called for each file the fit reads, not just the argument."""
    logs = tmp_path / "logs"
    logs.mkdir()
    jg.simulate(jg.load(TINY), 200, seed=2).write(logs / "a.csv")  # every outcome occurs
    jg.simulate(jg.load(TINY), 200, seed=3).write(logs / "b.csv")
    with protect_inputs():
        jg.fit(
            logs,
            customer_column="customer_id",
            time_column="step",
            touchpoint_column="touchpoint",
            outcomes=jg.load(TINY),
        )
        for name in ("a.csv", "b.csv"):
            with pytest.raises(jg.JourneyGraphError, match="is an input of the command"):
                atomic_write(logs / name, "x")
        atomic_write(logs / "c.csv", "x")  # not read: fine
    assert (logs / "c.csv").read_text() == "x"
    # outside a command nothing is remembered
    note_input(logs / "a.csv")
    atomic_write(logs / "a.csv", "y")
    assert (logs / "a.csv").read_text() == "y"


# -- folders, devices, symlinks --------------------------------------------------------


def test_a_folder_or_a_device_is_refused(
    map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = map_file.parent / "maps.svg"
    folders = [folder, map_file.parent / "maps.yaml", map_file.parent / "log.csv"]
    for each in folders:
        each.mkdir()
    jm = jg.load(map_file)
    for call in (
        lambda: jg.render(jm, folders[0]),
        lambda: jg.save(jm, folders[1]),
        lambda: jg.simulate(jm, 3, seed=0).write(folders[2]),
        lambda: jg.render(jm, "/dev/null", format="svg"),
    ):
        with pytest.raises(jg.JourneyGraphError, match=r"this is a folder|not a regular file"):
            call()
    assert main(["render", str(map_file), "-o", str(folder)]) == 1
    assert main(["simulate", str(map_file), "-n", "3", "-o", "/dev/null"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"journeygraph: error: {folder}: this is a folder; name a file to write, "
        f"e.g. {folder / 'out.svg'}",
        "journeygraph: error: /dev/null: this is not a regular file (a device, a pipe or "
        "a socket); name a file to write",
    ]
    assert all(list(each.iterdir()) == [] for each in folders)
    assert leftovers(map_file.parent) == []


def test_a_file_in_the_way_of_the_folder_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    with pytest.raises(jg.JourneyGraphError, match=r"out is a file, not a folder"):
        atomic_write(blocker / "map.svg", "x")
    with pytest.raises(jg.JourneyGraphError, match=r"out is a file, not a folder"):
        check_targets([blocker / "a" / "map.svg"], create_folders=True)
    assert blocker.read_text() == "not a folder"


def test_writing_through_a_symlink_updates_the_file_it_names(
    map_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = map_file.parent
    real = folder / "real.svg"
    real.write_text("old")
    real.chmod(0o640)
    link = folder / "link.svg"
    link.symlink_to(real)
    assert main(["render", str(map_file), "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert real.stat().st_mode & 0o777 == 0o640  # the replaced file keeps its mode
    # a link to a file that does not exist yet: the file is created, the link stays
    dangling = folder / "new-link.yaml"
    dangling.symlink_to(folder / "made.yaml")
    jg.save(jg.load(map_file), dangling)
    assert dangling.is_symlink() and jg.load(folder / "made.yaml") == jg.load(map_file)
    assert leftovers(folder) == []
    capsys.readouterr()


def test_two_outputs_that_are_one_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    with pytest.raises(jg.JourneyGraphError, match="the same file as the output"):
        check_targets([tmp_path / "a.yaml", tmp_path / "b.yaml"])


# -- several outputs -------------------------------------------------------------------


@pytest.fixture
def segment_log(tmp_path: Path) -> Path:
    log = tmp_path / "seg.csv"
    log.write_text(
        "customer,time,event,segment\n"
        "1,1,ad,a\n1,2,buy,a\n2,1,ad,b\n2,2,gone,b\n3,1,shop,c\n3,2,buy,c\n"
    )
    return log


def _segment_args(log: Path, output: str, *more: str) -> list[str]:
    return [
        "fit",
        str(log),
        "--customer",
        "customer",
        "--time",
        "time",
        "--touchpoint",
        "event",
        "--outcomes",
        "buy=conversion,gone=churn",
        "--segment",
        "segment",
        "-o",
        output,
        *more,
    ]


def test_segment_targets_are_all_checked_before_the_first_is_written(
    tmp_path: Path, segment_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "b").write_text("a file where segment b needs a folder")
    pattern = str(out / "{segment}" / "map.yaml")
    assert main(_segment_args(segment_log, pattern, "--force")) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"journeygraph: error: {out / 'b' / 'map.yaml'}: {out / 'b'} is a file, not a "
        "folder; choose another output path"
    )
    assert sorted(p.name for p in out.iterdir()) == ["b"]  # segment a was not written
    # a segment's target that is a folder: refused before any write as well
    (out / "b").unlink()
    (out / "c" / "map.yaml").mkdir(parents=True)
    assert main(_segment_args(segment_log, pattern)) == 1
    assert "map.yaml: this is a folder" in capsys.readouterr().err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["c", "c/map.yaml"]
    # once the way is clear, every segment is written
    (out / "c" / "map.yaml").rmdir()
    assert main(_segment_args(segment_log, pattern)) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.yaml")) == [
        "a/map.yaml",
        "b/map.yaml",
        "c/map.yaml",
    ]
    assert leftovers(tmp_path) == []


def test_a_segment_target_that_is_an_input_stops_every_write(
    tmp_path: Path, segment_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    (out / "b").mkdir(parents=True)
    template = out / "b" / "map.yaml"
    jg.save(jg.load(TINY), template)
    before = template.read_bytes()
    pattern = str(out / "{segment}" / "map.yaml")
    args = _segment_args(segment_log, pattern, "--stages", str(template))
    for force in ([], ["--force"]):  # an input is never "pass --force"
        assert main([*args, *force]) == 1
        err = capsys.readouterr().err
        assert "is an input of the command" in err and "pass --force" not in err
    assert template.read_bytes() == before
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["b", "b/map.yaml"]


# -- errors while writing: a full device -----------------------------------------------


def test_a_full_device_is_one_clear_error_and_keeps_the_old_file(
    map_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = map_file.parent / "log.csv"
    target.write_text("old log")
    real_write = os.write
    calls = []

    def full(fd: int, data: bytes) -> int:
        if fd <= 2:
            return real_write(fd, data)
        calls.append(len(data))
        if len(calls) > 1:  # the first chunk fits, the second does not
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    log = jg.simulate(jg.load(map_file), 60_000, seed=0)  # ~1.3 MB of CSV: two chunks
    monkeypatch.setattr(os, "write", full)
    with pytest.raises(jg.JourneyGraphError) as info:
        log.write(target)
    monkeypatch.undo()
    assert str(info.value) == (
        f"{target}: cannot write it: no space left on the device of {target.parent} (or "
        "the disk quota is used up); the old file, if any, is unchanged. Free some space "
        "or write elsewhere"
    )
    assert len(calls) == 2
    assert target.read_text() == "old log" and leftovers(map_file.parent) == []


def test_a_full_tmpfs_is_one_clear_error(map_file: Path, tmp_path: Path) -> None:
    """The same with a real full device: a 64 KiB tmpfs (needs root and mount)."""
    mount = tmp_path / "tiny-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        target = mount / "log.csv"
        target.write_text("old log")
        result = subprocess.run(
            [sys.executable, "-m", "journeygraph", "simulate", str(map_file), "-n", "20000"]
            + ["-o", str(target)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr.startswith(f"journeygraph: error: {target}: cannot write it: no space")
        assert "Traceback" not in result.stderr
        assert target.read_text() == "old log" and leftovers(mount) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# -- signals: the temporary file goes, the old file stays --------------------------------

# The child slows each chunk written (a slow disk), says when the temporary file exists
# and waits for the signal there; everything else is the real command.
_SLOW_WRITER = textwrap.dedent(
    """
    import os, sys, time
    import journeygraph._files as files
    real_write = os.write
    def slow_write(fd, data):
        if fd > 2:
            sys.stderr.write("writing\\n"); sys.stderr.flush()
            time.sleep(0.2)
        return real_write(fd, data)
    os.write = slow_write
    files._CHUNK = 1 << 16
    from journeygraph.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize(
    ("signum", "returncode"), [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)]
)
def test_a_signal_while_writing_removes_the_temporary_file(
    tmp_path: Path, signum: int, returncode: int
) -> None:
    target = tmp_path / "log.csv"
    target.write_text("old log")
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, "simulate", str(TINY), "-n", "300000"]
        + ["--seed", "0", "-o", str(target)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        # As under a terminal: a background test run has SIGINT ignored, which the
        # child would inherit.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert child.stderr is not None
    try:
        assert child.stderr.readline() == "writing\n"
        assert len(leftovers(tmp_path)) == 1  # the temporary file exists now
        child.send_signal(signum)
        _, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == returncode
    assert "Traceback" not in err
    if signum == signal.SIGINT:
        assert err.replace("writing\n", "") == "journeygraph: interrupted\n"
    assert target.read_text() == "old log"
    assert leftovers(tmp_path) == []


def test_signal_handlers_are_restored_after_a_write(tmp_path: Path) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    atomic_write(tmp_path / "x.txt", "x")
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_held_sigint_becomes_keyboard_interrupt_after_cleanup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: Ctrl-C during the write raises KeyboardInterrupt once the file is gone."""
    target = tmp_path / "x.txt"
    target.write_text("old")
    real_write = os.write

    def interrupted(fd: int, data: bytes) -> int:
        if fd > 2:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs; the write goes on
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", interrupted)
    # Python's own Ctrl-C handler, as in an interactive process (a background test run
    # starts with SIGINT ignored, and then a Ctrl-C is rightly ignored too).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic_write(target, "new" * 10)
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.undo()
    assert target.read_text() == "old" and leftovers(tmp_path) == []
