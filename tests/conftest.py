"""Shared fixtures: tiny maps with hand-solved answers.

``tiny`` (tests/data/good/tiny.yaml), solved by hand. Transient states ad, shop:

    Q = [[0, 0.6], [0.2, 0]]        R = ad:   buy 0,   gone 0.4, rival 0
                                        shop: buy 0.5, gone 0.2, rival 0.1
    N = (I - Q)^-1 = 1/0.88 * [[1, 0.6], [0.2, 1]]
    entry = (0.75, 0.25)  ->  visits v = entry N = (0.9091, 0.7955)
    P(buy)  = v_shop * 0.5 = 0.397727...   (35/88)
    P(gone) = 0.4 v_ad + 0.2 v_shop = 0.522727... (46/88)
    P(rival)= 0.1 v_shop = 0.0795454... (7/88)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import journeygraph as jg

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def tiny() -> jg.JourneyMap:
    return jg.load(DATA / "good" / "tiny.yaml")


def run_cli(
    *args: str, stdin: bytes | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m journeygraph ARGS`` the way a user does, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "journeygraph", *args],
        input=stdin.decode() if stdin else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def fit_simulated_log(log: Path, outcomes_map: Path | str, out: Path, *more: str) -> list[str]:
    """``journeygraph fit`` arguments for a log written by ``simulate`` (CLI argv)."""
    return [
        "fit",
        str(log),
        "--customer",
        "customer_id",
        "--time",
        "step",
        "--touchpoint",
        "touchpoint",
        "--outcomes",
        str(outcomes_map),
        "-o",
        str(out),
        *more,
    ]
