"""Rendering speed: synthetic fitted-looking maps of 5, 20 and 80 touchpoints.

Run: ``python -m pytest tests/benchmarks/bench_render.py --benchmark-enable -p no:cacheprovider``
or ``python tests/benchmarks/bench_render.py`` for plain tables (the figures in
docs/performance.md, "Rendering"): the Graphviz layout alone, then whole renders
(``jg.render`` to SVG, both presets) of the 80-touchpoint map and of the map fitted from
50,000 simulated B2B journeys with its analysis.

The maps look like maps fitted from event logs: every touchpoint has moves to many
others (forward, within, skips, backtracks) and to every outcome, most of them small,
so the 80-touchpoint map has about 1,900 moves.
"""

from __future__ import annotations

import importlib
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import journeygraph as jg

graphviz = importlib.import_module("journeygraph.draw.graphviz")


def fitted_like_map(touchpoints: int, *, seed: int = 0, stages: int = 6) -> jg.JourneyMap:
    """A dense map like one fitted from logs: heavy-tailed weights on many moves."""
    rng = np.random.default_rng(seed)
    stage_ids = [f"s{i}" for i in range(min(stages, touchpoints))]
    tps = [
        {
            "id": f"t{i}",
            "name": f"Touchpoint {i} with a realistic name",
            "stage": stage_ids[i * len(stage_ids) // touchpoints],
            "channel": ["web", "email", "store", "app"][i % 4],
            "sentiment": round(float(rng.uniform(-1, 1)), 2),
        }
        for i in range(touchpoints)
    ]
    outcomes = [
        {"id": "buy", "kind": "conversion"},
        {"id": "renew", "kind": "conversion"},
        {"id": "gone", "kind": "churn"},
        {"id": "rival", "kind": "competitor"},
    ]
    fanout = min(touchpoints - 1, 20)
    moves = []
    for i in range(touchpoints):
        targets = rng.choice([j for j in range(touchpoints) if j != i], fanout, replace=False)
        for j in sorted(int(x) for x in targets):
            moves.append({"from": f"t{i}", "to": f"t{j}", "weight": int(rng.pareto(1.2) * 10) + 1})
        for o in outcomes:
            moves.append({"from": f"t{i}", "to": o["id"], "weight": int(rng.pareto(1.2) * 10) + 1})
    return jg.JourneyMap(
        name=f"fitted-like map, {touchpoints} touchpoints",
        stages=[{"id": s} for s in stage_ids],
        touchpoints=tps,
        outcomes=outcomes,
        entry={"t0": 5, "t1": 1},
        moves=moves,
    )


def _backends() -> list[str]:
    found = []
    if shutil.which("dot"):
        found.append("system")
    if graphviz._wasm_graphviz() is not None:
        found.append("wasm")
    return found


SIZES = (5, 20, 80)


@pytest.mark.parametrize("backend", ["system", "wasm"])
@pytest.mark.parametrize("size", SIZES)
def test_render_speed(benchmark: object, size: int, backend: str) -> None:
    if backend not in _backends():
        pytest.skip(f"the {backend} Graphviz is not available here")
    jm = fitted_like_map(size)
    source = jg.render(jm, format="dot")
    assert isinstance(source, str)
    graphviz.layout(source, "svg", timeout=60, engine="nop2", backend=backend)  # warm up
    svg = benchmark(  # type: ignore[operator]
        graphviz.layout, source, "svg", timeout=60, engine="nop2", backend=backend
    )
    assert svg.startswith(b"<?xml")


def _fitted_b2b() -> jg.JourneyMap:
    """The map fitted from 50,000 simulated B2B journeys (order 2, seed 0)."""
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests._sim_maps import fitted_b2b

    return fitted_b2b(50_000)


#: Whole renders (scene, positions, Graphviz, label placement) as a user calls them.
WHOLE = (
    ("80 touchpoints", "full"),
    ("80 touchpoints", "slide"),
    ("fitted B2B, analysis", "full"),
    ("fitted B2B, analysis", "slide"),
)


def _whole_case(name: str) -> jg.JourneyMap | jg.Analysis:
    if name == "80 touchpoints":
        return fitted_like_map(80)
    return jg.analyze(_fitted_b2b())


@pytest.mark.parametrize(("name", "preset"), WHOLE)
def test_whole_render_speed(benchmark: object, name: str, preset: str) -> None:
    # Issue #11: the 80-touchpoint layout under 2 s, in both presets.
    pytest.importorskip("pyarrow", reason="fitting the B2B map needs pyarrow")
    if not _backends():
        pytest.skip("no Graphviz back-end here")
    obj = _whole_case(name)
    jg.render(obj, preset=preset)  # type: ignore[arg-type]  # warm up
    svg = benchmark(jg.render, obj, preset=preset)  # type: ignore[operator]
    assert str(svg).startswith("<?xml")


def main() -> None:
    print("| touchpoints | moves | drawn | backend | DOT build (s) | layout (s) | total (s) |")
    print("|---:|---:|---:|---|---:|---:|---:|")
    for size in SIZES:
        jm = fitted_like_map(size)
        for backend in _backends():
            graphviz.layout("digraph { a -> b }", "svg", timeout=60, backend=backend)
            t0 = time.perf_counter()
            source = jg.render(jm, format="dot")
            t1 = time.perf_counter()
            graphviz.layout(str(source), "svg", timeout=60, engine="nop2", backend=backend)
            t2 = time.perf_counter()
            drawn = str(source).count(" -> ") - str(source).count('class="legend"')
            print(
                f"| {size} | {len(jm.moves)} | {drawn} | {backend} | {t1 - t0:.3f} | "
                f"{t2 - t1:.3f} | {t2 - t0:.3f} |"
            )
    print()
    print("| map | preset | render, best of 3 (s) |")
    print("|---|---|---:|")
    for name, preset in WHOLE:
        obj = _whole_case(name)
        jg.render(obj, preset=preset)  # type: ignore[arg-type]
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            jg.render(obj, preset=preset)  # type: ignore[arg-type]
            best = min(best, time.perf_counter() - t0)
        print(f"| {name} | {preset} | {best:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
