"""Colours and alternative text for the library's plots.

:data:`OKABE_ITO` is the colour-blind-safe palette of Okabe & Ito (2008),
*Color Universal Design (CUD): how to make figures and presentations that are
friendly to colorblind people* (J*Fly, https://jfly.uni-koeln.de/color/): eight
colours that stay distinct under the common forms of colour blindness. Plots
draw their series in :data:`SERIES` order and mark with shape as well as colour.

Every ``plot()`` method describes what it drew in one sentence, the text a
screen reader reads for the image: :func:`set_alt_text` puts it on the figure as
``figure.alt_text`` (and the result's ``alt_text()`` returns the same words).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BLUE", "GREY", "OKABE_ITO", "ORANGE", "SERIES", "SKY_BLUE", "VERMILLION",
           "alt_text_of", "band_plot", "fit_tick_labels", "set_alt_text"]

#: The eight colours of Okabe & Ito (2008), in their order: black, orange, sky
#: blue, bluish green, yellow, blue, vermillion, reddish purple.
OKABE_ITO: tuple[str, ...] = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
)

BLACK, ORANGE, SKY_BLUE, BLUISH_GREEN, YELLOW, BLUE, VERMILLION, REDDISH_PURPLE = OKABE_ITO

#: Reference lines and secondary marks (a neutral grey, not a series colour).
GREY = "#7f7f7f"

#: The order series take their colours in (yellow, hard to see on white, last).
SERIES: tuple[str, ...] = (BLUE, VERMILLION, BLUISH_GREEN, ORANGE, REDDISH_PURPLE, SKY_BLUE,
                           BLACK, YELLOW)


def set_alt_text(ax: Any, text: str) -> None:
    """Record ``text`` as the alternative text of the figure ``ax`` is on
    (``figure.alt_text``); a figure with several plots joins their texts."""
    fig = ax.figure
    old = getattr(fig, "alt_text", "")
    fig.alt_text = text if not old or old == text else f"{old} {text}"


def alt_text_of(fig: Any) -> str:
    """The alternative text a plot method left on ``fig`` ("" if none)."""
    return str(getattr(fig, "alt_text", ""))


def fit_tick_labels(ax: Any, n: int, *, largest: float = 9.0, smallest: float = 5.0) -> None:
    """Shrink the ``n`` y tick labels of ``ax`` so that each fits the height its row has
    (at most ``largest`` points, at least ``smallest``): labels never overlap on a
    short figure. A figure too short even for ``smallest`` should be made taller."""
    height_pt = ax.get_position().height * ax.figure.get_figheight() * 72.0
    size = max(smallest, min(largest, 0.8 * height_pt / max(n, 1)))
    ax.tick_params(axis="y", labelsize=size)


def band_plot(ax: Any, x: Any, frame: Any, *, scale: float, alpha: float, label: str,
              **kwargs: Any) -> None:
    """An estimate against ``x`` (a line with markers) over its ``1 - alpha`` interval
    as a band, with the zero line: ``frame`` holds ``estimate``, ``conf_low`` and
    ``conf_high``, drawn times ``scale`` (100 for percentage points)."""
    ax.fill_between(x, scale * frame["conf_low"], scale * frame["conf_high"], alpha=0.25,
                    color=BLUE, label=f"{100 * (1 - alpha):g}% CI")
    kwargs.setdefault("color", BLUE)
    ax.plot(x, scale * frame["estimate"], marker="o", ms=3, label=label, **kwargs)
    ax.axhline(0, color=GREY, lw=0.8)
