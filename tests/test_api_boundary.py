"""The API boundary (issues #17 and #13): wrong kinds of objects and paths to map files.

Every public function called with the wrong kind of object raises a ``TypeError`` that
names the parameter and the type expected (or a ``JourneyGraphError``), never an
``AttributeError``/``KeyError`` from the middle; every function that takes a map also
takes a path to a map file.
"""

from __future__ import annotations

import os
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import journeygraph as jg

pd = pytest.importorskip("pandas")

TINY = Path(__file__).parent / "data" / "good" / "tiny.yaml"
JM = jg.load(TINY)

WRONG: dict[str, Any] = {
    "None": None,
    "list": [1, 2],
    "dict": {"a": 1},
    "DataFrame": pd.DataFrame({"a": [1]}),
    "graph": nx.DiGraph(),
    "int": 3,
    "object": object(),
}

# (call with the value, the parameter's name, what the message says is expected, and
# optionally the kinds of WRONG that are in fact accepted: None where the parameter is
# optional, an int for a count, a dict of weights; these may work, or raise ValueError
# or a JourneyGraphError for their value, e.g. fix_fraction=3)
Call = tuple[Any, ...]
CALLS: dict[str, Call] = {
    "analyze(jm)": (lambda w: jg.analyze(w), "jm", "JourneyMap or a path"),
    "analyze(entry=)": (
        lambda w: jg.analyze(JM, entry=w),
        "entry",
        "touchpoint id",
        ("None", "dict"),
    ),
    "analyze(fix_fraction=)": (
        lambda w: jg.analyze(JM, fix_fraction=w),
        "fix_fraction",
        "number",
        ("int",),
    ),
    "analyze(method=)": (lambda w: jg.analyze(JM, method=w), "method", "'auto'"),
    "compare(current)": (lambda w: jg.compare(w, JM), "current", "JourneyMap or a path"),
    "compare(future)": (lambda w: jg.compare(JM, w), "future", "JourneyMap or a path"),
    "compare(renames=)": (lambda w: jg.compare(JM, JM, renames=w), "renames", "str", ("None",)),
    "compare(entry=)": (
        lambda w: jg.compare(JM, JM, entry=w),
        "entry",
        "touchpoint id",
        ("None", "dict"),
    ),
    "simulate(jm)": (lambda w: jg.simulate(w, 5), "jm", "JourneyMap or a path"),
    "simulate(n)": (lambda w: jg.simulate(JM, w), "n", "whole number", ("int",)),
    "simulate(seed=)": (lambda w: jg.simulate(JM, 5, seed=w), "seed", "Generator", ("None", "int")),
    "simulate(entry=)": (
        lambda w: jg.simulate(JM, 5, entry=w),
        "entry",
        "touchpoint id",
        ("None", "dict"),
    ),
    "simulate(max_steps=)": (
        lambda w: jg.simulate(JM, 5, max_steps=w),
        "max_steps",
        "whole",
        ("int",),
    ),
    "credible_intervals(jm)": (
        lambda w: jg.credible_intervals(w, draws=10),
        "jm",
        "JourneyMap or a path",
    ),
    "credible_intervals(draws=)": (
        lambda w: jg.credible_intervals(JM, draws=w),
        "draws",
        "number",
        ("int",),
    ),
    "credible_intervals(level=)": (
        lambda w: jg.credible_intervals(JM, draws=10, level=w),
        "level",
        "number",
        ("int",),
    ),
    "credible_intervals(seed=)": (
        lambda w: jg.credible_intervals(JM, draws=10, seed=w),
        "seed",
        "Generator",
        ("None", "int"),
    ),
    "credible_intervals(method=)": (
        lambda w: jg.credible_intervals(JM, draws=10, method=w),
        "method",
        "'batched'",
    ),
    "credible_intervals(entry_uncertain=)": (
        lambda w: jg.credible_intervals(JM, draws=10, entry_uncertain=w),
        "entry_uncertain",
        "True or False",
    ),
    "whatif(jm)": (lambda w: jg.whatif(w), "jm", "JourneyMap or a path"),
    "whatif(name=)": (lambda w: jg.whatif(JM, name=w), "name", "str", ("None",)),
    "top_paths(jm)": (lambda w: jg.top_paths(w), "jm", "JourneyMap or a path"),
    "top_paths(outcome)": (lambda w: jg.top_paths(JM, w), "outcome", "str", ("None",)),
    "top_paths(k=)": (lambda w: jg.top_paths(JM, k=w), "k", "whole number", ("int",)),
    "top_paths(entry=)": (
        lambda w: jg.top_paths(JM, entry=w),
        "entry",
        "touchpoint id",
        ("None", "dict"),
    ),
    "path_probability(jm)": (
        lambda w: jg.path_probability(w, ["ad"], "buy"),
        "jm",
        "JourneyMap or a path",
    ),
    "path_probability(touchpoints)": (
        lambda w: jg.path_probability(JM, w, "buy"),
        "touchpoints",
        "list of str",
    ),
    "path_probability(outcome)": (
        lambda w: jg.path_probability(JM, ["ad"], w),
        "outcome",
        "str",
    ),
    "load(path)": (lambda w: jg.load(w), "path", "str or os.PathLike"),
    "loads(text)": (lambda w: jg.loads(w), "text", "str or bytes"),
    "loads(format=)": (lambda w: jg.loads("name: x", format=w), "format", "str"),
    "save(jm)": (lambda w: jg.save(w, "never-written.json"), "jm", "JourneyMap"),
    "save(path)": (lambda w: jg.save(JM, w), "path", "str or os.PathLike"),
    "Analysis.absorption(touchpoint_id)": (
        lambda w: jg.analyze(JM).absorption(w),
        "touchpoint_id",
        "str",
    ),
    "render(obj)": (lambda w: jg.render(w, format="dot"), "obj", "JourneyMap"),
    "JourneyMap.from_networkx(G)": (lambda w: jg.JourneyMap.from_networkx(w), "G", "DiGraph"),
    "Touchpoint(id=)": (lambda w: jg.Touchpoint(id=w, stage="a"), "'id'", "text"),
    "Stage(name=)": (lambda w: jg.Stage(id="a", name=w), "'name'", "text", ("None",)),
    "JourneyMap(stages=)": (
        lambda w: jg.JourneyMap(
            name="x", stages=w, touchpoints=[], outcomes=[], entry={}, moves=[]
        ),
        "stages",
        "",
    ),
}

