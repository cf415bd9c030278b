"""What-if scenarios: derive a new journey map from analyst edits.

Each edit is a small immutable object; :func:`whatif` applies them in order to a copy of
the map and returns a new, fully validated :class:`~journeygraph.model.JourneyMap`. The
original map is never changed. The new map's ``metadata["whatif"]`` lists the edits.

>>> future = jg.whatif(jm, jg.ReduceChurn("ad", 0.5))
>>> [(m.source, m.target, m.weight) for m in future.moves_from("ad")]
[('ad', 'shop', 3.5), ('ad', 'gone', 0.5)]

See ``docs/simulation-and-scenarios.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from pydantic import ValidationError

from journeygraph import _args
from journeygraph.errors import MapError, Problem, did_you_mean
from journeygraph.model import Duration, JourneyMap, MapSource, Move, Touchpoint

__all__ = [
    "AddMove",
    "AddTouchpoint",
    "CutMove",
    "Edit",
    "ReduceChurn",
    "RemoveTouchpoint",
    "Reweight",
    "whatif",
]


class _Draft:
    """A mutable copy of a map's content while edits are applied."""

    def __init__(self, jm: JourneyMap) -> None:
        data = jm.model_dump(by_alias=True)
        self.data = data
        self.touchpoints: list[dict[str, Any]] = list(data["touchpoints"])
        self.outcomes: list[dict[str, Any]] = list(data["outcomes"])
        self.entry: dict[str, float] = dict(data["entry"])
        self.moves: dict[tuple[str, str], dict[str, Any]] = {
            (m["from"], m["to"]): m for m in data["moves"]
        }

    def touchpoint_ids(self) -> list[str]:
        return [t["id"] for t in self.touchpoints]

    def outcome_kinds(self) -> dict[str, str]:
        return {o["id"]: o["kind"] for o in self.outcomes}

    def all_ids(self) -> set[str]:
        stages = {s["id"] for s in self.data["stages"]}
        return stages | set(self.touchpoint_ids()) | set(self.outcome_kinds())

    def moves_from(self, source: str) -> list[dict[str, Any]]:
        return [m for (s, _), m in self.moves.items() if s == source]

    def finish(self, name: str | None, notes: list[dict[str, Any]]) -> dict[str, Any]:
        data = dict(self.data)
        data["touchpoints"] = self.touchpoints
        data["outcomes"] = self.outcomes
        data["entry"] = self.entry
        data["moves"] = list(self.moves.values())
        if name is not None:
            data["name"] = name
        metadata = dict(data.get("metadata") or {})
        earlier = metadata.get("whatif")
        metadata["whatif"] = [*(earlier if isinstance(earlier, list) else []), *notes]
        data["metadata"] = metadata
        return data


@dataclass(frozen=True)
class Edit:
    """Base class of the what-if edits; apply them with :func:`whatif`."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: ``{"edit": class name, field: value, ...}``."""
        out: dict[str, Any] = {"edit": type(self).__name__}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Touchpoint | Move | Duration):
                value = value.model_dump(mode="json", by_alias=True, exclude_defaults=True)
            elif isinstance(value, tuple):
                value = [
                    v.model_dump(mode="json", by_alias=True, exclude_defaults=True)
                    if isinstance(v, Move)
                    else v
                    for v in value
                ]
            out[f.name] = value
        return out

    def _apply(self, draft: _Draft) -> None:
        raise NotImplementedError  # pragma: no cover - every edit overrides it

    def _error(self, message: str) -> MapError:
        return MapError([Problem(("whatif",), f"what-if edit {self!r}: {message}")])

    def _touchpoint(self, draft: _Draft, ident: str) -> None:
        ids = draft.touchpoint_ids()
        if ident not in ids:
            raise self._error(f"unknown touchpoint {ident!r}{did_you_mean(ident, ids)}")

    def _move(self, draft: _Draft, source: str, target: str) -> dict[str, Any]:
        self._touchpoint(draft, source)
        move = draft.moves.get((source, target))
        if move is None:
            targets = [t for (s, t) in draft.moves if s == source]
            raise self._error(
                f"the map has no move {source!r} -> {target!r}{did_you_mean(target, targets)}; "
                f"moves from {source!r} go to {', '.join(map(repr, targets))}"
            )
        return move

    def _still_leaves(self, draft: _Draft, source: str) -> None:
        if not any(m["weight"] > 0 for m in draft.moves_from(source)):
            raise self._error(
                f"touchpoint {source!r} would have no way out (no move with a positive weight); "
                "keep or add another move from it"
            )


