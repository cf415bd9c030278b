"""The explorer page in a real browser: headless Chromium driven by Playwright.

Playwright for Python drives the system Chromium (Debian's ``chromium`` package) through
``executable_path``; its own browser download is never used. It was chosen over Selenium
because it reports every request and console message of a page as events (the network
and error counts below) and needs no matching driver binary. One browser serves the whole
session; each test opens its page in a fresh context. The tests skip, with the reason,
only when Playwright or a Chromium cannot be had (``.ci/run`` installs Chromium).

Expected numbers come from ``jg.analyze`` / ``jg.compare`` of the same map: the page must
show exactly what the analysis computed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import journeygraph as jg
from journeygraph._escape import one_line
from journeygraph.draw.explore import page_data
from tests._sim_maps import fitted_b2b
from tests.test_explore import HOSTILE, hostile_map

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
VIEWPORT = {"width": 1280, "height": 800}

#: Visible moves: drawn, not below the threshold, present in the state.
VISIBLE_MOVES = "#viewport .move:not(.cut):not(.absent)"


def chromium_path() -> str | None:
    """The system Chromium: ``$JOURNEYGRAPH_CHROMIUM``, else ``chromium`` on the PATH."""
    given = os.environ.get("JOURNEYGRAPH_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    exe = chromium_path()
    if exe is None:
        pytest.skip("no Chromium found: apt-get install -y chromium (or set JOURNEYGRAPH_CHROMIUM)")
    with sync_playwright() as pw:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        try:
            instance = pw.chromium.launch(executable_path=exe, args=args)
        except Exception as exc:  # the browser exists but cannot start here
            pytest.skip(f"Chromium at {exe} does not start: {str(exc).splitlines()[0]}")
        yield instance
        instance.close()


@dataclass
class Opened:
    """A page of the explorer, with what it logged and fetched."""

    page: Any
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def foreign_requests(self) -> list[str]:
        return [r for r in self.requests if r != self.url]


def open_page(browser: Any, path: Path) -> Opened:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    opened = Opened(page, path.resolve().as_uri())
    page.on(
        "console",
        lambda m: (
            opened.errors.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: opened.errors.append(f"page error: {e}"))
    page.on("request", lambda r: opened.requests.append(r.url))
    page.goto(opened.url)
    page.wait_for_selector("body[data-ready='true']")
    return opened


@pytest.fixture
def explore_page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    opened: list[Opened] = []

    def make(obj: Any, name: str = "journey.html", **kwargs: Any) -> Opened:
        path = tmp_path / name
        jg.explore(obj, path, **kwargs)
        page = open_page(browser, path)
        opened.append(page)
        return page

    yield make
    for o in opened:
        o.page.context.close()


def visible_moves(page: Any) -> int:
    return int(page.locator(VISIBLE_MOVES).count())


def example(name: str) -> jg.JourneyMap:
    return jg.load(EXAMPLES / f"{name}.yaml")


# -- every example opens cleanly, offline -----------------------------------------------


def test_every_example_and_comparison_opens_with_no_error_and_no_request(
    browser: Any, tmp_path: Path
) -> None:
    maps = sorted(EXAMPLES.glob("*.yaml"))
    assert len(maps) >= 8
    pages: list[tuple[Path, int]] = []
    for path in maps:
        jm = jg.load(path)
        pages.append((jg_write(jm, tmp_path / f"{path.stem}.html"), len(jm.touchpoints)))
    for journey in sorted({p.stem.rsplit("_", 1)[0] for p in maps}):
        diff = jg.compare(example(f"{journey}_current"), example(f"{journey}_future"))
        count = len(jg.draw.build_scene(diff).touchpoints)
        for lang in ("en", "ko"):
            pages.append((jg_write(diff, tmp_path / f"{journey}.{lang}.html", lang=lang), count))
    # One page visits every file in turn (a context per file is slow on a busy machine).
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    for path, touchpoints in pages:
        errors.clear()
        requests.clear()
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready='true']")
        assert errors == [], path.name
        assert requests == [path.resolve().as_uri()], path.name
        assert page.locator("#viewport .touchpoint").count() == touchpoints, path.name
    context.close()


def jg_write(obj: Any, path: Path, **kwargs: Any) -> Path:
    jg.explore(obj, path, **kwargs)
    return path


# -- the threshold slider ---------------------------------------------------------------


def test_slider_hides_minor_moves_and_says_how_many(explore_page: Any) -> None:
    jm = example("retail_five_a_current")
    o = explore_page(jm)
    page = o.page
    total = len(jm.moves)
    assert visible_moves(page) == total
    assert page.locator("#hidden-count").text_content() == f"Showing all {total} moves"
    slider = page.locator("#threshold")
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    assert visible_moves(page) == total - 10
    text = page.locator("#hidden-count").text_content()
    assert text.startswith(f"Hiding 10 of {total} moves (below ")
    # The ten hidden moves are the ten weakest flows.
    flows = sorted(jg.analyze(jm).move_flows.values())
    hidden = page.eval_on_selector_all("#viewport .move.cut", "els => els.map(e => e.id)")
    assert len(hidden) == 10
    drawn = {m["dom"]: m["v"][0] for m in page_data(jm)["moves"]}
    assert max(drawn[h] for h in hidden) <= flows[10]
    page.keyboard.press("End")
    assert visible_moves(page) == 1
    page.keyboard.press("Home")
    assert visible_moves(page) == total
    assert o.errors == []


# -- a touchpoint's figures -------------------------------------------------------------


def test_clicking_a_touchpoint_shows_its_removal_effect_from_analyze(explore_page: Any) -> None:
    jm = example("retail_five_a_current")
    res = jg.analyze(jm)
    o = explore_page(res)
    page = o.page
    scene = jg.draw.build_scene(res)
    for tp in scene.touchpoints[:6]:
        page.locator(f"#{tp.element_id}").click()
        panel = page.locator("#touchpoint-panel")
        assert panel.get_attribute("data-id") == tp.id
        assert panel.locator("h2").text_content() == tp.label
        value = page.locator("#fig-removal .value")
        # The exact number (JavaScript writes the shortest repr, as Python does) ...
        assert float(value.get_attribute("data-value")) == res.removal_effects[tp.id]
        # ... and as the analyst reads it.
        assert value.text_content() == f"{res.removal_effects[tp.id] * 100:.1f}%"
        visits = page.locator("#fig-visits .value").get_attribute("data-value")
        assert float(visits) == res.expected_visits[tp.id]
        # Its moves in and out are highlighted, every other move is not.
        lit = set(page.eval_on_selector_all("#viewport .move.hl", "els => els.map(e => e.id)"))
        own = {m.element_id for m in scene.moves if tp.id in (m.source, m.target)}
        assert lit == own
        assert page.locator("#diagram.focus").count() == 1
    # The keyboard reaches touchpoints too: focus one, press Enter.
    last = scene.touchpoints[-1]
    page.locator(f"#{last.element_id}").focus()
    page.keyboard.press("Enter")
    assert page.locator("#touchpoint-panel").get_attribute("data-id") == last.id
    # An outcome shows its total and where its customers come from.
    outcome = scene.outcomes[0]
    page.locator(f"#{outcome.element_id}").click()
    total = page.locator("#fig-total .value").get_attribute("data-value")
    assert float(total) == res.outcome_probabilities[outcome.id]
    # Clicking the background clears the selection.
    page.mouse.click(450, 160)  # blank diagram background, above the stage columns
    assert page.locator("#viewport .move.hl").count() == 0
    assert o.errors == []


def test_panel_shows_leak_switching_sensitivity_and_intervals(explore_page: Any) -> None:
    jm = example("b2b_saas_current")
    ci = jg.credible_intervals(jm, draws=200, seed=1, removal_effects=True)
    res = jg.analyze(jm)
    o = explore_page(res, intervals=ci)
    page = o.page
    leak = res.leaks[0]
    tp = jg.draw.build_scene(res).touchpoint(leak.touchpoint)
    page.locator(f"#{tp.element_id}").click()
    shown = page.locator("#fig-leak .value")
    assert float(shown.get_attribute("data-value")) == leak.flow
    interval = ci.leaks_by_touchpoint[leak.touchpoint].flow
    ci_text = page.locator("#fig-leak .ci").text_content()
    assert ci_text == f" [{interval.lower * 100:.2f}%, {interval.upper * 100:.2f}%]"
    gain = {s.touchpoint: s.gain for s in res.sensitivity}[leak.touchpoint]
    assert float(page.locator("#fig-gain .value").get_attribute("data-value")) == gain
    headline = page.locator(".figure-conversion .figure-ci").text_content()
    c = ci.conversion_probability
    assert headline == f" [{c.lower * 100:.1f}%, {c.upper * 100:.1f}%]"
    assert o.errors == []


# -- tables -----------------------------------------------------------------------------


def test_tables_sort_and_highlight_their_touchpoint(explore_page: Any) -> None:
    res = jg.analyze(example("retail_five_a_current"))
    o = explore_page(res)
    page = o.page
    page.locator("#tab-removal").click()
    rows = page.locator("#table-removal tbody tr")
    assert rows.count() == len(res.removal_effects)
    header = page.locator("#table-removal th").nth(1)
    header.click()  # descending first
    values = [
        float(v)
        for v in page.eval_on_selector_all(
            "#table-removal tbody tr td:nth-child(2)", "els => els.map(e => e.dataset.value)"
        )
    ]
    assert values == sorted(res.removal_effects.values(), reverse=True)
    header.click()
    values = [
        float(v)
        for v in page.eval_on_selector_all(
            "#table-removal tbody tr td:nth-child(2)", "els => els.map(e => e.dataset.value)"
        )
    ]
    assert values == sorted(res.removal_effects.values())
    first = rows.first
    tp = first.get_attribute("data-id")
    first.hover()
    element = jg.draw.build_scene(res).touchpoint(tp).element_id
    assert "hl" in page.locator(f"#{element}").get_attribute("class").split()
    page.locator("#tab-leaks").click()
    assert page.locator("#table-leaks tbody tr").count() == len(res.leaks)
    page.locator("#tab-switching").click()
    assert page.locator("#table-switching tbody tr").count() == len(res.switching)
    assert o.errors == []


def test_dropoff_view_has_every_stage_and_where_customers_go(explore_page: Any) -> None:
    jm = example("decision_journey_current")
    o = explore_page(jm)
    page = o.page
    page.locator("#tab-dropoff").click()
    stages = page.locator("#dropoff-0 .dropoff-stage")
    assert stages.count() == len(jm.stages)
    assert [stages.nth(i).get_attribute("data-stage") for i in range(len(jm.stages))] == [
        s.id for s in jm.stages
    ]
    exits = page.locator("#dropoff-0 .dropoff-exits").all_text_contents()
    churn = {o.label for o in jm.outcomes_of_kind("churn")}
    assert any(any(label in text for label in churn) for text in exits)
    assert o.errors == []


# -- comparison -------------------------------------------------------------------------


def test_diff_shows_current_future_and_change_of_one_layout(explore_page: Any) -> None:
    current, future = example("retail_five_a_current"), example("retail_five_a_future")
    diff = jg.compare(current, future)
    o = explore_page(diff)
    page = o.page
    scene = jg.draw.build_scene(diff)
    positions = {
        t.element_id: page.locator(f"#{t.element_id}").get_attribute("transform")
        for t in scene.touchpoints
    }

    def ghosts() -> set[str]:
        return set(
            page.eval_on_selector_all(
                "#viewport .touchpoint.ghost", "els => els.map(e => e.dataset.id)"
            )
        )

    page.locator("#threshold").focus()
    page.locator("#state-current").click()
    page.keyboard.press("Home")
    assert ghosts() == set(diff.touchpoints_added)
    assert visible_moves(page) == len(current.moves)
    assert page.locator(".figure-conversion .figure-value").text_content() == (
        f"{diff.metrics['conversion'].before * 100:.1f}%"
    )
    page.locator("#state-future").click()
    page.locator("#threshold").focus()
    page.keyboard.press("Home")
    assert ghosts() == set(diff.touchpoints_removed)
    assert visible_moves(page) == len(future.moves)
    assert page.locator(".figure-conversion .figure-value").text_content() == (
        f"{diff.metrics['conversion'].after * 100:.1f}%"
    )
    page.locator("#state-change").click()
    page.locator("#threshold").focus()
    page.keyboard.press("Home")
    assert ghosts() == set()
    assert visible_moves(page) == len(scene.moves)
    conv = diff.metrics["conversion"]
    assert page.locator(".figure-conversion .figure-value").text_content() == (
        f"{conv.before * 100:.1f}% → {conv.after * 100:.1f}%"
    )
    assert page.locator(".figure-conversion .figure-delta").text_content() == (
        f"+{(conv.after - conv.before) * 100:.1f} pts"
    )
    for tp in diff.touchpoints_added:
        element = scene.touchpoint(tp).element_id
        assert "added" in page.locator(f"#{element}").get_attribute("class").split()
    added_moves = page.eval_on_selector_all("#viewport .move.added", "els => els.length")
    assert added_moves == len(diff.moves_added)
    assert page.locator("#callouts li").count() == len(scene.callouts) > 0
    # One layout: the boxes never moved.
    for element, where in positions.items():
        assert page.locator(f"#{element}").get_attribute("transform") == where
    # Clicking a touchpoint in the change state shows before -> after.
    tp = diff.touchpoints_changed[0].touchpoint
    page.locator(f"#{scene.touchpoint(tp).element_id}").click()
    effect = diff.touchpoint_metrics[tp]["removal_effect"]
    assert page.locator("#fig-removal .value").text_content() == (
        f"{effect.before * 100:.1f}% → {effect.after * 100:.1f}%"
    )
    assert o.errors == []


# -- search, pan and zoom ------------------------------------------------------------------


def test_search_finds_a_touchpoint_by_name_and_selects_it(explore_page: Any) -> None:
    jm = example("theme_park_current")
    o = explore_page(jm)
    page = o.page
    target = jm.touchpoints[3]
    page.locator("#search").fill(target.label[:6].lower())
    matches = set(
        page.eval_on_selector_all(
            "#viewport .touchpoint.match", "els => els.map(e => e.dataset.id)"
        )
    )
    expected = {
        t.id
        for t in jm.touchpoints
        if target.label[:6].lower() in t.label.lower() or target.label[:6].lower() in t.id.lower()
    }
    assert target.id in matches and matches == expected
    page.locator("#search").fill(target.label)
    page.keyboard.press("Enter")
    assert page.locator("#touchpoint-panel").get_attribute("data-id") == target.id
    page.locator("#search").fill("no such touchpoint at all")
    assert page.locator(".search-count").text_content() == "No touchpoint matches"
    assert o.errors == []


def test_pan_and_zoom(explore_page: Any) -> None:
    o = explore_page(example("b2b_saas_current"))
    page = o.page
    zoom = float(page.locator("#diagram").get_attribute("data-zoom"))
    page.locator("#zoom-in").click()
    assert float(page.locator("#diagram").get_attribute("data-zoom")) == pytest.approx(
        zoom * 1.25, rel=1e-3
    )
    page.mouse.move(300, 400)
    page.mouse.wheel(0, -300)
    assert float(page.locator("#diagram").get_attribute("data-zoom")) > zoom * 1.25
    before = page.locator("#viewport").get_attribute("transform")
    page.mouse.move(300, 400)
    page.mouse.down()
    page.mouse.move(420, 460, steps=5)
    page.mouse.up()
    assert page.locator("#viewport").get_attribute("transform") != before
    # Hiding the panel gives the diagram the whole width, fitted again (larger).
    page.locator("#panel-toggle").click()
    assert page.locator("#panel").is_hidden()
    assert float(page.locator("#diagram").get_attribute("data-zoom")) > zoom
    assert page.locator("#panel-toggle").text_content() == "Show panel"
    page.locator("#panel-toggle").click()
    assert page.locator("#panel").is_visible()
    page.locator("#zoom-fit").click()
    assert float(page.locator("#diagram").get_attribute("data-zoom")) == pytest.approx(
        zoom, rel=1e-3
    )
    assert o.errors == []


# -- safety -------------------------------------------------------------------------------


def test_hostile_names_are_inert_and_shown_as_text(explore_page: Any) -> None:
    jm = hostile_map()
    o = explore_page(jm)
    page = o.page
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2  # the data block and our script
    assert page.locator("#title").text_content() == HOSTILE[0]
    assert page.title().startswith(HOSTILE[0])
    labels = page.eval_on_selector_all(
        "#viewport .node title", "els => els.map(e => e.textContent)"
    )
    assert set(labels) >= {HOSTILE[1], HOSTILE[3], HOSTILE[2], HOSTILE[0]}
    scene = jg.draw.build_scene(jg.analyze(jm))
    for tp in scene.touchpoints:
        page.locator(f"[id='{tp.element_id}']").click()
        # Shown on one line: the U+2028/U+2029 separators become spaces.
        assert page.locator("#touchpoint-panel h2").text_content() == one_line(tp.label)
    page.locator("#tab-leaks").click()
    page.locator("#tab-dropoff").click()
    page.locator("#search").fill("<img")
    assert page.locator(".search-hit").first.text_content() == HOSTILE[1]
    assert page.locator("img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert o.errors == [] and o.foreign_requests == []


def test_korean_interface_words(explore_page: Any) -> None:
    o = explore_page(example("b2b_saas_current"), lang="ko")
    page = o.page
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert page.locator(".figure-conversion .figure-label").text_content() == "전환"
    assert page.locator("#tab-leaks").text_content() == "이탈 지점"
    assert o.errors == []


def test_screenshot_at_1280_by_800(explore_page: Any, tmp_path: Path) -> None:
    """The docs' screenshot comes from here: set JOURNEYGRAPH_SCREENSHOTS=docs/gallery."""
    diff = jg.compare(example("retail_five_a_current"), example("retail_five_a_future"))
    o = explore_page(diff)
    page = o.page
    scene = jg.draw.build_scene(diff)
    tp = scene.touchpoint(diff.touchpoints_changed[0].touchpoint)
    page.locator(f"#{tp.element_id}").click()
    folder = Path(os.environ.get("JOURNEYGRAPH_SCREENSHOTS", tmp_path))
    target = folder / "explorer.png"
    page.screenshot(path=str(target))
    png = target.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 800)
    assert o.errors == []


