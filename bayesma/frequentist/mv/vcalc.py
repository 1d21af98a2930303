"""The sampling covariance matrix of dependent effects (metafor's ``vcalc`` and ``blsplit``).

Within a cluster, two effects i != j have the sampling correlation

    r_ij = c_ij * t_ij,
    c_ij = 1 (same type, same obs) | rho_obs[obs_i, obs_j] (same type) | rho_type[type_i, type_j],

where ``t_ij`` is the correlation of the two (differences of) time points, ``phi**|time_i - time_j|``
(metafor's formula with groups ``grp1``/``grp2``, times ``time1``/``time2`` and weights
``w1``/``w2``); effects of different clusters are independent, and ``V = S R S`` with
``S = diag(sqrt(vi))``. With ``rvars``, each cluster's block is read from the columns *rvars*
(lower triangle, the first n_c columns for a cluster of n_c rows).

The result is a :class:`~bayesma.frequentist.mv.blocks.BlockDiag`: one dense block per cluster,
rows in the data's order, blocks in the order clusters first appear. It is built vectorised over
all clusters of one size, so k = 100,000 effects take a fraction of a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import column, columns, stripped_ids
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist.mv.blocks import BlockDiag, SizeGroup

__all__ = ["vcalc", "blsplit", "cluster_groups"]


def cluster_groups(codes: np.ndarray, n_clusters: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """For cluster codes 0..m-1 (one per row), the rows of each cluster grouped by cluster size:
    a list of ``(order, rows)`` with ``order`` (n_s,) the cluster codes and ``rows`` (n_s, s) their
    row positions in the data's order."""
    sizes = np.bincount(codes, minlength=n_clusters)
    perm = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = []
    for s in np.unique(sizes):
        if s == 0:
            continue
        cl = np.flatnonzero(sizes == s)
        out.append((cl, perm[starts[cl][:, None] + np.arange(s)]))
    return out


def _values(data: pd.DataFrame | None, spec: Any, name: str, k: int | None) -> np.ndarray:
    vals = np.asarray(column(data, spec, name))
    if vals.ndim == 0 and k is not None:
        vals = np.repeat(vals, k)
    if k is not None and len(vals) != k:
        raise InputError(f"{name} has {len(vals)} values but there are {k} effects")
    if pd.isna(pd.Series(vals, dtype=object)).any():
        row = int(np.flatnonzero(pd.isna(pd.Series(vals, dtype=object)))[0])
        raise InputError(f"{name}: missing value in row {row + 1} (no missing values are allowed in {name})")
    return vals


def _rho_matrix(rho: Any, levels: np.ndarray, name: str) -> Any:
    """A correlation over *levels* (order of first appearance): a number (the same for every pair
    of levels) or a matrix from a DataFrame."""
    if np.ndim(rho) == 0:
        if abs(float(rho)) > 1:
            raise InputError("all correlations given by rho must be in [-1, 1]")
        return float(rho)
    if isinstance(rho, pd.DataFrame):
        lab = [str(v) for v in rho.index]
        missing = [str(v) for v in levels if str(v) not in lab]
        if missing:
            raise InputError(f"there are {name} values with no row/column in the rho matrix: {missing}")
        pos = [lab.index(str(v)) for v in levels]
        mat = rho.to_numpy(dtype=float)[np.ix_(pos, pos)]
    else:
        raise ArgumentTypeError(f"rho for {name} must be a number or a pandas DataFrame labelled by the {name} values")
    if np.any(np.abs(mat) > 1):
        raise InputError("all correlations given by rho must be in [-1, 1]")
    return mat


def _split_rho(rho: Any, has_type: bool, has_obs: bool) -> tuple[Any, Any]:
    """metafor's rules: (rho for obs within a type, rho between types)."""
    if not has_type and not has_obs:
        return 0.0, 0.0
    if rho is None:
        raise InputError("give rho= when obs= or type= is given")
    if has_type and has_obs:
        if isinstance(rho, pd.DataFrame) or np.ndim(rho) == 0 or len(rho) != 2:
            raise InputError("when type= and obs= are both given, rho= must give two correlations: "
                             "[within a construct (obs), between constructs (type)]")
        return rho[0], rho[1]
    if not isinstance(rho, pd.DataFrame) and np.ndim(rho) == 1:
        if len(rho) != 1:
            raise InputError("when only one of type= or obs= is given, rho= must be a single number or a matrix")
        rho = rho[0]
    return (rho, 0.0) if has_obs else (0.0, rho)


