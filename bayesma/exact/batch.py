"""Exact summaries for many data sets at once (prior sensitivity, simulations)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.errors import InputError

from .grids import _LEVELS_FAST, _grid_1d
from .likelihood import _loglik_beta, _loglik_re, _Normal, _NormalRows
from .quadrature import _BATCH, _LEVELS_1D, _N_GL_1D, _NUTS_HINT, _mixture_cdf, _mixture_moments, _mixture_quantiles

# ---------------------------------------------------------------------------
# batched summaries for sensitivity analyses and simulations
# ---------------------------------------------------------------------------


def _prune_rows(w: np.ndarray, *arrays: np.ndarray, mass: float = 1e-10):
    """Per row, keep the heaviest mixture components holding all but *mass* of the weight
    (the same number of columns in every row), renormalized."""
    order = np.argsort(-w, axis=1)
    ws = np.take_along_axis(w, order, axis=1)
    cum = np.cumsum(ws, axis=1)
    K = int(min(w.shape[1], (cum < (1.0 - mass) * cum[:, -1:]).sum(1).max() + 1))
    ws = ws[:, :K]
    ws = ws / ws.sum(1, keepdims=True)
    return (ws,) + tuple(np.take_along_axis(a, order[:, :K], axis=1) for a in arrays)


_SCALED = ("mu_mean", "mu_sd", "mu_lower", "mu_median", "mu_upper", "tau_mean", "tau_lower", "tau_median",
           "tau_upper", "tau_sd", "new_lower", "new_upper", "new_mean", "new_sd", "new_median")


def _rows_of_priors(y: np.ndarray, v: np.ndarray, mu_prior: Any, tau_prior: Any):
    """One prior per data set, as arrays: each row is rescaled by ``c`` (its tau prior's
    scale) so that one tau prior serves every row, and mu gets a per-row Normal prior.

    Returns y / c, v / c², the per-row mu prior, the shared tau prior (or None) and c.
    """
    from bayesma import priors as pr

    B = y.shape[0]
    mus = list(mu_prior)
    if len(mus) != B or any(m.family != "Normal" for m in mus):
        raise InputError(f"the exact engine needs a Normal prior on mu for each of the {B} data sets; {_NUTS_HINT}")
    c = np.ones(B)
    if tau_prior is not None and not hasattr(tau_prior, "family"):
        taus = list(tau_prior)
        if len(taus) != B:
            raise InputError(f"need one tau prior per data set ({B}), got {len(taus)}")
        if all(repr(t) == repr(taus[0]) for t in taus):
            tau_prior = taus[0]
        elif all(t.family == "HalfNormal" for t in taus):
            c = np.array([t.params["sigma"] for t in taus], dtype=float)
            tau_prior = pr.HalfNormal(1.0)
        else:
            raise InputError("per-data-set tau priors must be identical or all HalfNormal (of any scale)")
    m0 = np.array([m.params["mu"] for m in mus], dtype=float) / c
    sd0 = np.array([m.params["sigma"] for m in mus], dtype=float) / c
    return y / c[:, None], v / (c * c)[:, None], _NormalRows(m0[:, None], (1.0 / sd0**2)[:, None]), tau_prior, c


def _check_inputs(y: np.ndarray, v: np.ndarray) -> None:
    """Finite effects and positive finite variances, of the same shape: else an InputError naming the cell."""
    if y.shape != v.shape or y.ndim != 2 or y.shape[1] == 0:
        raise InputError(f"y and v must be (B, k) arrays of the same shape with k >= 1, got {y.shape} and {v.shape}")
    for name, arr, ok in (("y", y, np.isfinite(y)), ("v", v, np.isfinite(v) & (v > 0))):
        bad = np.argwhere(~ok)
        if bad.size:
            b, i = (int(x) for x in bad[0])
            what = "is not finite" if name == "y" else "is not a positive finite variance"
            raise InputError(f"{name}[{b}, {i}] = {arr[b, i]} {what} (data set {b}, study {i}; "
                             f"{len(bad)} such cell(s))", row=b + 1, column=name)


def batch_summaries(
    y: np.ndarray,
    v: np.ndarray,
    mu_prior: Any,
    tau_prior: Any | None,
    *,
    n: int = _N_GL_1D,
    chunk: int | None = None,
    bf: bool = False,
    new: bool = True,
    level: float = 0.95,
    fast: bool = False,
    moments: bool = False,
) -> dict[str, np.ndarray]:
    """Exact posterior summaries of the intercept-only random-effects model for many data sets at once.

    Parameters
    ----------
    y, v : array_like, shape (B, k)
        Effects and sampling variances, one row per data set (same k).
    mu_prior : bayesma.priors.Normal, or a sequence of B of them
        The prior of mu, or one per data set (e.g. the data-scaled default priors of
        :func:`bayesma.priors.default_priors` without a measure).
    tau_prior : heterogeneity prior, a sequence of B of them, or None
        The prior of tau; None for the common-effect model. One per data set: identical,
        or all ``HalfNormal`` (each data set is then rescaled by its prior's scale, which
        leaves the posterior unchanged up to that scale).
    n : int
        Gauss-Legendre nodes per panel (12).
    chunk : int, optional
        Data sets per block (default: blocks of about 4e6 values).
    bf : bool
        Also compute log BF10 for the effect (mu ~ prior vs mu = 0).
    new : bool
        Compute the interval for a new study's effect (``new_lower``, ``new_upper``);
        False skips it (a third of the time, for simulations that do not use it).
    level : float
        Probability of the equal-tailed intervals (``*_lower``, ``*_upper``).
    fast : bool
        A coarser rule (15 panels of 8 nodes instead of 26 of 12) for simulations:
        summaries within about 1e-6 of a posterior sd instead of 1e-9.
    moments : bool
        Also ``tau_sd`` and, with *new*, ``new_mean``, ``new_sd``, ``new_median`` (the
        rows of a full exact summary; :func:`bayesma.fit_many` uses them).

    Returns
    -------
    dict of arrays (B,)
        ``mu_mean, mu_sd, mu_lower, mu_median, mu_upper, mu_p_positive,
        tau_mean, tau_lower, tau_median, tau_upper, new_lower, new_upper,
        log_ml`` (``new_*`` only with *new*; and ``log_bf_effect`` with *bf*).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesma import priors
    >>> from bayesma.exact import batch_summaries
    >>> out = batch_summaries(np.array([[0.1, 0.3, 0.2]]), np.full((1, 3), 0.02),
    ...                       priors.Normal(0, 1), priors.HalfNormal(0.5))
    >>> bool(out["mu_lower"][0] < out["mu_mean"][0] < out["mu_upper"][0])
    True
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    _check_inputs(y, v)
    B, k = y.shape
    alpha = (1.0 - level) / 2.0
    qs3 = (alpha, 0.5, 1.0 - alpha)
    scale = None
    if not hasattr(mu_prior, "family"):  # one prior per data set
        y, v, loc, tau_prior, scale = _rows_of_priors(y, v, mu_prior, tau_prior)
    elif mu_prior.family != "Normal":
        raise InputError(f"the exact engine needs a Normal prior on mu, got {mu_prior!r}; {_NUTS_HINT}")
    else:
        loc = _Normal(np.array([mu_prior.params["mu"]]), np.array([1.0 / mu_prior.params["sigma"] ** 2]))
    X = np.ones((k, 1))
    keys = ["mu_mean", "mu_sd", "mu_lower", "mu_median", "mu_upper", "mu_p_positive", "tau_mean",
            "tau_lower", "tau_median", "tau_upper", "new_lower", "new_upper", "log_ml"]
    if moments:
        keys += ["tau_sd"] + (["new_mean", "new_sd", "new_median"] if new else [])
    if not new:
        keys = [key for key in keys if not key.startswith("new_")]
    if bf:
        keys.append("log_bf_effect")
    out = {key: np.empty(B) for key in keys}
    size = chunk or max(1, int(_BATCH // ((130 if fast else 320) * k)))
    none = _Normal(np.zeros(0), np.zeros(0))
    for s0 in range(0, B, size):
        sl = slice(s0, min(B, s0 + size))
        yb, vb = y[sl], v[sl]
        loc_b = loc.rows(sl) if isinstance(loc, _NormalRows) else loc
        if tau_prior is None:
            ll, b, V = _loglik_beta(np.zeros((yb.shape[0], 1)), yb, vb, X, loc_b)
            w = np.ones((yb.shape[0], 1))
            m, s = b[:, :, 0], np.sqrt(V[:, :, 0, 0])
            out["log_ml"][sl] = ll[:, 0]
            for key in ("tau_mean", "tau_lower", "tau_median", "tau_upper") + (("tau_sd",) if moments else ()):
                out[key][sl] = 0.0
            sn = s
            if bf:
                ll0, _, _ = _loglik_re(np.zeros((yb.shape[0], 1)), yb, vb, None, none)
                out["log_bf_effect"][sl] = ll[:, 0] - ll0[:, 0]
        else:
            g = _grid_1d(yb, vb, X, loc_b, tau_prior, n=8 if fast else n, levels=_LEVELS_FAST if fast else _LEVELS_1D)
            w = np.concatenate([g.weights, g.atom[:, None]], axis=1)
            assert g.b is not None and g.V is not None and g.V0 is not None  # the grid of a model with coefficients
            m = np.concatenate([g.b[..., 0], g.b0], axis=1)
            s = np.sqrt(np.concatenate([g.V[..., 0, 0], g.V0[..., 0]], axis=1))
            t = np.concatenate([g.tau, np.zeros((yb.shape[0], 1))], axis=1)
            sn = np.sqrt(s**2 + t**2)
            out["log_ml"][sl] = g.logml
            tau_mean, tau_sd = g.tau_moments()
            out["tau_mean"][sl] = tau_mean
            if moments:
                out["tau_sd"][sl] = tau_sd
            tq = g.tau_quantiles(qs3)
            out["tau_lower"][sl], out["tau_median"][sl], out["tau_upper"][sl] = tq[:, 0], tq[:, 1], tq[:, 2]
            if bf:
                g0 = _grid_1d(yb, vb, None, none, tau_prior, n=8 if fast else n,
                              levels=_LEVELS_FAST if fast else _LEVELS_1D)
                out["log_bf_effect"][sl] = g.logml - g0.logml
        mean, sd = _mixture_moments(w, m, s)
        if moments and new:
            out["new_mean"][sl], out["new_sd"][sl] = _mixture_moments(w, m, sn)
        if new:
            w, m, s, sn = _prune_rows(w, m, s, sn)
        else:
            w, m, s = _prune_rows(w, m, s)
        q = _mixture_quantiles(w, m, s, qs3)
        out["mu_mean"][sl], out["mu_sd"][sl] = mean, sd
        out["mu_lower"][sl], out["mu_median"][sl], out["mu_upper"][sl] = q[:, 0], q[:, 1], q[:, 2]
        out["mu_p_positive"][sl] = 1.0 - _mixture_cdf(np.zeros(mean.shape), w, m, s)
        if new:
            if moments:
                qn = _mixture_quantiles(w, m, sn, qs3)
                out["new_lower"][sl], out["new_median"][sl], out["new_upper"][sl] = qn[:, 0], qn[:, 1], qn[:, 2]
            else:
                qn = _mixture_quantiles(w, m, sn, (alpha, 1.0 - alpha))
                out["new_lower"][sl], out["new_upper"][sl] = qn[:, 0], qn[:, 1]
    if scale is not None:  # back to each data set's own scale
        for key in _SCALED:
            if key in out:
                out[key] *= scale
        out["log_ml"] -= k * np.log(scale)
    return out
