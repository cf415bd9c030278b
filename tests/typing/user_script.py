"""A user's script: every public function and class, used the way the docs use them.

Not collected by pytest (no ``test_`` prefix); ``tests/test_typing.py`` runs
``mypy --strict`` on it, so a wrong or missing annotation in the library fails a test.
No casts, no ``type: ignore``: a user should not need them. It also runs (the test runs
it too), from the repository root, so every call here is real.
"""

from __future__ import annotations

import json
import pathlib
import tempfile
import warnings
from collections.abc import Mapping

import journeygraph as jg
from journeygraph import *  # noqa: F403  (must not shadow pathlib.Path)

EXAMPLES = pathlib.Path("examples")


def maps() -> tuple[jg.JourneyMap, jg.JourneyMap]:
    """Load, build, save, validate."""
    jm: jg.JourneyMap = jg.load(EXAMPLES / "retail_five_a_current.yaml")
    future = jg.load(str(EXAMPLES / "retail_five_a_future.yaml"))
    tiny = jg.loads(
        "name: Tiny\nstages: [{id: look}]\ntouchpoints: [{id: ad, stage: look}]\n"
        "outcomes: [{id: buy, kind: conversion}, {id: gone, kind: churn}]\n"
        "entry: {ad: 1}\nmoves: [{from: ad, to: buy, weight: 1}, {from: ad, to: gone, weight: 3}]\n"
    )
    built = jg.JourneyMap(
        name="built",
        stages=(jg.Stage(id="aware"), jg.Stage(id="act", name="Act")),
        touchpoints=(
            jg.Touchpoint(id="ad", stage="aware", sentiment=0.5),
            jg.Touchpoint(id="shop", stage="act", pains=("slow",)),
        ),
        outcomes=(jg.Outcome(id="buy", kind="conversion"), jg.Outcome(id="gone", kind="churn")),
        entry={"ad": 1.0},
        moves=(
            jg.Move(source="ad", target="shop", weight=3, duration=jg.Duration(mean=2)),
            jg.Move(source="ad", target="gone", weight=1),
            jg.Move(source="shop", target="buy", weight=1),
        ),
        persona=jg.Persona(id="p", name="Pat"),
        metadata={"owner": "cx"},
    )
    assert built.persona is not None and built.persona.label == "Pat"
    hours: float = built.moves[0].duration.hours if built.moves[0].duration else 0.0
    assert hours == 48.0
    owner = built.metadata["owner"]
    assert owner == "cx"
    assert {built: 1}[built] == 1  # maps are hashable
    kinds: Mapping[tuple[str, str], str] = jm.move_kinds()
    assert kinds
    probabilities: Mapping[tuple[str, str], float] = jm.move_probabilities()
    assert probabilities
    schema: dict[str, object] = jg.schema()
    assert "properties" in schema
    with tempfile.TemporaryDirectory() as folder:
        written: pathlib.Path = jg.save(tiny, pathlib.Path(folder) / "tiny.json")
        assert jg.load(written) == tiny
    assert jg.JourneyMap.from_networkx(jm.to_networkx()) == jm
    again = jg.JourneyMap.model_validate_json(tiny.model_dump_json(by_alias=True))
    assert again == tiny
    try:
        jg.loads("name: x\n")
    except jg.MapError as exc:
        message: str = exc.problems[0].message
        assert "stages" in message
    return jm, future


def analysis(jm: jg.JourneyMap) -> jg.Analysis:
    """Every figure of an analysis."""
    res = jg.analyze(jm, entry=None, fix_fraction=0.2, method="auto")
    conversion: float = res.conversion_probability
    visits: Mapping[str, float] = res.expected_visits
    leak: jg.Leak = res.leaks[0]
    switch: jg.Switch = res.switching[0]
    fix: jg.Sensitivity = res.sensitivity[0]
    flow: jg.StageFlow = res.stage_flow
    time: jg.ExpectedTime | None = res.expected_time
    removal: Mapping[str, float] = res.removal_effects
    absorption: dict[str, float] = res.absorption(leak.touchpoint)
    report: str = res.summary(top=3)
    as_dict: dict[str, object] = res.to_dict()
    print(conversion, visits[leak.touchpoint], switch.competitor, fix.gain)
    print(flow.rates["backtrack"], time.mean if time else None, removal, absorption)
    print(report.splitlines()[0], json.dumps(as_dict)[:20], res.sensitivity_at(0.5)[0].gain)
    return res


