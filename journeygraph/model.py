"""The journey map model: stages, touchpoints, outcomes, moves, persona.

A :class:`JourneyMap` is what a journey team draws on a wall, made exact enough to
compute with. It is a frozen pydantic model that validates strictly: every
cross-reference is checked and every problem is reported together in one
:class:`~journeygraph.errors.MapError` that names the offending ids.

The file format (YAML or JSON) uses the same keys as the fields below; a move's
endpoints are written ``from`` and ``to``. See ``docs/file-format.md``.
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    PrivateAttr,
    Strict,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic._internal._model_construction import ModelMetaclass

from journeygraph._frozen import FrozenDict, freeze, freeze_mapping, thaw
from journeygraph._gc import paused_gc
from journeygraph._move_columns import column_fields, out_totals, reached, read_columns
from journeygraph.errors import (
    JourneyGraphWarning,
    MapError,
    NotAbsorbingError,
    Problem,
    did_you_mean,
    kind_of,
    quoted,
)

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "MOVE_KINDS",
    "OUTCOME_KINDS",
    "Duration",
    "JourneyMap",
    "MapSource",
    "Move",
    "MoveKind",
    "Outcome",
    "OutcomeKind",
    "Persona",
    "Stage",
    "Touchpoint",
]

OutcomeKind = Literal["conversion", "churn", "competitor"]
OUTCOME_KINDS: tuple[str, ...] = ("conversion", "churn", "competitor")

MoveKind = Literal["forward", "skip", "backtrack", "within", "exit"]
MOVE_KINDS: tuple[str, ...] = ("forward", "skip", "backtrack", "within", "exit")

# Durations are stored as written and converted to hours for computation.
_HOURS_PER_UNIT = {"minute": 1 / 60, "hour": 1.0, "day": 24.0, "week": 168.0, "second": 1 / 3600}

_MAX_ID_LENGTH = 500
_MAX_TEXT_LENGTH = 100_000


# C0 and C1 controls (U+0085 NEXT LINE among them), DEL, the line and paragraph
# separators, and the explicit bidirectional controls (invisible, and they reorder text).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _check_id(value: str) -> str:
    # Runs for every id of every move (200,000 times for a 20,000-touchpoint map).
    if not value or value[0].isspace() or value[-1].isspace():
        raise ValueError(
            "an id must not be empty or begin or end with white space; remove the spaces"
        )
    if value.isprintable():  # C speed; refuses every character below, and a few more
        return value
    bad = _CONTROL.search(value)
    if bad:
        raise ValueError(
            f"an id must not contain control characters (found U+{ord(bad.group()):04X} "
            f"at position {bad.start() + 1}; line breaks, tabs, U+0085, U+2028/U+2029 and "
            "bidirectional controls are refused in ids); remove it"
        )
    return value


def _one_or_many(value: Any) -> Any:
    """Let ``pains: "slow delivery"`` mean a list of one."""
    return (value,) if isinstance(value, str) else value


Id = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=_MAX_ID_LENGTH),
    AfterValidator(_check_id),
]
Text = Annotated[str, Strict(), StringConstraints(max_length=_MAX_TEXT_LENGTH)]
Texts = Annotated[tuple[Text, ...], BeforeValidator(_one_or_many)]
Weight = Annotated[float, Strict(), Field(ge=0)]
Weights = Annotated[
    Mapping[Id, Weight],
    AfterValidator(freeze_mapping),
    PlainSerializer(dict, return_type=dict[str, float]),
]
#: Free-form data kept with a map; read-only at every depth (dicts and lists frozen).
Metadata = Annotated[
    Mapping[str, JsonValue],
    AfterValidator(freeze),
    PlainSerializer(thaw, return_type=dict[str, JsonValue]),
]


class _RaisesMapError(ModelMetaclass):
    """``Stage(...)``, ``Touchpoint(...)``, ...: a bad value is a MapError, as for a map.

    Only a call of the class goes through here; pydantic builds nested models (the
    touchpoints of a map) without it, so a map's own error still names each item and
    a big map pays nothing.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise _map_error(exc, kwargs, cls.__name__.lower()) from None


class _Model(BaseModel, metaclass=_RaisesMapError):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        populate_by_name=True,
        serialize_by_alias=True,
    )


