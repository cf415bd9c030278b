"""Checks of the arguments of the public functions, done once at their entry.

A wrong kind of object (``None``, a list, a DataFrame, a graph, ...) is a ``TypeError``
that names the parameter and the type expected, raised here, never an
``AttributeError`` or ``KeyError`` from the middle of a computation. Every function
that takes a map also takes a path to a map file (:func:`journey_map`).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from journeygraph.errors import kind_of
from journeygraph.model import JourneyMap

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "choice",
    "entry",
    "flag",
    "journey_map",
    "kind_of",
    "number",
    "optional_text",
    "real_number",
    "seed",
    "text",
    "text_mapping",
    "texts",
]

_SHOWN = 60


def _wrong(name: str, expected: str, value: Any) -> TypeError:
    return TypeError(f"{name} must be {expected}, not {kind_of(value)}")


def journey_map(value: Any, name: str) -> JourneyMap:
    """``value`` as a map: a :class:`JourneyMap`, or a path to a map file (loaded).

    >>> journey_map("examples/retail_five_a_current.yaml", "jm").stages[0].id
    'aware'
    >>> journey_map(None, "current")
    Traceback (most recent call last):
    ...
    TypeError: current must be a JourneyMap or a path to a map file (str or os.PathLike), not None
    """
    if isinstance(value, JourneyMap):
        return value
    if isinstance(value, str | os.PathLike):
        from journeygraph.io import load

        return load(value)
    raise _wrong(name, "a JourneyMap or a path to a map file (str or os.PathLike)", value)


def entry(value: Any, name: str = "entry") -> str | Mapping[str, float] | None:
    """An entry override: ``None``, a touchpoint id, or weights by touchpoint id."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key, weight in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{name} must map touchpoint ids (str) to weights, but has the key "
                    f"{_short(key)} ({kind_of(key)})"
                )
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
                raise TypeError(
                    f"{name}[{_short(key)}] must be a number (a weight), not {kind_of(weight)}"
                )
        return value
    raise _wrong(name, "None, a touchpoint id (str) or a dict of weights by touchpoint id", value)


def text(value: Any, name: str) -> str:
    """``value`` if it is a ``str``."""
    if not isinstance(value, str):
        raise _wrong(name, "a str", value)
    return value


def optional_text(value: Any, name: str) -> str | None:
    """``value`` if it is ``None`` or a ``str``."""
    if value is not None and not isinstance(value, str):
        raise _wrong(name, "None or a str", value)
    return value


def texts(value: Any, name: str) -> tuple[str, ...]:
    """A sequence of ``str`` (not a single ``str``) as a tuple."""
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Iterable)
        or isinstance(value, Mapping)
    ):
        raise _wrong(name, "a list of str", value)
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} must be a list of str, but holds {kind_of(item)}")
    return items


def text_mapping(value: Any, name: str) -> dict[str, str]:
    """``None`` (empty) or a mapping of ``str`` to ``str``, as a dict."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _wrong(name, "None or a dict of str to str", value)
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError(
                f"{name} must map str to str, but maps {_short(key)} ({kind_of(key)}) to "
                f"{_short(item)} ({kind_of(item)})"
            )
    return dict(value)


def real_number(value: Any, name: str) -> float:
    """``value`` as a float if it is a real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _wrong(name, "a number", value)
    return float(value)


def number(value: Any, name: str) -> Any:
    """``value`` unchanged if it is a real number (bools included: the caller decides)."""
    if not isinstance(value, numbers.Real):
        raise _wrong(name, "a number", value)
    return value


def flag(value: Any, name: str) -> bool:
    """``value`` if it is a bool (or numpy's bool)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise _wrong(name, "True or False", value)


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    """``value`` if it is a ``str``; which strings are valid is the caller's check."""
    if not isinstance(value, str):
        listing = ", ".join(repr(o) for o in options)
        raise _wrong(name, f"one of {listing}", value)
    return value


def seed(value: Any, name: str = "seed") -> int | np.random.Generator | None:
    """A seed for ``numpy.random.default_rng``: ``None``, an int, or a Generator."""
    import numpy as np

    if value is None or isinstance(value, np.random.Generator):
        return value
    if isinstance(value, np.random.SeedSequence | np.random.BitGenerator):
        return np.random.default_rng(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise _wrong(name, "None, an int or a numpy.random.Generator", value)


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= _SHOWN else shown[: _SHOWN - 1] + "…"