def uncertainty(jm: jg.JourneyMap, res: jg.Analysis) -> None:
    """Credible intervals, shaped like the analysis."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        ci: jg.CredibleIntervals = jg.credible_intervals(jm, draws=100, level=0.8, seed=0)
    interval: jg.CredibleInterval = ci.conversion_probability
    top: jg.LeakInterval = ci.leaks[0]
    by_touchpoint: Mapping[str, jg.LeakInterval] = ci.leaks_by_touchpoint
    pair: Mapping[tuple[str, str], jg.SwitchInterval] = ci.switching_by_pair
    rival: jg.SwitchInterval = ci.switching[0]
    assert interval.lower <= interval.upper and top is by_touchpoint[top.touchpoint]
    assert pair[(rival.touchpoint, rival.competitor)] is rival
    print(res.summary(intervals=ci).count("\n"), top.flow.mean, rival.share.upper)
    print(json.dumps(ci.to_dict())[:20], interval.excludes_zero)


def paths_and_scenarios(jm: jg.JourneyMap) -> None:
    """Top paths, path probability, what-if edits, simulation."""
    best: jg.JourneyPath = jg.top_paths(jm, "order_kept", k=1, entry=None)[0]
    p: float = jg.path_probability(jm, best.touchpoints, best.outcome, entry=None)
    assert abs(p - best.probability) < 1e-9 and best.moves >= 1
    edits: list[jg.Edit] = [
        jg.Reweight("search", "product_page", scale=2.0),
        jg.CutMove("social_ad", "product_page"),
        jg.AddMove("welcome_email", "checkout", weight=5.0),
        jg.RemoveTouchpoint("referral"),
        jg.ReduceChurn("checkout", 0.5),
        jg.AddTouchpoint(
            {"id": "chat", "stage": "ask"},
            entry=0.1,
            moves=[{"source": "chat", "target": "checkout", "weight": 1}],
        ),
    ]
    better: jg.JourneyMap = jg.whatif(jm, *edits, name="better")
    log: jg.EventLog = jg.simulate(better, 200, seed=0, entry=None)
    counts: dict[str, int] = log.outcome_counts()
    print(len(log), sum(counts.values()), log.customers)


def comparison(jm: jg.JourneyMap, future: jg.JourneyMap) -> None:
    """Compare two maps."""
    diff: jg.MapDiff = jg.compare(jm, future, entry=None)
    delta: jg.MetricDelta = diff.metrics["conversion"]
    change: float | None = delta.delta
    moves: tuple[jg.MoveChange, ...] = diff.moves_reweighted
    fields: tuple[jg.FieldChange, ...] = diff.touchpoints_changed
    text: str = diff.summary(top=2)
    print(change, len(moves), len(fields), text.splitlines()[0], diff.structure_unchanged)


def fitting() -> None:
    """Fit a map from an event log and from paths."""
    import pyarrow as pa

    events = pa.table(
        {
            "customer": ["a", "a", "a", "b", "b"],
            "step": [1, 2, 3, 1, 2],
            "touchpoint": ["ad", "shop", "buy", "ad", "gone"],
            "device": ["web", "web", "web", "app", "app"],
        }
    )
    phases: list[str] = []

    def progress(phase: str, done: float, total: float | None) -> None:
        phases.append(phase)

    # Without segment_column= fit returns one map (its overloads say so: no narrowing).
    fitted: jg.JourneyMap = jg.fit(
        events,
        customer_column="customer",
        time_column="step",
        touchpoint_column="touchpoint",
        outcomes={"buy": "conversion", "gone": "churn"},
        gap=10,  # numeric times: a gap in the same units
        progress=progress,
    )
    assert phases[-1] == "done"
    # With segment_column= it returns one map per segment value.
    by_device: dict[str, jg.JourneyMap] = jg.fit(
        events,
        customer_column="customer",
        time_column="step",
        touchpoint_column="touchpoint",
        segment_column="device",
        outcomes={"buy": "conversion", "gone": "churn"},
        allow_no_conversion=True,
    )
    print(sorted(by_device), by_device["web"].name)
    report: jg.FitReport = jg.FitReport.of(fitted)
    print(report.journeys, report.to_dict()["events"])
    table = pa.table(
        {"path": ["ad > shop", "ad"], "total_conversions": [3, 0], "total_null": [1, 4]}
    )
    from_paths: jg.JourneyMap = jg.fit_paths(
        table, path_column="path", conversions_column="total_conversions", nulls_column=None
    )
    print(jg.analyze(from_paths).conversion_probability)
    second = jg.fit(
        events,
        customer_column="customer",
        time_column="step",
        touchpoint_column="touchpoint",
        outcomes={"buy": "conversion", "gone": "churn"},
        order=2,
    )
    first_order: jg.JourneyMap = jg.collapse_order(second)
    print(jg.analyze(first_order).conversion_probability)


def drawing(jm: jg.JourneyMap, res: jg.Analysis) -> None:
    """Render: the format asked for decides str (svg, dot) or bytes (png, pdf)."""
    svg: str = jg.render(jm, format="svg", analysis=res)
    print(svg[:5])
    slide: str = jg.render(res, format="svg", preset="slide", lang="ko")
    print(len(slide))
    page: str = jg.explore(res)
    print(page[:15])


def from_paths() -> None:
    """Every function that takes a map also takes a path to a map file (getting-started)."""
    current = "examples/retail_five_a_current.yaml"
    future = EXAMPLES / "retail_five_a_future.yaml"
    print(jg.analyze(current).conversion_probability)
    print(jg.compare(current, future).metrics["conversion"].delta)
    print(len(jg.simulate(future, 10, seed=0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        print(jg.credible_intervals(current, draws=20, seed=0).draws)
    print(jg.whatif(current, jg.ReduceChurn("checkout", 0.5)).name)
    best = jg.top_paths(current, k=1)[0]
    print(jg.path_probability(future, best.touchpoints, best.outcome))


def errors() -> None:
    """The error tree."""
    classes: list[type[Exception]] = [
        jg.JourneyGraphError,
        jg.MapError,
        jg.NotAbsorbingError,
        jg.EventLogError,
        jg.RenderError,
        jg.MissingDependencyError,
    ]
    warning: type[Warning] = jg.JourneyGraphWarning
    version: str = jg.__version__
    print(len(classes), warning.__name__, version)


def main() -> None:
    here: pathlib.Path = pathlib.Path.cwd()  # still pathlib's Path after the star import
    print(here.name)
    jm, future = maps()
    res = analysis(jm)
    uncertainty(jm, res)
    paths_and_scenarios(jm)
    comparison(jm, future)
    fitting()
    drawing(jm, res)
    from_paths()
    errors()
    print(load is jg.load, JourneyPath is jg.JourneyPath)  # noqa: F405


if __name__ == "__main__":
    main()
