"""Bayesian meta-analysis models: :class:`MetaAnalysis` and its engines.

``MetaAnalysis`` validates the data and priors into a :class:`ModelSpec`
(:mod:`~bayesma.spec`); ``fit(engine="nuts")`` builds the PyMC model
(:mod:`~bayesma.models.build`, one module per family) and samples it
(:mod:`~bayesma.models.nuts`, compiled once per structure and cached),
``fit(engine="exact")`` integrates the posterior numerically
(:mod:`bayesma.exact`). This module is the only place that wraps an engine's
result into a :class:`bayesma.MetaPosterior`. PyMC is imported only when a NUTS
fit (or ``.pymc_model``) is asked for.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bayesma._quiet import backend_noise_filtered
from bayesma._validate import check_seed, label_alias
from bayesma.errors import HeavyTailWarning, InputError, PriorDominatesWarning, SmallKWarning
from bayesma.exact.capability import ENGINE_CHOICES, choose_engine
from bayesma.priors.base import short_text
from bayesma.priors.improper import moment_flags
from bayesma.spec import ModelSpec, build_spec

__all__ = ["MetaAnalysis", "ModelSpec", "SmallKWarning", "HeavyTailWarning"]

ENGINES = ENGINE_CHOICES
#: keyword arguments of fit() that the exact engine takes (the others are NUTS options)
EXACT_OPTIONS = ("grid", "theta_draws")


class MetaAnalysis:
    """A Bayesian meta-analysis: normal (or Student-t) random effects, moderators, subgroups, three levels.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        One row per effect; *yi*, *vi*, *labels*, moderators name its columns.
    yi, vi, sei : str or array_like
        Effects and their sampling variances (or standard errors).
    labels : str or array_like, optional
        Study labels (unique).
    mods : str, optional
        Moderator formula, as :func:`bayesma.rma` (e.g. ``"~ ablat"``).
    tau_by : str, optional
        Column of a categorical moderator: a separate tau per subgroup.
    cluster : str or array_like, optional
        Cluster (study) ids for effects nested in studies: a three-level model
        with a between-cluster SD ``tau`` and a within-cluster SD ``tau_within``.
    likelihood : {"normal", "student_t", "binomial", "poisson"}
        Distribution of the true effects around their mean (``student_t``:
        robust random effects with degrees of freedom ``nu``); ``"binomial"`` and
        ``"poisson"`` model counts (``ai=``..., below) with their exact likelihood.
    priors : dict, optional
        Keys ``mu`` (intercept), ``beta`` (slopes), ``tau``, ``tau_within``,
        ``nu``; values are :mod:`bayesma.priors` objects or strings such as
        ``"halfnormal(0.5)"``. Missing keys take the documented defaults for
        *measure* (:func:`bayesma.priors.default_priors`).
    model : {"random", "common"}
        Random effects, or a common (fixed) effect with tau = 0.
    measure : str, optional
        The effect measure ("OR", "RR", "SMD", "ZCOR", ...), to choose default priors.
    missing : {"raise", "drop"}
        Studies with missing values: an error, or dropped with a warning.
    bias : WeightFunction, PET or PEESE, optional
        A publication-bias family (NUTS only): a step-function selection model on
        one-sided p-values with a cumulative-Dirichlet prior on the weights, or PET /
        PEESE with the component's prior on the coefficient (:mod:`bayesma.models.bias`).
    V : array_like, scipy.sparse matrix or list of arrays, optional
        Known sampling covariance of the effects (k x k, block diagonal by *cluster*; or
        one block per cluster): the CHE model (:mod:`bayesma.models.dependence`).
    rho : float, optional
        Build V from *vi* with this correlation between the sampling errors of two
        effects of one cluster (metafor's ``vcalc(vi, cluster, obs, rho)``), in (-1, 1).
    outcome : str or array_like, optional
        Outcome of each effect: the multivariate model across outcomes, a mean
        ``mu[<outcome>]`` per outcome and correlated true effects within a study. With
        *mods* the formula is the whole fixed part (``"~ 0 + outcome + x"``, as metafor's
        ``mods = ~ outcome - 1 + x``): coefficients ``beta[<name>]`` instead of the means, a
        design of full column rank, and no ``theta_new[<outcome>]`` (``predict(design=...)``).
    struct : {"CS", "HCS", "UN"}, optional
        Structure of the true effects across outcomes (default ``"CS"``).
    scale : str, optional
        Scale formula of a location-scale model (e.g. ``"~ logni"``; an intercept is added):
        ``log tau_i = z_i' alpha``, each study with its own tau (NUTS only;
        :mod:`bayesma.models.location_scale`). Priors ``priors["alpha"]`` (intercept, default
        Normal(log of the median of the measure's default tau prior, 1)) and
        ``priors["alpha_slopes"]`` (default Normal(0, 1)) replace ``priors["tau"]``.
    ai, bi, ci, di, n1i, n2i : str or array_like, optional
        2x2 tables (``measure="OR"``, ``likelihood="binomial"``): events and non-events (or group
        sizes ``n1i``, ``n2i``) of the two groups, modelled with their binomial likelihood, no
        continuity correction (:mod:`bayesma.models.counts`; NUTS only).
    x1i, t1i, x2i, t2i : str or array_like, optional
        Events and person-time of two groups (``measure="IRR"``, ``likelihood="poisson"``).
    xi, ni, ti : str or array_like, optional
        Single groups: events of ``ni`` (``measure="PLO"``, binomial) or in person-time ``ti``
        (``measure="IRLN"``, Poisson).
    baseline : {"fixed", "random"}, optional
        Study baselines of a two-group count model: each its own parameter (``"fixed"``, the
        default, metafor's ``UM.FS``; prior ``priors["baseline"]``, default Normal(0, 10)) or
        random (``UM.RS``; ``priors["baseline_mu"]`` Normal(0, 10), ``priors["baseline_sd"]``
        HalfNormal(2.5)).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> model = bm.MetaAnalysis(dat, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    >>> post = model.fit(engine="exact", seed=1)            # doctest: +SKIP
    >>> post.summary().loc["mu", ["mean", "eti_lower", "eti_upper"]]  # doctest: +SKIP
    """

    @label_alias
    def __init__(
        self,
        data: pd.DataFrame | None = None,
        yi: Any = "yi",
        vi: Any = None,
        *,
        sei: Any = None,
        labels: Any = None,
        mods: Any = None,
        tau_by: str | None = None,
        cluster: Any = None,
        likelihood: str = "normal",
        priors: Mapping[str, Any] | None = None,
        model: str = "random",
        measure: str | None = None,
        missing: str = "raise",
        bias: Any = None,
        V: Any = None,
        rho: Any = None,
        outcome: Any = None,
        struct: str | None = None,
        scale: str | None = None,
        ai: Any = None,
        bi: Any = None,
        ci: Any = None,
        di: Any = None,
        n1i: Any = None,
        n2i: Any = None,
        x1i: Any = None,
        t1i: Any = None,
        x2i: Any = None,
        t2i: Any = None,
        xi: Any = None,
        ni: Any = None,
        ti: Any = None,
        baseline: str | None = None,
    ) -> None:
        counts = {"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i, "x1i": x1i, "x2i": x2i,
                  "t1i": t1i, "t2i": t2i, "xi": xi, "ni": ni, "ti": ti}
        is_counts = likelihood in ("binomial", "poisson") or any(v is not None for v in counts.values()) \
            or baseline is not None
        if measure is None and isinstance(data, pd.DataFrame):
            measure = data.attrs.get("measure")
            if is_counts and measure is not None:
                from bayesma.models.counts import MEASURES as COUNT_MEASURES

                if str(measure).upper() not in COUNT_MEASURES:
                    raise InputError(f"measure= is not given and the data set's attrs name measure={measure!r}, "
                                     f"which has no exact count likelihood: pass measure= one of "
                                     f"{sorted(COUNT_MEASURES)} ('OR' for 2x2 tables with likelihood='binomial')")
        if is_counts:
            self._init_counts(data, counts, yi=yi, vi=vi, sei=sei, likelihood=likelihood, measure=measure,
                              labels=labels, mods=mods, priors=priors, model=model, baseline=baseline,
                              missing=missing, others={"tau_by=": tau_by, "cluster=": cluster, "bias=": bias,
                                                       "V=": V, "rho=": rho, "outcome=": outcome,
                                                       "struct=": struct, "scale=": scale})
            return
        if V is not None or rho is not None or outcome is not None or struct is not None:
            if scale is not None:
                raise InputError("scale= (a location-scale model) cannot be combined with V=, rho=, outcome= "
                                 "or struct=")
            from bayesma.models.dependence import build_dependent_spec  # CHE / multivariate (dependence.py)

            self.spec = build_dependent_spec(
                data, yi, vi, V=V, rho=rho, cluster=cluster, outcome=outcome, struct=struct, sei=sei,
                labels=labels, mods=mods, priors=priors, measure=measure, missing=missing, model=model,
                likelihood=likelihood, tau_by=tau_by)
        else:
            self.spec: ModelSpec = build_spec(
                data, yi, vi, sei=sei, labels=labels, mods=mods, tau_by=tau_by, cluster=cluster,
                likelihood=likelihood, model=model, priors=priors, measure=measure, missing=missing,
                scale=scale,
            )
        if bias is not None:  # publication-bias families (bayesma/models/bias.py), NUTS only
            from bayesma.models.bias import with_bias

            self.spec = with_bias(self.spec, bias)
        self._pymc_cache: Any = None  # compiled models, kept across fits (a models.nuts.ModelCache)
        self._pymc_model: Any = None

    def _init_counts(self, data: Any, counts: dict[str, Any], *, yi: Any, vi: Any, sei: Any, likelihood: str,
                     others: dict[str, Any], **kwargs: Any) -> None:
        """The binomial- and Poisson-normal models (:mod:`bayesma.models.counts`)."""
        from bayesma.models.counts import build_counts_spec

        if likelihood not in ("binomial", "poisson"):
            raise InputError(f"counts (ai=, x1i=, xi=, ...) are modelled with likelihood='binomial' (OR, PLO) or "
                             f"'poisson' (IRR, IRLN), got likelihood={likelihood!r}; for the normal approximation "
                             "compute yi and vi with bayesma.escalc() first")
        if not any(v is not None for v in counts.values()):
            raise InputError(f"likelihood={likelihood!r} models counts: give them (ai=, bi=, ci=, di= for OR; "
                             "xi=, ni= for PLO; x1i=, t1i=, x2i=, t2i= for IRR; xi=, ti= for IRLN)")
        used = [name for name, value in others.items() if value is not None]
        used += [name for name, value in (("vi=", vi), ("sei=", sei)) if value is not None]
        used += ["yi="] if yi != "yi" else []
        if used:
            raise InputError(f"{', '.join(used)} cannot be used with likelihood={likelihood!r}: the counts are "
                             "the data of the binomial / Poisson model (random effects, moderators via mods=)")
        self.spec = build_counts_spec(data, likelihood=likelihood, counts=counts, **kwargs)
        self._pymc_cache = None
        self._pymc_model = None

    # ------------------------------------------------------------------
    @property
    def priors(self) -> dict[str, Any]:
        """The priors in use (defaults filled in).

        Examples
        --------
        >>> import bayesma as bm
        >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> m.priors
        {'mu': Normal(mu=0, sigma=1), 'tau': HalfNormal(sigma=0.5)}
        """
        return dict(self.spec.priors)

    @property
    def k(self) -> int:
        """Number of studies (rows of the data after validation).

        Examples
        --------
        >>> import bayesma as bm
        >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> m.k
        5
        """
        return self.spec.k

    @property
    def pymc_model(self):
        """The PyMC model (built on first access).

        Examples
        --------
        >>> import bayesma as bm
        >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> model = m.pymc_model    # doctest: +SKIP
        """
        from bayesma.models.build import build_model, structure_key

        key = structure_key(self.spec)
        if self._pymc_model is None or self._pymc_model[0] != key:
            self._pymc_model = (key, build_model(self.spec)[0])
        return self._pymc_model[1]

    @classmethod
    def from_spec(cls, spec: ModelSpec, *, share_cache_with: MetaAnalysis | None = None) -> MetaAnalysis:
        """A model of an existing :class:`ModelSpec` (e.g. a subset of another model's studies).

        Parameters
        ----------
        spec : ModelSpec
        share_cache_with : MetaAnalysis, optional
            A model whose compiled NUTS models this one reuses.

        Returns
        -------
        MetaAnalysis
        """
        new = object.__new__(cls)
        new.spec = spec
        new._pymc_cache = getattr(share_cache_with, "_pymc_cache", None)
        new._pymc_model = None
        return new

    def with_priors(self, priors: Mapping[str, Any]) -> MetaAnalysis:
        """A copy with some priors replaced; a NUTS refit reuses the compiled model
        when the prior families are unchanged (only hyperparameters differ).

        Parameters
        ----------
        priors : mapping of str to Prior or str
            Parameter name (``"mu"``, ``"tau"``, ...) -> prior or its text form; the
            other priors stay as they are.

        Returns
        -------
        MetaAnalysis
            A new model; this one is unchanged.

        Examples
        --------
        >>> import bayesma as bm
        >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05])
        >>> m.with_priors({"tau": "halfnormal(0.25)"}).priors["tau"]
        HalfNormal(sigma=0.25)
        """
        from bayesma.spec import check_priors, has_slopes, resolve_priors

        spec = self.spec
        dep = getattr(spec, "dependence", None)
        if dep is not None and dep.multivariate:  # priors by outcome (models/mv_priors.py)
            from bayesma.models.mv_priors import nested_priors, resolve_mv_priors

            mv = resolve_mv_priors({**nested_priors(spec.priors), **dict(priors)}, list(dep.outcome_names),
                                   dep.struct, measure=spec.measure, meta=spec.meta,
                                   coefs=list(spec.coef_names) if spec.is_regression else None)
            return MetaAnalysis.from_spec(dataclasses.replace(spec, priors=mv), share_cache_with=self)
        merged = {**spec.priors, **dict(priors)}
        counts = getattr(spec, "counts", None)
        if counts is not None:  # a count model's study baselines have their own priors (models/counts.py)
            from bayesma.models.counts import _count_priors, _normal_priors

            given, merged = merged, _normal_priors(merged)
        resolved = resolve_priors(
            merged, measure=spec.measure, meta=spec.meta, model=spec.model,
            three_level=spec.cluster_index is not None,
            likelihood="normal" if counts is not None else spec.likelihood,
            slopes=has_slopes(spec.mods, spec.coef_names), scale_q=0 if spec.Z is None else spec.Z.shape[1])
        if counts is not None:
            resolved = _count_priors(resolved, given, counts)
        new_spec = dataclasses.replace(spec, priors=resolved)
        check_priors(new_spec)  # as a direct fit: an improper posterior, a prior built for other studies
        return MetaAnalysis.from_spec(new_spec, share_cache_with=self)

    def fit(
        self,
        engine: str = "auto",
        draws: int = 1000,
        tune: int | None = None,
        chains: int = 4,
        seed: int | None = None,
        progressbar: bool | None = None,
        **kwargs: Any,
    ):
        """Compute the posterior.

        Parameters
        ----------
        engine : {"auto", "exact", "nuts"}
            ``"exact"`` integrates over tau numerically and returns independent
            draws (normal random effects, Normal or flat priors on the
            coefficients: see :func:`bayesma.exact.capability.exact_support`);
            ``"nuts"`` samples the PyMC model (nutpie when installed, else
            PyMC's NUTS). ``"auto"`` (the default, as on the command line) is
            ``"exact"`` when the exact engine can fit the model and no NUTS
            option (``tune``, ``target_accept``, ``sampler``, ...) is given,
            else ``"nuts"``. ``post.fit_info["engine_note"]`` says which engine
            ran and why.
        draws, chains : int
            Posterior draws per chain and number of chains (for the exact
            engine: ``draws * chains`` independent draws).
        tune : int, optional
            NUTS tuning steps per chain (default 1000); the exact engine has
            none, so giving it with ``engine="exact"`` is an error.
        seed : int, optional
            Random seed; the same seed gives the same numbers.
        progressbar : bool, optional
            NUTS: while the model compiles (once per model family; the compiled model is
            cached on disk for later runs, see :doc:`performance`), show the message and
            the seconds elapsed, then ``compiled in 12.3 s; sampling`` and the sampler's
            progress bar, on stderr (in a log file: a line every 10 s, no bar). ``None``
            (default): when stderr is a terminal or in Jupyter; ``False``: silent.
        **kwargs
            Engine options (``target_accept``, ``sampler="pymc"|"nutpie"``,
            ``prior_draws``...).

        Returns
        -------
        bayesma.MetaPosterior

        Examples
        --------
        >>> import bayesma as bm
        >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> post = m.fit(engine="exact")
        >>> post.summary().loc["mu", ["mean", "eti_lower", "eti_upper"]].round(3).tolist()
        [0.185, -0.052, 0.428]
        """
        nuts_options = [name for name in kwargs if name not in EXACT_OPTIONS]
        if tune is not None:
            nuts_options.insert(0, "tune")
        if progressbar:
            nuts_options.append("progressbar")
        engine, note = choose_engine(engine, self.spec, nuts_options=nuts_options)
        seed = check_seed(seed)
        if getattr(self.spec, "dependence", None) is not None:  # CHE / multivariate: their checks and warnings
            from bayesma.models.dependent_fit import choose_engine as dependent_engine

            dependent_engine(self.spec, engine)
        else:
            self._warn_small_k()
            self._warn_heavy_tail()
        if engine == "exact":
            from bayesma.exact import fit_exact
            from bayesma.posterior.engines import from_exact
            from bayesma.results import MetaPosterior

            if nuts_options:
                given = ", ".join(o + "=" for o in nuts_options)
                raise InputError(f"{given} {'is a NUTS option' if len(nuts_options) == 1 else 'are NUTS options'}: "
                                 "the exact engine integrates and draws independent samples (no tuning, no "
                                 "sampler settings); leave it out, or use engine='nuts'")
            with backend_noise_filtered():
                res = fit_exact(self.spec, draws=draws, chains=chains, seed=seed, **kwargs)
            return MetaPosterior(from_exact(res.exact, self.spec, res.draws), self.spec,
                                 fit_seconds=res.seconds, fit_info={**res.info, "engine_note": note})
        return self._fit_nuts(draws=draws, tune=1000 if tune is None else tune, chains=chains, seed=seed,
                              progressbar=progressbar, engine_note=note, **kwargs)

    def _fit_nuts(self, *, warn: bool = True, engine_note: str = "", **kwargs: Any):
        from bayesma.models import nuts
        from bayesma.posterior.engines import from_draws
        from bayesma.results import MetaPosterior

        if not isinstance(self._pymc_cache, nuts.ModelCache):
            self._pymc_cache = nuts.MODEL_CACHE
        with backend_noise_filtered():  # PyTensor's BLAS notice, log(0) at boundaries; diagnostics warn below
            fit = nuts.sample(self.spec, cache=self._pymc_cache, **kwargs)
        info = {**fit.info, "engine_note": engine_note} if engine_note else fit.info
        post = MetaPosterior(from_draws(fit.idata, self.spec), self.spec, fit_seconds=fit.seconds,
                             fit_info=info, cache_entry=fit.entry)
        if warn:
            post.diagnostics().warn()
        return post

    def _warn_heavy_tail(self) -> None:
        missing = [f"{row}'s {what}" for row, flags in moment_flags(self.spec).items()
                   for what, ok in zip(("mean", "sd"), flags) if not ok]
        if missing:
            warnings.warn(
                f"with k = {self.spec.k} studies and tau ~ {self.spec.priors['tau']!r} the posterior has heavy tails: "
                f"{', '.join(missing)} do not exist (shown as inf or NaN). Report medians and intervals, or use a "
                "lighter-tailed prior on tau (see docs: 'Reference and improper priors').",
                HeavyTailWarning, stacklevel=3,
            )

    def _warn_small_k(self) -> None:
        """Warn when a heterogeneity SD rests on fewer than 5 units: studies, clusters (three
        levels: tau is the SD between clusters) or the studies of one subgroup (tau_by)."""
        spec = self.spec
        if spec.model != "random":
            return
        tau_prior = spec.priors.get("tau")
        if spec.cluster_index is not None:
            n, what = len(spec.cluster_names), "the between-cluster tau"
            count = f"{n} cluster{'s' if n != 1 else ''} ({spec.k} effects)"
        elif spec.tau_by is not None:
            sizes = np.bincount(spec.group_index, minlength=len(spec.group_names))
            n = int(sizes.min())
            small = ", ".join(repr(g) for g, c in zip(spec.group_names, sizes) if c == n)
            what = f"the tau of subgroup {small}"
            count = f"k = {n} stud{'ies' if n != 1 else 'y'} in subgroup {small}"
        else:
            n, what, count = spec.k, "tau", f"k = {spec.k} studies"
        if n >= 5:
            return
        if n <= 2:
            warnings.warn(
                f"only {count}: the data say almost nothing about the heterogeneity, so the "
                f"posterior of {what} is essentially its prior ({short_text(tau_prior)}) and the interval for mu "
                "depends on it. Report results under several priors: see bayesma.compare_priors().",
                PriorDominatesWarning, stacklevel=3,
            )
        else:
            warnings.warn(
                f"{count} (< 5): the prior on {what} ({short_text(tau_prior)}) matters for the result; "
                "check how conclusions change with bayesma.compare_priors().",
                SmallKWarning, stacklevel=3,
            )

    def __repr__(self) -> str:
        from bayesma.priors import describe

        return f"MetaAnalysis({self.spec.describe()})\npriors:\n{describe(self.spec.priors)}"

