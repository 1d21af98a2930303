"""The result of :func:`bayesma.robma`: model probabilities, Bayes factors, averaged estimates, plots."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from bayesma.bias.components import PEESE, PET, WeightFunction
from bayesma.bias.importance_sampling import ModelFit, weighted_quantile
from bayesma.bias.model import ModelDef

__all__ = ["RoBMAResult"]

_COMPONENTS = ("Effect", "Heterogeneity", "Bias")


def _has(model: ModelDef, component: str) -> bool:
    return {"Effect": model.effect is not None, "Heterogeneity": model.heterogeneity is not None,
            "Bias": model.bias is not None}[component]


class RoBMAResult:  # numpydoc ignore=PR01
    """Model-averaged robust Bayesian meta-analysis (returned by :func:`bayesma.robma`).

    Attributes
    ----------
    models : pandas.DataFrame
        One row per model: ``effect``, ``heterogeneity``, ``bias`` (prior labels; ``""``
        for the nulls), ``prior_prob``, ``log_ml`` and its Monte Carlo error
        ``log_ml_se``, ``post_prob``, ``inclusion_BF`` (posterior odds / prior odds of
        the model against all others), ``ess`` (importance sampling).
    elapsed : float
        Seconds spent fitting the models.
    measure : str
        The input measure; estimates are on Cohen's d.

    Examples
    --------
    >>> import bayesma as bm
    >>> fit = bm.robma(bm.load_dataset("dat.lehmann2018"), yi="yi", vi="vi")   # doctest: +SKIP
    >>> fit.components()                                                        # doctest: +SKIP
    >>> fit.summary()                                                           # doctest: +SKIP
    """

    def __init__(self, models: Sequence[ModelDef], fits: Sequence[ModelFit], *, y, se, measure: str,
                 elapsed: float, labels=None, effect_direction: str = "positive") -> None:
        self.effect_direction = effect_direction
        self._defs = list(models)
        self._fits = list(fits)
        self.y, self.se, self.measure, self.elapsed, self.labels = y, se, measure, elapsed, labels
        prior = np.array([m.prior_prob for m in self._defs])
        log_ml = np.array([f.log_ml for f in self._fits])
        self._post = self._posterior(log_ml, prior)
        post = self._post
        with np.errstate(divide="ignore"):
            incl = (post / (1 - post)) / (prior / (1 - prior))
        self.models = pd.DataFrame({
            "effect": [self._label(m.effect, "Spike(0)") for m in self._defs],
            "heterogeneity": [self._label(m.heterogeneity, "Spike(0)") for m in self._defs],
            "bias": [m.bias_label for m in self._defs],
            "prior_prob": prior, "log_ml": log_ml,
            "log_ml_se": [f.log_ml_se for f in self._fits],
            "post_prob": post, "inclusion_BF": incl,
            "ess": [f.ess for f in self._fits],
        }, index=pd.RangeIndex(1, len(self._defs) + 1, name="model"))

    @staticmethod
    def _label(prior, null: str) -> str:
        if prior is None:
            return null
        if prior.family == "InverseGammaTau":
            p = prior.params
            return f"InvGamma({p['alpha']:g}, {p['beta']:g})"
        if prior.family == "Normal":
            p = prior.params
            return f"Normal({p['mu']:g}, {p['sigma']:g})"
        return repr(prior)

    @staticmethod
    def _posterior(log_ml, prior):
        lp = log_ml + np.log(prior)
        return np.exp(lp - special.logsumexp(lp))

    # -- model probabilities and Bayes factors ------------------------------------
    def components(self, n_boot: int = 400, seed: int = 1) -> pd.DataFrame:
        """Inclusion Bayes factors of effect, heterogeneity and bias.

        Parameters
        ----------
        n_boot : int
            Bootstrap replicates for the Monte Carlo error of the log Bayes factors.
        seed : int
            Seed of that bootstrap.

        Returns
        -------
        pandas.DataFrame
            Rows ``Effect``, ``Heterogeneity``, ``Bias``; columns ``models`` (number of
            models with the component), ``prior_prob``, ``post_prob``, ``inclusion_BF``,
            ``log_BF`` and ``log_BF_se`` (Monte Carlo error, propagated from the
            models' ``log_ml_se`` by a parametric bootstrap of ``n_boot`` replicates).

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.components().index.tolist()
        ['Effect', 'Heterogeneity', 'Bias']
        """
        prior = self.models["prior_prob"].to_numpy()
        log_ml = self.models["log_ml"].to_numpy()
        se = np.nan_to_num(self.models["log_ml_se"].to_numpy())
        rng = np.random.default_rng(seed)
        boot = log_ml[None, :] + rng.standard_normal((n_boot, log_ml.size)) * se[None, :]
        rows = {}
        for comp in _COMPONENTS:
            mask = np.array([_has(m, comp) for m in self._defs])
            if not mask.any() or mask.all():
                continue
            p_in = prior[mask].sum()

            def lbf(lml):
                lp = lml + np.log(prior)
                return (special.logsumexp(lp[..., mask], axis=-1) - special.logsumexp(lp[..., ~mask], axis=-1)
                        - math.log(p_in / (1 - p_in)))

            val = float(lbf(log_ml))
            rows[comp] = {"models": int(mask.sum()), "prior_prob": p_in, "post_prob": float(self._post[mask].sum()),
                          "inclusion_BF": math.exp(val), "log_BF": val, "log_BF_se": float(np.std(lbf(boot)))}
        return pd.DataFrame.from_dict(rows, orient="index")

    def bias_classes(self) -> pd.DataFrame:
        """Prior and posterior probability of each bias class.

        Returns
        -------
        pandas.DataFrame
            Rows ``none``, ``weightfunction``, ``PET``, ``PEESE`` (those in the ensemble);
            columns ``prior_prob``, ``post_prob``.

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.bias_classes().index.tolist()
        ['PEESE', 'PET', 'none']
        """
        cls = pd.Series([m.bias_class for m in self._defs], index=self.models.index)
        out = pd.DataFrame({"prior_prob": self.models["prior_prob"].groupby(cls).sum(),
                            "post_prob": self.models["post_prob"].groupby(cls).sum()})
        return out

    # -- mixtures --------------------------------------------------------------------
    def _mixture(self, param: str, include=None, p_grid=None):
        """Values and weights of the model-averaged posterior of *param* (models in *include*)."""
        vals, wts = [], []
        for i, (m, f) in enumerate(zip(self._defs, self._fits)):
            if include is not None and not include(m):
                continue
            if self._post[i] == 0:
                continue
            n = f.weights.size
            if param == "omega":
                if isinstance(m.bias, WeightFunction):
                    v = m.bias.omega_at(f.draws["omega"], p_grid)
                else:
                    v = np.ones((n, len(p_grid)))
            elif param in f.draws:
                v = f.draws[param]
            else:
                v = np.zeros(n)
            vals.append(v)
            wts.append(self._post[i] * f.weights)
        if not vals:
            return None, None
        w = np.concatenate(wts)
        return np.concatenate(vals), w / w.sum()

    @staticmethod
    def _summ(x, w) -> dict:
        q = weighted_quantile(x, w, [0.5, 0.025, 0.975])
        return {"mean": float(np.sum(w * x)), "median": q[0], "0.025": q[1], "0.975": q[2]}

    def _p_intervals(self):
        cuts = sorted({c for m in self._defs if isinstance(m.bias, WeightFunction) for c in m.bias.one_sided_cuts()})
        edges = [0.0] + cuts + [1.0]
        return edges

    def estimates(self, conditional: bool = False) -> pd.DataFrame:
        """Model-averaged (or conditional) posterior of mu, tau, PET, PEESE and the weights.

        Parameters
        ----------
        conditional : bool
            False: averaged over all models (nulls contribute their point value 0, or
            weight 1); True: averaged over the models that contain each parameter.

        Returns
        -------
        pandas.DataFrame
            Rows ``mu``, ``tau`` (Cohen's d), ``PET``, ``PEESE`` (PEESE on the d scale)
            and ``omega[a,b]`` per one-sided p-value interval; columns ``mean``,
            ``median``, ``0.025``, ``0.975``.

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.estimates().index.tolist()
        ['mu', 'tau', 'PET', 'PEESE']
        """
        rows = {}
        sel = {"mu": lambda m: m.effect is not None, "tau": lambda m: m.heterogeneity is not None,
               "PET": lambda m: isinstance(m.bias, PET), "PEESE": lambda m: isinstance(m.bias, PEESE)}
        for name, inc in sel.items():
            x, w = self._mixture(name, inc if conditional else None)
            if x is not None and (conditional or any(inc(m) for m in self._defs)):
                rows[name] = self._summ(x, w)
        edges = self._p_intervals()
        if len(edges) > 2:
            mid = 0.5 * (np.array(edges[:-1]) + np.array(edges[1:]))
            inc = (lambda m: isinstance(m.bias, WeightFunction)) if conditional else None
            x, w = self._mixture("omega", inc, mid)
            for j in range(mid.size):
                rows[f"omega[{edges[j]:g},{edges[j + 1]:g}]"] = self._summ(x[:, j], w)
        return pd.DataFrame.from_dict(rows, orient="index")

    def summary(self) -> pd.DataFrame:
        """Model-averaged estimates (:meth:`estimates`); the components are :meth:`components`.

        Returns
        -------
        pandas.DataFrame
            ``estimates(conditional=False)``: rows ``mu``, ``tau``, ``PET``, ``PEESE``,
            ``omega[a,b]``; columns ``mean``, ``median``, ``0.025``, ``0.975``.

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.summary().columns.tolist()
        ['mean', 'median', '0.025', '0.975']
        """
        return self.estimates()

    def priors(self) -> pd.DataFrame:
        """The priors used (on Cohen's d) and their prior model probabilities.

        Returns
        -------
        pandas.DataFrame
            Columns ``component``, ``prior`` (RoBMA's notation), ``prior_prob`` (the prior
            probability of the models with that prior).

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.priors().columns.tolist()
        ['component', 'prior', 'prior_prob']
        """
        rows = [("effect", self.models["effect"].iloc[-1], 0.5), ("effect_null", "Spike(0)", 0.5),
                ("heterogeneity", self.models["heterogeneity"].iloc[-1], 0.5), ("heterogeneity_null", "Spike(0)", 0.5)]
        seen = []
        for m in self._defs:
            if m.bias is not None and m.bias.label not in seen:
                seen.append(m.bias.label)
                share = sum(d.prior_prob for d in self._defs if d.bias is not None and d.bias.label == m.bias.label)
                rows.append(("bias", m.bias.label, share))
        if seen:
            rows.append(("bias_null", "none", sum(d.prior_prob for d in self._defs if d.bias is None)))
        return pd.DataFrame(rows, columns=["component", "prior", "prior_prob"])

    # -- printing --------------------------------------------------------------------
    def __repr__(self) -> str:
        comp = self.components()
        est = self.estimates()
        cond = self.estimates(conditional=True)
        lines = ["Robust Bayesian meta-analysis (RoBMA-PSMA ensemble, bayesma)",
                 f"k = {self.y.size} studies, measure {self.measure} (fitted on Fisher's z; estimates on Cohen's d); "
                 f"{len(self._defs)} models, fitted in {self.elapsed:.1f} s", "",
                 "Components summary:",
                 f"{'':15s}{'Models':>8s}{'Prior prob.':>13s}{'Post. prob.':>13s}{'Inclusion BF':>14s}{'log BF (MCSE)':>18s}"]
        n = len(self._defs)
        for name, r in comp.iterrows():
            lines.append(f"{name:15s}{int(r['models']):>5d}/{n:<3d}{r['prior_prob']:13.3f}{r['post_prob']:13.3f}"
                         f"{r['inclusion_BF']:14.3g}{r['log_BF']:11.3f} ({r['log_BF_se']:.3f})")
        for title, tab in (("Model-averaged estimates:", est), ("Conditional estimates:", cond)):
            lines += ["", title, f"{'':22s}{'Mean':>9s}{'Median':>9s}{'0.025':>9s}{'0.975':>9s}"]
            for name, r in tab.iterrows():
                lines.append(f"{name:22s}{r['mean']:9.3f}{r['median']:9.3f}{r['0.025']:9.3f}{r['0.975']:9.3f}")
        lines += ["", "Priors (Cohen's d scale):"]
        for _, r in self.priors().iterrows():
            lines.append(f"  {r['component']:19s}{r['prior']:52s} prior prob. {r['prior_prob']:.4f}")
        lines.append("mu and tau on Cohen's d; the model-averaged posterior includes the spikes at 0 of the null models.")
        if self.effect_direction == "negative":
            lines.append("effect_direction='negative': selection is modelled for negative effects, so the effects are "
                         "fitted with their signs flipped; mu is reported in its own direction, while the PET and "
                         "PEESE coefficients refer to the flipped effects and stay positive.")
        return "\n".join(lines)

    # -- plots -------------------------------------------------------------------------
    def plot_mu(self, conditional: bool = False, ax=None):
        """Model-averaged prior and posterior of mu; the spike at 0 as an arrow with its probability.

        Parameters
        ----------
        conditional : bool
            Plot the posterior of mu under the effect models only (no spike).
        ax : matplotlib.axes.Axes, optional
            Draw into this axes.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fig = fit.plot_mu()    # doctest: +SKIP
        """
        from scipy import stats

        from bayesma.plots.robma import robma_mu_plot

        x, w = self._mixture("mu", lambda m: m.effect is not None)
        p_eff = float(self.components().loc["Effect", "post_prob"]) if not conditional else 1.0
        prior_eff = 0.5 if not conditional else 1.0
        lo, hi = weighted_quantile(x, w, [0.0005, 0.9995])
        span = max(hi - lo, 0.2)
        grid = np.linspace(min(lo - 0.3 * span, -0.5), max(hi + 0.3 * span, 0.5), 400)
        # a weighted KDE of ~10^6 mixture draws is slow: resample 20,000 (systematic resampling)
        u = (np.arange(20000) + 0.5) / 20000
        xs = x[np.minimum(np.searchsorted(np.cumsum(w), u), x.size - 1)]
        kde = stats.gaussian_kde(xs)
        eff_prior = next(m.effect for m in self._defs if m.effect is not None)
        return robma_mu_plot(grid, prior_eff * np.exp(eff_prior.logpdf(grid)), p_eff * kde(grid),
                             p_spike=None if conditional else 1 - p_eff, p_spike_prior=1 - prior_eff,
                             title="Model-averaged" if not conditional else "Conditional (effect models)", ax=ax)

    def plot_weightfunction(self, ax=None):
        """Model-averaged weight function over one-sided p-values: mean and 95% interval.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Draw into this axes.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18])  # doctest: +SKIP
        >>> fig = fit.plot_weightfunction()    # doctest: +SKIP
        """
        from bayesma.plots.robma import weightfunction_plot

        est = self.estimates()
        rows = est.loc[[i for i in est.index if i.startswith("omega[")]]
        return weightfunction_plot(self._p_intervals(), rows["mean"].to_numpy(), rows["0.025"].to_numpy(),
                                   rows["0.975"].to_numpy(), ax=ax)
