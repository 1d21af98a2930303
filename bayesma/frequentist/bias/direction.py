"""One rule for the direction of publication bias, shared by every direction-dependent method
(selection models, PET-PEESE, trim-and-fill's side, the CLI's ``bayesma bias``).

Selection favours significant results *in the direction of the effect*: positive effects when
the effect is positive, negative ones when it is negative. ``alternative="auto"`` (the default)
reads the direction from the data: the sign of the inverse-variance weighted average of the
effects. An explicit ``"greater"`` or ``"less"`` is used as given, with a warning when the data
point the other way (RoBMA warns in the same situation). Every printout says which direction was
used and whether it was detected.
"""

from __future__ import annotations

import warnings

import numpy as np

from bayesma.errors import InputError

__all__ = ["resolve_alternative", "Direction"]

ALTERNATIVES = ("auto", "greater", "less")


class Direction(str):
    """``"greater"`` or ``"less"``, remembering how it was chosen (``.how``: a phrase for printouts)."""

    how: str

    def __new__(cls, value: str, how: str) -> Direction:
        obj = super().__new__(cls, value)
        obj.how = how
        return obj


def resolve_alternative(alternative: str, yi: np.ndarray, vi: np.ndarray, what: str) -> Direction:
    """The direction to use: detected from the data for ``"auto"``, else as given (with a warning
    when the pooled effect has the other sign).

    Parameters
    ----------
    alternative : {"auto", "greater", "less"}
        As given by the user.
    yi, vi : numpy.ndarray
        Effects and sampling variances.
    what : str
        The method's name, for messages.

    Returns
    -------
    Direction
        ``"greater"`` or ``"less"`` with ``.how``: "detected: the pooled effect is negative", or
        "as given".

    Raises
    ------
    InputError
        For an unknown *alternative*.
    """
    if isinstance(alternative, Direction):  # already resolved (e.g. by the CLI): keep how it was chosen
        return alternative
    if alternative not in ALTERNATIVES:
        raise InputError(f"{what}: alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    pooled = float(np.sum(y / v) / np.sum(1.0 / v))
    data_side = "greater" if pooled >= 0 else "less"
    if alternative == "auto":
        sign = "positive" if pooled >= 0 else "negative"
        # named as the common-effect estimate: the printouts show a random-effects estimate beside it
        return Direction(data_side, f"detected: the pooled effect is {sign}, common-effect estimate {pooled:.4f}")
    if alternative != data_side:
        favoured = "positive" if alternative == "greater" else "negative"
        warnings.warn(
            f"{what}: alternative={alternative!r} assumes that {favoured} significant results are favoured for "
            f"publication, but the pooled effect is {pooled:.4f} (common-effect estimate); if the published studies favour effects in "
            f"the direction of the data, use alternative={data_side!r} (or 'auto')", UserWarning, stacklevel=3)
    return Direction(alternative, "as given")
