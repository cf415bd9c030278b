"""Where an event log comes from: DataFrames, Arrow tables, CSV/Parquet files, Spark; and which engine counts it."""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from journeygraph._files import note_input
from journeygraph._optional import require
from journeygraph._progress import Progress
from journeygraph.errors import (
    EventLogError,
    did_you_mean,
)
from journeygraph.fit.duckdb_engine import count_duckdb
from journeygraph.fit.numpy_engine import count_arrow
from journeygraph.fit.paths_count import count_column
from journeygraph.fit.spark_engine import count_spark
from journeygraph.fit.spec import (
    FORMULA_GUARD,
    Counts,
    Spec,
    check_unique_columns,
)

__all__: list[str] = []


_PARQUET = (".parquet", ".pq", ".parq")
# Progress-bar phases of each engine (Spark's are DuckDB's, plus per-stage detail).
_NUMPY_PHASES = ["encode", "sort", "count", "maps"]
_DUCKDB_PHASES = ["statistics", "count", "maps"]
_CSV = (".csv", ".csv.gz", ".tsv")


# -- sources --------------------------------------------------------------------------


def _count(source: Any, spec: Spec, engine: str, bar: Progress) -> tuple[Counts, str, str]:
    if engine not in ("auto", "numpy", "duckdb", "spark"):
        raise EventLogError(f"engine={engine!r}: use 'auto', 'numpy', 'duckdb' or 'spark'")
    if isinstance(source, str | os.PathLike):
        files, kind = _files(source)
        where = str(source)
        if kind == "csv":
            for f in files:
                check_unique_columns(_csv_header(f, where), [c for _, c in spec.columns], f)
        stem = Path(files[0]).name.split(".")[0] if len(files) == 1 else Path(str(source)).name
        if engine in ("auto", "duckdb"):
            bar.plan("fit (duckdb)", _DUCKDB_PHASES)
            counts = count_duckdb(None, spec, where, kind=kind, files=files, bar=bar)
            return counts, where, stem
        if engine == "numpy":
            bar.plan("fit (numpy)", ["read", *_NUMPY_PHASES])
            bar.phase("read")
            table = _read_files(files, kind, where, spec)
            return count_arrow(table, spec, where, bar), where, stem
        raise EventLogError(
            "engine='spark' needs a Spark DataFrame: read the files with "
            "spark.read.parquet(...) and pass the DataFrame"
        )
    if _is_spark(source):
        if engine not in ("auto", "spark"):
            raise EventLogError(
                f"engine={engine!r} cannot read a Spark DataFrame; use engine='spark' (the "
                "counting runs on the cluster and only the count table is collected)"
            )
        bar.plan("fit (spark)", _DUCKDB_PHASES)
        counts = count_spark(source, spec, "Spark DataFrame", bar)
        return counts, "Spark DataFrame", "fitted journey"
    if engine == "spark":
        raise EventLogError("engine='spark' needs a Spark DataFrame")
    table, where = _to_arrow(source, [c for _, c in spec.columns])
    if engine == "duckdb":
        bar.plan("fit (duckdb)", _DUCKDB_PHASES)
        return count_duckdb(table, spec, where, kind="arrow", bar=bar), where, "fitted journey"
    bar.plan("fit (numpy)", _NUMPY_PHASES)
    return count_arrow(table, spec, where, bar), where, "fitted journey"


def _is_spark(source: Any) -> bool:
    return type(source).__module__.startswith("pyspark.") and hasattr(source, "toDF")


