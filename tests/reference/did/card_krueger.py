"""Card & Krueger (1994) long panel from the public-use file.

Reads ``card_krueger_public.dat`` (column layout from its codebook) and writes
``data/card_krueger.csv``: one row per store and wave with FTE employment
``EMPFT + NMGRS + 0.5 x EMPPT`` (missing when any part is missing). Sheet
numbers are not unique across states (sheet 407 is one NJ and one PA store), so
the store id is ``<state>-<sheet>``. Wave-2 status 2, 4 and 5 (temporarily
closed) have missing employment; status 3 (closed permanently) has 0.

Run from the repository root: ``python tests/reference/did/card_krueger.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SOURCE = Path(__file__).resolve().parents[4] / "shared" / "data" / "card_krueger_public.dat"
OUT = Path(__file__).parent / "data" / "card_krueger.csv"
COLUMNS = (
    "sheet chain co_owned state southj centralj northj pa1 pa2 shore ncalls empft emppt nmgrs "
    "wage_st inctime firstinc bonus pctaff meals open hrsopen psoda pfry pentree nregs nregs11 "
    "type2 status2 date2 ncalls2 empft2 emppt2 nmgrs2 wage_st2 inctime2 firstin2 special2 meals2 "
    "open2r hrsopen2 psoda2 pfry2 pentree2 nregs2 nregs112"
).split()


def read_wide(path: Path = SOURCE) -> pd.DataFrame:
    """The 410 stores, one row each, with ``fte`` (wave 1) and ``fte2`` (wave 2)."""
    wide = pd.read_csv(path, sep=r"\s+", header=None, names=COLUMNS, na_values=".")
    # a Series of text, not a NumPy array (NumPy < 2 cannot add arrays of str)
    state = pd.Series(np.where(wide["state"] == 1, "NJ", "PA"), index=wide.index)
    wide["store"] = state + "-" + wide["sheet"].astype(str)
    wide["fte"] = wide["empft"] + wide["nmgrs"] + 0.5 * wide["emppt"]
    wide["fte2"] = wide["empft2"] + wide["nmgrs2"] + 0.5 * wide["emppt2"]
    return wide


def to_long(wide: pd.DataFrame) -> pd.DataFrame:
    """One row per store and wave: store, nj, wave (0 Feb-Mar, 1 Nov-Dec 1992), status2, fte."""
    parts = []
    for wave, col in ((0, "fte"), (1, "fte2")):
        parts.append(
            pd.DataFrame({"store": wide["store"], "nj": wide["state"], "chain": wide["chain"],
                          "wave": wave, "status2": wide["status2"], "fte": wide[col]})
        )
    return pd.concat(parts, ignore_index=True).sort_values(["store", "wave"], ignore_index=True)


if __name__ == "__main__":
    long = to_long(read_wide())
    long.to_csv(OUT, index=False)
    print(f"wrote {OUT.name}: {len(long)} rows, {long['store'].nunique()} stores")