def test_a_fitted_size_map_stays_under_3_mb_and_usable(explore_page: Any) -> None:
    """300 touchpoints, ~3,000 moves (timings: tests/benchmarks/bench_explore.py)."""
    from tests.benchmarks.bench_explore import SIZE_BUDGET, big_map

    jm = big_map(1)
    assert len(jm.touchpoints) == 300 and len(jm.moves) >= 3000
    o = explore_page(jm)
    assert len(jg.explore(jm).encode("utf-8")) < SIZE_BUDGET  # 3 MB, issue #12
    page = o.page
    # Big maps open with the 400 strongest moves shown, and say so.
    assert visible_moves(page) == 400
    assert (
        page.locator("#hidden-count")
        .text_content()
        .startswith(f"Hiding {len(jm.moves) - 400} of {len(jm.moves)} moves")
    )
    page.locator("#threshold").focus()
    page.keyboard.press("Home")
    assert visible_moves(page) == len(jm.moves)
    assert o.errors == [] and o.foreign_requests == []


def test_diff_fades_removed_touchpoints_in_the_future_state(explore_page: Any) -> None:
    # Future -> current of the retail example: the live chat is removed.
    diff = jg.compare(example("retail_five_a_future"), example("retail_five_a_current"))
    assert diff.touchpoints_removed == ("live_chat",)
    o = explore_page(diff)
    page = o.page
    element = jg.draw.build_scene(diff).touchpoint("live_chat").element_id
    classes = page.locator(f"#{element}").get_attribute("class").split()
    assert "removed" in classes and "ghost" not in classes  # the change state shows it
    removed = page.eval_on_selector_all("#viewport .move.removed", "els => els.length")
    assert removed == len(diff.moves_removed) > 0
    page.locator("#state-future").click()
    assert "ghost" in page.locator(f"#{element}").get_attribute("class").split()
    page.locator("#threshold").focus()
    page.keyboard.press("Home")
    assert visible_moves(page) == len(diff.future.moves)
    page.locator("#state-current").click()
    assert "ghost" not in page.locator(f"#{element}").get_attribute("class").split()
    assert o.errors == []


def test_a_fitted_order_2_map_with_intervals_opens_cleanly(explore_page: Any) -> None:
    fitted = fitted_b2b(2_000)
    ci = jg.credible_intervals(fitted, draws=100, seed=0, removal_effects=True)
    o = explore_page(fitted, intervals=ci)
    page = o.page
    # Order-2 states are labelled by where the customer came from (the scene's labels).
    scene = jg.draw.build_scene(jg.analyze(fitted))
    first = scene.touchpoints[0]
    assert " ← " in first.label
    page.locator(f"[id='{first.element_id}']").click()
    assert page.locator("#touchpoint-panel h2").text_content() == first.label
    assert page.locator("#fig-removal .ci").text_content().startswith(" [")
    assert o.errors == [] and o.foreign_requests == []
