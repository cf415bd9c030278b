"""The one path every output file is written through.

Every writer of the package (:func:`journeygraph.save`, :func:`journeygraph.render`, the
canvas, :meth:`journeygraph.EventLog.write`) and of the command line ends in
:func:`atomic_write`, which

- checks the target first (:func:`check_targets`): a folder, a device, a pipe or a socket
  is refused; while :func:`protect_inputs` is active (every CLI command runs in it), so is
  any file the command read (:func:`note_input`: maps, templates, event logs), compared by
  the file itself (device and inode), so symlinks, hard links, ``..`` and the case of
  the name on case-insensitive file systems cannot hide it, whatever the suffix says;
- follows a symlink to the file it names and replaces that file (the link stays a link);
- writes a temporary file in the target's folder, ``fsync``s it and moves it over the
  target with one ``os.replace``: the old file stays intact until the new one is
  complete;
- removes the temporary file on any exit: an exception, a full device (one
  :class:`~journeygraph.errors.JourneyGraphError`), SIGINT, SIGTERM and SIGHUP
  (the signal is acted on once the temporary file is gone: Ctrl-C raises
  ``KeyboardInterrupt``, SIGTERM and SIGHUP end the process as they would have).

Several outputs (one map per segment) are checked together with :func:`check_targets`
before the first one is written.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from journeygraph.errors import JourneyGraphError

__all__ = ["atomic_write", "check_targets", "note_input", "protect_inputs"]

PathLike = str | os.PathLike[str]

#: Bytes written per ``os.write`` call; a pending signal is acted on between chunks.
_CHUNK = 1 << 20
#: Signals that, while a temporary file exists, are held until it is removed.
_HELD_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@dataclass(frozen=True, slots=True)
class _Input:
    """A file a command read: its name as given and its identity on disk."""

    name: str
    device: int
    inode: int


_inputs: ContextVar[list[_Input] | None] = ContextVar("journeygraph_inputs", default=None)


@contextmanager
def protect_inputs() -> Iterator[None]:
    """While active, no file passed to :func:`note_input` can be written over.

    The command line runs every command inside it, so a command never writes over a map,
    template or event log it read, whatever ``-o``, ``--format`` or ``--force`` say.
    """
    token = _inputs.set([])
    try:
        yield
    finally:
        _inputs.reset(token)


def note_input(path: PathLike) -> None:
    """Remember that ``path`` was read (a no-op outside :func:`protect_inputs`)."""
    seen = _inputs.get()
    if seen is None:
        return
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    seen.append(_Input(os.fspath(path), st.st_dev, st.st_ino))


def check_targets(
    paths: Sequence[PathLike],
    *,
    inputs: Iterable[PathLike] = (),
    overwrite: bool = True,
    create_folders: bool = False,
) -> list[Path]:
    """Check every output target before any is written; returns the files to write.

    Each returned path is the file that writing the target changes: a symlink is
    followed to the file it names (``os.path.realpath``).

    Parameters
    ----------
    paths
        The output files.
    inputs
        Files the caller read, in addition to those noted by :func:`note_input`; no
        target may be one of them.
    overwrite
        ``False`` refuses targets that exist (the CLI's ``--force`` sets it ``True``);
        an input is refused either way.
    create_folders
        ``True`` allows folders that do not exist yet (the caller creates them), as long
        as the nearest existing one is a folder.

    Raises
    ------
    JourneyGraphError
        A target is a folder, a device, a pipe or a socket; is a file the command read;
        exists while ``overwrite`` is ``False``; lies in a folder that does not exist or
        is not a folder; or two targets are the same file.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> check_targets([os.path.join(folder, "a.svg")])[0].name
    'a.svg'
    >>> check_targets([folder])
    Traceback (most recent call last):
    ...
    journeygraph.errors.JourneyGraphError: ...: this is a folder; name a file to write, e.g. ...
    """
    protected = list(_inputs.get() or ())
    for path in inputs:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        protected.append(_Input(os.fspath(path), st.st_dev, st.st_ino))
    real_paths: list[Path] = []
    seen: dict[str, str] = {}
    for path in paths:
        real = _check_one(path, protected, overwrite=overwrite, create_folders=create_folders)
        key = os.path.normcase(str(real))
        if key in seen:
            raise JourneyGraphError(
                f"{os.fspath(path)}: the same file as the output {seen[key]}; "
                "give every output its own file name"
            )
        seen[key] = os.fspath(path)
        real_paths.append(real)
    return real_paths


def _check_one(
    path: PathLike, protected: list[_Input], *, overwrite: bool, create_folders: bool
) -> Path:
    name = os.fspath(path)
    if not name:
        raise JourneyGraphError("the output file name is empty; name a file to write")
    try:
        real = Path(os.path.realpath(name))
    except (OSError, ValueError) as exc:
        raise JourneyGraphError(f"{name}: cannot use this output path ({exc})") from None
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        _check_folder(name, real.parent, True)  # names the file that is in the way
        raise JourneyGraphError(
            f"{name}: a part of this path is a file, not a folder; choose another output path"
        ) from None
    except (OSError, ValueError) as exc:
        raise JourneyGraphError(f"{name}: cannot use this output path ({exc})") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise JourneyGraphError(
                f"{name}: this is a folder; name a file to write, e.g. "
                f"{os.path.join(name, 'out' + (Path(name).suffix or '.svg'))}"
            )
        if not stat.S_ISREG(st.st_mode):
            raise JourneyGraphError(
                f"{name}: this is not a regular file (a device, a pipe or a socket); "
                "name a file to write"
            )
        for item in protected:
            if (item.device, item.inode) == (st.st_dev, st.st_ino):
                same = "" if item.name == name else f" (the same file as {item.name})"
                raise JourneyGraphError(
                    f"{name}: this is an input of the command{same}; refusing to write over "
                    "it (--force replaces existing outputs, never inputs): choose another "
                    "output file"
                )
        if not overwrite:
            raise JourneyGraphError(f"{name}: the file exists; pass --force to overwrite it")
    _check_folder(name, real.parent, create_folders)
    return real


def _check_folder(name: str, folder: Path, create_folders: bool) -> None:
    missing = False
    for candidate in (folder, *folder.parents):
        try:
            st = os.stat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            missing = True
            continue
        except OSError as exc:
            raise JourneyGraphError(f"{name}: cannot use the folder {candidate} ({exc})") from None
        if not stat.S_ISDIR(st.st_mode):
            raise JourneyGraphError(
                f"{name}: {candidate} is a file, not a folder; choose another output path"
            )
        break
    if missing and not create_folders:
        raise JourneyGraphError(
            f"{name}: cannot write it: the folder {folder} does not exist; create it first"
        )


def atomic_write(
    path: PathLike,
    data: str | bytes,
    *,
    inputs: Iterable[PathLike] = (),
    overwrite: bool = True,
) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    The target is checked first (:func:`check_targets`; the parameters are its own),
    then replaced in one ``os.replace``: on any error or signal the old file is intact
    and no temporary file is left behind. A symlink is followed: the file it names is
    replaced, the link stays. Returns ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    JourneyGraphError
        The target is refused (see :func:`check_targets`), or the file cannot be written
        (the device is full, no permission, ...).

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> atomic_write(out, "hello\\n").read_text()
    'hello\\n'
    """
    (real,) = check_targets([path], inputs=inputs, overwrite=overwrite)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    name = os.fspath(path)
    folder = real.parent
    with _signals_held() as held:
        tmp: str | None = None
        try:
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=folder)
            except FileNotFoundError:
                raise JourneyGraphError(
                    f"{name}: cannot write it: the folder {folder} does not exist; create it first"
                ) from None
            try:
                _write_all(fd, payload, held)
                os.fsync(fd)
            finally:
                os.close(fd)
            # mkstemp creates 0600 files; give the result the mode a plain open() would
            # (or keep the mode of the file being replaced).
            try:
                mode = real.stat().st_mode & 0o777
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            os.chmod(tmp, mode)
            held.act()
            os.replace(tmp, real)
            tmp = None
        except OSError as exc:
            raise JourneyGraphError(_write_failure(name, folder, exc)) from None
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
    return Path(path)


