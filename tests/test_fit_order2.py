"""Per-touchpoint removal effects of second-order maps (issue #13).

The reference is a brute-force rebuild: a copy of the map in which every state of the
touchpoint sends all its journeys to a new churn outcome (they are lost), solved again
by ``jg.analyze``; the effect is ``1 - P(convert, rebuilt) / P(convert)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph.fit import split_state, touchpoint_removal_effects


def _brute_force(jm: jg.JourneyMap, touchpoint: str) -> float:
    gone = {t.id for t in jm.touchpoints if split_state(t.id)[1] == touchpoint}
    moves = [
        {"from": m.source, "to": m.target, "weight": m.weight}
        for m in jm.moves
        if m.source not in gone
    ]
    moves += [{"from": s, "to": "(removed)", "weight": 1.0} for s in sorted(gone)]
    data = jm.model_dump(by_alias=True, exclude={"moves", "outcomes"})
    data["moves"] = moves
    data["outcomes"] = [
        *[o.model_dump() for o in jm.outcomes],
        {"id": "(removed)", "kind": "churn"},
    ]
    with warnings.catch_warnings():
        # States reached only through removed ones are unreachable now: expected.
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        rebuilt = jg.JourneyMap.model_validate(data)
    return 1.0 - jg.analyze(rebuilt).conversion_probability / jg.analyze(jm).conversion_probability


def _memory_log(seed: int) -> pd.DataFrame:
    # Random journeys over 4 touchpoints with loops; conversion more likely after email.
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(3000):
        here = str(rng.choice(["ad", "search"]))
        for step in range(12):
            rows.append((c, step, here))
            if rng.random() < (0.35 if here == "site" and step and rows[-2][2] == "email" else 0.1):
                rows.append((c, step + 1, "buy"))
                break
            if rng.random() < 0.12:
                break
            here = str(rng.choice(["ad", "search", "email", "site"]))
    return pd.DataFrame(rows, columns=["c", "t", "e"])


@pytest.mark.parametrize("seed", [1, 2])
def test_touchpoint_removal_effects_equal_a_brute_force_rebuild(seed: int) -> None:
    m2 = jg.fit(
        _memory_log(seed),
        customer_column="c",
        time_column="t",
        touchpoint_column="e",
        outcomes={"buy": "conversion"},
        order=2,
    )
    assert isinstance(m2, jg.JourneyMap)
    got = touchpoint_removal_effects(m2)
    assert set(got) == {"ad", "search", "email", "site"}
    for touchpoint, effect in got.items():
        assert_allclose(effect, _brute_force(m2, touchpoint), rtol=1e-10, atol=1e-12)
    # Removing every state of a touchpoint loses more than removing any one of them.
    per_state = jg.analyze(m2).removal_effects
    for state, effect in per_state.items():
        assert got[split_state(state)[1]] >= effect - 1e-12


def test_first_order_maps_give_the_analysis_removal_effects() -> None:
    m1 = jg.fit(
        _memory_log(3),
        customer_column="c",
        time_column="t",
        touchpoint_column="e",
        outcomes={"buy": "conversion"},
    )
    assert isinstance(m1, jg.JourneyMap)
    want = jg.analyze(m1).removal_effects
    got = touchpoint_removal_effects(m1)
    assert got.keys() == want.keys()
    assert_allclose([got[k] for k in want], [want[k] for k in want], rtol=1e-9, atol=1e-12)


def test_bad_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="jm must be a JourneyMap"):
        touchpoint_removal_effects("map.yaml")  # type: ignore[arg-type]
