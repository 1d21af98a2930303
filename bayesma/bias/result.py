"""The result of :func:`bayesma.robma`: model probabilities, Bayes factors, averaged estimates, plots."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from bayesma._format import format_bf, small_k_lines, wrap_text
from bayesma.bias.components import PEESE, PET, WeightFunction
from bayesma.bias.importance_sampling import ModelFit, weighted_quantile
from bayesma.bias.model import FitData, ModelDef
from bayesma.bias.scales import SCALE_NAMES, check_scale, to_scale
from bayesma.bias.tables import class_bayes_factor, heterogeneity_draws, model_table, prediction_draws
from bayesma.errors import InputError, UnsupportedModelError

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
        The input scale: ``"d"``, ``"r"``, ``"z"``, ``"logOR"`` or ``"y"``.
    prior_scale, output_scale : str
        The scale of the priors (``"d"``, or ``"y"`` for unstandardized effects) and the one
        estimates are reported on (``robma(output_scale=)``; each summary method takes its own).
    transformation : str
        ``"robma"`` or ``"link"``: how mu moves to another scale (:mod:`bayesma.bias.scales`).

    Examples
    --------
    >>> import bayesma as bm
    >>> fit = bm.robma(bm.load_dataset("dat.lehmann2018"), yi="yi", vi="vi")   # doctest: +SKIP
    >>> fit.components()                                                        # doctest: +SKIP
    >>> fit.summary()                                                           # doctest: +SKIP
    """

    def __init__(self, models: Sequence[ModelDef], fits: Sequence[ModelFit], *, y, se, measure: str,
                 elapsed: float, labels=None, effect_direction: str = "positive", fit_data: FitData | None = None,
                 prior_scale: str = "d", output_scale: str | None = None, transformation: str = "robma") -> None:
        self.effect_direction = effect_direction
        self.fit_data = fit_data
        self.prior_scale = prior_scale
        self.output_scale = check_scale(output_scale, prior_scale)
        self.transformation = transformation
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
            Rows ``Effect``, ``Heterogeneity``, ``Bias`` and, when the ensemble has both
            kinds of bias adjustment, ``Bias: selection models`` and ``Bias: PET-PEESE``
            (each class of models against all other models, nulls and the other class
            included); columns ``models`` (number of models with the component),
            ``prior_prob``, ``post_prob``, ``inclusion_BF``, ``log_BF`` and ``log_BF_se``
            (Monte Carlo error, propagated from the models' ``log_ml_se`` by a parametric
            bootstrap of ``n_boot`` replicates).

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
        se = self.models["log_ml_se"].to_numpy()
        masks = {comp: np.array([_has(m, comp) for m in self._defs]) for comp in _COMPONENTS}
        cls = np.array([m.bias_class for m in self._defs])
        wf, pp = cls == "weightfunction", np.isin(cls, ("PET", "PEESE"))
        if wf.any() and pp.any():  # the two kinds of bias adjustment, each against all other models
            masks["Bias: selection models"] = wf
            masks["Bias: PET-PEESE"] = pp
        rows = {name: class_bayes_factor(prior, log_ml, se, mask, n_boot, seed)
                for name, mask in masks.items() if mask.any() and not mask.all()}
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

    def estimates(self, conditional: bool = False, output_scale: str | None = None) -> pd.DataFrame:
        """Model-averaged (or conditional) posterior of mu, tau, PET, PEESE and the weights.

        Parameters
        ----------
        conditional : bool
            False: averaged over all models (nulls contribute their point value 0, or
            weight 1); True: averaged over the models that contain each parameter.
        output_scale : str, optional
            ``"d"``, ``"r"``, ``"z"``, ``"logOR"``, ``"OR"`` (``"y"`` for unstandardized
            effects); default the result's ``output_scale``. Each draw is converted as RoBMA
            does (:mod:`bayesma.bias.scales`).

        Returns
        -------
        pandas.DataFrame
            Rows ``mu``, ``tau``, ``PET``, ``PEESE`` and ``omega[a,b]`` per one-sided p-value
            interval; columns ``mean``, ``median``, ``0.025``, ``0.975``.

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.estimates().index.tolist()
        ['mu', 'tau', 'PET', 'PEESE']
        """
        scale = self._scale(output_scale)
        memo = self.__dict__.setdefault("_estimates_memo", {})
        key = (bool(conditional), scale)
        if key not in memo:  # the result is immutable: each table is computed once
            memo[key] = self._estimates(*key)
        return memo[key].copy()

    def _estimates(self, conditional: bool, scale: str) -> pd.DataFrame:
        rows = {}
        sel = {"mu": lambda m: m.effect is not None, "tau": lambda m: m.heterogeneity is not None,
               "PET": lambda m: isinstance(m.bias, PET), "PEESE": lambda m: isinstance(m.bias, PEESE)}
        for name, inc in sel.items():
            x, w = self._mixture(name, inc if conditional else None)
            if x is not None and (conditional or any(inc(m) for m in self._defs)):
                rows[name] = self._summ(to_scale(name, x, scale, self.transformation), w)
        edges = self._p_intervals()
        if len(edges) > 2:
            mid = 0.5 * (np.array(edges[:-1]) + np.array(edges[1:]))
            inc = (lambda m: isinstance(m.bias, WeightFunction)) if conditional else None
            x, w = self._mixture("omega", inc, mid)
            for j in range(mid.size):
                rows[f"omega[{edges[j]:g},{edges[j + 1]:g}]"] = self._summ(x[:, j], w)
        return pd.DataFrame.from_dict(rows, orient="index")

    def _scale(self, output_scale: str | None) -> str:
        return self.output_scale if output_scale is None else check_scale(output_scale, self.prior_scale, self.measure)

    def summary(self, type: str = "estimates", output_scale: str | None = None,
                conditional: bool = False) -> pd.DataFrame:
        """One table of the ensemble, by RoBMA's ``summary(fit, type = ...)`` names.

        Parameters
        ----------
        type : {"estimates", "models", "components", "heterogeneity", "priors"}
            ``"estimates"``: :meth:`estimates`; ``"models"``: the per-model table
            (:func:`bayesma.bias.tables.model_table`: priors, prior and posterior probability,
            log marginal likelihood and its MC error, posterior of mu, tau, PET, PEESE and the
            weights under each model); ``"components"``: :meth:`components`;
            ``"heterogeneity"``: :meth:`heterogeneity` with the prediction interval of
            :meth:`prediction`; ``"priors"``: :meth:`priors`.
        output_scale : str, optional
            Scale of mu, tau and PEESE (default the result's ``output_scale``).
        conditional : bool
            For ``"estimates"`` and ``"heterogeneity"``: average over the models that contain
            each parameter only.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.summary().columns.tolist()
        ['mean', 'median', '0.025', '0.975']
        >>> fit.summary(type="models").shape
        (12, 21)
        """
        if type == "estimates":
            return self.estimates(conditional=conditional, output_scale=output_scale)
        if type == "models":
            return model_table(self, self._scale(output_scale))
        if type == "components":
            return self.components()
        if type == "heterogeneity":
            return pd.concat([self.heterogeneity(conditional, output_scale), self.prediction(output_scale)])
        if type == "priors":
            return self.priors()
        raise InputError(f"summary(type={type!r}): use 'estimates', 'models', 'components', 'heterogeneity' "
                         "or 'priors'")

    def heterogeneity(self, conditional: bool = False, output_scale: str | None = None) -> pd.DataFrame:
        """Model-averaged tau, tau², I² (percent) and H² (RoBMA's ``summary_heterogeneity``).

        Parameters
        ----------
        conditional : bool
            Average over the models with heterogeneity only (no spike at tau = 0).
        output_scale : str, optional
            Scale of tau and tau² (I² and H² have none).

        Returns
        -------
        pandas.DataFrame
            Rows ``tau``, ``tau2``, ``I2`` (percent, Higgins and Thompson's typical
            within-study variance on the fitting scale), ``H2``; columns ``mean``,
            ``median``, ``0.025``, ``0.975``.

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.heterogeneity().index.tolist()
        ['tau', 'tau2', 'I2', 'H2']
        """
        scale = self._scale(output_scale)
        draws, w = heterogeneity_draws(self, (lambda m: m.heterogeneity is not None) if conditional else None)
        tau = to_scale("tau", draws["tau"], scale, self.transformation)
        rows = {"tau": self._summ(tau, w), "tau2": self._summ(tau**2, w), "I2": self._summ(100 * draws["I2"], w),
                "H2": self._summ(draws["H2"], w)}
        return pd.DataFrame.from_dict(rows, orient="index")

    def prediction(self, output_scale: str | None = None, seed: int = 1) -> pd.DataFrame:
        """Model-averaged posterior predictive of a new study's true effect (its 95% interval).

        Parameters
        ----------
        output_scale : str, optional
            Scale of the prediction (each draw converted as mu is).
        seed : int
            Seed of the normal draws added to each posterior draw of mu.

        Returns
        -------
        pandas.DataFrame
            One row ``prediction``: ``theta_new = mu + tau e``, ``e ~ N(0, 1)``, over all
            models (the nulls' mu = 0, tau = 0 included); columns ``mean``, ``median``,
            ``0.025``, ``0.975``.

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18],
        ...                ensemble="PP", draws=256, replicates=2)
        >>> fit.prediction().columns.tolist()
        ['mean', 'median', '0.025', '0.975']
        """
        x, w = prediction_draws(self, seed)
        x = to_scale("mu", x, self._scale(output_scale), self.transformation)
        return pd.DataFrame.from_dict({"prediction": self._summ(x, w)}, orient="index")

    def _no_moderators(self, what: str) -> UnsupportedModelError:
        return UnsupportedModelError(f"{what}() needs moderators: this ensemble was fitted without mods=; fit it "
                                     "with robma(..., mods=\"~ x\") (or bma(..., mods=)) for RoBMA-reg")

    def moderators(self) -> pd.DataFrame:
        """Inclusion Bayes factors of the moderators: only for a fit with ``mods=``.

        Returns
        -------
        pandas.DataFrame
            Never: a fit with ``mods=`` is a :class:`~bayesma.bias.extended_result.RoBMAExtResult`,
            whose method returns the table.

        Raises
        ------
        UnsupportedModelError
            Always: this ensemble has no moderators (fit it with ``mods=``).

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(d=[0.3, 0.5, 0.4, 0.1], se=[0.1] * 4)   # doctest: +SKIP
        >>> fit.moderators()                                        # doctest: +SKIP
        Traceback (most recent call last):
        bayesma.errors.UnsupportedModelError: moderators() needs moderators: ...
        """
        raise self._no_moderators("moderators")

    def marginal_means(self, output_scale: str | None = None) -> pd.DataFrame:
        """Marginal means of the factor levels: only for a fit with ``mods=``.

        Parameters
        ----------
        output_scale : str, optional
            As :meth:`estimates`.

        Returns
        -------
        pandas.DataFrame
            Never: a fit with ``mods=`` is a :class:`~bayesma.bias.extended_result.RoBMAExtResult`,
            whose method returns the table.

        Raises
        ------
        UnsupportedModelError
            Always: this ensemble has no moderators (fit it with ``mods=``).

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(d=[0.3, 0.5, 0.4, 0.1], se=[0.1] * 4)   # doctest: +SKIP
        >>> fit.marginal_means()                                    # doctest: +SKIP
        Traceback (most recent call last):
        bayesma.errors.UnsupportedModelError: marginal_means() needs moderators: ...
        """
        raise self._no_moderators("marginal_means")

    def priors(self) -> pd.DataFrame:
        """The priors used (on the prior scale: Cohen's d, or y) and their prior model probabilities.

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
    def _scale_note(self) -> str:
        inp = {"d": "Cohen's d", "r": "correlations r", "z": "Fisher's z", "logOR": "log odds ratios",
               "y": "unstandardized effects y"}.get(self.measure, self.measure)
        fitted = "fitted as given" if self.prior_scale == "y" else "fitted on Fisher's z"
        return (f"input {inp} ({fitted}); priors on {SCALE_NAMES[self.prior_scale]}; "
                f"estimates on {SCALE_NAMES[self.output_scale]}")

    def _title(self) -> str:
        """The first line of the printout, naming the ensemble that was fitted (not always RoBMA-PSMA)."""
        wfs = {m.bias.label for m in self._defs if isinstance(m.bias, WeightFunction)}
        has = {cls for cls in (PET, PEESE) if any(isinstance(m.bias, cls) for m in self._defs)}
        if not wfs and not has:
            return "Bayesian model averaging without publication-bias models (bayesma)"
        if len(wfs) == 6 and has == {PET, PEESE}:
            what = "RoBMA-PSMA ensemble"
        else:
            parts = [f"{len(wfs)} weight function{'s' if len(wfs) != 1 else ''}"] if wfs else []
            parts += [c.__name__ for c in (PET, PEESE) if c in has]
            what = {"6 weight functions": "RoBMA 6w ensemble", "PET, PEESE": "RoBMA PET-PEESE ensemble"}.get(
                ", ".join(parts), "ensemble: " + ", ".join(parts))
        return f"Robust Bayesian meta-analysis ({what}, bayesma)"

    def __repr__(self) -> str:
        comp = self.components()
        est = self.estimates()
        cond = self.estimates(conditional=True)
        het = pd.concat([self.heterogeneity(), self.prediction()])
        lines = [self._title(),
                 f"k = {self.y.size} studies, {self._scale_note()}; {len(self._defs)} models, fitted in "
                 f"{self.elapsed:.1f} s", "", "Components summary:",
                 f"{'':24s}{'Models':>8s}{'Prior prob.':>13s}{'Post. prob.':>13s}{'Inclusion BF':>14s}{'log BF (MCSE)':>18s}"]
        n = len(self._defs)
        for name, r in comp.iterrows():
            lines.append(f"{name:24s}{int(r['models']):>5d}/{n:<3d}{r['prior_prob']:13.3f}{r['post_prob']:13.3f}"
                         f"{format_bf(r['inclusion_BF']):>14s}{r['log_BF']:11.3f} ({r['log_BF_se']:.3f})")
        for title, tab in (("Model-averaged estimates:", est), ("Conditional estimates:", cond),
                           ("Heterogeneity (model-averaged; I2 in %) and prediction for a new study:", het)):
            lines += ["", title, f"{'':22s}{'Mean':>9s}{'Median':>9s}{'0.025':>9s}{'0.975':>9s}"]
            for name, r in tab.iterrows():
                lines.append(f"{name:22s}{r['mean']:9.3f}{r['median']:9.3f}{r['0.025']:9.3f}{r['0.975']:9.3f}")
        lines += ["", f"Priors (on {SCALE_NAMES[self.prior_scale]}):"]
        priors = self.priors()
        width = max([52, *(len(str(p)) + 1 for p in priors["prior"])])  # the column fits its longest prior
        for _, r in priors.iterrows():
            lines.append(f"  {r['component']:19s}{r['prior']:{width}s} prior prob. {r['prior_prob']:.4f}")
        lines.append(f"mu and tau on {SCALE_NAMES[self.output_scale]}; the model-averaged posterior includes the "
                     "spikes at 0 of the null models. Every model: summary(type='models').")
        if self.effect_direction == "negative":
            lines.append("effect_direction='negative': selection is modelled for negative effects, so the effects are "
                         "fitted with their signs flipped; mu is reported in its own direction, while the PET and "
                         "PEESE coefficients refer to the flipped effects and stay positive.")
        if any(m.bias_class != "none" for m in self._defs):
            lines += small_k_lines("robma", int(self.y.size))
        return "\n".join(wrap_text(line) for line in lines)  # prose at 100 columns

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
                             xlabel=f"mu ({SCALE_NAMES[self.prior_scale]})",
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

        Raises
        ------
        UnsupportedModelError
            The ensemble has no weight function (``ensemble="PP"`` or ``"none"``, :func:`bayesma.bma`).

        Examples
        --------
        >>> import bayesma as bm
        >>> fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6, 0.2, 0.45], sei=[0.1, 0.15, 0.12, 0.2, 0.1, 0.18])  # doctest: +SKIP
        >>> fig = fit.plot_weightfunction()    # doctest: +SKIP
        """
        from bayesma.plots.robma import weightfunction_plot

        est = self.estimates()
        rows = est.loc[[i for i in est.index if i.startswith("omega[")]]
        if rows.empty:
            raise UnsupportedModelError("plot_weightfunction(): this ensemble has no selection (weight-function) "
                                        "model, so there is no weight function to draw; use an ensemble with "
                                        "weight functions (ensemble='PSMA' or '6w')")
        return weightfunction_plot(self._p_intervals(), rows["mean"].to_numpy(), rows["0.025"].to_numpy(),
                                   rows["0.975"].to_numpy(), ax=ax)
