"""Cookbook: does the future-state map pay off?

Compares the current and the future map of one journey: what changes in the structure,
what it does to conversion, churn, competitor losses and each touchpoint's leak, and
draws the change as a diff diagram and a comparison canvas.

    python examples/future_pays_off.py [CURRENT FUTURE] [--out FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import journeygraph as jg

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("current", nargs="?", default=HERE / "retail_five_a_current.yaml")
    parser.add_argument("future", nargs="?", default=HERE / "retail_five_a_future.yaml")
    parser.add_argument("--out", type=Path, default=Path("cookbook-output/future_pays_off"))
    args = parser.parse_args()

    current, future = jg.load(args.current), jg.load(args.future)
    diff = jg.compare(current, future)
    print(diff.summary())

    conversion = diff.metrics["conversion"]
    verdict = "pays off" if conversion.delta > 0 else "does not pay off"
    print(
        f"\nThe future map {verdict}: {conversion.delta * 100:+.1f} pts of conversion, "
        f"{abs(conversion.delta) * 10_000:.0f} {'more' if conversion.delta > 0 else 'fewer'} buyers per 10,000 entering customers."
    )

    gains = sorted(
        (
            (m["leak"].before - m["leak"].after, tp)
            for tp, m in diff.touchpoint_metrics.items()
            if m["leak"].before is not None and m["leak"].after is not None
        ),
        reverse=True,
    )
    print("Leaks that shrink most (pts of entering customers):")
    for saved, tp in gains[:3]:
        print(f"  {tp:<20} {saved * 100:+.1f} pts fewer lost")

    args.out.mkdir(parents=True, exist_ok=True)
    jg.render(diff, args.out / "diff.svg")
    jg.render(diff, args.out / "comparison.canvas.svg", view="canvas")
    print(f"\nDiff diagram: {args.out / 'diff.svg'}")
    print(f"Comparison canvas: {args.out / 'comparison.canvas.svg'}")


if __name__ == "__main__":
    main()
