"""Errors and warnings raised by dwp_eval.

Every error a user can trigger with bad input subclasses :class:`DwpEvalError`,
itself a :class:`ValueError`, so ``except ValueError`` keeps working. Messages
name the column or parameter, the problem, and the fix.
"""

from __future__ import annotations

__all__ = [
    "AllocationExistsError",
    "AllocationIntegrityError",
    "ColumnError",
    "ConvergenceError",
    "DegenerateDrawsWarning",
    "DesignError",
    "DroppedRowsWarning",
    "DwpEvalError",
    "DwpEvalWarning",
    "MissingDataError",
    "NotEstimableError",
    "OptionError",
    "OutputExistsError",
    "OutputPathError",
    "RecordProblemsWarning",
    "RerandomisationWarning",
    "VerificationError",
]


class DwpEvalError(ValueError):
    """Base class of every error raised for bad input or an impossible request."""


class OptionError(DwpEvalError):
    """A parameter has a value outside the ones allowed (wrong type, range or name)."""


class ColumnError(DwpEvalError):
    """A named column is missing, has the wrong type, or holds duplicated ids."""


class MissingDataError(DwpEvalError):
    """A column that must be complete holds missing values."""


class DesignError(DwpEvalError):
    """The data do not fit the requested design (e.g. a cluster spanning two strata)."""


class OutputExistsError(DwpEvalError, FileExistsError):
    """Writing an output would replace a file that already exists (pass ``overwrite=True``)."""


class OutputPathError(DwpEvalError):
    """An output path cannot be written safely: a symbolic link, two outputs to one
    file, or a folder held by another writer."""


class NotEstimableError(DesignError):
    """The effect on an outcome has no estimable standard error: the residuals vanish
    to rounding (a constant outcome, or one fitted exactly, e.g. listed among its own
    covariates), or an arm (or a needed stratum's arm) holds fewer than two people.

    ``outcome`` names the outcome and ``reason`` the cause (one of
    :data:`NotEstimableError.REASONS`), so a table or report can catch it and
    mark the cell "not estimable" with the reason, rather than show a p-value
    computed from floating-point noise or a silent NaN.
    """

    REASONS = ("zero residual variance", "outcome among its covariates", "fewer than two per arm")

    def __init__(self, message: str, *, outcome: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.outcome = outcome
        self.reason = reason


class AllocationExistsError(OutputExistsError):
    """Writing an allocation would overwrite one that already exists."""


class AllocationIntegrityError(DwpEvalError):
    """A written allocation (its table or its audit log) is damaged or has been
    edited since it was written; the message names the file and the fix."""


class VerificationError(DwpEvalError):
    """Re-running an allocation from its audit log did not reproduce it."""


class ConvergenceError(DwpEvalError):
    """A solver (e.g. sample size) found no solution in the range it searched."""


class DwpEvalWarning(UserWarning):
    """Base class of warnings issued by dwp_eval."""


class RerandomisationWarning(DwpEvalWarning):
    """The allocation was re-randomised: inference must use randomisation tests."""


class DroppedRowsWarning(DwpEvalWarning):
    """Rows with missing values were dropped (``missing="drop"``); the message counts them."""


class DegenerateDrawsWarning(DwpEvalWarning):
    """Some bootstrap draws could not be studentised and were left out; the message counts them."""


class RecordProblemsWarning(DwpEvalWarning):
    """Referral or programme-start records had problems (ids not in the trial, dates
    before randomisation, duplicates, unknown provision names, programme starts in
    the control arm); the message counts each kind and the result records them."""
