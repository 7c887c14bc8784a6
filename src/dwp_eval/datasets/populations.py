"""Populations with potential outcomes, for simulating trials with
:func:`~dwp_eval.diagnose`: :func:`whp_population` draws a
:func:`~dwp_eval.datasets.whp_like` trial population with the outcomes each
person would have under control and under treatment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwp_eval._validation import check_option
from dwp_eval.datasets.outcomes import OUTCOMES, whp_outcomes
from dwp_eval.datasets.population import whp_like
from dwp_eval.errors import OptionError

__all__ = ["whp_population"]


@dataclass(frozen=True)
class _WhpPopulation:
    """Picklable data-generating process for :func:`whp_population`."""

    n: int
    effect: float
    outcome: str
    take_up: float | None = None
    contamination: float = 0.0

    def __call__(self, rng: np.random.Generator) -> pd.DataFrame:
        people = whp_like(self.n, seed=rng)
        if self.take_up is None:
            # the same generator state twice: identical shocks and uniforms, so y0 and y1
            # are coupled potential outcomes that differ only through the programme
            state = rng.bit_generator.state
            y0 = whp_outcomes(people, np.full(self.n, "control"), seed=rng, effect=self.effect)
            rng.bit_generator.state = state
            y1 = whp_outcomes(people, np.full(self.n, "treatment"), seed=rng, effect=self.effect)
            return people.assign(y0=y0[self.outcome].to_numpy(dtype=float),
                                 y1=y1[self.outcome].to_numpy(dtype=float))
        # receipt: one uniform per person; always-takers u < contamination, compliers
        # contamination <= u < take_up, never-takers the rest (no defiers)
        u = rng.random(self.n)
        d1 = (u < self.take_up).astype(np.int64)
        d0 = (u < self.contamination).astype(np.int64)
        arm = np.full(self.n, "control")
        state = rng.bit_generator.state
        y0 = whp_outcomes(people, arm, seed=rng, effect=self.effect, received=np.zeros(self.n))
        rng.bit_generator.state = state
        y1 = whp_outcomes(people, arm, seed=rng, effect=self.effect, received=np.ones(self.n))
        return people.assign(y0=y0[self.outcome].to_numpy(dtype=float),
                             y1=y1[self.outcome].to_numpy(dtype=float), d0=d0, d1=d1)


def whp_population(
    n: int = 10_000,
    *,
    effect: float = 0.04,
    outcome: str = "employed_13_weeks",
    take_up: float | None = None,
    contamination: float = 0.0,
) -> Callable[[np.random.Generator], pd.DataFrame]:
    """A data-generating process for :func:`~dwp_eval.diagnose` built on :func:`~dwp_eval.datasets.whp_like`.

    Parameters
    ----------
    n
        People per simulated trial.
    effect
        The programme's effect passed to :func:`~dwp_eval.datasets.whp_outcomes`
        (on ``employed_13_weeks``: a proportion, 0.04 = 4 percentage points).
    outcome
        One of the columns made by :func:`~dwp_eval.datasets.whp_outcomes`.
    take_up, contamination
        For ``diagnose(..., estimator="cace")``: the share who would receive the
        programme if offered it and the share who would receive it (or
        provision like it) if assigned to control. Each person draws one
        uniform ``u``: ``d1 = u < take_up``, ``d0 = u < contamination``, so
        there are always-takers, compliers and never-takers but no defiers
        (monotonicity). ``effect`` is then the effect of *receiving* (the
        CACE), and ``y0``/``y1`` are the outcomes without and with receipt.

    Returns
    -------
    callable
        ``dgp(rng)``: a new :func:`~dwp_eval.datasets.whp_like` population with
        potential outcomes ``y0`` (everyone in control) and ``y1`` (everyone
        treated), drawn with the same random numbers so that they differ only
        by the programme's effect; with ``take_up``, also the potential
        receipts ``d0`` and ``d1``.

    Examples
    --------
    >>> import numpy as np
    >>> dgp = whp_population(200, effect=0.04)
    >>> pop = dgp(np.random.default_rng(1))
    >>> pop[["y0", "y1"]].shape
    (200, 2)
    >>> bool((pop["y1"] >= pop["y0"]).all())
    True
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise OptionError(f"The 'n' parameter of whp_population must be an int >= 4. Got {n!r} instead.")
    check_option(outcome, OUTCOMES, param="outcome", func="whp_population")
    for name, value in (("take_up", take_up), ("contamination", contamination)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 <= value <= 1):
            raise OptionError(f"The '{name}' parameter of whp_population must be a share in [0, 1]. "
                              f"Got {value!r} instead.")
    if take_up is not None and not contamination < take_up:
        raise OptionError(
            f"whp_population: contamination ({contamination!r}) must be below take_up "
            f"({take_up!r}), or nobody's receipt depends on assignment and the CACE is not defined."
        )
    if take_up is None and contamination:
        raise OptionError("whp_population: contamination= needs take_up= (the share receiving "
                          "the programme if offered it).")
    return _WhpPopulation(int(n), float(effect), outcome,
                          None if take_up is None else float(take_up), float(contamination))
