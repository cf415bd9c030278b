"""Optional dependencies, imported only when a feature needs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from journeygraph.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` with the install line.

    Parameters
    ----------
    module
        The module to import, e.g. ``"pandas"`` or ``"pyarrow.parquet"``.
    extra
        The journeygraph extra that installs it (``pip install 'journeygraph[extra]'``).
    feature
        What needs it, for the message, e.g. ``"EventLog.to_frame"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingDependencyError(
            f"{feature} needs {top}, which is not installed; install it with "
            f"pip install 'journeygraph[{extra}]' (or pip install {top})"
        ) from None
