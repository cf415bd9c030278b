"""The Spark engine: counts an event log on a cluster (see :mod:`journeygraph.fit.spec`)."""

from __future__ import annotations

from typing import Any

from journeygraph._optional import require
from journeygraph._progress import Progress
from journeygraph.errors import EventLogError
from journeygraph.fit.spec import (
    _NOT_A_TIME,
    AWARE_PATTERN,
    CENSORED,
    CHURN,
    MOVE,
    NUMBER_PATTERN,
    OUTCOME_ROW,
    TIME_PATTERN,
    TO_OUTCOME,
    Counts,
    Spec,
    _bad_time,
    _collision,
    _too_many,
    _unknown_outcomes,
    check_columns,
    parse_duration,
    parse_instant,
)

__all__ = ["count_spark"]


# -- Spark engine ---------------------------------------------------------------------


def count_spark(df: Any, spec: Spec, where: str, bar: Progress | None = None) -> Counts:
    """The Spark engine: window functions and groupBy; only the count table is collected."""
    require("pyspark", extra="spark", feature="fitting a Spark DataFrame")
    bar = bar or Progress("", [], progress=False)
    bar.poll = _spark_stage_poll(df)
    bar.phase("statistics")
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
    from pyspark.sql.window import Window

    check_columns(df.columns, spec, where)
    # Rename positionally, so no user column name is ever parsed by Spark.
    safe = [f"_jg{i}" for i in range(len(df.columns))]
    pos = {name: safe[i] for i, name in enumerate(df.columns)}
    df = df.toDF(*safe)
    outs = list(spec.outcome_values)

    tcol = F.col(pos[spec.time])
    ttype = df.schema[pos[spec.time]].dataType
    numeric = False
    if isinstance(ttype, T.TimestampType | T.TimestampNTZType):
        t_expr = F.unix_micros(tcol.cast(T.TimestampType()))
    elif isinstance(ttype, T.DateType):
        t_expr = F.unix_micros(tcol.cast(T.TimestampType()))
    elif isinstance(ttype, T.NumericType):
        numeric = True
        t_expr = tcol.cast(T.DoubleType())
    elif isinstance(ttype, T.StringType):
        numeric, t_expr = _spark_time_strings(df, pos[spec.time], spec, where)
    else:
        raise EventLogError(
            f"{where}: time column {spec.time!r} has type {ttype.simpleString()}; it must "
            "hold timestamps, dates, ISO 8601 text or numbers"
        )

    outs_lit = F.array(*[F.lit(v) for v in outs]) if outs else F.array().cast("array<string>")
    seg_expr = F.col(pos[spec.segment]).cast("string") if spec.segment else F.lit("")
    oc_expr = (
        F.col(pos[spec.outcome]).cast("string") if spec.outcome else F.lit(None).cast("string")
    )
    src = df.select(
        F.col(pos[spec.customer]).alias("c"),
        t_expr.alias("t"),
        F.col(pos[spec.touchpoint]).cast("string").alias("tp"),
        oc_expr.alias("oc"),
        seg_expr.alias("s"),
    )
    ok = F.col("c").isNotNull() & F.col("t").isNotNull() & F.col("s").isNotNull()
    tp_out = F.array_contains(outs_lit, F.col("tp"))
    if spec.outcome:
        oc_out = F.array_contains(outs_lit, F.col("oc"))
        unknown = (
            src.where(F.col("oc").isNotNull() & ~oc_out).select("oc").distinct().limit(6).collect()
        )
        _unknown_outcomes(sorted(r[0] for r in unknown), spec, where)
        clash = src.where(tp_out).select("tp").distinct().limit(6).collect()
        _collision(sorted(r[0] for r in clash), spec, where)
        tp_item = F.col("tp").isNotNull()
        oc_item = F.col("oc").isNotNull()
        items = src.where(ok & tp_item).select(
            "s", "c", "t", F.col("tp").alias("item"), F.lit(0).alias("o")
        )
        items = items.unionByName(
            src.where(ok & oc_item).select(
                "s", "c", "t", F.col("oc").alias("item"), F.lit(1).alias("o")
            )
        )
    else:
        tp_item = F.col("tp").isNotNull() & ~tp_out
        oc_item = F.col("tp").isNotNull() & tp_out
        items = src.where(ok & F.col("tp").isNotNull()).select(
            "s", "c", "t", F.col("tp").alias("item"), F.when(tp_out, 1).otherwise(0).alias("o")
        )

    def count_if(cond: Any) -> Any:
        return F.sum(F.when(cond, 1).otherwise(0))

    stats = src.agg(
        F.count(F.lit(1)),
        count_if(F.col("c").isNull()),
        count_if(F.col("c").isNotNull() & F.col("t").isNull()),
        count_if(F.col("c").isNotNull() & F.col("t").isNotNull() & F.col("s").isNull()),
        count_if(ok & F.col("tp").isNull() & ~F.coalesce(oc_item, F.lit(False))),
        F.countDistinct(F.when(ok & tp_item, F.col("tp"))),
        F.max(
            F.when(
                ok & (F.coalesce(tp_item, F.lit(False)) | F.coalesce(oc_item, F.lit(False))),
                F.col("t"),
            )
        ),
        count_if(ok & F.coalesce(tp_item, F.lit(False)))
        + count_if(ok & F.coalesce(oc_item, F.lit(False))),
    ).collect()[0]
    n_rows, null_c, null_t, null_s, null_tp, n_touch, max_t, n_items = (
        (int(v) if v is not None else None) if i != 6 else v for i, v in enumerate(stats)
    )
    _too_many(int(n_touch or 0), spec, where)
    dropped = {
        "null_customer": int(null_c or 0),
        "null_time": int(null_t or 0),
        "null_segment": int(null_s or 0),
        "null_touchpoint": int(null_tp or 0),
    }
    until = parse_instant(spec.observed_until, numeric)
    if until is None and max_t is not None:
        until = float(max_t)
    gap = parse_duration(spec.gap, "gap", numeric)
    window = parse_duration(spec.window, "window", numeric)

    bar.phase("count")
    d = items.dropDuplicates(["s", "c", "t", "item", "o"])
    win = Window.partitionBy("s", "c").orderBy("t", "o", "item")
    whole = Window.partitionBy("s", "c")
    w = d.select(
        "s",
        "c",
        "t",
        "item",
        "o",
        F.count(F.lit(1)).over(whole).alias("n_cust"),
        F.lag("o").over(win).alias("po"),
        F.lag("t").over(win).alias("pt"),
        F.lag("item").over(win).alias("pitem"),
        F.lead("item").over(win).alias("nitem"),
        F.lead("o").over(win).alias("nxo"),
        F.lead("t").over(win).alias("nt"),
    )
    capped: list[str] = []
    capped_rows = 0
    if spec.max_events is not None:
        big = (
            d.groupBy("s", "c")
            .count()
            .where(F.col("count") > spec.max_events)
            .select(F.col("c").cast("string").alias("c"), "count", "s")
            .orderBy(F.col("count").desc(), F.col("c"))
            .collect()
        )
        capped = [r[0] for r in big[:20]]
        capped_rows = sum(int(r[1]) for r in big)
        w = w.where(F.col("n_cust") <= spec.max_events)
    segments: dict[str, dict[str, int]] = {}
    segment_capped: dict[str, list[str]] = {}
    if spec.segment is not None:
        tp_ev = ok & F.coalesce(tp_item, F.lit(False))
        oc_ev = ok & F.coalesce(oc_item, F.lit(False))
        per = (
            src.where(F.col("s").isNotNull())
            .groupBy("s")
            .agg(
                F.count(F.lit(1)),
                count_if(F.col("c").isNull()),
                count_if(F.col("c").isNotNull() & F.col("t").isNull()),
                count_if(ok & F.col("tp").isNull() & ~F.coalesce(oc_item, F.lit(False))),
                count_if(tp_ev) + count_if(oc_ev),
            )
            .collect()
        )
        for r in per:
            segments[str(r[0])] = {
                "input_rows": int(r[1]),
                "null_customer": int(r[2]),
                "null_time": int(r[3]),
                "null_touchpoint": int(r[4]),
                "items": int(r[5]),
                "capped": 0,
            }
        for r in big if spec.max_events is not None else []:
            segments[str(r[2])]["capped"] += int(r[1])
            listed = segment_capped.setdefault(str(r[2]), [])
            if len(listed) < 20:
                listed.append(r[0])

    gap_lit = F.lit(gap).cast("double")
    st = F.col("po").isNull() | (F.col("po") == 1)
    en = F.col("nt").isNull() | (F.col("o") == 1)
    if gap is not None:
        st = st | ((F.col("t") - F.col("pt")) > gap_lit)
        en = en | ((F.col("nt") - F.col("t")) > gap_lit)
    f = w.select("*", st.alias("st"), en.alias("en"))
    censored = F.lit(False)
    if window is not None and until is not None:
        censored = F.col("nt").isNull() & ((F.lit(until) - F.col("t")) < F.lit(window))
    kind = (
        F.when(F.col("o") == 1, OUTCOME_ROW)
        .when(~F.col("en"), F.when(F.col("nxo") == 1, TO_OUTCOME).otherwise(MOVE))
        .when(censored, CENSORED)
        .otherwise(CHURN)
    )
    prev = F.when(~F.col("st"), F.col("pitem")) if spec.order == 2 else F.lit(None).cast("string")
    nxt = F.when((F.col("o") == 0) & ~F.col("en"), F.col("nitem"))
    out = (
        f.select(
            "s",
            prev.alias("prev"),
            "item",
            (F.col("o") == 1).alias("is_out"),
            "st",
            kind.alias("kind"),
            nxt.alias("nxt"),
        )
        .groupBy("s", "prev", "item", "is_out", "st", "kind", "nxt")
        .count()
    )
    out = _collect_reporting(out, bar)
    rows = [
        (str(r[0]), r[1], str(r[2]), bool(r[3]), bool(r[4]), int(r[5]), r[6], int(r[7]))
        for r in out
    ]
    kept = sum(r[7] for r in rows)
    dropped["duplicate"] = int(n_items or 0) - kept - capped_rows
    dropped["capped"] = capped_rows
    firsts = d.where(F.col("o") == 0).groupBy("item").agg(F.min("t")).collect()
    first_seen = {str(r[0]): float(r[1]) for r in firsts}
    durations: dict[tuple[str, str | None, str, str], tuple[float, int, float | None]] = {}
    if not numeric:
        gaps = (
            f.where((F.col("o") == 0) & ~F.col("en"))
            .select("s", prev.alias("prev"), "item", "nitem", (F.col("nt") - F.col("t")).alias("g"))
            .groupBy("s", "prev", "item", "nitem")
            .agg(
                F.sum("g"),
                F.count(F.lit(1)),
                F.expr("percentile_disc(0.5) WITHIN GROUP (ORDER BY g)"),
            )
            .collect()
        )
        for r in gaps:
            durations[(str(r[0]), r[1], str(r[2]), str(r[3]))] = (
                float(r[4]),
                int(r[5]),
                float(r[6]),
            )
    for seg, figures in segments.items():
        seg_kept = sum(r[7] for r in rows if r[0] == seg)
        figures["duplicate"] = figures.pop("items") - seg_kept - figures["capped"]
    return Counts(
        rows,
        int(n_rows or 0),
        dropped,
        capped,
        "spark",
        first_seen,
        durations,
        segments,
        segment_capped,
    )


