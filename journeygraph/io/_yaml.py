"""The YAML reader of map files (private): plain values from a safe event stream, with
line numbers, duplicate keys refused, and size, depth and alias limits."""

from __future__ import annotations

import datetime
import re
from typing import Any

import yaml

from journeygraph.errors import MapError, quoted

__all__: list[str] = []

#: Most values (keys, items, scalars) a document may expand into, aliases included.
_MAX_VALUES = 5_000_000
#: Deepest nesting of mappings and lists accepted.
_MAX_DEPTH = 32

_Loc = tuple[str | int, ...]

# YAML: read the parser's events (never the node tree, which for a 20,000-touchpoint
# map held ~500 MiB) and build plain Python values ourselves, checking duplicate keys,
# depth and expansion size. libyaml parses when PyYAML has it; any YAML syntax error
# is then reported by re-parsing with the pure-Python parser, so messages do not
# depend on whether libyaml is installed.

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_NO_DOCUMENT = object()
_MERGE = object()
_BUILDING = object()


def _parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text into plain values; every problem is a MapError naming the line."""
    try:
        data = _YamlBuilder(text, source, fast=True).document()
    except yaml.YAMLError:
        # libyaml refused the text: the pure-Python parser gives the message.
        data = _yaml_or_error(text, source, fast=False)
    if data is _NO_DOCUMENT:
        raise MapError(
            "the file is empty; a map needs name, stages, touchpoints, ...", source=source
        )
    return data


def _yaml_or_error(text: str, source: str, *, fast: bool) -> Any:
    try:
        return _YamlBuilder(text, source, fast=fast).document()
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


_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "!")
_NUMBER_KEYS = frozenset({"weight", "sentiment", "mean"})
_TEXT_KEYS = frozenset(
    {
        "id",
        "name",
        "description",
        "stage",
        "channel",
        "owner",
        "notes",
        "from",
        "to",
        "source",
        "target",
        "kind",
        "unit",
        "pains",
        "goals",
        "questions",
    }
)
_TEXT_LISTS = frozenset({"pains", "goals", "questions"})
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]*[0-9][0-9_]*$")
_THOUSANDS = re.compile(r"^[-+]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?$")
_PREFIXED_INT = re.compile(
    r"^[-+]?0(?:x_?[0-9a-fA-F](?:_?[0-9a-fA-F])*|o_?[0-7](?:_?[0-7])*|b_?[01](?:_?[01])*)$"
)
_DECIMAL = re.compile(
    r"^[-+]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)"
    r"(?:[eE][-+]?[0-9]+)?$"
)


def _wants_number(loc: _Loc) -> bool:
    """Whether the value at ``loc`` is a number: a weight, entry weight, sentiment, mean."""
    last = loc[-1]
    if last in _NUMBER_KEYS:
        return True
    return len(loc) == 2 and loc[0] == "entry" and last != "<key>"


def _wants_text(loc: _Loc) -> bool:
    """Whether the value at ``loc`` is text: an id, a name, a note, an entry key."""
    last = loc[-1]
    if last == "<key>":
        return len(loc) == 2 and loc[0] == "entry"
    if isinstance(last, int):
        return len(loc) >= 2 and loc[-2] in _TEXT_LISTS
    return last in _TEXT_KEYS


def _where(loc: _Loc) -> str:
    """``"touchpoint #2: "`` for a place inside a section's list, else ``""``."""
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(loc[0], str):
        return f"{loc[0][:-1]} #{loc[1] + 1}: "
    return ""


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a yes/no value (true/false)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, datetime.datetime):
        return "a date and time"
    if isinstance(value, datetime.date):
        return "a date"
    if value is None:
        return "an empty value (null)"
    return f"a {type(value).__name__}"


def _sexagesimal(text: str) -> float:
    sign = -1 if text.startswith("-") else 1
    total = 0.0
    for part in text.lstrip("+-").replace("_", "").split(":"):
        total = total * 60 + float(part)
    return sign * total


