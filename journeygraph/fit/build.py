"""The map builder: counts become a validated :class:`~journeygraph.model.JourneyMap` (stages, templates, outcomes, censoring)."""

from __future__ import annotations

import os
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np

from journeygraph._blas import one_blas_thread
from journeygraph._gc import paused_gc
from journeygraph.errors import (
    EventLogError,
    JourneyGraphError,
    JourneyGraphWarning,
    MapError,
    did_you_mean,
)
from journeygraph.fit.order import _state, state_id
from journeygraph.fit.report import FitReport
from journeygraph.fit.spec import (
    CENSORED,
    CHURN,
    MOVE,
    TO_OUTCOME,
    Counts,
    Spec,
)
from journeygraph.model import OUTCOME_KINDS, JourneyMap, Persona, Stage

__all__ = ["Gaps", "Row"]


#: One row of the count table (see :class:`~journeygraph.fit.spec.Counts`).
Row = tuple[str, str | None, str, bool, bool, int, str | None, int]


#: Move durations: (segment, previous, item, next) -> (total, count, median).
Gaps = dict[tuple[str, str | None, str, str], tuple[float, int, float | None]]


#: Units a fitted duration is given in, largest first, in microseconds.
_UNITS_US = (
    ("week", 604_800e6),
    ("day", 86_400e6),
    ("hour", 3_600e6),
    ("minute", 60e6),
    ("second", 1e6),
)


def _duration_unit(durations: Gaps) -> tuple[str, float]:
    """The largest unit that the mean observed gap of the whole log reaches (else second)."""
    total = sum(v[0] for v in durations.values())
    count = sum(v[1] for v in durations.values())
    mean = total / count if count else 0.0
    for unit, size in _UNITS_US:
        if mean >= size:
            return unit, size
    return _UNITS_US[-1]


# -- maps from counts -----------------------------------------------------------------


def _outcome_kinds(outcomes: Mapping[str, str] | JourneyMap | None) -> dict[str, str]:
    if outcomes is None:
        return {}
    if isinstance(outcomes, JourneyMap):
        return {o.id: o.kind for o in outcomes.outcomes}
    if not isinstance(outcomes, Mapping):
        raise EventLogError(
            "outcomes= must map event values to kinds, e.g. {'purchase': 'conversion'}"
        )
    kinds = {}
    for value, kind in outcomes.items():
        if kind not in OUTCOME_KINDS:
            raise EventLogError(
                f"outcomes: {value!r} -> {kind!r} is not an outcome kind; use one of "
                f"{', '.join(OUTCOME_KINDS)}{did_you_mean(kind, OUTCOME_KINDS)}"
            )
        kinds[str(value)] = str(kind)
    return kinds


