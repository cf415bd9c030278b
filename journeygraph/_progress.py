"""Progress of a long fit, reported phase by phase, for notebooks, terminals and logs.

:class:`Progress` is what the fit engines talk to: :meth:`~Progress.plan` names the
phases once the engine is known, :meth:`~Progress.phase` starts the next one, and
:meth:`~Progress.tick` asks the engine's ``poll`` function (Spark's running stages) for
progress within a phase. Where the report goes follows the ``progress=`` option of
:func:`journeygraph.fit`:

- a callable ``progress(phase, done, total)``: called with the phase's name and the
  progress of the whole fit in phases (``done`` of ``total``; fractional while Spark
  stages run); the last call is ``("done", total, total)``;
- ``True``: a ``tqdm`` bar when tqdm is installed (``tqdm.auto``, so a notebook shows its
  widget), else one plain line per phase on ``stderr``, which a log keeps readably;
- ``False``: nothing;
- ``None`` (the default): as ``True`` on an interactive terminal once the fit has run
  for :data:`DELAY` seconds, nothing otherwise (pipes, logs, CI, notebooks).

Nothing runs in the background: the report moves when the fit reaches a phase (or
polls Spark), on the caller's thread, so a callback needs no locking and Ctrl-C
interrupts the fit as it would without a report.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from journeygraph._terminal import raw_stream

__all__ = ["DELAY", "Progress", "ProgressCallback", "check_progress", "progress_enabled"]

#: How long a fit runs before the default report appears on an interactive terminal.
DELAY = 1.0

#: ``progress(phase, done, total)``: the phase starting (or running), and the progress of
#: the whole fit in phases; the return value is ignored.
ProgressCallback = Callable[[str, float, "float | None"], object]


def check_progress(value: object) -> bool | ProgressCallback | None:
    """The ``progress=`` option checked: ``None``, ``True``, ``False`` or a callable.

    >>> check_progress(True)
    True
    >>> check_progress("yes")
    Traceback (most recent call last):
    ...
    TypeError: progress must be True, False, None or a callable progress(phase, done, total), not str
    """
    if value is None or isinstance(value, bool) or callable(value):
        return value
    raise TypeError(
        "progress must be True, False, None or a callable progress(phase, done, total), "
        f"not {type(value).__name__}"
    )


def progress_enabled(progress: object, stream: TextIO | None = None) -> bool:
    """Whether a report is made: ``progress`` if given, else whether ``stream`` is a TTY.

    ``stream`` defaults to ``sys.stderr``; a callable ``progress`` is always enabled.

    >>> import io
    >>> progress_enabled(None, io.StringIO()), progress_enabled(True, io.StringIO())
    (False, True)
    """
    if progress is not None:
        return bool(progress)
    target = sys.stderr if stream is None else stream
    isatty = getattr(target, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):
        return False


def tqdm_available() -> bool:
    """Whether the optional ``tqdm`` package can be imported (it is not imported here)."""
    try:
        return importlib.util.find_spec("tqdm") is not None
    except (ImportError, ValueError):  # e.g. blocked with sys.modules["tqdm"] = None
        return False


class Progress:
    """Phase-by-phase progress of one fit, reported to ``progress`` (see the module).

    Parameters
    ----------
    label
        What is running, e.g. ``"fit (numpy)"``; :meth:`plan` may change it.
    phases
        Names of the phases, in order; :meth:`plan` may set them later.
    progress
        ``True``, ``False``, ``None`` or a callable ``progress(phase, done, total)``.
    stream
        Where the text report goes (default ``sys.stderr``).
    poll
        Optional function giving ``(fraction within the phase, detail text)`` or
        ``None``; :meth:`tick` calls it.

    Examples
    --------
    >>> calls = []
    >>> with Progress("fit", ["read", "count"], progress=lambda *a: calls.append(a)) as bar:
    ...     bar.phase("read")
    ...     bar.phase("count")
    >>> calls
    [('read', 0.0, 2.0), ('count', 1.0, 2.0), ('done', 2.0, 2.0)]
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress("fit", ["read", "count"], progress=True, stream=out, tqdm=False) as bar:
    ...     bar.phase("read")
    >>> out.getvalue().splitlines()[0]
    'fit: read (phase 1 of 2)'
    """

    def __init__(
        self,
        label: str,
        phases: list[str],
        *,
        progress: bool | ProgressCallback | None = None,
        stream: TextIO | None = None,
        poll: Callable[[], tuple[float, str] | None] | None = None,
        tqdm: bool | None = None,
    ) -> None:
        self.label = label
        self.phases = list(phases)
        self.stream = sys.stderr if stream is None else stream
        self.callback = progress if callable(progress) else None
        self.enabled = progress_enabled(progress, self.stream)
        self.delay = 0.0 if progress is not None else DELAY
        self.poll = poll
        self.use_tqdm = tqdm  # None: decided when the report first shows
        self.current = ""
        self.done = 0.0
        self.start = time.monotonic()
        self.bar: Any = None  # the tqdm bar, once shown
        self.shown = False  # anything reported yet (the terminal default waits DELAY)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(finished=exc[0] is None)

    def plan(self, label: str, phases: list[str]) -> None:
        """Set the label and the phases once the engine is known."""
        self.label = label
        self.phases = list(phases)

    def phase(self, name: str) -> None:
        """Start phase ``name`` (the phases before it count as done)."""
        if not self.enabled:
            return
        if name in self.phases:
            self.done = float(self.phases.index(name))
        self.current = name
        self._report(name, "")

    def tick(self) -> None:
        """Report progress within the current phase from ``poll`` (Spark's stages)."""
        if not self.enabled or self.poll is None or not self.current:
            return
        try:
            polled = self.poll()
        except Exception:  # a progress poll must never break a fit
            polled = None
        if polled is None:
            return
        within, detail = polled
        phase_start = float(self.phases.index(self.current)) if self.current in self.phases else 0
        # Never backwards: a new stage starting at 0 of its tasks keeps the bar where it is.
        self.done = max(self.done, phase_start + max(0.0, min(float(within), 1.0)))
        self._report(self.current, detail)

    def close(self, *, finished: bool = True) -> None:
        """End the report; a finished one says ``done``, an interrupted one stops as is."""
        if not self.enabled:
            return
        if finished and (self.shown or self.delay == 0.0):
            self.done = float(len(self.phases))
            self.current = "done"
            self._report("done", "")
        if self.bar is not None:
            try:
                self.bar.close()
            except (OSError, ValueError):
                pass
            self.bar = None
        self.enabled = False

    # -- the three kinds of report ------------------------------------------------------

    def _report(self, phase: str, detail: str) -> None:
        total = float(len(self.phases)) if self.phases else None
        if self.callback is not None:
            self.callback(phase, self.done, total)
            return
        if not self.shown and time.monotonic() - self.start < self.delay:
            return
        self.shown = True
        if self.use_tqdm is None:
            self.use_tqdm = tqdm_available()
        if self.use_tqdm:
            self._tqdm(phase, detail, total)
        else:
            self._line(phase, detail, total)

    def _tqdm(self, phase: str, detail: str, total: float | None) -> None:
        if self.bar is None:
            # Imported by name, so a user's type checker needs no stubs for tqdm.
            tqdm = importlib.import_module("tqdm.auto").tqdm
            shape = "{percentage:3.0f}%|{bar}| " if total is not None else ""
            self.bar = tqdm(
                total=total,
                desc=self.label,
                file=self.stream,
                bar_format="{desc}: " + shape + "[{elapsed}{postfix}]",
                leave=True,
            )
        self.bar.total = total
        self.bar.n = self.done
        self.bar.set_postfix_str(f"{phase}: {detail}" if detail else phase, refresh=False)
        self.bar.refresh()

    def _line(self, phase: str, detail: str, total: float | None) -> None:
        elapsed = time.monotonic() - self.start
        if phase == "done":
            line = f"{self.label}: done in {elapsed:.1f} s"
        elif detail:
            line = f"{self.label}: {phase}: {detail}"
        elif total is not None and phase in self.phases:
            number = self.phases.index(phase) + 1
            line = f"{self.label}: {phase} (phase {number} of {len(self.phases)})"
        else:
            line = f"{self.label}: {phase}"
        # Past the command line's visible-text filter: the line holds only phase names
        # and numbers, never text from maps or logs.
        stream = raw_stream(self.stream)
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            self.enabled = False  # a broken stderr turns the report off, never fails the fit
