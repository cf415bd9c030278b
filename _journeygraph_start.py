"""Start the ``journeygraph`` command with Ctrl-C handled from its first instruction.

The console script runs :func:`main` here, outside the package: importing
``journeygraph`` (numpy, scipy, pydantic, networkx) takes about a second, and a Ctrl-C
during those imports would otherwise end in a traceback. Here it exits 130 with one line
(``--debug`` shows the traceback), as it does everywhere else in the command line.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> int:
    """Import the command line and run it; returns the exit code."""
    try:
        from journeygraph.cli import main as run
    except KeyboardInterrupt:
        if "--debug" in sys.argv[1:]:
            raise
        sys.stderr.write("journeygraph: interrupted\n")
        return 130
    return run()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