def _time_corr(phi: float, ga, ta, gb, tb) -> np.ndarray:
    same = ga == gb
    dt = np.abs(ta - tb)
    return np.where(same, np.where(dt == 0, 1.0, phi ** np.where(dt == 0, 1.0, dt)), 0.0)


def _corr_blocks(rows, tcode, ocode, rho_obs, rho_type, g1, g2, t1, t2, w1, w2, phi) -> np.ndarray:
    """The correlation blocks (n, s, s) of clusters whose rows are *rows* (n, s)."""
    a, b = (slice(None), slice(None), None), (slice(None), None, slice(None))
    ti, oi = tcode[rows], ocode[rows]
    look = lambda r, c: r if np.ndim(r) == 0 else r[c[a], c[b]]  # noqa: E731
    c = np.where(ti[a] == ti[b], np.where(oi[a] == oi[b], 1.0, look(rho_obs, oi)), look(rho_type, ti))
    G1, G2, T1, T2 = g1[rows], g2[rows], t1[rows], t2[rows]
    u1, u2 = 1.0 / w1[rows], 1.0 / w2[rows]
    num = (_time_corr(phi, G1[a], T1[a], G1[b], T1[b]) * np.sqrt(u1[a] * u1[b])
           - _time_corr(phi, G1[a], T1[a], G2[b], T2[b]) * np.sqrt(u1[a] * u2[b])
           - _time_corr(phi, G2[a], T2[a], G1[b], T1[b]) * np.sqrt(u2[a] * u1[b])
           + _time_corr(phi, G2[a], T2[a], G2[b], T2[b]) * np.sqrt(u2[a] * u2[b]))
    self_var = np.sqrt(u1 + u2 - 2 * _time_corr(phi, G1, T1, G2, T2) * np.sqrt(u1 * u2))
    R = c * num / (self_var[a] * self_var[b])
    idx = np.arange(rows.shape[1])
    R[:, idx, idx] = 1.0
    return R


def _rvars_blocks(rows: np.ndarray, rv: np.ndarray) -> np.ndarray:
    s = rows.shape[1]
    x = rv[rows][:, :, :s]  # (n, s, s): row a of a cluster, columns 0..s-1
    low = np.tril(np.ones((s, s), dtype=bool))
    return np.where(low, x, np.swapaxes(x, 1, 2))


