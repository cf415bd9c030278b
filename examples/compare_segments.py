"""Cookbook: compare two personas (or segments) fitted from one event log.

One log, a segment column (persona, device, region, campaign): `jg.fit(...,
segment_column=...)` fits one map per value, all with the same stages, and `jg.compare` puts
two of them side by side like a current and a future map. The log here is sampled from
two versions of the retail example (mobile shoppers lose more at checkout), so the
answer is known.

    python examples/compare_segments.py [--journeys N] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import journeygraph as jg

HERE = Path(__file__).parent


def sampled_log(maps: dict[str, jg.JourneyMap], journeys: int) -> pa.Table:
    """One event log with a ``device`` column, sampled from one map per device."""
    parts = []
    for i, (device, jm) in enumerate(maps.items()):
        t = jg.simulate(jm, n=journeys, seed=i).to_arrow()
        ids = pc.add(t["customer_id"], i * journeys)  # customer ids stay distinct
        t = t.set_column(t.schema.get_field_index("customer_id"), "customer_id", ids)
        parts.append(t.append_column("device", pa.array(np.full(t.num_rows, device))))
    return pa.concat_tables(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path("cookbook-output/compare_segments"))
    args = parser.parse_args()

    desktop = jg.load(HERE / "retail_five_a_current.yaml")
    mobile = jg.whatif(desktop, jg.Reweight("checkout", "abandoned", scale=1.6))
    log = sampled_log({"desktop": desktop, "mobile": mobile}, args.journeys)

    maps = jg.fit(
        log,
        customer_column="customer_id",
        time_column="step",
        touchpoint_column="touchpoint",
        outcomes=desktop,
        stages=desktop,
        segment_column="device",
    )
    print(f"Fitted one map per device: {', '.join(sorted(maps))}")
    diff = jg.compare(maps["desktop"], maps["mobile"])
    print(diff.summary())

    leak = diff.touchpoint_metrics["checkout"]["leak"]
    print(
        f"\nCheckout loses {leak.before:.1%} of desktop and {leak.after:.1%} of mobile "
        f"entrants ({leak.delta * 100:+.1f} pts)."
    )

    args.out.mkdir(parents=True, exist_ok=True)
    jg.render(diff, args.out / "desktop_vs_mobile.svg")
    print(f"Diff diagram: {args.out / 'desktop_vs_mobile.svg'}")


if __name__ == "__main__":
    main()
