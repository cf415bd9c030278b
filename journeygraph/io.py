"""Load and save journey maps as YAML or JSON; export the file format's JSON Schema.

This module is the only parser of map files. Files are untrusted: they are read as
UTF-8 (a BOM is allowed), size- and depth-limited, parsed with a safe YAML loader that
refuses duplicate keys and alias bombs, and every problem becomes one
:class:`~journeygraph.errors.MapError` that names the file and the line.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from journeygraph._files import atomic_write
from journeygraph.errors import MapError
from journeygraph.model import JourneyMap

__all__ = ["MAX_FILE_BYTES", "load", "loads", "save", "schema"]

#: Largest map file accepted, in bytes. A 20,000-touchpoint map is about 3 MB.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Most values (keys, items, scalars) a document may expand into, aliases included.
_MAX_VALUES = 5_000_000
#: Deepest nesting of mappings and lists accepted.
_MAX_DEPTH = 32

_Loc = tuple[str | int, ...]


def load(path: str | os.PathLike[str]) -> JourneyMap:
    """Read a journey map from a YAML or JSON file (by suffix; ``-`` reads stdin).

    Parameters
    ----------
    path
        ``.yaml``/``.yml`` or ``.json`` file; ``"-"`` reads standard input and
        detects JSON by a leading ``{``.

    Returns
    -------
    JourneyMap

    Raises
    ------
    MapError
        The file cannot be read, is not YAML/JSON, or the map is invalid; the message
        names the file and line of every problem.

    Examples
    --------
    >>> jm = jg.load("examples/retail_five_a_current.yaml")
    >>> jm.stages[0].id
    'aware'
    """
    if str(path) == "-":
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        return _parse_bytes(raw, "<stdin>", None)
    p = Path(path)
    source = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MapError(_too_big(size), source=source)
        raw = p.read_bytes()
    except FileNotFoundError:
        raise MapError("no such file; check the path", source=source) from None
    except IsADirectoryError:
        raise MapError("this is a folder, not a map file", source=source) from None
    except OSError as exc:
        raise MapError(f"cannot read the file: {exc.strerror}", source=source) from None
    return _parse_bytes(raw, source, _format_of(p))


def loads(text: str | bytes, *, format: str = "yaml", source: str = "<string>") -> JourneyMap:
    """Parse a journey map from a YAML or JSON string (``format="yaml"`` or ``"json"``)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return _parse_bytes(raw, source, format)


def save(jm: JourneyMap, path: str | os.PathLike[str]) -> Path:
    """Write a map as YAML or JSON (by suffix), atomically.

    Only keys that differ from their defaults are written, so a saved map reads like a
    hand-written one; ``load(save(jm, p)) == jm``.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "tiny.json")
    >>> jg.load(jg.save(jm, out)) == jm
    True
    """
    p = Path(path)
    data = jm.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = _integral_floats_as_ints(data)
    if _format_of(p) == "json":
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        text = yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
        )
    return atomic_write(p, text)


