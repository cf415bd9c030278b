"""Every example map loads cleanly (no warnings) and is a plausible journey."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import journeygraph as jg

from .conftest import EXAMPLES

FILES = sorted(EXAMPLES.glob("*.yaml"))
JOURNEYS = ("retail_five_a", "decision_journey", "b2b_saas", "theme_park")


def test_every_journey_has_a_current_and_a_future_map() -> None:
    names = {p.name for p in FILES}
    for journey in JOURNEYS:
        assert {f"{journey}_current.yaml", f"{journey}_future.yaml"} <= names


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_example_loads_round_trips_and_is_not_a_funnel(path: Path, tmp_path: Path) -> None:
    jm = jg.load(path)  # warnings are errors in the test suite: none may occur
    assert jg.load(jg.save(jm, tmp_path / path.name)) == jm
    kinds = Counter(jm.move_kinds().values())
    assert kinds["backtrack"] > 0 and kinds["skip"] > 0 and kinds["exit"] > 0
    assert jm.outcomes_of_kind("conversion") and jm.outcomes_of_kind("churn")
    assert jm.persona is not None
    assert all(t.sentiment is not None and t.owner for t in jm.touchpoints)
