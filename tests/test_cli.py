"""The command line as a user runs it: exit codes 0/1/2, --json parses, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from journeygraph.cli import build_parser, main
from journeygraph.cli.parser import COMMANDS

from .conftest import DATA, EXAMPLES
from .conftest import run_cli as run

TINY = str(DATA / "good" / "tiny.yaml")


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", TINY]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ok  {TINY}: 'tiny': 2 stages, 2 touchpoints, 3 outcomes, 6 moves")
    assert "1 forward" in out and "1 backtrack" in out and "4 exit" in out


def test_validate_json_reports_each_file(capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(DATA / "bad" / "unknown_move_target.yaml")
    assert main(["validate", "--json", TINY, bad]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["valid"] for r in report] == [True, False]
    assert report[0]["map"]["move_kinds"]["backtrack"] == 1
    problem = report[1]["problems"][0]
    assert problem["line"] == 16 and "did you mean 'shop'" in problem["message"]


def test_validate_reads_stdin() -> None:
    result = run("validate", "-", stdin=Path(TINY).read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok  -: 'tiny'")


def test_user_error_exits_1_with_one_line_and_no_traceback() -> None:
    result = run("validate", str(DATA / "bad" / "trapped.yaml"))
    assert result.returncode == 1
    assert result.stderr.startswith("journeygraph: error: ")
    assert "Traceback" not in result.stderr
    assert "'loop_a', 'loop_b'" in result.stderr


def test_debug_shows_the_traceback() -> None:
    path = str(DATA / "bad" / "bad_json.json")
    result = run("analyze", "--debug", path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "journeygraph.errors.MapError: " in result.stderr
    plain = run("analyze", path)  # the same error without --debug: one line
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.startswith("journeygraph: error: ") and plain.stderr.count("\n") == 1


def test_usage_error_exits_2() -> None:
    assert run("validate").returncode == 2
    assert run("no-such-command").returncode == 2
    assert run().returncode == 2


def test_help_and_version() -> None:
    result = run("--help")
    assert result.returncode == 0 and "validate" in result.stdout
    for command in ("validate", "schema", "demo"):
        assert run(command, "--help").returncode == 0
    assert run("--version").stdout.startswith("journeygraph ")


def test_every_command_module_is_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    # cli/parser.py builds the parser from the command modules: each adds one command
    # named as its module, whose --help works and whose args.run is the module's run.
    names = [m.__name__.rsplit(".", 1)[1] for m in COMMANDS]
    assert len(names) == len(set(names)) == 11
    parser = build_parser()
    for module, name in zip(COMMANDS, names, strict=True):
        with pytest.raises(SystemExit) as stop:
            main([name, "--help"])
        assert stop.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: journeygraph {name} ")
        args = parser.parse_args([name, "--help"][:1] + _required(name))
        assert args.run is module.run


def _required(name: str) -> list[str]:
    """Enough arguments for each command to parse (not to run)."""
    fit = ["LOG", "--customer", "c", "--time", "t", "--touchpoint", "p", "-o", "m.yaml"]
    return {
        "validate": ["MAP"],
        "analyze": ["MAP"],
        "paths": ["MAP"],
        "whatif": ["MAP"],
        "compare": ["A", "B"],
        "render": ["MAP"],
        "explore": ["MAP", "-o", "x.html"],
        "simulate": ["MAP", "-o", "log.csv"],
        "fit": fit,
        "schema": [],
        "demo": [],
    }[name]


def test_schema_prints_json_schema(tmp_path: Path) -> None:
    result = run("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "journeygraph journey map"
    out = tmp_path / "schema.json"
    assert run("schema", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text())["additionalProperties"] is False


def test_warnings_are_one_plain_line(tmp_path: Path) -> None:
    text = Path(TINY).read_text().replace("entry: {ad: 3, shop: 1}", "entry: {shop: 1}")
    text = text.replace("  - {from: shop, to: ad, weight: 2}\n", "")
    path = tmp_path / "w.yaml"
    path.write_text(text)
    result = run("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        "journeygraph: warning: map 'tiny': no journey reaches touchpoint(s) 'ad' from the "
        "entry; their expected visits are 0"
    )


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples/ not present")
def test_demo_runs_on_the_examples() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert "retail_five_a_current.yaml" in result.stdout
