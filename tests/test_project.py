"""The project's promises: the README's two commands, and CI running the test one."""

from __future__ import annotations

import re

from .conftest import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(python3 -m venv .+)\n```", text)


def test_readme_has_a_demo_and_a_test_command() -> None:
    demo, test = _readme_commands()[:2]
    assert demo.endswith("journeygraph demo")
    assert test.endswith("python -m pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in ci
    test_command = _readme_commands()[1]
    assert test_command in ci.splitlines()


def _yaml_maps_in_docs() -> list[tuple[str, str]]:
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S)):
            if "touchpoints:" in block and "moves:" in block:
                found.append((f"{page.name}#{i}", block))
    return found


def test_every_map_shown_in_the_docs_loads() -> None:
    import journeygraph as jg

    maps = _yaml_maps_in_docs()
    assert maps, "docs/getting-started.md shows a complete map"
    for name, block in maps:
        jm = jg.loads(block, source=name)
        assert jm.touchpoints and jm.moves


def test_ci_installs_chromium_for_the_explorer_browser_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "command -v chromium" in ci
    assert "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium" in ci
    # The install comes before the tests run.
    assert ci.index("apt-get install -y chromium") < ci.index("python -m pytest")
