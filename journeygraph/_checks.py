"""Argument checks shared by the public functions."""

from __future__ import annotations

import numbers
import operator
from typing import Any

__all__ = ["whole_number"]


def whole_number(
    value: Any, name: str, *, minimum: int = 1, maximum: int | None = None, why: str = ""
) -> int:
    """``value`` as an int >= ``minimum`` (and <= ``maximum``); booleans and fractions are refused.

    ``why`` explains the maximum in its error message.
    """
    if not isinstance(value, numbers.Real) and not hasattr(value, "__index__"):
        kind = "None" if value is None else type(value).__name__
        raise TypeError(f"{name} must be a whole number (int), not {kind}")
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a whole number >= {minimum}, not {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, not {number}")
    if maximum is not None and number > maximum:
        raise ValueError(
            f"{name}={number:,} is more than the limit of {maximum:,}{why}; see docs/reliability.md"
        )
    return number
