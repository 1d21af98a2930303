"""Coefficients chosen by R name or number: the one resolver behind every ``btt=`` argument.

``anova(res, btt=...)``, ``influence(res, btt=...)``, ``permutest(res, btt=...)`` and
``wald_test(res, constraints=...)`` take the same thing: a coefficient number counted from 1
(metafor's ``btt``, clubSandwich's ``constrain_zero(2:3)``), a name as R's ``model.matrix`` writes
it (``"allocrandom"``, ``"ablat:allocrandom"``, ``"I(ablat^2)"``), or a list of either. A name that
is not a coefficient matches every coefficient containing it (metafor greps: ``"alloc"`` is all
the ``alloc`` terms); a name that is a coefficient is that coefficient alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["resolve_btt"]


def resolve_btt(btt: Any, names: list[str], arg: str = "btt") -> list[int]:
    """Positions (0-based, sorted, unique) of the coefficients *btt* names.

    Parameters
    ----------
    btt : int, str, or a sequence of them
        Coefficient numbers counted from 1, or names (exact, else every name containing it).
    names : list of str
        The model's coefficient names, in order.
    arg : str
        The argument's name, for messages.

    Returns
    -------
    list of int

    Raises
    ------
    InputError
        A number outside 1..p, a name matching no coefficient, or nothing chosen.
    ArgumentTypeError
        Booleans or other types.

    Examples
    --------
    >>> names = ["intrcpt", "ablat", "allocrandom", "allocsystematic", "ablat:allocrandom"]
    >>> resolve_btt([2, "allocrandom"], names)
    [1, 2]
    >>> resolve_btt("alloc", names)
    [2, 3, 4]
    """
    p = len(names)
    if isinstance(btt, (str, int, np.integer)):
        items = [btt]
    elif isinstance(btt, np.ndarray):
        items = list(btt.ravel())
    else:
        try:
            items = list(btt)
        except TypeError:
            raise ArgumentTypeError(f"{arg} must be coefficient numbers (from 1) or names, got {btt!r}") from None
    if not items:
        raise InputError(f"{arg} is empty: give coefficient numbers (from 1) or names; the coefficients are {names}")
    out: list[int] = []
    for b in items:
        if isinstance(b, (bool, np.bool_)):
            raise ArgumentTypeError(f"{arg}: {b!r} is a boolean, not a coefficient number or name")
        if isinstance(b, str):
            hits = [j for j, n in enumerate(names) if n == b] or [j for j, n in enumerate(names) if b in n]
            if not hits:
                raise InputError(f"{arg}: no coefficient matches {b!r}; the coefficients are {names}", column=arg)
            out += hits
        elif isinstance(b, (int, np.integer)) or (isinstance(b, (float, np.floating)) and float(b).is_integer()):
            if not 1 <= int(b) <= p:
                raise InputError(f"{arg}: {b!r} is not a coefficient number in 1..{p} (numbers count from 1, as "
                                 f"in metafor and clubSandwich); the coefficients are {names}", column=arg)
            out.append(int(b) - 1)
        else:
            raise ArgumentTypeError(f"{arg}: {b!r} is neither a coefficient number (from 1) nor a name")
    return sorted(set(out))
