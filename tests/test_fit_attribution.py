"""fit_paths is exact first-order Markov attribution of the path table.

Two independent references:

1. A dense computation written here from the path table alone (transition counts,
   chain start -> channels -> conversion/null, removal of channel k sends every move
   into k to null, Anderl et al. 2016), compared with ``jg.analyze(jg.fit_paths(...))
   .removal_effects`` to 1e-9.
2. ChannelAttribution (``pip install channelattribution``, an independent C++
   implementation analysts use): its ``transition_matrix`` must equal the fitted map's
   move probabilities exactly (to float rounding), and its simulated
   ``markov_model(..., out_more=True)`` removal effects must agree within the Monte
   Carlo error explained in ``test_channelattribution_removal_effects``. Skipped with a
   reason when the package is absent.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import journeygraph as jg

from ._reference import markov_attribution


def random_paths(seed: int, n_paths: int, channels: list[str], repeats: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    paths: dict[str, tuple[int, int]] = {}
    while len(paths) < n_paths:
        k = int(rng.integers(1, 7))
        steps = list(rng.choice(channels, size=k))
        if not repeats:
            steps = [s for i, s in enumerate(steps) if i == 0 or s != steps[i - 1]]
        paths[" > ".join(steps)] = (int(rng.integers(0, 30)), int(rng.integers(0, 60)))
    rows = [(p, c, n) for p, (c, n) in paths.items() if c + n > 0]
    return pd.DataFrame(rows, columns=["path", "total_conversions", "total_null"])


def dense_removal_effects(table: pd.DataFrame) -> tuple[float, dict[str, float]]:
    """(P(conversion), removal effects) by dense linear algebra on the path table."""
    return markov_attribution(table.itertuples(index=False))


@pytest.mark.parametrize("repeats", [False, True])
def test_analyze_removal_effects_equal_dense_markov_attribution(repeats: bool) -> None:
    table = random_paths(7, 400, ["search", "email", "social", "display", "direct"], repeats)
    jm = jg.fit_paths(table)
    result = jg.analyze(jm)
    base, exact = dense_removal_effects(table)
    assert result.conversion_probability == pytest.approx(base, rel=1e-9)
    assert result.removal_effects.keys() == exact.keys()
    for k, v in exact.items():
        assert result.removal_effects[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def _channelattribution() -> Any:
    ca = pytest.importorskip(
        "ChannelAttribution",
        reason="ChannelAttribution is not installed (pip install channelattribution "
        "matplotlib, or the dev extra): the independent reference is skipped",
    )
    return ca


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def test_channelattribution_transition_matrix_equals_fit_paths() -> None:
    ca = _channelattribution()
    table = random_paths(8, 300, ["search", "email", "social", "display", "direct"], True)
    tm = _quiet(
        ca.transition_matrix,
        table,
        "path",
        "total_conversions",
        var_null="total_null",
        order=1,
        sep=">",
        flg_equal=True,
    )
    channels = tm["channels"]
    names = {
        str(i): n for i, n in zip(channels["id_channel"], channels["channel_name"], strict=True)
    }
    names.update({"(start)": "(start)", "(conversion)": "conversion", "(null)": "churn"})
    theirs = {
        (names[str(a)], names[str(b)]): p
        for a, b, p in tm["transition_matrix"].itertuples(index=False)
    }
    jm = jg.fit_paths(table)
    total_entry = sum(jm.entry.values())
    ours = {("(start)", t): w / total_entry for t, w in jm.entry.items()}
    out: dict[str, float] = {}
    for m in jm.moves:
        out[m.source] = out.get(m.source, 0.0) + m.weight
    ours.update({(m.source, m.target): m.weight / out[m.source] for m in jm.moves})
    assert ours.keys() == theirs.keys()
    for key, p in ours.items():
        assert theirs[key] == pytest.approx(p, rel=1e-6, abs=1e-12), key


def test_channelattribution_removal_effects() -> None:
    """ChannelAttribution estimates removal effects by simulating ``nsim`` journeys.

    Each removal effect is ``1 - p_k / p`` with p and p_k conversion rates estimated
    from nsim Bernoulli journeys each; by the delta method its standard error is about
    ``sqrt(p_k (1 - p_k) / nsim) / p`` (plus a smaller term for p), below 0.004 here
    (p ~ 0.3, nsim = 1e6). ChannelAttribution also cuts simulated journeys at
    ``max_step`` steps; with max_step = 200 the cut mass is < 1e-12 (every channel has
    a null/conversion exit of at least ~30 %). Tolerance: 5 standard errors, 0.02.
    """
    ca = _channelattribution()
    table = random_paths(9, 200, ["search", "email", "social", "display", "direct"], False)
    res = _quiet(
        ca.markov_model,
        table,
        "path",
        "total_conversions",
        var_null="total_null",
        order=1,
        sep=">",
        out_more=True,
        nsim_start=1_000_000,
        max_step=200,
        seed=11,
        verbose=False,
    )
    theirs = dict(
        zip(
            res["removal_effects"]["channel_name"],
            res["removal_effects"]["removal_effect"],
            strict=True,
        )
    )
    ours = jg.analyze(jg.fit_paths(table)).removal_effects
    assert theirs.keys() == ours.keys()
    base, _ = dense_removal_effects(table)
    se = max(math.sqrt(0.25 / 1_000_000) / base, 1e-4)
    for k, v in ours.items():
        assert abs(theirs[k] - v) <= max(5 * se, 0.02), (k, theirs[k], v)
