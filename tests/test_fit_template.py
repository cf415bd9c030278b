"""No silent zero, and the template kept (issue #13).

An outcome value that never occurs is an error naming the values that do; a fit with
no conversion at all is an error unless allowed; ``rename=`` maps log values onto
template ids; a template's names, order and details survive the fit. Every expected
count is written out by hand from the log above it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import journeygraph as jg
from journeygraph.cli import main

ENGINES = ["numpy", "duckdb"]
KW: dict[str, Any] = {"customer_column": "c", "time_column": "t", "touchpoint_column": "e"}

# Journeys: 1: ad, site, purchase   2: ad, site   3: site, purchase
LOG = pd.DataFrame(
    {
        "c": [1, 1, 1, 2, 2, 3, 3],
        "t": [1, 2, 3, 1, 2, 1, 2],
        "e": ["ad", "site", "purchase", "ad", "site", "site", "purchase"],
    }
)
LOG_MOVES = {("ad", "site"): 2.0, ("site", "purchase"): 2.0, ("site", "churn"): 1.0}

TEMPLATE = """
name: Retail journey
persona: {id: shopper, name: Weekend shopper}
stages:
  - {id: aware, name: Awareness}
  - {id: act, name: Action}
touchpoints:
  - {id: site, name: Web shop, stage: act, channel: web, owner: e-commerce, sentiment: 0.25,
     pains: [slow search]}
  - {id: ad, name: Display ad, stage: aware, channel: social, owner: marketing}
  - {id: email, name: Newsletter, stage: aware, channel: email}
  - {id: basket, name: Basket, stage: act}
outcomes:
  - {id: purchase, name: Order placed, kind: conversion}
  - {id: rival, name: Bought elsewhere, kind: competitor}
entry: {ad: 1}
moves:
  - {from: ad, to: site, weight: 1}
  - {from: ad, to: email, weight: 1}
  - {from: site, to: purchase, weight: 1}
  - {from: site, to: basket, weight: 1}
  - {from: basket, to: purchase, weight: 1}
  - {from: email, to: rival, weight: 1}
