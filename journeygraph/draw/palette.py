"""One palette keyed by meaning, for every view (diagram, canvas, diff, legend).

Colours come from the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"),
chosen so that the outcome kinds stay apart for readers with deuteranopia, protanopia
and tritanopia (checked by simulation in ``tests/test_draw_palette.py`` with the
Machado, Oliveira & Fernandes 2009 matrices). Colour never carries meaning alone: each
meaning also has a second cue, its line style (``DASH``) or a badge.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "COLOURS",
    "DASH",
    "FILLS",
    "INK",
    "MUTED",
    "colour",
    "fill",
    "leak_fill",
    "sentiment_fill",
]

#: Lines, text and outlines, by meaning.
COLOURS: Final[dict[str, str]] = {
    "conversion": "#009E73",  # Okabe–Ito bluish green
    "churn": "#D55E00",  # Okabe–Ito vermillion
    "competitor": "#CC79A7",  # Okabe–Ito reddish purple
    "leak": "#D55E00",  # a leak is churn: the churn colour
    "switching": "#CC79A7",  # switching is loss to a competitor
    "added": "#0072B2",  # Okabe–Ito blue: never the conversion colour
    "removed": "#6E6E6E",  # grey, dashed
    "changed": "#E69F00",  # Okabe–Ito orange
    "forward": "#4D4D4D",
    "within": "#8C8C8C",
    "skip": "#1A1A1A",
    "backtrack": "#56B4E9",  # Okabe–Ito sky blue, dashed
    "entry": "#8C8C8C",
    "positive": "#0072B2",
    "negative": "#D55E00",
    "neutral": "#8C8C8C",
}

#: Text in a meaning's colour: the same hues, dark enough for small text on white
#: (contrast at least 4.5:1, WCAG AA).
TEXT: Final[dict[str, str]] = {
    "conversion": "#00704F",
    "churn": "#A94A00",
    "competitor": "#97487A",
    "added": "#005A8C",
    "removed": "#595959",
    "changed": "#8A5A00",
    "backtrack": "#1F6F9E",
}

#: Light fills (boxes, bars) by meaning; text in ``INK`` stays readable on each.
FILLS: Final[dict[str, str]] = {
    "conversion": "#D5EFE6",
    "churn": "#F7DCCA",
    "competitor": "#F3E0EA",
    "leak": "#F2B48F",  # the strongest leak fill: churn family, not the competitor's
    "added": "#DCEBF6",
    "removed": "#EFEFEF",
    "changed": "#FBEBC8",
    "touchpoint": "#FFFFFF",
    "stage": "#F3F5F8",
    "stage_alt": "#E9EDF2",
}

#: The second cue of each line meaning (SVG/Graphviz dash style name).
DASH: Final[dict[str, str]] = {
    "conversion": "solid",
    "churn": "dashed",
    "competitor": "dotted",
    "backtrack": "dashed",
    "removed": "dashed",
    "added": "solid",
    "changed": "solid",
}

INK: Final = "#1F2933"
MUTED: Final = "#5F6B7A"


def colour(meaning: str) -> str:
    """The line colour of a meaning (``"conversion"``, ``"added"``, ...).

    >>> colour("churn")
    '#D55E00'
    """
    return COLOURS[meaning]


def text_colour(meaning: str) -> str:
    """The colour of small text in a meaning's hue (``COLOURS`` where it is dark enough).

    >>> text_colour("competitor"), text_colour("forward")
    ('#97487A', '#4D4D4D')
    """
    return TEXT.get(meaning, COLOURS[meaning])


def fill(meaning: str) -> str:
    """The light fill of a meaning.

    >>> fill("conversion")
    '#D5EFE6'
    """
    return FILLS[meaning]


def _mix(a: str, b: str, t: float) -> str:
    ra, ga, ba = (int(a[i : i + 2], 16) for i in (1, 3, 5))
    rb, gb, bb = (int(b[i : i + 2], 16) for i in (1, 3, 5))
    t = max(0.0, min(1.0, t))
    r, g, bl = (round(x + (y - x) * t) for x, y in ((ra, rb), (ga, gb), (ba, bb)))
    return f"#{r:02X}{g:02X}{bl:02X}"


def sentiment_fill(value: float | None) -> str:
    """A touchpoint's fill by sentiment: orange-tinted negative, blue-tinted positive
    (a diverging scale that stays apart for colour-blind readers), grey when unknown.

    >>> sentiment_fill(None), sentiment_fill(0.0)
    ('#E4E4E4', '#FFFFFF')
    """
    if value is None:
        return "#E4E4E4"
    if value < 0:
        return _mix("#FFFFFF", "#F5B98F", -value)
    return _mix("#FFFFFF", "#9CCBEA", value)


def leak_fill(share: float) -> str:
    """Leak severity (0 = no churn here, 1 = the largest leak): white to ``FILLS["leak"]``.

    >>> leak_fill(0.0), leak_fill(1.0)
    ('#FFFFFF', '#F2B48F')
    """
    return _mix("#FFFFFF", FILLS["leak"], share)