CALLS |= {
    "collapse_order(jm)": (lambda w: jg.collapse_order(w), "jm", "JourneyMap or a path"),
    "fit(customer_column=)": (
        lambda w: jg.fit(
            pd.DataFrame({"c": [1], "t": [1], "p": ["a"]}),
            customer_column=w,
            time_column="t",
            touchpoint_column="p",
        ),
        "customer_column",
        "str",
    ),
    # the deprecated spelling is checked the same way
    "fit(customer=)": (
        lambda w: jg.fit(
            pd.DataFrame({"c": [1], "t": [1], "p": ["a"]}), customer=w, time="t", touchpoint="p"
        ),
        "customer",
        "str",
    ),
    "fit(progress=)": (
        lambda w: jg.fit(
            pd.DataFrame({"c": [1], "t": [1], "p": ["a"]}),
            customer_column="c",
            time_column="t",
            touchpoint_column="p",
            progress=w,
        ),
        "progress",
        "callable",
        ("None",),
    ),
}


def _check(call: Call, kind: str) -> None:
    function, name, expected = call[:3]
    accepted = call[3] if len(call) > 3 else ()
    wrong = WRONG[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            function(wrong)
        except ValueError as exc:
            if kind not in accepted:
                assert isinstance(exc, jg.JourneyGraphError), repr(exc)
            assert len(str(exc)) < 2_000
        except TypeError as exc:
            message = str(exc)
            assert name in message and expected in message, message
            # raised at the boundary: by journeygraph, not by numpy, pandas or networkx
            origin = traceback.extract_tb(exc.__traceback__)[-1].filename
            assert f"{os.sep}journeygraph{os.sep}" in origin, origin
            assert "tests" not in Path(origin).parts, origin
        except jg.JourneyGraphError as exc:
            assert len(str(exc)) < 2_000
        else:
            assert kind in accepted, f"{kind} was accepted"


@pytest.mark.parametrize("wrong", list(WRONG), ids=list(WRONG))
@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_wrong_kind_of_object_is_refused_at_the_boundary(call: str, wrong: str) -> None:
    _check(CALLS[call], wrong)


def test_the_message_names_the_parameter_and_the_type() -> None:
    with pytest.raises(
        TypeError,
        match=r"^current must be a JourneyMap or a path to a map file \(str or os.PathLike\), "
        r"not pandas.DataFrame$",
    ):
        jg.compare(WRONG["DataFrame"], JM)
    with pytest.raises(TypeError, match=r"^entry\['ad'\] must be a number \(a weight\), not str$"):
        jg.analyze(JM, entry={"ad": "3"})


# -- every function that takes a map also takes a path (issue #13) -------------------------


@pytest.mark.parametrize("as_path", [str, Path], ids=["str", "Path"])
def test_every_function_that_takes_a_map_takes_a_path(as_path: Callable[[Any], Any]) -> None:
    path = as_path(TINY)
    # the hand-solved tiny map: P(buy) = 35/88 (tests/conftest.py)
    assert jg.analyze(path).outcome_probabilities == jg.analyze(JM).outcome_probabilities
    assert jg.analyze(path).outcome_probabilities["buy"] == pytest.approx(35 / 88, rel=1e-12)
    diff = jg.compare(path, path)
    assert diff.structure_unchanged and diff.metrics["conversion"].delta == 0.0
    assert jg.compare(JM, path).metrics == diff.metrics
    log = jg.simulate(path, 50, seed=3)
    assert log.touchpoint.tolist() == jg.simulate(JM, 50, seed=3).touchpoint.tolist()
    ci = jg.credible_intervals(path, draws=50, seed=1)
    assert (
        ci.conversion_probability
        == jg.credible_intervals(JM, draws=50, seed=1).conversion_probability
    )
    assert jg.whatif(path, jg.CutMove("ad", "gone")) == jg.whatif(JM, jg.CutMove("ad", "gone"))
    assert jg.top_paths(path) == jg.top_paths(JM)
    # ad -> shop -> buy: entry 3/4, then 6/10, then 5/10 (the moves of tiny.yaml)
    assert jg.path_probability(path, ["ad", "shop"], "buy") == pytest.approx(0.75 * 0.6 * 0.5)


def test_a_bad_path_is_a_map_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(jg.MapError, match=r"nope\.yaml: no such file"):
        jg.analyze(missing)
    (tmp_path / "map.txt").write_text("name: x\n")
    with pytest.raises(jg.MapError, match=r"map\.txt: unknown file type '\.txt'"):
        jg.compare(JM, str(tmp_path / "map.txt"))
