"""Event logs that used to be read wrong (issue #17): far dates, number forms, repeated
columns, second-order ids with ``' > '``, the CSV formula guard, file names with glob
characters, gzip CSV and Ctrl-C in DuckDB.

Every expected count is written out by hand from the log above it; times are checked
against Python's own ``datetime`` (an independent parser).
"""

from __future__ import annotations

import datetime
import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import journeygraph as jg
from journeygraph.fit import split_state, state_id
from journeygraph.fit.numpy_engine import _parse_time_strings
from journeygraph.fit.spec import FORMULA_GUARD, TIME_PATTERN

from .conftest import DATA

ENGINES = ["numpy", "duckdb"]
KW: dict[str, Any] = {"customer_column": "c", "time_column": "t", "touchpoint_column": "e"}


def moves(jm: jg.JourneyMap) -> dict[tuple[str, str], float]:
    return {(m.source, m.target): m.weight for m in jm.moves}


def outcome_of(fn: Any) -> Any:
    """The moves of a fit, or the type and message of its error."""
    try:
        return moves(fn())
    except jg.JourneyGraphError as exc:
        return type(exc).__name__, str(exc)


# -- one time parser ------------------------------------------------------------------

# One customer, by time: 1500-06-01 ad, 2024-01-01 site, 9999-12-31 email (a "no end"
# placeholder). In time order: ad -> site -> email -> churn.
FAR = pd.DataFrame(
    {"c": [1, 1, 1], "t": ["9999-12-31", "1500-06-01", "2024-01-01"], "e": ["email", "ad", "site"]}
)
FAR_MOVES = {("ad", "site"): 1.0, ("site", "email"): 1.0, ("email", "churn"): 1.0}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("source", ["frame", "csv"])
def test_dates_outside_1677_2262_keep_their_order(engine: str, source: str, tmp_path: Path) -> None:
    log: Any = FAR
    if source == "csv":
        log = tmp_path / "far.csv"
        FAR.to_csv(log, index=False)
    assert moves(jg.fit(log, **KW, engine=engine)) == FAR_MOVES


def test_text_times_are_the_microseconds_python_reads() -> None:
    # Random valid ISO 8601 texts of every form; the reference is datetime.fromisoformat.
    rng = np.random.default_rng(17)
    texts, expected = [], []
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    for _ in range(400):
        day = datetime.date(1, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 3_652_058)))
        form = int(rng.integers(0, 5))
        hh, mm, ss, us = (int(rng.integers(0, k)) for k in (24, 60, 60, 1_000_000))
        if form == 0:
            text = day.isoformat()
            moment = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
        else:
            sep = "T" if form % 2 else " "
            text = f"{day.isoformat()}{sep}{hh:02d}:{mm:02d}:{ss:02d}.{us:06d}"
            offset = datetime.timedelta(0)
            if form >= 3:
                oh, om = int(rng.integers(0, 15)), int(rng.choice([0, 30, 45]))
                sign = 1 if rng.random() < 0.5 else -1
                offset = sign * datetime.timedelta(hours=oh, minutes=om)
                text += f"{'+' if sign > 0 else '-'}{oh:02d}:{om:02d}"
            moment = datetime.datetime(
                day.year, day.month, day.day, hh, mm, ss, us, tzinfo=datetime.timezone(offset)
            )
        texts.append(text)
        expected.append((moment - epoch) // datetime.timedelta(microseconds=1))
    naive = [t for t in texts if t.count(":") < 3]
    aware = [t for t in texts if t.count(":") >= 3]
    for group in (naive, aware):
        got, numeric = _parse_time_strings(pa.array(group), "t", "log")
        want = [expected[texts.index(t)] for t in group]
        assert not numeric
        assert got.tolist() == want


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1_000", "neither a plain number"),
        ("inf", "neither a plain number"),
        ("nan", "neither a plain number"),
        ("10000-01-01", "neither a plain number"),
        ("2024-02-30", "neither a plain number"),
        ("2024-05-01T24:00:00", "neither a plain number"),
        ("1e999", "not a finite number"),
    ],
)
@pytest.mark.parametrize("source", ["frame", "csv"])
def test_every_engine_refuses_the_same_time_texts(
    value: str, why: str, source: str, tmp_path: Path
) -> None:
    # Row 2 holds the bad value; the others are plain numbers (or dates for the dates).
    good = ["2024-01-01", "2024-01-02"] if "-" in value else ["1", "2"]
    frame = pd.DataFrame({"c": [1, 1, 1], "t": [good[0], value, good[1]], "e": ["a", "b", "a"]})
    log: Any = frame
    if source == "csv":
        log = tmp_path / "log.csv"
        frame.to_csv(log, index=False)
    errors = set()
    for engine in ENGINES:
        with pytest.raises(jg.EventLogError, match=why) as info:
            jg.fit(log, **KW, engine=engine)
        assert "row 2" in str(info.value)
        assert repr(value) in str(info.value)
        errors.add(str(info.value))
    assert len(errors) == 1


