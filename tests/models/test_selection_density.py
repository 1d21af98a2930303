"""The NUTS selection model's log density against an independent numpy/scipy version of the
same model, written here study by study from the definition of a step-function selection
model (no engine code).

The density of a model with ``bias=WeightFunction(steps, sides, alpha)`` on the unconstrained
scale that NUTS samples: priors of ``mu`` (normal), ``tau`` (half-normal, log scale with its
Jacobian), the auxiliary normals ``z`` and ``z_new``, the Dirichlet ``eta`` through PyMC's
simplex transform (its log-Jacobian taken numerically here), and for each study

    log N(y_i | m_i, tau^2 + v_i) + log omega_{j(i)} - log sum_j omega_j P(Y_i in interval j),

where ``j(i)`` is the interval of the study's p-value (one-sided, ``1 - Phi(y_i / se_i)``,
or two-sided), ``omega_j = eta_0 + ... + eta_j`` and ``P(Y_i in interval j)`` is the
probability that a study with the same standard error has a p-value in interval j. The
gradient is checked against central differences of that independent density.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayesma as bm
from bayesma.models.nuts import ModelCache

pytest.importorskip("pymc")

_RNG = np.random.default_rng(7)
_K = 11
_VI = _RNG.uniform(0.01, 0.09, _K)
_DATA = pd.DataFrame({"yi": _RNG.normal(0.25, np.sqrt(_VI + 0.03)), "vi": _VI, "x": _RNG.normal(size=_K)})
_DATA.loc[0, "yi"] = -0.4  # p-values in every interval, both tails
_DATA.loc[1, "yi"] = 0.9


def _softmax_simplex(v: np.ndarray) -> np.ndarray:
    x = np.r_[v, -v.sum()]
    e = np.exp(x - x.max())
    return e / e.sum()


def _log_jacobian(v: np.ndarray) -> float:
    """log |det d(eta_0..eta_{J-2}) / dv| of PyMC's simplex transform, by central differences."""
    h = 1e-6
    cols = [(_softmax_simplex(v + h * e)[:-1] - _softmax_simplex(v - h * e)[:-1]) / (2 * h) for e in np.eye(v.size)]
    return float(np.log(abs(np.linalg.det(np.array(cols).T))))


def _p_value(y: np.ndarray, se: np.ndarray, sides: str) -> np.ndarray:
    z = y / se
    return stats.norm.sf(z) if sides == "one" else 2 * stats.norm.sf(np.abs(z))


def _interval_probabilities(m: float, sd: float, se: float, edges: list[float], sides: str) -> np.ndarray:
    """P(the study's p-value lies in (edges[j+1], edges[j]]) for Y ~ N(m, sd^2), one interval per j."""
    out = []
    for p_hi, p_lo in zip(edges[:-1], edges[1:]):
        if sides == "one":  # p in (p_lo, p_hi]  <=>  y in [z_{1-p_hi} se, z_{1-p_lo} se)
            a, b = stats.norm.isf(p_hi) * se, stats.norm.isf(p_lo) * se
            out.append(stats.norm.cdf(b, m, sd) - stats.norm.cdf(a, m, sd))
        else:  # |y| in [z_{1-p_hi/2} se, z_{1-p_lo/2} se), on both sides of zero
            a, b = stats.norm.isf(p_hi / 2) * se, stats.norm.isf(p_lo / 2) * se
            out.append(stats.norm.cdf(b, m, sd) - stats.norm.cdf(a, m, sd)
                       + stats.norm.cdf(-a, m, sd) - stats.norm.cdf(-b, m, sd))
    return np.array(out)


def _independent_logp(point: dict, data: pd.DataFrame, steps, sides: str, alpha, beta_x: bool) -> float:
    y, vi = data["yi"].to_numpy(), data["vi"].to_numpy()
    se = np.sqrt(vi)
    tau = np.exp(point["tau_log__"])
    out = stats.halfnorm.logpdf(tau, scale=0.5) + point["tau_log__"]
    out += stats.norm.logpdf(point["z"]).sum() + stats.norm.logpdf(point["z_new"]).sum()
    if beta_x:
        beta = point["beta"]
        m = beta[0] + beta[1] * data["x"].to_numpy()
        out += stats.norm.logpdf(beta).sum()
    else:
        m = np.full(y.size, float(point["mu"]))
        out += stats.norm.logpdf(point["mu"])
    v = np.atleast_1d(point["eta_simplex__"])
    eta = _softmax_simplex(v)
    out += stats.dirichlet.logpdf(eta, alpha) + _log_jacobian(v)
    omega = np.minimum(np.cumsum(eta), 1.0)
    omega[-1] = 1.0
    edges = [1.0, *sorted(steps, reverse=True), 0.0]
    p = _p_value(y, se, sides)
    for i in range(y.size):
        sd = np.sqrt(tau**2 + vi[i])
        j = next(j for j in range(len(edges) - 1) if edges[j + 1] < p[i] <= edges[j])
        probs = _interval_probabilities(m[i], sd, se[i], edges, sides)
        out += stats.norm.logpdf(y[i], m[i], sd) + np.log(omega[j]) - np.log(probs @ omega)
    return float(out)


@pytest.mark.parametrize(("steps", "sides", "alpha", "mods"), [
    ((0.025,), "one", None, False),
    ((0.025, 0.05, 0.5), "one", (1.0, 2.0, 0.5, 3.0), False),
    ((0.05,), "two", None, False),
    ((0.01, 0.05, 0.1), "two", (2.0, 1.0, 1.0, 1.5), True),
])
def test_selection_model_log_density_equals_an_independent_computation(steps, sides, alpha, mods):
    wf = bm.WeightFunction(steps, sides, alpha or ())
    priors = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)", "beta": "normal(0, 1)"}
    if not mods:
        priors.pop("beta")
    ma = bm.MetaAnalysis(_DATA, yi="yi", vi="vi", mods="~ x" if mods else None, priors=priors, bias=wf)
    entry, _ = ModelCache().get(ma.spec, "auto", pad=False)  # padding: tests/models/test_bias_padding.py
    model = entry.model
    logp, dlogp = model.compile_logp(mode="FAST_COMPILE"), model.compile_dlogp(mode="FAST_COMPILE")
    names = [v.name for v in model.value_vars]
    assert set(names) == {"tau_log__", "z", "z_new", "eta_simplex__", "beta" if mods else "mu"}
    shapes = {name: np.shape(value) for name, value in model.initial_point().items()}
    sizes = [int(np.prod(shapes[n])) for n in names]

    def unflatten(flat):
        parts = np.split(flat, np.cumsum(sizes)[:-1])
        return {n: part.reshape(shapes[n]) for n, part in zip(names, parts)}

    rng = np.random.default_rng(11)
    alpha = np.asarray(alpha or (1.0,) * (len(steps) + 1))
    for _ in range(4):
        flat = rng.normal(0.0, 0.7, sum(sizes))
        point = unflatten(flat)
        expected = _independent_logp(point, _DATA, steps, sides, alpha, mods)
        assert float(logp(point)) == pytest.approx(expected, rel=1e-7, abs=1e-7)
        h = 1e-4  # the gradient, against central differences of the independent log density
        numeric = [(_independent_logp(unflatten(flat + h * e), _DATA, steps, sides, alpha, mods)
                    - _independent_logp(unflatten(flat - h * e), _DATA, steps, sides, alpha, mods)) / (2 * h)
                   for e in np.eye(flat.size)]
        np.testing.assert_allclose(dlogp(point), numeric, rtol=1e-5, atol=1e-5)
