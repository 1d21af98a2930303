"""bayesma's exceptions and warnings: what went wrong, by type.

Every problem bayesma reports on purpose is a :class:`BayesmaError`; the
classes also derive from the builtin a Python user expects (``ValueError``
for a bad value, ``TypeError`` for an argument of the wrong kind,
``RuntimeError`` for a computation that did not converge), so
``except ValueError`` keeps working. The command line maps them to exit
codes by type: :class:`InputError`, :class:`ArgumentTypeError` and
:class:`UnsupportedModelError` are the user's input (exit 2, one line);
:class:`ConvergenceError` is a computation that failed on valid input (exit
1, one line); anything else is a bug in bayesma.

Warnings derive from :class:`BayesmaWarning` (a ``UserWarning``), one class
per recurring kind, so a script can silence or escalate exactly one kind::

    import warnings, bayesma as bm
    warnings.simplefilter("ignore", bm.errors.SmallKWarning)

Examples
--------
>>> import bayesma as bm
>>> try:
...     bm.MetaData.create([0.1, 0.2], [0.01, -0.02], labels=["A", "B"])
... except bm.InputError as err:
...     print(err.study, err.row, err.column)
B 2 vi
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BayesmaError", "InputError", "ArgumentTypeError", "UnknownParameterError", "UnsupportedModelError",
    "ConvergenceError",
    "BayesmaWarning", "SmallKWarning", "HeavyTailWarning", "PriorDominatesWarning", "SamplingWarning",
    "ConvergenceWarning", "MissingDataWarning", "DataWarning",
    "where", "study_error",
]


class BayesmaError(Exception):
    """Base class of the errors bayesma raises on purpose.

    Examples
    --------
    >>> issubclass(InputError, BayesmaError)
    True
    """


class InputError(BayesmaError, ValueError):
    """Bad input data or a bad argument value: names the study (label and row) and the column.

    Parameters
    ----------
    message : str
        What is wrong, in full (use :func:`study_error` to build one that names a cell).
    study : str, optional
        The study's label.
    row : int, optional
        The study's row, counted from 1 over the data rows.
    column : str, optional
        The column (or argument) holding the bad value.

    Examples
    --------
    >>> err = InputError("column 'vi': study 'A' (row 1) has a variance of -1", study="A", row=1, column="vi")
    >>> isinstance(err, ValueError), err.column
    (True, 'vi')
    """

    def __init__(self, message: str = "", *, study: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message)
        self.study = study
        self.row = row
        self.column = column


class ArgumentTypeError(BayesmaError, TypeError):
    """An argument of the wrong kind (a result where data was expected, a string for a number, ...).

    Examples
    --------
    >>> isinstance(ArgumentTypeError("seed must be an integer"), TypeError)
    True
    """


class UnknownParameterError(InputError, KeyError):  # numpydoc ignore=PR01
    """A parameter name a posterior does not have (``post.draws("muu")``): an :class:`InputError`
    listing the names it has, and a ``KeyError`` for code that looks names up.

    Examples
    --------
    >>> err = UnknownParameterError("no parameter 'muu' in the posterior; parameters: ['mu', 'tau']")
    >>> isinstance(err, KeyError), isinstance(err, ValueError), str(err)[:22]
    (True, True, "no parameter 'muu' in ")
    """

    __str__ = BaseException.__str__


class UnsupportedModelError(BayesmaError, ValueError):
    """A model (or a result) that this engine or method cannot handle; the message says why and what to use.

    Examples
    --------
    >>> err = UnsupportedModelError("selmodel needs a model without clusters; use regtest on the multilevel model")
    >>> isinstance(err, ValueError)
    True
    """


class ConvergenceError(BayesmaError, RuntimeError):
    """A computation on valid input that did not converge (an optimiser, a sampler, a root finder).

    Examples
    --------
    >>> isinstance(ConvergenceError("tau² did not converge"), RuntimeError)
    True
    """


class BayesmaWarning(UserWarning):
    """Base class of bayesma's warnings.

    Examples
    --------
    >>> issubclass(SmallKWarning, BayesmaWarning)
    True
    """


class SmallKWarning(BayesmaWarning):
    """Few studies: the result depends on the prior (or the method's large-k approximation)."""


class HeavyTailWarning(BayesmaWarning):
    """A posterior whose mean or variance does not exist (heavy tails at small k)."""


class PriorDominatesWarning(SmallKWarning):
    """The data say almost nothing about a parameter: its posterior is essentially its prior."""


class SamplingWarning(BayesmaWarning):
    """MCMC diagnostics (R-hat, ESS, divergences) failed: the draws may not describe the posterior."""


class ConvergenceWarning(BayesmaWarning, RuntimeWarning):
    """An optimiser stopped early or at a bound; a fallback was used or the result may be unreliable."""


class MissingDataWarning(BayesmaWarning, RuntimeWarning):
    """Studies left out, or results NaN, because of missing or undefined values (also a ``RuntimeWarning``)."""


class DataWarning(BayesmaWarning):
    """Data that is valid but suspicious (extreme variance ratios, merged levels, dropped predictors, ...)."""


def where(labels: Sequence[Any] | None, row: int | None, column: str | None = None) -> str:
    """How a message names one cell: ``"column 'vi': study 'X' (row N)"`` (*row* 0-based in, 1-based out).

    Parameters
    ----------
    labels : sequence or None
        The study labels (None: the studies are only numbered).
    row : int or None
        The row, 0-based (None: the column only).
    column : str, optional
        The column (or argument) name.

    Returns
    -------
    str

    Examples
    --------
    >>> where(["A", "B"], 1, "vi")
    "column 'vi': study 'B' (row 2)"
    >>> where(None, 0)
    'study in row 1'
    """
    study = ""
    if row is not None:
        study = f"study {labels[row]!r} (row {row + 1})" if labels is not None else f"study in row {row + 1}"
    if column is None:
        return study
    return f"column {column!r}: {study}" if study else f"column {column!r}"


def study_error(message: str, labels: Sequence[Any] | None = None, row: int | None = None,
                column: str | None = None) -> InputError:
    """An :class:`InputError` about one cell: ``"column 'vi': study 'X' (row N) <message>"``.

    Parameters
    ----------
    message : str
        What is wrong with the value, as a predicate (``"has a variance of -1"``).
    labels : sequence or None
        The study labels.
    row : int or None
        The row, 0-based.
    column : str, optional
        The column (or argument) name.

    Returns
    -------
    InputError
        With ``study``, ``row`` (1-based) and ``column`` set; raise it.

    Examples
    --------
    >>> str(study_error("has a variance of -1", ["A"], 0, "vi"))
    "column 'vi': study 'A' (row 1) has a variance of -1"
    """
    study = None if labels is None or row is None else str(labels[row])
    sep = " " if row is not None else ": "
    return InputError(f"{where(labels, row, column)}{sep}{message}", study=study,
                      row=None if row is None else row + 1, column=column)
