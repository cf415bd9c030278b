"""Map input hardening (issue #17): YAML 1.1 number forms, ids, long messages, formats,
networkx graphs and renames. The refused files themselves are in tests/data/bad/.
"""

from __future__ import annotations

import time
from pathlib import Path

import networkx as nx
import pytest

import journeygraph as jg
from journeygraph.cli import main

TINY = Path(__file__).parent / "data" / "good" / "tiny.yaml"
TINY_TEXT = TINY.read_text(encoding="utf-8")
WEIGHT = "{from: shop, to: buy, weight: 5}"


def _with_weight(text: str) -> jg.JourneyMap:
    assert WEIGHT in TINY_TEXT
    return jg.loads(TINY_TEXT.replace(WEIGHT, f"{{from: shop, to: buy, weight: {text}}}"))


# Each expected value is Python's reading of the same literal (int(text, 0) or float),
# which is also YAML 1.2's for the prefixed forms.
@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("5", 5),
        ("+5", 5),
        ("1_000", 1000),
        ("0x1F", int("0x1F", 0)),
        ("0o17", int("0o17", 0)),
        ("0b101", int("0b101", 0)),
        ("1e3", float("1e3")),
        ("1.5e3", float("1.5e3")),
        ("2.5", 2.5),
        (".5", 0.5),
        ("0", 0),
        ("0.25", 0.25),
    ],
)
def test_number_forms_an_analyst_means_are_read_as_meant(written: str, expected: float) -> None:
    jm = _with_weight(written)
    weight = next(m.weight for m in jm.moves if (m.source, m.target) == ("shop", "buy"))
    assert weight == expected


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("010", r"'weight' is 010, which YAML 1\.1 reads as the octal number 8 .*weight: 10$"),
        ("-007", r"octal number -7 and YAML 1\.2 as -7; write it without the leading zero"),
        ("1:30", r"'weight' is 1:30, which YAML 1\.1 reads as a base-60 number \(90\)"),
        ("1:00:00", r"base-60 number \(3600\).*weight: 3600$"),
        (".inf", r"'weight' is inf; weights must be finite"),
        ("+.inf", r"'weight' is inf; weights must be finite"),
        (".nan", r"'weight' is nan; weights must be finite"),
    ],
)
def test_ambiguous_number_forms_are_refused_naming_the_line(written: str, message: str) -> None:
    line = next(i for i, t in enumerate(TINY_TEXT.splitlines(), 1) if WEIGHT in t)
    with pytest.raises(jg.MapError, match=message) as info:
        _with_weight(written)
    assert f"<string>:{line}: " in str(info.value)


def test_entry_and_sentiment_follow_the_same_rules() -> None:
    jm = jg.loads(TINY_TEXT.replace("entry: {ad: 3, shop: 1}", "entry: {ad: 0x3, shop: 1_0}"))
    assert dict(jm.entry) == {"ad": 3, "shop": 10}
    with pytest.raises(jg.MapError, match=r"<string>:\d+: 'ad' is 03, .*ad: 3$"):
        jg.loads(TINY_TEXT.replace("entry: {ad: 3, shop: 1}", "entry: {ad: 03, shop: 1}"))
    with pytest.raises(jg.MapError, match=r"touchpoint #1: 'sentiment' is 0:30"):
        jg.loads(TINY_TEXT.replace("sentiment: 0.5", "sentiment: 0:30"))
    # thousands separators (block style: in a flow mapping the comma ends the value)
    block = TINY_TEXT.replace("entry: {ad: 3, shop: 1}", "entry:\n  ad: 3,000\n  shop: 1")
    with pytest.raises(jg.MapError, match=r"<string>:14: 'ad' is 3,000: a comma .* ad: 3000$"):
        jg.loads(block)
    with pytest.raises(jg.MapError, match=r"touchpoint #1: 'sentiment' is 0:30"):
        jg.loads(TINY_TEXT.replace("sentiment: 0.5", "sentiment: 0:30"))


@pytest.mark.parametrize(
    ("written", "read_as"),
    [
        ("0x1F", "31"),
        ("010", "8"),
        ("1:30", "90"),
        ("1_000", "1000"),
        ("0b11", "3"),
        ("yes", "True"),
    ],
)
def test_unquoted_ids_suggest_the_id_as_written(written: str, read_as: str) -> None:
    text = TINY_TEXT.replace("{id: rival, name: Rival", f"{{id: {written}, name: Rival")
    with pytest.raises(jg.MapError) as info:
        jg.loads(text.replace("to: rival", f'to: "{written}"'))
    message = str(info.value)
    assert f"but {read_as} was read as" in message
    assert f'put it in quotes to keep it as written: id: "{written}"' in message
    assert f'"{read_as}"' not in message or read_as == written


def test_metadata_keeps_yaml_values_as_they_are() -> None:
    jm = jg.loads(TINY_TEXT + "metadata: {code: 010, when: 1:30, flag: yes}\n")
    assert jm.metadata == {"code": 8, "when": 90, "flag": True}  # YAML 1.1, as PyYAML


