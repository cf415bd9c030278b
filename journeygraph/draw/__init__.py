"""The drawing layer: writers that turn a map, an analysis or a diff into a picture.

:mod:`journeygraph.draw.explore` writes the explorer, one offline interactive HTML page.
"""

from journeygraph.draw.explore import explore

__all__ = ["explore"]
