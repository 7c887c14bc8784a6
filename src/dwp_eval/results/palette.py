"""The colour-blind-safe palette every plot of the library draws with.

Okabe & Ito (2008), *Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people*: eight colours that stay
distinct under the common forms of colour-vision deficiency (protanopia,
deuteranopia, tritanopia) and in greyscale print when paired with markers.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["OKABE_ITO"]

#: Okabe-Ito colours by name (hex RGB, as Okabe & Ito 2008 give them).
OKABE_ITO = MappingProxyType({
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
})
