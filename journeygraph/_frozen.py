"""Read-only mappings and lists, so that maps and results that say "immutable" are.

:class:`FrozenDict` and :class:`FrozenList` subclass ``dict`` and ``list``: they compare
equal to plain ones, pass ``isinstance`` checks, serialise with :mod:`json` and pickle,
but every method that would change them raises :class:`TypeError`. Both hash by
content (like a tuple: only when every value is hashable), so a frozen model holding
them is hashable and equal objects hash equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, TypeVar

__all__ = ["FrozenDict", "FrozenList", "freeze", "freeze_mapping", "thaw"]

K = TypeVar("K")
V = TypeVar("V")

_MESSAGE = (
    "this object is immutable (journey maps and analysis results never change); "
    "copy it with dict(...) or list(...), or derive a new map with journeygraph.whatif"
)


def _refuse(self: object, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(_MESSAGE)


class FrozenDict(dict[K, V]):
    """A ``dict`` that refuses changes; equal to the plain dict with the same items.

    Examples
    --------
    >>> d = FrozenDict({"ad": 1.0})
    >>> d == {"ad": 1.0}, hash(d) == hash(FrozenDict({"ad": 1.0}))
    (True, True)
    >>> d["ad"] = 2.0
    Traceback (most recent call last):
    ...
    TypeError: this object is immutable (journey maps and analysis results never change); copy it with dict(...) or list(...), or derive a new map with journeygraph.whatif
    """

    __slots__ = ()

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict[K, V]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict[K, V]:
        return self

    def __repr__(self) -> str:
        return dict.__repr__(self)


class FrozenList(list[V]):
    """A ``list`` that refuses changes; equal to the plain list with the same items."""

    __slots__ = ()

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self),))

    def __copy__(self) -> FrozenList[V]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList[V]:
        return self

    def __repr__(self) -> str:
        return list.__repr__(self)


def freeze_mapping(items: Mapping[K, V] | Iterable[tuple[K, V]]) -> FrozenDict[K, V]:
    """A read-only copy of one mapping (its values as they are)."""
    return items if isinstance(items, FrozenDict) else FrozenDict(items)


def freeze(value: Any) -> Any:
    """A deep read-only copy of JSON-like data: dicts and lists at every depth."""
    if isinstance(value, Mapping):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        frozen = [freeze(v) for v in value]
        return FrozenList(frozen) if isinstance(value, list) else tuple(frozen)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (for serialisers that want the built-in types)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        thawed = [thaw(v) for v in value]
        return thawed if isinstance(value, list) else tuple(thawed)
    return value