def _maps_from_counts(
    counts: Counts,
    spec: Spec,
    kinds: dict[str, str],
    *,
    where: str,
    name: str,
    stages: Any,
    churn: str,
    unknown: str,
    strict: bool,
    template: JourneyMap | None = None,
    declared: set[str] | None = None,
    allow_no_conversion: bool = False,
) -> JourneyMap | dict[str, JourneyMap]:
    dropped = dict(counts.dropped)
    dropped["outcome_without_touchpoint"] = sum(r[7] for r in counts.rows if r[3] and r[4])
    if strict and any(dropped.values()):
        reasons = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in dropped.items() if v)
        extra = ""
        if counts.capped_customers:
            extra = f" (capped: {', '.join(repr(c) for c in counts.capped_customers[:5])})"
        raise EventLogError(
            f"{where}: strict=True and rows were dropped: {reasons}{extra}; clean the log "
            "or fit without strict=True to count them in the report"
        )
    rows = [r for r in counts.rows if not (r[3] and r[4])]
    journeys_total = sum(r[7] for r in rows if not r[3] and r[4])
    if journeys_total == 0:
        what = "the log is empty" if counts.input_rows == 0 else "every row was dropped"
        reasons = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in dropped.items() if v)
        raise EventLogError(
            f"{where}: no journeys to fit: {what}" + (f" ({reasons})" if reasons else "")
        )

    _check_outcomes_occur(counts.rows, spec, declared or set(), where)

    # Pooled first-order counts decide the touchpoints, outcomes and stages, so every
    # segment map has the same stages (ready for jg.compare).
    pooled_entry: dict[str, float] = defaultdict(float)
    pooled_moves: dict[tuple[str, str], float] = defaultdict(float)
    ends: dict[str, float] = defaultdict(float)
    for _s, _p, item, is_out, st, kind, nxt, n in rows:
        if is_out:
            continue
        if st:
            pooled_entry[item] += n
        if kind in (MOVE, TO_OUTCOME):
            pooled_moves[(item, str(nxt))] += n
        elif kind == CHURN:
            pooled_moves[(item, churn)] += n
        else:
            ends[item] += n
    touchpoints = sorted({r[2] for r in rows if not r[3]})
    clash = churn in touchpoints or churn in kinds
    if clash and any(o == churn for (_, o) in pooled_moves):
        raise EventLogError(
            f"{where}: {churn!r} is already a touchpoint or outcome value; pass churn= "
            "with another id for the outcome of journeys that end without an outcome event"
        )
    _check_absorbing(touchpoints, pooled_moves, ends, where)
    stage_of, stage_list, details = _stages(
        stages, touchpoints, pooled_entry, pooled_moves, unknown, where
    )
    seen_outcomes = sorted({str(r[6]) for r in rows if r[5] == TO_OUTCOME})
    conversions = [o for o, k in kinds.items() if k == "conversion"]
    if (
        conversions
        and not allow_no_conversion
        and not any(kinds[o] == "conversion" for o in seen_outcomes)
    ):
        shown = ", ".join(repr(o) for o in conversions[:5])
        raise EventLogError(
            f"{where}: no journey ends in a conversion: the conversion outcome(s) {shown} "
            "never follow a touchpoint in a journey, so the map would show 0 % conversion; "
            "check outcomes= (and rename=), or pass allow_no_conversion=True "
            "(--allow-no-conversion) if the log really has none"
        )
    # Outcomes in the template's order (its names too), then the others by id.
    template_outcomes = [o.id for o in template.outcomes] if template is not None else []
    seen_outcomes.sort(
        key=lambda o: (
            template_outcomes.index(o) if o in template_outcomes else len(template_outcomes),
            o,
        )
    )
    outcome_kinds = {o: kinds[o] for o in seen_outcomes}
    if any(o == churn for (_, o) in pooled_moves):
        outcome_kinds[churn] = "churn"
    outcome_names = (
        {o.id: o.name for o in template.outcomes if o.name is not None}
        if template is not None
        else {}
    )
    unseen_touchpoints: tuple[str, ...] = ()
    unseen_outcomes: tuple[str, ...] = ()
    new_touchpoints: tuple[str, ...] = ()
    if template is not None:
        fitted = set(touchpoints)
        unseen_touchpoints = tuple(t.id for t in template.touchpoints if t.id not in fitted)
        known = {t.id for t in template.touchpoints}
        new_touchpoints = tuple(
            sorted(
                (t for t in touchpoints if t not in known),
                key=lambda t: (counts.first_seen.get(t, np.inf), t),
            )
        )
        unseen_outcomes = tuple(
            o.id
            for o in template.outcomes
            if o.id in kinds and o.id not in outcome_kinds and o.id != churn
        )
        if unseen_touchpoints or unseen_outcomes:
            parts = []
            if unseen_touchpoints:
                parts.append("touchpoint(s) " + ", ".join(repr(t) for t in unseen_touchpoints[:8]))
            if unseen_outcomes:
                parts.append("outcome(s) " + ", ".join(repr(o) for o in unseen_outcomes[:8]))
            warnings.warn(
                f"{where}: the template's {' and '.join(parts)} never occur in the log, so "
                "the fitted map leaves them out; check the values (rename= maps log values "
                "onto template ids)",
                JourneyGraphWarning,
                stacklevel=3,
            )
    order_rank = _touchpoint_rank(touchpoints, template, counts.first_seen)

    # durations=False: engines skip the gaps; an engine that aggregated them anyway
    # (Spark's single scan) has them dropped here, so every engine gives the same map.
    gaps: Gaps = counts.durations if spec.durations else {}
    unit, unit_size = _duration_unit(gaps)

    def report_of(part: list[Any]) -> FitReport:
        """The report of these count rows (all of them, or one segment's)."""
        return FitReport(
            engine=counts.engine,
            input_rows=counts.input_rows,
            events=sum(r[7] for r in part),
            journeys=sum(r[7] for r in part if r[4]),  # rows that start a journey
            censored_journeys=sum(r[7] for r in part if r[5] == CENSORED),
            single_event_journeys=sum(r[7] for r in part if r[4] and r[5] in (CHURN, CENSORED)),
            dropped=dropped,
            capped_customers=tuple(counts.capped_customers),
            order=spec.order,
            unseen_touchpoints=unseen_touchpoints,
            unseen_outcomes=unseen_outcomes,
            new_touchpoints=new_touchpoints,
        )

    pooled = report_of(rows)
    segments = sorted({r[0] for r in rows})
    maps: dict[str, JourneyMap] = {}
    for seg in segments:
        seg_rows = [r for r in rows if r[0] == seg]
        entry: dict[str, float] = defaultdict(float)
        moves: dict[tuple[str, str], float] = defaultdict(float)
        seg_ends: dict[str, float] = defaultdict(float)
        states: dict[str, list[str | None]] = {}

        for _s, prev, item, _o, st, kind, nxt, n in seg_rows:
            here = _state(prev, item, spec.order, states)
            if st:
                entry[here] += n
            if kind == MOVE:
                moves[(here, _state(item, str(nxt), spec.order, states))] += n
            elif kind == TO_OUTCOME:
                moves[(here, str(nxt))] += n
            elif kind == CHURN:
                moves[(here, churn)] += n
            elif kind == CENSORED:
                seg_ends[here] += n
        seg_durations: dict[tuple[str, str], dict[str, Any]] = {}
        for (d_seg, d_prev, d_item, d_next), (total, n, med) in gaps.items():
            if d_seg != seg or n == 0:
                continue
            if spec.order == 2:
                source = state_id(d_prev, d_item)
                target = d_next if d_next in kinds else state_id(d_item, d_next)
            else:
                source, target = d_item, d_next
            seg_durations[(source, target)] = {
                "mean": total / n / unit_size,
                "unit": unit,
                **({"median": med / unit_size} if med is not None else {}),
                "count": n,
            }
        seg_touch = sorted({s for s, _ in moves} | set(entry) | set(seg_ends))
        if spec.order == 2:
            collisions = sorted(set(states) & (set(touchpoints) | set(kinds)))
            if collisions:
                raise EventLogError(
                    f"{where}: second-order state {collisions[0]!r} has the same id as a "
                    "touchpoint; rename touchpoints that contain ' > '"
                )
        _check_absorbing(seg_touch, moves, seg_ends, where)
        report = report_of(seg_rows)
        if spec.segment is not None:
            # The segment's own figures, and the pooled report beside them.
            own = counts.segments.get(seg, {})
            seg_dropped = {key: int(own.get(key, 0)) for key in dropped}
            seg_dropped["null_segment"] = 0
            seg_dropped["outcome_without_touchpoint"] = sum(
                r[7] for r in counts.rows if r[0] == seg and r[3] and r[4]
            )
            report = replace(
                report,
                input_rows=int(own.get("input_rows", 0)),
                dropped=seg_dropped,
                capped_customers=tuple(counts.segment_capped.get(seg, ())),
                segment=seg,
                pooled=pooled,
            )
        metadata: dict[str, Any] = {"fit": report.to_dict()}
        if spec.order == 2:
            metadata["states"] = {s: states[s] for s in seg_touch}
            seg_stage = {s: stage_of[states[s][1] or ""] for s in seg_touch}
            seg_details = {
                s: {
                    **details.get(states[s][1] or "", {}),
                    "name": details.get(states[s][1] or "", {}).get("name", states[s][1]),
                }
                for s in seg_touch
            }
        else:
            seg_stage, seg_details = stage_of, details
        seg_outcomes = {o: k for o, k in outcome_kinds.items()}
        before = (-1, -1.0, "")
        seg_rank: dict[str, tuple[Any, ...]]
        if spec.order == 2:
            seg_rank = {
                s: (order_rank[states[s][1] or ""], order_rank.get(states[s][0] or "", before), s)
                for s in seg_touch
            }
        else:
            seg_rank = {t: (order_rank[t], before, t) for t in seg_touch}
        persona = Persona(id=seg, name=seg) if spec.segment else None
        if persona is None and template is not None:
            persona = template.persona
        maps[seg] = _build_map(
            name=name,
            rank=seg_rank,
            durations=seg_durations,
            outcome_names=outcome_names,
            entry=dict(entry),
            moves=dict(moves),
            touchpoints=seg_touch,
            outcome_kinds=seg_outcomes,
            stage_of=seg_stage,
            stage_list=stage_list,
            details=seg_details,
            metadata=metadata,
            persona=persona,
            where=where,
        )
    if spec.segment is None:
        return maps[segments[0]]
    return maps


