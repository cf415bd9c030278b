"""`journeygraph simulate` as a user runs it: files written atomically, exit codes 0/1/2.

Expected counts come from the log itself (customers x events) and from the hand-solved
tiny map (tests/conftest.py), within 4 binomial standard errors.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from journeygraph.cli import main

from .conftest import DATA
from .conftest import run_cli as run

TINY = str(DATA / "good" / "tiny.yaml")


def test_simulate_writes_parquet_and_reports_json(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "events.parquet"
    result = run("simulate", TINY, "-n", "100000", "--seed", "3", "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["customers"] == 100_000 and report["truncated"] == 0
    table = pq.read_table(out)
    assert table.num_rows == report["events"]
    assert table.column_names == ["customer_id", "step", "touchpoint", "outcome"]
    # P(buy) = 35/88 (tests/conftest.py), 4 standard errors
    p, n = 35 / 88, 100_000
    assert abs(report["outcomes"]["buy"] / n - p) <= 4 * np.sqrt(p * (1 - p) / n)
    assert sorted(os.listdir(tmp_path)) == ["events.parquet"]


def test_simulate_csv_same_seed_same_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["simulate", TINY, "-n", "500", "--seed", "1", "-o", str(a)]) == 0
    assert main(["simulate", TINY, "-n", "500", "--seed", "1", "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {a}: 500 journeys, ")
    with a.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["customer_id"] for r in rows} == {str(i) for i in range(500)}


def test_simulate_with_durations_has_timestamps(tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    code = main(
        [
            "simulate",
            "examples/b2b_saas_current.yaml",
            "-n",
            "200",
            "--seed",
            "2",
            "--start",
            "2025-06-01",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert "timestamp" in rows[0] and rows[0]["timestamp"].startswith("2025-06-01T00:00:00")


def test_simulate_user_errors_exit_1(tmp_path: Path) -> None:
    result = run("simulate", TINY, "-n", "10", "-o", str(tmp_path / "x.xlsx"))
    assert result.returncode == 1 and "use a .parquet or .csv" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("simulate", TINY, "-n", "10", "--entry", "shpo", "-o", str(tmp_path / "x.csv"))
    assert result.returncode == 1 and "did you mean 'shop'" in result.stderr
    result = run("simulate", str(DATA / "bad" / "trapped.yaml"), "-o", str(tmp_path / "x.csv"))
    assert result.returncode == 1 and "'loop_a', 'loop_b'" in result.stderr
    assert os.listdir(tmp_path) == []


def test_simulate_refuses_to_overwrite_the_map(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_bytes(Path(TINY).read_bytes())
    result = run("simulate", str(path), "-n", "5", "-o", str(path))
    assert result.returncode == 1 and "is an input of the command; refusing" in result.stderr
    assert path.read_bytes() == Path(TINY).read_bytes()


def test_simulate_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("simulate", TINY, "-n", "0", "-o", str(tmp_path / "x.csv")).returncode == 2
    assert run("simulate", TINY, "-n", "ten", "-o", str(tmp_path / "x.csv")).returncode == 2
    big = run("simulate", TINY, "-n", "10000001", "-o", str(tmp_path / "x.csv"))
    assert big.returncode == 2 and "more than the limit of 10,000,000" in big.stderr
    assert run("simulate", TINY).returncode == 2  # -o is required
    assert run("simulate", "--help").returncode == 0


def test_simulate_reads_stdin(tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    result = run(
        "simulate", "-", "-n", "20", "--seed", "0", "-o", str(out), stdin=Path(TINY).read_bytes()
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("customer_id,step,touchpoint,outcome\n")


def test_unfinished_journeys_are_reported(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.write_text(
        "name: loop\nstages: [{id: s}]\ntouchpoints: [{id: a, stage: s}]\n"
        "outcomes: [{id: win, kind: conversion}]\nentry: {a: 1}\n"
        "moves: [{from: a, to: a, weight: 99}, {from: a, to: win, weight: 1}]\n"
    )
    result = run(
        "simulate",
        str(loop),
        "-n",
        "100",
        "--seed",
        "0",
        "--max-steps",
        "2",
        "-o",
        str(tmp_path / "e.csv"),
    )
    assert result.returncode == 0, result.stderr
    assert (
        "journeygraph: warning:" in result.stderr and "had not reached an outcome" in result.stderr
    )
    assert "unfinished after 2 moves" in result.stdout
