"""The numpy/Arrow engine: counts an in-memory event log (see :mod:`journeygraph.fit.spec`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from journeygraph._optional import require
from journeygraph._progress import Progress
from journeygraph.errors import EventLogError
from journeygraph.fit.spec import (
    _NOT_A_TIME,
    _TIME_FIELDS,
    AWARE_PATTERN,
    CENSORED,
    CHURN,
    MOVE,
    NUMBER_PATTERN,
    OUTCOME_ROW,
    TIME_PATTERN,
    TO_OUTCOME,
    Counts,
    Spec,
    _bad_time,
    _collision,
    _too_many,
    _unknown_outcomes,
    check_columns,
    parse_duration,
    parse_instant,
)

__all__ = ["count_arrow"]

#: Each move's gaps: (segment, previous, event, next) -> (sum, count, lower median).
Durations = dict[tuple[str, str | None, str, str], tuple[float, int, float | None]]


# -- numpy engine ---------------------------------------------------------------------


def _time_numbers(arr: Any, column: str, where: str) -> tuple[np.ndarray, bool]:
    """An arrow time column as (int64 microseconds or float64 numbers, numeric?)."""
    pa = require("pyarrow", extra="files", feature="fit")
    typ = arr.type
    if pa.types.is_timestamp(typ):
        per_us = {"s": -1_000_000, "ms": -1000, "us": 1, "ns": 1000}[typ.unit]
        ints = arr.cast(pa.int64())
        ints = np.asarray((ints.fill_null(0) if ints.null_count else ints).to_numpy(False))
        if per_us < 0:
            return ints * -per_us, False
        # Microseconds are used as they are (a read-only view of the column, no copy).
        return (ints // per_us if per_us > 1 else ints), False
    if pa.types.is_date(typ):
        days = arr.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        return np.asarray(days, dtype=np.int64) * 86_400_000_000, False
    if (pa.types.is_integer(typ) or pa.types.is_floating(typ)) and not pa.types.is_boolean(typ):
        nums = np.asarray(arr.cast(pa.float64()).fill_null(0).to_numpy(zero_copy_only=False))
        if not np.isfinite(nums).all():
            row = int(np.flatnonzero(~np.isfinite(nums))[0])
            raise _bad_time(where, column, row + 1, float(nums[row]), "not a finite number")
        return nums, True
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return _parse_time_strings(arr, column, where)
    if pa.types.is_null(typ):
        return np.zeros(len(arr), dtype=np.int64), False
    raise EventLogError(
        f"{where}: time column {column!r} has type {typ}; it must hold timestamps, dates, "
        "ISO 8601 text or numbers"
    )


def _parse_time_strings(arr: Any, column: str, where: str) -> tuple[np.ndarray, bool]:
    """Text times by the module's one rule: plain numbers, or ISO 8601 in microseconds.

    The date arithmetic is exact for every year 0001-9999 (days from the civil date,
    H. Hinnant's algorithm), so no time is wrapped into another century.
    """
    pa = require("pyarrow", extra="files", feature="fit")
    pc = require("pyarrow.compute", extra="files", feature="fit")
    arr = _as_text(arr)
    present = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(present)
    values = arr.filter(pa.array(present))

    def first_bad(ok: Any) -> int:
        flags = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
        return int(rows[np.flatnonzero(~flags)[0]])

    is_number = pc.match_substring_regex(values, NUMBER_PATTERN)
    n_numbers = int(pc.sum(is_number.cast(pa.int64())).as_py() or 0)
    if 0 < n_numbers < len(values) and 2 * n_numbers >= len(values):
        row = first_bad(is_number)
        raise _bad_time(where, column, row + 1, arr[row].as_py(), _NOT_A_TIME)
    if len(values) and n_numbers == len(values):
        nums = np.zeros(len(arr))
        nums[rows] = np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False))
        if not np.isfinite(nums).all():
            row = int(np.flatnonzero(~np.isfinite(nums))[0])
            raise _bad_time(where, column, row + 1, arr[row].as_py(), "not a finite number")
        return nums, True
    is_time = pc.match_substring_regex(values, TIME_PATTERN)
    if len(values) and not pc.all(is_time).as_py():
        row = first_bad(is_time)
        raise _bad_time(where, column, row + 1, arr[row].as_py(), _NOT_A_TIME)
    aware = np.asarray(
        pc.match_substring_regex(values, AWARE_PATTERN).to_numpy(zero_copy_only=False), dtype=bool
    )
    if aware.any() and not aware.all():
        minority = aware if aware.sum() <= (~aware).sum() else ~aware
        row = int(rows[np.flatnonzero(minority)[0]])
        why = (
            "mixes times with a time zone offset and times without one; give every time "
            "an offset (or none, meaning UTC)"
        )
        raise _bad_time(where, column, row + 1, arr[row].as_py(), why)
    fields = pc.extract_regex(values, _TIME_FIELDS)

    def number(name: str, width: int = 0) -> np.ndarray:
        part = fields.field(name)
        if width:
            part = pc.utf8_rpad(pc.utf8_slice_codeunits(part, 0, width), width, "0")
        part = pc.if_else(pc.equal(part, ""), "0", part)
        return np.asarray(part.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)

    year, month, day = number("y"), number("mo"), number("d")
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month - 1]
    month_days = month_days + (leap & (month == 2))
    if (day > month_days).any():
        row = int(rows[np.flatnonzero(day > month_days)[0]])
        raise _bad_time(where, column, row + 1, arr[row].as_py(), _NOT_A_TIME)
    # Days since 1970-01-01 of the proleptic Gregorian date (years shifted to March).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    seconds = days * 86_400 + number("h") * 3600 + number("mi") * 60 + number("s")
    sign = np.where(np.asarray(pc.equal(fields.field("sign"), "-").to_numpy(False)), -1, 1)
    seconds -= sign * (number("oh") * 3600 + number("om") * 60)
    out = np.zeros(len(arr), dtype=np.int64)
    out[rows] = seconds * 1_000_000 + number("f", 6)
    return out, False


def _as_text(arr: Any) -> Any:
    pa = require("pyarrow", extra="files", feature="fit")
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    return arr


def _encode(arr: Any) -> tuple[np.ndarray, list[Any]]:
    """Dictionary codes (-1 for null) and the dictionary values."""
    pc = require("pyarrow.compute", extra="files", feature="fit")
    enc = pc.dictionary_encode(arr)
    codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, enc.dictionary.to_pylist()


def _encode_labels(arr: Any) -> tuple[np.ndarray, list[Any]]:
    """Like :func:`_encode` for a text column, without hashing it when it is already
    dictionary-encoded (a Parquet column read with ``read_dictionary``, a pandas
    categorical): the chunks' dictionaries are unified and their indices used as codes.

    The values are the same set ``_encode`` gives (those that occur; in another order,
    which the callers never rely on). A dictionary holding nulls or repeated values
    takes the plain path, so that every null is counted as one.
    """
    pa = require("pyarrow", extra="files", feature="fit")
    typ = arr.type
    if not (
        pa.types.is_dictionary(typ)
        and (pa.types.is_string(typ.value_type) or pa.types.is_large_string(typ.value_type))
    ):
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return _encode(_as_text(arr))
    chunks = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    chunks = chunks.unify_dictionaries()
    if chunks.num_chunks == 0:
        return np.zeros(0, dtype=np.int64), []
    dictionary = chunks.chunk(0).dictionary
    values = dictionary.to_pylist()
    if dictionary.null_count or len(set(values)) != len(values):
        return _encode(_as_text(chunks.combine_chunks()))
    codes = np.empty(len(chunks), dtype=np.int64)
    at = 0
    nulls = 0
    for chunk in chunks.chunks:
        size = len(chunk)
        indices = chunk.indices
        nulls += indices.null_count
        if indices.null_count:
            # Indices may be unsigned (polars): widen before the -1 for nulls.
            indices = indices.cast(pa.int64()).fill_null(-1)
        codes[at : at + size] = indices.to_numpy(zero_copy_only=False)
        at += size
    used = np.bincount(codes[codes >= 0] if nulls else codes, minlength=len(values)) > 0
    if not used.all():  # a dictionary may hold values no row uses: drop them
        renumber = np.cumsum(used) - 1
        codes = np.where(codes >= 0, renumber[np.maximum(codes, 0)], -1)
        values = [v for v, u in zip(values, used.tolist(), strict=True) if u]
    return codes, values


def _encode_ids(arr: Any) -> tuple[np.ndarray, int, Any]:
    """Customer codes (-1 for null), how many codes, and a function naming a code.

    Integer ids in a compact range are their own codes (offset by the smallest), which
    saves hashing millions of values; anything else is dictionary-encoded.
    """
    pa = require("pyarrow", extra="files", feature="fit")
    if pa.types.is_integer(arr.type) and len(arr) and arr.null_count < len(arr):
        pc = require("pyarrow.compute", extra="files", feature="fit")
        bounds = pc.min_max(arr)
        lo, hi = int(bounds["min"].as_py()), int(bounds["max"].as_py())
        if hi - lo < max(4 * len(arr), 1024):
            values = np.asarray(
                (arr.fill_null(lo) if arr.null_count else arr).to_numpy(zero_copy_only=False),
                dtype=np.int64,
            )
            # Ids counted from 0 are their own codes: a read-only view, no copy.
            codes = values - lo if lo or arr.null_count else values
            if arr.null_count:
                codes[np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = -1
            return codes, hi - lo + 1, lambda code: str(lo + code)
    codes, values_list = _encode(arr)
    return codes, len(values_list), lambda code: str(values_list[code])


def _sort_order(
    who: np.ndarray, t: np.ndarray, code: np.ndarray, n_codes: int, numeric: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The permutation sorting events by (customer, time, code), and its sort key.

    The permutation and the key are both ``None`` when the events are already in that
    order (logs exported sorted by customer and time): one comparison pass of the
    three columns, before any key is built, then saves the sort, the key and the
    gathers of every column. Otherwise one ``argsort`` of one int64 key (customer,
    time, code packed) instead of a three-key ``lexsort``: times are used relative to
    the earliest, or replaced by their dense rank when that range does not fit (a
    sort of its own). Falls back to ``lexsort`` (and no key) only when even ranks
    overflow.
    """
    n = len(code)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if _in_order(who, t, code):
        return None, None
    n_who = int(who.max()) + 1
    k = max(n_codes, 1)
    t_key: np.ndarray | None = None
    if not numeric:
        t_rel = t - t.min()
        # Logs stamped in whole seconds or milliseconds: divide the common step out.
        step = int(np.gcd.reduce(t_rel)) or 1
        if step > 1:
            t_rel //= step
        span = int(t_rel.max()) + 1
        if span * k * n_who < 2**62:
            t_key = t_rel
    if t_key is None:
        _, t_key = np.unique(t, return_inverse=True)
        t_key = t_key.astype(np.int64, copy=False).reshape(-1)
        span = int(t_key.max()) + 1
        if span * k * n_who >= 2**62:
            return np.lexsort((code, t, who)), None
    key = who * span
    key += t_key
    key *= k
    key += code
    return np.argsort(key), key


def _in_order(who: np.ndarray, t: np.ndarray, code: np.ndarray) -> bool:
    """Whether the events are sorted by (customer, time, code), ties included.

    A pair of neighbours is in order when the customer grows, or stays and the time
    grows, or both stay and the code does not fall. Stops at the first column that
    settles every pair (the customer column alone, for most logs sorted by customer).
    """
    w0, w1 = who[:-1], who[1:]
    if bool((w1 < w0).any()):
        return False
    tied = w1 == w0
    t0, t1 = t[:-1], t[1:]
    if bool((tied & (t1 < t0)).any()):
        return False
    tied &= t1 == t0
    if not tied.any():
        return True
    return not bool((tied & (code[1:] < code[:-1])).any())


def count_arrow(table: Any, spec: Spec, where: str, bar: Progress | None = None) -> Counts:
    """The numpy engine: vectorised counting on integer-encoded columns of an arrow table."""
    bar = bar or Progress("", [], progress=False)
    bar.phase("encode")
    check_columns(table.column_names, spec, where)
    n_rows = table.num_rows
    # Touchpoints and outcomes stay in chunks: read as dictionaries, their chunks'
    # indices are the codes (no text copy, no hashing of every row).
    col = {
        role: table.column(name)
        if role in ("touchpoint", "outcome")
        else table.column(name).combine_chunks()
        for role, name in spec.columns
    }
    outs = set(spec.outcome_values)

    cust, n_cust, cust_name = _encode_ids(col["customer"])
    times, numeric = _time_numbers(col["time"], spec.time, where)
    tp_codes, tp_values = _encode_labels(col["touchpoint"])
    seg: np.ndarray | None = None
    seg_values: list[Any] = [""]
    if "segment" in col:
        seg, seg_values = _encode(_as_text(col["segment"]))

    tp_is_out = np.array([v in outs for v in tp_values], dtype=bool)
    if "outcome" in col:
        oc_codes, oc_values = _encode_labels(col["outcome"])
        _unknown_outcomes(sorted(v for v in oc_values if v not in outs), spec, where)
        _collision(sorted(v for v in tp_values if v in outs), spec, where)
        has_oc = oc_codes >= 0
    else:
        # No outcome column: no outcome rows to index (rows_oc below is empty).
        oc_codes, oc_values = np.zeros(0, dtype=np.int64), []
        has_oc = np.zeros(0, dtype=bool)

    # A log without nulls, outcome column or segments (the common case) needs none of
    # the masks below: each is a pass over every row and a fresh array.
    clean = (
        not col["time"].null_count
        and seg is None
        and "outcome" not in col
        and not (n_rows and (int(cust.min()) < 0 or int(tp_codes.min()) < 0))
    )
    time_null = np.zeros(0, dtype=bool)
    tp_mask: np.ndarray | None = None
    if clean:
        dropped = dict.fromkeys(("null_customer", "null_time", "null_segment"), 0)
        dropped["null_touchpoint"] = 0
    else:
        time_null = np.asarray(col["time"].is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if seg is None:
            seg = np.zeros(n_rows, dtype=np.int64)
        if not has_oc.size:
            has_oc = np.zeros(n_rows, dtype=bool)
        ok_c = cust >= 0
        ok_ct = ok_c & ~time_null
        ok_cts = ok_ct & (seg >= 0)
        has_tp = tp_codes >= 0
        dropped = {
            "null_customer": int((~ok_c).sum()),
            "null_time": int((ok_c & time_null).sum()),
            "null_segment": int((ok_ct & (seg < 0)).sum()),
            "null_touchpoint": int((ok_cts & ~has_tp & ~has_oc).sum()),
        }
        tp_mask = ok_cts & has_tp

    # Event codes: touchpoints in code-point order, then outcomes in code-point order,
    # so sorting by code is the documented tie rule.
    if "outcome" in col:
        touch = sorted(set(tp_values))
        outcome_names = sorted(set(oc_values))
    else:
        touch = sorted(v for v, o in zip(tp_values, tp_is_out, strict=True) if not o)
        outcome_names = sorted(v for v, o in zip(tp_values, tp_is_out, strict=True) if o)
    if tp_mask is None:  # every value of a clean log's dictionary occurs in it
        present_tp = np.ones(len(tp_values), dtype=bool)
    else:
        present_tp = np.bincount(tp_codes[tp_mask], minlength=len(tp_values)) > 0
    n_touch = sum(
        1 for v, p, o in zip(tp_values, present_tp, tp_is_out, strict=True) if p and not o
    )
    _too_many(n_touch, spec, where)
    names = touch + outcome_names
    code_of = {v: i for i, v in enumerate(touch)}
    code_of.update({v: len(touch) + i for i, v in enumerate(outcome_names)})
    n_touchpoints = len(touch)
    tp_map = np.array([code_of[v] for v in tp_values] + [-1], dtype=np.int64)
    oc_map = np.array([code_of[v] for v in oc_values] + [-1], dtype=np.int64)

    n_cust = max(n_cust, 1)
    # Row numbers of the events (``src``) are only needed to name capped customers.
    src: np.ndarray | None
    if tp_mask is None or (tp_mask.all() and not has_oc.any()):  # no copies needed
        code = np.take(tp_map, tp_codes)
        src = np.arange(n_rows) if spec.max_events is not None else None
        t = times
        who = seg * n_cust + cust if "segment" in col and seg is not None else cust
    else:
        assert seg is not None and tp_mask is not None
        rows_tp = np.flatnonzero(tp_mask)
        rows_oc = np.flatnonzero(ok_cts & has_oc)
        code = np.concatenate([tp_map[tp_codes[rows_tp]], oc_map[oc_codes[rows_oc]]])
        src = np.concatenate([rows_tp, rows_oc])
        t = times[src]
        who = seg[src] * n_cust + cust[src]
        if spec.max_events is None:
            src = None
    del tp_codes, oc_codes, times

    until = parse_instant(spec.observed_until, numeric)
    if until is None and len(t):
        until = float(t.max())
    gap = parse_duration(spec.gap, "gap", numeric)
    window = parse_duration(spec.window, "window", numeric)

    bar.phase("sort")
    order, sort_key = _sort_order(who, t, code, len(names), numeric)
    n = len(code)
    same = np.zeros(n, dtype=bool)
    if order is None:  # already sorted: duplicates from the columns, no gathers
        if n:
            same[1:] = who[1:] == who[:-1]
            same[1:] &= t[1:] == t[:-1]
            same[1:] &= code[1:] == code[:-1]
        dup_who = who[same]
        if dup_who.size:
            order = np.flatnonzero(~same)
            who, t, code = who[order], t[order], code[order]
    elif n and sort_key is not None:
        # Duplicates from the sorted key, then one gather of the kept events only.
        sort_key = sort_key[order]
        same[1:] = sort_key[1:] == sort_key[:-1]
        del sort_key
        dup_who = who[order[same]]
        order = order[~same]
        who, t, code = who[order], t[order], code[order]
    else:
        who, t, code = who[order], t[order], code[order]
        if n:
            same[1:] = (who[1:] == who[:-1]) & (t[1:] == t[:-1]) & (code[1:] == code[:-1])
        dup_who = who[same]
        who, t, code = who[~same], t[~same], code[~same]
        order = order[~same]
    if src is not None and order is not None:
        src = src[order]
    del order
    dropped["duplicate"] = int(same.sum())
    per_seg: dict[str, np.ndarray] = {}
    if seg is not None and "segment" in col:
        n_seg = max(len(seg_values), 1)
        seg_codes = seg

        def by_seg(mask: np.ndarray) -> np.ndarray:
            return np.bincount(seg_codes[mask & (seg_codes >= 0)], minlength=n_seg)

        per_seg = {
            "input_rows": by_seg(np.ones(n_rows, dtype=bool)),
            "null_customer": by_seg(~ok_c),
            "null_time": by_seg(ok_c & time_null),
            "null_touchpoint": by_seg(ok_cts & ~has_tp & ~has_oc),
            "duplicate": np.bincount(dup_who // n_cust, minlength=n_seg),
            "capped": np.zeros(n_seg, dtype=np.int64),
        }
    segment_capped: dict[str, list[str]] = {}
    del same, dup_who

    # First appearance of each touchpoint (before capping, as in the other engines).
    # ``minimum.at`` over every code in the times' own dtype (its fast path: ~15 ms for
    # 5.5M events, against ~0.15 s through a mask and a float copy); outcomes dropped after.
    big = np.inf if t.dtype.kind == "f" else np.iinfo(np.int64).max
    first = np.full(max(len(names), 1), big, dtype=t.dtype)
    np.minimum.at(first, code, t)
    first_seen = {touch[i]: float(first[i]) for i in range(len(touch)) if first[i] != big}

    capped: list[str] = []
    dropped["capped"] = 0
    if spec.max_events is not None and len(code):
        new = np.r_[True, who[1:] != who[:-1]]
        ids = np.cumsum(new) - 1
        sizes = np.bincount(ids)
        over = sizes > spec.max_events
        if over.any():
            assert src is not None  # kept whenever there is a cap
            firsts = np.flatnonzero(new)[over]
            biggest = np.argsort(-sizes[over], kind="stable")[:20]
            capped = [cust_name(int(cust[src[i]])) for i in firsts[biggest]]
            drop = over[ids]
            dropped["capped"] = int(drop.sum())
            if per_seg:
                per_seg["capped"] = np.bincount(who[drop] // n_cust, minlength=len(seg_values))
                ranked = firsts[np.argsort(-sizes[over], kind="stable")]
                for i in ranked:
                    name = str(seg_values[int(who[i] // n_cust)])
                    names_ = segment_capped.setdefault(name, [])
                    if len(names_) < 20:
                        names_.append(cust_name(int(cust[src[i]])))
            who, t, code = who[~drop], t[~drop], code[~drop]

    bar.phase("count")
    rows, durations = _tally(
        who,
        t,
        code,
        names,
        n_touchpoints,
        seg_values,
        n_cust if "segment" in col else 0,
        gap=gap,
        window=window,
        until=until,
        order=spec.order,
        timed=not numeric and spec.durations,
    )
    segments = {
        str(v): {what: int(values[i]) for what, values in per_seg.items()}
        for i, v in enumerate(seg_values)
    }
    return Counts(
        rows, n_rows, dropped, capped, "numpy", first_seen, durations, segments, segment_capped
    )


def _tally(
    who: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    names: list[str],
    n_touchpoints: int,
    seg_values: list[Any],
    n_cust: int,
    *,
    gap: float | None,
    window: float | None,
    until: float | None,
    order: int,
    timed: bool,
) -> tuple[list[tuple[str, str | None, str, bool, bool, int, str | None, int]], Durations]:
    """Count the events (sorted by journey, duplicates and capped customers removed).

    Every event falls in one group of (starts a journey, segment, previous event (order
    2), event, next): ``next`` is the code of the event that follows it in its journey,
    or one of two sentinels past the codes: ``k`` when the journey ends there (churn,
    or an outcome event) and ``k + 1`` when it ends there but may still be open
    (censored). The kind (move, move to an outcome, churn, censored, outcome event)
    follows from the event and its ``next``, so it is decoded per group, not stored per
    event. The groups are packed into one int64 key and counted with ``bincount`` (or
    ``unique`` for a large key space). ``n_cust`` is 0 without a segment column, else
    the factor of the segment in ``who``.

    Each step writes into as few fresh arrays as it can: on 5.5M events a fresh 40 MB
    array costs several in-place passes over one (page faults).
    """
    n = len(code)
    if not n:
        return [], {}
    k = len(names)
    slots = k + 2  # next: a code, k (journey ends) or k + 1 (censored)
    is_out = code >= n_touchpoints
    # ends[i]: event i is the last of its journey (next event of another customer,
    # an outcome event, or a gap); a journey starts after each end.
    ends = np.empty(n, dtype=bool)
    ends[-1] = True
    np.not_equal(who[1:], who[:-1], out=ends[:-1])
    cust_last = ends.copy() if window is not None and until is not None else None
    ends[:-1] |= is_out[:-1]
    if gap is not None:
        ends[:-1] |= (t[1:] - t[:-1]) > gap
    start = np.empty(n, dtype=bool)
    start[0] = True
    start[1:] = ends[:-1]

    key = np.empty(n, dtype=np.int64)
    key[:-1] = code[1:]
    np.putmask(key, ends, k)
    if cust_last is not None and until is not None and window is not None:
        # Touchpoint events last of their customer, within the window: censored.
        cust_last &= ~is_out
        cust_last &= (until - t) < window
        np.putmask(key, cust_last, k + 1)
        del cust_last
    # Fields from the least significant: next, event, previous (order 2), segment;
    # whether the event starts a journey comes last, so that the moves' durations can
    # be keyed by the rest of the same key.
    scale = slots
    part = np.multiply(code, scale)
    key += part
    scale *= k
    if order == 2:  # the previous event of the journey (+1; 0 at a journey's start)
        part[0] = 0
        np.add(code[:-1], 1, out=part[1:])
        np.putmask(part, start, 0)
        part *= scale
        key += part
        scale *= k + 1
    if n_cust:
        np.floor_divide(who, n_cust, out=part)
        part *= scale
        key += part
        scale *= len(seg_values)
    del part
    durations: Durations = {}
    if timed:
        ends |= is_out  # now: not followed by a move
        durations = _durations(key, ~ends, t, scale, slots, names, seg_values, order)
    del ends, is_out
    np.add(key, scale, out=key, where=start)
    del start
    scale *= 2
    if scale <= max(4 * n, 1 << 20):  # small key space: counting beats sorting
        tally = np.bincount(key, minlength=1)
        uniq = np.flatnonzero(tally)
        counts = tally[uniq]
    else:
        uniq, counts = np.unique(key, return_counts=True)
    del key
    starts, uniq = np.divmod(uniq, scale // 2)
    seg_of, prev, codes, nxt = _unpack(uniq, slots, k, order)
    rows = []
    for s, p, c, st, nx, m in zip(
        seg_of.tolist(),
        prev.tolist(),
        codes.tolist(),
        starts.tolist(),
        nxt.tolist(),
        counts.tolist(),
        strict=True,
    ):
        if c >= n_touchpoints:
            kind, target = OUTCOME_ROW, None
        elif nx >= k:
            kind, target = (CHURN if nx == k else CENSORED), None
        else:
            kind, target = (TO_OUTCOME if nx >= n_touchpoints else MOVE), names[nx]
        prev_name = names[p - 1] if p else None
        rows.append(
            (str(seg_values[s]), prev_name, names[c], c >= n_touchpoints, bool(st), kind, target, m)
        )
    return rows, durations


def _unpack(
    key: np.ndarray, slots: int, k: int, order: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(segment, previous + 1 (0: none), event, next) codes of packed keys."""
    rest, nxt = np.divmod(key, slots)
    rest, codes = np.divmod(rest, k)
    prev = np.zeros(len(key), dtype=np.int64)
    if order == 2:
        rest, prev = np.divmod(rest, k + 1)
    return rest, prev, codes, nxt


def _durations(
    key: np.ndarray,
    moving: np.ndarray,
    t: np.ndarray,
    space: int,
    slots: int,
    names: list[str],
    seg_values: list[Any],
    order: int,
) -> Durations:
    """Sum, count and lower median of the gaps of each move (events sorted by journey).

    ``moving`` marks the events followed by a move (to a touchpoint or an outcome) in
    their journey; ``key`` numbers each event's (segment, previous, event, next), in
    ``range(space)`` (see :func:`_tally`).
    """
    gaps = np.subtract(t[1:], t[:-1])[moving[:-1]]
    if not len(gaps):
        return {}
    key = key[moving]
    if space <= 1 << 24:  # a lookup table numbers the moves without sorting
        seen = np.zeros(space, dtype=bool)
        seen[key] = True
        uniq = np.flatnonzero(seen)
        number = np.cumsum(seen) - 1
        dense = number[key]
        del seen, number
    else:
        uniq, dense = np.unique(key, return_inverse=True)
        dense = dense.reshape(-1)
    del key
    n_moves = len(uniq)
    counts = np.bincount(dense, minlength=n_moves)
    sums = np.zeros(n_moves, dtype=gaps.dtype)
    np.add.at(sums, dense, gaps)  # exact int64 sums (a float bincount could round)
    # Each move's lower median is the element at rank start + (count - 1) // 2 of the
    # (move, gap) order: one partition at those ranks places exactly them, without
    # sorting the rest (about half the time of a full sort). Gaps are whole
    # microseconds, never negative (events are sorted by time), so (move number, gap)
    # packs into one int64 key whose order is the (move, gap) order.
    at_median = np.cumsum(counts) - counts + (counts - 1) // 2
    span = int(gaps.max()) + 1
    if gaps.dtype.kind == "i" and n_moves * span < 2**62:
        packed = dense * span
        packed += gaps
        del dense, gaps
        packed.partition(at_median)
        medians = packed[at_median] - np.arange(n_moves, dtype=np.int64) * span
        del packed
    else:
        order_ = np.lexsort((gaps, dense))
        medians = gaps[order_[at_median]]
        del order_, dense
    out: Durations = {}
    fields = [f.tolist() for f in _unpack(uniq, slots, len(names), order)]
    for seg, p, c, tgt, total, n, med in zip(
        *fields, sums.tolist(), counts.tolist(), medians.tolist(), strict=True
    ):
        out[(str(seg_values[seg]), names[p - 1] if p else None, names[c], names[tgt])] = (
            float(total),
            int(n),
            float(med),
        )
    return out
