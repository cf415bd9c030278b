"""Cookbook: fit a journey map from a web-analytics export.

A web-analytics export has one row per event: who (a pseudonymous user id), when, and
which page or event. Customers who give up leave no event, so churn is the journey
that ends without an outcome. This recipe writes such an export (sampled from the B2B
example so that the true answer is known), fits a map from the CSV file with the
example map as the template (its stages, names and outcomes), and checks the fitted
figures against the map the journeys came from.

    python examples/fit_web_analytics.py [--journeys N] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import journeygraph as jg

HERE = Path(__file__).parent


def write_export(template: jg.JourneyMap, path: Path, journeys: int) -> None:
    """An export with the columns a web-analytics tool gives: user, time, page."""
    log = jg.simulate(template, n=journeys, seed=7)
    churn = {o.id for o in template.outcomes if o.kind == "churn"}
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["user_pseudo_id", "event_time", "page"])
        for user, when, page in zip(
            log.customer_id.tolist(), log.timestamp.tolist(), log.touchpoint.tolist(), strict=True
        ):
            if page not in churn:  # going dark leaves no event
                out.writerow([f"u{user:06d}", when.isoformat(), page])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path("cookbook-output/fit_web_analytics"))
    args = parser.parse_args()

    template = jg.load(HERE / "b2b_saas_current.yaml")
    args.out.mkdir(parents=True, exist_ok=True)
    export = args.out / "export.csv"
    write_export(template, export, args.journeys)
    print(f"Wrote {export} ({args.journeys:,} journeys)")

    fitted = jg.fit(
        export,
        customer_column="user_pseudo_id",
        time_column="event_time",
        touchpoint_column="page",
        outcomes=template,  # outcome ids and kinds from the template
        stages=template,  # touchpoint -> stage from the template
        name="B2B trial journey, fitted from the export",
    )
    report = jg.FitReport.of(fitted)
    print(
        f"Fitted {report.journeys:,} journeys from {report.events:,} events "
        f"({report.censored_journeys:,} still open)"
    )

    truth, found = jg.analyze(template), jg.analyze(fitted)
    print(f"\n{'':<22}{'template':>10}{'fitted':>10}")
    for label, a, b in [
        ("conversion", truth.conversion_probability, found.conversion_probability),
        ("lost", truth.churn_probability, found.churn_probability),
        ("to competitors", truth.competitor_probability, found.competitor_probability),
    ]:
        print(f"{label:<22}{a:>10.1%}{b:>10.1%}")
    print(f"{'biggest leak':<22}{truth.leaks[0].touchpoint:>10}{found.leaks[0].touchpoint:>10}")

    jg.save(fitted, args.out / "fitted.yaml")
    jg.render(fitted, args.out / "fitted.svg", analysis=found)
    print(f"\nFitted map: {args.out / 'fitted.yaml'}; diagram: {args.out / 'fitted.svg'}")


if __name__ == "__main__":
    main()