class Stage(_Model):
    """An ordered phase of the journey (aware, consider, top of funnel, ...)."""

    id: Id
    name: Text | None = None
    description: Text | None = None

    @property
    def label(self) -> str:
        """The name to show: ``name``, or the id when no name is given."""
        return self.name if self.name is not None else self.id


class Touchpoint(_Model):
    """A moment where the customer meets the brand; it sits in one stage."""

    id: Id
    name: Text | None = None
    stage: Id
    channel: Text | None = None
    owner: Text | None = None
    sentiment: float | None = Field(None, ge=-1, le=1, strict=True)
    pains: Texts = ()
    goals: Texts = ()
    questions: Texts = ()
    notes: Text | None = None

    @property
    def label(self) -> str:
        """The name to show: ``name``, or the id when no name is given."""
        return self.name if self.name is not None else self.id


class Outcome(_Model):
    """Where a journey ends: a conversion, churn, or a competitor. Absorbing."""

    id: Id
    name: Text | None = None
    kind: OutcomeKind

    @property
    def label(self) -> str:
        """The name to show: ``name``, or the id when no name is given."""
        return self.name if self.name is not None else self.id


class Duration(_Model):
    """Mean time a move takes, e.g. ``{mean: 2, unit: day}``.

    Fitted maps also give the ``median`` (in the same unit) and the ``count`` of
    observed gaps the figures come from; analyses use the mean.
    """

    mean: float = Field(ge=0, strict=True)
    unit: Literal["second", "minute", "hour", "day", "week"] = "day"
    median: float | None = Field(None, ge=0, strict=True)
    count: int | None = Field(None, ge=0, strict=True)

    @property
    def hours(self) -> float:
        """The mean duration in hours."""
        return self.mean * _HOURS_PER_UNIT[self.unit]


class Move(_Model):
    """A weighted move of customers from a touchpoint to a touchpoint or an outcome.

    Weights are counts or relative frequencies; each touchpoint's outgoing weights are
    normalised to probabilities.
    """

    source: Id = Field(alias="from")
    target: Id = Field(alias="to")
    weight: Weight
    duration: Duration | None = None


class Persona(_Model):
    """Who the map is about."""

    id: Id
    name: Text | None = None
    description: Text | None = None
    goals: Texts = ()
    pains: Texts = ()

    @property
    def label(self) -> str:
        """The name to show: ``name``, or the id when no name is given."""
        return self.name if self.name is not None else self.id