def _integral_floats_as_ints(value: Any) -> Any:
    """Write counts as ``40``, not ``40.0``; loading gives the same floats back."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


def schema() -> dict[str, Any]:
    """The JSON Schema of the map file format."""
    result = JourneyMap.model_json_schema(by_alias=True, mode="validation")
    result["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    result["title"] = "journeygraph journey map"
    return result


# -- parsing ----------------------------------------------------------------------


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise MapError(
        f"unknown file type {suffix or '(no suffix)'!r}; name the file .yaml, .yml or .json",
        source=str(path),
    )


def _too_big(size: int) -> str:
    return (
        f"the file is {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}; "
        "split the map or raise journeygraph.io.MAX_FILE_BYTES"
    )


def _parse_bytes(raw: bytes, source: str, fmt: str | None) -> JourneyMap:
    if len(raw) > MAX_FILE_BYTES:
        raise MapError(_too_big(len(raw)), source=source)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:
        raise MapError(
            "this looks like a binary file, not YAML or JSON text (it contains NUL bytes)",
            source=source,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MapError(
            f"{source}:{line}: the file is not UTF-8 text (byte {exc.start}: "
            f"{raw[exc.start : exc.start + 1]!r}); save it as UTF-8",
        ) from None
    if not text.strip():
        raise MapError(
            "the file is empty; a map needs name, stages, touchpoints, ...", source=source
        )
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":
        data, lines = _parse_json(text, source)
    else:
        data, lines = _parse_yaml(text, source)
    if not isinstance(data, dict):
        found = "a list" if isinstance(data, list) else f"the value {data!r}"[:80]
        raise MapError(
            f"expected a mapping with keys such as name, stages, touchpoints, outcomes, "
            f"entry and moves at the top level, but found {found}",
            source=source,
        )
    try:
        return JourneyMap.model_validate(data)
    except MapError as exc:
        raise exc.with_source(source, lines) from None


# YAML: compose to nodes (which keep line marks and do not expand aliases), then build
# plain Python values ourselves, checking duplicates, depth and expansion size.


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[_Loc, int]]:
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise MapError(
            f"{source}:{line}: character {exc.character!r} is not allowed in YAML; remove it"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}" if mark is not None else ""
        what = exc.problem or exc.context or "invalid YAML"
        raise MapError(f"{source}{where}: not valid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise MapError(f"{source}: not valid YAML: {exc}") from None
    if node is None:
        raise MapError(
            "the file is empty; a map needs name, stages, touchpoints, ...", source=source
        )
    builder = _YamlBuilder(loader, source)
    return builder.build(node, (), 0), builder.lines


class _YamlBuilder:
    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.lines: dict[_Loc, int] = {}
        self.count = 0
        self.built: dict[int, tuple[Any, int]] = {}

    def _fail(self, node: yaml.Node, message: str) -> MapError:
        return MapError(f"{self.source}:{node.start_mark.line + 1}: {message}")

    def build(self, node: yaml.Node, loc: _Loc, depth: int) -> Any:
        # An alias points at a node built before: count what it expands to, but share
        # the value instead of building it again, so an alias bomb is refused cheaply.
        if id(node) in self.built:
            value, size = self.built[id(node)]
            self._count(node, size)
            return value
        before = self.count
        value = self._build(node, loc, depth)
        self.built[id(node)] = (value, self.count - before)
        return value

    def _count(self, node: yaml.Node, n: int) -> None:
        self.count += n
        if self.count > _MAX_VALUES:
            raise self._fail(
                node,
                f"the document expands to more than {_MAX_VALUES:,} values (an alias bomb?); "
                "refusing to read it",
            )

    def _build(self, node: yaml.Node, loc: _Loc, depth: int) -> Any:
        self._count(node, 1)
        if depth > _MAX_DEPTH:
            raise self._fail(node, f"nesting deeper than {_MAX_DEPTH} levels; refusing to read it")
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            result: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, loc + ("<key>",), depth + 1)
                if not isinstance(key, str | int | float | bool) or key is None:
                    raise self._fail(key_node, f"keys must be text, found {key!r}")
                line = key_node.start_mark.line + 1
                if key in result:
                    raise self._fail(
                        key_node,
                        f"duplicate key {key!r} (first at line {first_line[key]}); YAML would "
                        "silently keep only the last one: remove or rename one of them",
                    )
                first_line[key] = line
                self.lines[loc + (str(key),)] = line
                result[key] = self.build(value_node, loc + (str(key),), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,), depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self._fail(node, f"cannot read the value {node.value!r}: {exc}") from None


def _parse_json(text: str, source: str) -> tuple[Any, dict[_Loc, int]]:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise MapError(
                    f"{source}: duplicate key {key!r} in one JSON object; JSON readers "
                    "silently keep only the last one: remove or rename one of them"
                )
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise MapError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise MapError(f"{source}: nesting too deep; refusing to read it") from None
    # Line numbers: JSON is (nearly) YAML, so the YAML composer usually finds them.
    lines: dict[_Loc, int] = {}
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        if node is not None:
            _json_lines(node, (), lines, 0)
    except (yaml.YAMLError, RecursionError):
        pass
    return data, lines


def _json_lines(node: yaml.Node, loc: _Loc, lines: dict[_Loc, int], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (str(key_node.value),)
            lines[loc + key] = key_node.start_mark.line + 1
            _json_lines(value_node, loc + key, lines, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _json_lines(item, (*loc, i), lines, depth + 1)
