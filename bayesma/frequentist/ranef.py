"""Best linear unbiased predictions of the study effects (metafor's ``blup`` and ``ranef``).

For study i with shrinkage factor ``lambda_i = tau2 / (tau2 + v_i)``:

* ``blup``: ``theta_i = lambda_i y_i + (1 - lambda_i) x_i'beta`` (the study's true effect),
  variance ``lambda_i v_i + (1 - lambda_i)^2 x_i' Var(beta) x_i``;
* ``ranef``: ``u_i = lambda_i (y_i - x_i'beta)`` (its deviation from the model),
  variance ``lambda_i v_i + lambda_i^2 x_i' Var(beta) x_i``;

with prediction intervals ``pred ± crit se`` (a t quantile for Knapp-Hartung fits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import check_level
from bayesma.errors import ArgumentTypeError
from bayesma.frequentist.inference import critical_value
from bayesma.frequentist.transf import transform_table
from bayesma.frequentist.weights import refuse_user_weights

__all__ = ["blup", "ranef"]


def _check(res: Any, what: str) -> None:
    if not all(hasattr(res, a) for a in ("X", "data", "beta", "vb", "tau2")) or res.X is None \
            or hasattr(res, "sigma2"):
        raise ArgumentTypeError(f"{what} needs a fit of bayesma.rma() (got {type(res).__name__})")
    refuse_user_weights(res, what)


def _predictions(res: Any, level: float | None, random_part: bool,
                 transf: Callable[[np.ndarray], np.ndarray] | None) -> pd.DataFrame:
    X, yi, vi = res.X, res.data.yi, res.data.vi
    tau2 = 0.0 if res.method == "FE" else float(res.tau2)
    lam = tau2 / (tau2 + vi)
    fitted = X @ res.beta
    xvx = np.einsum("ij,jk,ik->i", X, res.vb, X)
    if random_part:
        pred = lam * (yi - fitted)
        vpred = lam * vi + lam**2 * xvx
    else:
        pred = lam * yi + (1 - lam) * fitted
        vpred = lam * vi + (1 - lam) ** 2 * xvx
    se = np.sqrt(vpred)
    crit = critical_value(check_level(res.level if level is None else level), res.dfs)
    out = pd.DataFrame({"pred": pred, "se": se, "pi_lb": pred - crit * se, "pi_ub": pred + crit * se},
                       index=pd.Index(list(res.data.labels), name="study"))
    return transform_table(out, transf, "pred", (("pi_lb", "pi_ub"),))


def blup(res: Any, level: float | None = None,
         transf: Callable[[np.ndarray], np.ndarray] | None = None) -> pd.DataFrame:
    """Best linear unbiased predictions of the true study effects (metafor's ``blup``).

    Parameters
    ----------
    res : RMAResult
        A fit of :func:`bayesma.rma`.
    level : float, optional
        Level of the prediction intervals (default: the fit's).
    transf : callable, optional
        Applied to ``pred`` and the interval bounds (e.g. ``numpy.exp``); ``se`` is then NaN.

    Returns
    -------
    pandas.DataFrame
        One row per study (index: label): ``pred``, ``se``, ``pi_lb``, ``pi_ub``.

    Raises
    ------
    TypeError
        *res* is not a fit of :func:`bayesma.rma`.

    References
    ----------
    Raudenbush, S. W., & Bryk, A. S. (1985). Empirical Bayes meta-analysis. Journal of
    Educational Statistics, 10, 75-98. metafor 3.8-1, ``blup.rma.uni``.

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL")
    >>> bm.blup(res)["pred"].round(4).tolist()
    [0.1405, 0.2281, 0.2576, 0.1214]
    """
    _check(res, "blup")
    return _predictions(res, level, False, transf)


def ranef(res: Any, level: float | None = None,
          transf: Callable[[np.ndarray], np.ndarray] | None = None) -> pd.DataFrame:
    """Best linear unbiased predictions of the random effects (metafor's ``ranef``).

    The deviation of each study's true effect from the (mixed-)model prediction; all zero
    for a common-effect (FE) fit.

    Parameters
    ----------
    res : RMAResult
        A fit of :func:`bayesma.rma`.
    level : float, optional
        Level of the prediction intervals (default: the fit's).
    transf : callable, optional
        Applied to ``pred`` and the interval bounds; ``se`` is then NaN.

    Returns
    -------
    pandas.DataFrame
        One row per study (index: label): ``pred``, ``se``, ``pi_lb``, ``pi_ub``.

    Raises
    ------
    TypeError
        *res* is not a fit of :func:`bayesma.rma`.

    References
    ----------
    metafor 3.8-1, ``ranef.rma.uni``.

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL")
    >>> bm.ranef(res)["pred"].round(4).tolist()
    [-0.0464, 0.0412, 0.0707, -0.0655]
    """
    _check(res, "ranef")
    return _predictions(res, level, True, transf)
