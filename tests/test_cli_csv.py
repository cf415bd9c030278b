"""``--csv``: every table of analyze and compare as CSV, equal to the Python API's."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import pytest

import journeygraph as jg
from journeygraph.cli import main
from journeygraph.cli.tables import ANALYSIS_TABLES, DIFF_TABLES, INTERVAL_TABLES

from .conftest import DATA, EXAMPLES
from .conftest import run_cli as run

TINY = str(DATA / "good" / "tiny.yaml")
CURRENT = str(EXAMPLES / "retail_five_a_current.yaml")
FUTURE = str(EXAMPLES / "retail_five_a_future.yaml")


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def cell(value: Any) -> Any:
    """A value as the API gives it, in the form a CSV cell reads back."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float(value)
    return str(value)


def same_rows(rows: list[dict[str, str]], frame: Any) -> None:
    """CSV rows equal a to_frame table exactly: same columns, same values."""
    assert list(rows[0]) == list(frame.columns) if rows else True
    assert len(rows) == len(frame)
    for row, expected in zip(rows, frame.to_dict("records"), strict=True):
        for column, value in expected.items():
            got: Any = row[column]
            want = cell(value)
            if isinstance(want, float):
                got = float(got)  # repr of a float reads back exactly
            assert got == want, (column, row, expected)


def test_analyze_writes_every_table_into_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pandas")
    folder = tmp_path / "tables"  # created by --csv
    assert main(["analyze", TINY, "--csv", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.endswith(f"wrote {len(ANALYSIS_TABLES)} CSV tables to {folder}/\n")
    # one file per table, nothing else (no temporary file left behind)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.csv" for n in ANALYSIS_TABLES)
    res = jg.analyze(jg.load(TINY))
    for name in ANALYSIS_TABLES:
        if name in ("summary", "stage_exits"):
            continue  # no to_frame counterpart; checked below
        same_rows(read_csv((folder / f"{name}.csv").read_text()), res.to_frame(name))
    # conftest.py: P(buy) = 35/88, churn 46/88, competitor 7/88, hand-solved
    summary = {
        r["figure"]: float(r["value"]) for r in read_csv((folder / "summary.csv").read_text())
    }
    assert summary["conversion_probability"] == pytest.approx(35 / 88, rel=1e-12)
    assert summary["churn_probability"] == pytest.approx(46 / 88, rel=1e-12)
    assert summary["expected_steps"] == res.expected_steps
    exits = read_csv((folder / "stage_exits.csv").read_text())
    assert {(r["stage"], r["outcome"]): float(r["flow"]) for r in exits} == dict(
        res.stage_flow.exits
    )


def test_one_table_to_standard_output_or_a_file(tmp_path: Path) -> None:
    result = run("analyze", TINY, "--csv", "-", "--table", "outcomes")
    assert result.returncode == 0, result.stderr
    rows = read_csv(result.stdout)  # only the CSV: no report around it
    # conftest.py: 35/88, 46/88, 7/88 (hand-solved)
    assert [r["outcome"] for r in rows] == ["buy", "gone", "rival"]
    assert [r["kind"] for r in rows] == ["conversion", "churn", "competitor"]
    for r, p in zip(rows, (35 / 88, 46 / 88, 7 / 88), strict=True):
        assert float(r["probability"]) == pytest.approx(p, rel=1e-12)
    target = tmp_path / "leaks.csv"
    assert main(["analyze", TINY, "--csv", str(target), "--table", "leaks"]) == 0
    leaks = read_csv(target.read_text())
    res = jg.analyze(jg.load(TINY))
    assert [(r["touchpoint"], float(r["flow"])) for r in leaks] == [
        (x.touchpoint, x.flow) for x in res.leaks
    ]
    # conftest.py: v_ad = (0.75 + 0.25 * 0.2) / 0.88, churn exit 0.4 per visit
    assert float(leaks[0]["flow"]) == pytest.approx(0.4 * 0.8 / 0.88, rel=1e-12)


def test_fix_fraction_and_the_sensitivity_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["analyze", TINY, "--fix-fraction", "0.5", "--csv", "-", "--table", "sensitivity"])
        == 0
    )
    rows = read_csv(capsys.readouterr().out)
    # Halving ad's churn makes ad -> shop 0.8, ad -> gone 0.2; by hand N = 1/0.84 [[1, .8],
    # [.2, 1]], so P(buy) = 0.5 * (0.75 * 0.8 + 0.25) / 0.84 = 85/168 (was 35/88).
    ad = next(r for r in rows if r["touchpoint"] == "ad")
    assert float(ad["gain"]) == pytest.approx(85 / 168 - 35 / 88, rel=1e-9)
    assert float(ad["conversion"]) == pytest.approx(85 / 168, rel=1e-9)
    assert run("analyze", TINY, "--fix-fraction", "0").returncode == 2


