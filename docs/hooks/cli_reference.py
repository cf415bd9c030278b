"""MkDocs hook: the CLI reference page is generated from the argument parser.

``docs/reference/cli.md`` holds the marker ``<!-- cli-reference -->``; at build time it
is replaced by ``journeygraph --help`` and every command's ``--help``, so the page
cannot drift from the code.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

MARKER = "<!-- cli-reference -->"


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    """Markdown with the top-level help and one section per command."""
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width: fix it
    from journeygraph.cli import build_parser

    parser = build_parser()
    parts = ["```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in sorted(_commands(parser).items()):
        parts += [f"## journeygraph {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    return markdown
