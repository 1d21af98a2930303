"""Permutation tests of an ``rma`` fit (metafor's ``permutest.rma.uni``).

Without moderators the signs of the observed effects are flipped (under H0: mu = 0 each
effect is as likely to be positive as negative); with moderators the rows of the design
matrix are permuted relative to the effects. As metafor, the test is exact (every sign
vector, or every distinct permutation of the rows) when ``exact=True`` or when the exact
test needs no more iterations than *iter*; otherwise *iter* random draws, the first of
which is the observed data. Two-sided p-values are the share of permuted |z| (or QM) at
least as large as the observed one, with metafor's tolerance sqrt(machine epsilon).

Each permuted data set is refitted with the fit's estimator, test and any fixed tau²; as in
metafor, a data set on which Fisher scoring does not converge (metafor's refit stops, where
:func:`bayesma.rma` would maximise the likelihood directly) is left out of the p-values. The
refits run as batches on the tau² engine (:mod:`bayesma.frequentist.tau2`), a chunk of sign
vectors or permutations at a time, so memory stays bounded and 2^20 sign flips take seconds.

Reference: Follmann & Proschan (1999) Biometrics 55:1085-1092; Higgins & Thompson (2004)
Statistics in Medicine 23:1663-1682; metafor 3.8-1 ``permutest``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma.coefs import resolve_btt
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist._common import _BatchProjection
from bayesma.frequentist._printing import _fmt_p, _p_text
from bayesma.frequentist.inference import KNHA_TESTS, T_TESTS, knha_factor
from bayesma.frequentist.tau2 import MAXITER, estimate_tau2_batch
from bayesma.frequentist.weights import refuse_user_weights

__all__ = ["permutest", "PermutestResult"]

_COMPTOL = float(np.finfo(float).eps ** 0.5)  # metafor's control$comptol
_CHUNK = 2048  # permuted data sets refitted at once (cache-sized batches are fastest)


@dataclass(frozen=True)
class PermutestResult:  # numpydoc ignore=PR01
    """Result of :func:`permutest`, with metafor's names.

    Attributes
    ----------
    pval : numpy.ndarray
        Permutation p-value of each coefficient (two-sided).
    QM, QMp : float
        Omnibus test of the moderators (all coefficients of an intercept-only model) and its
        permutation p-value.
    beta, se, zval : numpy.ndarray
        The fit's coefficients, standard errors and z (or t) statistics.
    coef_names : list of str
    exact : bool
        Whether every sign vector / distinct permutation was used.
    iter : int
        The number of permuted data sets (including the observed one when not exact).
    zval_perm : numpy.ndarray, shape (iter, p)
        The statistic of each coefficient in each permuted data set (NaN where a refit failed).
    QM_perm : numpy.ndarray, shape (iter,)
    test : str
        The fit's test ("z", "t", "knha" or "adhoc").

    Examples
    --------
    >>> import bayesma as bm
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> bm.permutest(bm.rma("yi", "vi", data=es), exact=True).summary().round(4).to_dict("records")
    [{'estimate': -0.7145, 'se': 0.1798, 'zval': -3.9744, 'pval': 0.0015}]
    """

    pval: np.ndarray
    QM: float
    QMp: float
    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    coef_names: list[str]
    exact: bool
    iter: int
    test: str
    zval_perm: np.ndarray = field(repr=False)
    QM_perm: np.ndarray = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """One row per coefficient: estimate, se, statistic and the permutation p-value."""
        stat = "zval" if self.test == "z" else "tval"
        return pd.DataFrame({"estimate": self.beta, "se": self.se, stat: self.zval, "pval": self.pval},
                            index=pd.Index(self.coef_names, name="coefficient"))

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "approximate"
        lines = [f"Permutation test ({kind}, {self.iter} iterations)", ""]
        if len(self.coef_names) > 1 or self.coef_names != ["intrcpt"]:
            name = "QM" if self.test == "z" else "F"
            lines += [f"Test of Moderators: {name} = {self.QM:.4f}, p-val* {_p_text(self.QMp)}", ""]
        table = self.summary()
        table["pval"] = [f"{_fmt_p(p)}" for p in self.pval]
        lines.append(table.rename(columns={"pval": "pval*"}).to_string(float_format=lambda v: f"{v:.4f}"))
        lines += ["", "* p-values from the permutation distribution"]
        return "\n".join(lines)


def _flip_chunks(k: int, exact: bool, iter: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Sign matrices (n, k): the 2^(k-1) sign vectors whose last sign is +1 (flipping every
    sign gives the same tau², QM and |z|, so the other half mirrors them), or *iter* random
    ones whose first is the observed (all +1)."""
    total = 2 ** (k - 1) if exact else iter
    bits = np.arange(k, dtype=np.int64)
    for start in range(0, total, _CHUNK):
        n = min(_CHUNK, total - start)
        if exact:
            idx = np.arange(start, start + n, dtype=np.int64)
            yield 1.0 - 2.0 * ((idx[:, None] >> bits) & 1)
        else:
            signs = rng.choice(np.array([-1.0, 1.0]), size=(n, k))
            if start == 0:
                signs[0] = 1.0
            yield signs


