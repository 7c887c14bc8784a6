"""dwp_eval: randomised trials and impact evaluation of employment programmes.

The public API is flat: ``import dwp_eval as de`` then ``de.randomise(...)``.
"""

from dwp_eval import datasets, errors
from dwp_eval._version import __version__
from dwp_eval.design import Allocation, BalanceRule, randomise
from dwp_eval.errors import (
    ConvergenceError,
    DwpEvalError,
    DwpEvalWarning,
    RerandomisationWarning,
)
from dwp_eval.estimate.itt import itt
from dwp_eval.monitor import balance
from dwp_eval.results import BalanceTable, Effect

__all__ = [
    "Allocation",
    "BalanceRule",
    "BalanceTable",
    "ConvergenceError",
    "DwpEvalError",
    "DwpEvalWarning",
    "Effect",
    "RerandomisationWarning",
    "__version__",
    "balance",
    "datasets",
    "errors",
    "itt",
    "randomise",
]