def _write_all(fd: int, payload: bytes, held: _HeldSignals) -> None:
    view = memoryview(payload)
    while view:
        held.act()
        written = os.write(fd, view[:_CHUNK])
        view = view[written:]


def _write_failure(name: str, folder: Path, exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"{name}: cannot write it: no space left on the device of {folder} (or the disk "
            "quota is used up); the old file, if any, is unchanged. Free some space or "
            "write elsewhere"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{name}: cannot write in {folder}: {exc.strerror}; choose a folder you can write to"
    return f"{name}: cannot write it in {folder}: {exc.strerror or exc}"


class _HeldSignals:
    """Signals that arrived while a temporary file existed, acted on at a safe point."""

    def __init__(self) -> None:
        self.pending: list[int] = []

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.pending.append(signum)

    def act(self) -> None:
        """Raise ``_Stop`` for the first pending signal (the temporary file is then removed)."""
        if self.pending:
            raise _Stop(self.pending[0])


class _Stop(BaseException):
    """A held signal, unwinding to the point where the temporary file is removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_held() -> Iterator[_HeldSignals]:
    """Hold SIGINT, SIGTERM and SIGHUP while the body runs; then act on them as usual.

    Only signals with their default disposition (for SIGINT: Python's
    ``KeyboardInterrupt``) are held, and only in the main thread (the only one that can
    set handlers); a program's own handlers are left alone.
    """
    held = _HeldSignals()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _HELD_SIGNALS:
            current = signal.getsignal(signum)
            if current in (signal.SIG_DFL, signal.default_int_handler):
                previous[signum] = current
                signal.signal(signum, held.handler)
    try:
        yield held
    except _Stop:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        # A signal wins over any other error: the user asked to stop.
        if held.pending:
            _deliver(held.pending[0])


def _deliver(signum: int) -> None:
    """Act on a held signal now that the temporary file is gone."""
    if signum == getattr(signal, "SIGINT", None):
        raise KeyboardInterrupt
    # SIGTERM / SIGHUP: end the process the way the signal would have (its handler is
    # the default again), or exit with the shell's code for it if it is blocked.
    os.kill(os.getpid(), signum)
    raise SystemExit(128 + signum)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
