"""Marginal likelihood of the normal-normal models given the variance components (beta integrated out), and fast heterogeneity prior densities."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Union, cast

import numpy as np
from scipy import special

from bayesma.errors import UnsupportedModelError

from .capability import exact_support
from .quadrature import _CHUNK, _LOG2PI, _NUTS_HINT

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

# ---------------------------------------------------------------------------
# prior densities of tau without scipy's per-call overhead
# ---------------------------------------------------------------------------


def _t_logpdf(x: np.ndarray, nu: float, mu: float, sigma: float) -> np.ndarray:
    z = (x - mu) / sigma
    return (special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * math.log(nu * math.pi)
            - math.log(sigma) - (nu + 1) / 2 * np.log1p(z * z / nu))


def _logpdf_tau_fn(prior: Any):
    """A fast log density of tau (positive arguments) for the families of bayesma.priors.

    Closed forms of the same densities as ``prior.logpdf_tau`` (scipy's frozen
    distributions cost about a millisecond per call); other priors use
    ``prior.logpdf_tau`` itself. The tests check the two agree.
    """
    fam, p = getattr(prior, "family", None), dict(getattr(prior, "params", {}))
    L2 = math.log(2.0)
    if fam == "HalfFlat":  # improper uniform on [0, inf): density 1
        return lambda t: np.zeros(np.shape(t))
    if fam == "HalfNormal":
        s = p["sigma"]
        c = L2 - 0.5 * _LOG2PI - math.log(s)
        return lambda t: c - 0.5 * (t / s) ** 2
    if fam == "HalfCauchy":
        b = p["beta"]
        c = math.log(2.0 / (math.pi * b))
        return lambda t: c - np.log1p((t / b) ** 2)
    if fam == "HalfStudentT":
        return lambda t: L2 + _t_logpdf(t, p["nu"], 0.0, p["sigma"])
    if fam == "Exponential":
        lam = p["lam"]
        return lambda t: math.log(lam) - lam * t
    if fam == "Uniform":
        lo, hi = p["lower"], p["upper"]
        c = -math.log(hi - lo)
        return lambda t: np.where((t >= lo) & (t <= hi), c, -np.inf)
    if fam == "LogNormal":
        m, s = p["mu"], p["sigma"]
        # x = t^2: log f(x) + log(2t) = -log(x s sqrt(2 pi)) - (log x - m)^2 / (2 s^2) + log 2 + log t
        return lambda t: (L2 - np.log(t) - math.log(s) - 0.5 * _LOG2PI
                          - (2.0 * np.log(t) - m) ** 2 / (2.0 * s * s))
    if fam == "LogStudentT":
        return lambda t: _t_logpdf(2.0 * np.log(t), p["nu"], p["mu"], p["sigma"]) + L2 - np.log(t)
    if fam == "InverseGamma":
        a, b = p["alpha"], p["beta"]
        c = a * math.log(b) - special.gammaln(a) + L2
        return lambda t: c - (2.0 * a + 1.0) * np.log(t) - b / (t * t)

    def generic(t):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(prior.logpdf_tau(t), dtype=float)

    return generic


# ---------------------------------------------------------------------------
# marginal likelihood given the variance components
# ---------------------------------------------------------------------------


@dataclass
class _Normal:
    """Normal prior on the coefficients: mean m0 and precision p0 (diagonal), p = len(m0).

    A precision of 0 is the flat (improper) prior with density 1: the coefficient is
    integrated against Lebesgue measure, which adds ``(2 pi)^(1/2)`` per flat coefficient.
    """

    m0: np.ndarray
    p0: np.ndarray

    @property
    def p(self) -> int:
        return self.m0.size

    @property
    def const(self) -> float:
        if not self.p:
            return 0.0
        flat = self.p0 == 0
        proper = ~flat
        return float((self.m0[proper] ** 2 * self.p0[proper]).sum() - np.log(self.p0[proper]).sum()
                     - flat.sum() * _LOG2PI)

    @property
    def improper(self) -> bool:
        """True when some coefficient has the flat prior (marginal likelihoods are then undefined)."""
        return bool(self.p and np.any(self.p0 == 0))

    def terms(self, ndim: int) -> tuple[Any, Any, Any]:
        """Prior precision matrix, precision-weighted mean and constant, broadcastable
        against arrays of *ndim* leading dimensions (one prior for all)."""
        return np.diag(self.p0), self.m0 * self.p0, self.const


@dataclass
class _NormalRows(_Normal):
    """One proper Normal prior per data set: m0, p0 of shape (B, p), all precisions > 0
    (:func:`bayesma.exact.batch_summaries` with data-scaled priors)."""

    @property
    def p(self) -> int:
        return self.m0.shape[-1]

    @property
    def improper(self) -> bool:
        return False

    def rows(self, sl: slice) -> _NormalRows:
        return _NormalRows(self.m0[sl], self.p0[sl])

    def terms(self, ndim: int) -> tuple[Any, Any, Any]:
        B, p = self.m0.shape
        mid = (1,) * (ndim - 1)
        P0 = (self.p0[:, :, None] * np.eye(p)).reshape((B,) + mid + (p, p))
        h0 = (self.m0 * self.p0).reshape((B,) + mid + (p,))
        const = ((self.m0**2 * self.p0).sum(-1) - np.log(self.p0).sum(-1)).reshape((B,) + mid)
        return P0, h0, const


def _finish(ll_part: np.ndarray, A: np.ndarray | None, h: np.ndarray | None, k: int,
            prior: _Normal) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Add the coefficient part: ll_part = log|Sigma| + y'Sigma^-1 y (shape S);
    A (S, p, p) = X'Sigma^-1 X, h (S, p) = X'Sigma^-1 y. Returns ll, b, V."""
    p = prior.p
    if p == 0:
        return -0.5 * (k * _LOG2PI + ll_part), None, None
    P0, h0, const = prior.terms(ll_part.ndim)
    P = A + P0
    hh = h + h0
    if p == 1:
        V = 1.0 / P
        b = V[..., 0] * hh
        logdetP = np.log(P[..., 0, 0])
    else:
        V = np.linalg.inv(P)
        b = np.einsum("...ij,...j->...i", V, hh)
        logdetP = np.linalg.slogdet(P)[1]
    ll = -0.5 * (k * _LOG2PI + ll_part + const - (hh * b).sum(-1) + logdetP)
    return ll, b, V