def _problem_lines(text: str, exc: MapError) -> dict[_Loc, int]:
    """Lines of the places (and their parents) that ``exc``'s problems point at.

    JSON is read as YAML here (JSON is nearly a subset); if that fails, the lines found
    before the failure are kept and the rest of the problems go without a line.
    """
    wanted = {p.loc[:n] for p in exc.problems if p.line is None for n in range(len(p.loc) + 1)}
    builder = _YamlBuilder(text, "", fast=True, wanted=wanted)
    try:
        builder.document()
    except (yaml.YAMLError, MapError, RecursionError):
        pass
    return builder.lines


class _YamlBuilder:
    """Plain values from a YAML event stream; ``wanted`` locations get their lines."""

    def __init__(
        self, text: str, source: str, *, fast: bool, wanted: set[_Loc] | None = None
    ) -> None:
        loader_class = getattr(yaml, "CSafeLoader", None) if fast else None
        self.loader: Any = (loader_class or yaml.SafeLoader)(text)
        self.source = source
        self.wanted = wanted
        self.lines: dict[_Loc, int] = {}
        self.count = 0
        # anchor -> (its value, how many values it expands to)
        self.anchors: dict[str, tuple[Any, int]] = {}
        # One object per distinct text: ids repeat in every move that names them.
        self.texts: dict[str, str] = {}
        # Plain (unquoted) scalars already resolved as text: resolving is a regex match.
        self.plain_texts: dict[str, str] = {}

    def _fail(self, line: int, message: str) -> MapError:
        return MapError(f"{self.source}:{line}: {message}")

    def document(self) -> Any:
        """The single document of the stream, or ``_NO_DOCUMENT`` for an empty one."""
        loader = self.loader
        try:
            loader.get_event()  # stream start
            if loader.check_event(yaml.StreamEndEvent):
                return _NO_DOCUMENT
            loader.get_event()  # document start
            value = self.build((), 0)
            loader.get_event()  # document end
            if not loader.check_event(yaml.StreamEndEvent):
                event = loader.get_event()
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream",
                    None,
                    "but found another document",
                    event.start_mark,
                )
            return value
        finally:
            loader.dispose()

    def _count(self, line: int, n: int) -> None:
        self.count += n
        if self.count > _MAX_VALUES:
            raise self._fail(
                line,
                f"the document expands to more than {_MAX_VALUES:,} values (an alias bomb?); "
                "refusing to read it",
            )

    def build(self, loc: _Loc, depth: int, *, key: bool = False) -> Any:
        """The next value of the stream, ``loc`` being where it sits in the document."""
        event = self.loader.get_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            # Share the value built for the anchor, but count what it expands to, so an
            # alias bomb is refused cheaply.
            if event.anchor not in self.anchors:
                raise self._fail(line, f"not valid YAML: found undefined alias {event.anchor!r}")
            value, size = self.anchors[event.anchor]
            if value is _BUILDING:
                raise self._fail(
                    line,
                    f"alias *{event.anchor} is used inside the value it names (a loop); "
                    "refusing to read it",
                )
            self._count(line, size)
            return value
        before = self.count
        self._count(line, 1)
        if depth > _MAX_DEPTH:
            raise self._fail(line, f"nesting deeper than {_MAX_DEPTH} levels; refusing to read it")
        if self.wanted is not None and loc in self.wanted:
            self.lines.setdefault(loc, line)
        anchor = event.anchor
        if anchor is not None:
            if anchor in self.anchors:
                raise self._fail(
                    line, f"not valid YAML: found duplicate anchor {anchor!r}; rename one of them"
                )
            self.anchors[anchor] = (_BUILDING, 0)
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event, line, loc, key=key)
        elif event.tag is not None and event.tag not in _COLLECTION_TAGS:
            raise self._fail(
                line,
                f"explicit YAML tag {quoted(event.tag)} on a "
                f"{'list' if isinstance(event, yaml.SequenceStartEvent) else 'mapping'}: "
                "map files use plain lists and mappings; remove the tag",
            )
        elif isinstance(event, yaml.SequenceStartEvent):
            value = []
            while not self.loader.check_event(yaml.SequenceEndEvent):
                value.append(self.build((*loc, len(value)), depth + 1))
            self.loader.get_event()
        else:
            value = self._mapping(loc, depth)
        if anchor is not None:
            self.anchors[anchor] = (value, self.count - before)
        return value

    def _scalar(self, event: Any, line: int, loc: _Loc, *, key: bool) -> Any:
        tag, text = event.tag, event.value
        last = loc[-1] if loc else None
        if (
            event.implicit[0]
            and (last in _NUMBER_KEYS or (len(loc) == 2 and loc[0] == "entry" and last != "<key>"))
            and loc[0] != "metadata"
        ):
            # weights, entry weights, sentiment, duration means: YAML 1.1 number forms
            return self._number(event, line, loc)
        if tag is None:
            if not event.implicit[0]:  # quoted: always text
                return self.texts.setdefault(text, text)
            known = self.plain_texts.get(text)
            if known is not None:  # a plain scalar read as text before
                return known
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, text, event.implicit)
        if tag == _STR_TAG:
            text = self.texts.setdefault(text, text)
            if event.tag is None:
                self.plain_texts[text] = text
            return text
        if key and tag == _MERGE_TAG:
            return _MERGE
        if key and tag == _VALUE_TAG:
            return "="
        value = self._construct(tag, text, event, line)
        if (
            value is not None  # an empty value: the default of an optional field
            and event.tag is None
            and loc
            and loc[0] != "metadata"
            and _wants_text(loc)
        ):
            raise self._not_text(loc, line, text, value)
        return value

    def _construct(self, tag: str, text: str, event: Any, line: int) -> Any:
        """The value of a scalar with this tag; a bad value or tag is a MapError."""
        node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, style=event.style)
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise self._fail(
                line,
                f"cannot read the value {quoted(text)}: unknown YAML tag {quoted(event.tag)}; "
                "map files use plain values: remove the tag",
            ) from None
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError):
            kind = tag.rsplit(":", 1)[-1]
            raise self._fail(
                line,
                f"cannot read the value {quoted(text)} as the tag {quoted(event.tag)} says "
                f"({kind}); fix the value or remove the tag",
            ) from None
        finally:
            self.loader.constructed_objects.pop(node, None)

    def _not_text(self, loc: _Loc, line: int, text: str, value: Any) -> MapError:
        """An unquoted value read as a number, date or yes/no where text is needed."""
        field = str(loc[-2]) if isinstance(loc[-1], int) else str(loc[-1])
        if loc[-1] == "<key>":
            field = f"{loc[0]} key"
            fix = f'{loc[0]}: {{"{text}": ...}}'
        elif isinstance(loc[-1], int):
            fix = f'{field}: ["{text}", ...]'
        else:
            fix = f'{field}: "{text}"'
        where = _where(loc)
        return self._fail(
            line,
            f"{where}{field!r} must be text, but {quoted(value)} was read as "
            f"{_type_name(value)} (written {quoted(text)}); put it in quotes to keep it "
            f"as written: {fix}",
        )

    def _number(self, event: Any, line: int, loc: _Loc) -> Any:
        """A plain scalar where a number is expected, read as an analyst means it.

        Accepted: decimal numbers (``1000``, ``+5``, ``2.5``, ``1e3``, ``1.5e3``), digit
        groups (``1_000``), and the forms with one meaning in YAML 1.2 and Python
        (``0x1F``, ``0o17``, ``0b101``). Refused, because YAML 1.1 and an analyst read
        them differently: a leading zero (``010``: octal 8 in YAML 1.1, 10 in YAML
        1.2), base 60 (``1:30``: 90), thousands separators (``1,000``).
        """
        text = event.value
        if text.isdigit() and text.isascii() and (text[0] != "0" or text == "0"):
            return int(text)  # the common case: a plain count
        field = str(loc[-1]) if loc[-1] != "<key>" else str(loc[0])
        where = _where(loc)
        if _SEXAGESIMAL.match(text):
            raise self._fail(
                line,
                f"{where}{field!r} is {text}, which YAML 1.1 reads as a base-60 number "
                f"({_sexagesimal(text):g}), and other tools as text; write the number you "
                f"mean, e.g. {field}: {_sexagesimal(text):g}",
            )
        if _LEADING_ZERO.match(text):
            decimal = text.replace("_", "").lstrip("+-").lstrip("0") or "0"
            sign = "-" if text.startswith("-") else ""
            raise self._fail(
                line,
                f"{where}{field!r} is {text}, which YAML 1.1 reads as the octal number "
                f"{int(text.replace('_', ''), 8)} and YAML 1.2 as {sign}{decimal}; write it "
                f"without the leading zero: {field}: {sign}{decimal}",
            )
        if _THOUSANDS.match(text):
            raise self._fail(
                line,
                f"{where}{field!r} is {text}: a comma is a thousands separator in some "
                "countries and a decimal point in others; write the number without it, "
                f"e.g. {field}: {text.replace(',', '')}",
            )
        if _PREFIXED_INT.match(text):
            return int(text, 0)
        if _DECIMAL.match(text):
            return float(text) if any(c in text for c in ".eE") else int(text.replace("_", ""))
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, text, event.implicit)
        if tag == _STR_TAG:
            return self.texts.setdefault(text, text)
        return self._construct(tag, text, event, line)

    def _mapping(self, loc: _Loc, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merged: list[tuple[Any, Any, int]] = []
        loader = self.loader
        while not loader.check_event(yaml.MappingEndEvent):
            line = loader.peek_event().start_mark.line + 1
            key = self.build((*loc, "<key>"), depth + 1, key=True)
            if key is _MERGE:
                merged.extend(self._merge(loc, depth, line))
                continue
            if not isinstance(key, str | int | float | bool) or key is None:
                raise self._fail(line, f"keys must be text, found {key!r}")
            if key in result:
                raise self._duplicate(key, line, first_line[key])
            first_line[key] = line
            here = (*loc, str(key))
            if self.wanted is not None and here in self.wanted:
                self.lines[here] = line
            result[key] = self.build(here, depth + 1)
        loader.get_event()
        if not merged:
            return result
        # "<<: *base" entries come first and may not repeat a key (YAML's merge would
        # silently let one of them win); they are located at their "<<" line.
        combined: dict[Any, Any] = {}
        combined_line: dict[Any, int] = {}
        for key, value, line in [*merged, *((k, v, first_line[k]) for k, v in result.items())]:
            if key in combined:
                raise self._duplicate(key, line, combined_line[key])
            combined[key] = value
            combined_line[key] = line
            here = (*loc, str(key))
            if self.wanted is not None and here in self.wanted:
                self.lines[here] = line
        return combined

    def _merge(self, loc: _Loc, depth: int, line: int) -> list[tuple[Any, Any, int]]:
        """The entries a ``<<`` key merges in: from one mapping or a list of them."""
        value = self.build((*loc, "<<"), depth + 1)
        parts = value if isinstance(value, list) else [value]
        entries: list[tuple[Any, Any, int]] = []
        for part in reversed(parts):  # as PyYAML: later mappings of the list first
            if not isinstance(part, dict):
                found = f"{part!r}"[:80]
                raise self._fail(
                    line, f"'<<' merges a mapping or a list of mappings, but found {found}"
                )
            entries.extend((k, v, line) for k, v in part.items())
        return entries

    def _duplicate(self, key: Any, line: int, first: int) -> MapError:
        return self._fail(
            line,
            f"duplicate key {key!r} (first at line {first}); YAML would silently keep "
            "only the last one: remove or rename one of them",
        )
