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
]


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
    """``" (did you mean 'checkout'?)"`` for the closest known name, or ``""``."""
    hint = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f" (did you mean {hint[0]!r}?)" if hint else ""
