"""Cookbook: find the leak worth fixing first.

Ranks where customers are lost (leak flow: share of all lost customers), how likely a
customer who reaches each touchpoint is to leave there (exit rate), and which fix pays
most: the exact conversion gain if a touchpoint's churn were cut by 10 %. Draws the
map with its analysis.

    python examples/find_the_leak.py [MAP] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import journeygraph as jg

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("map", nargs="?", default=HERE / "retail_five_a_current.yaml")
    parser.add_argument("--out", type=Path, default=Path("cookbook-output/find_the_leak"))
    args = parser.parse_args()

    jm = jg.load(args.map)
    res = jg.analyze(jm)
    print(
        f"{jm.name}: conversion {res.conversion_probability:.1%}, "
        f"lost {res.churn_probability:.1%}, to competitors {res.competitor_probability:.1%}"
    )

    print("\nWhere lost customers leave (share of all lost customers):")
    for rank, leak in enumerate(res.leaks[:5], 1):
        print(
            f"  {rank}. {leak.touchpoint:<20} {leak.share:6.1%} of losses"
            f"   ({leak.flow:.1%} of entrants; {leak.exit_rate:.0%} of visitors leave here)"
        )

    highest = max(res.leaks, key=lambda leak: leak.exit_rate)
    print(
        f"\nHighest exit rate: {highest.touchpoint} ({highest.exit_rate:.0%} of its visitors "
        f"leave there), but it loses {highest.share:.1%} of all lost customers."
    )

    best = res.sensitivity[0]
    print(
        f"\nFix first: {best.touchpoint}. Cutting its churn by 10 % raises conversion "
        f"from {res.conversion_probability:.2%} to {best.conversion:.2%} "
        f"(+{best.gain * 100:.2f} pts)."
    )
    for s in res.sensitivity[1:4]:
        print(f"  then {s.touchpoint:<20} +{s.gain * 100:.2f} pts")

    args.out.mkdir(parents=True, exist_ok=True)
    jg.render(jm, args.out / "leaks.svg", analysis=res)
    print(f"\nDiagram with the analysis: {args.out / 'leaks.svg'}")


if __name__ == "__main__":
    main()
