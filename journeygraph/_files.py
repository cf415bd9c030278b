"""Atomic file writing shared by every module that writes output."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from journeygraph.errors import JourneyGraphError

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    The target is replaced in one ``os.replace``: on any error the old file is intact
    and no partial file is left behind.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except FileNotFoundError:
        raise JourneyGraphError(
            f"{target}: cannot write it: the folder {folder} does not exist; create it first"
        ) from None
    except OSError as exc:
        raise JourneyGraphError(
            f"{target}: cannot write in {folder}: {exc.strerror or exc}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        # mkstemp creates 0600 files; give the result the mode a plain open() would
        # (or keep the mode of the file being replaced).
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