def vcalc(
    vi: Any,
    cluster: Any,
    obs: Any = None,
    type: Any = None,  # noqa: A002 - metafor's argument name
    time1: Any = None,
    phi: float | None = None,
    rho: Any = None,
    rvars: Sequence[str] | None = None,
    data: pd.DataFrame | None = None,
    *,
    subgroup: Any = None,
    time2: Any = None,
    grp1: Any = None,
    grp2: Any = None,
    w1: Any = None,
    w2: Any = None,
    checkpd: bool = True,
) -> BlockDiag:
    """Construct the sampling covariance matrix of dependent effects (metafor's ``vcalc``).

    Parameters
    ----------
    vi : str, float or array_like, shape (k,)
        Sampling variances (a column name of *data*), or one number for every row (e.g. ``1``
        with *rvars*). A missing variance gives a row and column of NaN (as metafor), which
        :func:`~bayesma.frequentist.mv.rma_mv` drops with the row.
    cluster : str or array_like, shape (k,)
        The cluster (study) of each effect; effects of different clusters are independent.
    obs : str or array_like, optional
        Which observation (e.g. effect size id) within a cluster; different obs of one type
        correlate by *rho*.
    type : str or array_like, optional
        Which construct (outcome type); different types correlate by *rho*.
    time1 : str or array_like of float, optional
        Time point of each effect: correlation ``phi**|time1_i - time1_j|``.
    phi : float, optional
        Autocorrelation in [-1, 1], required with *time1*.
    rho : float, pair, or pandas.DataFrame, optional
        The correlation: one number for *obs* or *type*; ``[rho_obs, rho_type]`` when both are
        given; or a correlation matrix labelled by the obs (or type) values.
    rvars : list of str, optional
        Columns of *data* that hold each cluster's covariance block (lower triangle; a
        cluster of n_c rows uses the first n_c columns); *obs*, *type*, *time1*, *phi*, *rho* are
        then ignored, as in metafor.
    data : pandas.DataFrame, optional
        Table holding the named columns.
    subgroup, time2, grp1, grp2, w1, w2 : optional
        metafor's further arguments: *subgroup* splits clusters; *grp1*/*grp2*, *time2* and
        *w1*/*w2* describe effects that are differences of two groups or time points.
    checkpd : bool
        Warn when a cluster's block is not positive definite (metafor's ``checkpd``).

    Returns
    -------
    BlockDiag
        k x k block-diagonal matrix, rows in the data's order; ``.blocks`` lists one block per
        cluster in the order of first appearance; ``.toarray()``, ``.tocsr()`` convert it.

    Raises
    ------
    ValueError
        Missing values in the structure columns, lengths that differ, rho missing or out of
        [-1, 1], phi missing with *time1*, or *rvars* not matching the largest cluster.

    References
    ----------
    metafor 3.8-1, ``vcalc``; Pustejovsky, J. E., & Tipton, E. (2022). Meta-analysis with robust
    variance estimation: expanding the range of working models. Prevention Science, 23, 425-438.

    Examples
    --------
    >>> import pandas as pd
    >>> import bayesma as bm
    >>> df = pd.DataFrame({"study": [1, 1, 2], "esid": [1, 2, 1], "vi": [0.04, 0.09, 0.01]})
    >>> V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df)
    >>> V.toarray().round(4).tolist()
    [[0.04, 0.03, 0.0], [0.03, 0.09, 0.0], [0.0, 0.0, 0.01]]
    """
    if data is None:  # Series pair by index (with the first Series given), never by position
        names = ("vi", "cluster", "obs", "type", "time1", "subgroup", "time2", "grp1", "grp2", "w1", "w2")
        al = columns(None, dict(zip(names, (vi, cluster, obs, type, time1, subgroup, time2, grp1, grp2, w1, w2))))
        vi, cluster, obs, type, time1, subgroup, time2, grp1, grp2, w1, w2 = (al[n] for n in names)  # noqa: A001
    cl = _values(data, cluster, "cluster", None)
    k = len(cl)
    if k < 2:
        raise InputError("vcalc needs at least two effects (k = 1)")
    v = np.asarray(column(data, vi, "vi") if isinstance(vi, str) else vi, dtype=float)
    v = np.repeat(v, k) if v.ndim == 0 else v
    if v.shape != (k,):
        raise InputError(f"vi has {v.size} values but cluster has {k}")
    if subgroup is not None:
        sg = _values(data, subgroup, "subgroup", k)
        cl = np.array([f"{a}.{b}" for a, b in zip(cl, sg)], dtype=object)
    codes, labels = pd.factorize(pd.Series(stripped_ids(cl, "cluster", stacklevel=5), dtype=object), sort=False)
    groups = cluster_groups(codes, len(labels))
    if rvars is not None:
        mats = _rvars_mats(data, rvars, groups, obs, type, time1, phi, rho)
    else:
        mats = _structured_mats(data, k, groups, obs, type, time1, phi, rho, time2, grp1, grp2, w1, w2)
    sq = np.sqrt(v)
    out = []
    for (order, rows), R in zip(groups, mats):
        S = sq[rows]
        out.append(SizeGroup(rows, S[:, :, None] * R * S[:, None, :], order))
        if checkpd:
            _check_pd(R, order, labels)
    return BlockDiag.from_groups(out, k, list(labels))


def _structured_mats(data, k, groups, obs, type_, time1, phi, rho, time2, grp1, grp2, w1, w2) -> list:
    if time2 is not None and time1 is None:
        raise InputError("give only time1=, both time1= and time2=, or neither")
    if grp2 is not None and grp1 is None:
        raise InputError("give only grp1=, both grp1= and grp2=, or neither")
    if (time2 is not None or w2 is not None) and grp2 is None:
        raise InputError("give grp2= when time2= or w2= is given")
    if time1 is not None:
        if phi is None:
            raise InputError("give phi= when time1= is given")
    else:
        phi = 1.0
    if abs(float(phi)) > 1:
        raise InputError(f"phi must be in [-1, 1], got {phi}")
    rho_obs, rho_type = _split_rho(rho, type_ is not None, obs is not None)
    o = _values(data, obs, "obs", k) if obs is not None else np.ones(k)
    t = _values(data, type_, "type", k) if type_ is not None else np.ones(k)
    ocode, olev = pd.factorize(pd.Series(o, dtype=object), sort=False)
    tcode, tlev = pd.factorize(pd.Series(t, dtype=object), sort=False)
    R_obs = _rho_matrix(rho_obs, np.asarray(olev), "obs")
    R_type = _rho_matrix(rho_type, np.asarray(tlev), "type")
    num = lambda x, n: np.asarray(_values(data, x, n, k), dtype=float)  # noqa: E731
    t1 = num(time1, "time1") if time1 is not None else np.ones(k)
    t2 = num(time2, "time2") if time2 is not None else t1
    # metafor's defaults: grp1 = 1 and grp2 = 2 for every row, compared as values
    gv1 = _values(data, grp1, "grp1", k) if grp1 is not None else np.ones(k, dtype=int)
    gv2 = _values(data, grp2, "grp2", k) if grp2 is not None else np.full(k, 2)
    both = pd.factorize(pd.Series([str(x) for x in np.concatenate([gv1, gv2])], dtype=object))[0]
    g1, g2 = both[:k], both[k:]
    ww1 = num(w1, "w1") if w1 is not None else np.ones(k)
    ww2 = num(w2, "w2") if w2 is not None else ww1
    return [_corr_blocks(rows, tcode, ocode, R_obs, R_type, g1, g2, t1, t2, ww1, ww2, float(phi))
            for _, rows in groups]


