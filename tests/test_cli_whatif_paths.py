"""``journeygraph whatif`` and ``journeygraph paths``: the numbers of jg.whatif and jg.top_paths.

Hand-solved figures of tests/data/good/tiny.yaml (conftest.py): entry ad 0.75, shop
0.25; ad -> shop 0.6, ad -> gone 0.4; shop -> buy 0.5, ad 0.2, rival 0.1, gone 0.2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import journeygraph as jg
from journeygraph.cli import main

from .conftest import DATA, EXAMPLES
from .conftest import run_cli as run

TINY = str(DATA / "good" / "tiny.yaml")


def one_line(stderr: str, command: str, code: int) -> None:
    """A user error is one line; a usage error one line after argparse's usage lines."""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("journeygraph: error: ")
    else:
        assert lines[-1].startswith(f"journeygraph {command}: error: ")
        assert all(line.startswith(("usage: ", " ")) for line in lines[:-1])


# -- paths ---------------------------------------------------------------------------


def test_paths_prints_the_most_probable_journeys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", TINY, "-n", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # by hand: ad -> gone 0.75 * 0.4 = 0.3; ad -> shop -> buy 0.75 * 0.6 * 0.5 = 0.225;
    # shop -> buy 0.25 * 0.5 = 0.125; every other journey is at most 0.09
    assert lines[1:4] == [
        "    1. 30.0000%  ad → gone",
        "    2. 22.5000%  ad → shop → buy",
        "    3. 12.5000%  shop → buy",
    ]
    assert lines[4] == "together 65.0000% of entrants"


def test_paths_json_equals_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / "retail_five_a_current.yaml"
    args = ["paths", str(path), "-n", "7", "--outcome", "conversion", "--max-length", "12"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    found = jg.top_paths(jg.load(path), "conversion", k=7, max_length=12)
    assert data["paths"] == [p.to_dict() for p in found] and len(found) == 7
    assert main([*args, "--entry", "search", "--csv", "-", "--table", "paths"]) == 0
    rows = capsys.readouterr().out.splitlines()
    best = jg.top_paths(jg.load(path), "conversion", k=7, max_length=12, entry="search")[0]
    assert rows[0] == "rank,probability,moves,outcome,path"
    rank, prob, moves, outcome, steps = rows[1].split(",")
    assert (rank, float(prob), int(moves), outcome) == (
        "1",
        best.probability,
        best.moves,
        best.outcome,
    )
    assert steps.split(" > ") == list(best.touchpoints) and steps.startswith("search")


def test_paths_of_one_outcome_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", TINY, "-n", "2", "--outcome", "rival", "--json"]) == 0
    paths = json.loads(capsys.readouterr().out)["paths"]
    # ad -> shop -> rival 0.75 * 0.6 * 0.1 = 0.045; shop -> rival 0.25 * 0.1 = 0.025
    assert [p["touchpoints"] for p in paths] == [["ad", "shop"], ["shop"]]
    assert [p["probability"] for p in paths] == pytest.approx([0.045, 0.025], rel=1e-12)


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["-n", "0"], 2, "'0' must be at least 1"),
        (["-n", "10001"], 2, "more than the limit of 10,000"),
        (["--max-length", "x"], 2, "'x' is not a whole number"),
        (["--outcome", "buyy"], 1, "did you mean 'buy'"),
        (["--entry", "shpo"], 1, "did you mean 'shop'"),
    ],
)
def test_paths_errors(extra: list[str], code: int, message: str) -> None:
    bad = run("paths", TINY, *extra)
    assert bad.returncode == code and message in bad.stderr, bad.stderr
    one_line(bad.stderr, "paths", code)


# -- whatif --------------------------------------------------------------------------


def test_whatif_prints_before_and_after(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whatif", TINY, "--reduce-churn", "ad", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "ReduceChurn(touchpoint='ad', fraction=0.5)" in out
    # Halving ad's churn: ad -> shop 0.8, ad -> gone 0.2, N = 1/0.84 [[1, .8], [.2, 1]],
    # P(buy) = 0.5 (0.75 * 0.8 + 0.25) / 0.84 = 85/168 = 50.60 % (was 35/88 = 39.77 %),
    # churn 0.2 (0.8 + 0.85) / 0.84 = 11/28 = 39.29 % (was 46/88 = 52.27 %)
    conversion = next(line for line in out.splitlines() if line.startswith("  conversion"))
    assert conversion.split() == ["conversion", "39.77%", "50.60%", "+10.82", "pts"]
    churn = next(line for line in out.splitlines() if line.startswith("  churn"))
    assert churn.split() == ["churn", "52.27%", "39.29%", "-12.99", "pts"]


def test_whatif_json_equals_the_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        *("whatif", TINY, "--cut-move", "ad", "gone", "--scale-move", "shop", "rival", "3"),
        *("--set-move", "shop", "gone", "1", "--add-move", "shop", "shop", "0.5"),
    ]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    jm = jg.load(TINY)
    edits = [
        jg.CutMove("ad", "gone"),
        jg.Reweight("shop", "rival", scale=3.0),
        jg.Reweight("shop", "gone", weight=1.0),
        jg.AddMove("shop", "shop", 0.5),
    ]
    new = jg.whatif(jm, *edits)
    assert data["edits"] == [e.to_dict() for e in edits]  # in command-line order
    after = jg.analyze(new)
    assert data["metrics"]["conversion"]["after"] == after.conversion_probability
    assert data["metrics"]["conversion"]["before"] == jg.analyze(jm).conversion_probability
    assert data["metrics"]["expected_steps"]["after"] == after.expected_steps
    # by hand: ad -> shop has probability 1; shop's weights are buy 5, ad 2, rival 3,
    # gone 1 and a self-loop 0.5, which does not change where journeys end: a journey
    # leaving shop converts with 5/11 and comes back (via ad) with 2/11, so
    # P(buy) = (5/11) / (1 - 2/11) = 5/9 from either entry touchpoint.
    assert data["metrics"]["conversion"]["after"] == pytest.approx(5 / 9, rel=1e-12)