# -- progress -------------------------------------------------------------------------


def _collect_reporting(frame: Any, bar: Progress) -> list[Any]:
    """``frame.collect()``, reporting the running Spark stages while the cluster counts.

    The query first runs as Spark's own asynchronous job (``countAsync`` on the cached
    frame), so this thread stays free to poll the status tracker between short sleeps:
    no thread of ours. Ctrl-C cancels the job. Without a report it is a plain collect.
    With adaptive query execution Spark runs the shuffle stages while it plans the
    query (``javaRDD()``), so only the final stage is seen (docs/fitting.md "Progress").
    """
    if not bar.enabled or bar.poll is None:
        return list(frame.collect())
    import time

    frame = frame.persist()
    try:
        try:
            job = frame._jdf.javaRDD().countAsync()
        except Exception:  # no JVM handle (e.g. Spark Connect): no stage detail
            return list(frame.collect())
        try:
            while True:
                bar.tick()
                if job.isDone():
                    break
                time.sleep(0.2)
        except BaseException:
            job.cancel(True)
            raise
        return list(frame.collect())  # from the cache the job filled
    finally:
        frame.unpersist()


def _spark_stage_poll(df: Any) -> Any:
    """Progress of the running Spark stages, from the SparkContext's status tracker."""
    try:
        tracker = df.sparkSession.sparkContext.statusTracker()
    except Exception:  # no tracker: no stage-level detail
        return None

    def poll() -> tuple[float, str] | None:
        infos = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
        infos = [i for i in infos if i is not None and i.numTasks]
        if not infos:
            return None
        total = sum(i.numTasks for i in infos)
        done = sum(i.numCompletedTasks for i in infos)
        stages = ", ".join(str(i.stageId) for i in infos)
        return done / total, f"stage {stages}: {done}/{total} tasks"

    return poll


