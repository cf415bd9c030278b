"""Polars DataFrames as a fit source, and ``journeygraph fit --segment`` (one map per
segment, atomic, refusing to overwrite without --force).

Reference: the same log as a pandas DataFrame through the numpy engine (itself checked
against hand counts in test_fit.py), and ``jg.fit(..., segment_column=)`` for the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import journeygraph as jg
from journeygraph.cli import main

OUTCOMES = {"purchase": "conversion", "rival": "competitor"}


def messy_log(seed: int = 21, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "customer": rng.integers(0, 200, n).astype(str),
            "time": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 500, n), "h"),
            "touchpoint": rng.choice(["ad", "site", "email", "purchase", "rival"], n),
            "persona": rng.choice(["smb", "enterprise", "a/b: test"], n),
        }
    )
    return pd.concat([df, df.head(40)]).reset_index(drop=True)  # with duplicates


def signature(jm: jg.JourneyMap) -> tuple[Any, ...]:
    return (
        dict(jm.entry),
        {(m.source, m.target): m.weight for m in jm.moves},
        [(t.id, t.stage) for t in jm.touchpoints],
        jg.FitReport.of(jm).dropped,
    )


@pytest.mark.parametrize("engine", ["auto", "numpy", "duckdb"])
def test_polars_dataframe_source(engine: str) -> None:
    pl = pytest.importorskip("polars", reason="polars is not installed (dev extra)")
    df = messy_log()
    df.loc[3, "touchpoint"] = None
    frame = pl.from_pandas(df)
    assert type(frame).__module__.startswith("polars")
    kw: dict[str, Any] = dict(
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcomes=OUTCOMES,
    )
    want = jg.fit(df, engine="numpy", **kw)
    got = jg.fit(frame, engine=engine, **kw)
    assert isinstance(want, jg.JourneyMap) and isinstance(got, jg.JourneyMap)
    assert signature(got) == signature(want)
    assert jg.FitReport.of(got).dropped["null_touchpoint"] == 1
    # Segments and a polars categorical (dictionary) column work the same way.
    frame_cat = frame.with_columns(pl.col("touchpoint").cast(pl.Categorical))
    by_seg = jg.fit(frame_cat, engine=engine, segment_column="persona", **kw)
    ref_seg = jg.fit(df, engine="numpy", segment_column="persona", **kw)
    assert isinstance(by_seg, dict) and isinstance(ref_seg, dict)
    assert by_seg.keys() == ref_seg.keys() == {"smb", "enterprise", "a/b: test"}
    for seg in ref_seg:
        assert signature(by_seg[seg]) == signature(ref_seg[seg])


def test_polars_missing_column_is_named() -> None:
    pl = pytest.importorskip("polars", reason="polars is not installed (dev extra)")
    frame = pl.from_pandas(messy_log())
    with pytest.raises(jg.EventLogError, match=r"customer column 'user'.*'customer'"):
        jg.fit(frame, customer_column="user", time_column="time", touchpoint_column="touchpoint")


def _cli(log: Path, *extra: str) -> list[str]:
    return [
        "fit",
        str(log),
        "--customer",
        "customer",
        "--time",
        "time",
        "--touchpoint",
        "touchpoint",
        "--outcomes",
        "purchase=conversion,rival=competitor",
        "--segment",
        "persona",
        *extra,
    ]


def test_cli_segment_to_a_folder_and_a_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = messy_log()
    log = tmp_path / "log.parquet"
    df.to_parquet(log)
    ref = jg.fit(
        df,
        customer_column="customer",
        time_column="time",
        touchpoint_column="touchpoint",
        outcomes=OUTCOMES,
        segment_column="persona",
    )
    assert isinstance(ref, dict)
    folder = tmp_path / "maps"
    assert main(_cli(log, "-o", str(folder))) == 0
    files = {p.name for p in folder.iterdir()}
    assert files == {"smb.yaml", "enterprise.yaml", "a_b__test.yaml"}
    for name, seg in [("smb.yaml", "smb"), ("a_b__test.yaml", "a/b: test")]:
        loaded = jg.load(folder / name)
        assert signature(loaded) == signature(ref[seg])
        assert loaded.persona is not None and loaded.persona.id == seg
    assert "segment 'smb'" in capsys.readouterr().out

    # Existing files: refused, nothing rewritten; --force overwrites.
    before = (folder / "smb.yaml").stat().st_mtime_ns
    assert main(_cli(log, "-o", str(folder))) == 1
    assert "--force" in capsys.readouterr().err
    assert (folder / "smb.yaml").stat().st_mtime_ns == before
    assert main(_cli(log, "-o", str(folder), "--force", "--json")) == 0
    assert '"smb"' in capsys.readouterr().out

    pattern = tmp_path / "out" / "journey-{segment}.json"
    assert main(_cli(log, "-o", str(pattern))) == 0
    assert (tmp_path / "out" / "journey-enterprise.json").exists()
    assert signature(jg.load(tmp_path / "out" / "journey-smb.json")) == signature(ref["smb"])


def test_cli_segment_bad_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = messy_log()
    log = tmp_path / "log.csv"
    df.to_csv(log, index=False)
    afile = tmp_path / "map.yaml"
    afile.write_text("x", encoding="utf-8")
    assert main(_cli(log, "-o", str(afile))) == 1
    assert "is a folder" in capsys.readouterr().err
    assert main(_cli(log, "-o", str(tmp_path / "{segment}.txt"))) == 1
    assert ".yaml or .json" in capsys.readouterr().err
    # Two segments that would land in the same file: an error, and nothing written.
    clash = df.assign(persona=np.where(df.index % 2 == 0, "a/b", "a:b"))
    clash.to_csv(log, index=False)
    out = tmp_path / "clash"
    assert main(_cli(log, "-o", str(out))) == 1
    assert "would both be written" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
