"""Round trip: a simulated event log, written to Parquet and CSV, fits back to the map.

``jg.simulate`` writes the outcome id in the touchpoint column of a journey's last
event (and its kind in ``outcome``), so ``jg.fit(..., outcomes=<id -> kind>)`` reads
it with no extra column. The reference is the generating map itself: every fitted move
probability and entry share must lie within 4.5 binomial standard errors
(sqrt(p (1 - p) / n), n = the fitted number of moves out of that touchpoint, or of
journeys) of the map's, and the conversion probability of the fitted map (jg.analyze)
within 4.5 standard errors of the original's, n = journeys (seeded, so deterministic).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import journeygraph as jg

from .conftest import DATA, EXAMPLES, fit_simulated_log

Z = 4.5


def probabilities(jm: jg.JourneyMap) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for m in jm.moves:
        out.setdefault(m.source, {})[m.target] = m.weight
    return {a: {b: w / sum(row.values()) for b, w in row.items()} for a, row in out.items()}


def assert_within(p_hat: float, p: float, n: float, what: str) -> None:
    if p in (0.0, 1.0):
        assert p_hat == p, what
        return
    se = math.sqrt(p * (1 - p) / n)
    assert abs(p_hat - p) <= Z * se, f"{what}: fitted {p_hat:.5f}, map {p:.5f}, se {se:.5f}"


@pytest.mark.parametrize(
    ("map_path", "time"),
    [(EXAMPLES / "b2b_saas_current.yaml", "timestamp"), (DATA / "good" / "tiny.yaml", "step")],
    ids=["b2b_saas_durations", "tiny_no_durations"],
)
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_simulated_log_fits_back_to_the_map(
    map_path: Path, time: str, suffix: str, tmp_path: Path
) -> None:
    jm = jg.load(map_path)
    n = 100_000
    log = jg.simulate(jm, n, seed=2024)
    assert not len(log.truncated)
    # Without durations there is no timestamp column: the step number is the time.
    assert ("timestamp" in log.columns) == (time == "timestamp")
    path = log.write(tmp_path / f"events{suffix}")
    fitted = jg.fit(
        path,
        customer_column="customer_id",
        time_column=time,
        touchpoint_column="touchpoint",
        outcomes={o.id: o.kind for o in jm.outcomes},
        stages=jm,
    )
    assert isinstance(fitted, jg.JourneyMap)
    report = jg.FitReport.of(fitted)
    assert report.journeys == n and report.events == len(log)
    assert not any(report.dropped.values())
    # Same touchpoints, stages and outcomes as the generating map.
    assert {t.id for t in fitted.touchpoints} <= {t.id for t in jm.touchpoints}
    assert [s.id for s in fitted.stages] == [s.id for s in jm.stages]
    assert {(o.id, o.kind) for o in fitted.outcomes} <= {(o.id, o.kind) for o in jm.outcomes}

    truth, got = probabilities(jm), probabilities(fitted)
    out_counts: dict[str, float] = {}
    for m in fitted.moves:
        out_counts[m.source] = out_counts.get(m.source, 0.0) + m.weight
    checked = 0
    for a, row in truth.items():
        if a not in got:  # never visited in the sample: only possible if rarely reached
            continue
        assert set(got[a]) <= set(row), f"{a}: a move the map does not have"
        for b, p in row.items():
            assert_within(got[a].get(b, 0.0), p, out_counts[a], f"move {a} -> {b}")
            checked += 1
    assert checked >= len(jm.moves) - 2
    entry_total = sum(jm.entry.values())
    for t, w in jm.entry.items():
        assert_within(fitted.entry.get(t, 0.0) / n, w / entry_total, n, f"entry {t}")

    p_true = jg.analyze(jm).conversion_probability
    p_fit = jg.analyze(fitted).conversion_probability
    assert_within(p_fit, p_true, n, "conversion probability")


def test_whole_map_as_outcomes_and_a_clear_error_for_the_kind_column(tmp_path: Path) -> None:
    jm = jg.load(DATA / "good" / "tiny.yaml")
    path = jg.simulate(jm, 2000, seed=5).write(tmp_path / "events.parquet")
    kw: dict[str, Any] = dict(
        customer_column="customer_id", time_column="step", touchpoint_column="touchpoint"
    )
    by_map = jg.fit(path, outcomes=jm, **kw)
    by_dict = jg.fit(path, outcomes={o.id: o.kind for o in jm.outcomes}, **kw)
    assert isinstance(by_map, jg.JourneyMap) and isinstance(by_dict, jg.JourneyMap)
    # The same counts; the map as outcomes= is also the template: its name and its
    # outcome names are kept.
    assert by_map.name == "tiny" and by_dict.name == "events"
    assert [(o.id, o.name) for o in by_map.outcomes] == [(o.id, o.name) for o in jm.outcomes]
    assert by_map.model_copy(update={"name": "x", "outcomes": ()}).model_dump() == (
        by_dict.model_copy(update={"name": "x", "outcomes": ()}).model_dump()
    )
    assert [(o.id, o.kind) for o in by_map.outcomes] == [(o.id, o.kind) for o in by_dict.outcomes]
    for engine in ("duckdb", "numpy"):
        with pytest.raises(
            jg.EventLogError, match=r"holds outcome kinds.*leave out outcome_column="
        ):
            jg.fit(path, outcomes=jm, outcome_column="outcome", engine=engine, **kw)


def test_cli_simulate_then_fit_with_the_map_for_outcomes_and_stages(tmp_path: Path) -> None:
    """The README's command-line round trip: simulate a log, fit it back with the map
    naming the outcomes and stages; the fitted conversion matches the map's within
    4.5 binomial standard errors (20,000 journeys, seed 3)."""
    import subprocess
    import sys

    import numpy as np

    example = str(EXAMPLES / "retail_five_a_current.yaml")
    log, out = tmp_path / "events.parquet", tmp_path / "fitted.yaml"
    for args in (
        ["simulate", example, "-n", "20000", "--seed", "3", "-o", str(log)],
        fit_simulated_log(log, example, out, "--stages", example),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "journeygraph", *args], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    p = jg.analyze(jg.load(example)).conversion_probability
    q = jg.analyze(jg.load(out)).conversion_probability
    assert abs(q - p) < 4.5 * np.sqrt(p * (1 - p) / 20000)
