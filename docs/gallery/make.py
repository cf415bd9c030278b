"""Regenerate docs/gallery/: every example map's pictures, every current/future diff.

Run from the repository root after changing an example or the renderer::

    python docs/gallery/make.py

For each ``examples/NAME.yaml``: ``NAME.svg`` (the diagram), ``NAME.analysis.svg`` (with
the analysis), ``NAME.canvas.svg`` (the canvas with the analysis), ``NAME.slide.png``
(``preset="slide"`` with the analysis, 1280 px wide) and ``explorer-NAME.png`` (the
explorer page with the analysis, headless Chromium at 1280 x 800). For each
``NAME_current.yaml`` / ``NAME_future.yaml`` pair: ``NAME.diff.svg``,
``NAME.diff.canvas.svg`` and ``NAME.diff.slide.png``; plus ``explorer.png`` (the
retail diff with a changed touchpoint selected, as in docs/explorer.md) and
``retail_five_a_current.slide.ko.png`` (Korean); ``slide-korean.png`` (the Korean
test map of tests/test_draw.py) and ``slide-fitted-b2b-order2.png`` (the map fitted
from 50,000 simulated B2B journeys), slides with their analyses. Slides are converted with
``rsvg-convert``; screenshots need Playwright (``pip install -e '.[dev]'``) and a
Chromium (``/usr/bin/chromium``, or ``$JOURNEYGRAPH_CHROMIUM``). Every PNG in the
folder is then reduced to 256 colours (Pillow) to keep the gallery small; the total
size is printed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "gallery"
sys.path.insert(0, str(ROOT))

import journeygraph as jg  # noqa: E402

CHROMIUM = os.environ.get("JOURNEYGRAPH_CHROMIUM", "/usr/bin/chromium")


def _png(svg: str, target: Path) -> None:
    exe = shutil.which("rsvg-convert")
    if exe is None:
        sys.exit("rsvg-convert is needed for the slides: apt-get install librsvg2-bin")
    subprocess.run(
        [exe, "-w", "1280", "-b", "white", "-o", str(target)],
        input=svg.encode("utf-8"),
        check=True,
    )


def _screenshot(browser: Any, html: str, target: Path, select: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "page.html"
        page_file.write_text(html, encoding="utf-8")
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        if select is not None:
            page.locator(f"#{select}").click()
        page.screenshot(path=str(target))
        page.close()


def _shrink(path: Path) -> None:
    """Rewrite a PNG with a 256-colour palette (a third of the size, same look)."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode == "P":
            return
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def _extras(written: list[Path]) -> None:
    """The Korean test map of ``tests/test_draw.py`` and the map fitted from 50,000
    simulated B2B journeys (order 2, seed 0), each as a slide with its analysis."""
    from tests._sim_maps import fitted_b2b
    from tests.test_draw import KOREAN

    for name, jm in (("slide-korean", KOREAN), ("slide-fitted-b2b-order2", fitted_b2b(50_000))):
        lang = "ko" if name == "slide-korean" else "en"
        _png(str(jg.render(jg.analyze(jm), preset="slide", lang=lang)), OUT / f"{name}.png")
        written.append(OUT / f"{name}.png")
        print("wrote", name)


def main() -> None:
    from playwright.sync_api import sync_playwright

    examples = sorted((ROOT / "examples").glob("*.yaml"))
    written: list[Path] = []

    def write(name: str, data: str | bytes) -> Path:
        target = OUT / name
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")
        written.append(target)
        return target

    with sync_playwright() as pw:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        for path in examples:
            name = path.stem
            jm = jg.load(path)
            res = jg.analyze(jm)
            write(f"{name}.svg", str(jg.render(jm)))
            write(f"{name}.analysis.svg", str(jg.render(res)))
            write(f"{name}.canvas.svg", str(jg.render(res, view="canvas")))
            _png(str(jg.render(res, preset="slide")), OUT / f"{name}.slide.png")
            written.append(OUT / f"{name}.slide.png")
            _screenshot(browser, jg.explore(res), OUT / f"explorer-{name}.png")
            written.append(OUT / f"explorer-{name}.png")
            print("wrote", name)
        for current in [p for p in examples if p.stem.endswith("_current")]:
            pair = current.stem.removesuffix("_current")
            diff = jg.compare(jg.load(current), jg.load(current.with_name(f"{pair}_future.yaml")))
            write(f"{pair}.diff.svg", str(jg.render(diff)))
            write(f"{pair}.diff.canvas.svg", str(jg.render(diff, view="canvas")))
            _png(str(jg.render(diff, preset="slide")), OUT / f"{pair}.diff.slide.png")
            written.append(OUT / f"{pair}.diff.slide.png")
            if pair == "retail_five_a":
                scene = jg.draw.build_scene(diff)
                changed = scene.touchpoint(diff.touchpoints_changed[0].touchpoint)
                _screenshot(browser, jg.explore(diff), OUT / "explorer.png", changed.element_id)
                written.append(OUT / "explorer.png")
                res = jg.analyze(jg.load(current))
                ko = jg.render(res, preset="slide", lang="ko")
                _png(str(ko), OUT / "retail_five_a_current.slide.ko.png")
                written.append(OUT / "retail_five_a_current.slide.ko.png")
            print("wrote", pair, "diff")
        browser.close()
    _extras(written)
    for png in sorted(OUT.glob("*.png")):
        _shrink(png)
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"{len(written)} files written; docs/gallery/ holds {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
