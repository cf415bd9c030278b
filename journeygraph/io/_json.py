"""The JSON reader of map files (private): duplicate keys refused, depth limited."""

from __future__ import annotations

import json
from typing import Any

from journeygraph.errors import MapError

__all__: list[str] = []


def _parse_json(text: str, source: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(items)
        if len(result) < len(items):
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    raise MapError(
                        f"{source}: duplicate key {key!r} in one JSON object; JSON readers "
                        "silently keep only the last one: remove or rename one of them"
                    )
                seen.add(key)
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise MapError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise MapError(f"{source}: nesting too deep; refusing to read it") from None
