"""Benchmark of the explorer page on a fitted-size map: ``python tests/benchmarks/bench_explore.py``.

Not a test (pytest only imports it for doctests; nothing runs on import). Builds a
stage-ordered random map of 300 touchpoints and about 3,000 moves (the size of a large
map fitted from logs; tests/random_maps.py), writes its explorer page and its
comparison with a second draw of the same size, and opens each in headless Chromium at
1280x800 (Playwright, the system ``chromium``) to measure:

- the page's size (budget: under 3 MB),
- first contentful paint and the time until the script has drawn everything
  (``body[data-ready]``; budget: under 1 s),
- how long the threshold slider takes to hide / show moves (one ``input`` event,
  median of 40), and switching a comparison between its three states.

Prints a table; ``--json`` prints the numbers. Budgets are issue #12's.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

__all__ = ["big_map", "main", "measure"]

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZE_BUDGET = 3_000_000
PAINT_BUDGET_MS = 1000.0


def big_map(seed: int = 1) -> Any:
    """300 touchpoints in 8 stages, ~3,000 moves, integer (count) weights."""
    import journeygraph as jg
    from tests.random_maps import random_map_data

    data = random_map_data(300, seed=seed, moves_per_touchpoint=11, stage_ordered=True, stages=8)
    for m in data["moves"]:
        m["weight"] = float(round(m["weight"] * 40) + 1)
    data["entry"] = {k: float(round(v * 10)) for k, v in data["entry"].items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        return jg.JourneyMap(**data)


def measure(browser: Any, path: Path, *, repeats: int = 3) -> dict[str, float]:
    """Open ``path`` ``repeats`` times; median paint/ready times and slider timings."""
    paints, readies = [], []
    page = None
    for _ in range(repeats):
        if page is not None:
            page.context.close()
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready='true']")
        timing = page.evaluate(
            """async () => {
              await new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)));
              const paint = performance.getEntriesByName('first-contentful-paint')[0];
              const ready = performance.getEntriesByName('jg-ready')[0];
              return [paint ? paint.startTime : -1, ready ? ready.startTime : -1];
            }"""
        )
        paints.append(timing[0])
        readies.append(timing[1])
    assert page is not None
    # A drag: 40 steps of 25 moves each (what one input event of a dragged slider does);
    # a jump: from showing all to hiding all but 50, and back.
    slider_js = """(step) => {
          const s = document.getElementById('threshold');
          const max = +s.max, out = [];
          s.value = '0'; s.dispatchEvent(new Event('input'));
          for (let i = 1; i <= 40; i++) {
            const t = performance.now();
            s.value = step ? String(Math.min(i * 25, max)) : String(i % 2 ? max - 50 : 0);
            s.dispatchEvent(new Event('input'));
            document.body.getBoundingClientRect();  // force style and layout
            out.push(performance.now() - t);
          }
          return out;
        }"""
    slider = page.evaluate(slider_js, True)
    jump = page.evaluate(slider_js, False)
    states = page.evaluate(
        """() => {
          const out = [];
          for (const name of ['current', 'future', 'change', 'current', 'future', 'change']) {
            const b = document.getElementById('state-' + name);
            if (!b) return [];
            const t = performance.now();
            b.click();
            document.body.getBoundingClientRect();
            out.push(performance.now() - t);
          }
          return out;
        }"""
    )
    moves = page.locator("#viewport .move").count()
    page.context.close()
    return {
        "bytes": path.stat().st_size,
        "moves_drawn": moves,
        "first_paint_ms": statistics.median(paints),
        "ready_ms": statistics.median(readies),
        "slider_ms": statistics.median(slider),
        "slider_max_ms": max(slider),
        "slider_jump_ms": statistics.median(jump),
        "state_switch_ms": statistics.median(states) if states else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    import journeygraph as jg

    args = sys.argv[1:] if argv is None else argv
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        print("no chromium on the PATH (apt-get install chromium)", file=sys.stderr)
        return 1
    jm = big_map(1)
    other = big_map(2).model_copy(update={"name": "random-300-future"})
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        for name, build in (
            ("analysis", lambda: jg.analyze(jm)),
            ("comparison", lambda: jg.compare(jm, other)),
        ):
            obj = build()
            path = Path(tmp) / f"{name}.html"
            t0 = time.perf_counter()
            jg.explore(obj, path)
            write_s = time.perf_counter() - t0
            results[name] = {"write_s": write_s, **measure(browser, path)}
        browser.close()
    if "--json" in args:
        print(json.dumps(results, indent=2))
        return 0
    print(f"explorer, {len(jm.touchpoints)} touchpoints, {len(jm.moves)} moves (chromium {exe})")
    header = (
        "page         size MB  write s  first paint ms  drawn ms  slider step ms (max)"
        "  slider jump ms  state ms"
    )
    print(header)
    for name, r in results.items():
        print(
            f"{name:<12} {r['bytes'] / 1e6:7.2f}  {r['write_s']:7.2f}  {r['first_paint_ms']:14.0f}"
            f"  {r['ready_ms']:8.0f}  {r['slider_ms']:11.1f} ({r['slider_max_ms']:5.1f})"
            f"  {r['slider_jump_ms']:14.1f}  {r['state_switch_ms']:8.1f}"
        )
    ok = all(
        r["bytes"] < SIZE_BUDGET
        and 0 <= r["first_paint_ms"] < PAINT_BUDGET_MS
        and r["ready_ms"] < PAINT_BUDGET_MS
        for r in results.values()
    )
    print("budgets (size < 3 MB, first paint and diagram drawn < 1 s):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