def _check_outcomes_occur(rows: Sequence[Row], spec: Spec, declared: set[str], where: str) -> None:
    """An outcome value of an ``outcomes=`` mapping that never occurs is an error."""
    outcomes_seen = {r[2] for r in rows if r[3]}
    missing = sorted(declared - outcomes_seen)
    if not missing:
        return
    if spec.outcome is not None:
        column, values = spec.outcome, sorted(outcomes_seen)
    else:
        column, values = spec.touchpoint, sorted({r[2] for r in rows})
    shown = ", ".join(repr(v) for v in values[:12]) + (" ..." if len(values) > 12 else "")
    raise EventLogError(
        f"{where}: outcome value {missing[0]!r} (outcomes=) never occurs in column "
        f"{column!r}{did_you_mean(missing[0], values)}; the values there are "
        f"{shown or 'none'}; fix outcomes=, or map a log value onto it with rename="
    )


def _touchpoint_rank(
    touchpoints: Sequence[str], template: JourneyMap | None, first_seen: Mapping[str, float]
) -> dict[str, tuple[int, float, str]]:
    """Order within a stage: the template's touchpoints in its order, then the others
    by first appearance in the log (ties by id)."""
    position = {t.id: i for i, t in enumerate(template.touchpoints)} if template is not None else {}
    later = len(position)
    return {
        t: (position.get(t, later), 0.0 if t in position else first_seen.get(t, np.inf), t)
        for t in touchpoints
    }