def test_every_engine_reads_the_same_number_forms() -> None:
    # 1e1 = 10 > +.5 = 0.5 > -3: a (t=-3) -> b (t=0.5) -> c (t=10), then churn.
    frame = pd.DataFrame({"c": [1, 1, 1], "t": ["1e1", "+.5", "-3"], "e": ["c", "b", "a"]})
    want = {("a", "b"): 1.0, ("b", "c"): 1.0, ("c", "churn"): 1.0}
    for engine in ENGINES:
        assert moves(jg.fit(frame, **KW, engine=engine)) == want


def test_the_time_pattern_is_the_documented_rule() -> None:
    import re

    ok = ["2024-05-01", "2024-05-01T14:30", "2024-05-01 14:30:00.123+02:00", "0001-01-01"]
    bad = ["2024-5-1", "10000-01-01", "0000-01-01", "2024-05-01 14:30 +02:00", "2024-13-01"]
    assert all(re.fullmatch(TIME_PATTERN, t) for t in ok)
    assert not any(re.fullmatch(TIME_PATTERN, t) for t in bad)


# -- repeated columns -----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("source", ["pandas", "arrow", "csv"])
def test_a_repeated_column_is_one_clear_error(engine: str, source: str, tmp_path: Path) -> None:
    frame = pd.DataFrame([[1, 1, "a", 5], [1, 2, "b", 6]], columns=["c", "t", "e", "t"])
    log: Any = frame
    if source == "arrow":
        log = pa.table([pa.array(frame.iloc[:, i]) for i in range(4)], names=list(frame.columns))
    elif source == "csv":
        log = tmp_path / "log.csv"
        log.write_text("c,t,e,t\n1,1,a,5\n1,2,b,6\n")
    with pytest.raises(jg.EventLogError, match="column 't' appears 2 times"):
        jg.fit(log, **KW, engine=engine)


# -- second-order ids -----------------------------------------------------------------


def test_second_order_ids_do_not_collide_and_read_back(tmp_path: Path) -> None:
    # Customer 1: "x > a", "b"   -> state ("x > a", "b")
    # Customer 2: "x", "a > b"   -> state ("x", "a > b")
    # Before: both were "x > a > b", one state with 2 entries' worth of moves.
    frame = pd.DataFrame({"c": [1, 1, 2, 2], "t": [1, 2, 1, 2], "e": ["x > a", "b", "x", "a > b"]})
    m2 = jg.fit(frame, **KW, order=2)
    assert isinstance(m2, jg.JourneyMap)
    ids = [t.id for t in m2.touchpoints]
    assert len(ids) == 4
    pairs = {split_state(i) for i in ids}
    assert pairs == {(None, "x > a"), ("x > a", "b"), (None, "x"), ("x", "a > b")}
    assert m2.metadata["states"] == {i: list(split_state(i)) for i in ids}
    assert moves(m2)[(state_id("x > a", "b"), "churn")] == 1.0
    assert moves(m2)[(state_id("x", "a > b"), "churn")] == 1.0
    path = tmp_path / "m2.yaml"
    jg.save(m2, path)
    again = jg.load(path)
    assert {t.id for t in again.touchpoints} == set(ids)
    assert moves(jg.collapse_order(again)) == moves(jg.fit(frame, **KW))


def test_a_touchpoint_named_like_the_start_marker_is_its_own_state() -> None:
    assert state_id(None, "b") != state_id("(start)", "b")
    assert split_state(state_id("(start)", "b")) == ("(start)", "b")
    with pytest.raises(jg.MapError, match="not a second-order state id"):
        split_state("a > b > c")