class _Derived(dict[str, Any]):
    """A frozen map's cache of what is derived from it (arrays, built on first use).

    Not part of the map's value: every cache compares equal to every other, so a map
    that has been analysed still equals (and hashes like) one that has not; a pickled
    or copied cache starts empty. ``model_copy`` shares it between the copies, so each
    entry records the field values it was built from and is used only while they are
    the map's own (:func:`journeygraph.chain.map_arrays` checks by identity).
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Derived)

    def __ne__(self, other: object) -> bool:
        return not isinstance(other, _Derived)

    def __hash__(self) -> int:  # type: ignore[override]
        return 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Derived, ())

    def __copy__(self) -> _Derived:
        return _Derived()

    def __deepcopy__(self, memo: dict[int, Any]) -> _Derived:
        return _Derived()


class JourneyMap(_Model):
    """A customer journey: stages in order, touchpoints, outcomes, entry and moves.

    Construct it from a file with :func:`journeygraph.load`, or in Python with keyword
    arguments (``from``/``to`` or ``source``/``target`` for moves). Invalid maps raise
    :class:`~journeygraph.errors.MapError` listing every problem; a map in which some
    touchpoints cannot reach any outcome raises
    :class:`~journeygraph.errors.NotAbsorbingError`. Touchpoints that no journey can
    reach from the entry are allowed, with a :class:`JourneyGraphWarning`.

    Examples
    --------
    >>> jm = jg.JourneyMap(
    ...     name="tiny",
    ...     stages=[{"id": "aware"}, {"id": "act"}],
    ...     touchpoints=[{"id": "ad", "stage": "aware"}, {"id": "shop", "stage": "act"}],
    ...     outcomes=[{"id": "buy", "kind": "conversion"}, {"id": "gone", "kind": "churn"}],
    ...     entry={"ad": 1},
    ...     moves=[{"from": "ad", "to": "shop", "weight": 3},
    ...            {"from": "ad", "to": "gone", "weight": 1},
    ...            {"from": "shop", "to": "buy", "weight": 1}],
    ... )
    >>> jm
    JourneyMap('tiny', 2 touchpoints, 2 outcomes)
    >>> jm.move_kinds()[("ad", "shop")]
    'forward'
    """

    name: Text
    description: Text | None = None
    persona: Persona | None = None
    stages: tuple[Stage, ...]
    touchpoints: tuple[Touchpoint, ...]
    outcomes: tuple[Outcome, ...]
    entry: Weights
    moves: tuple[Move, ...]
    metadata: Metadata = Field(default_factory=FrozenDict)

    _stage_index: dict[str, int] = PrivateAttr(default_factory=dict)
    _touchpoints: dict[str, Touchpoint] = PrivateAttr(default_factory=dict)
    _outcomes: dict[str, Outcome] = PrivateAttr(default_factory=dict)
    #: Figures derived from the map and built once (the arrays of
    #: :func:`journeygraph.chain.map_arrays`); not part of the map's value.
    _derived: _Derived = PrivateAttr(default_factory=lambda: _Derived())

    def __init__(self, /, **data: Any) -> None:
        try:
            # A big map is ~4 lasting objects a move: no collector passes over them.
            with paused_gc():
                super().__init__(**data)
        except ValidationError as exc:
            raise _map_error(exc, data) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> JourneyMap:
        """Validate a mapping (as read from a file) into a map; errors are MapError."""
        if args or kwargs or not isinstance(obj, Mapping):
            try:
                return super().model_validate(obj, *args, **kwargs)
            except ValidationError as exc:
                raise _map_error(exc, obj) from None
        odd = [k for k in obj if not isinstance(k, str)]
        if odd:
            raise MapError([Problem((), f"keys must be text, found {quoted(odd[0])}; quote it")])
        # Through __init__, so the map is validated exactly once.
        return cls(**obj)

    @classmethod
    def model_validate_json(
        cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any
    ) -> JourneyMap:
        """Validate a map from JSON text; errors (bad JSON too) are MapError.

        Examples
        --------
        >>> try:
        ...     jg.JourneyMap.model_validate_json('{"name": "x"}')
        ... except jg.MapError as exc:
        ...     print(exc.problems[0].message)
        map: missing required key 'stages'
        """
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            raise _map_error(exc, _json_or_none(json_data)) from None

    @classmethod
    def model_validate_strings(cls, obj: Any, *args: Any, **kwargs: Any) -> JourneyMap:
        """Validate a mapping of strings (pydantic's string mode); errors are MapError."""
        try:
            return super().model_validate_strings(obj, *args, **kwargs)
        except ValidationError as exc:
            raise _map_error(exc, obj) from None

    def model_post_init(self, context: Any, /) -> None:
        self._stage_index.update({s.id: i for i, s in enumerate(self.stages)})
        self._touchpoints.update({t.id: t for t in self.touchpoints})
        self._outcomes.update({o.id: o for o in self.outcomes})

    # -- validation ---------------------------------------------------------------

    @model_validator(mode="after")
    def _check_references(self) -> JourneyMap:
        problems = _reference_problems(self)
        if problems:
            raise MapError(problems)
        trapped, unreachable = _reachability(self)
        if trapped:
            order = {t.id: i for i, t in enumerate(self.touchpoints)}
            names = ", ".join(quoted(t) for t in sorted(trapped, key=order.__getitem__))
            raise NotAbsorbingError(
                [
                    Problem(
                        ("moves",),
                        f"no outcome can be reached from touchpoint(s) {names}: journeys "
                        "that get there never end; add a move from one of them to an "
                        "outcome (conversion, churn or competitor)",
                    )
                ]
            )
        if unreachable:
            names = ", ".join(quoted(t) for t in unreachable)
            warnings.warn(
                f"map {quoted(self.name)}: no journey reaches touchpoint(s) {names} from the "
                "entry; their expected visits are 0",
                JourneyGraphWarning,
                stacklevel=2,
            )
        return self

    # -- lookups ------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"JourneyMap({quoted(self.name)}, {len(self.touchpoints)} touchpoints, "
            f"{len(self.outcomes)} outcomes)"
        )

    __str__ = __repr__

    def _repr_svg_(self) -> str:
        """The journey diagram, so notebooks draw the map (see journeygraph.draw)."""
        from journeygraph.draw import render

        svg = render(self, format="svg")
        assert isinstance(svg, str)
        return svg

    def touchpoint(self, touchpoint_id: str) -> Touchpoint:
        """The touchpoint with this id (``KeyError`` with a suggestion if none)."""
        try:
            return self._touchpoints[touchpoint_id]
        except KeyError:
            raise KeyError(_unknown("touchpoint", touchpoint_id, self._touchpoints)) from None

    def outcome(self, outcome_id: str) -> Outcome:
        """The outcome with this id (``KeyError`` with a suggestion if none)."""
        try:
            return self._outcomes[outcome_id]
        except KeyError:
            raise KeyError(_unknown("outcome", outcome_id, self._outcomes)) from None

    def stage_of(self, node_id: str) -> Stage | None:
        """The stage of a touchpoint; ``None`` for an outcome."""
        tp = self._touchpoints.get(node_id)
        if tp is None:
            if node_id in self._outcomes:
                return None
            raise KeyError(_unknown("touchpoint", node_id, self._touchpoints))
        return self.stages[self._stage_index[tp.stage]]

    def stage_position(self, stage_id: str) -> int:
        """Position of a stage in the stage order, starting at 0."""
        return self._stage_index[stage_id]

    def outcomes_of_kind(self, kind: OutcomeKind) -> tuple[Outcome, ...]:
        """The outcomes of one kind, in file order."""
        return tuple(o for o in self.outcomes if o.kind == kind)

    def moves_from(self, touchpoint_id: str) -> tuple[Move, ...]:
        """The moves out of a touchpoint, in file order."""
        return tuple(m for m in self.moves if m.source == touchpoint_id)

    def move_probabilities(self) -> dict[tuple[str, str], float]:
        """Each move's probability: its weight over the total weight out of its touchpoint.

        Weights are scaled by the touchpoint's largest weight first, as in
        :func:`journeygraph.chain.to_chain`, so extreme weights neither overflow nor
        vanish. Keys are ``(from, to)`` in file order.

        Examples
        --------
        >>> jm.move_probabilities()[("ad", "shop")]
        0.75
        """
        largest: dict[str, float] = {}
        for m in self.moves:
            largest[m.source] = max(largest.get(m.source, 0.0), m.weight)
        scaled = {
            (m.source, m.target): m.weight / largest[m.source] if largest[m.source] > 0 else 0.0
            for m in self.moves
        }
        sums: dict[str, float] = {}
        for (src, _), w in scaled.items():
            sums[src] = sums.get(src, 0.0) + w
        return {k: w / sums[k[0]] if sums[k[0]] > 0 else 0.0 for k, w in scaled.items()}

    def move_kind(self, move: Move) -> MoveKind:
        """Classify a move by stage order.

        ``exit`` into an outcome; ``within`` the same stage (including a repeat visit);
        ``forward`` to the next stage; ``skip`` over one or more stages; ``backtrack``
        to an earlier stage.
        """
        if move.target in self._outcomes:
            return "exit"
        here = self._stage_index[self._touchpoints[move.source].stage]
        there = self._stage_index[self._touchpoints[move.target].stage]
        if there == here:
            return "within"
        if there == here + 1:
            return "forward"
        return "skip" if there > here else "backtrack"

    def move_kinds(self) -> dict[tuple[str, str], MoveKind]:
        """Every move's kind, keyed by ``(from, to)``, in file order.

        Examples
        --------
        >>> sorted(set(jm.move_kinds().values()))
        ['exit', 'forward']
        """
        return {(m.source, m.target): self.move_kind(m) for m in self.moves}

    # -- conversions --------------------------------------------------------------

    def to_networkx(self) -> nx.DiGraph:
        """The map as a ``networkx.DiGraph``.

        Nodes are touchpoint and outcome ids with every field as an attribute, plus
        ``node_type`` (``"touchpoint"`` or ``"outcome"``) and ``entry`` (the entry
        weight, touchpoints only). Edges carry ``weight``, ``duration`` (a dict or
        ``None``) and ``move_kind``. ``G.graph`` holds name, description, persona,
        stages and metadata. :meth:`from_networkx` turns it back into an equal map.

        Examples
        --------
        >>> G = jm.to_networkx()
        >>> G.nodes["ad"]["stage"], G.edges["ad", "shop"]["move_kind"]
        ('aware', 'forward')
        >>> jg.JourneyMap.from_networkx(G) == jm
        True
        """
        import networkx as nx

        G = nx.DiGraph()
        G.graph.update(
            name=self.name,
            description=self.description,
            persona=self.persona.model_dump() if self.persona else None,
            stages=[s.model_dump() for s in self.stages],
            metadata=dict(self.metadata),
        )
        for t in self.touchpoints:
            G.add_node(t.id, node_type="touchpoint", entry=self.entry.get(t.id, 0.0), **_attrs(t))
        for o in self.outcomes:
            G.add_node(o.id, node_type="outcome", **_attrs(o))
        for m in self.moves:
            G.add_edge(
                m.source,
                m.target,
                weight=m.weight,
                duration=m.duration.model_dump() if m.duration else None,
                move_kind=self.move_kind(m),
            )
        return G

    @classmethod
    def from_networkx(cls, G: nx.DiGraph) -> JourneyMap:
        """Build a map from a graph shaped like :meth:`to_networkx`'s output.

        Nodes need ``node_type``; touchpoints need ``stage``; outcomes need ``kind``.
        Touchpoints with a positive ``entry`` attribute form the entry. ``G.graph``
        must hold ``stages`` (a list of dicts with ``id``).

        Raises
        ------
        TypeError
            ``G`` is not a networkx graph.
        MapError
            ``G`` is undirected (a move has a direction: pass a ``DiGraph``, or
            ``G.to_directed()`` for a move each way), or a multigraph with parallel
            edges (merge them into one edge); or the map it describes is invalid.
        """
        import networkx as nx

        if not isinstance(G, nx.Graph):
            raise TypeError(f"G must be a networkx.DiGraph, not {kind_of(G)}")
        if not G.is_directed():
            raise MapError(
                [
                    Problem(
                        (),
                        f"the graph is undirected ({type(G).__name__}): an edge has no "
                        "direction, so moves would be lost; pass a networkx.DiGraph, or "
                        "G.to_directed() to make each edge a move both ways",
                    )
                ]
            )
        if G.is_multigraph():
            for u, v in G.edges():
                if G.number_of_edges(u, v) > 1:
                    raise MapError(
                        [
                            Problem(
                                (),
                                f"the graph has {G.number_of_edges(u, v)} parallel edges "
                                f"{quoted(u)} -> {quoted(v)}; a map has one move per pair: "
                                "merge them into one edge with the summed weight and pass "
                                "a networkx.DiGraph",
                            )
                        ]
                    )
        touchpoints, outcomes, entry = [], [], {}
        for node, data in G.nodes(data=True):
            attrs = {k: v for k, v in data.items() if k not in ("node_type", "entry")}
            attrs["id"] = node
            node_type = data.get("node_type")
            if node_type == "touchpoint":
                touchpoints.append(attrs)
                if data.get("entry"):
                    entry[node] = data["entry"]
            elif node_type == "outcome":
                outcomes.append(attrs)
            else:
                raise MapError(
                    [
                        Problem(
                            (),
                            f"graph node {quoted(node)} has node_type {quoted(node_type)}; set it to "
                            "'touchpoint' or 'outcome'",
                        )
                    ]
                )
        moves = []
        for u, v, data in G.edges(data=True):
            move: dict[str, Any] = {"from": u, "to": v, "weight": data.get("weight", 1.0)}
            if data.get("duration") is not None:
                move["duration"] = data["duration"]
            moves.append(move)
        graph = G.graph
        return cls(
            name=graph.get("name", "journey"),
            description=graph.get("description"),
            persona=graph.get("persona"),
            stages=graph.get("stages", []),
            touchpoints=touchpoints,
            outcomes=outcomes,
            entry=entry,
            moves=moves,
            metadata=graph.get("metadata") or {},
        )


