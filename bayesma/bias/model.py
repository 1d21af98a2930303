"""One model of the ensemble: its parameters, log posterior on the unconstrained space, and fit.

The parameters are on the scale of the priors (Cohen's d for RoBMA's defaults);
the likelihood is evaluated on the fitting scale through fixed linear links
(:class:`FitData`): ``mu_fit = c_mu * mu``, ``tau_fit = c_tau * tau``,
``b_PEESE_fit = b / c_mu`` (PET is scale-free). For d on Fisher's z,
``c_mu = c_tau = 1/2`` (RoBMA's ``scale_d2z``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bayesma.bias.components import PEESE, PET, WeightFunction
from bayesma.bias.importance_sampling import ModelFit, importance_sample
from bayesma.bias.likelihood import cutoffs, loglik
from bayesma.priors import Prior

__all__ = ["FitData", "ModelDef", "fit_model", "log_density"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def log_density(prior: Prior, x: np.ndarray, on_tau: bool = False) -> np.ndarray:
    """Log density of *prior* at *x* (of tau when ``on_tau``), closed form for the common families.

    Same values as ``prior.logpdf`` / ``prior.logpdf_tau`` (scipy), without building a frozen
    scipy distribution on every call (the importance sampler calls this thousands of times).
    """
    p = prior.params
    fam = prior.family
    with np.errstate(divide="ignore", invalid="ignore"):
        if fam == "Normal":
            return -_LOG_SQRT_2PI - math.log(p["sigma"]) - 0.5 * ((x - p["mu"]) / p["sigma"]) ** 2
        if fam == "InverseGammaTau":
            a, b = p["alpha"], p["beta"]
            return np.where(x > 0, a * math.log(b) - math.lgamma(a) - (a + 1) * np.log(x) - b / x, -np.inf)
        if fam == "HalfCauchy":
            s = p["beta"]
            return np.where(x >= 0, math.log(2 / (math.pi * s)) - np.log1p((x / s) ** 2), -np.inf)
        if fam == "HalfNormal":
            s = p["sigma"]
            return np.where(x >= 0, math.log(2.0) - _LOG_SQRT_2PI - math.log(s) - 0.5 * (x / s) ** 2, -np.inf)
    return np.asarray(prior.logpdf_tau(x) if on_tau else prior.logpdf(x), dtype=float)


@dataclass
class FitData:
    """Data on the fitting scale with the links from the prior scale.

    Attributes
    ----------
    y, se : numpy.ndarray of shape (k,)
        Effects and standard errors on the fitting scale.
    y_orig, se_orig : numpy.ndarray of shape (k,)
        The same on the measure's own scale (for the cut points).
    measure : str
        ``"SMD"``, ``"COR"``, ``"ZCOR"``, ``"LOR"`` or ``"GEN"``: the cut-point rule
        (see :func:`~bayesma.bias.likelihood.cutoffs`).
    c_mu, c_tau : float
        Prior-scale to fitting-scale factors of mu and tau; a negative ``c_mu`` fits
        effects expected to be negative (``y`` holds the flipped effects, RoBMA's
        ``effect_direction = "negative"``), so that mu keeps its direction.
    """

    y: np.ndarray
    se: np.ndarray
    y_orig: np.ndarray
    se_orig: np.ndarray
    measure: str = "GEN"
    c_mu: float = 1.0
    c_tau: float = 1.0
    _crit: dict = field(default_factory=dict, repr=False)

    def crit(self, wf: WeightFunction) -> np.ndarray:
        key = (wf.steps, wf.sides)
        if key not in self._crit:
            self._crit[key] = cutoffs(self.y_orig, self.se_orig, wf.steps, wf.sides, self.measure)
        return self._crit[key]


@dataclass(frozen=True)
class ModelDef:
    """One model: a prior on mu (None: mu = 0), on tau (None: tau = 0), a bias component (None: no bias)."""

    effect: Prior | None
    heterogeneity: Prior | None
    bias: WeightFunction | PET | PEESE | None
    prior_prob: float = 1.0

    @property
    def bias_label(self) -> str:
        return "" if self.bias is None else self.bias.label

    @property
    def bias_class(self) -> str:
        if self.bias is None:
            return "none"
        return "weightfunction" if isinstance(self.bias, WeightFunction) else self.bias.kind

    def dims(self) -> list[str]:
        names = []
        if self.effect is not None:
            names.append("mu")
        if self.heterogeneity is not None:
            names.append("log_tau")
        if isinstance(self.bias, (PET, PEESE)):
            names.append("log_b" if self.bias.positive else "b")
        if isinstance(self.bias, WeightFunction):
            names += [f"x{j}" for j in range(self.bias.n_weights - 1)]
        return names

    def transform(self, u: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Unconstrained points (n, d) -> parameters on the prior scale, log prior + log Jacobian."""
        n = u.shape[0]
        col = 0
        out: dict[str, np.ndarray] = {}
        lp = np.zeros(n)
        if self.effect is not None:
            out["mu"] = u[:, col]
            lp += log_density(self.effect, out["mu"])
            col += 1
        else:
            out["mu"] = np.zeros(n)
        if self.heterogeneity is not None:
            out["tau"] = np.exp(u[:, col])
            lp += log_density(self.heterogeneity, out["tau"], on_tau=True) + u[:, col]
            col += 1
        else:
            out["tau"] = np.zeros(n)
        if isinstance(self.bias, (PET, PEESE)):
            key = self.bias.kind
            if self.bias.positive:
                out[key] = np.exp(u[:, col])
                lp += log_density(self.bias.prior, out[key], on_tau=True) + u[:, col]
            else:
                out[key] = u[:, col]
                lp += log_density(self.bias.prior, out[key])
            col += 1
        if isinstance(self.bias, WeightFunction):
            out["omega"], lpw = self.bias.log_prior_unconstrained(u[:, col:])
            lp += lpw
        return out, lp

    def loglik(self, par: dict[str, np.ndarray], data: FitData) -> np.ndarray:
        kw = {}
        if isinstance(self.bias, PET):
            kw["pet"] = par["PET"]
        elif isinstance(self.bias, PEESE):
            kw["peese"] = par["PEESE"] / abs(data.c_mu)
        elif isinstance(self.bias, WeightFunction):
            kw.update(omega=par["omega"], crit=data.crit(self.bias), sides=self.bias.sides)
        return loglik(data.y, data.se, data.c_mu * par["mu"], data.c_tau * par["tau"], **kw)

    def logpost(self, u: np.ndarray, data: FitData) -> np.ndarray:
        par, lp = self.transform(u)
        ok = np.isfinite(lp)
        out = np.full(u.shape[0], -np.inf)
        if ok.any():
            sub = {k: v[ok] for k, v in par.items()}
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ll = self.loglik(sub, data)
            out[ok] = np.where(np.isfinite(ll), ll + lp[ok], -np.inf)
        return out

    def start(self, data: FitData) -> np.ndarray:
        x = []
        w = 1.0 / data.se**2
        if self.effect is not None:
            x.append(float(np.sum(w * data.y) / np.sum(w)) / data.c_mu)
        if self.heterogeneity is not None:
            x.append(math.log(max(float(np.std(data.y)), 0.05) / data.c_tau))
        if isinstance(self.bias, (PET, PEESE)):
            x.append(0.0)
        if isinstance(self.bias, WeightFunction):
            x += [0.0] * (self.bias.n_weights - 1)
        return np.array(x, dtype=float)


def fit_model(model: ModelDef, data: FitData, *, n: int = 2048, replicates: int = 8,
              seed: int | None = 0, pilot: int = 4096) -> ModelFit:
    """Marginal likelihood and weighted posterior draws of one model.

    A model without free parameters (mu = 0, tau = 0, no bias) has its likelihood
    as marginal likelihood (exact, zero error); every other model is integrated by
    :func:`~bayesma.bias.importance_sampling.importance_sample`.
    """
    if not model.dims():
        par, _ = model.transform(np.zeros((1, 0)))
        ll = float(model.loglik(par, data)[0])
        return ModelFit(ll, 0.0, par, np.ones(1), 1.0)
    log_ml, se, u, w, ess, mode = importance_sample(lambda x: model.logpost(x, data), model.start(data),
                                                    n=n, replicates=replicates, seed=seed, pilot=pilot)
    keep = w > 0
    par, _ = model.transform(u[keep])
    return ModelFit(log_ml, se, par, w[keep] / w[keep].sum(), ess, mode)