# -- CSV formula guard ----------------------------------------------------------------


def test_simulate_csv_fit_round_trip_keeps_guarded_ids(tmp_path: Path) -> None:
    text = (DATA / "good" / "tiny.yaml").read_text()
    for old, new in (("buy", "=buy"), ("ad", "+ad"), ("rival", "@rival")):
        text = text.replace(f": {old},", f": '{new}',").replace(f"to: {old}", f"to: '{new}'")
        text = text.replace(f"from: {old}", f"from: '{new}'").replace(f"{{{old}:", f"{{'{new}':")
    guarded = jg.loads(text)
    assert {"=buy", "@rival"} <= {o.id for o in guarded.outcomes}
    assert "+ad" in {t.id for t in guarded.touchpoints}
    log = jg.simulate(guarded, 2000, seed=3)
    path = log.write(tmp_path / "events.csv")
    assert "'=buy" in path.read_text()
    # The log's own outcome counts are the reference.
    last = pd.DataFrame(log.columns).groupby("customer_id").tail(1)
    want = last["touchpoint"].value_counts().to_dict()
    for engine in ENGINES:
        fitted = jg.fit(
            path,
            customer_column="customer_id",
            time_column="step",
            touchpoint_column="touchpoint",
            outcomes=guarded,
            engine=engine,
        )
        assert isinstance(fitted, jg.JourneyMap)
        into: dict[str, float] = {}
        for (_, b), w in moves(fitted).items():
            into[b] = into.get(b, 0.0) + w
        assert into["=buy"] == want["=buy"] > 0
        assert into["@rival"] == want["@rival"] > 0
        assert "+ad" in {t.id for t in fitted.touchpoints}


def test_formula_guard_pattern_matches_what_simulate_guards() -> None:
    import re

    from journeygraph._csv import FORMULA_STARTS
    from journeygraph.simulate import _csv_cell

    for start in FORMULA_STARTS:
        assert re.match(FORMULA_GUARD, _csv_cell(start + "x"))
    assert not re.match(FORMULA_GUARD, _csv_cell("x"))


# -- file names -----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_path_that_exists_is_a_path_not_a_glob(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "events[2024].csv"
    FAR.to_csv(path, index=False)
    (tmp_path / "events2.csv").write_text("c,t,e\n9,1,zzz\n")  # what the glob would match
    assert moves(jg.fit(path, **KW, engine=engine)) == FAR_MOVES


@pytest.mark.parametrize("engine", ENGINES)
def test_gzip_csv_in_every_engine(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "far.csv.gz"
    with gzip.open(path, "wt") as fh:
        FAR.to_csv(fh, index=False)
    assert moves(jg.fit(path, **KW, engine=engine)) == FAR_MOVES


# -- Ctrl-C ---------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["interrupt", "runtime"])
def test_ctrl_c_in_duckdb_is_a_keyboard_interrupt(
    error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    from journeygraph.fit import duckdb_engine

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        if error == "interrupt":
            raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(duckdb_engine, "_count_duckdb", interrupted)
    with pytest.raises(KeyboardInterrupt):
        jg.fit(FAR, **KW, engine="duckdb")


@pytest.mark.parametrize("column_type", ["UUID", "BOOLEAN", "BLOB"])
def test_a_time_column_of_another_type_names_its_type(column_type: str, tmp_path: Path) -> None:
    # Not a number in disguise: UUID used to be read as one (its name starts with U, as
    # the unsigned integer types' do) and failed deep inside the counting query.
    import duckdb

    path = tmp_path / "log.parquet"
    value = {"UUID": "gen_random_uuid()", "BOOLEAN": "true", "BLOB": "'\\x01'::BLOB"}[column_type]
    duckdb.connect().execute(
        f"COPY (SELECT c, {value} AS t, tp FROM (VALUES (1, 'ad'), (1, 'buy'), (2, 'ad')) "
        f"v(c, tp)) TO '{path}'"
    )
    with pytest.raises(
        jg.EventLogError, match=rf"time column 't' has type {column_type}; it must hold"
    ):
        jg.fit(
            path, customer_column="c", time_column="t", touchpoint_column="tp",
            outcomes={"buy": "conversion"}, engine="duckdb",
        )  # fmt: skip
