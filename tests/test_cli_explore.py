"""``journeygraph explore`` and the explorer pages of ``journeygraph demo``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

import journeygraph as jg
from journeygraph.cli import main

from .conftest import DATA, EXAMPLES
from .conftest import run_cli as run

TINY = str(DATA / "good" / "tiny.yaml")


def page_json(path: Path) -> dict[str, object]:
    html = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="jg-data">(.*?)</script>', html, re.S)
    assert m is not None
    data: dict[str, object] = json.loads(m.group(1))
    return data


def test_explore_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "journey.html"
    assert main(["explore", TINY, "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    data = page_json(out)
    assert data["kind"] == "analysis" and data["lang"] == "en"
    # Removal effects as hand-solved in tests/test_explore.py: ad 24/35, shop 1.
    figures = data["figures"][0]  # type: ignore[index]
    assert_allclose(figures["ad"]["removal"], 24 / 35, rtol=1e-12)


def test_explore_a_comparison_in_korean(tmp_path: Path) -> None:
    out = tmp_path / "diff.html"
    current = str(EXAMPLES / "retail_five_a_current.yaml")
    future = str(EXAMPLES / "retail_five_a_future.yaml")
    assert main(["explore", current, future, "-o", str(out), "--lang", "ko"]) == 0
    data = page_json(out)
    assert data["kind"] == "diff" and data["lang"] == "ko"
    assert data["states"] == ["current", "future", "change"]
    diff = jg.compare(jg.load(current), jg.load(future))
    before, after = data["headline"]  # type: ignore[misc]
    assert_allclose(after["conversion"], diff.metrics["conversion"].after, rtol=1e-12)
    assert_allclose(before["conversion"], diff.metrics["conversion"].before, rtol=1e-12)


def test_explore_with_intervals(tmp_path: Path) -> None:
    out = tmp_path / "ci.html"
    assert (
        main(["explore", TINY, "-o", str(out), "--intervals", "--draws", "50", "--seed", "1"]) == 0
    )
    ci = jg.credible_intervals(jg.load(TINY), draws=50, seed=1, removal_effects=True)
    data = page_json(out)
    assert data["interval_level"] == ci.level
    assert data["figures"][0]["ad"]["leak_ci"] == [  # type: ignore[index]
        ci.leaks_by_touchpoint["ad"].flow.lower,
        ci.leaks_by_touchpoint["ad"].flow.upper,
    ]


def test_explore_renames_a_touchpoint(tmp_path: Path) -> None:
    text = Path(TINY).read_text().replace("shop", "store")
    future = tmp_path / "future.yaml"
    future.write_text(text)
    out = tmp_path / "diff.html"
    assert main(["explore", TINY, str(future), "--rename", "shop=store", "-o", str(out)]) == 0
    nodes = page_json(out)["nodes"]
    statuses = {n["id"]: n["status"] for n in nodes}  # type: ignore[attr-defined]
    assert statuses["store"] == "changed" and "shop" not in statuses


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rename", "a=b"], "--rename needs a FUTURE map"),
        (["--draws", "10"], "--draws and --seed only apply with --intervals"),
        ([TINY, "--intervals"], "--intervals is for one map"),
        ([TINY, "--rename", "oops"], "write OLD=NEW"),
    ],
)
def test_explore_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["explore", TINY, *args, "-o", str(tmp_path / "x.html")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_explore_user_errors_exit_1_without_a_traceback(tmp_path: Path) -> None:
    result = run("explore", TINY, "-o", str(tmp_path / "x.svg"))
    assert result.returncode == 1
    assert result.stderr.startswith("journeygraph: error: ") and "Traceback" not in result.stderr
    assert ".html" in result.stderr
    result = run("explore", TINY, "-o", TINY.replace(".yaml", ".html"), "--lang", "fr")
    assert result.returncode == 2 and "invalid choice: 'fr'" in result.stderr
    result = run("explore", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "x.html"))
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_explore_refuses_to_write_over_the_map(tmp_path: Path) -> None:
    page = tmp_path / "map.html"
    page.write_text(Path(TINY).read_text())  # a map file that happens to end in .html
    assert main(["explore", str(page), "-o", str(page)]) == 1
    assert page.read_text() == Path(TINY).read_text()


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples/ not present")
def test_demo_writes_an_explorer_page_for_every_example_and_comparison(tmp_path: Path) -> None:
    result = run("demo", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    examples = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))
    pages = sorted(p.name for p in tmp_path.glob("*.explorer.html"))
    journeys = sorted({e.rsplit("_", 1)[0] for e in examples})
    assert pages == sorted(
        [f"{e}.explorer.html" for e in examples] + [f"{j}.diff.explorer.html" for j in journeys]
    )
    for journey in journeys:
        assert f"{journey}.diff.explorer.html" in result.stdout
        assert page_json(tmp_path / f"{journey}.diff.explorer.html")["kind"] == "diff"