def _rvars_mats(data, rvars, groups, obs, type_, time1, phi, rho) -> list:
    if data is None:
        raise InputError("give data= when rvars= is given")
    ignored = [n for n, a in (("obs", obs), ("type", type_), ("time1", time1), ("phi", phi), ("rho", rho))
               if a is not None]
    if ignored:
        warnings.warn(f"vcalc: argument(s) {', '.join(ignored)} ignored when rvars= is given", stacklevel=3)
    names = list(rvars)
    missing = [n for n in names if n not in data.columns]
    if missing:
        raise InputError(f"rvars: columns {missing} are not in the data")
    rv = data[names].to_numpy(dtype=float)
    largest = max(rows.shape[1] for _, rows in groups)
    if largest > len(names):
        raise InputError(f"there are {len(names)} rvars columns, but clusters with {largest} rows")
    if largest != len(names):
        raise InputError(f"there are {len(names)} rvars columns, but no cluster with this many rows")
    return [_rvars_blocks(rows, rv) for _, rows in groups]


def _check_pd(R: np.ndarray, order: np.ndarray, labels: Any) -> None:
    ok = ~np.isnan(R).any(axis=(1, 2))
    if not ok.any() or R.shape[1] == 1:
        return
    ev = np.linalg.eigvalsh(R[ok])
    bad = order[ok][ev.min(axis=1) <= np.finfo(float).eps]
    for b in sorted(bad)[:5]:
        warnings.warn(f"vcalc: the var-cov matrix appears to be not positive definite in cluster {labels[b]}",
                      stacklevel=3)


def blsplit(V: Any, cluster: Any, data: pd.DataFrame | None = None, sort: bool = False) -> dict[Any, np.ndarray]:
    """Split a block-diagonal matrix into its cluster blocks (metafor's ``blsplit``).

    Parameters
    ----------
    V : BlockDiag, scipy.sparse matrix or array_like, shape (k, k)
        A symmetric matrix, e.g. from :func:`vcalc`.
    cluster : str or array_like, shape (k,)
        Cluster of each row (a column name of *data*).
    data : pandas.DataFrame, optional
        Table holding *cluster*.
    sort : bool
        Order the clusters by value (default: order of first appearance).

    Returns
    -------
    dict
        Cluster label -> dense block (the rows and columns of that cluster, in the data's order).

    Raises
    ------
    ValueError
        *cluster* does not have one value per row of *V*, or *V* is not symmetric.

    References
    ----------
    metafor 3.8-1, ``blsplit``.

    Examples
    --------
    >>> import bayesma as bm
    >>> V = bm.vcalc([0.04, 0.09, 0.01], cluster=[1, 1, 2], obs=[1, 2, 1], rho=0.5)
    >>> {c: b.round(3).tolist() for c, b in bm.blsplit(V, [1, 1, 2]).items()}
    {1: [[0.04, 0.03], [0.03, 0.09]], 2: [[0.01]]}
    """
    cl = _values(data, cluster, "cluster", None)
    k = len(cl)
    if tuple(V.shape) != (k, k):
        raise InputError(f"cluster has {k} values but V is {V.shape[0]} x {V.shape[1]}")
    codes, labels = pd.factorize(pd.Series(stripped_ids(cl, "cluster"), dtype=object), sort=sort)
    out: dict[Any, np.ndarray] = {}
    csr = V.tocsr() if hasattr(V, "tocsr") else None
    dense = None if csr is not None else np.asarray(V, dtype=float)
    for j, lab in enumerate(labels):
        r = np.flatnonzero(codes == j)
        blk = csr[r][:, r].toarray() if csr is not None else np.asarray(dense)[np.ix_(r, r)]
        if not np.allclose(blk, blk.T, rtol=1e-10, atol=0):
            raise InputError(f"V is not symmetric in cluster {lab!r}")
        out[lab.item() if hasattr(lab, "item") else lab] = blk
    return out
