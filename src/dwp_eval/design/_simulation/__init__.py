"""The machinery behind :func:`~dwp_eval.diagnose` (private to ``design``):
``population`` (the simulation spec, the population contract, revealing
outcomes, the true effect), ``batched`` (a fixed population's draws and the
batched difference in means) and ``run`` (running a chunk of simulations)."""

from dwp_eval.design._simulation.adjusted import regression_ok
from dwp_eval.design._simulation.batched import FixedPopulation, batched_ok
from dwp_eval.design._simulation.population import Spec, check_population
from dwp_eval.design._simulation.run import FixedState, Out, prepare_fixed, run_chunk

__all__ = ["FixedPopulation", "FixedState", "Out", "Spec", "batched_ok", "check_population",
           "prepare_fixed", "regression_ok", "run_chunk"]