def _loglik_re(t2: np.ndarray, y: np.ndarray, v: np.ndarray, X: np.ndarray | None,
               prior: _Normal) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """log p(y | tau^2) with the coefficients integrated out, and beta | tau^2, y ~ N(b, V).

    t2 (B, G); y, v (B, k); X (k, p) or None (p = 0: effect fixed at 0).
    Returns ll (B, G), b (B, G, p), V (B, G, p, p).
    """
    B, G = t2.shape
    k = y.shape[1]
    p = prior.p
    ll = np.empty((B, G))
    b = np.empty((B, G, p))  # p = 0: empty, returned as None
    V = np.empty((B, G, p, p))
    if p:
        assert X is not None  # p > 0 coefficients have a design matrix
        XX = (X[:, :, None] * X[:, None, :]).reshape(k, p * p)
        yX = y[:, :, None] * X[None, :, :]
    y2 = (y * y)[:, :, None]
    step = max(1, int(_CHUNK // max(B * k, 1)))
    for s0 in range(0, G, step):
        sl = slice(s0, s0 + step)
        d = v[:, None, :] + t2[:, sl, None]
        w = 1.0 / d
        part = np.log(d).sum(-1) + np.matmul(w, y2)[..., 0]
        if p:
            A = np.matmul(w, XX).reshape(B, -1, p, p)
            h = np.matmul(w, yX)
            ll[:, sl], b[:, sl], V[:, sl] = _finish(part, A, h, k, prior)
        else:
            ll[:, sl] = _finish(part, None, None, k, prior)[0]
    return ll, (b if p else None), (V if p else None)



def _location_prior(spec) -> _Normal:
    m0, p0 = [], []
    for j, name in enumerate(spec.coef_names):
        prior = spec.location_prior(j)
        if prior.family == "Flat":
            m0.append(0.0)
            p0.append(0.0)
            continue
        if prior.family != "Normal":
            raise UnsupportedModelError(
                f"engine='exact' integrates the coefficients analytically and needs Normal priors on "
                f"them; the prior of {name!r} is {prior!r}. {_NUTS_HINT}, or give a Normal or Flat prior."
            )
        m0.append(prior.params["mu"])
        with np.errstate(over="ignore"):  # sigma = 1e300: the precision underflows to 0 (a flat prior)
            p0.append(float(1.0 / np.square(np.float64(prior.params["sigma"]))))
    return _Normal(np.array(m0, dtype=float), np.array(p0, dtype=float))


def _scale(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    var = np.var(y, axis=-1) if y.shape[-1] > 1 else np.zeros(y.shape[:-1])
    return np.sqrt(np.maximum(var + np.median(v, axis=-1), 1e-300))


# ---------------------------------------------------------------------------
# two-dimensional posteriors: two subgroup taus, three levels
# ---------------------------------------------------------------------------


def _ll_tau_by(t2a: np.ndarray, t2b: np.ndarray, y, v, X, g, loc: _Normal):
    """Log likelihood on the tensor grid t2a (n1) x t2b (n2): subgroup 0 has tau_a, 1 has tau_b.

    The sums over studies separate by subgroup, so the cost is O((n1 + n2) k + n1 n2 p^3).
    """
    k = y.size
    parts = []
    for grp, t2 in ((0, t2a), (1, t2b)):
        sel = g == grp
        ys, vs = y[sel], v[sel]
        d = vs[None, :] + t2[:, None]
        w = 1.0 / d
        part = np.log(d).sum(-1) + w @ (ys * ys)
        if loc.p:
            Xs = X[sel]
            A = (w @ (Xs[:, :, None] * Xs[:, None, :]).reshape(-1, loc.p**2)).reshape(-1, loc.p, loc.p)
            h = w @ (ys[:, None] * Xs)
        else:
            A = h = None
        parts.append((part, A, h))
    (pa, Aa, ha), (pb, Ab, hb) = parts
    part = pa[:, None] + pb[None, :]
    if loc.p:
        A = Aa[:, None] + Ab[None, :]
        h = ha[:, None] + hb[None, :]
        return _finish(part, A, h, k, loc)
    return _finish(part, None, None, k, loc)


@dataclass
class _Clusters:
    """Effects sorted by cluster, for the Sherman-Morrison algebra of three-level models."""

    order: np.ndarray
    starts: np.ndarray
    index: np.ndarray  # cluster code of each (sorted) effect
    y: np.ndarray
    v: np.ndarray
    X: np.ndarray | None
    a: np.ndarray | None = None  # loading of the cluster effect on each (rotated) effect; None: all ones
    Q: Any = None  # block-diagonal rotation (sorted order) when V is not diagonal (exact/che.py)

    @classmethod
    def create(cls, y, v, X, cluster_index) -> _Clusters:
        order = np.argsort(cluster_index, kind="stable")
        ci = cluster_index[order]
        starts = np.flatnonzero(np.r_[True, ci[1:] != ci[:-1]])
        codes = np.cumsum(np.r_[True, ci[1:] != ci[:-1]]) - 1
        return cls(order, starts, codes, y[order], v[order], None if X is None else X[order])

    @property
    def J(self) -> int:
        return self.starts.size

    def block_sums(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Per-cluster s = sum a^2 w, r = sum a w y and (with X) sum a w x, for weights w (n, k)."""
        red = lambda z: np.add.reduceat(z, self.starts, axis=-1)  # noqa: E731
        wa = w if self.a is None else w * self.a
        s = red(w) if self.a is None else red(wa * self.a)
        ax = None
        if self.X is not None:
            ax = np.stack([red(wa * self.X[:, j]) for j in range(self.X.shape[1])], axis=-1)  # (n, J, p)
        return s, red(wa * self.y), ax

    def sums(self, t2w: np.ndarray) -> dict[str, np.ndarray]:
        """Per-cluster sums given tau_within^2 (n2,): d = v + t2w."""
        d = self.v[None, :] + t2w[:, None]
        w = 1.0 / d
        s, r, ax = self.block_sums(w)
        out = {"logdet": np.log(d).sum(-1), "yDy": w @ (self.y * self.y), "s": s, "r": r}
        if self.X is not None:
            p = self.X.shape[1]
            out["a"] = ax
            out["A"] = (w @ (self.X[:, :, None] * self.X[:, None, :]).reshape(-1, p * p)).reshape(-1, p, p)
            out["h"] = w @ (self.y[:, None] * self.X)
        return out


def _ll_cluster(t2: np.ndarray, t2w: np.ndarray, cl: _Clusters, loc: _Normal):
    """Log likelihood on the grid t2 (n1) x t2w (n2) of a three-level model.

    Cluster j has covariance D_j + tau^2 11' with D_j = diag(v + tau_within^2):
    Sherman-Morrison gives its inverse and determinant from per-cluster sums, so one
    grid point costs O(J p^2) after O(k) sums per tau_within value.
    """
    k = cl.y.size
    S = cl.sums(t2w)
    n1, n2 = t2.size, t2w.size
    p = loc.p
    ll = np.empty((n1, n2))
    b = np.empty((n1, n2, p))  # p = 0: empty, returned as None
    V = np.empty((n1, n2, p, p))
    step = max(1, int(_CHUNK // max(n1 * cl.J * max(p, 1), 1)))
    for s0 in range(0, n2, step):
        sl = slice(s0, s0 + step)
        s = S["s"][sl][None]  # (1, m, J)
        c = t2[:, None, None] / (1.0 + t2[:, None, None] * s)  # (n1, m, J)
        part = (S["logdet"][sl][None] + np.log1p(t2[:, None, None] * s).sum(-1)
                + S["yDy"][sl][None] - (c * S["r"][sl][None] ** 2).sum(-1))
        if p:
            a = S["a"][sl][None]  # (1, m, J, p)
            ca = c[..., None] * a
            A = S["A"][sl][None] - np.einsum("xmjp,xmjq->xmpq", ca, np.broadcast_to(a, ca.shape))
            h = S["h"][sl][None] - np.einsum("xmjp,xmj->xmp", ca, np.broadcast_to(S["r"][sl][None], c.shape))
            ll[:, sl], b[:, sl], V[:, sl] = _finish(part, A, h, k, loc)
        else:
            ll[:, sl] = _finish(part, None, None, k, loc)[0]
    return ll, (b if p else None), (V if p else None)


def _loglik_beta(t2: np.ndarray, y: np.ndarray, v: np.ndarray, X: np.ndarray | None,
                 prior: _Normal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_loglik_re` of a model with coefficients (p >= 1): b and V are arrays."""
    ll, b, V = _loglik_re(t2, y, v, X, prior)
    if b is None or V is None:
        raise ValueError("the model has no coefficients (p = 0): no conditional posterior of beta")
    return ll, b, V


def _sq(t: np.ndarray) -> np.ndarray:
    """Signed square t|t|: a between-cluster SD given as a signed root of a variance component
    that may be negative (compound symmetry across outcomes with rho < 0; exact/multivariate.py)."""
    return t * np.abs(t)


def _check_supported(spec) -> None:
    """Refuse a model the exact engine cannot fit, saying why (the rule is :func:`~bayesma.exact.capability.exact_support`)."""
    support = exact_support(spec)
    if not support.ok:
        raise UnsupportedModelError(f"engine='exact' cannot fit this model: {support.reason}; {_NUTS_HINT} "
                                    "(engine='auto' chooses it)")


class HasSpec(Protocol):
    """Anything that carries a model specification (a ``MetaAnalysis``)."""

    @property
    def spec(self) -> ModelSpec: ...


#: what the exact engine's functions accept: a ModelSpec or a MetaAnalysis (its ``.spec``)
SpecLike = Union["ModelSpec", HasSpec]


def _as_spec(obj: SpecLike) -> ModelSpec:
    spec = getattr(obj, "spec", obj)
    return cast("ModelSpec", spec)
