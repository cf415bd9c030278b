"""Cookbook: fit a map on a Spark cluster.

For logs too large for one machine, `jg.fit` takes a Spark DataFrame and runs the same
counting as a Spark job; only the small table of counts comes back to the driver. This
recipe starts Spark in local mode (on a cluster, use your own SparkSession), fits the
theme-park example's sampled journeys, and checks that Spark and the in-memory engine
give the same map.

    python examples/fit_on_spark.py [--journeys N] [--out FOLDER]

Needs `pip install 'journeygraph[spark]'` and a Java runtime.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import journeygraph as jg

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=5_000)
    parser.add_argument("--out", type=Path, default=Path("cookbook-output/fit_on_spark"))
    args = parser.parse_args()

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SystemExit("This recipe needs PySpark: pip install 'journeygraph[spark]'") from None

    template = jg.load(HERE / "theme_park_current.yaml")
    events = jg.simulate(template, n=args.journeys, seed=3).to_arrow()
    events = events.select(["customer_id", "step", "touchpoint"])

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("journeygraph-cookbook")
        .config("spark.sql.shuffle.partitions", "8")  # local mode: few, small tasks
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        rows = zip(*(events[c].to_pylist() for c in events.column_names), strict=True)
        df = spark.createDataFrame(list(rows), "customer_id long, step long, touchpoint string")
        columns = {
            "customer_column": "customer_id",
            "time_column": "step",
            "touchpoint_column": "touchpoint",
        }
        on_spark = jg.fit(df, **columns, outcomes=template, stages=template, engine="spark")
    finally:
        spark.stop()
    in_memory = jg.fit(events, **columns, outcomes=template, stages=template, engine="numpy")

    same = on_spark.moves == in_memory.moves and on_spark.entry == in_memory.entry
    report = jg.FitReport.of(on_spark)
    print(
        f"Spark fitted {report.journeys:,} journeys from {report.events:,} events; "
        f"same counts as the in-memory engine: {same}"
    )
    res = jg.analyze(on_spark)
    print(f"conversion {res.conversion_probability:.1%}, biggest leak {res.leaks[0].touchpoint}")

    args.out.mkdir(parents=True, exist_ok=True)
    jg.save(on_spark, args.out / "fitted_on_spark.yaml")
    print(f"Fitted map: {args.out / 'fitted_on_spark.yaml'}")
    if not same:
        raise SystemExit("the engines disagree: please report this")


if __name__ == "__main__":
    main()