def _check_absorbing(
    touchpoints: Sequence[str],
    moves: Mapping[tuple[str, str], float],
    open_ends: Mapping[str, float],
    where: str,
) -> None:
    """Every fitted touchpoint must reach an outcome; only censoring can prevent it."""
    known = set(touchpoints)
    back: dict[str, list[str]] = defaultdict(list)
    good: set[str] = set()
    for (a, b), w in moves.items():
        if w <= 0:
            continue
        if b in known:
            back[b].append(a)
        else:
            good.add(a)
    queue = list(good)
    while queue:
        for a in back.get(queue.pop(), ()):
            if a not in good:
                good.add(a)
                queue.append(a)
    trapped = sorted(known - good)
    if trapped:
        shown = ", ".join(repr(t) for t in trapped[:8])
        raise EventLogError(
            f"{where}: touchpoint(s) {shown} appear only in journeys that are still open "
            "(censored), so the log never shows how journeys leave them; shorten window=, "
            "move observed_until= or collect a longer log"
        )


def _stages(
    stages: Any,
    touchpoints: list[str],
    entry: Mapping[str, float],
    moves: Mapping[tuple[str, str], float],
    unknown: str,
    where: str,
) -> tuple[dict[str, str], list[Stage], dict[str, dict[str, Any]]]:
    """(touchpoint -> stage id, ordered stages, touchpoint details from a template)."""
    details: dict[str, dict[str, Any]] = {}
    if stages is None:
        order = _infer_order(touchpoints, moves)
        stage_of = {t: f"{t} (stage)" for t in touchpoints}
        return stage_of, [Stage(id=stage_of[t], name=t) for t in order], details
    stage_list: list[Stage]
    if isinstance(stages, str | os.PathLike | JourneyMap):
        from journeygraph.io import load

        try:
            template = stages if isinstance(stages, JourneyMap) else load(stages)
        except MapError as exc:
            raise EventLogError(f"stages: the stage map cannot be used: {exc}") from None
        mapping = {t.id: t.stage for t in template.touchpoints}
        stage_list = list(template.stages)
        details = {
            t.id: t.model_dump(exclude={"id", "stage"}, exclude_defaults=True)
            for t in template.touchpoints
        }
    elif isinstance(stages, Mapping):
        values = list(stages.values())
        if values and all(isinstance(v, Sequence) and not isinstance(v, str) for v in values):
            mapping = {str(t): str(s) for s, ts in stages.items() for t in ts}
            order_ids = [str(s) for s in stages]
        elif all(isinstance(v, str) for v in values):
            mapping = {str(t): str(s) for t, s in stages.items()}
            order_ids = list(dict.fromkeys(mapping.values()))
        else:
            raise EventLogError(
                "stages= must map touchpoint -> stage, or stage -> list of touchpoints"
            )
        stage_list = [Stage(id=s) for s in order_ids]
    else:
        raise EventLogError(
            "stages= must be a touchpoint -> stage mapping, a stage -> touchpoints mapping, "
            "a JourneyMap or the path of a map file"
        )
    missing = [t for t in touchpoints if t not in mapping]
    if missing and unknown == "error":
        first = missing[0]
        shown = ", ".join(repr(t) for t in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        raise EventLogError(
            f"{where}: touchpoint(s) {shown}{more} have no stage in stages="
            f"{did_you_mean(first, mapping)}; add them, or pass unknown_touchpoints='other' "
            "to put them in an 'other' stage"
        )
    stage_of = {t: mapping.get(t, "other") for t in touchpoints}
    if missing and all(s.id != "other" for s in stage_list):
        stage_list.append(Stage(id="other", name="Other"))
    return stage_of, stage_list, details


def _infer_order(touchpoints: list[str], moves: Mapping[tuple[str, str], float]) -> list[str]:
    """Touchpoints by expected moves left until the journey ends, most first."""
    index = {t: i for i, t in enumerate(touchpoints)}
    size, count = len(touchpoints), len(moves)
    # Each move's source and target position (-1: an outcome), read at C level.
    source = np.fromiter(map(index.__getitem__, map(itemgetter(0), moves)), np.int64, count)
    target = np.fromiter(map(index.get, map(itemgetter(1), moves), repeat(-1)), np.int64, count)
    weight = np.fromiter(moves.values(), float, count)
    # Totals add the moves in their order, as a loop would; each (a, b) occurs once.
    total = np.bincount(source, weights=weight, minlength=size)
    inner = target >= 0
    flow = np.zeros((size, size))
    flow[source[inner], target[inner]] = weight[inner]
    # Touchpoints whose every journey is still open end "now": no moves left.
    total = np.where(total > 0, total, 1.0)
    with one_blas_thread():  # a busy machine's cores make BLAS threads wait (_blas.py)
        remaining = np.linalg.solve(np.eye(size) - flow / total[:, None], np.ones(size))
    return sorted(touchpoints, key=lambda t: (-round(float(remaining[index[t]]), 9), t))


def _build_map(
    *,
    name: str,
    entry: dict[str, float],
    moves: dict[tuple[str, str], float],
    touchpoints: list[str],
    outcome_kinds: dict[str, str],
    stage_of: Mapping[str, str],
    stage_list: list[Stage],
    details: Mapping[str, Mapping[str, Any]],
    metadata: dict[str, Any],
    persona: Persona | None,
    where: str,
    rank: Mapping[str, tuple[Any, ...]] | None = None,
    outcome_names: Mapping[str, str] | None = None,
    durations: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> JourneyMap:
    position = {s.id: i for i, s in enumerate(stage_list)}
    within = rank or {}
    ordered = sorted(touchpoints, key=lambda t: (position[stage_of[t]], within.get(t, ()), t))
    names = outcome_names or {}
    gaps = durations or {}
    with paused_gc():  # ~4 lasting objects a move (_gc.py)
        targets = {b for (_, b) in moves}
        used_outcomes = targets & outcome_kinds.keys()
        pairs = _in_map_order(moves, ordered, sorted(targets))
        if gaps:
            move_dicts = [
                {
                    "from": a,
                    "to": b,
                    "weight": float(w),
                    **({"duration": dict(gaps[(a, b)])} if (a, b) in gaps else {}),
                }
                for (a, b), w in pairs
            ]
        else:
            move_dicts = [{"from": a, "to": b, "weight": float(w)} for (a, b), w in pairs]
        try:
            return JourneyMap(
                name=name,
                persona=persona,
                stages=stage_list,
                touchpoints=[
                    {"id": t, **details.get(t, {}), "stage": stage_of[t]} for t in ordered
                ],
                outcomes=[
                    {"id": o, "kind": k, **({"name": names[o]} if o in names else {})}
                    for o, k in outcome_kinds.items()
                    if o in used_outcomes
                ],
                entry={t: float(w) for t, w in sorted(entry.items())},
                moves=move_dicts,
                metadata=metadata,
            )
        except JourneyGraphError as exc:
            raise EventLogError(f"{where}: the fitted map is not valid: {exc}") from None


def _in_map_order(
    moves: Mapping[tuple[str, str], float], ordered: Sequence[str], targets: Sequence[str]
) -> list[tuple[tuple[str, str], float]]:
    """The moves by their source's place in ``ordered``, then by target id.

    ``targets`` are the moves' targets, sorted. Sorted on one integer key per move
    (numpy), not a Python key function: a fitted map of 200 channels has 40,400 moves.
    """
    items = list(moves.items())
    if len(items) < 2:
        return items
    index = {t: i for i, t in enumerate(ordered)}
    target_rank = {b: i for i, b in enumerate(targets)}
    sources = map(itemgetter(0), moves)
    by_source = np.fromiter(map(index.__getitem__, sources), np.int64, len(items))
    by_target = np.fromiter(
        map(target_rank.__getitem__, map(itemgetter(1), moves)), np.int64, len(items)
    )
    order = np.lexsort((by_target, by_source))
    return list(map(items.__getitem__, order.tolist()))
