"""Cookbook: where we lose customers to rivals, and to whom.

Ranks the switching points (touchpoint, competitor) by the share of all customers lost
to competitors, sums them by stage, and draws the journey canvas with the leak and
switching bars.

    python examples/lost_to_rivals.py [MAP] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import journeygraph as jg

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("map", nargs="?", default=HERE / "decision_journey_current.yaml")
    parser.add_argument("--out", type=Path, default=Path("cookbook-output/lost_to_rivals"))
    args = parser.parse_args()

    jm = jg.load(args.map)
    res = jg.analyze(jm)
    names = {o.id: o.name or o.id for o in jm.outcomes}
    print(f"{jm.name}: {res.competitor_probability:.1%} of entering customers buy from a rival")
    for oid, p in res.outcome_probabilities.items():
        if jm.outcome(oid).kind == "competitor":
            print(f"  {names[oid]:<28} {p:6.1%}")

    print("\nWhere they defect (share of all customers lost to rivals):")
    for rank, sw in enumerate(res.switching[:5], 1):
        print(f"  {rank}. {sw.touchpoint:<20} -> {names[sw.competitor]:<24} {sw.share:6.1%}")

    print("\nBy stage:")
    for stage, rivals in res.switching_by_stage.items():
        total = sum(rivals.values())
        if total > 0:
            top = max(rivals, key=rivals.__getitem__)
            print(f"  {stage:<12} {total:6.1%} of entrants, most to {names[top]}")

    args.out.mkdir(parents=True, exist_ok=True)
    jg.render(jm, args.out / "canvas.svg", analysis=res, view="canvas")
    print(f"\nCanvas with leak and switching bars: {args.out / 'canvas.svg'}")


if __name__ == "__main__":
    main()