def _attrs(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(by_alias=True)
    data.pop("id")
    return data


# -- cross-reference checks -------------------------------------------------------


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    return f"unknown {what} {quoted(name)}{did_you_mean(name, known)}"


def _reference_problems(jm: JourneyMap) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append

    # Ids are shared across stages, touchpoints and outcomes, so each names one thing.
    seen: dict[str, list[tuple[str, int]]] = {}
    for section in ("stages", "touchpoints", "outcomes"):
        for i, item in enumerate(getattr(jm, section)):
            seen.setdefault(item.id, []).append((section, i))
    for ident, places in seen.items():
        if len(places) > 1:
            where = ", ".join(f"{sec[:-1]} #{i + 1}" for sec, i in places)
            add(
                Problem(
                    (places[-1][0], places[-1][1], "id"),
                    f"duplicate id {quoted(ident)}: used by {where}; give each stage, "
                    "touchpoint and outcome its own id",
                )
            )

    stages = {s.id for s in jm.stages}
    touchpoints = {t.id for t in jm.touchpoints}
    outcomes = {o.id for o in jm.outcomes}
    nodes = touchpoints | outcomes

    for i, t in enumerate(jm.touchpoints):
        if t.stage not in stages:
            add(
                Problem(
                    ("touchpoints", i, "stage"),
                    f"touchpoint {quoted(t.id)}: {_unknown('stage', t.stage, stages)}; stages are "
                    f"{_listing(s.id for s in jm.stages)}",
                )
            )

    if not jm.outcomes:
        add(
            Problem(
                ("outcomes",),
                "the map has no outcomes; add at least one, e.g. "
                "{id: purchase, kind: conversion} and {id: lost, kind: churn}",
            )
        )
    if not jm.touchpoints:
        add(Problem(("touchpoints",), "the map has no touchpoints; add at least one"))

    if not jm.entry:
        add(
            Problem(
                ("entry",),
                "the entry is empty: say where journeys start, e.g. entry: {social_ad: 100}",
            )
        )
    else:
        for ident in jm.entry:
            if ident in outcomes:
                add(
                    Problem(
                        ("entry", ident),
                        f"entry names outcome {quoted(ident)}; journeys must start at a touchpoint",
                    )
                )
            elif ident not in touchpoints:
                add(
                    Problem(
                        ("entry", ident), f"entry: {_unknown('touchpoint', ident, touchpoints)}"
                    )
                )
        if sum(jm.entry.values()) <= 0:
            add(Problem(("entry",), "all entry weights are 0; give at least one a positive weight"))

    # The moves are read once, at C level, into the columns the analysis needs
    # (MoveColumns, kept with the map); only a map with a bad move goes through the
    # Python loop, which words its problems.
    unique_ids = len(seen) == len(jm.stages) + len(jm.touchpoints) + len(jm.outcomes)
    columns = read_columns(jm) if unique_ids else None
    if columns is not None:
        jm._derived["columns"] = (column_fields(jm), columns)
        out_count, out_weight = out_totals(columns, len(jm.touchpoints))
    else:
        counts, sums = _move_problems(jm, touchpoints, outcomes, nodes, add)
        out_count = [counts[t.id] for t in jm.touchpoints]
        out_weight = [sums[t.id] for t in jm.touchpoints]

    for i, t in enumerate(jm.touchpoints):
        if out_count[i] == 0:
            add(
                Problem(
                    ("touchpoints", i, "id"),
                    f"touchpoint {quoted(t.id)} has no way out: add a move from it to another "
                    "touchpoint or to an outcome",
                )
            )
        elif out_weight[i] <= 0:
            add(
                Problem(
                    ("touchpoints", i, "id"),
                    f"touchpoint {quoted(t.id)}: all its outgoing moves have weight 0; give at "
                    "least one a positive weight",
                )
            )
    return problems


def _move_problems(
    jm: JourneyMap,
    touchpoints: set[str],
    outcomes: set[str],
    nodes: set[str],
    add: Callable[[Problem], None],
) -> tuple[dict[str, int], dict[str, float]]:
    """Word every problem of the moves, in move order; the count and weight out of each touchpoint."""
    pairs: set[tuple[str, str]] = set()
    repeated: set[tuple[str, str]] = set()
    out_weight: dict[str, float] = dict.fromkeys(touchpoints, 0.0)
    out_count: dict[str, int] = dict.fromkeys(touchpoints, 0)
    for i, m in enumerate(jm.moves):
        source, target = m.source, m.target
        if source in outcomes:
            add(
                Problem(
                    ("moves", i, "from"),
                    f"{_move_label(m)}: outcomes are where journeys end, so no move can leave "
                    f"{quoted(source)}; remove the move or make {quoted(source)} a touchpoint",
                )
            )
        elif source not in touchpoints:
            add(
                Problem(
                    ("moves", i, "from"),
                    f"{_move_label(m)}: {_unknown('touchpoint', source, nodes)}",
                )
            )
        if source in out_weight:
            out_weight[source] += m.weight
            out_count[source] += 1
        if target not in nodes:
            add(
                Problem(
                    ("moves", i, "to"), f"{_move_label(m)}: {_unknown('touchpoint', target, nodes)}"
                )
            )
        pair = (source, target)
        if pair in pairs:
            if pair not in repeated:
                repeated.add(pair)
                add(
                    Problem(
                        ("moves", i),
                        f"{_move_label(m)} appears more than once; merge the moves into one "
                        "and add their weights",
                    )
                )
        else:
            pairs.add(pair)
    return out_count, out_weight


def _move_label(m: Move) -> str:
    return f"move {quoted(m.source)} -> {quoted(m.target)}"


def _listing(items: Iterable[str], limit: int = 8) -> str:
    items = list(items)
    shown = ", ".join(quoted(s) for s in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _reachability(jm: JourneyMap) -> tuple[set[str], list[str]]:
    """Touchpoints that reach no outcome, and those no journey reaches (in file order).

    Along positive-weight moves only. Read from the move columns kept by
    :func:`_reference_problems` when they are this map's own; else from the models.
    """
    hit = jm._derived.get("columns")
    if hit is None or any(a is not b for a, b in zip(hit[0], column_fields(jm), strict=True)):
        forward, back = _positive_edges(jm)
        return _trapped_touchpoints(jm, back), _unreachable_touchpoints(jm, forward)
    t = len(jm.touchpoints)
    size = t + len(jm.outcomes)
    position = {tp.id: i for i, tp in enumerate(jm.touchpoints)}
    starts = [position[e] for e, w in jm.entry.items() if w > 0]
    good = reached(hit[1], size, range(t, size), backward=True)[:t]
    seen = reached(hit[1], size, starts, backward=False)[:t]
    trapped = {tp.id for tp, ok in zip(jm.touchpoints, good, strict=True) if not ok}
    return trapped, [tp.id for tp, ok in zip(jm.touchpoints, seen, strict=True) if not ok]


def _positive_edges(jm: JourneyMap) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Targets and sources of each node along positive-weight moves (one pass)."""
    forward: dict[str, list[str]] = {}
    back: dict[str, list[str]] = {}
    for m in jm.moves:
        if m.weight > 0:
            source, target = m.source, m.target
            if source in forward:
                forward[source].append(target)
            else:
                forward[source] = [target]
            if target in back:
                back[target].append(source)
            else:
                back[target] = [source]
    return forward, back


def _reached(starts: Iterable[str], edges: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    queue = deque(seen)
    pop, push, no_edges = queue.popleft, queue.append, ()
    while queue:
        for v in edges.get(pop(), no_edges):
            if v not in seen:
                seen.add(v)
                push(v)
    return seen


def _trapped_touchpoints(jm: JourneyMap, back: dict[str, list[str]]) -> set[str]:
    """Touchpoints from which no outcome is reachable along positive-weight moves."""
    good = _reached((o.id for o in jm.outcomes), back)
    return {t.id for t in jm.touchpoints} - good


def _unreachable_touchpoints(jm: JourneyMap, forward: dict[str, list[str]]) -> list[str]:
    """Touchpoints no journey reaches from the entry, in file order."""
    seen = _reached((t for t, w in jm.entry.items() if w > 0), forward)
    return [t.id for t in jm.touchpoints if t.id not in seen]


# -- pydantic errors -> MapError ----------------------------------------------------

_SECTION_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): JourneyMap,
    ("persona",): Persona,
    ("stages",): Stage,
    ("touchpoints",): Touchpoint,
    ("outcomes",): Outcome,
    ("moves",): Move,
    ("moves", "duration"): Duration,
}


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _describe_item(loc: tuple[str | int, ...], data: Any, what: str = "map") -> str:
    """A readable name for the item at ``loc``: "move 'a' -> 'b'", "touchpoint 'x'"."""
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data, Mapping):
        section, index = loc[0], loc[1]
        items = data.get(section)
        item = items[index] if isinstance(items, list | tuple) and index < len(items) else None
        if isinstance(item, Mapping):
            if section == "moves":
                src = item.get("from", item.get("source"))
                dst = item.get("to", item.get("target"))
                return f"move #{index + 1} ({quoted(src)} -> {quoted(dst)})"
            if isinstance(item.get("id"), str):
                return f"{str(section)[:-1]} {quoted(item['id'])}"
        return f"{str(section)[:-1]} #{index + 1}"
    if not loc and what != "map" and isinstance(data, Mapping):
        ident = data.get("id")
        return f"{what} {quoted(ident)}" if isinstance(ident, str) else what
    return ".".join(str(p) if len(str(p)) <= 40 else quoted(p, 40) for p in loc) or what


_YAML_TYPE_NAMES = {
    bool: "a yes/no value (true/false)",
    int: "a number",
    float: "a number",
    datetime.date: "a date",
    datetime.datetime: "a date and time",
}


def _map_error(exc: ValidationError, data: Any, what: str = "map") -> MapError:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, MapError):
            if isinstance(inner, NotAbsorbingError) and len(exc.errors()) == 1:
                return inner
            problems.extend(inner.problems)
            continue
        where = _describe_item(loc[:-1], data, what)
        key = str(loc[-1]) if loc else ""
        kind = err["type"]
        value = err.get("input")
        if kind == "json_invalid":
            problems.append(
                Problem(
                    loc, f"{where}: not valid JSON ({err['msg']}); check the text at that place"
                )
            )
        elif kind == "extra_forbidden":
            section = tuple(str(p) for p in loc[:-1] if not isinstance(p, int))
            model = _SECTION_MODELS.get(section)
            valid = _keys_of(model) if model else []
            hint = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            fix = f"did you mean {hint[0]!r}?" if hint else f"valid keys: {', '.join(valid)}"
            problems.append(Problem(loc, f"{where}: unknown key {quoted(key)} ({fix})"))
        elif kind == "missing":
            problems.append(Problem(loc, f"{where}: missing required key {quoted(key)}"))
        elif kind == "string_type" and type(value) in _YAML_TYPE_NAMES:
            problems.append(
                Problem(
                    loc,
                    f"{where}: {quoted(key)} must be text, but {quoted(value)} was read as "
                    f"{_YAML_TYPE_NAMES[type(value)]}; put it in quotes, e.g. "
                    f'{key}: "{_yaml_spelling(value)}"',
                )
            )
        elif kind in ("float_type", "finite_number", "greater_than_equal", "less_than_equal"):
            problems.append(
                Problem(loc, f"{where}: {quoted(key)} is {quoted(value)}; {_number_rule(loc, err)}")
            )
        elif kind == "string_type":
            problems.append(
                Problem(loc, f"{where}: {quoted(key)} must be text, not {quoted(value)}")
            )
        elif kind == "string_too_long":
            problems.append(Problem(loc, f"{where}: {_too_long(key, value, ctx)}"))
        elif kind == "value_error" and key in _ID_KEYS:
            problems.append(
                Problem(loc, f"{where}: {key!r} is {quoted(value)}: {ctx.get('error', '')!s}")
            )
        else:
            problems.append(
                Problem(loc, f"{where}: {quoted(key)}: {err['msg']} (found {quoted(value)})")
            )
    return MapError(problems)


#: Keys whose value is an id (the id checks' messages start with "must").
_ID_KEYS = {"id", "stage", "from", "to", "source", "target"}


def _too_long(key: str, value: Any, ctx: Mapping[str, Any]) -> str:
    limit = ctx.get("max_length", _MAX_TEXT_LENGTH)
    size = len(value) if isinstance(value, str) else 0
    what = "an id" if key in _ID_KEYS or limit == _MAX_ID_LENGTH else "this text"
    fix = (
        "use a shorter id and put the long text in 'name' or 'notes'"
        if what == "an id"
        else "shorten it"
    )
    return (
        f"{key!r} is {size:,} characters long ({quoted(value)}), over the limit of "
        f"{limit:,} for {what}; {fix}"
    )


def _yaml_spelling(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _number_rule(loc: tuple[str | int, ...], err: Any) -> str:
    key = str(loc[-1]) if loc else ""
    if (loc and loc[0] == "entry") or key == "weight":
        return "weights must be finite numbers >= 0 (counts or relative frequencies)"
    if key == "sentiment":
        return "sentiment must be a number from -1 (negative) to +1 (positive)"
    if key == "mean":
        return "a duration's mean must be a finite number >= 0"
    return str(err["msg"]).lower()


def _json_or_none(text: str | bytes | bytearray) -> Any:
    """The parsed JSON, for naming items in an error message; None if it does not parse."""
    import json

    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None


#: What every function that reads a map takes: a map, or a path to a map file (loaded
#: with :func:`journeygraph.load`).
MapSource: TypeAlias = JourneyMap | str | os.PathLike[str]
