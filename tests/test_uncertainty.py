"""Credible intervals (journeygraph/uncertainty.py) against closed forms and jg.analyze.

Monte Carlo tolerances: the sample mean of ``n`` draws has standard error ``sd/√n``; the
empirical p-quantile has standard error ``√(p(1-p)/n) / f(x_p)`` (asymptotic normality
of sample quantiles, e.g. van der Vaart, Asymptotic Statistics, §21.2). Tests allow
5 standard errors, so a correct implementation fails with probability < 1e-6 per
check, and the seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np
import pytest
from scipy import stats

import journeygraph as jg
from journeygraph.uncertainty import DEFAULT_PRIOR, posterior_sample

from ._coverage import counted_map, journey_counts
from .conftest import DATA, EXAMPLES
from .random_maps import random_map_data


def _map(moves: list[tuple[str, str, float]], entry: dict[str, float], **kw: Any) -> jg.JourneyMap:
    tps = sorted({a for a, _, _ in moves})
    return jg.JourneyMap(
        name="t",
        stages=[{"id": "s"}],
        touchpoints=[{"id": tp, "stage": "s"} for tp in tps],
        outcomes=[
            {"id": "buy", "kind": "conversion"},
            {"id": "gone", "kind": "churn"},
            {"id": "rival", "kind": "competitor"},
        ],
        entry=entry,
        moves=[{"from": a, "to": b, "weight": w} for a, b, w in moves],
        **kw,
    )


def _scaled(jm: jg.JourneyMap, factor: float) -> jg.JourneyMap:
    data = jm.model_dump(by_alias=True, exclude_none=True)
    for m in data["moves"]:
        m["weight"] *= factor
    data["entry"] = {k: v * factor for k, v in data["entry"].items()}
    return jg.JourneyMap(**data)


def _quantile_se(dist: Any, p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) / float(dist.pdf(dist.ppf(p)))


# -- 1. closed form: one touchpoint, two exits -> Beta ---------------------------------


@pytest.mark.parametrize(("a", "b", "prior"), [(30, 70, 0.5), (3, 12, 1.0), (400, 9, 0.5)])
def test_one_split_is_beta(a: int, b: int, prior: float) -> None:
    # A Dirichlet over two moves is Beta(a + prior, b + prior) for the first one, and
    # the single entry touchpoint is entered with probability 1, so conversion = p.
    jm = _map([("x", "buy", a), ("x", "gone", b)], {"x": 5})
    n, level = 20_000, 0.9
    ci = jg.credible_intervals(jm, draws=n, level=level, prior=prior, seed=11)
    post = stats.beta(a + prior, b + prior)
    c = ci.conversion_probability
    for p, got in (((1 - level) / 2, c.lower), ((1 + level) / 2, c.upper)):
        assert abs(got - post.ppf(p)) < 5 * _quantile_se(post, p, n)
    assert abs(c.mean - (a + prior) / (a + b + 2 * prior)) < 5 * post.std() / math.sqrt(n)
    # churn is 1 - conversion in every draw, so its interval mirrors conversion's
    assert ci.churn_probability.lower == pytest.approx(1 - c.upper, abs=1e-12)
    assert ci.leaks_by_touchpoint["x"].flow.mean == pytest.approx(1 - c.mean, abs=1e-12)
    assert ci.leaks[0].share.lower == pytest.approx(1.0, abs=1e-12)
    assert ci.competitor_probability.upper == 0.0 and ci.switching == ()


def test_entry_split_is_beta_and_entry_can_be_fixed() -> None:
    # x always converts, y always churns: conversion = entry share of x, which is
    # Beta(e_x + prior, e_y + prior) when the entry is sampled, fixed e_x/(e_x+e_y) if not.
    jm = _map([("x", "buy", 10), ("y", "gone", 10)], {"x": 40, "y": 60})
    n = 20_000
    ci = jg.credible_intervals(jm, draws=n, seed=3, prior=0.5)
    post = stats.beta(40.5, 60.5)
    assert abs(ci.conversion_probability.lower - post.ppf(0.05)) < 5 * _quantile_se(post, 0.05, n)
    assert abs(ci.conversion_probability.upper - post.ppf(0.95)) < 5 * _quantile_se(post, 0.95, n)
    fixed = jg.credible_intervals(jm, draws=50, seed=3, entry_uncertain=False)
    c = fixed.conversion_probability
    assert c.lower == pytest.approx(0.4, abs=1e-12) and c.upper == pytest.approx(0.4, abs=1e-12)


# -- 2. a two-touchpoint chain: conversion = p1 p2 with independent rows ---------------


def test_two_step_chain_mean_is_product_of_beta_means() -> None:
    # x -> y (c1) or churn (d1); y -> buy (c2) or rival (d2). Rows are independent
    # Dirichlet draws, so E[p1 p2] = E[p1] E[p2] = Beta means multiplied (exact).
    c1, d1, c2, d2, prior = 20, 30, 8, 4, 0.5
    jm = _map([("x", "y", c1), ("x", "gone", d1), ("y", "buy", c2), ("y", "rival", d2)], {"x": 1})
    n = 20_000
    ci = jg.credible_intervals(jm, draws=n, prior=prior, seed=5)
    m1 = (c1 + prior) / (c1 + d1 + 2 * prior)
    m2 = (c2 + prior) / (c2 + d2 + 2 * prior)
    # sd of p1 p2 from E[p²] = m(m + 1/(s+1))·…: Beta second moments, exact
    s1, s2 = c1 + d1 + 2 * prior, c2 + d2 + 2 * prior
    e2 = m1 * (c1 + prior + 1) / (s1 + 1) * m2 * (c2 + prior + 1) / (s2 + 1)
    sd = math.sqrt(e2 - (m1 * m2) ** 2)
    assert abs(ci.conversion_probability.mean - m1 * m2) < 5 * sd / math.sqrt(n)
    # the switching flow y -> rival is p1 (1 - p2): mean m1 (1 - m2), same argument
    got = ci.switching_by_pair[("y", "rival")].flow.mean
    assert abs(got - m1 * (1 - m2)) < 5 * 0.1 / math.sqrt(n)
    # expected steps = 1 + p1 (x, then y when it moves on): mean 1 + m1
    assert abs(ci.expected_steps.mean - (1 + m1)) < 5 * 0.07 / math.sqrt(n)


# -- 3. intervals shrink like 1/sqrt(n) ------------------------------------------------


def test_intervals_shrink_like_one_over_sqrt_n() -> None:
    # Posterior sd of a smooth function of Dirichlet rows is ~ 1/sqrt(total count)
    # (Bernstein–von Mises), so ×100 counts gives widths ×0.1. Deviations: the prior
    # (0.5 against counts >= 20, a few %), skewness at small counts, and the Monte
    # Carlo error of each width (draws=4000: ~3 %); hence ±15 %.
    jm = jg.load(DATA / "good" / "tiny.yaml")
    jm = _scaled(jm, 10)  # counts 20..60 on moves, 10..30 on the entry
    small = jg.credible_intervals(jm, draws=4000, seed=1)
    large = jg.credible_intervals(_scaled(jm, 100), draws=4000, seed=2)

    def width(ci: jg.CredibleInterval) -> float:
        return ci.upper - ci.lower

    pairs = [(small.conversion_probability, large.conversion_probability)]
    big_leaks, big_switching = large.leaks_by_touchpoint, large.switching_by_pair
    pairs += [(x.flow, big_leaks[x.touchpoint].flow) for x in small.leaks]
    pairs += [(x.flow, big_switching[(x.touchpoint, x.competitor)].flow) for x in small.switching]
    pairs += [(small.expected_steps, large.expected_steps)]
    for s, g in pairs:
        assert 0.085 < width(g) / width(s) < 0.115


def test_large_counts_converge_to_the_analysis() -> None:
    # With counts ×1e6 the posterior sits on the point estimate (sd ~ 1e-5), so the
    # posterior means must equal jg.analyze's exact figures: an independent check of
    # every per-draw formula, removal effects included.
    jm = jg.load(EXAMPLES / "retail_five_a_current.yaml")
    res = jg.analyze(jm)
    ci = jg.credible_intervals(_scaled(jm, 1e6), draws=100, seed=0, removal_effects=True)
    tol = 1e-4
    assert ci.conversion_probability.mean == pytest.approx(res.conversion_probability, abs=tol)
    for o, p in res.outcome_probabilities.items():
        assert ci.outcome_probabilities[o].mean == pytest.approx(p, abs=tol)
    for leak in res.leaks:
        interval = ci.leaks_by_touchpoint[leak.touchpoint]
        assert interval.flow.mean == pytest.approx(leak.flow, abs=tol)
        assert interval.share.mean == pytest.approx(leak.share, abs=tol)
    for sw in res.switching:
        pair = ci.switching_by_pair[(sw.touchpoint, sw.competitor)]
        assert pair.flow.mean == pytest.approx(sw.flow, abs=tol)
        assert pair.share.mean == pytest.approx(sw.share, abs=tol)
    # shaped like the analysis: ranked records, in the analysis' order (no ties here)
    assert [x.touchpoint for x in ci.leaks] == [x.touchpoint for x in res.leaks]
    assert [(x.touchpoint, x.competitor) for x in ci.switching] == [
        (x.touchpoint, x.competitor) for x in res.switching
    ]
    assert ci.expected_steps.mean == pytest.approx(res.expected_steps, rel=tol)
    assert ci.removal_effects is not None
    for tp, effect in res.removal_effects.items():
        assert ci.removal_effects[tp].mean == pytest.approx(effect, abs=tol)


# -- 4. examples: the point estimate is inside; seeds; the two solve paths agree -------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_point_estimate_inside_the_interval(path: Any) -> None:
    jm = jg.load(path)
    res = jg.analyze(jm)
    ci = jg.credible_intervals(jm, draws=400, seed=0, removal_effects=True)
    checks = [(ci.conversion_probability, res.conversion_probability)]
    checks += [(ci.churn_probability, res.churn_probability)]
    checks += [(ci.competitor_probability, res.competitor_probability)]
    checks += [(ci.expected_steps, res.expected_steps)]
    checks += [(ci.outcome_probabilities[o], p) for o, p in res.outcome_probabilities.items()]
    leaks, pairs = ci.leaks_by_touchpoint, ci.switching_by_pair
    checks += [(leaks[x.touchpoint].flow, x.flow) for x in res.leaks]
    checks += [(leaks[x.touchpoint].share, x.share) for x in res.leaks]
    checks += [(pairs[(s.touchpoint, s.competitor)].flow, s.flow) for s in res.switching]
    checks += [(pairs[(s.touchpoint, s.competitor)].share, s.share) for s in res.switching]
    assert ci.removal_effects is not None
    checks += [(ci.removal_effects[k], v) for k, v in res.removal_effects.items()]
    for interval, estimate in checks:
        assert interval.lower <= interval.mean <= interval.upper
        assert interval.lower - 1e-12 <= estimate <= interval.upper + 1e-12
    assert set(ci.leaks_by_touchpoint) == {x.touchpoint for x in res.leaks}
    flows = [x.flow.mean for x in ci.leaks]
    assert flows == sorted(flows, reverse=True)  # ranked, largest first


def test_seed_reproduces_and_paths_agree() -> None:
    jm = jg.load(DATA / "good" / "tiny.yaml")
    kw: dict[str, Any] = {"draws": 300, "seed": 42, "removal_effects": True}
    first = jg.credible_intervals(jm, **kw).to_dict()
    assert jg.credible_intervals(jm, **kw).to_dict() == first
    assert jg.credible_intervals(jm, **{**kw, "seed": 43}).to_dict() != first
    gen = jg.credible_intervals(jm, **{**kw, "seed": np.random.default_rng(42)}).to_dict()
    assert gen == first
    # batched dense (np.linalg on the stack) vs one sparse LU per draw (ChainSolver)
    for other in ("sparse", "dense"):
        looped = jg.credible_intervals(jm, **kw, method=other).to_dict()
        _assert_close(first, looped)


def test_paths_agree_on_a_random_map() -> None:
    # A seeded stage-ordered map with loops, its weights rounded to counts.
    data = random_map_data(40, seed=7, stage_ordered=True)
    for m in data["moves"]:
        m["weight"] = float(round(m["weight"] * 10))
    data["entry"] = {k: float(round(v)) for k, v in data["entry"].items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)  # unreachable touchpoints
        counts = jg.JourneyMap(**data)
    kw: dict[str, Any] = {"draws": 60, "seed": 9, "removal_effects": True}
    batched = jg.credible_intervals(counts, **kw, method="batched").to_dict()
    looped = jg.credible_intervals(counts, **kw, method="sparse").to_dict()
    _assert_close(batched, looped)


def _assert_close(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_close(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
    else:
        assert a == b


# -- weights of zero, exports, bad arguments -------------------------------------------


def test_zero_weight_moves_get_the_prior_only() -> None:
    # x: 10 conversions, 0 churn written out -> Beta(10 + prior, prior) for conversion,
    # with the default prior
    jm = _map([("x", "buy", 10), ("x", "gone", 0)], {"x": 1})
    n = 20_000
    ci = jg.credible_intervals(jm, draws=n, seed=4)
    prior = DEFAULT_PRIOR
    assert ci.prior == prior == 0.1
    post = stats.beta(10 + prior, prior)
    assert abs(ci.conversion_probability.mean - post.mean()) < 5 * post.std() / math.sqrt(n)
    assert (
        ci.leaks_by_touchpoint["x"].flow.upper > 0
    )  # the unobserved exit carries posterior probability
    assert jg.analyze(jm).churn_probability == 0.0


def test_to_dict_and_to_frame() -> None:
    pytest.importorskip("pandas")
    jm = jg.load(DATA / "good" / "tiny.yaml")
    ci = jg.credible_intervals(jm, draws=100, seed=0)
    d = ci.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["removal_effects"] is None and d["draws"] == 100
    assert list(ci.to_frame("outcomes")["outcome"]) == ["buy", "gone", "rival"]
    assert set(ci.to_frame("leaks").columns) >= {"touchpoint", "lower", "upper", "share_mean"}
    assert list(ci.to_frame("switching")["competitor"]) == ["rival"]
    assert len(ci.to_frame("summary")) == 4
    with pytest.raises(ValueError, match="removal_effects=True"):
        ci.to_frame("removal_effects")
    with pytest.raises(ValueError, match="did you mean 'leaks'"):
        ci.to_frame("leak")
    assert "conversion=" in repr(ci)


def test_draws_times_touchpoints_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory of the sampled figures grows with draws x touchpoints (issue #17)."""
    import journeygraph.uncertainty as unc

    jm = jg.load(DATA / "good" / "tiny.yaml")  # 2 touchpoints
    monkeypatch.setattr(unc, "MAX_DRAW_VALUES", 1000)
    with pytest.raises(ValueError, match=r"draws=501 for 2 touchpoints .* use at most 500 draws"):
        jg.credible_intervals(jm, draws=501, seed=0)
    assert jg.credible_intervals(jm, draws=500, seed=0).draws == 500


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"draws": 1}, "draws must be an integer >= 2"),
        ({"draws": 2.5}, "draws must be an integer"),
        ({"draws": True}, "draws must be an integer"),
        ({"level": 1.0}, "level must be a probability"),
        ({"level": 0}, "level must be a probability"),
        ({"prior": 0}, "prior must be a finite number > 0"),
        ({"prior": float("nan")}, "prior must be"),
        ({"method": "sparce"}, "did you mean 'sparse'"),
        ({"draws": 1_000_001}, r"draws=1,000,001 is more than the limit of 1,000,000"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    jm = jg.load(DATA / "good" / "tiny.yaml")
    with pytest.raises(ValueError, match=match):
        jg.credible_intervals(jm, **kwargs)


def test_shares_warn() -> None:
    jm = _map([("x", "buy", 0.3), ("x", "gone", 0.7)], {"x": 1})
    with pytest.warns(jg.JourneyGraphWarning, match="not a whole number"):
        jg.credible_intervals(jm, draws=10, seed=0)
    entry_share = _map([("x", "buy", 3.0), ("x", "gone", 5.0)], {"x": 0.5})
    with pytest.warns(jg.JourneyGraphWarning, match="entry 'x' has weight 0.5"):
        jg.credible_intervals(entry_share, draws=10, seed=0)
    ok = jg.load(DATA / "good" / "tiny.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jg.credible_intervals(ok, draws=10, seed=0)  # integer counts: no warning
        jg.credible_intervals(entry_share, draws=10, seed=0, entry_uncertain=False)


def test_unsampleable_rows_are_a_map_error() -> None:
    # weights 1e-300 plus a prior of 1e-300: Gamma(1e-300) underflows to 0 every time
    jm = _map([("x", "buy", 1e-300), ("x", "gone", 1e-300)], {"x": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        with pytest.raises(jg.MapError, match="'x' no probability"):
            jg.credible_intervals(jm, draws=10, prior=1e-300, seed=0)


# -- coverage by simulation ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("n", "reps"), [(200, 400), (1000, 400), (10_000, 300)])
def test_coverage_on_the_retail_example(n: int, reps: int) -> None:
    # `reps` samples of n journeys from the retail example (exact first-order
    # simulation, tests/_coverage.py), each written as jg.fit writes counts (observed
    # moves only), each given 90 % intervals (500 draws: ends to ~3 % of the width)
    # with the default prior. The true figures
    # (jg.analyze of the generating map) should fall inside about 90 % of the time; the
    # binomial sd of the observed rate is 1.5-1.7 pts, so [85 %, 95 %] is ±3 sd.
    # docs/analysis.md, "Choice of prior", has the measured rates.
    jm = jg.load(EXAMPLES / "retail_five_a_current.yaml")
    res = jg.analyze(jm)
    truth = {
        "conversion_probability": res.conversion_probability,
        "churn_probability": res.churn_probability,
        "competitor_probability": res.competitor_probability,
        "expected_steps": res.expected_steps,
    }
    entries, moves = journey_counts(jm, n, reps, np.random.default_rng(n))
    hits = dict.fromkeys(truth, 0)
    for r in range(reps):
        ci = jg.credible_intervals(counted_map(jm, entries[r], moves[r]), draws=500, seed=r)
        for name, value in truth.items():
            interval = getattr(ci, name)
            hits[name] += interval.lower <= value <= interval.upper
    rates = {k: v / reps for k, v in hits.items()}
    assert all(0.85 <= r <= 0.95 for r in rates.values()), rates


def test_posterior_sample_with_a_fixed_entry_matches_analyze() -> None:
    # Counts x1e6 put the posterior on the point estimate (sd ~ 1e-4): with entry='shop'
    # the draws' means are jg.analyze(jm, entry='shop')'s figures (tests/conftest.py
    # solves tiny by hand: from shop, buy = 0.5 / (1 - 0.2·0.6) = 0.5682).
    jm = _scaled(jg.load(DATA / "good" / "tiny.yaml"), 1e6)
    sample = posterior_sample(jm, draws=200, seed=0, entry="shop")
    res = jg.analyze(jm, entry="shop")
    assert not sample.entry_uncertain
    assert res.conversion_probability == pytest.approx(0.5 / 0.88, rel=1e-9)
    v = sample.values
    assert v["conversion_probability"].mean() == pytest.approx(res.conversion_probability, abs=1e-3)
    for i, tp in enumerate(sample.touchpoints):
        assert v["visits"][:, i].mean() == pytest.approx(res.expected_visits[tp], abs=1e-3)
    assert v["backtrack_rate"].mean() == pytest.approx(res.stage_flow.rates["backtrack"], abs=1e-3)
    assert v["backtracks_per_journey"].mean() == pytest.approx(
        res.stage_flow.backtracks_per_journey, abs=1e-3
    )
    assert sample.intervals(0.5).level == 0.5
