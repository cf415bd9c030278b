"""Every cookbook script in examples/ runs as a user runs it, and what it prints is
what the library computes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import journeygraph as jg

from .conftest import EXAMPLES, ROOT

SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py"))


def _run(script: str, out: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{script}.py"), "--out", str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_every_script_has_a_recipe_and_a_test() -> None:
    index = (ROOT / "docs" / "cookbook" / "index.md").read_text(encoding="utf-8")
    tested = {name[len("test_") :] for name in globals() if name.startswith("test_")}
    for script in SCRIPTS:
        assert f"examples/{script}.py" in index, script
        assert script in tested, f"no test runs examples/{script}.py"


def test_find_the_leak(tmp_path: Path) -> None:
    out = _run("find_the_leak", tmp_path)
    res = jg.analyze(jg.load(EXAMPLES / "retail_five_a_current.yaml"))
    assert f"1. {res.leaks[0].touchpoint} " in out
    assert f"Fix first: {res.sensitivity[0].touchpoint}." in out
    assert f"+{res.sensitivity[0].gain * 100:.2f} pts" in out
    assert (tmp_path / "leaks.svg").read_text(encoding="utf-8").lstrip().startswith("<")


def test_lost_to_rivals(tmp_path: Path) -> None:
    out = _run("lost_to_rivals", tmp_path)
    jm = jg.load(EXAMPLES / "decision_journey_current.yaml")
    res = jg.analyze(jm)
    assert f"{res.competitor_probability:.1%} of entering customers buy from a rival" in out
    first = res.switching[0]
    assert f"1. {first.touchpoint} " in out and f"{first.share:6.1%}" in out
    assert (tmp_path / "canvas.svg").exists()


def test_future_pays_off(tmp_path: Path) -> None:
    out = _run("future_pays_off", tmp_path)
    diff = jg.compare(
        jg.load(EXAMPLES / "retail_five_a_current.yaml"),
        jg.load(EXAMPLES / "retail_five_a_future.yaml"),
    )
    delta = diff.metrics["conversion"].delta
    assert delta is not None and delta > 0
    assert f"pays off: {delta * 100:+.1f} pts" in out
    # The before/after logs of 2,000 customers (docs/comparison.md's example, seeds 1, 2
    # and 0): their conversion change is credible.
    assert "Measured on 2 x 2,000 customers: conversion +4.8 pts" in out and ": real." in out
    assert (tmp_path / "diff.svg").exists() and (tmp_path / "comparison.canvas.svg").exists()


def test_fit_web_analytics(tmp_path: Path) -> None:
    out = _run("fit_web_analytics", tmp_path, "--journeys", "4000")
    fitted = jg.load(tmp_path / "fitted.yaml")
    assert jg.FitReport.of(fitted).journeys == 4000
    assert "Fitted 4,000 journeys" in out
    # The export drops churn events, so every churn is inferred from a journey's end:
    # the fitted churn must still be close to the template's (binomial SE at n=4000
    # is about 0.6 pts for p=0.83; allow 4 SE).
    truth = jg.analyze(jg.load(EXAMPLES / "b2b_saas_current.yaml")).churn_probability
    assert (
        abs(jg.analyze(fitted).churn_probability - truth) < 4 * (truth * (1 - truth) / 4000) ** 0.5
    )


def test_compare_segments(tmp_path: Path) -> None:
    out = _run("compare_segments", tmp_path, "--journeys", "20000")
    # Mobile's checkout abandonment weight is 1.6x desktop's: its checkout leak must be
    # larger (the gap is several SEs at 20,000 journeys per segment).
    line = next(x for x in out.splitlines() if x.startswith("Checkout loses"))
    desktop, mobile = (float(v.rstrip("%")) for v in line.split() if v.endswith("%"))
    assert mobile > desktop
    assert (tmp_path / "desktop_vs_mobile.svg").exists()


@pytest.mark.spark
def test_fit_on_spark(tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="PySpark is in the spark extra")
    out = _run("fit_on_spark", tmp_path, "--journeys", "1000")
    assert "same counts as the in-memory engine: True" in out
    assert jg.FitReport.of(jg.load(tmp_path / "fitted_on_spark.yaml")).journeys == 1000


def test_share_explorer(tmp_path: Path) -> None:
    out = _run("share_explorer", tmp_path)
    assert out.count("loads from the network: nothing") == 2
    for name in ("journey.html", "current-vs-future.html"):
        page = (tmp_path / name).read_text(encoding="utf-8")
        assert "Content-Security-Policy" in page and len(page.encode()) < 3_000_000
    current = jg.load(EXAMPLES / "theme_park_current.yaml")
    assert (tmp_path / "journey.html").read_text(encoding="utf-8") == jg.explore(
        jg.analyze(current)
    )