def _spark_time_strings(df: Any, name: str, spec: Spec, where: str) -> tuple[bool, Any]:
    from pyspark.sql import functions as F

    col = F.col(name)
    present, numeric, aware, naive = df.agg(
        F.count(col),
        F.sum(F.when(col.rlike(NUMBER_PATTERN), 1).otherwise(0)),
        F.sum(F.when(col.rlike(AWARE_PATTERN), 1).otherwise(0)),
        F.sum(F.when(col.isNotNull() & ~col.rlike(AWARE_PATTERN), 1).otherwise(0)),
    ).collect()[0]
    if present and numeric and present != numeric and 2 * numeric >= present:
        value = df.where(col.isNotNull() & ~col.rlike(NUMBER_PATTERN)).select(col).limit(1)
        raise _bad_time(where, spec.time, None, value.collect()[0][0], _NOT_A_TIME)
    if present and present == numeric:
        as_number = F.expr(f"try_cast({name} AS DOUBLE)")
        bad = (
            df.where(col.isNotNull() & (F.isnan(as_number) | (F.abs(as_number) == float("inf"))))
            .select(col)
            .limit(1)
            .collect()
        )
        if bad:
            raise _bad_time(where, spec.time, None, bad[0][0], "not a finite number")
        return True, as_number
    parsed = F.expr(f"try_cast({name} AS TIMESTAMP)")
    bad = (
        df.where(col.isNotNull() & (~col.rlike(TIME_PATTERN) | parsed.isNull()))
        .select(col)
        .limit(1)
        .collect()
    )
    if bad:
        raise _bad_time(where, spec.time, None, bad[0][0], _NOT_A_TIME)
    if aware and naive:
        cond = col.rlike(AWARE_PATTERN) if aware <= naive else ~col.rlike(AWARE_PATTERN)
        value = df.where(col.isNotNull() & cond).select(col).limit(1).collect()[0][0]
        why = (
            "mixes times with a time zone offset and times without one; give every time "
            "an offset (or none, meaning UTC)"
        )
        raise _bad_time(where, spec.time, None, value, why)
    return False, F.unix_micros(parsed)
