"""Loading and saving map files: formats, round trips, encodings, limits, atomicity."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

import journeygraph as jg
import journeygraph.io as jgio

from .conftest import DATA, run_cli


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_save_load_round_trip(tiny: jg.JourneyMap, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"map{suffix}"
    assert jg.save(tiny, path) == path
    assert jg.load(path) == tiny


def test_saved_yaml_reads_like_a_hand_written_file(tiny: jg.JourneyMap, tmp_path: Path) -> None:
    text = jg.save(tiny, tmp_path / "m.yaml").read_text(encoding="utf-8")
    assert text.startswith("name: tiny\n")
    assert "- {from: ad, to: shop, weight: 6}" in text  # counts stay integers
    assert "pains" not in text  # defaults are left out


def test_json_file_loads_with_line_numbers(tiny: jg.JourneyMap, tmp_path: Path) -> None:
    path = jg.save(tiny, tmp_path / "m.json")
    data = json.loads(path.read_text())
    data["moves"][0]["to"] = "shpo"
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(jg.MapError, match=r"m\.json:\d+: move 'ad' -> 'shpo'.*did you mean 'shop'"):
        jg.load(path)


def test_utf8_bom_loads(tmp_path: Path) -> None:
    raw = (DATA / "good" / "tiny.yaml").read_bytes()
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + raw)
    assert jg.load(path).name == "tiny"


def test_stdin_dash_reads_yaml_and_json(
    tiny: jg.JourneyMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (DATA / "good" / "tiny.yaml").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert jg.load("-") == tiny
    as_json = jg.save(tiny, tmp_path / "t.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(as_json)))
    assert jg.load("-") == tiny


def test_loads_parses_text(tiny: jg.JourneyMap) -> None:
    text = (DATA / "good" / "tiny.yaml").read_text(encoding="utf-8")
    assert jg.loads(text) == tiny


def test_file_over_the_size_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jgio, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" * 50)
    with pytest.raises(jg.MapError, match=r"big\.yaml: the file is 400 bytes, more than the limit"):
        jg.load(path)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_read_only_up_to_the_size_limit(
    device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Devices report size 0 and never end; was read until MemoryError (issue #17)."""
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    monkeypatch.setattr(jgio, "MAX_FILE_BYTES", 1000)
    with pytest.raises(
        jg.MapError, match=rf"^{device}: the file holds more than the limit of 1,000"
    ):
        jg.load(device)


def test_a_pipe_and_stdin_are_read_only_up_to_the_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jgio, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"name: x\n" * 200)))
    with pytest.raises(jg.MapError, match=r"^<stdin>: the file holds more than the limit"):
        jg.load("-")
    fifo = tmp_path / "map.yaml"
    os.mkfifo(fifo)
    written: list[int] = []

    def feed() -> None:
        try:
            with open(fifo, "wb") as fh:  # blocks until the reader opens the pipe
                for _ in range(100):
                    written.append(fh.write(b"name: x\n" * 100))
                    fh.flush()
        except BrokenPipeError:
            pass

    import threading

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with pytest.raises(jg.MapError, match=r"map\.yaml: the file holds more than the limit"):
            jg.load(fifo)
    finally:
        writer.join(timeout=30)
    assert not writer.is_alive()
    assert len(written) < 100  # the reader stopped early: the writer saw a closed pipe


def test_validate_dev_zero_ends_with_one_message() -> None:
    """The real 64 MiB limit, through the command line (reads 64 MiB + 1 byte, then stops)."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    result = run_cli("validate", "/dev/zero")
    assert result.returncode == 1
    assert result.stderr == (
        "journeygraph: error: /dev/zero: the file holds more than the limit of 67,108,864 "
        "bytes; split the map or raise journeygraph.io.MAX_FILE_BYTES\n"
    )


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(jg.MapError, match="no such file"):
        jg.load(tmp_path / "nope.yaml")
    folder = tmp_path / "d.yaml"
    folder.mkdir()
    with pytest.raises(jg.MapError, match="folder"):
        jg.load(folder)


def test_failed_save_leaves_the_old_file_and_no_partial_file(
    tiny: jg.JourneyMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("old")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    # one JourneyGraphError naming the file (was the raw OSError before issue #17)
    with pytest.raises(jg.JourneyGraphError, match=r"m\.yaml: cannot write it in .*: disk full"):
        jg.save(tiny, path)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml"]


def test_schema_describes_every_top_level_key() -> None:
    schema = jg.schema()
    assert set(schema["properties"]) == {
        "name",
        "description",
        "persona",
        "stages",
        "touchpoints",
        "outcomes",
        "entry",
        "moves",
        "metadata",
    }
    move = schema["$defs"]["Move"]
    assert {"from", "to", "weight"} <= set(move["properties"])
    assert schema["additionalProperties"] is False


def test_hostile_and_unicode_text_round_trips(tmp_path: Path) -> None:
    names = ['"]; node [shape=box', "<script>alert(1)</script>", "결제 🛒", "a\\b\nc", "{}&amp;"]
    jm = jg.JourneyMap(
        name=names[0],
        stages=[{"id": "s", "name": names[1]}],
        touchpoints=[
            {"id": f"t{i}", "name": n, "stage": "s", "pains": [n]} for i, n in enumerate(names)
        ],
        outcomes=[{"id": "o", "kind": "conversion", "name": names[2]}],
        entry={"t0": 1},
        moves=[
            {"from": f"t{i}", "to": "o" if i == 4 else f"t{i + 1}", "weight": 1} for i in range(5)
        ],
    )
    for suffix in (".yaml", ".json"):
        assert jg.load(jg.save(jm, tmp_path / f"h{suffix}")) == jm


def test_saved_files_get_ordinary_permissions(tiny: jg.JourneyMap, tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        path = jg.save(tiny, tmp_path / "perm.yaml")
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o600)
        jg.save(tiny, path)  # replacing keeps the existing file's mode
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(mask)


def test_writing_into_a_missing_folder_is_one_clear_error(
    tiny: jg.JourneyMap, tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "m.yaml"
    with pytest.raises(jg.JourneyGraphError, match=r"folder .* does not exist; create it"):
        jg.save(tiny, target)
    with pytest.raises(jg.JourneyGraphError, match="does not exist"):
        jg.render(tiny, tmp_path / "no" / "m.dot")