def test_whatif_writes_the_new_map(tmp_path: Path) -> None:
    out = tmp_path / "future.yaml"
    result = run("whatif", TINY, "--remove", "shop", "--name", "no shop", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f"wrote {out}\n")
    written = jg.load(out)
    expected = jg.whatif(jg.load(TINY), jg.RemoveTouchpoint("shop"), name="no shop")
    assert written.name == "no shop" and written.metadata["whatif"] == [
        {"edit": "RemoveTouchpoint", "touchpoint": "shop", "redirect": "churn"}
    ]
    assert written.move_probabilities() == expected.move_probabilities()
    # without shop every journey starts at ad and churns: conversion 0, churn 1
    assert jg.analyze(written).churn_probability == 1.0
    again = run("whatif", TINY, "--remove", "shop", "-o", str(out))
    assert again.returncode == 1 and "--force" in again.stderr
    assert run("whatif", TINY, "--remove", "shop", "-o", str(out), "--force").returncode == 0


def test_whatif_remove_to_an_outcome_and_add_a_touchpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["whatif", TINY, "--remove-to", "shop", "rival", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    # ad's move to shop (weight 6 of 10) now ends at rival; entry only at ad
    assert metrics["competitor"]["after"] == pytest.approx(0.6, rel=1e-12)
    assert metrics["churn"]["after"] == pytest.approx(0.4, rel=1e-12)
    args = [
        *("whatif", TINY, "--add-touchpoint", "chat", "act"),
        *("--add-move", "ad", "chat", "4", "--add-move", "chat", "buy", "1", "--json"),
    ]
    assert main(args) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    new = jg.whatif(
        jg.load(TINY),
        jg.AddTouchpoint({"id": "chat", "stage": "act"}),
        jg.AddMove("ad", "chat", 4),
        jg.AddMove("chat", "buy", 1),
    )
    assert metrics["conversion"]["after"] == jg.analyze(new).conversion_probability


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ([], 2, "give at least one edit"),
        (["--reduce-churn", "ad"], 2, "expected 2 arguments"),
        (["--reduce-churn", "ad", "half"], 2, "--reduce-churn: 'half' is not a number"),
        (["--reduce-churn", "ad", "1.5"], 1, "fraction must be a finite number between 0 and 1"),
        (["--reduce-churn", "ad", "nan"], 1, "fraction must be a finite number"),
        (["--cut-move", "ad", "shpo"], 1, "did you mean 'shop'"),
        (["--remove", "add"], 1, "did you mean 'ad'"),
        (["--remove-to", "shop", "rivl"], 1, "did you mean 'rival'"),
        (["--cut-move", "ad", "shop", "--cut-move", "ad", "gone"], 1, "no way out"),
        (["--add-touchpoint", "x", "nowhere"], 1, "unknown stage 'nowhere'"),
        (["--remove", "ad", "-o", "new.txt"], 1, "write the edited map as .yaml or .json"),
    ],
)
def test_whatif_errors(extra: list[str], code: int, message: str) -> None:
    bad = run("whatif", TINY, *extra)
    assert bad.returncode == code and message in bad.stderr, bad.stderr
    one_line(bad.stderr, "whatif", code)


def test_whatif_never_writes_over_its_map(tmp_path: Path) -> None:
    copy = tmp_path / "tiny.yaml"
    copy.write_text(Path(TINY).read_text())
    bad = run("whatif", str(copy), "--remove", "shop", "-o", str(copy), "--force")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert copy.read_text() == Path(TINY).read_text()


def test_whatif_csv_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "t"
    assert main(["whatif", TINY, "--reduce-churn", "ad", "0.5", "--csv", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "changes.csv",
        "metrics.csv",
        "moves.csv",
        "touchpoints.csv",
    ]
    rows = (folder / "moves.csv").read_text().splitlines()
    assert rows[0] == "change,from,to,before,after,delta,weight_before,weight_after"
    moves = {tuple(r.split(",")[:3]): [float(x) for x in r.split(",")[3:]] for r in rows[1:]}
    # ad -> shop weight 6 -> 8 and ad -> gone 4 -> 2 (probabilities 0.6 -> 0.8, 0.4 -> 0.2)
    assert moves[("reweighted", "ad", "shop")] == pytest.approx([0.6, 0.8, 0.2, 6, 8], rel=1e-12)
    assert moves[("reweighted", "ad", "gone")] == pytest.approx([0.4, 0.2, -0.2, 4, 2], rel=1e-12)
    assert len(moves) == 2
    assert capsys.readouterr().out.endswith(f"wrote 4 CSV tables to {folder}/\n")
