"""Text printed to the terminal: controls from maps and logs are made visible, never raw.

The characters that must never reach a terminal raw are taken from Unicode's own
tables (``unicodedata``), independently of journeygraph/_terminal.py: general category
Cc (C0, DEL, C1), the explicit bidi formatting characters (bidi classes LRE, RLE, LRO,
RLO, PDF, LRI, RLI, FSI, PDI) and the line/paragraph separators (Zl, Zp).
"""

from __future__ import annotations

import io
import json
import os
import sys
import unicodedata
from pathlib import Path

import pytest

import journeygraph as jg
from journeygraph._terminal import VisibleStream, visible, visible_streams, write_data
from journeygraph.cli import main

from .conftest import DATA, fit_simulated_log

_BIDI_CONTROLS = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}


def must_escape(ch: str) -> bool:
    return (
        unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs")
        or unicodedata.bidirectional(ch) in _BIDI_CONTROLS
    )


def test_exactly_the_controls_are_escaped_in_the_first_planes() -> None:
    for code in [*range(0x3000), *range(0xD700, 0xE100)]:  # surrogates too
        ch = chr(code)
        if must_escape(ch):
            shown = visible(ch)
            assert shown != ch and shown.startswith("\\") and shown.isprintable(), hex(code)
            # newline and tab stay in whole reports, everything else is escaped there too
            assert (visible(ch, lines=True) == ch) == (ch in "\n\t"), hex(code)
        else:
            assert visible(ch) == ch, hex(code)


def test_the_escapes_name_the_character() -> None:
    assert visible("\x1b[2J") == "\\x1b[2J"
    assert visible("\x1b]52;c;SGk=\x07") == "\\x1b]52;c;SGk=\\x07"
    assert visible("\x9b31m") == "\\u009b31m"
    assert visible("\u202eab12\u2066") == "\\u202eab12\\u2066"
    assert visible("a\rb\nc", lines=True) == "a\\x0db\nc"
    # a file name with the byte 0x9b, as Python decodes it (surrogateescape)
    assert visible(b"log\x9b.csv".decode("utf-8", "surrogateescape")) == "log\\udc9b.csv"


@pytest.mark.parametrize(
    "text",
    [
        "광고 → 검색 → 구매",  # Korean
        "🛒 checkout 👨‍👩‍👧",  # emoji, with zero-width joiners
        "الدفع عبر الإنترنت",  # Arabic (right-to-left letters)
        "שלום",  # Hebrew
        "Cafe\u0301 n\u0303",  # combining marks
    ],
)
def test_letters_of_every_script_stay_as_they_are(text: str) -> None:
    assert visible(text) == text


def test_visible_stream_keeps_json_valid_and_equal() -> None:
    value = {"name": "a\u0085b\u202ec\u2028d\x1be\x7f"}
    out = io.StringIO()
    VisibleStream(out).write(json.dumps(value, ensure_ascii=False))  # type: ignore[arg-type]
    assert json.loads(out.getvalue()) == value
    assert not any(must_escape(ch) for ch in out.getvalue())


HOSTILE = "Evil\x1b]52;c;SGVsbG8=\x07\x1b[2J\x9b31m\u202eab12\u2066 광고 🛒"


def hostile_map(tmp_path: Path) -> Path:
    """The tiny map with control sequences in its name and a touchpoint's name."""
    jm = jg.load(DATA / "good" / "tiny.yaml")
    touchpoints = tuple(
        tp.model_copy(update={"name": f"{tp.name} \x1b[31m\u202e"}) for tp in jm.touchpoints
    )
    path = tmp_path / "hostile.yaml"
    jg.save(jm.model_copy(update={"name": HOSTILE, "touchpoints": touchpoints}), path)
    assert jg.load(path).name == HOSTILE
    return path


def strings(value: object) -> set[str]:
    """Every string (keys and values) in a parsed JSON document."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value).union(*(strings(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(strings(v) for v in value))
    return set()


def assert_clean(text: str) -> None:
    raw = sorted({f"U+{ord(ch):04X}" for ch in text if must_escape(ch) and ch not in "\n\t"})
    assert raw == [], raw


def test_every_command_prints_the_hostile_map_visibly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile_map(tmp_path)
    log = tmp_path / "log.csv"
    commands = [
        ["validate", str(path)],
        ["analyze", str(path)],
        ["compare", str(path), str(path)],
        ["simulate", str(path), "-n", "50", "--seed", "0", "-o", str(log)],
        ["analyze", str(path), "--json"],
        ["compare", str(path), str(path), "--json"],
    ]
    for args in commands:
        assert main(args) == 0, args
        out, err = capsys.readouterr()
        assert_clean(out + err)
        if "--json" in args:  # the same text, escaped the JSON way
            assert HOSTILE in strings(json.loads(out))
        elif args[0] != "simulate":  # its report names no map text
            assert "Evil\\x1b]52;c;SGVsbG8=\\x07\\x1b[2J" in out
    # fit: the map name comes from --name; its report and the saved map keep the text
    fitted = tmp_path / "fitted.yaml"
    assert main(fit_simulated_log(log, path, fitted, "--name", HOSTILE, "--json")) == 0
    out, err = capsys.readouterr()
    assert_clean(out + err)
    assert jg.load(tmp_path / "fitted.yaml").name == HOSTILE  # the file keeps the text


def test_error_messages_with_user_text_are_visible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = str(tmp_path / "no\x1b[2Jmap\u202e.yaml")
    assert main(["validate", name]) == 1
    assert main(["analyze", name]) == 1
    # a file name that is not UTF-8, as Python hands it over (surrogateescape)
    assert main(["validate", os.fsdecode(os.fsencode(str(tmp_path)) + b"/log\x9b.yaml")]) == 1
    err = capsys.readouterr().err
    assert_clean(err)
    assert err.count("no\\x1b[2Jmap\\u202e.yaml: no such file") == 2
    assert "log\\udc9b.yaml: no such file" in err


def test_warnings_with_user_text_are_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The warning printer is a print boundary too, whatever a warning's text holds."""
    import warnings

    real_analyze = jg.analyze

    def analyze_and_warn(jm: jg.JourneyMap, **kwargs: object) -> jg.Analysis:
        warnings.warn(f"map {jm.name} has a warning", jg.JourneyGraphWarning, stacklevel=2)
        return real_analyze(jm, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jg, "analyze", analyze_and_warn)
    assert main(["analyze", str(hostile_map(tmp_path)), "--json"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("journeygraph: warning: map Evil\\x1b]52;c;SGVsbG8=\\x07\\x1b[2J")
    assert_clean(err)


def test_documents_on_stdout_are_data_unless_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, expected in ((io.StringIO(), HOSTILE), (Terminal(), visible(HOSTILE))):
        monkeypatch.setattr(sys, "stdout", stream)
        with visible_streams():
            write_data(HOSTILE)
        assert stream.getvalue() == expected
