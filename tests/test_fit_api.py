"""fit's and fit_paths' column options: one ``*_column`` spelling, the old one deprecated.

Expected maps are the hand-counted log below: customers 1 and 2 enter at ad, move
ad -> shop; 1 buys, 2 churns; 3 enters at shop and churns (the docstring example of
:func:`journeygraph.fit`).
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
import pytest

import journeygraph as jg

LOG = pd.DataFrame(
    {
        "c": [1, 1, 1, 2, 2, 3],
        "t": [1, 2, 3, 1, 2, 1],
        "e": ["ad", "shop", "buy", "ad", "shop", "shop"],
        "seg": ["x", "x", "x", "y", "y", "y"],
    }
)
NEW: dict[str, Any] = dict(customer_column="c", time_column="t", touchpoint_column="e")
OLD: dict[str, Any] = dict(customer="c", time="t", touchpoint="e")
OUTCOMES = {"buy": "conversion"}
HAND = {("ad", "shop"): 2.0, ("shop", "buy"): 1.0, ("shop", "churn"): 2.0}


def _weights(jm: jg.JourneyMap) -> dict[tuple[str, str], float]:
    return {(m.source, m.target): m.weight for m in jm.moves}


def test_the_new_spelling_fits_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jm = jg.fit(LOG, outcomes=OUTCOMES, **NEW)
    assert _weights(jm) == HAND and dict(jm.entry) == {"ad": 2.0, "shop": 1.0}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"customer": "c"}, "customer_column='c'"),
        ({"time": "t"}, "time_column='t'"),
        ({"touchpoint": "e"}, "touchpoint_column='e'"),
    ],
)
def test_each_old_keyword_warns_with_the_new_spelling(old: dict[str, str], new: str) -> None:
    kw = {**NEW, **old}
    del kw[f"{next(iter(old))}_column"]
    with pytest.warns(
        DeprecationWarning, match=rf"{next(iter(old))}= is deprecated, use {new}"
    ) as w:
        jm = jg.fit(LOG, outcomes=OUTCOMES, **kw)
    assert len(w) == 1 and w[0].filename == __file__  # points at the caller's line
    assert _weights(jm) == HAND


def test_old_outcome_and_segment_keywords_still_work() -> None:
    log = LOG.assign(result=[None, None, "buy", None, None, None])
    log = log.assign(e=["ad", "shop", None, "ad", "shop", "shop"])
    with pytest.warns(DeprecationWarning) as w:
        old = jg.fit(log, outcome="result", segment="seg", outcomes=OUTCOMES, **OLD,
                     allow_no_conversion=True)  # fmt: skip
    messages = sorted(str(x.message).split(" is deprecated")[0] for x in w)
    assert messages == [
        f"fit(): {k}=" for k in sorted(["customer", "time", "touchpoint", "outcome", "segment"])
    ]
    new = jg.fit(log, outcome_column="result", segment_column="seg", outcomes=OUTCOMES, **NEW,
                 allow_no_conversion=True)  # fmt: skip
    assert isinstance(old, dict) and sorted(old) == sorted(new) == ["x", "y"]
    # segment x is customer 1 (ad -> shop -> buy), y customers 2 and 3 (both churn)
    assert _weights(new["x"]) == {("ad", "shop"): 1.0, ("shop", "buy"): 1.0}
    assert _weights(new["y"]) == {("ad", "shop"): 1.0, ("shop", "churn"): 2.0}
    assert all(_weights(old[s]) == _weights(new[s]) for s in new)


def test_both_spellings_or_none_is_a_type_error() -> None:
    with pytest.raises(
        TypeError, match=r"got both customer= and customer_column=; pass only customer_column="
    ):
        jg.fit(LOG, customer="c", outcomes=OUTCOMES, **NEW)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"got both outcome= and outcome_column="):
        jg.fit(LOG, outcome="e", outcome_column="e", outcomes=OUTCOMES, **NEW)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"missing required keyword argument: 'time_column'"):
        jg.fit(LOG, customer_column="c", touchpoint_column="e")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"^touchpoint_column must be"):
        jg.fit(LOG, customer_column="c", time_column="t", touchpoint_column=3)  # type: ignore[call-overload]


def test_outcome_column_without_outcomes_names_the_new_keyword() -> None:
    with pytest.raises(
        jg.EventLogError,
        match=r"outcome_column='e' names an outcome column, but outcomes= is empty",
    ):
        jg.fit(LOG, outcome_column="e", **NEW)


def test_the_return_type_follows_the_segment_column() -> None:
    one = jg.fit(LOG, outcomes=OUTCOMES, **NEW)
    by = jg.fit(LOG, outcomes=OUTCOMES, segment_column="seg", allow_no_conversion=True, **NEW)
    assert isinstance(one, jg.JourneyMap)
    assert isinstance(by, dict) and all(isinstance(m, jg.JourneyMap) for m in by.values())


PATHS = pd.DataFrame({"p": ["search > site", "email"], "conv": [3, 0], "lost": [1, 2]})
# fit_paths' docstring example, with renamed columns: search -> site 4, site ends 3
# conversions and 1 churn, email 2 churn.
PATH_MOVES = {
    ("search", "site"): 4.0,
    ("site", "conversion"): 3.0,
    ("site", "churn"): 1.0,
    ("email", "churn"): 2.0,
}


def test_fit_paths_column_options() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = jg.fit_paths(PATHS, path_column="p", conversions_column="conv", nulls_column="lost")
    assert _weights(new) == PATH_MOVES
    with pytest.warns(DeprecationWarning, match=r"^fit_paths\(\): ") as w:
        old = jg.fit_paths(PATHS, path="p", conversions="conv", nulls="lost")
    assert [str(x.message).split(" (")[0] for x in w] == [
        "fit_paths(): path= is deprecated, use path_column='p'",
        "fit_paths(): conversions= is deprecated, use conversions_column='conv'",
        "fit_paths(): nulls= is deprecated, use nulls_column='lost'",
    ]
    assert {x.filename for x in w} == {__file__}
    assert _weights(old) == PATH_MOVES
    no_nulls = jg.fit_paths(
        PATHS.drop(columns="lost"), path_column="p", conversions_column="conv", nulls_column=None
    )
    assert _weights(no_nulls) == {("search", "site"): 3.0, ("site", "conversion"): 3.0}
    with pytest.raises(TypeError, match=r"got both path= and path_column="):
        jg.fit_paths(PATHS, path="p", path_column="p2")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'paht'"):
        jg.fit_paths(PATHS, paht="p")
    with pytest.raises(TypeError, match=r"^nulls_column must be a column name"):
        jg.fit_paths(PATHS, path_column="p", conversions_column="conv", nulls_column=3)  # type: ignore[arg-type]
