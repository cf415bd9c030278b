"""The streaming YAML reader and the lazy line map (docs/performance.md, "Loading large
maps"): same values as PyYAML's own safe loader, the same lines in error messages as
counted in the file, and YAML anchors/merges handled without leaking PyYAML errors."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

import journeygraph as jg
from journeygraph.io._yaml import _YamlBuilder

from .conftest import DATA, EXAMPLES
from .random_maps import random_map_data

_RETAIL = EXAMPLES / "retail_five_a_current.yaml"


def _quiet_map(n: int, seed: int) -> jg.JourneyMap:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        return jg.JourneyMap(**random_map_data(n, seed=seed))


def _load_quiet(path: Path) -> jg.JourneyMap:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jg.JourneyGraphWarning)
        return jg.load(path)


_TRICKY = """\
plain: [yes, no, ~, null, 1e3, 0x1F, 0o17, .inf, -.Inf, .nan, 2024-01-05, 12:30, "5", '07']
text: [t1, "t1", 'a b', "tab\\tin", "", '']
folded: >-
  folded
  text
literal: |
  literal
ints: {1: one, 2.5: two, false: three}
anchored: &a {x: 1, y: [1, 2]}
again: *a
merged: {<<: *a, z: 3}
merged_list: {<<: [{p: 1}, {q: 2}], r: 3}
binary: !!binary aGVsbG8=
explicit: !!str 12
"""


@pytest.mark.parametrize("fast", [True, False], ids=["libyaml", "pure-python"])
@pytest.mark.parametrize(
    "text",
    [
        _TRICKY,
        (DATA / "good" / "tiny.yaml").read_text(encoding="utf-8"),
        _RETAIL.read_text(encoding="utf-8"),
    ],
    ids=["tricky", "tiny", "retail"],
)
def test_values_equal_pyyaml_safe_load(text: str, fast: bool) -> None:
    # Reference: PyYAML's own safe loader (node tree + constructor).
    expected = yaml.load(text, Loader=yaml.SafeLoader)
    assert _YamlBuilder(text, "<t>", fast=fast).document() == expected


def test_libyaml_and_pure_python_read_the_same_random_map(tmp_path: Path) -> None:
    jm = _quiet_map(300, seed=5)
    text = jg.save(jm, tmp_path / "m.yaml").read_text(encoding="utf-8")
    fast = _YamlBuilder(text, "<t>", fast=True).document()
    slow = _YamlBuilder(text, "<t>", fast=False).document()
    assert fast == slow == yaml.load(text, Loader=yaml.SafeLoader)
    assert _load_quiet(tmp_path / "m.yaml") == jm


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first occurrence of needle, counted independently."""
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_error_in_a_big_map_names_the_right_line(tmp_path: Path, suffix: str) -> None:
    jm = _quiet_map(2000, seed=2)
    path = jg.save(jm, tmp_path / f"big{suffix}")
    data: dict[str, Any] = jm.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    k = len(data["moves"]) * 3 // 4
    data["moves"][k]["to"] = "nowhere_tp"
    data["touchpoints"][1500]["stage"] = "no_such_stage"
    if suffix == ".json":
        text = json.dumps(data, indent=2)
    else:
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(jg.MapError) as info:
        _load_quiet(path)
    message = str(info.value)
    # JSON indent=2 puts "to" on its own line; flow-style YAML puts the move on one.
    move_line = _line_of(text, '"to": "nowhere_tp"' if suffix == ".json" else "to: nowhere_tp")
    stage_line = _line_of(text, "no_such_stage")
    assert re.search(rf"big{suffix}:{move_line}: move .* -> 'nowhere_tp'", message), message
    assert re.search(rf"big{suffix}:{stage_line}: touchpoint 't1500'", message), message


def test_merge_keys_expand_like_pyyaml(tmp_path: Path) -> None:
    base = (DATA / "good" / "tiny.yaml").read_text(encoding="utf-8")
    # An anchor must be defined before use: put it in metadata, merge it at the top.
    text = "metadata:\n  base: &d {name: tiny}\n" + base.replace("name: tiny", "<<: *d", 1)
    path = tmp_path / "merge.yaml"
    path.write_text(text, encoding="utf-8")
    jm = jg.load(path)
    assert jm.name == "tiny" and jm.metadata == {"base": {"name": "tiny"}}
    assert jm.moves == jg.load(DATA / "good" / "tiny.yaml").moves


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        # PyYAML's constructor raised a ConstructorError traceback here before.
        ("a: {<<: 1}", r"<t>:1: '<<' merges a mapping or a list of mappings, but found 1"),
        ("a: {<<: [{x: 1}, 2]}", r"<t>:1: '<<' merges .* but found 2"),
        ("b: &b {x: 1}\nc: {<<: *b, x: 2}", r"<t>:2: duplicate key 'x' \(first at line 2\)"),
        ("a: &a [1]\nb: &a 2", r"<t>:2: not valid YAML: found duplicate anchor 'a'"),
        ("a: &a [*a]", r"<t>:1: alias \*a is used inside the value it names"),
        ("a: *nope", r"<t>:1: not valid YAML: found undefined alias 'nope'"),
        ("--- a\n--- b", r"<t>:2: not valid YAML: but found another document"),
        ("x: 1\ny: 2\nx: 3", r"<t>:3: duplicate key 'x' \(first at line 1\)"),
        ("? [1]\n: 2", r"<t>:1: keys must be text, found \[1\]"),
        ("a: !!python/object:os.system 1", r"<t>:1: cannot read the value '1'"),
        ("a: [1", r"<t>:1: not valid YAML: expected ',' or ']'"),
        ("# nothing here", r"<t>: the file is empty"),
    ],
)
def test_yaml_structure_errors_are_map_errors(text: str, pattern: str) -> None:
    with pytest.raises(jg.MapError, match=pattern):
        jg.loads(text, source="<t>")


def test_alias_bomb_is_still_refused_cheaply() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(jg.MapError, match="expands to more than 5,000,000 values"):
        jg.loads("\n".join(levels), source="<t>")
