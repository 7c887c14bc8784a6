"""Card & Krueger (1994): the classic 2x2 difference-in-differences data."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["card_krueger"]


def card_krueger() -> pd.DataFrame:
    """The New Jersey / Pennsylvania fast-food panel of Card & Krueger (1994).

    New Jersey raised its minimum wage from $4.25 to $5.05 on 1 April 1992;
    eastern Pennsylvania did not. 410 stores were surveyed in February-March
    (wave 0) and November-December 1992 (wave 1).

    Returns
    -------
    pandas.DataFrame
        One row per store and wave (820 rows): ``store`` (``"NJ-<sheet>"`` or
        ``"PA-<sheet>"``: sheet numbers repeat across states), ``nj`` (1 New
        Jersey), ``chain`` (1 Burger King, 2 KFC, 3 Roy Rogers, 4 Wendy's),
        ``wave``, ``status2`` (wave-2 interview status: 1 answered, 2/4/5
        temporarily closed, 3 closed permanently, 0 refused) and ``fte``
        (full-time-equivalent employment, full-time + managers + half the
        part-time staff; missing when not reported).

    Notes
    -----
    Converted (by ``tests/reference/did/card_krueger.py`` in the source
    repository) from David Card's public-use file ``public.dat`` of the njmin
    archive, as kept at GitHub rafiash/CardKrueger-stata-sample @ 07bc929f
    (SHA-256 04bde0ca...e9ca53a); FTE = EMPFT + NMGRS + 0.5 EMPPT. The data are
    Card and Krueger's, not this project's; cite the paper. Card, D. and
    Krueger, A. B. (1994). Minimum wages and employment: a case study of the
    fast-food industry in New Jersey and Pennsylvania. *American Economic
    Review* 84(4), 772-793.

    Examples
    --------
    >>> ck = card_krueger()
    >>> ck.shape, ck["store"].nunique()
    ((820, 6), 410)
    """
    path = resources.files("dwp_eval").joinpath("_reference/did/data/card_krueger.csv")
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)
