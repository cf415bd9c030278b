"""A small progress bar on standard error, for long fits (no dependency).

:class:`Progress` draws ``label [#####.....]  50%  phase  12s`` on one line of
``stderr``, redrawn in place with a carriage return. It is off in non-interactive use
(``stderr`` not a terminal) unless forced with ``progress=True``; in interactive use
it appears only once the work has taken longer than ``delay`` seconds, so short fits
stay silent. A background thread redraws it twice a second, so the elapsed time moves
during a long phase, and can ask a ``poll`` function for finer progress (Spark stages).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from journeygraph._terminal import raw_stream

__all__ = ["Progress", "progress_enabled"]

#: How long a fit runs before the bar appears on an interactive terminal.
DELAY = 1.0


def progress_enabled(progress: bool | None, stream: TextIO | None = None) -> bool:
    """``progress`` if given, else whether ``stream`` (default ``sys.stderr``) is a TTY."""
    if progress is not None:
        return bool(progress)
    target = sys.stderr if stream is None else stream
    isatty = getattr(target, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):
        return False


class Progress:
    """Phase-by-phase progress of one fit, drawn on ``stream`` (default ``sys.stderr``).

    Parameters
    ----------
    label
        Text before the bar, e.g. ``"fit (numpy)"``.
    phases
        Names of the phases, in order; :meth:`phase` moves to the next one.
    progress
        ``True`` to draw at once, ``False`` never, ``None`` only on a terminal and only
        after :data:`DELAY` seconds.
    poll
        Optional function giving ``(fraction within the phase, detail text)`` or
        ``None``, called by the redraw thread.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress("fit", ["read", "count"], progress=True, stream=out) as bar:
    ...     bar.phase("read")
    ...     bar.phase("count")
    >>> out.getvalue().rpartition(chr(13))[2].split("]")[0]
    'fit [########################'
    """

    width = 24

    def __init__(
        self,
        label: str,
        phases: list[str],
        *,
        progress: bool | None = None,
        stream: TextIO | None = None,
        poll: Callable[[], tuple[float, str] | None] | None = None,
    ) -> None:
        self.label = label
        self.phases = list(phases)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = progress_enabled(progress, self.stream)
        self.delay = 0.0 if progress else DELAY
        self.poll = poll
        self.done = 0  # phases finished
        self.current = ""
        self.start = time.monotonic()
        self.drawn = False
        self.last_len = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self.thread = threading.Thread(target=self._tick, name="jg-progress", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(finished=exc[0] is None)

    def plan(self, label: str, phases: list[str]) -> None:
        """Set the label and the phases once the engine is known."""
        with self.lock:
            self.label = label
            self.phases = list(phases)

    def phase(self, name: str) -> None:
        """Start phase ``name`` (the phases before it count as done)."""
        if not self.enabled:
            return
        with self.lock:
            if name in self.phases:
                self.done = self.phases.index(name)
            self.current = name
        self._draw()

    def close(self, *, finished: bool = True) -> None:
        """Stop redrawing; a finished bar shows 100 % and ends its line."""
        if not self.enabled:
            return
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if finished:
            with self.lock:
                self.done = len(self.phases)
                self.current = "done"
            self._draw(force=self.drawn or self.delay == 0.0)
        if self.drawn:
            self._write("\n")

    def _tick(self) -> None:
        while not self.stop.wait(0.5):
            self._draw()

    def _draw(self, *, force: bool = False) -> None:
        elapsed = time.monotonic() - self.start
        if not force and elapsed < self.delay:
            return
        with self.lock:
            fraction = self.done / max(len(self.phases), 1)
            detail = self.current
            if self.poll is not None and self.done < len(self.phases):
                try:
                    polled = self.poll()
                except Exception:  # a progress poll must never break a fit
                    polled = None
                if polled is not None:
                    within, text = polled
                    fraction += max(0.0, min(within, 1.0)) / max(len(self.phases), 1)
                    detail = f"{detail}: {text}" if text else detail
            filled = round(self.width * fraction)
            bar = "#" * filled + "." * (self.width - filled)
            line = f"{self.label} [{bar}] {fraction:4.0%}  {detail}  {elapsed:.0f}s"
            pad = " " * max(self.last_len - len(line), 0)
            self.last_len = len(line)
            self.drawn = True
            self._write("\r" + line + pad)

    def _write(self, text: str) -> None:
        # Past the command line's visible-text filter: the bar redraws itself with "\r"
        # and holds no text from maps or logs.
        stream = raw_stream(self.stream)
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            self.enabled = False
