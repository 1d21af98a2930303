"""Result of a RoBMA meta-regression (``mods=``) or multilevel RoBMA (``cluster=``).

Adds to :class:`~bayesma.bias.result.RoBMAResult`: inclusion Bayes factors per
moderator (:meth:`RoBMAExtResult.moderators`), model-averaged coefficients (each
factor level's deviation from the grand mean, continuous moderators per unit),
marginal means per factor level (:meth:`RoBMAExtResult.marginal_means`) and, with
clusters, rho (the share of heterogeneity between clusters).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from bayesma._format import format_bf, wrap_text
from bayesma.bias.result import RoBMAResult
from bayesma.bias.scales import to_scale

__all__ = ["RoBMAExtResult"]


class RoBMAExtResult(RoBMAResult):  # numpydoc ignore=PR01
    """Model-averaged robust Bayesian meta-regression / multilevel meta-analysis.

    Returned by :func:`bayesma.robma` and :func:`bayesma.bma` with ``mods=`` or
    ``cluster=``. Everything of :class:`~bayesma.bias.result.RoBMAResult`, plus
    :meth:`moderators`, :meth:`marginal_means`, coefficient rows and ``rho`` in
    :meth:`estimates`, and the columns ``moderators`` (the moderators in each model)
    of ``models``.

    Examples
    --------
    >>> import bayesma as bm
    >>> import pandas as pd
    >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "sei": [0.1] * 6,
    ...                    "g": ["a", "a", "a", "b", "b", "b"]})
    >>> fit = bm.bma(df, yi="yi", sei="sei", measure="ZCOR", mods="~ g", draws=256, replicates=2)
    >>> fit.moderators().index.tolist()
    ['g']
    """

    def __init__(self, models, fits, *, terms, clusters, **kwargs) -> None:
        self.terms = list(terms)
        self.clusters = clusters
        super().__init__(models, fits, **kwargs)
        self.models.insert(3, "moderators", [", ".join(t.name for t in m.mods) for m in self._defs])

    # -- moderators ------------------------------------------------------------------
    def moderators(self) -> pd.DataFrame:
        """Inclusion Bayes factor of each moderator (models with it against models without).

        Returns
        -------
        pandas.DataFrame
            One row per moderator; columns ``kind`` (factor or continuous), ``prior``,
            ``prior_prob``, ``post_prob``, ``inclusion_BF``, ``log_BF``.

        Raises
        ------
        UnsupportedModelError
            The fit has no moderators (``cluster=`` without ``mods=``).

        Examples
        --------
        >>> import bayesma as bm
        >>> import pandas as pd
        >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "sei": [0.1] * 6,
        ...                    "g": ["a", "a", "a", "b", "b", "b"]})
        >>> fit = bm.bma(df, yi="yi", sei="sei", mods="~ g", draws=256, replicates=2)
        >>> fit.moderators().columns.tolist()
        ['kind', 'prior', 'prior_prob', 'post_prob', 'inclusion_BF', 'log_BF']
        """
        if not self.terms:  # cluster= without mods=
            raise self._no_moderators("moderators")
        prior = self.models["prior_prob"].to_numpy()
        post = self._post
        rows = {}
        for t in self.terms:
            mask = np.array([t in m.mods for m in self._defs])
            p_in, q_in = prior[mask].sum(), post[mask].sum()
            with np.errstate(divide="ignore"):
                log_bf = math.log(q_in) - math.log1p(-q_in) - math.log(p_in / (1 - p_in)) if 0 < q_in < 1 else (
                    math.inf if q_in >= 1 else -math.inf)
            p = t.prior.params
            rows[t.name] = {"kind": t.kind, "prior": f"Normal({p['mu']:g}, {p['sigma']:g})", "prior_prob": p_in,
                            "post_prob": q_in, "inclusion_BF": math.exp(log_bf), "log_BF": log_bf}
        return pd.DataFrame.from_dict(rows, orient="index")

    def _mix(self, fn: Callable, include=None) -> tuple[np.ndarray | None, np.ndarray | None]:
        vals, wts = [], []
        for i, (m, f) in enumerate(zip(self._defs, self._fits)):
            if self._post[i] == 0 or (include is not None and not include(m)):
                continue
            vals.append(fn(m, f.draws, f.weights.size))
            wts.append(self._post[i] * f.weights)
        if not vals:
            return None, None
        w = np.concatenate(wts)
        return np.concatenate(vals), w / w.sum()

    @staticmethod
    def _beta(term, m, draws, n) -> np.ndarray:
        return draws[f"beta[{term.name}]"] if term in m.mods else np.zeros((n, term.ncol))

    def _coefficient_rows(self, conditional: bool, scale: str) -> dict:
        rows = {}
        for t in self.terms:
            inc = (lambda m, t=t: t in m.mods) if conditional else None
            if t.kind == "factor":
                x, w = self._mix(lambda m, d, n, t=t: self._beta(t, m, d, n) @ t.contrast.T, inc)
                for j, lev in enumerate(t.levels):
                    rows[f"{t.name}[dif: {lev}]"] = self._summ(to_scale("tau", x[:, j], scale), w)
            else:
                x, w = self._mix(lambda m, d, n, t=t: self._beta(t, m, d, n)[:, 0] / t.scale, inc)
                rows[t.name] = self._summ(to_scale("tau", x, scale), w)
        return rows

    def estimates(self, conditional: bool = False, output_scale: str | None = None) -> pd.DataFrame:
        """Model-averaged (or conditional) estimates, with rho and the moderators' coefficients.

        Parameters
        ----------
        conditional : bool
            Average over the models that contain each parameter only.
        output_scale : str, optional
            As :meth:`RoBMAResult.estimates`; the coefficients (differences of effects) move
            with the linear scaling of tau.

        Returns
        -------
        pandas.DataFrame
            The rows of :meth:`RoBMAResult.estimates` (mu is the grand mean, on the effect
            prior's scale), ``rho`` with clusters, and per moderator either one row per
            factor level (``"name[dif: level]"``, the level's deviation from the grand
            mean) or one row (continuous, per unit of the moderator).

        Examples
        --------
        >>> import bayesma as bm
        >>> import pandas as pd
        >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "sei": [0.1] * 6,
        ...                    "g": ["a", "a", "a", "b", "b", "b"]})
        >>> fit = bm.bma(df, yi="yi", sei="sei", mods="~ g", draws=256, replicates=2)
        >>> fit.estimates().index.tolist()
        ['mu', 'tau', 'g[dif: a]', 'g[dif: b]']
        """
        out = super().estimates(conditional, output_scale)
        rows = {}
        if self.clusters is not None:
            x, w = self._mix(lambda m, d, n: d["rho"] if m.multilevel else np.full(n, np.nan),
                             lambda m: m.multilevel)
            if x is not None:
                rows["rho"] = self._summ(x, w)
        rows.update(self._coefficient_rows(conditional, self._scale(output_scale)))
        extra = pd.DataFrame.from_dict(rows, orient="index")
        return pd.concat([out, extra]) if len(extra) else out

    def summary(self, type: str = "estimates", output_scale: str | None = None,
                conditional: bool = False) -> pd.DataFrame:
        """One table of the ensemble (as :meth:`RoBMAResult.summary`), the per-model one with the moderators.

        Parameters
        ----------
        type : {"estimates", "models", "components", "heterogeneity", "priors"}
            As :meth:`RoBMAResult.summary`; ``"models"`` adds the column ``moderators`` (those in
            each model) and, with clusters, ``rho_mean``, ``rho_0.025``, ``rho_0.975``.
        output_scale : str, optional
            Scale of mu, tau and PEESE.
        conditional : bool
            For ``"estimates"`` and ``"heterogeneity"``.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import bayesma as bm
        >>> import pandas as pd
        >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "sei": [0.1] * 6,
        ...                    "g": ["a", "a", "a", "b", "b", "b"]})
        >>> fit = bm.bma(df, yi="yi", sei="sei", mods="~ g", draws=256, replicates=2)
        >>> fit.summary(type="models")["moderators"].tolist()
        ['', 'g', '', 'g', '', 'g', '', 'g']
        """
        out = super().summary(type, output_scale, conditional)
        if type != "models":
            return out
        out.insert(3, "moderators", self.models["moderators"])
        if self.clusters is not None:
            rows = []
            for m, f in zip(self._defs, self._fits):
                rows.append(self._summ(f.draws["rho"], f.weights) if m.multilevel else
                            {"mean": np.nan, "0.025": np.nan, "0.975": np.nan})
            for key in ("mean", "0.025", "0.975"):
                out[f"rho_{key}"] = [r[key] for r in rows]
        return out

    def marginal_means(self, output_scale: str | None = None) -> pd.DataFrame:
        """Model-averaged marginal mean effect of every factor level (and the grand mean).

        The marginal mean of a level is the grand mean plus the level's deviation,
        with continuous moderators at their mean and the other factors averaged over
        their levels (mean-difference contrasts make both zero), in every model
        (a model without the moderator contributes the grand mean; the null models of
        the effect a mean of 0 plus the deviation), as RoBMA's ``marginal_means()``.

        Parameters
        ----------
        output_scale : str, optional
            ``"d"``, ``"r"``, ``"z"``, ``"logOR"``, ``"OR"`` (``"y"`` for unstandardized
            effects); default the result's ``output_scale``. Each draw of the level's mean
            is converted as mu is (the result's ``transformation``: RoBMA 3's conversion,
            or ``"link"``, the mean on Fisher's z the likelihood used, which is what RoBMA 4
            reports for correlations fitted on z).

        Returns
        -------
        pandas.DataFrame
            Rows ``intercept`` and ``"name[level]"``; columns ``mean``, ``median``,
            ``0.025``, ``0.975``.

        Raises
        ------
        UnsupportedModelError
            The fit has no moderators (``cluster=`` without ``mods=``).

        Examples
        --------
        >>> import bayesma as bm
        >>> import pandas as pd
        >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "sei": [0.1] * 6,
        ...                    "g": ["a", "a", "a", "b", "b", "b"]})
        >>> fit = bm.bma(df, yi="yi", sei="sei", measure="ZCOR", mods="~ g", draws=256, replicates=2)
        >>> fit.marginal_means(output_scale="r").index.tolist()
        ['intercept', 'g[a]', 'g[b]']
        """
        if not self.terms:  # cluster= without mods=
            raise self._no_moderators("marginal_means")
        scale = self._scale(output_scale)

        def tr(v):
            return to_scale("mu", v, scale, self.transformation)

        rows = {}
        x, w = self._mix(lambda m, d, n: d["mu"])
        rows["intercept"] = self._summ(tr(x), w)
        for t in self.terms:
            if t.kind != "factor":
                continue
            x, w = self._mix(lambda m, d, n, t=t: d["mu"][:, None] + self._beta(t, m, d, n) @ t.contrast.T)
            for j, lev in enumerate(t.levels):
                rows[f"{t.name}[{lev}]"] = self._summ(tr(x[:, j]), w)
        return pd.DataFrame.from_dict(rows, orient="index")

    def __repr__(self) -> str:
        text = super().__repr__()
        lines = [text, ""]
        if self.terms:
            lines += ["Moderators (each in or out, prior probability 1/2; continuous ones standardized, factors "
                      "with mean-difference contrasts):",
                      f"{'':15s}{'Kind':>12s}{'Prior':>18s}{'Post. prob.':>13s}{'Inclusion BF':>14s}"]
            for name, r in self.moderators().iterrows():
                lines.append(f"{name:15s}{r['kind']:>12s}{r['prior']:>18s}{r['post_prob']:13.3f}"
                             f"{format_bf(r['inclusion_BF']):>14s}")
        if self.clusters is not None:
            rho = next((m.allocation.label for m in self._defs if m.allocation is not None), "Beta(1, 1)")
            lines.append(f"Multilevel: {self.y.size} estimates in {self.clusters.g} clusters; rho (share of "
                         f"heterogeneity between clusters) ~ {rho}; weight functions act on each estimate "
                         f"given its cluster effect (adaptive Gauss-Hermite, {self.clusters.n_nodes} nodes).")
        return "\n".join(wrap_text(line) for line in lines)  # prose at 100 columns

