"""The US National JTPA Study (adult sample of Abadie, Angrist & Imbens 2002),
and the published table it reproduces (Angrist & Pischke 2009, Table 4.4.1)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from dwp_eval.errors import ColumnError, OptionError

__all__ = ["JTPA_COLUMNS", "jtpa", "jtpa_mhe_table"]

# the columns of the MHE data archive's jtpa.dta, in its order
JTPA_COLUMNS = (
    "earnings", "jtpa_offer", "jtpa_training", "sex", "hsorged", "black", "hispanic",
    "married", "wkless13", "afdc", "age2225", "age2629", "age3035", "age3644", "age4554",
    "class_tr", "ojt_jsa", "f2sms",
)


def jtpa(path: str | Path | None = None) -> pd.DataFrame:
    """The JTPA adult sample: a real employment-programme trial with non-compliance
    on both sides, 11,204 people (5,102 men, 6,102 women).

    Parameters
    ----------
    path
        ``None`` (default): the copy shipped in the package (``dwp_eval/datasets/
        data/jtpa.dta``). Otherwise the path of your own copy of ``jtpa.dta`` (Stata
        format, the MHE data archive's columns).

    Returns
    -------
    pandas.DataFrame
        One row per person: ``earnings`` (30-month earnings, dollars),
        ``jtpa_offer`` (1 randomly offered JTPA services: the assignment),
        ``jtpa_training`` (1 enrolled in training: the treatment received),
        ``sex`` (1 male) and the baseline covariates of Abadie, Angrist & Imbens
        (2002, p. 101): ``hsorged`` (high school or GED), ``black``,
        ``hispanic``, ``married``, ``wkless13`` (worked fewer than 13 weeks in
        the year before assignment), ``afdc`` (AFDC receipt; used for women
        only), the age groups ``age2225`` ... ``age4554`` (22-25 ... 45-54;
        omitted: 19-21), the recommended service strategy ``class_tr``
        (classroom training) and ``ojt_jsa`` (on-the-job training / job search
        assistance; omitted: other) and ``f2sms`` (second follow-up survey).

    Raises
    ------
    OptionError
        ``path`` does not exist or is not a Stata file.
    ColumnError
        The file lacks some of the columns above.

    Notes
    -----
    The shipped file is ``jtpa.dta`` of the *Mostly Harmless Econometrics*
    data archive, as kept at GitHub thisisoctavio/econometrics @ 2370737e,
    ``data/jtpa.dta`` (SHA-256 d2204578...1ed07d), copied unchanged; its
    provenance is in ``dwp_eval/datasets/data/PROVENANCE.md``. The data are the
    study's, not this project's; cite Abadie, A., Angrist, J. and Imbens, G.
    (2002). Instrumental variables estimates of the effect of subsidized
    training on the quantiles of trainee earnings. *Econometrica* 70(1),
    91-117; and Bloom, H. S. et al. (1997). The benefits and costs of JTPA
    Title II-A programs. *Journal of Human Resources* 32(3), 549-576.

    Examples
    --------
    >>> data = jtpa()
    >>> data.shape, int((data["sex"] == 1).sum())
    ((11204, 18), 5102)
    """
    if path is None:
        source = resources.files("dwp_eval").joinpath("datasets/data/jtpa.dta")
        with source.open("rb") as fh:
            return pd.read_stata(fh)
    file = Path(path)
    if not file.is_file():
        raise OptionError(
            f"The 'path' parameter of jtpa() must be an existing Stata file (jtpa.dta). "
            f"Got {str(file)!r}, which does not exist. Fix: pass the path of your copy, "
            "or no path to read the copy shipped with dwp_eval."
        )
    try:
        data = pd.read_stata(file)
    except ValueError as exc:
        raise OptionError(
            f"jtpa(): {str(file)!r} could not be read as a Stata file ({exc}). "
            "Fix: pass the path of jtpa.dta from the MHE data archive."
        ) from None
    missing = [c for c in JTPA_COLUMNS if c not in data.columns]
    if missing:
        raise ColumnError(
            f"jtpa(): {str(file)!r} lacks the column(s) {', '.join(missing)} of the JTPA "
            "adult sample. Fix: pass the MHE data archive's jtpa.dta."
        )
    return data


def jtpa_mhe_table() -> pd.DataFrame:
    """The published estimates that :func:`jtpa` reproduces: Angrist & Pischke (2009),
    *Mostly Harmless Econometrics*, Table 4.4.1, with the cells Abadie, Angrist &
    Imbens (2002) also print.

    Returns
    -------
    pandas.DataFrame
        One row per published cell: ``sample`` (men, women), ``covariates``
        (none, baseline), ``quantity`` (``ols``: trainees minus non-trainees;
        ``itt``: offered minus not offered; ``first_stage``: the offer's effect
        on training; ``wald_iv``: training instrumented by the offer),
        ``estimate`` and ``std_error`` (dollars, except the first stage), the
        ``source`` (book or paper, table, page; a standard error derived from a
        printed t says so) and ``verified`` (``yes``: read from the paper;
        ``no``: the MHE cells, not checked against the printed book).

    Notes
    -----
    A copy of the source repository's ``tests/reference/itt/
    jtpa_mhe_table_4_4_1.csv``, whose notes (``jtpa_notes.md`` beside it) say
    how each cell was checked.

    Examples
    --------
    >>> table = jtpa_mhe_table()
    >>> sorted(table["quantity"].unique())
    ['first_stage', 'itt', 'ols', 'wald_iv']
    """
    source = resources.files("dwp_eval").joinpath("datasets/data/jtpa_mhe_table_4_4_1.csv")
    with source.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)