"""


def moves(jm: Any) -> dict[tuple[str, str], float]:
    assert isinstance(jm, jg.JourneyMap)
    return {(m.source, m.target): m.weight for m in jm.moves}


def template() -> jg.JourneyMap:
    return jg.loads(TEMPLATE)


# -- no silent zero -------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"stages": {"ad": "aware", "site": "act"}},
        {"stages": {"ad": "aware"}, "unknown_touchpoints": "other"},
    ],
    ids=["no-stages", "stages", "other"],
)
def test_an_outcome_value_that_never_occurs_is_an_error(engine: str, extra: Any) -> None:
    # The typo of issue #13: before, 'purchase' became a touchpoint and the map showed
    # 0 % conversion (also with the unknown_touchpoints='other' the error suggested).
    with pytest.raises(
        jg.EventLogError,
        match=r"outcome value 'purchased' \(outcomes=\) never occurs in column 'e' "
        r"\(did you mean 'purchase'\?\); the values there are 'ad', 'purchase', 'site'",
    ):
        jg.fit(LOG, **KW, outcomes={"purchased": "conversion"}, engine=engine, **extra)


def test_an_outcome_column_value_that_never_occurs_names_the_column() -> None:
    log = LOG.assign(e=LOG.e.where(LOG.e != "purchase", "checkout"))
    log["result"] = ["", "", "order", "", "", "", "order"]
    log["result"] = log["result"].replace("", None)
    with pytest.raises(
        jg.EventLogError, match=r"'orders' .*column 'result' \(did you mean 'order'\?\)"
    ):
        jg.fit(
            log,
            **KW,
            outcome_column="result",
            outcomes={"order": "conversion", "orders": "conversion"},
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_no_conversion_at_all_is_an_error_unless_allowed(engine: str) -> None:
    # Each purchase starts its journey (nothing before it): dropped, so no journey
    # converts. Journeys: 1: ad (churn)   2: site (churn).
    log = pd.DataFrame({"c": [1, 1, 2, 2], "t": [1, 2, 1, 2], "e": ["purchase", "ad"] * 2})
    log.loc[3, "e"] = "site"
    with pytest.raises(jg.EventLogError, match=r"no journey ends in a conversion.*'purchase'"):
        jg.fit(log, **KW, outcomes={"purchase": "conversion"}, engine=engine)
    jm = jg.fit(
        log, **KW, outcomes={"purchase": "conversion"}, engine=engine, allow_no_conversion=True
    )
    assert moves(jm) == {("ad", "churn"): 1.0, ("site", "churn"): 1.0}
    assert jg.analyze(jm).conversion_probability == 0.0


def test_a_template_whose_conversion_id_is_not_in_the_log_is_an_error() -> None:
    log = LOG.assign(e=LOG.e.replace("purchase", "purchase_complete"))
    with pytest.raises(jg.EventLogError, match="no journey ends in a conversion"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jg.JourneyGraphWarning)
            jg.fit(log, **KW, outcomes=template(), stages=template(), unknown_touchpoints="other")


@pytest.mark.parametrize("engine", ENGINES)
def test_rename_maps_log_values_onto_template_ids(engine: str) -> None:
    log = LOG.assign(e=LOG.e.replace({"purchase": "purchase_complete", "site": "shop_page"}))
    rename = {"purchase_complete": "purchase", "shop_page": "site"}
    with pytest.warns(jg.JourneyGraphWarning):
        jm = jg.fit(log, **KW, outcomes=template(), stages=template(), rename=rename, engine=engine)
    # The reference: the same fit of the log written with the template's ids.
    assert moves(jm) == LOG_MOVES
    assert dict(jm.entry) == {"ad": 2.0, "site": 1.0}


def test_rename_that_turns_an_outcome_into_a_touchpoint_is_refused() -> None:
    with pytest.raises(jg.EventLogError, match=r"'purchase' -> 'buy' turns an outcome"):
        jg.fit(LOG, **KW, outcomes={"purchase": "conversion"}, rename={"purchase": "buy"})
    with pytest.raises(TypeError, match="allow_no_conversion must be True or False"):
        jg.fit(LOG, **KW, outcomes={"purchase": "conversion"}, allow_no_conversion="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rename="):
        jg.fit(LOG, **KW, outcomes={"purchase": "conversion"}, rename=["purchase"])  # type: ignore[arg-type]


# -- the template kept ----------------------------------------------------------------


def test_template_names_order_and_details_are_kept() -> None:
    with pytest.warns(
        jg.JourneyGraphWarning, match=r"touchpoint\(s\) 'email', 'basket' and outcome\(s\) 'rival'"
    ):
        jm = jg.fit(LOG, **KW, outcomes=template(), stages=template())
    assert isinstance(jm, jg.JourneyMap)
    tpl = template()
    assert jm.name == "Retail journey"
    assert jm.persona == tpl.persona
    assert [(s.id, s.name) for s in jm.stages] == [("aware", "Awareness"), ("act", "Action")]
    by_id = {t.id: t for t in tpl.touchpoints}
    for t in jm.touchpoints:
        assert t == by_id[t.id], t.id  # name, stage, channel, owner, sentiment, pains
    assert [(o.id, o.name, o.kind) for o in jm.outcomes] == [
        ("purchase", "Order placed", "conversion"),
        ("churn", None, "churn"),
    ]
    assert moves(jm) == LOG_MOVES
    report = jg.FitReport.of(jm)
    assert report.unseen_touchpoints == ("email", "basket")
    assert report.unseen_outcomes == ("rival",)
    assert report.new_touchpoints == ()
    named = jg.fit(
        LOG,
        **KW,
        outcomes={"purchase": "conversion"},
        stages=tpl.model_copy(
            update={"touchpoints": tpl.touchpoints[:2], "outcomes": tpl.outcomes[:1]}
        ),
        name="mine",
    )
    assert isinstance(named, jg.JourneyMap) and named.name == "mine"


def test_touchpoints_follow_the_template_order_then_first_appearance() -> None:
    # Template order in 'act': site, basket. The log adds chat (first at t=5) and
    # wishlist (first at t=3) to 'act', and zz_promo, aa_banner to 'other'.
    # Journeys: 1: ad@1, wishlist@3, chat@5, site@6, purchase@7
    #           2: aa_banner@8, zz_promo@2 -> zz_promo, aa_banner (churn)
    #           3: basket@1, site@2, purchase@3
    log = pd.DataFrame(
        {
            "c": [1, 1, 1, 1, 1, 2, 2, 3, 3, 3],
            "t": [1, 3, 5, 6, 7, 8, 2, 1, 2, 3],
            "e": [
                "ad",
                "wishlist",
                "chat",
                "site",
                "purchase",
                "aa_banner",
                "zz_promo",
                "basket",
                "site",
                "purchase",
            ],
        }
    )
    stages = {"ad": "aware", "site": "act", "basket": "act", "chat": "act", "wishlist": "act"}
    with pytest.warns(jg.JourneyGraphWarning, match="'email'"):
        jm = jg.fit(log, **KW, outcomes=template(), stages=stages, unknown_touchpoints="other")
    assert isinstance(jm, jg.JourneyMap)
    assert [t.id for t in jm.touchpoints] == [
        "ad",
        "site",
        "basket",
        "wishlist",
        "chat",
        "zz_promo",
        "aa_banner",
    ]
    assert jg.FitReport.of(jm).new_touchpoints == ("zz_promo", "wishlist", "chat", "aa_banner")


def test_second_order_states_follow_the_template_order() -> None:
    with pytest.warns(jg.JourneyGraphWarning):
        jm = jg.fit(LOG, **KW, outcomes=template(), stages=template(), order=2)
    assert isinstance(jm, jg.JourneyMap)
    # 'aware': ad; 'act': site (template order), each by its previous touchpoint.
    assert [t.id for t in jm.touchpoints] == ["(start) > ad", "(start) > site", "ad > site"]
    assert [t.name for t in jm.touchpoints] == ["Display ad", "Web shop", "Web shop"]


# -- command line ---------------------------------------------------------------------


def test_cli_typo_is_exit_1_and_rename_and_allow_flags_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.csv"
    LOG.assign(e=LOG.e.replace("purchase", "purchase_complete")).to_csv(log, index=False)
    out = tmp_path / "map.yaml"
    base = [str(log), "--customer", "c", "--time", "t", "--touchpoint", "e", "-o", str(out)]
    assert main(["fit", *base, "--outcomes", "purchased=conversion"]) == 1
    err = capsys.readouterr().err
    assert "'purchased'" in err and "did you mean 'purchase_complete'" in err
    assert "Traceback" not in err and not out.exists()
    code = main(
        [
            "fit",
            *base,
            "--outcomes",
            "purchase=conversion",
            "--rename",
            "purchase_complete=purchase",
            "--json",
        ]
    )
    assert code == 0
    assert moves(jg.load(out)) == LOG_MOVES
    assert json.loads(capsys.readouterr().out)["journeys"] == 3
    tpl = tmp_path / "template.yaml"
    tpl.write_text(TEMPLATE)
    code = main(
        [
            "fit",
            *base,
            "--outcomes",
            str(tpl),
            "--stages",
            str(tpl),
            "--rename",
            "purchase_complete=purchase",
            "--force",
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "'email', 'basket'" in err
    nothing = tmp_path / "none.csv"
    pd.DataFrame({"c": [1, 1], "t": [1, 2], "e": ["purchase", "ad"]}).to_csv(nothing, index=False)
    args = [
        "fit",
        str(nothing),
        "--customer",
        "c",
        "--time",
        "t",
        "--touchpoint",
        "e",
        "--outcomes",
        "purchase=conversion",
        "-o",
        str(tmp_path / "n.yaml"),
    ]
    assert main(args) == 1
    assert "no journey ends in a conversion" in capsys.readouterr().err
    assert main([*args, "--allow-no-conversion"]) == 0


# -- one report per segment -----------------------------------------------------------

# Segment "x": customer 1: ad@1, ad@1 (duplicate), site@2, purchase@3; a row with a null
#              customer; customer 2: purchase@1 (starts a journey: dropped).
# Segment "y": customer 3: ad@1, site@2; customer 4: ad@1..ad@4 (4 events, capped at 3);
#              a row with a null time.
# One row with a null segment: only in the pooled report.
SEGMENTED = pd.DataFrame(
    [
        ("x", "c1", 1, "ad"),
        ("x", "c1", 1, "ad"),
        ("x", "c1", 2, "site"),
        ("x", "c1", 3, "purchase"),
        ("x", None, 4, "ad"),
        ("x", "c2", 1, "purchase"),
        ("y", "c3", 1, "ad"),
        ("y", "c3", 2, "site"),
        ("y", "c4", 1, "ad"),
        ("y", "c4", 2, "site"),
        ("y", "c4", 3, "ad"),
        ("y", "c4", 4, "site"),
        ("y", "c5", None, "ad"),
        (None, "c6", 1, "ad"),
    ],
    columns=["s", "c", "t", "e"],
)


@pytest.mark.parametrize("engine", ENGINES)
def test_each_segment_report_holds_its_own_figures(engine: str, tmp_path: Path) -> None:
    maps = jg.fit(
        SEGMENTED,
        **KW,
        segment_column="s",
        outcomes={"purchase": "conversion"},
        max_events_per_customer=3,
        engine=engine,
    )
    assert isinstance(maps, dict)
    x, y = jg.FitReport.of(maps["x"]), jg.FitReport.of(maps["y"])
    assert (x.segment, x.input_rows, x.events, x.journeys) == ("x", 6, 3, 1)
    assert x.dropped == {
        "null_customer": 1,
        "null_time": 0,
        "null_segment": 0,
        "null_touchpoint": 0,
        "duplicate": 1,
        "capped": 0,
        "outcome_without_touchpoint": 1,
    }
    assert (y.segment, y.input_rows, y.events, y.journeys) == ("y", 7, 2, 1)
    assert y.dropped == {
        "null_customer": 0,
        "null_time": 1,
        "null_segment": 0,
        "null_touchpoint": 0,
        "duplicate": 0,
        "capped": 4,
        "outcome_without_touchpoint": 0,
    }
    assert (x.capped_customers, y.capped_customers) == ((), ("c4",))
    for report in (x, y):
        pooled = report.pooled
        assert pooled is not None and pooled.segment is None
        assert (pooled.input_rows, pooled.events, pooled.journeys) == (14, 5, 2)
        assert pooled.dropped["null_segment"] == 1 and pooled.dropped["capped"] == 4
    # The report survives a save and load.
    jg.save(maps["x"], tmp_path / "x.yaml")
    assert jg.FitReport.of(jg.load(tmp_path / "x.yaml")) == x


def test_before_after_example_of_the_docs(tmp_path: Path) -> None:
    """docs/fitting.md's before/after example: the figures it shows (seeds 1 and 2)."""
    import pyarrow.parquet as pq

    from .conftest import EXAMPLES

    current = jg.load(EXAMPLES / "retail_five_a_current.yaml")
    future = jg.load(EXAMPLES / "retail_five_a_future.yaml")
    jg.simulate(current, 20_000, seed=1).write(tmp_path / "before.parquet")
    jg.simulate(future, 20_000, seed=2).write(tmp_path / "after.parquet")
    kw: dict[str, Any] = dict(
        customer_column="customer_id",
        time_column="step",
        touchpoint_column="touchpoint",
        outcomes=future,
        stages=future,
    )
    with pytest.warns(jg.JourneyGraphWarning, match="'live_chat' never occur"):
        before = jg.fit(tmp_path / "before.parquet", name="before release", **kw)
    after = jg.fit(tmp_path / "after.parquet", name="after release", **kw)
    assert isinstance(before, jg.JourneyMap) and isinstance(after, jg.JourneyMap)
    assert jg.FitReport.of(before).unseen_touchpoints == ("live_chat",)
    assert "'live_chat'" in jg.compare(before, after).summary()
    # The fitted conversion is the log's share of converting journeys (complete
    # journeys: the fitted chain reproduces the observed flows): 12.6 % and 16.8 %.
    for jm, path in ((before, "before.parquet"), (after, "after.parquet")):
        log = pq.read_table(tmp_path / path).to_pandas()
        last = log.groupby("customer_id").tail(1)
        share = float((last["outcome"] == "conversion").mean())
        assert jg.analyze(jm).conversion_probability == pytest.approx(share, rel=1e-9)
    assert round(jg.analyze(before).conversion_probability, 3) == 0.126
    assert round(jg.analyze(after).conversion_probability, 3) == 0.168
