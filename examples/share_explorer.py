"""Cookbook: share an explorer page with a colleague.

Writes one self-contained HTML page per question: the current map with its analysis,
and the current-vs-future comparison. Each page holds its diagram, data, script and
style; it fetches nothing, so it opens offline in any browser and can be attached to
an email. The script checks that: it lists every address the page could load from.

    python examples/share_explorer.py [CURRENT FUTURE] [--out FOLDER] [--lang en|ko]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import journeygraph as jg

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("current", nargs="?", default=HERE / "theme_park_current.yaml")
    parser.add_argument("future", nargs="?", default=HERE / "theme_park_future.yaml")
    parser.add_argument("--out", type=Path, default=Path("cookbook-output/share_explorer"))
    parser.add_argument("--lang", choices=["en", "ko"], default="en")
    args = parser.parse_args()

    current, future = jg.load(args.current), jg.load(args.future)
    args.out.mkdir(parents=True, exist_ok=True)
    pages: dict[Path, jg.Analysis | jg.MapDiff] = {
        args.out / "journey.html": jg.analyze(current),
        args.out / "current-vs-future.html": jg.compare(current, future),
    }
    for path, obj in pages.items():
        html = jg.explore(obj, path, lang=args.lang)  # returns the page and writes it
        outside = sorted(set(re.findall(r"""(?:src|href)\s*=\s*["'](https?:[^"']*)""", html)))
        print(
            f"{path}: {len(html.encode()) / 1024:.0f} kB, one file; "
            f"loads from the network: {', '.join(outside) if outside else 'nothing'}"
        )
    print("Attach either file to an email; it opens offline in any current browser.")


if __name__ == "__main__":
    main()