def _distinct_permutations(labels: np.ndarray) -> Iterator[np.ndarray]:
    """Every distinct ordering of *labels* (a multiset), in lexicographic order."""
    a = np.sort(labels).tolist()
    n = len(a)
    while True:
        yield np.asarray(a)
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            return
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1:] = reversed(a[i + 1:])


def _perm_chunks(X: np.ndarray, exact: bool, iter: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Row orders (n, k) of the design: every distinct permutation of its distinct rows,
    or *iter* random permutations whose first is the identity."""
    k = X.shape[0]
    if exact:
        _, codes = np.unique(X, axis=0, return_inverse=True)
        codes = np.asarray(codes).ravel()
        # row r of a permuted design is a row of X with code c: take the rows of each code in turn
        by_code = {c: list(np.flatnonzero(codes == c)) for c in np.unique(codes)}
        buf: list[np.ndarray] = []
        for perm_codes in _distinct_permutations(codes):
            pools = {c: iter_rows.copy() for c, iter_rows in by_code.items()}
            buf.append(np.array([pools[c].pop() for c in perm_codes]))
            if len(buf) == _CHUNK:
                yield np.stack(buf)
                buf = []
        if buf:
            yield np.stack(buf)
        return
    for start in range(0, iter, _CHUNK):
        n = min(_CHUNK, iter - start)
        orders = np.argsort(rng.random((n, k)), axis=1)
        if start == 0:
            orders[0] = np.arange(k)
        yield orders


def _n_exact(res: Any) -> float:
    """metafor's number of iterations of the exact test: 2^k, or the distinct row permutations."""
    if res.p == 1 and res.coef_names == ["intrcpt"]:
        return float(2**res.k)
    _, counts = np.unique(res.X, axis=0, return_counts=True)
    log_n = math.lgamma(res.k + 1) - sum(math.lgamma(c + 1) for c in counts)
    return math.exp(log_n) if log_n < 700 else math.inf


def _batch_stats(res: Any, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The z (or t) statistics (B, p) and QM (B,) of B data sets refitted as *res* was."""
    k, p = X.shape
    if res.method == "FE":
        tau2 = np.zeros(y.shape[0])
    elif res.tau2_fix:
        tau2 = np.full(y.shape[0], res.tau2)
    else:
        with np.errstate(all="ignore"):
            tau2, iterations, _ = estimate_tau2_batch(res.method, y, v, X)
        # metafor's refit stops where Fisher scoring does not converge (its try() gives NA)
        tau2 = np.where(iterations > MAXITER, np.nan, tau2)
    w = 1.0 / (v + tau2[:, None])
    proj = _BatchProjection(X, w)
    beta = proj.coef(y)
    vb = proj.A_inv()
    if res.test in KNHA_TESTS:
        vb = vb * knha_factor(proj.quad(y), k - p, res.test)[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
        btt = np.asarray(res.btt)
        bb = beta[:, btt]
        QM = np.einsum("bi,bi->b", bb, np.linalg.solve(vb[:, btt][:, :, btt], bb[..., None])[..., 0])
    if res.test in T_TESTS:  # the F statistic QM / m, as the fit's own QM
        QM = QM / len(btt)
    return z, QM


def permutest(res: Any, exact: bool = False, iter: int = 1000, seed: int | None = None,
              btt: Any = None) -> PermutestResult:
    """Permutation test of the coefficients of an ``rma`` fit (metafor's ``permutest``).

    Parameters
    ----------
    res : RMAResult
        A fit of :func:`bayesma.rma` (any estimator, ``test="z"``, ``"t"``, ``"knha"`` or ``"adhoc"``,
        fixed tau² allowed).
    exact : bool
        Use every sign vector (intercept-only models, 2^k of them) or every distinct
        permutation of the rows of the design matrix. As metafor, the exact test is also
        used whenever it needs no more than *iter* iterations.
    iter : int
        Number of random permutations (the observed data count as the first), at least 2.
    seed : int, optional
        Seed of the random permutations (a non-negative integer): the same seed gives the
        same p-values.
    btt : int, str or sequence, optional
        The coefficients of the omnibus test (default: the fit's, all but the intercept), by
        number from 1 or R name (:func:`bayesma.coefs.resolve_btt`), as metafor's
        ``rma(..., btt=)`` before ``permutest``.

    Returns
    -------
    PermutestResult
        ``pval`` per coefficient, ``QM`` and ``QMp``, the permutation distributions.

    Raises
    ------
    TypeError
        If *res* is not a fit of :func:`bayesma.rma`.
    ValueError
        If *iter* < 2, *seed* is not a non-negative integer, or the exact test would need
        more permutations than can be enumerated.

    References
    ----------
    metafor 3.8-1 ``permutest.rma.uni``; Follmann & Proschan (1999).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> pt = bm.permutest(bm.rma("yi", "vi", data=dat), exact=True)
    >>> pt.iter, round(float(pt.pval[0]), 6)
    (8192, 0.001465)
    """
    refuse_user_weights(res, "permutest()")
    if not all(hasattr(res, a) for a in ("X", "data", "btt", "tau2_fix")) or getattr(res, "X", None) is None:
        raise ArgumentTypeError(f"permutest needs a fit of bayesma.rma(), got {type(res).__name__}")
    if isinstance(iter, bool) or not isinstance(iter, (int, float, np.integer, np.floating)) or int(iter) != iter \
            or iter < 2:
        raise InputError(f"iter must be an integer >= 2, got {iter!r}")
    iter = int(iter)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if btt is not None:  # the omnibus test of these coefficients: QM as anova(res, btt=) gives it
        from dataclasses import replace

        from bayesma.frequentist.anova import WaldResult, anova

        wald = anova(res, btt=btt)
        assert isinstance(wald, WaldResult)  # one fit with btt=: a Wald test
        res = replace(res, btt=resolve_btt(btt, list(res.coef_names)), QM=wald.QM, QMp=wald.QMp, QMdf=wald.QMdf)
    n_exact = _n_exact(res)
    use_exact = bool(exact) or n_exact <= iter
    if use_exact and n_exact > 2**26:
        raise InputError(f"an exact permutation test needs {n_exact:.3g} permutations; use exact=False "
                         "with iter= random permutations")
    rng = np.random.default_rng(seed)
    y0, v0, X = res.data.yi, res.data.vi, res.X
    zs, qms = [], []
    intercept_only = res.p == 1 and res.coef_names == ["intrcpt"]
    if intercept_only:
        for signs in _flip_chunks(res.k, use_exact, iter, rng):
            z, qm = _batch_stats(res, signs * y0, np.broadcast_to(v0, signs.shape), X)
            zs.append(z)
            qms.append(qm)
        if use_exact:  # the mirrored half: every sign flipped
            zs += [-z for z in zs]
            qms += list(qms)
    else:
        for orders in _perm_chunks(X, use_exact, iter, rng):
            # permuting the rows of X against (y, v) = permuting (y, v) against X
            inverse = np.argsort(orders, axis=1)
            z, qm = _batch_stats(res, y0[inverse], v0[inverse], X)
            zs.append(z)
            qms.append(qm)
    zval_perm, QM_perm = np.concatenate(zs), np.concatenate(qms)
    # shares among the refits that gave a number (metafor's mean(..., na.rm = TRUE))
    ok_z, ok_q = np.isfinite(zval_perm), np.isfinite(QM_perm)
    pval = np.sum((np.abs(zval_perm) >= np.abs(res.stat) - _COMPTOL) & ok_z, axis=0) / ok_z.sum(axis=0)
    QMp = float(np.sum((QM_perm >= res.QM - _COMPTOL) & ok_q) / ok_q.sum())
    return PermutestResult(
        pval=np.minimum(pval, 1.0), QM=float(res.QM), QMp=QMp, beta=res.beta, se=res.se, zval=res.stat,
        coef_names=list(res.coef_names), exact=use_exact, iter=int(zval_perm.shape[0]), test=res.test,
        zval_perm=zval_perm, QM_perm=QM_perm,
    )