def _check_number(edit: Edit, name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise edit._error(f"{name} must be a number, not {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        span = f"between {low:g} and {high:g}" if high < math.inf else f">= {low:g}"
        raise edit._error(f"{name} must be a finite number {span}, not {value!r}")


@dataclass(frozen=True)
class Reweight(Edit):
    """Give the move ``source -> target`` a new weight, or scale its weight.

    Pass exactly one of ``weight`` (in the map's own units, e.g. counts) or ``scale``
    (``scale=2`` doubles the move). The touchpoint's other moves keep their weights, so
    its probabilities are renormalised.
    """

    source: str
    target: str
    weight: float | None = None
    scale: float | None = None

    def __post_init__(self) -> None:
        if (self.weight is None) == (self.scale is None):
            raise self._error("give exactly one of weight= or scale=")
        if self.weight is not None:
            _check_number(self, "weight", self.weight, 0.0, math.inf)
        if self.scale is not None:
            _check_number(self, "scale", self.scale, 0.0, math.inf)

    def _apply(self, draft: _Draft) -> None:
        move = self._move(draft, self.source, self.target)
        if self.weight is not None:
            move["weight"] = float(self.weight)
        else:
            move["weight"] = float(move["weight"]) * float(self.scale or 0.0)
        self._still_leaves(draft, self.source)


@dataclass(frozen=True)
class CutMove(Edit):
    """Remove the move ``source -> target``; the touchpoint's other moves renormalise."""

    source: str
    target: str

    def _apply(self, draft: _Draft) -> None:
        self._move(draft, self.source, self.target)
        del draft.moves[(self.source, self.target)]
        self._still_leaves(draft, self.source)


@dataclass(frozen=True)
class AddMove(Edit):
    """Add a new move ``source -> target`` (to a touchpoint or an outcome)."""

    source: str
    target: str
    weight: float
    duration: Duration | Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _check_number(self, "weight", self.weight, 0.0, math.inf)
        if self.duration is not None and not isinstance(self.duration, Duration):
            try:
                object.__setattr__(self, "duration", Duration.model_validate(self.duration))
            except ValidationError as exc:
                raise self._error(f"bad duration: {_first_message(exc)}") from None

    def _apply(self, draft: _Draft) -> None:
        self._touchpoint(draft, self.source)
        nodes = draft.touchpoint_ids() + list(draft.outcome_kinds())
        if self.target not in nodes:
            raise self._error(f"unknown target {self.target!r}{did_you_mean(self.target, nodes)}")
        if (self.source, self.target) in draft.moves:
            raise self._error("the move already exists; change it with Reweight")
        duration = self.duration.model_dump() if isinstance(self.duration, Duration) else None
        draft.moves[(self.source, self.target)] = {
            "from": self.source,
            "to": self.target,
            "weight": float(self.weight),
            "duration": duration,
        }


@dataclass(frozen=True)
class ReduceChurn(Edit):
    """Cut a touchpoint's churn exits by ``fraction`` (0 to 1) — "fix a leak".

    The weight taken from its moves into churn outcomes is given to its other moves
    (touchpoints, conversion, competitors) in proportion to their weights, so the
    touchpoint's total weight is unchanged. ``fraction=1`` removes the churn entirely.
    This is the edit behind the sensitivity figures of :func:`journeygraph.analyze`.
    """

    touchpoint: str
    fraction: float

    def __post_init__(self) -> None:
        _check_number(self, "fraction", self.fraction, 0.0, 1.0)

    def _apply(self, draft: _Draft) -> None:
        self._touchpoint(draft, self.touchpoint)
        kinds = draft.outcome_kinds()
        moves = [m for m in draft.moves_from(self.touchpoint) if m["weight"] > 0]
        churn = [m for m in moves if kinds.get(m["to"]) == "churn"]
        others = [m for m in moves if kinds.get(m["to"]) != "churn"]
        if not churn:
            raise self._error(f"touchpoint {self.touchpoint!r} has no move to a churn outcome")
        if not others and self.fraction > 0:
            raise self._error(
                f"every move from {self.touchpoint!r} goes to churn, so there is no other "
                "move to give the kept customers to; add one first with AddMove"
            )
        # Scale by the largest weight first so extreme weights neither overflow nor vanish.
        top = max(m["weight"] for m in moves)
        lost = sum(m["weight"] / top for m in churn)
        kept = sum(m["weight"] / top for m in others)
        for m in churn:
            m["weight"] *= 1.0 - self.fraction
        if others:
            grow = (kept + self.fraction * lost) / kept
            for m in others:
                m["weight"] *= grow


@dataclass(frozen=True)
class RemoveTouchpoint(Edit):
    """Take a touchpoint out of the journey.

    ``redirect`` says what happens to the customers who would have moved into it:

    - ``"churn"`` (default): they are lost — each move into the touchpoint becomes a
      move into the map's first churn outcome (one named ``lost`` is added if the map
      has none). This is the removal effect of the Markov attribution literature.
    - an outcome id: they end there instead (e.g. a competitor).
    - ``"drop"``: the moves into it are deleted, so those customers take the source's
      other moves in proportion (the source's probabilities renormalise).

    Its own moves are deleted. Its entry weight is dropped: a map can only start
    journeys at touchpoints, so the remaining entry is renormalised and figures of the
    edited map are per remaining entrant (multiply by ``1 - entry share`` for per
    original entrant).
    """

    touchpoint: str
    redirect: str | Literal["churn", "drop"] = "churn"

    def _apply(self, draft: _Draft) -> None:
        gone = self.touchpoint
        self._touchpoint(draft, gone)
        kinds = draft.outcome_kinds()
        target: str | None = None
        if self.redirect == "churn":
            target = next((o for o, k in kinds.items() if k == "churn"), None)
            if target is None:
                target = _fresh_id("lost", draft.all_ids())
                draft.outcomes.append({"id": target, "name": None, "kind": "churn"})
        elif self.redirect != "drop":
            if self.redirect not in kinds:
                raise self._error(
                    f"redirect must be 'churn', 'drop' or an outcome id; unknown outcome "
                    f"{self.redirect!r}{did_you_mean(self.redirect, kinds)}"
                )
            target = self.redirect

        if not any(w > 0 for t, w in draft.entry.items() if t != gone):
            raise self._error(
                f"every journey starts at {gone!r}; removing it leaves the map without an entry"
            )
        draft.entry.pop(gone, None)

        moves: dict[tuple[str, str], dict[str, Any]] = {}
        for (src, dst), move in draft.moves.items():
            if src == gone:
                continue
            if dst != gone:
                moves.setdefault((src, dst), move)
                continue
            if target is None:  # drop
                continue
            existing = moves.get((src, target)) or draft.moves.get((src, target))
            if existing is None:
                moves[(src, target)] = {**move, "to": target}
            else:
                _merge_into(existing, move)
                moves[(src, target)] = existing
        draft.moves = moves
        draft.touchpoints[:] = [t for t in draft.touchpoints if t["id"] != gone]
        stranded = [
            t
            for t in draft.touchpoint_ids()
            if not any(m["weight"] > 0 for m in draft.moves_from(t))
        ]
        if stranded:
            raise self._error(
                f"touchpoint(s) {', '.join(map(repr, stranded))} would have no way out, "
                f"because every move from them went to {gone!r}; use redirect='churn'"
            )


@dataclass(frozen=True)
class AddTouchpoint(Edit):
    """Add a touchpoint with its moves (into it and out of it) and an entry weight.

    ``touchpoint`` and each move may be a model or a dict as in a map file, e.g.
    ``AddTouchpoint({"id": "chat", "stage": "act"}, moves=[{"from": "shop", "to":
    "chat", "weight": 5}, {"from": "chat", "to": "buy", "weight": 3}])``. Every move
    must start or end at the new touchpoint (use :class:`AddMove` for others).
    """

    touchpoint: Touchpoint | Mapping[str, Any]
    moves: Sequence[Move | Mapping[str, Any]] = ()
    entry: float = 0.0

    def __post_init__(self) -> None:
        _check_number(self, "entry", self.entry, 0.0, math.inf)
        try:
            tp = (
                self.touchpoint
                if isinstance(self.touchpoint, Touchpoint)
                else Touchpoint.model_validate(self.touchpoint)
            )
            moves = tuple(m if isinstance(m, Move) else Move.model_validate(m) for m in self.moves)
        except ValidationError as exc:
            raise self._error(_first_message(exc)) from None
        object.__setattr__(self, "touchpoint", tp)
        object.__setattr__(self, "moves", moves)
        for m in moves:
            if tp.id not in (m.source, m.target):
                raise self._error(
                    f"move {m.source!r} -> {m.target!r} does not start or end at {tp.id!r}; "
                    "add it with AddMove"
                )

    def __repr__(self) -> str:
        tp = self.touchpoint
        ident = tp.id if isinstance(tp, Touchpoint) else tp.get("id")
        return f"AddTouchpoint({ident!r}, {len(self.moves)} moves, entry={self.entry!r})"

    def _apply(self, draft: _Draft) -> None:
        assert isinstance(self.touchpoint, Touchpoint)
        tp = self.touchpoint
        if tp.id in draft.all_ids():
            raise self._error(f"the id {tp.id!r} is already used in the map; choose another")
        stages = [s["id"] for s in draft.data["stages"]]
        if tp.stage not in stages:
            raise self._error(f"unknown stage {tp.stage!r}{did_you_mean(tp.stage, stages)}")
        nodes = [*draft.touchpoint_ids(), tp.id, *draft.outcome_kinds()]
        draft.touchpoints.append(tp.model_dump(by_alias=True))
        for m in self.moves:
            assert isinstance(m, Move)
            for end in (m.source, m.target):
                if end not in nodes:
                    raise self._error(
                        f"move {m.source!r} -> {m.target!r}: unknown {end!r}"
                        f"{did_you_mean(end, nodes)}"
                    )
            if m.source in draft.outcome_kinds():
                raise self._error(f"move {m.source!r} -> {m.target!r} leaves an outcome")
            if (m.source, m.target) in draft.moves:
                raise self._error(f"move {m.source!r} -> {m.target!r} is given twice")
            draft.moves[(m.source, m.target)] = m.model_dump(by_alias=True)
        if self.entry > 0:
            draft.entry[tp.id] = float(self.entry)


def whatif(jm: MapSource, *edits: Edit, name: str | None = None) -> JourneyMap:
    """A new map with the edits applied in order; ``jm`` is not changed.

    Parameters
    ----------
    jm
        The map to start from.
    *edits
        :class:`Reweight`, :class:`CutMove`, :class:`AddMove`, :class:`ReduceChurn`,
        :class:`RemoveTouchpoint`, :class:`AddTouchpoint`, applied left to right.
    name
        Name of the new map (default: the same name).

    Returns
    -------
    JourneyMap
        Validated like any map; ``metadata["whatif"]`` lists the edits (each edit's
        :meth:`Edit.to_dict`), after any from earlier what-ifs.

    Raises
    ------
    MapError
        An edit names an unknown touchpoint, move or outcome, has a value out of
        range, or leaves the map invalid; the message names the edit.
    NotAbsorbingError
        The edits leave touchpoints from which no outcome can be reached.

    Examples
    --------
    >>> cut = jg.whatif(jm, jg.CutMove("ad", "gone"), name="no drop-off at the ad")
    >>> cut.name, [m.target for m in cut.moves_from("ad")], len(jm.moves)
    ('no drop-off at the ad', ['shop'], 3)
    >>> cut.metadata["whatif"]
    [{'edit': 'CutMove', 'source': 'ad', 'target': 'gone'}]
    """
    jm = _args.journey_map(jm, "jm")
    name = _args.optional_text(name, "name")
    draft = _Draft(jm)
    for edit in edits:
        if not isinstance(edit, Edit):
            raise MapError(
                [
                    Problem(
                        ("whatif",),
                        f"what-if: {edit!r} is not an edit; use jg.Reweight, jg.CutMove, "
                        "jg.AddMove, jg.ReduceChurn, jg.RemoveTouchpoint or jg.AddTouchpoint",
                    )
                ]
            )
        edit._apply(draft)
    data = draft.finish(name, [e.to_dict() for e in edits])
    try:
        return JourneyMap.model_validate(data)
    except MapError as exc:
        listing = ", ".join(repr(e) for e in edits)
        raise type(exc)(
            [Problem(p.loc, f"after what-if edits {listing}: {p.message}") for p in exc.problems]
        ) from None


def _merge_into(existing: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add ``extra``'s weight to ``existing``, keeping the expected duration of the pair.

    The merged mean duration is the weight-averaged mean (a move without a duration
    counts as 0), so ``(P∘D) 1`` — the expected time of the next move — is unchanged.
    """
    w1, w2 = existing["weight"], extra["weight"]
    d1, d2 = existing.get("duration"), extra.get("duration")
    if (d1 is not None or d2 is not None) and w1 + w2 > 0:
        h1 = Duration.model_validate(d1).hours if d1 else 0.0
        h2 = Duration.model_validate(d2).hours if d2 else 0.0
        top = max(w1, w2)
        hours = ((w1 / top) * h1 + (w2 / top) * h2) / ((w1 + w2) / top)
        existing["duration"] = {"mean": hours, "unit": "hour"}
    existing["weight"] = w1 + w2


def _fresh_id(base: str, taken: set[str]) -> str:
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    return ident


def _first_message(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']} (found {err.get('input')!r})"
