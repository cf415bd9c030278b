"""`journeygraph analyze` and the demo's headline analysis, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import journeygraph as jg
from journeygraph.cli import main

from .conftest import DATA, EXAMPLES
from .conftest import run_cli as run

TINY = str(DATA / "good" / "tiny.yaml")


def test_analyze_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", TINY, "--top", "1"]) == 0
    out = capsys.readouterr().out
    # conftest.py: P(buy) = 35/88 = 39.77 %, churn 46/88 = 52.27 %
    assert "39.77%  buy (conversion)" in out
    assert "churn 52.27%" in out
    assert "Top leaks" in out and "ad" in out
    assert "shop -> rival" in out
    assert "Removal effects" in out and "Stage flow" in out


def test_analyze_json_matches_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", TINY, "--json", "--entry", "shop"]) == 0
    data = json.loads(capsys.readouterr().out)
    # from shop: B row = (0.5, 0.28, 0.1)/0.88 (conftest.py)
    assert data["outcome_probabilities"]["buy"] == pytest.approx(0.5 / 0.88, rel=1e-12)
    assert data["leaks"][0]["touchpoint"] in {"ad", "shop"}


def test_analyze_stdin_and_errors() -> None:
    ok = run("analyze", "-", stdin=Path(TINY).read_bytes())
    assert ok.returncode == 0 and "buy" in ok.stdout
    bad = run("analyze", TINY, "--entry", "shpo")
    assert bad.returncode == 1 and "did you mean 'shop'" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run("analyze", str(DATA / "bad" / "trapped.yaml"))
    assert missing.returncode == 1 and "loop_a" in missing.stderr
    assert run("analyze").returncode == 2
    assert run("analyze", TINY, "--top", "0").returncode == 2
    assert run("analyze", "--help").returncode == 0


def test_demo_prints_headline_analysis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--examples", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert out.count("top leaks:") == len(list(EXAMPLES.glob("*.yaml")))
    assert "conversion" in out and "top switching point:" in out


def test_analyze_intervals(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["analyze", TINY, "--intervals", "--draws", "300", "--seed", "4", "--level", "0.8"]
    assert main(args) == 0
    out = capsys.readouterr().out
    ci = jg.credible_intervals(jg.load(TINY), draws=300, seed=4, level=0.8)
    buy = ci.outcome_probabilities["buy"]
    # the point estimate (35/88, conftest.py), then the API's interval, then the id
    assert f"39.77%  [{buy.lower:6.2%}, {buy.upper:6.2%}]  buy (conversion)" in out
    ad = ci.leaks_by_touchpoint["ad"].flow
    assert f"[{ad.lower:6.2%}, {ad.upper:6.2%}]" in out and "80% credible interval" in out
    rival = ci.switching_by_pair[("shop", "rival")].flow
    assert f"[{rival.lower:6.2%}, {rival.upper:6.2%}]  100.0%  shop -> rival" in out

    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["intervals"] == json.loads(json.dumps(ci.to_dict()))
    assert data["conversion_probability"] == pytest.approx(35 / 88, rel=1e-12)
    assert main(["analyze", TINY, "--json"]) == 0
    assert "intervals" not in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--draws", "100"], "only apply with --intervals"),
        (["--intervals", "--draws", "1"], "--draws must be at least 2"),
        (["--intervals", "--draws", "1000001"], "--draws 1,000,001 is more than the limit"),
        (["--intervals", "--level", "1.5"], "--level must be between 0 and 1"),
    ],
)
def test_analyze_intervals_usage(extra: list[str], message: str) -> None:
    bad = run("analyze", TINY, *extra)
    assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr


def test_analyze_prints_the_summary_of_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    # The CLI report is Analysis.summary(), with and without intervals and an entry.
    jm = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    assert main(["analyze", str(EXAMPLES / "b2b_saas_current.yaml"), "--top", "3"]) == 0
    assert capsys.readouterr().out == jg.analyze(jm).summary(top=3) + "\n"
    args = ["analyze", TINY, "--intervals", "--draws", "200", "--seed", "2", "--entry", "shop"]
    assert main(args) == 0
    tiny = jg.load(TINY)
    ci = jg.credible_intervals(tiny, draws=200, seed=2, entry="shop")
    expected = jg.analyze(tiny, entry="shop").summary(intervals=ci)
    assert capsys.readouterr().out == expected + "\n"


def test_report_labels_one_unit_per_quantity() -> None:
    # b2b_saas_current has durations; its expected time (663.6 h) is printed in hours
    # everywhere, as MapDiff.summary prints it; flows are % of entrants.
    jm = jg.load(EXAMPLES / "b2b_saas_current.yaml")
    res = jg.analyze(jm)
    text = res.summary()
    assert res.expected_time is not None
    assert f"time per journey: {res.expected_time.mean:.1f} hours (" in text
    assert " h " not in text and "days" not in text
    top = res.leaks[0]
    assert f"  {top.flow:8.2%}  {top.share:6.1%}  {top.exit_rate:6.1%}  {top.touchpoint}" in text
    assert "churn flow in % of entrants; share in % of churn" in text
    assert f"{res.sensitivity[0].gain * 100:+6.2f} pts  {res.sensitivity[0].touchpoint}" in text
    future = jg.load(EXAMPLES / "b2b_saas_future.yaml")
    diff = jg.compare(jm, future).summary()
    hours = jg.analyze(future).expected_time
    assert hours is not None
    assert f"{res.expected_time.mean:.1f} hours -> {hours.mean:.1f} hours" in diff
    assert "days" not in diff


def test_summary_checks_its_arguments(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny)
    with pytest.raises(ValueError, match="top must be at least 1"):
        res.summary(top=0)
    with pytest.raises(TypeError, match="intervals must be the CredibleIntervals"):
        res.summary(intervals={"buy": 1})  # type: ignore[arg-type]


def test_analyze_interval_options_are_the_api_keywords(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["analyze", TINY, "--intervals", "--draws", "150", "--seed", "5", "--prior", "0.5"]
    assert main([*args, "--fixed-entry", "--removal-intervals", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ci = jg.credible_intervals(
        jg.load(TINY),
        draws=150,
        seed=5,
        prior=0.5,
        entry_uncertain=False,
        removal_effects=True,
    )
    assert data["intervals"] == json.loads(json.dumps(ci.to_dict()))
    assert ci.removal_effects is not None and data["intervals"]["removal_effects"] is not None
    assert data["intervals"]["prior"] == 0.5 and data["intervals"]["entry_uncertain"] is False


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prior", "0.5"], "--prior only apply with --intervals"),
        (["--fixed-entry"], "--fixed-entry only apply with --intervals"),
        (["--removal-intervals"], "--removal-intervals only apply with --intervals"),
        (["--intervals", "--prior", "0"], "--prior must be a number above 0"),
        (["--intervals", "--prior", "inf"], "--prior must be a number above 0"),
        (["--fix-fraction", "1.5"], "--fix-fraction must be above 0 and at most 1"),
    ],
)
def test_analyze_interval_option_usage(extra: list[str], message: str) -> None:
    bad = run("analyze", TINY, *extra)
    assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("journeygraph analyze: error: ")


def test_compare_entry_and_prior(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", TINY, TINY, "--entry", "shop", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    # from shop: B row = (0.5, 0.28, 0.1) / 0.88 (conftest.py)
    assert metrics["conversion"]["before"] == pytest.approx(0.5 / 0.88, rel=1e-12)
    assert metrics["conversion"]["delta"] == 0.0
    args = ["compare", TINY, TINY, "--intervals", "--draws", "100", "--seed", "2", "--prior", "1"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    diff = jg.compare(jg.load(TINY), jg.load(TINY), intervals=True, draws=100, seed=2, prior=1.0)
    assert data["intervals"]["prior"] == 1.0
    assert data["metrics"] == json.loads(json.dumps(diff.to_dict()["metrics"]))
