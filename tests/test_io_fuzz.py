"""Property tests: whatever bytes or mutated maps a user hands us, the loader answers
with a map or one JourneyGraphError, never another exception (RELIABILITY.md)."""

from __future__ import annotations

import json
import warnings
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeygraph as jg

from .conftest import DATA, EXAMPLES

_TINY = (DATA / "good" / "tiny.yaml").read_text(encoding="utf-8")
_RETAIL = json.loads(
    json.dumps(
        jg.load(EXAMPLES / "retail_five_a_current.yaml").model_dump(mode="json", by_alias=True)
    )
)
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load_or_error(raw: bytes, fmt: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        try:
            jg.loads(raw, format=fmt)
        except jg.JourneyGraphError:
            pass


@_SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_never_escape_as_other_exceptions(raw: bytes) -> None:
    _load_or_error(raw, "yaml")
    _load_or_error(raw, "json")


@_SETTINGS
@given(st.text(max_size=300))
def test_random_text_never_escapes_as_other_exceptions(text: str) -> None:
    _load_or_error(text.encode("utf-8", "surrogatepass"), "yaml")


@_SETTINGS
@given(st.integers(0, len(_TINY) - 1), st.integers(0, 20), st.text(max_size=8))
def test_spliced_yaml_never_escapes(start: int, length: int, insert: str) -> None:
    text = _TINY[:start] + insert + _TINY[start + length :]
    _load_or_error(text.encode("utf-8", "surrogatepass"), "yaml")


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


_ALL_PATHS = _paths(_RETAIL)[1:]


@_SETTINGS
@given(st.sampled_from(_ALL_PATHS), _VALUES, st.booleans())
def test_mutated_maps_give_a_map_or_a_map_error(
    path: tuple[Any, ...], value: Any, drop: bool
) -> None:
    data = json.loads(json.dumps(_RETAIL))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    raw = json.dumps(data, allow_nan=True).encode()
    _load_or_error(raw, "json")
