"""Notes on estimates of a multivariate model at the boundary of their range: a correlation of the true
effects at -1 or 1, a variance component at 0. The printout of :func:`bayesma.rma_mv` and the command line's
``bayesma mv`` report write the same words (the advice of what to compare differs)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: a correlation this close to -1 or 1, and a variance below this, is at its bound
RHO_TOL = 1e-6
VAR_TOL = 1e-8

#: the comparison each surface suggests for a correlation at its bound
PYTHON_COMPARE = "struct='DIAG' (no correlation) or a CHE working model with bm.robust()"


def boundary_notes(res: Any, compare: str = PYTHON_COMPARE) -> list[str]:
    """The notes for the correlations (rho, phi) estimated at -1 or 1 and the variances (tau^2, gamma^2) of
    the ``~ inner | outer`` terms estimated at 0; empty when none is at its bound.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> boundary_notes(SimpleNamespace(rho=[1.0], tau2=[0.02], phi=[], gamma2=[]))[0][:60]
    'The correlation of the true effects across outcomes (rho) is'
    >>> boundary_notes(SimpleNamespace(rho=[0.4], tau2=[0.02], phi=[], gamma2=[]))
    []
    """
    notes = []
    inners = [info.get("inner") for info in getattr(res, "struct_info", [])] + [None, None]
    for (name, inner) in zip(("rho", "phi"), inners):
        what = f"across the levels of {inner!r}" if inner else "across outcomes"
        r = np.atleast_1d(np.asarray(getattr(res, name, []), dtype=float))
        if r.size and np.any(np.abs(r) > 1 - RHO_TOL):
            notes.append(f"The correlation of the true effects {what} ({name}) is estimated at its bound "
                         f"({', '.join(f'{v:g}' for v in r)}): the data say little about it (few studies report "
                         f"several outcomes), and the model-based intervals lean on that value; compare with "
                         f"{compare}, and report the CR2 intervals where their df allow.")
    for name in ("tau2", "gamma2"):
        v = np.atleast_1d(np.asarray(getattr(res, name, []), dtype=float))
        at0 = np.flatnonzero(v < VAR_TOL)
        if v.size and at0.size:
            label = name.replace("2", "^2")
            which = label if v.size == 1 else ", ".join(f"{label}.{j + 1}" for j in at0)
            notes.append(f"{which} is estimated at 0, the boundary of its range: the true effects show no "
                         "variation of that kind beyond sampling error (a model without that component gives the "
                         "same fit), and its standard error and tests treat a boundary value as an interior one.")
    return notes
