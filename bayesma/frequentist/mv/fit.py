"""Multivariate and multilevel meta-analysis (metafor's ``rma.mv``).

:func:`rma_mv` fits ``y = X beta + sum_t Z_t u_t + e`` with ``e ~ N(0, V)`` (a known sampling
covariance, e.g. from :func:`~bayesma.frequentist.mv.vcalc`) and random effects given by
``random``: ``~ 1 | f`` terms with a variance sigma2 each (nested ``~ 1 | study/esid``, or
several crossed terms), and ``~ inner | outer`` terms with a structured covariance (``struct``:
CS, HCS, UN, DIAG, ID, AR, HAR; parameters tau2/rho, and gamma2/phi for a second term). The
components are estimated by REML or ML (:mod:`~bayesma.frequentist.mv.optimize`: several
starts and a boundary check), the likelihood computed block by block
(:mod:`~bayesma.frequentist.mv.likelihood`).

The three-level call ``rma_mv(yi, vi, cluster=...)`` is the special case
``random = "~ 1 | cluster/obs"`` with a diagonal V, fitted by the same code.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import align, column, label_alias
from bayesma.data import MetaData
from bayesma.design import design_matrix, required_columns
from bayesma.errors import ArgumentTypeError, InputError, MissingDataWarning
from bayesma.frequentist._common import _aligned_mods, _level
from bayesma.frequentist.inference import MV_TESTS, check_test
from bayesma.frequentist.mv.blocks import BlockDiag
from bayesma.frequentist.mv.components import build_params
from bayesma.frequentist.mv.estimate import fit_model
from bayesma.frequentist.mv.inputs import as_blockdiag, check_V, diagonal_V
from bayesma.frequentist.mv.random import SigmaTerm, parse_random, random_columns
from bayesma.frequentist.mv.result import RMAMVResult
from bayesma.frequentist.subset import apply_subset

__all__ = ["rma_mv", "fit_rma_mv"]

_METHODS = ("REML", "ML")


def _method_test(method: str, test: str, dfs: Any) -> tuple[str, str]:
    method = str(method).upper()
    if method not in _METHODS:
        raise InputError(f"method must be one of {_METHODS} for rma_mv, got {method!r}")
    test = check_test(test, MV_TESTS, "rma_mv")  # metafor's rma.mv refuses "knha" and "adhoc"
    if test == "z" and dfs is not None and (not isinstance(dfs, str) or dfs == "contain"):
        test = "t"  # metafor: numeric dfs or dfs="contain" switch to t tests
    return method, test


@label_alias
def rma_mv(
    yi: Any,
    V: Any = None,
    mods: Any = None,
    random: Any = None,
    struct: Any = "CS",
    data: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "z",
    dfs: Any = None,
    sigma2: Any = None,
    tau2: Any = None,
    rho: Any = None,
    gamma2: Any = None,
    phi: Any = None,
    level: float = 0.95,
    *,
    vi: Any = None,
    sei: Any = None,
    cluster: Any = None,
    labels: Any = None,
    missing: str | None = None,
    subset: Any = None,
) -> RMAMVResult:
    """Fit a multivariate / multilevel meta-analysis (metafor's ``rma.mv``).

    Parameters
    ----------
    yi : str or array_like, shape (k,)
        Observed effects, or a column name of *data*.
    V : str, array_like, scipy.sparse matrix, BlockDiag or list of arrays
        Known sampling covariance: a column (or vector) of sampling variances, a k x k matrix
        (dense or sparse), a :class:`~bayesma.frequentist.mv.blocks.BlockDiag` from
        :func:`~bayesma.frequentist.mv.vcalc`, or a list of blocks stacked in row order.
    mods : str, array_like or DataFrame, optional
        Moderators: a formula such as ``"~ outcome - 1"`` (as :func:`bayesma.rma`).
    random : str or list of str, optional
        Random effects: ``"~ 1 | study"``, nested ``"~ 1 | study/esid"``, a list of terms
        (crossed or nested), and ``"~ inner | outer"`` terms with *struct* (at most two).
    struct : str or list of str
        Structure of the ``~ inner | outer`` term(s): ``"CS"``, ``"HCS"``, ``"UN"``, ``"DIAG"``,
        ``"ID"``, ``"AR"``, ``"HAR"``.
    data : pandas.DataFrame, optional
        Table with the named columns.
    method : {"REML", "ML"}
        Restricted or full maximum likelihood.
    test : {"z", "t"}
        Wald z tests, or t tests (and an F test of the moderators) with *dfs* degrees of freedom.
    dfs : {"residual", "contain"} or int, optional
        Degrees of freedom of the t tests: k - p (``"residual"``, the default), metafor's
        containment method, or a number (either of the last two implies ``test="t"``).
    sigma2, tau2, rho, gamma2, phi : float or list, optional
        Fix components at these values (``None``/NaN entries are estimated), in metafor's order.
    level : float
        Confidence level, 0.95 or 95.
    vi : str or array_like, optional
        Sampling variances: *V* itself when *V* is not given, else the values the diagonal of a
        matrix *V* must equal.
    sei : str or array_like, optional
        Standard errors instead of a vector *V* (``V = sei**2``).
    cluster : str or array_like, optional
        The three-level model: effects nested in clusters, ``random = "~ 1 | cluster/obs"``.
    labels : str or array_like, optional
        Effect labels (made unique as ``cluster/label`` with *cluster*).
    missing : {"drop", "raise"}, optional
        Rows with missing values: dropped with a warning as metafor does (the default), or an
        error (the default of the three-level ``cluster=`` call).
    subset : str or array_like, optional
        The effects to fit (metafor's ``subset=``), chosen before fitting: a boolean mask, the name of a
        boolean column of *data*, or 0-based row positions; a k x k *V* is cut in rows and columns (V as
        blocks cannot be: pass ``data=dat[mask]`` and V built on it). See :mod:`bayesma.frequentist.subset`.

    Returns
    -------
    RMAMVResult

    Raises
    ------
    ValueError
        V not symmetric positive semi-definite, of the wrong size or with a diagonal that
        differs from *vi* (naming the first study); a malformed random term; more components
        than the data can identify.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3). metafor 3.8-1, ``rma.mv``. Pustejovsky, J. E., & Tipton, E.
    (2022). Meta-analysis with robust variance estimation. Prevention Science, 23, 425-438.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> res.sigma2.round(4).tolist()
    [0.0651, 0.0327]
    >>> res2 = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    >>> round(float(res2.beta[0]), 4), round(res2.logLik - res.logLik, 8)
    (0.1847, 0.0)
    """
    method, test = _method_test(method, test, dfs)
    level = _level(level)
    data, yi, V, vi, sei, cluster, labels, mods = apply_subset(
        subset, data, yi, V=V, vi=vi, sei=sei, cluster=cluster, labels=labels, mods=mods)
    if cluster is not None:
        if random is not None:
            raise InputError("give either cluster= (a three-level model) or random=, not both")
        return _three_level(yi, V if vi is None else vi, sei, data, cluster, mods, method, test, dfs, level,
                            labels, missing or "raise", sigma2)
    if V is None and vi is not None:  # rma_mv(yi, vi=...): the sampling variances are V
        V, vi = vi, None
    if V is None and sei is None:
        raise ArgumentTypeError("give V= (sampling variances or their covariance matrix) or sei=")
    yvals = column(data, yi, "yi")
    k = len(np.atleast_1d(np.asarray(yvals, dtype=object)))
    # Series pair by index: with data's rows, or (no data) with yi's index
    ref = data.index if data is not None else (yvals.index if isinstance(yvals, pd.Series) else None)
    V, sei, vi = (align(a, ref, n) for a, n in ((V, "V"), (sei, "sei"), (vi, "vi")))
    if V is None:
        V = np.asarray(align(column(data, sei, "sei"), ref, "sei"), dtype=float) ** 2
    Vb, vector = as_blockdiag(V, data, k)
    md, Vb, X, names, keep = _prepare(yvals, Vb, mods, random, data, labels, missing or "drop", yi, k)
    if vi is not None:
        vi_all = np.asarray(align(column(data, vi, "vi"), ref, "vi"), dtype=float)
        if vi_all.shape != (k,):
            raise InputError(f"vi has {vi_all.size} values but there are {k} effects")
        check_V(Vb, md.labels, vi_all[keep], vi if isinstance(vi, str) else "vi")
    sigmas, structs = parse_random(random, md.data, struct)
    res = fit_rma_mv(md, X, names, V=Vb, sigmas=sigmas, structs=structs, method=method, test=test, dfs=dfs,
                     level=level, fixed=dict(sigma2=sigma2, tau2=tau2, rho=rho, gamma2=gamma2, phi=phi))
    if not keep.all():
        res.not_na = keep  # per-row arguments of later calls (cluster=) may come in the data's rows
    return res


def _prepare(yvals, Vb: BlockDiag, mods, random, data, labels, missing, yi, k):
    """Drop rows with missing values (metafor's warning), check V, build MetaData and X."""
    try:
        y = np.asarray(yvals, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"yi must be numeric: {exc}") from None
    mods = _aligned_mods(mods, data, yi)
    bad = np.isnan(y) | np.isnan(Vb.diagonal())
    cols = list(dict.fromkeys(required_columns(mods, data) + random_columns(random)))
    frame = data.reset_index(drop=True) if data is not None else pd.DataFrame(index=range(k))
    for col in cols:
        if col not in frame.columns:
            raise InputError(f"column {col!r} is not in the data; columns are {list(frame.columns)}")
        bad |= frame[col].isna().to_numpy()
    if isinstance(mods, (np.ndarray, list, pd.Series, pd.DataFrame)):
        arr = np.asarray(mods, dtype=float)
        bad |= np.isnan(arr.reshape(len(arr), -1)).any(axis=1) if len(arr) == k else False
    lab = None if labels is None else np.asarray(column(data, labels, "labels"), dtype=object)
    if bad.any():
        if missing == "raise":
            raise InputError(f"row {int(np.flatnonzero(bad)[0]) + 1} has a missing value (use missing='drop')")
        warnings.warn(f"Rows with NAs omitted from model fitting ({int(bad.sum())} of {k} rows).",
                      MissingDataWarning, stacklevel=3)
        if bad.all():
            raise InputError("no rows left after dropping those with missing values")
    keep = ~bad
    Vk = Vb.subset(keep) if bad.any() else Vb
    check_V(Vk, None if lab is None else [str(v) for v in lab[keep]])
    md = MetaData.create(y[keep], Vk.diagonal(), data=frame.loc[keep].reset_index(drop=True),
                         labels=None if lab is None else lab[keep], missing="raise")
    ref = data.index if data is not None else (yvals.index if isinstance(yvals, pd.Series) else None)
    if ref is not None and ref.is_unique and len(ref) == k:  # the fitted rows' labels, for Series given later
        md = dataclasses.replace(md, row_index=ref[keep])
    if isinstance(mods, (np.ndarray, list, pd.Series, pd.DataFrame)) and len(mods) == k:
        mods = mods.iloc[keep] if isinstance(mods, (pd.Series, pd.DataFrame)) else np.asarray(mods)[keep]
    X, names = design_matrix(mods, md.data, md.k, md.labels)
    return md, Vk, X, names, keep


def _three_level(yi, vi, sei, data, cluster, mods, method, test, dfs, level, labels, missing, sigma2):
    """``rma_mv(yi, vi, cluster=)``: random = ~ 1 | cluster/obs with a diagonal V."""
    inner_name = labels if isinstance(labels, str) else "id"
    cluster_name = cluster if isinstance(cluster, str) else "cluster"
    labels = _nested_labels(data, labels, cluster)
    mods = _aligned_mods(mods, data, yi)
    md = yi if isinstance(yi, MetaData) else MetaData.create(
        yi, vi, sei=sei, data=data, labels=labels, cluster=cluster, missing=missing,
        require=required_columns(mods, data),
    )
    if md.cluster is None:
        raise InputError("cluster= is required: the cluster (study) of each effect")
    X, names = design_matrix(mods, md.data, md.k, md.labels)
    codes, levels = pd.factorize(pd.Series(md.cluster, dtype=object), sort=False)
    k, m = md.k, len(levels)
    if k - X.shape[1] < 1:
        raise InputError(f"too few effects (k = {k}) for {X.shape[1]} coefficients and two variance components")
    if m < 2:
        raise InputError(f"all {k} effects are in one cluster ({str(levels[0])!r}); "
                         "a three-level model needs at least two clusters")
    if m == k:
        warnings.warn("every cluster has a single effect: the two variance components are not separately "
                      "identifiable (only their sum is); consider rma()", stacklevel=3)
    sigmas = [SigmaTerm(cluster_name, codes.astype(np.intp), m, [str(v) for v in levels]),
              SigmaTerm(f"{cluster_name}/{inner_name}", np.arange(k, dtype=np.intp), k, list(md.labels))]
    res = fit_rma_mv(md, X, names, V=diagonal_V(md.vi), sigmas=sigmas, structs=[], method=method, test=test,
                     dfs=dfs, level=level, fixed={"sigma2": sigma2}, nested_names=True)
    if md.dropped and isinstance(data, pd.DataFrame) and md.row_index is not None and data.index.is_unique:
        res.not_na = data.index.isin(md.row_index)  # the data's rows that were fitted (missing="drop")
    return res


def _nested_labels(data: pd.DataFrame | None, labels: Any, cluster: Any) -> Any:
    """Labels unique per effect: repeated labels are prefixed with their cluster."""
    if labels is None:
        return None
    values = list(np.asarray(column(data, labels, "labels"), dtype=object))
    text = [str(v) for v in values]
    if len(set(text)) == len(text):
        return labels
    clusters = list(np.asarray(column(data, cluster, "cluster"), dtype=object))
    if len(clusters) != len(text):
        return labels  # MetaData.create reports the length mismatch
    combined = [f"{c}/{t}" for c, t in zip(clusters, text)]
    seen: dict[str, int] = {}
    name = labels if isinstance(labels, str) else "labels"
    for i, lab in enumerate(combined):
        if lab in seen:
            raise InputError(
                f"column {name!r}: effect label {text[i]!r} appears twice in cluster {clusters[i]!r} "
                f"(rows {seen[lab] + 1} and {i + 1}); labels must be unique within a cluster"
            )
        seen[lab] = i
    return combined


def fit_rma_mv(md: MetaData, X: np.ndarray, coef_names: list[str], *, V: BlockDiag | None = None,
               sigmas: list | None = None, structs: list | None = None, method: str = "REML", test: str = "z",
               dfs: Any = None, level: float = 0.95, fixed: dict | None = None, nested_names: bool = False,
               s_names: Any = None, sigma2_init: Any = None) -> RMAMVResult:
    """Fit on validated data and a design matrix (the engine of :func:`rma_mv`). Without *sigmas*
    and *structs*, the three-level model over ``md.cluster``."""
    check_test(test, MV_TESTS, "rma_mv")
    if sigmas is None and structs is None:
        codes, levels = pd.factorize(pd.Series(md.cluster, dtype=object), sort=False)
        names = tuple(s_names) if s_names is not None else ("cluster", "cluster/id")
        sigmas = [SigmaTerm(names[0], codes.astype(np.intp), len(levels), [str(v) for v in levels]),
                  SigmaTerm(names[1], np.arange(md.k, dtype=np.intp), md.k, list(md.labels))]
        nested_names = True
    V = diagonal_V(md.vi) if V is None else V
    params, struct_info = build_params(sigmas or [], structs or [], fixed or {}, md.k, X.shape[1])
    return fit_model(md, X, list(coef_names), V, sigmas or [], structs or [], params, struct_info,
                     method=method, test=test, dfs=dfs, level=level, nested_names=nested_names)
