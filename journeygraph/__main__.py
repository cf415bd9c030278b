"""``python -m journeygraph``: the command line."""

import sys

from journeygraph.cli import main

sys.exit(main())
