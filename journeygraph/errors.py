"""The exception tree of journeygraph.

Every bad input ends in one :class:`JourneyGraphError` that says where (file, line,
touchpoint, column or row), what was found and what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "EventLogError",
    "JourneyGraphError",
    "JourneyGraphWarning",
    "MapError",
    "MissingDependencyError",
    "NotAbsorbingError",
    "Problem",
    "RenderError",
    "did_you_mean",
    "kind_of",
    "quoted",
]

#: Longest user string quoted in a message; longer ones are shortened with an ellipsis.
QUOTE_LIMIT = 80


class JourneyGraphError(Exception):
    """Base class of every error journeygraph raises on purpose."""


class JourneyGraphWarning(UserWarning):
    """Something an analyst should know that does not stop the computation."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a map.

    ``loc`` is the path of keys and list positions inside the map document, e.g.
    ``("moves", 3, "to")``; ``line`` is filled in by :mod:`journeygraph.io` when the
    map came from a file.
    """

    loc: tuple[str | int, ...]
    message: str
    line: int | None = None

    def describe(self, source: str | None = None) -> str:
        where = ""
        if source is not None:
            where = f"{source}:{self.line}: " if self.line is not None else f"{source}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        return f"{where}{self.message}"


class MapError(JourneyGraphError, ValueError):
    """A journey map (file or model) is invalid.

    Attributes
    ----------
    problems
        Every problem found, each with its location; several are reported together.
    source
        The file the map came from, when there is one.
    """

    def __init__(
        self,
        problems: Sequence[Problem] | str,
        *,
        source: str | None = None,
    ) -> None:
        if isinstance(problems, str):
            problems = [Problem((), problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [p.describe(self.source) for p in self.problems]
        if len(lines) == 1:
            return lines[0]
        head = f"{self.source}: " if self.source else ""
        return f"{head}{len(lines)} problems in the journey map:\n" + "\n".join(
            f"  - {line}" for line in lines
        )

    def with_source(
        self, source: str | None, lines: dict[tuple[str | int, ...], int] | None = None
    ) -> MapError:
        """The same error, located in ``source`` with line numbers looked up in ``lines``."""
        located = []
        for p in self.problems:
            line = p.line
            if line is None and lines:
                line = _lookup_line(p.loc, lines)
            located.append(Problem(p.loc, p.message, line))
        return type(self)(located, source=source)


def _lookup_line(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


class NotAbsorbingError(MapError):
    """Some touchpoints cannot reach any outcome, so journeys through them never end."""


class EventLogError(JourneyGraphError, ValueError):
    """An event log cannot be fitted: a column, row or value is wrong."""


class RenderError(JourneyGraphError):
    """A diagram could not be drawn (Graphviz failed or is missing)."""


class MissingDependencyError(JourneyGraphError, ImportError):
    """An optional dependency needed for a feature is not installed."""


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """``" (did you mean 'checkout'?)"`` for the closest known name, or ``""``.

    Names longer than 500 characters get no suggestion (comparing them is slow and
    nothing that long is a typo of an id).
    """
    text = str(name)
    if len(text) > 500:
        return ""
    hint = difflib.get_close_matches(text, [k for k in known if len(k) <= 500], n=1, cutoff=0.6)
    return f" (did you mean {quoted(hint[0])}?)" if hint else ""


def kind_of(value: object) -> str:
    """A short name of ``value``'s type for a message: ``list``, ``None``, ``pandas.DataFrame``.

    >>> kind_of(None), kind_of([1])
    ('None', 'list')
    """
    if value is None:
        return "None"
    cls = type(value)
    module = cls.__module__
    if module == "builtins":
        return cls.__name__
    return f"{module.split('.')[0]}.{cls.__qualname__}"


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)``, shortened to about ``limit`` characters for a message.

    A 100,000-character id must not make a 1,000,000-character message: a long value
    keeps its start, an ellipsis and its length.

    >>> quoted("checkout")
    "'checkout'"
    >>> quoted("x" * 100_000, limit=30)
    "'xxxxxxxxxxxxx…' (100,000 characters)"
    """
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return shown[: max(limit - 16, 8)] + ("…'" if isinstance(value, str) else "…") + size
