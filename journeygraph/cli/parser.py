"""The argument parser, built from the command modules' own ``add_parser`` functions."""

from __future__ import annotations

import argparse

import journeygraph as jg
from journeygraph.cli import (
    analyze,
    compare,
    demo,
    explore,
    fit,
    paths,
    render,
    schema,
    simulate,
    validate,
    whatif,
)

__all__ = ["COMMANDS", "build_parser"]

#: The command modules, in the order ``journeygraph --help`` lists them.
COMMANDS = (
    validate,
    analyze,
    paths,
    whatif,
    compare,
    render,
    explore,
    simulate,
    fit,
    schema,
    demo,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``journeygraph`` parser: one sub-command per module of :data:`COMMANDS`.

    Each parsed command has ``args.run``, the function that runs it.
    """
    parser = argparse.ArgumentParser(
        prog="journeygraph",
        description="Customer-journey maps as graphs: validate, analyse, render, compare, fit.",
    )
    parser.add_argument("--version", action="version", version=f"journeygraph {jg.__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands, common)
    parser.set_defaults(debug=False)
    return parser
