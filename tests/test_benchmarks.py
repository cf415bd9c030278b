"""The benchmark suite runs in quick mode, so it cannot rot (tests/benchmarks/run.py).

Checks: every case is measured or says why it was skipped; journeygraph's removal
effects equal the independent pyarrow + numpy floor to 1e-12; the page's generated
block is exactly what the results file renders to, and regenerating replaces it.
"""

from __future__ import annotations

import json
from pathlib import Path

import journeygraph as jg
from tests.benchmarks import run


def test_quick_suite_writes_results_and_regenerates_the_page(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    page.write_text(
        "# Performance\n\nintro\n\n<!-- bench:begin -->\nSTALE-BLOCK\n<!-- bench:end -->\n\n## Kept\n"
    )
    results = run.main(["--quick", "--out", str(tmp_path), "--docs", str(page)])
    stored = json.loads((tmp_path / "results.json").read_text())
    assert stored == json.loads(json.dumps(results))
    assert stored["machine"]["versions"]["numpy"]
    groups = {c["group"] for c in stored["cases"]}
    assert set(run.GROUPS) == groups
    # The numpy engine's peak memory is measured in a fresh process (VmHWM of its own).
    fits = [c for c in stored["cases"] if c["case"].startswith("fit(engine='numpy')")]
    assert fits and all(0 < c["peak_rss_mib"] < 1024 for c in fits)
    for case in stored["cases"]:
        measured = case["journeygraph_s"] is not None or case["alternative_s"] is not None
        assert measured or case["skipped"], case
    floor = next(c for c in stored["cases"] if c["alternative"].startswith("exact pyarrow"))
    assert floor["difference"] <= 1e-12
    text = page.read_text()
    assert run.render_markdown(stored) in text
    assert "STALE-BLOCK" not in text and text.endswith("## Kept\n") and "intro" in text
    run.update_page(page, stored)  # regenerating keeps one block
    assert page.read_text() == text


def test_only_keeps_the_other_groups_cases_with_their_date(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    earlier = {
        "date": "2026-01-01 00:00 UTC",
        "cases": [run._case("counting", "kept", 2.0, "bare", 1.0)],
    }
    results.write_text(json.dumps(earlier))
    again = run.main(["--quick", "--only", "removal", "--out", str(tmp_path)])
    assert [c["group"] for c in again["cases"]] == ["removal", "counting"]
    kept = again["cases"][1]
    assert kept["case"] == "kept" and kept["date"] == "2026-01-01 00:00 UTC"
    assert "Measured 2026-01-01 00:00 UTC (kept from an earlier run" in run.render_markdown(again)


def test_attribution_floor_matches_hand_solved_paths() -> None:
    # Two paths (conftest-style hand solution): "a > b" 3 conversions 1 null, "b" 0/2.
    # Q: a->b 1; b: conversion 3/6, null 3/6; entry a 4/6, b 2/6. P(conv) = 1/2 and
    # removing either channel loses every conversion through it: a 4/6·1/2 / (1/2) = 2/3,
    # b: 1.
    import pyarrow as pa

    table = pa.table({"path": ["a > b", "b"], "total_conversions": [3, 0], "total_null": [1, 2]})
    effects = run.attribution_floor(table)
    assert abs(effects["a"] - 2 / 3) < 1e-12
    assert abs(effects["b"] - 1.0) < 1e-12


def test_analysis_floors_are_correct_and_the_faster_one_is_named() -> None:
    import numpy as np

    from tests._reference import dense
    from tests.random_maps import random_map

    jm = random_map(300, seed=1)  # entry on 3 touchpoints: BiCGSTAB from x0 = 0 breaks down
    d = dense(jm)  # numpy's dense inverse (tests/_reference.py)
    for floor in (run.iterative_floor, run.sparse_lu_floor):
        seconds, (probs, visits), converged = floor(jm)
        assert converged and seconds > 0
        np.testing.assert_allclose(probs, d.entry @ d.B, atol=1e-10)
        np.testing.assert_allclose(visits, d.entry @ d.N, rtol=1e-9, atol=1e-12)
    import journeygraph as jg

    seconds, which, note = run.best_floor("random", 300, jg.analyze(jm), 1)
    assert which in ("Jacobi BiCGSTAB", "sparse LU (SuperLU)") and seconds is not None
    assert "Jacobi BiCGSTAB" in note and "sparse LU" in note and "not a correct" not in note


def test_simulate_floor_matches_the_hand_solved_tiny_map(tiny: jg.JourneyMap) -> None:
    # tests/conftest.py solves tiny by hand: N = 1/0.88 [[1, 0.6], [0.2, 1]], entry
    # (0.75, 0.25), P(buy, gone, rival) = (35, 46, 7) / 88; expected moves π0 N 1 = 75/44
    # and their variance π0 (2N - I) N 1 - (π0 N 1)^2 (Kemeny & Snell 3.3.5).
    import numpy as np
    from numpy.testing import assert_array_equal

    n = 100_000
    cols = run.simulate_floor(tiny, n, seed=1)
    assert list(cols) == ["customer_id", "step", "touchpoint", "outcome"]
    customer = cols["customer_id"]
    assert np.all(np.diff(customer) >= 0) and np.unique(customer).size == n
    first = np.r_[True, np.diff(customer) != 0]
    last = np.r_[np.diff(customer) != 0, True]
    assert_array_equal(cols["step"][first], 0)
    assert np.all(np.diff(cols["step"])[~first[1:]] == 1)
    assert_array_equal(cols["outcome"] != None, last)  # noqa: E711
    ended = cols["touchpoint"][last]
    kinds = {"buy": "conversion", "gone": "churn", "rival": "competitor"}
    assert all(kinds[o] == k for o, k in zip(ended, cols["outcome"][last], strict=True))
    for outcome, p in {"buy": 35 / 88, "gone": 46 / 88, "rival": 7 / 88}.items():
        share = np.count_nonzero(ended == outcome) / n
        assert abs(share - p) <= 4 * (p * (1 - p) / n) ** 0.5, (outcome, share, p)
    N = np.array([[1.0, 0.6], [0.2, 1.0]]) / 0.88
    entry, steps = np.array([0.75, 0.25]), N.sum(axis=1)
    mean = entry @ steps
    assert abs(mean - 75 / 44) < 1e-12
    var = entry @ ((2 * N - np.eye(2)) @ steps) - mean**2
    assert abs(customer.size / n - 1 - mean) <= 4 * (var / n) ** 0.5
    # Both samplers read the random stream in the same order (the entry draw, then one
    # uniform per journey still on the way, per step), so a seed gives the same log.
    log = jg.simulate(tiny, 2000, seed=3)
    floor = run.simulate_floor(tiny, 2000, seed=3)
    for name, values in floor.items():
        assert_array_equal(log.columns[name], values)
