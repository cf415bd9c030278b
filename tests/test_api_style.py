"""One API style (issue #14): the same keyword names and kinds for the same things."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import journeygraph as jg

from .conftest import DATA

TAKE_ENTRY: list[Callable[..., Any]] = [
    jg.analyze,
    jg.compare,
    jg.simulate,
    jg.credible_intervals,
    jg.top_paths,
    jg.path_probability,
]


@pytest.mark.parametrize("function", TAKE_ENTRY, ids=lambda f: f.__name__)
def test_entry_is_keyword_only_everywhere(function: Callable[..., Any]) -> None:
    parameter = inspect.signature(function).parameters.get("entry")
    if parameter is None:
        pytest.skip(f"{function.__name__} takes no entry")
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is None


def test_positional_entry_of_analyze_still_works_with_a_warning(tiny: jg.JourneyMap) -> None:
    with pytest.warns(DeprecationWarning, match="keyword-only") as caught:
        old = jg.analyze(tiny, "shop")
    assert caught[0].filename == __file__  # points at the caller's line
    # conftest.py: from shop, B row = (0.5, 0.28, 0.1) / 0.88
    assert old.conversion_probability == pytest.approx(0.5 / 0.88, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = jg.analyze(tiny, entry="shop")
    assert new.outcome_probabilities == old.outcome_probabilities
    with pytest.raises(TypeError, match="entry twice"):
        jg.analyze(tiny, "shop", entry="ad")  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional arguments"):
        jg.analyze(tiny, "shop", "ad")
    with pytest.raises(TypeError, match="entry"):
        jg.analyze(tiny, entry=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^entry\['ad'\] must be a number"):
        jg.analyze(tiny, {"ad": "3"})  # the old way: the type error before the warning


def test_credible_intervals_takes_the_entry(tiny: jg.JourneyMap) -> None:
    # Counts x1e6: the posterior sits on the point estimate; from shop the conversion
    # probability is 0.5/0.88 (conftest.py), the map's own entry gives 35/88.
    big = jg.JourneyMap(
        **{
            **tiny.model_dump(by_alias=True),
            "moves": [
                {**m, "weight": m["weight"] * 1e6} for m in tiny.model_dump(by_alias=True)["moves"]
            ],
            "entry": {k: w * 1e6 for k, w in tiny.entry.items()},
        }
    )
    fixed = jg.credible_intervals(big, draws=100, seed=0, entry="shop")
    assert fixed.entry_uncertain is False
    assert fixed.conversion_probability.mean == pytest.approx(0.5 / 0.88, abs=1e-3)
    own = jg.credible_intervals(big, draws=100, seed=0)
    assert own.conversion_probability.mean == pytest.approx(35 / 88, abs=1e-3)
    with pytest.raises(jg.MapError, match="did you mean 'shop'"):
        jg.credible_intervals(tiny, draws=10, seed=0, entry="shpo")


def test_credible_intervals_is_shaped_like_the_analysis(tiny: jg.JourneyMap) -> None:
    res = jg.analyze(tiny)
    ci = jg.credible_intervals(tiny, draws=300, seed=1)
    assert isinstance(ci.leaks, tuple) and isinstance(res.leaks, tuple)
    assert [type(x).__name__ for x in ci.leaks] == ["LeakInterval"] * len(ci.leaks)
    # the same record fields as Leak / Switch, intervals where the analysis has floats
    assert {"touchpoint", "flow", "share"} <= set(jg.Leak.__slots__)
    assert set(jg.LeakInterval.__slots__) == {"touchpoint", "flow", "share"}
    assert set(jg.SwitchInterval.__slots__) == set(jg.Switch.__slots__)
    # Public names of the analysis: its fields and the tables built on first access
    # (leaks, switching, stage_flow, move_flows are properties).
    public = {n for n in dir(jg.Analysis) if not n.startswith("_")} | set(jg.Analysis.__slots__)
    shared = set(jg.CredibleIntervals.__slots__) & public
    assert {"leaks", "switching", "outcome_probabilities", "conversion_probability"} <= shared
    assert ci.leaks_by_touchpoint["ad"].touchpoint == "ad"
    assert ci.switching_by_pair[("shop", "rival")].competitor == "rival"
    with pytest.raises(TypeError, match="immutable"):
        ci.outcome_probabilities["buy"] = ci.conversion_probability  # type: ignore[index]
    assert hash(ci) == hash(jg.credible_intervals(tiny, draws=300, seed=1))
    d = ci.to_dict()
    assert [x["touchpoint"] for x in d["leaks"]] == [x.touchpoint for x in ci.leaks]


def test_path_is_renamed_and_the_old_name_warns() -> None:
    import pathlib

    namespace: dict[str, Any] = {}
    exec("from journeygraph import *", namespace)
    assert "Path" not in namespace and namespace["JourneyPath"] is jg.JourneyPath
    assert "Path" not in jg.__all__
    with pytest.warns(DeprecationWarning, match="JourneyPath"):
        old = jg.Path  # type: ignore[attr-defined]
    assert old is jg.JourneyPath and old is not pathlib.Path
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        jg.nothing  # type: ignore[attr-defined]  # noqa: B018
    paths = jg.top_paths(jg.load(DATA / "good" / "tiny.yaml"), k=1)
    assert isinstance(paths[0], jg.JourneyPath)


def test_compare_translates_the_entry_through_renames(tiny: jg.JourneyMap) -> None:
    # The future map renames ad -> advert; entry= is in future ids, so the current map
    # must start at 'ad': from ad the conversion probability is 0.6 * 0.5 / 0.88
    # (conftest.py: N_ad,shop = 0.6/0.88, R_shop,buy = 0.5).
    data = tiny.model_dump(by_alias=True)
    rename = {"ad": "advert"}
    data["touchpoints"] = [{**t, "id": rename.get(t["id"], t["id"])} for t in data["touchpoints"]]
    data["entry"] = {rename.get(k, k): w for k, w in data["entry"].items()}
    data["moves"] = [
        {**m, "from": rename.get(m["from"], m["from"]), "to": rename.get(m["to"], m["to"])}
        for m in data["moves"]
    ]
    future = jg.JourneyMap(**data)
    diff = jg.compare(tiny, future, renames=rename, entry="advert")
    conversion = diff.metrics["conversion"]
    assert conversion.before == pytest.approx(0.6 * 0.5 / 0.88, rel=1e-12)
    assert conversion.after == pytest.approx(0.6 * 0.5 / 0.88, rel=1e-12)