def test_empty_values_still_mean_the_default() -> None:
    text = TINY_TEXT.replace("{id: ad, name: Ad,", "{id: ad, name: ~, notes: null,")
    assert jg.loads(text).touchpoint("ad").name is None


def test_explicit_tags_with_good_values_still_work() -> None:
    jm = jg.loads(TINY_TEXT.replace("channel: social", "channel: !!str 2024"))
    assert jm.touchpoint("ad").channel == "2024"


# -- ids and long values -------------------------------------------------------------------


def test_a_100000_character_id_gives_a_short_message_quickly() -> None:
    long = "x" * 100_000
    text = TINY_TEXT.replace("to: rival", f"to: {long}")
    started = time.perf_counter()
    with pytest.raises(jg.MapError) as info:
        jg.loads(text)
    assert time.perf_counter() - started < 5
    message = str(info.value)
    assert len(message) < 1_000, len(message)  # was 1,000,000 characters
    assert "(100,000 characters)" in message


def test_every_quoted_user_string_is_capped() -> None:
    long = "y" * 5_000
    tps = [{"id": "ad", "stage": long}, {"id": long, "stage": "s"}]
    with pytest.raises(jg.MapError) as info:
        jg.JourneyMap(
            name="n",
            stages=[{"id": "s"}],
            touchpoints=tps,
            outcomes=[{"id": "o", "kind": "churn"}],
            entry={long: 1},
            moves=[{"from": long, "to": long + "z", "weight": 1}],
        )
    assert all(len(p.message) < 600 for p in info.value.problems), info.value


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029", "\u202e", "\u2066", "\t", "\x7f"])
def test_ids_with_line_separators_or_bidi_controls_are_refused(char: str) -> None:
    with pytest.raises(jg.MapError, match=rf"U\+{ord(char):04X}"):
        jg.Touchpoint(id=f"a{char}b", stage="s")


def test_model_constructors_raise_map_errors() -> None:
    with pytest.raises(jg.MapError, match=r"^touchpoint: 'id' must be text, not None$"):
        jg.Touchpoint(id=None, stage="s")  # type: ignore[arg-type]
    with pytest.raises(jg.MapError, match=r"^outcome 'x': 'kind'"):
        jg.Outcome(id="x", kind="win")  # type: ignore[arg-type]


# -- formats, graphs, renames -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["toml", "yml", "JSON", ""])
def test_loads_refuses_unknown_formats(fmt: str) -> None:
    with pytest.raises(jg.MapError, match=r'unknown format .*use format="yaml" or format="json"'):
        jg.loads(TINY_TEXT, format=fmt)
    assert jg.loads(TINY_TEXT, format="yaml") == jg.load(TINY)


def test_from_networkx_refuses_undirected_graphs() -> None:
    G = jg.load(TINY).to_networkx()
    undirected = nx.Graph(G)
    with pytest.raises(jg.MapError, match=r"undirected \(Graph\).*pass a networkx.DiGraph"):
        jg.JourneyMap.from_networkx(undirected)  # type: ignore[arg-type]
    with pytest.raises(jg.MapError, match=r"or G.to_directed\(\) to make each edge a move"):
        jg.JourneyMap.from_networkx(nx.MultiGraph(G))  # type: ignore[arg-type]
    assert jg.JourneyMap.from_networkx(G) == jg.load(TINY)


def test_from_networkx_refuses_parallel_edges_but_takes_a_simple_multidigraph() -> None:
    jm = jg.load(TINY)
    multi = nx.MultiDiGraph(jm.to_networkx())
    assert jg.JourneyMap.from_networkx(multi) == jm  # type: ignore[arg-type]
    multi.add_edge("ad", "shop", weight=1.0)
    with pytest.raises(jg.MapError, match=r"2 parallel edges 'ad' -> 'shop'.*merge them"):
        jg.JourneyMap.from_networkx(multi)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("renames", "message"),
    [
        ({"ad": "shop"}, r"'ad' -> 'shop' clashes with the current map's own touchpoint 'shop'"),
        ({"ad": "gone"}, r"touchpoint 'ad' to the future map's outcome 'gone'"),
        ({"ad": "aware"}, r"touchpoint 'ad' to the future map's stage 'aware'"),
    ],
)
def test_a_rename_onto_an_existing_id_is_refused(renames: dict[str, str], message: str) -> None:
    jm = jg.load(TINY)
    with pytest.raises(jg.MapError, match=message):
        jg.compare(jm, jm, renames=renames)


def test_a_swap_of_two_ids_is_still_a_rename() -> None:
    jm = jg.load(TINY)
    diff = jg.compare(jm, jm, renames={"ad": "shop", "shop": "ad"})
    assert diff.touchpoints_added == () and diff.touchpoints_removed == ()


def test_cli_compare_rename_onto_an_existing_id_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["compare", str(TINY), str(TINY), "--rename", "ad=shop"]) == 1
    err = capsys.readouterr().err
    assert "clashes with the current map's own touchpoint 'shop'" in err
    assert "Traceback" not in err