def test_interval_tables(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    folder = tmp_path / "ci"
    args = ["analyze", TINY, "--intervals", "--draws", "200", "--seed", "3", "--csv", str(folder)]
    assert main(args) == 0
    assert sorted(p.stem for p in folder.iterdir()) == sorted(ANALYSIS_TABLES + INTERVAL_TABLES)
    ci = jg.credible_intervals(jg.load(TINY), draws=200, seed=3)
    for name in INTERVAL_TABLES:
        frame = ci.to_frame(name.removeprefix("intervals_"))
        same_rows(read_csv((folder / f"{name}.csv").read_text()), frame)


def test_compare_tables_equal_the_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pandas")
    folder = tmp_path / "diff"
    assert main(["compare", CURRENT, FUTURE, "--csv", str(folder)]) == 0
    assert capsys.readouterr().out.endswith(f"wrote 4 CSV tables to {folder}/\n")
    diff = jg.compare(jg.load(CURRENT), jg.load(FUTURE))
    for name in DIFF_TABLES:
        rows = read_csv((folder / f"{name}.csv").read_text())
        frame = diff.to_frame(name)
        if name == "changes":  # list-valued cells are JSON text in CSV
            assert len(rows) == len(frame)
            continue
        same_rows([{k: v for k, v in r.items() if k in frame.columns} for r in rows], frame)
    metrics = {r["metric"]: r for r in read_csv((folder / "metrics.csv").read_text())}
    conv = diff.metrics["conversion"]
    assert (
        float(metrics["conversion"]["before"])
        == jg.analyze(jg.load(CURRENT)).conversion_probability
    )
    assert float(metrics["conversion"]["after"]) == conv.after
    assert metrics["conversion"]["lower"] == ""  # no intervals asked for


def test_compare_intervals_in_the_metric_rows() -> None:
    # tiny's weights are whole numbers (counts), and so are those of its what-if:
    # halving ad's churn makes ad -> gone 2 and ad -> shop 8.
    future = jg.whatif(jg.load(TINY), jg.ReduceChurn("ad", 0.5))
    assert all(float(m.weight).is_integer() for m in future.moves)
    result = run(
        *("compare", TINY, "-", "--intervals", "--draws", "200", "--seed", "1"),
        *("--csv", "-", "--table", "metrics"),
        stdin=future.model_dump_json(by_alias=True).encode(),
    )
    assert result.returncode == 0, result.stderr
    rows = {r["metric"]: r for r in read_csv(result.stdout)}
    diff = jg.compare(jg.load(TINY), future, intervals=True, draws=200, seed=1)
    interval = diff.metrics["conversion"].interval
    assert interval is not None
    assert float(rows["conversion"]["lower"]) == interval.lower
    assert float(rows["conversion"]["upper"]) == interval.upper
    assert rows["conversion"]["credible"] == ("true" if interval.excludes_zero else "false")
    # before and after by hand (test_fix_fraction_and_the_sensitivity_table): 35/88, 85/168
    assert float(rows["conversion"]["before"]) == pytest.approx(35 / 88, rel=1e-12)
    assert float(rows["conversion"]["after"]) == pytest.approx(85 / 168, rel=1e-12)


def test_text_cells_carry_the_formula_guard(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.yaml"
    text = Path(TINY).read_text()
    for old in (" ad,", "{ad:", "to: ad,", "from: ad,"):
        text = text.replace(old, old.replace("ad", "'=cmd|x'"))
    hostile.write_text(text)
    assert "=cmd|x" in {t.id for t in jg.load(hostile).touchpoints}
    result = run("analyze", str(hostile), "--csv", "-", "--table", "leaks")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "'=cmd|x" in [line.split(",")[0] for line in lines]
    assert not any(line.startswith(("=", "+", "@")) for line in lines)
    # numbers are never guarded: a negative delta stays a number (tiny -> its what-if)
    future = tmp_path / "future.yaml"
    jg.save(jg.whatif(jg.load(TINY), jg.CutMove("shop", "buy")), future)
    result = run("compare", TINY, str(future), "--csv", "-", "--table", "metrics")
    assert result.returncode == 0, result.stderr
    conversion = next(r for r in read_csv(result.stdout) if r["metric"] == "conversion")
    assert conversion["delta"].startswith("-")
    assert float(conversion["delta"]) == pytest.approx(-35 / 88, rel=1e-12)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--table", "leaks"], "--table needs --csv PATH"),
        (["--csv", "-"], "--csv - prints one table: add --table NAME"),
        (["--csv", "-", "--table", "leaks", "--json"], "choose one"),
        (["--csv", "-", "--table", "leak"], "no such table (did you mean 'leaks'?)"),
        (["--csv", "-", "--table", "intervals_leaks"], "this command writes summary, outcomes"),
    ],
)
def test_csv_usage_errors(extra: list[str], message: str) -> None:
    bad = run("analyze", TINY, *extra)
    assert bad.returncode == 2 and message in bad.stderr, bad.stderr
    assert bad.stderr.startswith("journeygraph analyze: error: ") and bad.stderr.count("\n") == 1


def test_csv_user_errors(tmp_path: Path) -> None:
    afile = tmp_path / "a.csv"
    afile.write_text("x\n")
    bad = run("analyze", TINY, "--csv", str(afile))
    assert bad.returncode == 1 and "names a folder" in bad.stderr and "Traceback" not in bad.stderr
    assert afile.read_text() == "x\n"
    copy = tmp_path / "tiny.yaml"
    copy.write_text(Path(TINY).read_text())
    over = run("analyze", str(copy), "--csv", str(copy), "--table", "leaks")
    assert over.returncode == 1 and "Traceback" not in over.stderr
    assert copy.read_text() == Path(TINY).read_text()