def _to_arrow(source: Any, wanted: Sequence[str]) -> tuple[Any, str]:
    """An in-memory table as a pyarrow Table (only the columns needed, when present)."""
    pa = require("pyarrow", extra="files", feature="fit")
    module = type(source).__module__
    if module.startswith("pyarrow"):
        if not isinstance(source, pa.Table):
            raise EventLogError(f"cannot fit a {type(source).__name__}; pass a pyarrow Table")
        check_unique_columns(source.column_names, wanted, "table")
        return source, "table"
    if module.startswith("polars") and hasattr(source, "to_arrow"):
        return source.to_arrow(), "DataFrame"
    if module.startswith("pandas") and hasattr(source, "columns"):
        if isinstance(source.index, type(source.columns)) is False:
            pass
        names = [str(c) for c in source.columns]
        check_unique_columns(names, wanted, "DataFrame")
        take = [c for c in source.columns if str(c) in set(wanted)]
        arrays = {}
        for c in take:
            try:
                arrays[str(c)] = pa.array(source[c], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise EventLogError(
                    f"DataFrame: column {str(c)!r} mixes kinds of values (text, numbers, "
                    f"times) that cannot be read as one type: {str(exc).splitlines()[0]}"
                ) from None
        if not arrays:
            return pa.table({n: pa.nulls(len(source)) for n in names}), "DataFrame"
        table = pa.table(arrays)
        missing = [n for n in names if n not in arrays]
        for n in missing:
            table = table.append_column(n, pa.nulls(len(source)))
        return table, "DataFrame"
    raise EventLogError(
        f"cannot fit a {type(source).__name__}: pass a pandas or polars DataFrame, a pyarrow "
        "Table, a Spark DataFrame or the path of a CSV or Parquet file"
    )


def _files(source: str | os.PathLike[str]) -> tuple[list[str], str]:
    """The files a path/glob/folder names, and whether they are Parquet or CSV."""
    text = str(source)
    if not os.path.exists(text) and any(ch in text for ch in "*?["):
        files = sorted(_glob.glob(text, recursive=True))
        if not files:
            raise EventLogError(f"{text}: no files match this pattern")
    elif os.path.isdir(text):
        files = sorted(
            str(p) for p in Path(text).rglob("*") if p.is_file() and _kind_of(p.name) is not None
        )
        if not files:
            raise EventLogError(f"{text}: the folder holds no .parquet or .csv files")
    elif os.path.exists(text):
        files = [text]
    else:
        raise EventLogError(f"{text}: no such file or folder")
    kinds = set()
    for f in files:
        kind = _kind_of(f)
        if kind is None:
            raise EventLogError(
                f"{f}: not a CSV or Parquet file (the name ends in {Path(f).suffix!r}); "
                "export the log as .csv or .parquet"
            )
        _sniff(f, kind)
        kinds.add(kind)
    if len(kinds) > 1:
        raise EventLogError(f"{text}: mixes CSV and Parquet files; fit them separately")
    return files, kinds.pop()


def _kind_of(name: str) -> str | None:
    low = name.lower()
    if low.endswith(_PARQUET):
        return "parquet"
    if low.endswith(_CSV):
        return "csv"
    return None


def _sniff(path: str, kind: str) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise EventLogError(f"{path}: cannot read the file: {exc.strerror}") from None
    note_input(path)  # the command line never writes over a log it read
    if not head:
        raise EventLogError(f"{path}: the file is empty; an event log needs a header and rows")
    if kind == "parquet" and not head.startswith(b"PAR1"):
        raise EventLogError(
            f"{path}: not a Parquet file (it does not start with the Parquet magic bytes)"
        )
    if kind == "csv" and not path.lower().endswith(".gz"):
        if b"\x00" in head or head.startswith(b"PAR1"):
            raise EventLogError(f"{path}: not a CSV file (it holds binary data)")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if len(head) < 4096 or exc.start < len(head) - 4:
                raise EventLogError(
                    f"{path}: not a UTF-8 CSV file (byte {exc.start}); save it as UTF-8"
                ) from None


def _csv_header(path: str, where: str) -> list[str]:
    """The column names of a CSV file (gzip-compressed when it ends in ``.gz``)."""
    import csv
    import gzip

    try:
        if path.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
                line = fh.readline()
        else:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                line = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise EventLogError(f"{where}: cannot read the event log {path}: {exc}") from None
    return next(csv.reader([line]), [])


def _unguard_arrow(column: Any) -> Any:
    """A CSV text column with the spreadsheet formula guard (``'=buy``) taken off."""
    pc = require("pyarrow.compute", extra="files", feature="fit")
    guarded = pc.match_substring_regex(column, FORMULA_GUARD)
    return pc.if_else(guarded, pc.utf8_slice_codeunits(column, 1), column)


def _read_files(files: list[str], kind: str, where: str, spec: Spec | None = None) -> Any:
    """The files as one Arrow table; for a fit (``spec``), Parquet is read lean.

    Lean: only the columns the fit uses, and its touchpoint and outcome columns as
    dictionaries, decoded once per row group by the Parquet reader instead of as
    text for every row that the engine then hashes again. When a column is missing
    or repeated, everything is read as before, so the error lists every column.
    """
    pa = require("pyarrow", extra="files", feature="fit")
    try:
        if kind == "parquet":
            ds = require("pyarrow.dataset", extra="files", feature="fit")
            if spec is None:
                return ds.dataset(files, format="parquet").to_table()
            schema = ds.dataset(files, format="parquet").schema
            wanted = list(dict.fromkeys(c for _, c in spec.columns))  # a column, once
            names = schema.names
            if len(set(names)) < len(names) or not set(wanted) <= set(names):
                return ds.dataset(files, format="parquet").to_table()
            text = [
                c
                for role, c in spec.columns
                if role in ("touchpoint", "outcome")
                and (
                    pa.types.is_string(schema.field(c).type)
                    or pa.types.is_large_string(schema.field(c).type)
                )
            ]
            options = ds.ParquetReadOptions(dictionary_columns=text)
            fmt = ds.ParquetFileFormat(read_options=options)
            return ds.dataset(files, format=fmt).to_table(columns=wanted)
        pacsv = require("pyarrow.csv", extra="files", feature="fit")
        tables = []
        for f in files:
            header = _csv_header(f, where)
            opts = pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            )
            table = pacsv.read_csv(f, convert_options=opts)
            columns = [_unguard_arrow(c) for c in table.columns]
            tables.append(pa.table(columns, names=table.column_names))
        return pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as exc:
        raise EventLogError(f"{where}: cannot read the event log: {exc}") from None


def _paths_table(table: Any, wanted: list[str]) -> tuple[Any, str, str]:
    if isinstance(table, str | os.PathLike):
        files, kind = _files(table)
        return _read_files(files, kind, str(table)), str(table), Path(files[0]).name.split(".")[0]
    arrow, where = _to_arrow(table, wanted)
    missing = [c for c in wanted if c not in arrow.column_names]
    if missing:
        shown = ", ".join(repr(c) for c in arrow.column_names)
        hint = did_you_mean(missing[0], arrow.column_names)
        raise EventLogError(
            f"{where}: column {missing[0]!r} not found{hint}; the columns are {shown}"
        )
    return arrow, where, "attribution paths"


def _count_column(arrow: Any, column: str, where: str) -> np.ndarray:
    return count_column(arrow, column, where)
