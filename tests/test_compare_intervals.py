"""Is a change real? jg.compare(..., intervals=True) against closed forms and simulation.

Monte Carlo tolerances as in tests/test_uncertainty.py: an empirical p-quantile of ``n``
draws has standard error ``√(p(1-p)/n) / f(x_p)`` (van der Vaart, Asymptotic
Statistics, §21.2); checks allow 5 standard errors, and every seed is fixed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import journeygraph as jg
from journeygraph.uncertainty import equal_tailed, posterior_sample

from ._coverage import counted_map, journey_counts
from .conftest import DATA, EXAMPLES
from .conftest import run_cli as run

CURRENT = EXAMPLES / "retail_five_a_current.yaml"
FUTURE = EXAMPLES / "retail_five_a_future.yaml"


def _split(buy: float, gone: float, name: str = "t") -> jg.JourneyMap:
    """One touchpoint ``x`` that converts ``buy`` times and churns ``gone`` times."""
    return jg.JourneyMap(
        name=name,
        stages=[{"id": "s"}],
        touchpoints=[{"id": "x", "stage": "s"}],
        outcomes=[{"id": "buy", "kind": "conversion"}, {"id": "gone", "kind": "churn"}],
        entry={"x": 10},
        moves=[
            {"from": "x", "to": "buy", "weight": buy},
            {"from": "x", "to": "gone", "weight": gone},
        ],
    )


def _scaled(jm: jg.JourneyMap, factor: float) -> jg.JourneyMap:
    data = jm.model_dump(by_alias=True, exclude_none=True)
    for m in data["moves"]:
        m["weight"] = float(round(m["weight"] * factor))
    data["entry"] = {k: float(round(v * factor)) for k, v in data["entry"].items()}
    return jg.JourneyMap(**data)


# -- 1. closed form: the difference of two Beta posteriors -----------------------------


def test_delta_of_two_splits_is_the_difference_of_two_betas() -> None:
    # conversion before ~ Beta(30.5, 70.5), after ~ Beta(45.5, 55.5), independent; the
    # delta's CDF is F(d) = ∫ f_before(x) F_after(x + d) dx (convolution, by quadrature).
    prior, n, level = 0.5, 20_000, 0.9
    before, after = stats.beta(30 + prior, 70 + prior), stats.beta(45 + prior, 55 + prior)
    diff = jg.compare(_split(30, 70), _split(45, 55), intervals=True, draws=n, seed=3, prior=prior)

    def cdf(d: float) -> float:
        return float(integrate.quad(lambda x: before.pdf(x) * after.cdf(x + d), 0, 1)[0])

    def pdf(d: float) -> float:
        return float(integrate.quad(lambda x: before.pdf(x) * after.pdf(x + d), 0, 1)[0])

    ci = diff.metrics["conversion"].interval
    assert ci is not None
    for p, got in (((1 - level) / 2, ci.lower), ((1 + level) / 2, ci.upper)):
        exact = optimize.brentq(lambda d, p=p: cdf(d) - p, -1, 1, xtol=1e-12)
        assert abs(got - exact) < 5 * math.sqrt(p * (1 - p) / n) / pdf(exact)
    sd = math.sqrt(before.var() + after.var())
    assert abs(ci.mean - (after.mean() - before.mean())) < 5 * sd / math.sqrt(n)
    # churn = 1 - conversion in every draw: its delta interval is the mirror image
    churn = diff.metrics["churn"].interval
    assert churn is not None
    assert churn.lower == pytest.approx(-ci.upper, abs=1e-12)
    assert diff.metrics["conversion"].credible is True  # 0.30 -> 0.45: exact lower end > 0
    assert diff.metrics["competitor"].credible is False  # no competitor: [0, 0]


def test_identical_maps_have_no_credible_change() -> None:
    # Two independent draws from one posterior: the delta is symmetric about 0.
    jm = jg.load(CURRENT)
    diff = jg.compare(jm, jm, intervals=True, draws=400, seed=0)
    assert diff.interval_level == 0.9 and diff.without_counts == {}
    for key, m in diff.metrics.items():
        if key == "expected_hours":
            assert m.interval is None  # durations are not sampled
            continue
        assert m.interval is not None and m.credible is False, key
    for per in diff.touchpoint_metrics.values():
        for key in ("visits", "leak", "switching"):
            assert per[key].credible is False
        assert per["removal_effect"].interval is None
    assert "credible changes: none" in diff.summary()


def test_large_counts_put_each_interval_on_the_exact_delta() -> None:
    # Counts x1e5: the posteriors sit on the point estimates (sd ~ 1e-4), so the mean of
    # every delta's draws equals the delta of the two jg.analyze results, which checks
    # each per-draw formula (stage flow rates, outcome ids, per-touchpoint flows).
    a, b = _scaled(jg.load(CURRENT), 1e5), _scaled(jg.load(FUTURE), 1e5)
    diff = jg.compare(a, b, intervals=True, draws=100, seed=1)
    checked = 0
    for key, m in [*diff.metrics.items()] + [
        (f"{tp}:{k}", m) for tp, per in diff.touchpoint_metrics.items() for k, m in per.items()
    ]:
        if m.interval is None:
            assert key == "expected_hours" or key.endswith(":removal_effect") or m.delta is None
            continue
        assert m.delta is not None
        tol = 2e-3 if "steps" in key or "visits" in key or "per_journey" in key else 1e-3
        assert m.interval.mean == pytest.approx(m.delta, abs=tol), key
        assert m.interval.lower - tol <= m.delta <= m.interval.upper + tol, key
        checked += 1
    assert checked > 50
    assert diff.metrics["conversion"].credible and diff.metrics["skip_rate"].interval is not None


# -- 2. hypothetical maps, renames, seeds ----------------------------------------------


def _hypothetical(jm: jg.JourneyMap) -> jg.JourneyMap:
    data = jm.model_dump(by_alias=True, exclude_none=True)
    data["name"] = "what if"
    data["moves"][0]["weight"] += 0.5
    return jg.JourneyMap(**data)


def test_hypothetical_future_gives_the_current_intervals_only() -> None:
    current = jg.load(CURRENT)
    future = _hypothetical(jg.load(FUTURE))
    diff = jg.compare(current, future, intervals=True, draws=300, seed=5)
    assert all(m.interval is None for m in diff.metrics.values())
    assert diff.future_intervals is None and set(diff.without_counts) == {"future"}
    assert "not a whole number" in diff.without_counts["future"]
    # the current map's draws come first from the seed: the same as credible_intervals
    alone = jg.credible_intervals(current, draws=300, seed=5)
    assert diff.current_intervals is not None
    assert diff.current_intervals.to_dict() == alone.to_dict()
    text = diff.summary()
    assert "the future map 'what if' is hypothetical" in text
    assert "intervals of the current map alone" in text
    c = alone.conversion_probability
    assert f"conversion {c.mean:.1%} [{c.lower:.1%}, {c.upper:.1%}]" in text
    d = diff.to_dict()["intervals"]
    assert d["future"] is None and d["current"] == alone.to_dict() and d["credible"] == []


def test_hypothetical_current_gives_the_future_intervals() -> None:
    diff = jg.compare(_hypothetical(jg.load(CURRENT)), jg.load(FUTURE), intervals=True, draws=50)
    assert diff.current_intervals is None and diff.future_intervals is not None
    assert "intervals of the future map alone" in diff.summary()


def test_two_hypothetical_maps_are_an_error() -> None:
    jm = _hypothetical(jg.load(CURRENT))
    with pytest.raises(jg.MapError, match=r"neither map carries counts.*jg\.fit"):
        jg.compare(jm, jm, intervals=True)
    assert jg.compare(jm, jm).interval_level is None  # without intervals: fine


def test_renames_match_moves_and_metrics_as_same_ids() -> None:
    # The future map with 'checkout' renamed to 'pay' and outcome 'abandoned' to 'lost'
    # must give exactly the intervals of the unrenamed pair (same seed, same draws).
    current, future = jg.load(CURRENT), jg.load(FUTURE)
    text = json.dumps(future.model_dump(mode="json", by_alias=True))
    for old, new in (("checkout", "pay"), ("abandoned", "lost")):
        text = text.replace(f'"{old}"', f'"{new}"')
    renamed = jg.JourneyMap(**json.loads(text))
    renames = {"checkout": "pay", "abandoned": "lost"}
    plain = jg.compare(current, future, intervals=True, draws=200, seed=8)
    moved = jg.compare(current, renamed, intervals=True, draws=200, seed=8, renames=renames)

    def back(key: str) -> str:
        names = {"pay": "checkout", "lost": "abandoned", "outcome:lost": "outcome:abandoned"}
        return names.get(key, key)

    assert {back(k): v for k, v in moved.metrics.items()} == dict(plain.metrics)
    assert {back(k): v for k, v in moved.touchpoint_metrics.items()} == dict(
        plain.touchpoint_metrics
    )
    assert moved.metrics["outcome:lost"].interval is not None
    assert [(back(m.source), back(m.target)) for m in moved.moves_reweighted] == [
        (m.source, m.target) for m in plain.moves_reweighted
    ]
    assert moved.touchpoints_added == plain.touchpoints_added == ("live_chat",)


def test_seed_reproduces() -> None:
    a, b = jg.load(CURRENT), jg.load(FUTURE)
    first = jg.compare(a, b, intervals=True, draws=100, seed=2).to_dict()
    assert jg.compare(a, b, intervals=True, draws=100, seed=2).to_dict() == first
    assert jg.compare(a, b, intervals=True, draws=100, seed=3).to_dict() != first
    assert json.loads(json.dumps(first, allow_nan=False)) == first
    conv = first["metrics"]["conversion"]
    assert set(conv) == {"before", "after", "delta", "interval", "credible"}
    assert "conversion" in first["intervals"]["credible"]
    assert first["intervals"]["draws"] == 100 and first["intervals"]["level"] == 0.9


def test_entry_override_fixes_the_entry() -> None:
    # With entry='x' nothing about the entry is sampled; the one-touchpoint maps are
    # then exactly the Beta case of test 1 (entry sampling is a no-op there too).
    a, b = _split(30, 70), _split(45, 55)
    fixed = jg.compare(a, b, intervals=True, draws=200, seed=4, entry="x")
    sampled = jg.compare(a, b, intervals=True, draws=200, seed=4)
    assert fixed.metrics["conversion"].interval is not None
    assert sampled.current_intervals is not None and fixed.current_intervals is not None
    assert sampled.current_intervals.entry_uncertain and not fixed.current_intervals.entry_uncertain


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"intervals": "yes"}, TypeError, "intervals must be True or False"),
        ({"intervals": True, "level": 1.5}, ValueError, "level must be a probability"),
        ({"intervals": True, "draws": 1}, ValueError, "draws must be an integer >= 2"),
        ({"intervals": True, "draws": 10**9}, ValueError, "more than the limit of"),
        ({"intervals": True, "prior": -1}, ValueError, "prior must be a finite number"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    jm = jg.load(DATA / "good" / "tiny.yaml")
    with pytest.raises(error, match=match):
        jg.compare(jm, jm, **kwargs)


def test_to_frame_has_interval_columns() -> None:
    pytest.importorskip("pandas")
    jm = jg.load(DATA / "good" / "tiny.yaml")
    frame = jg.compare(jm, jm, intervals=True, draws=50, seed=0).to_frame("metrics")
    assert {"lower", "upper", "credible"} <= set(frame.columns)
    assert "lower" not in jg.compare(jm, jm).to_frame("metrics").columns


# -- 3. coverage by simulation ---------------------------------------------------------


def test_interval_is_the_quantiles_of_the_draw_by_draw_differences() -> None:
    # compare() draws the current map's posterior, then the future map's, from one
    # generator; the interval of a delta is the equal-tailed interval of their
    # difference. Rebuilt here from posterior_sample, draw for draw.
    a, b = jg.load(CURRENT), jg.load(FUTURE)
    diff = jg.compare(a, b, intervals=True, draws=300, level=0.8, seed=6)
    rng = np.random.default_rng(6)
    before = posterior_sample(a, draws=300, seed=rng).values
    after = posterior_sample(b, draws=300, seed=rng).values
    for key, name in (("conversion", "conversion_probability"), ("skip_rate", "skip_rate")):
        delta = after[name] - before[name]
        lo, hi = np.quantile(delta, (0.1, 0.9))
        ci = diff.metrics[key].interval
        assert ci is not None
        assert (ci.lower, ci.upper, ci.mean) == (lo, hi, pytest.approx(delta.mean(), rel=1e-12))


@pytest.mark.slow
def test_coverage_of_the_delta_intervals() -> None:
    # 300 repetitions: n = 1,000 journeys from each of the retail current and future
    # maps (exact first-order simulation, tests/_coverage.py), written as fitted maps;
    # the delta of each figure is sampled as compare() does (the test above shows the
    # two agree draw for draw; analysing 600 maps through compare() would take minutes).
    # A 90 % interval should hold the true delta (of the generating maps' analyses)
    # about 90 % of the time; the binomial sd of the observed rate over 300
    # repetitions is 1.7 pts, so [85 %, 95 %] is ±3 sd.
    current, future = jg.load(CURRENT), jg.load(FUTURE)
    truth = jg.compare(current, future).metrics
    keys = {
        "conversion": "conversion_probability",
        "churn": "churn_probability",
        "competitor": "competitor_probability",
        "expected_steps": "expected_steps",
    }
    reps, n = 300, 1000
    rng = np.random.default_rng(2024)
    ea, ma = journey_counts(current, n, reps, rng)
    eb, mb = journey_counts(future, n, reps, rng)
    hits = dict.fromkeys(keys, 0)
    for r in range(reps):
        draws = np.random.default_rng(r)
        before = posterior_sample(counted_map(current, ea[r], ma[r]), draws=500, seed=draws)
        after = posterior_sample(counted_map(future, eb[r], mb[r]), draws=500, seed=draws)
        for key, name in keys.items():
            ci = equal_tailed(after.values[name] - before.values[name], 0.9)
            true_delta = truth[key].delta
            assert true_delta is not None
            hits[key] += ci.lower <= true_delta <= ci.upper
    rates = {k: v / reps for k, v in hits.items()}
    assert all(0.85 <= r <= 0.95 for r in rates.values()), rates


# -- 4. the command line ---------------------------------------------------------------


def test_cli_compare_intervals() -> None:
    out = run("compare", str(CURRENT), str(FUTURE), "--intervals", "--draws", "200", "--seed", "1")
    assert out.returncode == 0, out.stderr
    assert "is the change real? 90% credible intervals" in out.stdout
    assert "conversion +4.0 pts, interval [" in out.stdout
    assert "credible changes: conversion" in out.stdout
    js = run(
        "compare",
        str(CURRENT),
        str(FUTURE),
        "--intervals",
        "--json",
        "--level",
        "0.8",
        "--seed",
        "1",
    )
    assert js.returncode == 0, js.stderr
    report = json.loads(js.stdout)
    assert report["intervals"]["level"] == 0.8 and report["intervals"]["draws"] == 1000
    assert report["metrics"]["conversion"]["credible"] is True


def test_cli_compare_interval_errors(tmp_path: Any) -> None:
    assert run("compare", str(CURRENT), str(FUTURE), "--draws", "5").returncode == 2
    bad = run("compare", str(CURRENT), str(FUTURE), "--intervals", "--draws", "1")
    assert bad.returncode == 2 and "--draws must be at least 2" in bad.stderr
    shares = tmp_path / "shares.json"
    shares.write_text(
        json.dumps(_hypothetical(jg.load(CURRENT)).model_dump(mode="json", by_alias=True))
    )
    half = run("compare", str(CURRENT), str(shares), "--intervals", "--draws", "50")
    assert half.returncode == 0 and "is hypothetical" in half.stdout
    both = run("compare", str(shares), str(shares), "--intervals")
    assert both.returncode == 1 and "neither map carries counts" in both.stderr
    assert "Traceback" not in both.stderr


def test_the_before_after_log_example_of_the_docs(tmp_path: Any) -> None:
    # docs/comparison.md, "Is the change real?": two logs simulated from the retail
    # current and future maps, fitted, compared. The figures shown there are seed 0's.
    before_map, after_map = jg.load(CURRENT), jg.load(FUTURE)
    jg.simulate(before_map, 2_000, seed=1).write(tmp_path / "before.parquet")
    jg.simulate(after_map, 2_000, seed=2).write(tmp_path / "after.parquet")

    def fit(path: Any, template: jg.JourneyMap) -> jg.JourneyMap:
        fitted = jg.fit(
            path,
            customer_column="customer_id",
            time_column="step",
            touchpoint_column="touchpoint",
            outcomes=template,
            stages=template,
        )
        assert isinstance(fitted, jg.JourneyMap)
        return fitted

    before = fit(tmp_path / "before.parquet", before_map)
    after = fit(tmp_path / "after.parquet", after_map)
    diff = jg.compare(before, after, intervals=True, seed=0)
    assert diff.without_counts == {}
    conversion, rival = diff.metrics["conversion"], diff.metrics["competitor"]
    assert conversion.credible and rival.credible is False
    text = diff.summary().splitlines()
    page = (Path(__file__).parent.parent / "docs" / "comparison.md").read_text(encoding="utf-8")
    shown = page.split("The summary ends with the answer", 1)[1].split("```text\n", 1)[1]
    shown = shown.split("```", 1)[0]
    for line in shown.splitlines():  # the page shows exactly what the code prints
        assert line in text, line
    assert any(x.startswith("  conversion +4.8 pts, interval [+3.0, +6.5]") for x in text)
