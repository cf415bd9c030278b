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

from journeygraph import _args
from journeygraph._files import atomic_write, note_input
from journeygraph.errors import MapError
from journeygraph.io._json import _parse_json
from journeygraph.io._yaml import _parse_yaml, _problem_lines
from journeygraph.model import JourneyMap

__all__ = ["MAX_FILE_BYTES", "load", "loads", "save", "schema"]

#: Largest map file accepted, in bytes. A 20,000-touchpoint map is about 3 MB.
MAX_FILE_BYTES = 64 * 1024 * 1024


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
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, not {_args.kind_of(path)}")
    if str(path) == "-":
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise MapError(_too_big(None), source="<stdin>")
        return _parse_bytes(raw, "<stdin>", None)
    p = Path(path)
    source = str(path)
    try:
        # Devices, pipes and /proc files report no size: read at most one byte more
        # than the limit from anything, so /dev/zero is refused, not read without end.
        with p.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise MapError(_too_big(size), source=source)
            raw = fh.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise MapError(_too_big(None), source=source)
        note_input(p)
    except FileNotFoundError:
        raise MapError("no such file; check the path", source=source) from None
    except IsADirectoryError:
        raise MapError("this is a folder, not a map file", source=source) from None
    except OSError as exc:
        raise MapError(f"cannot read the file: {exc.strerror}", source=source) from None
    return _parse_bytes(raw, source, _format_of(p))


def loads(text: str | bytes, *, format: str = "yaml", source: str = "<string>") -> JourneyMap:
    """Parse a journey map from a YAML or JSON string (``format="yaml"`` or ``"json"``).

    Raises
    ------
    TypeError
        ``text`` is not a str or bytes, or ``format``/``source`` not a str.
    MapError
        ``format`` is neither ``"yaml"`` nor ``"json"``, or the text is not a valid map.

    Examples
    --------
    >>> jg.loads("name: x", format="toml")
    Traceback (most recent call last):
    ...
    journeygraph.errors.MapError: <string>: unknown format 'toml'; use format="yaml" or format="json"
    """
    if not isinstance(text, str | bytes):
        raise TypeError(f"text must be a str or bytes, not {_args.kind_of(text)}")
    _args.text(format, "format")
    _args.text(source, "source")
    if format not in ("yaml", "json"):
        raise MapError(
            f'unknown format {_short(format)}; use format="yaml" or format="json"',
            source=source,
        )
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return _parse_bytes(raw, source, format)


def _short(value: str, limit: int = 60) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


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
    if not isinstance(jm, JourneyMap):
        raise TypeError(f"jm must be a JourneyMap, not {_args.kind_of(jm)}")
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, not {_args.kind_of(path)}")
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


def _too_big(size: int | None) -> str:
    """``size`` is None for a device, pipe or stream that holds more than the limit."""
    found = f"is {size:,} bytes, more than" if size is not None else "holds more than"
    return (
        f"the file {found} the limit of {MAX_FILE_BYTES:,} bytes; "
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
    data = _parse_json(text, source) if fmt == "json" else _parse_yaml(text, source)
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
        del data
        # Line numbers are looked up only now, for the problems found: a valid map
        # never pays for a line map (with the YAML node tree, most of the memory and
        # time of loading a big file).
        raise exc.with_source(source, _problem_lines(text, exc)) from None
