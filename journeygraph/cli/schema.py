"""``journeygraph schema``: the JSON Schema of the map file format."""

from __future__ import annotations

import argparse
import json

import journeygraph as jg
from journeygraph._files import atomic_write
from journeygraph._terminal import write_data
from journeygraph.cli.options import Commands

__all__ = ["add_parser", "run"]


def add_parser(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``schema`` and its flags."""
    p = commands.add_parser(
        "schema",
        parents=[common],
        help="print the JSON Schema of the map file format",
        description="Print the JSON Schema of the journey map file format.",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the schema, or write it to ``-o``."""
    text = json.dumps(jg.schema(), ensure_ascii=False, indent=2) + "\n"
    if args.output:
        atomic_write(args.output, text)
    else:
        write_data(text)
    return 0
