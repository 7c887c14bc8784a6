"""Programme starts and referrals to other provision for a synthetic :func:`whp_like`
population, with the truth (take-up, contamination) that made them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from dwp_eval._validation import check_seed
from dwp_eval.datasets._common import _arms
from dwp_eval.errors import OptionError

__all__ = [
    "DISSIMILAR_PROVISION",
    "SIGNPOSTING",
    "SIMILAR_PROVISION",
    "WhpRecords",
    "whp_referrals",
]

#: Rate at which work coaches signpost control-arm members to similar provision, by site.
SIGNPOSTING: dict[str, float] = {
    "North East": 0.05,
    "North West": 0.08,
    "Central": 0.06,
    "Home Counties": 0.03,
    "London": 0.12,
    "Southern": 0.04,
    "Wales": 0.10,
}

#: Provision similar to the programme under test (an IPS-like trial and third-party IPS).
SIMILAR_PROVISION = ("IPS trial", "Third-party IPS support")

#: Other provision that people are referred to, not similar to the programme.
DISSIMILAR_PROVISION = (
    "Work search review",
    "CV workshop",
    "Sector-based work academy",
    "Talking therapies",
    "Debt advice",
)


class WhpRecords(NamedTuple):
    """Programme starts, referral records and the truth behind them (:func:`whp_referrals`)."""

    starts: pd.DataFrame
    referrals: pd.DataFrame
    truth: pd.DataFrame


def _rate(value: float, *, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value <= 1:
        raise OptionError(
            f"The '{param}' parameter of whp_referrals must be a rate in [0, 1]. Got {value!r} instead."
        )
    return float(value)


def whp_referrals(
    people: pd.DataFrame,
    assigned: pd.Series | np.ndarray,
    *,
    seed: int | np.random.Generator,
    treatment: str = "treatment",
    control: str = "control",
    take_up: float = 0.75,
    signposting: Mapping[str, float] | float | None = None,
    also_received: float = 0.02,
    crossover: float = 0.01,
    trivial: float = 0.03,
    out_of_window: float = 0.02,
    dissimilar: float = 1.0,
    duplicates: float = 0.01,
    unknown_ids: float = 0.002,
) -> WhpRecords:
    """Programme starts and referrals to other provision, with the truth that made them.

    Made for :func:`~dwp_eval.flag_contamination` and
    :func:`~dwp_eval.take_up` on a :func:`whp_like` population: the true rates
    are known, so tests and examples can check that they are recovered.

    Parameters
    ----------
    people
        Output of :func:`whp_like` (uses ``id``, ``referred_on``, the date of
        randomisation, ``site`` and, if present, ``months_out_of_work``).
    assigned
        Each person's arm, aligned with ``people``.
    seed
        An int or a ``numpy.random.Generator``.
    treatment, control
        Labels of the programme arm and the control arm. People in other arms
        get neither starts nor signposting (only the background records).
    take_up
        Mean probability that a treatment-arm member starts the programme (the
        WHP: about 75% of those referred started).
    signposting
        Probability that a control-arm member is signposted to similar
        provision and attends: a dict by site (default :data:`SIGNPOSTING`,
        3% to 12%) or one rate for every site.
    also_received
        Probability that a treatment-arm member also receives similar provision.
    crossover
        Probability that a control-arm member starts the programme itself.
    trivial
        Probability that someone (either arm) has a trivial contact with similar
        provision: a record lasting 1 to 3 days.
    out_of_window
        Probability that someone (either arm) has a similar-provision record
        outside the first year: half start 1 to 120 days before randomisation,
        half 366 to 540 days after. Also the share of programme takers whose
        (only) start comes after day 365.
    dissimilar
        Mean number (Poisson) of records of dissimilar provision per person.
    duplicates
        Share of records (referrals and starts) repeated exactly.
    unknown_ids
        Share of extra referral records naming ids not in ``people`` (ids
        above the largest; only when ids are integers).

    Returns
    -------
    WhpRecords
        A named tuple of three DataFrames.

        ``starts``: ``id``, ``start_date``; one row per programme start, sorted
        by date then id.

        ``referrals``: ``id``, ``provision``, ``start_date``, ``end_date``
        (NaT: still attending); sorted by date then id.

        ``truth``: one row per person in the order of ``people``: ``id``,
        ``arm``, ``site``, ``took_up`` (started the programme at any time),
        ``received_programme`` (started within 365 days), ``contaminated``
        (control arm: similar provision of 14 days or more within 365 days),
        ``also_received`` (the same in the treatment arm), ``trivial_contact``
        and ``received`` (``received_programme`` or substantive similar
        provision: the receipt that carries the effect in
        :func:`whp_outcomes`).

        ``truth.attrs["true_rates"]`` (also on ``referrals.attrs``) holds the
        rates used: ``signposting`` (by site), ``expected_contamination`` (the
        mean signposting rate over the control arm: the expected share of
        controls flagged), ``take_up`` (mean probability over the treatment
        arm), ``also_received``, ``crossover``, ``trivial``, ``out_of_window``.

    Notes
    -----
    The data-generating process, person by person:

    1. Treatment arm: start the programme with probability ``p_i = take_up +
       0.1 z_i``, where ``z_i`` is minus the standardised
       ``months_out_of_work`` (clipped to +-1.5 and centred over the arm), so
       people out of work longer take up less and ``mean(p_i) = take_up``
       (selection into take-up, which biases as-treated comparisons but not
       the CACE). The first start is ``1 + Gamma(2, 12)`` days after
       randomisation (at most 300); for a share ``out_of_window`` of takers it
       is 366 to 540 days instead; 5% of takers restart 30 to 200 days later.
    2. Control arm: start the programme with probability ``crossover`` (0 to
       300 days after randomisation).
    3. Control arm: with probability ``signposting[site]``, one similar record
       (two for 20% of them; "IPS trial" 70%, "Third-party IPS support" 30%),
       starting 0 to 330 days after randomisation and lasting 14 to 180 days
       (10% still attending). Treatment arm: the same with probability
       ``also_received``.
    4. Everyone else in those arms: a trivial contact (similar provision, 1 to
       3 days) with probability ``trivial``.
    5. Everyone in those arms: with probability ``out_of_window``, one similar
       record outside the first year (see above).
    6. Everyone: ``Poisson(dissimilar)`` dissimilar records, starting 200 days
       before to 500 days after randomisation, 1 to 120 days long.
    7. Records: a share ``duplicates`` repeated; a share ``unknown_ids`` of
       extra records naming ids not in the trial.

    So with ``window_days=(0, 365)`` and any ``min_days`` from 4 to 14,
    :func:`~dwp_eval.flag_contamination` with ``similar=SIMILAR_PROVISION``
    recovers ``truth["contaminated"]`` and ``truth["also_received"]``
    exactly, and :func:`~dwp_eval.take_up` recovers
    ``truth["received_programme"]``.

    Examples
    --------
    >>> from dwp_eval.datasets import whp_like, whp_referrals
    >>> people = whp_like(n=2000, seed=1)
    >>> arm = ["treatment", "control"] * 1000
    >>> rec = whp_referrals(people, arm, seed=2)
    >>> list(rec.referrals.columns)
    ['id', 'provision', 'start_date', 'end_date']
    >>> round(rec.truth.attrs["true_rates"]["take_up"], 2)
    0.75
    """
    func = "whp_referrals"
    rng = check_seed(seed, func=func)
    if not isinstance(people, pd.DataFrame):
        raise OptionError(
            f"The 'people' parameter of {func} must be a pandas DataFrame (e.g. from whp_like). "
            f"Got {type(people).__name__} instead."
        )
    needed = ["id", "referred_on", "site"]
    absent = [c for c in needed if c not in people.columns]
    if absent:
        raise OptionError(
            f"The 'people' parameter of {func} must have columns 'id', 'referred_on' and 'site' "
            f"(as whp_like makes). Missing: {', '.join(repr(c) for c in absent)}; columns present: "
            f"{', '.join(repr(c) for c in people.columns)}."
        )
    n = len(people)
    arm = _arms(assigned, n, func=func)
    rates = {
        name: _rate(value, param=name)
        for name, value in {
            "take_up": take_up,
            "also_received": also_received,
            "crossover": crossover,
            "trivial": trivial,
            "out_of_window": out_of_window,
            "duplicates": duplicates,
            "unknown_ids": unknown_ids,
        }.items()
    }
    if isinstance(dissimilar, bool) or not isinstance(dissimilar, (int, float, np.floating)) or dissimilar < 0:
        raise OptionError(
            f"The 'dissimilar' parameter of {func} must be a non-negative number (records per "
            f"person). Got {dissimilar!r} instead."
        )
    site = people["site"].astype(str).to_numpy()
    sites_present = sorted(set(site.tolist()))
    if signposting is None:
        sign_map = dict(SIGNPOSTING)
    elif isinstance(signposting, Mapping):
        sign_map = {str(k): _rate(v, param="signposting") for k, v in signposting.items()}
    else:
        value = _rate(signposting, param="signposting")
        sign_map = dict.fromkeys(sites_present, value)
    missing_sites = [s for s in sites_present if s not in sign_map]
    if missing_sites:
        raise OptionError(
            f"The 'signposting' parameter of {func} must give a rate for every site. Missing: "
            f"{', '.join(repr(s) for s in missing_sites)}."
        )
    ids = people["id"].to_numpy()
    rand_day = pd.to_datetime(people["referred_on"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    is_t = arm == treatment
    is_c = arm == control

    # 1-2. programme starts
    if "months_out_of_work" in people.columns and is_t.any():
        months = people["months_out_of_work"].to_numpy(dtype=float)
        sd = months[is_t].std() or 1.0
        z = np.clip(-(months - months[is_t].mean()) / sd, -1.5, 1.5)
        z = z - z[is_t].mean()
    else:
        z = np.zeros(n)
    p_take = np.clip(rates["take_up"] + 0.1 * z, 0.0, 1.0)
    took = is_t & (rng.random(n) < p_take)
    late = took & (rng.random(n) < rates["out_of_window"])
    first = np.minimum(1 + np.round(rng.gamma(2.0, 12.0, size=n)), 300).astype(np.int64)
    first = np.where(late, rng.integers(366, 541, size=n), first)
    cross = is_c & (rng.random(n) < rates["crossover"])
    first = np.where(cross, rng.integers(0, 301, size=n), first)
    restart = took & (rng.random(n) < 0.05)
    second = first + rng.integers(30, 201, size=n)
    starter = took | cross
    st_pos = np.concatenate([np.flatnonzero(starter), np.flatnonzero(restart)])
    st_day = np.concatenate([first[starter], second[restart]])
    received_programme = starter & ~late  # crossovers all start within 300 days

    # 3-5. similar provision
    substantive_p = np.where(is_c, np.array([sign_map[s] for s in site]), 0.0)
    substantive_p = np.where(is_t, rates["also_received"], substantive_p)
    subst = (is_t | is_c) & (rng.random(n) < substantive_p)
    two = subst & (rng.random(n) < 0.2)
    trivial_ = (is_t | is_c) & ~subst & (rng.random(n) < rates["trivial"])
    outside = (is_t | is_c) & (rng.random(n) < rates["out_of_window"])
    rec_pos: list[np.ndarray] = []
    rec_start: list[np.ndarray] = []
    rec_len: list[np.ndarray] = []
    rec_prov: list[np.ndarray] = []
    n_sim = len(SIMILAR_PROVISION)
    for who, lo, hi, len_lo, len_hi in (
        (np.flatnonzero(subst), 0, 331, 14, 181),
        (np.flatnonzero(two), 0, 331, 14, 181),
        (np.flatnonzero(trivial_), 0, 366, 1, 4),
    ):
        rec_pos.append(who)
        rec_start.append(rng.integers(lo, hi, size=who.size))
        rec_len.append(rng.integers(len_lo, len_hi, size=who.size))
        rec_prov.append(rng.choice(n_sim, size=who.size, p=[0.7, 0.3]))
    who = np.flatnonzero(outside)
    before = rng.random(who.size) < 0.5
    rec_pos.append(who)
    rec_start.append(np.where(before, rng.integers(-120, 0, size=who.size), rng.integers(366, 541, size=who.size)))
    rec_len.append(rng.integers(14, 181, size=who.size))
    rec_prov.append(rng.choice(n_sim, size=who.size, p=[0.7, 0.3]))
    # 6. dissimilar provision
    k = rng.poisson(float(dissimilar), size=n)
    who = np.repeat(np.arange(n), k)
    rec_pos.append(who)
    rec_start.append(rng.integers(-200, 501, size=who.size))
    rec_len.append(rng.integers(1, 121, size=who.size))
    rec_prov.append(n_sim + rng.integers(0, len(DISSIMILAR_PROVISION), size=who.size))

    pos = np.concatenate(rec_pos)
    start = rand_day[pos] + np.concatenate(rec_start)
    end = start + np.concatenate(rec_len) - 1
    prov = np.concatenate(rec_prov)
    ongoing = np.zeros(pos.size, dtype=bool)
    n_first = rec_pos[0].size + rec_pos[1].size
    ongoing[:n_first] = rng.random(n_first) < 0.1
    names = np.asarray(SIMILAR_PROVISION + DISSIMILAR_PROVISION, dtype=object)

    # 7. duplicates and unknown ids
    dup = rng.random(pos.size) < rates["duplicates"]
    rows = np.concatenate([np.arange(pos.size), np.flatnonzero(dup)])
    ref_ids = ids[pos][rows]
    ref = pd.DataFrame(
        {
            "id": ref_ids,
            "provision": names[prov][rows],
            "start_date": start[rows].astype("datetime64[D]").astype("datetime64[ns]"),
            "end_date": np.where(ongoing, np.datetime64("NaT", "D"), end.astype("datetime64[D]"))[rows].astype(
                "datetime64[ns]"
            ),
        }
    )
    n_unknown = round(rates["unknown_ids"] * len(ref))
    if n_unknown and pd.api.types.is_integer_dtype(people["id"]):
        take = rng.integers(0, len(ref), size=n_unknown)
        extra = ref.iloc[take].copy()
        extra["id"] = ids.max() + 1 + rng.integers(0, max(n_unknown, 1) * 10, size=n_unknown)
        ref = pd.concat([ref, extra], ignore_index=True)
    ref = ref.sort_values(["start_date", "id"], kind="stable").reset_index(drop=True)

    st_dup = rng.random(st_pos.size) < rates["duplicates"]
    st_rows = np.concatenate([np.arange(st_pos.size), np.flatnonzero(st_dup)])
    starts = pd.DataFrame(
        {
            "id": ids[st_pos][st_rows],
            "start_date": (rand_day[st_pos] + st_day)[st_rows].astype("datetime64[D]").astype("datetime64[ns]"),
        }
    )
    starts = starts.sort_values(["start_date", "id"], kind="stable").reset_index(drop=True)

    truth = pd.DataFrame(
        {
            "id": ids,
            "arm": arm,
            "site": site,
            "took_up": starter.astype(np.int64),
            "received_programme": received_programme.astype(np.int64),
            "contaminated": (subst & is_c).astype(np.int64),
            "also_received": (subst & is_t).astype(np.int64),
            "trivial_contact": trivial_.astype(np.int64),
            "received": (received_programme | subst).astype(np.int64),
        }
    )
    n_c = int(is_c.sum())
    true_rates = {
        "signposting": {s: sign_map[s] for s in sites_present},
        "expected_contamination": float(substantive_p[is_c].sum() / n_c) if n_c else float("nan"),
        "take_up": float(p_take[is_t].mean()) if is_t.any() else float("nan"),
        "also_received": rates["also_received"],
        "crossover": rates["crossover"],
        "trivial": rates["trivial"],
        "out_of_window": rates["out_of_window"],
    }
    truth.attrs["true_rates"] = true_rates
    ref.attrs["true_rates"] = true_rates
    return WhpRecords(starts, ref, truth)
