"""Combining the dependent effects of one study (Borenstein et al. 2009, ch. 24; metafor's aggregate.escalc)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayesma._validate import as_numeric, column, stripped_ids
from bayesma.effects._common import _fmt
from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["aggregate"]


def aggregate(
    data: pd.DataFrame,
    yi: str = "yi",
    vi: str = "vi",
    cluster: str = "study",
    rho: float = 0.5,
    weighted: bool = True,
) -> pd.DataFrame:
    """Combine the dependent effects of each cluster (study) into one.

    The effects within a cluster are assumed to correlate with the constant
    correlation *rho*, so their covariance matrix is compound-symmetric:
    ``V[i, j] = rho sqrt(vi[i] vi[j])`` off the diagonal and ``vi[i]`` on it.

    * ``weighted=True`` (the default, as metafor's ``aggregate.escalc``): the
      generalized least squares estimate ``(1'V^-1 1)^-1 1'V^-1 y`` with
      variance ``(1'V^-1 1)^-1``.
    * ``weighted=False`` (Borenstein et al. 2009, ch. 24): the mean of the
      m effects, with variance ``(1/m)^2 (sum vi + sum_{i != j} rho sqrt(vi vj))``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per effect.
    yi, vi, cluster : str
        Column names of the effects, their sampling variances and the cluster ids.
    rho : float
        Correlation between the effects of one cluster, in [-1, 1].
    weighted : bool
        Inverse-variance weighting (GLS, metafor's default) or, with False, the plain mean.

    Returns
    -------
    pandas.DataFrame
        One row per cluster, in the order of first appearance: the other
        columns of the cluster's first row, the combined *yi* and *vi*, and
        ``n_effects`` (the number of effects combined). The index is 0..n-1.

    Raises
    ------
    ValueError
        A missing cluster id, effect or variance (naming the row and column),
        a negative variance, *rho* outside [-1, 1], or (weighted) a covariance
        matrix that is not positive definite in a cluster (naming it).

    Examples
    --------
    >>> import pandas as pd
    >>> import bayesma as bm
    >>> df = pd.DataFrame({"study": ["A", "A", "B"], "yi": [0.2, 0.4, 0.1], "vi": [0.04, 0.04, 0.02]})
    >>> bm.aggregate(df, rho=0.5)
      study   yi    vi  n_effects
    0     A  0.3  0.03          2
    1     B  0.1  0.02          1
    """
    if not isinstance(data, pd.DataFrame):
        raise ArgumentTypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for role, name in (("yi", yi), ("vi", vi), ("cluster", cluster)):
        if not isinstance(name, str):
            raise ArgumentTypeError(f"aggregate: {role}= takes the name of a column of data, got "
                                    f"{type(name).__name__}; add the values to data as a column")
        column(data, name, role)  # a name that is not a column: ValueError listing the columns
    try:
        rho = float(rho)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"rho must be a number, got {rho!r}") from None
    if not -1 <= rho <= 1:
        raise InputError(f"rho must lie in [-1, 1], got {rho}")
    if len(data) == 0:
        raise InputError("data has no rows")

    y = as_numeric(data[yi], yi)
    v = as_numeric(data[vi], vi)
    cl = data[cluster]
    for name, arr in ((yi, y), (vi, v)):
        bad = np.isnan(arr)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"column {name!r}: row {i + 1} (cluster {cl.iloc[i]!r}) is missing; "
                "remove or impute it before aggregating"
            )
    bad = v < 0
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"column {vi!r}: row {i + 1} (cluster {cl.iloc[i]!r}) has a negative variance {_fmt(v[i])}")
    if cl.isna().any():
        i = int(np.flatnonzero(cl.isna().to_numpy())[0])
        raise InputError(f"column {cluster!r}: row {i + 1} has no cluster id")

    codes, uniques = pd.factorize(pd.Series(stripped_ids(cl, f"cluster {cluster!r}"), dtype=object), sort=False)
    n_clusters = len(uniques)
    first = np.zeros(n_clusters, dtype=int)
    yi_agg = np.empty(n_clusters)
    vi_agg = np.empty(n_clusters)
    counts = np.bincount(codes, minlength=n_clusters)
    for g in range(n_clusters):
        rows = np.flatnonzero(codes == g)
        first[g] = rows[0]
        yg, vg = y[rows], v[rows]
        s = np.sqrt(vg)
        V = rho * np.outer(s, s)
        np.fill_diagonal(V, vg)
        m = len(rows)
        if not weighted:
            yi_agg[g] = yg.mean()
            vi_agg[g] = V.sum() / m**2
            continue
        eig = np.linalg.eigvalsh(V)
        if eig[0] <= 1e-12 * max(eig[-1], 0.0) or eig[-1] <= 0:
            raise InputError(
                f"cluster {uniques[g]!r}: the covariance matrix of its {m} effects (rho = {rho}) "
                "is not positive definite, so the weighted (GLS) estimate is undefined; "
                "use rho < 1 or weighted=False"
            )
        L = np.linalg.cholesky(V)
        a = np.linalg.solve(L, np.ones(m))
        b = np.linalg.solve(L, yg)
        w_sum = float(a @ a)  # 1' V^-1 1
        yi_agg[g] = float(a @ b) / w_sum
        vi_agg[g] = 1 / w_sum

    out = data.iloc[first].copy()
    out[yi] = yi_agg
    out[vi] = vi_agg
    out["n_effects"] = counts
    return out.reset_index(drop=True)
