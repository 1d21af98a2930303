"""MetaPosterior: the posterior of a Bayesian meta-analysis, from either engine.

A :class:`MetaPosterior` wraps an :class:`arviz.InferenceData` and the
:class:`~bayesma.models.spec.ModelSpec` it came from. It summarizes (mean, sd,
median, equal-tailed intervals, R-hat and ESS), answers probability questions
(``post.prob("mu > 0")``), checks the sampler (:meth:`MetaPosterior.diagnostics`),
puts the frequentist estimates beside the posterior
(:meth:`MetaPosterior.compare_frequentist`), reports how much the data moved
the prior (:meth:`MetaPosterior.prior_influence`), plots, and saves to netCDF
without loss (:meth:`MetaPosterior.to_netcdf`, :func:`load_posterior`).

ArviZ, xarray and matplotlib are imported inside the methods that need them.

Constructing one (for engines)
------------------------------
``MetaPosterior(idata, spec, engine, exact_summary=None, fit_seconds=None)``:

- ``idata``: InferenceData whose ``posterior`` group has dims ``(chain, draw, ...)``
  and the variables of :mod:`bayesma.models.spec` (``mu`` or ``beta``, ``tau``,
  ``tau_within``, ``nu``, ``theta``, ``theta_new``) with the spec's coords
  (``study``, ``coef``, ``subgroup``). Optional groups: ``prior``,
  ``sample_stats`` (``diverging``), ``observed_data``, ``constant_data``.
- ``spec``: the :class:`ModelSpec`.
- ``engine``: ``"nuts"`` or ``"exact"`` (any string; it labels the output).
- ``exact_summary``: a DataFrame indexed like :meth:`MetaPosterior.summary`
  (``mu``, ``tau``, ``theta[<label>]``, ``theta_new``...) with columns
  ``mean, sd, median, eti_lower, eti_upper`` (95% intervals) computed without
  Monte Carlo error; :meth:`summary` uses those rows and sets R-hat and ESS to NaN.
- ``fit_seconds``: wall time of the fit.
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import arviz as az
    from matplotlib.figure import Figure

    from bayesma.models.spec import ModelSpec

__all__ = ["MetaPosterior", "Diagnostics", "SamplingWarning", "load_posterior", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail"]
#: diagnostics thresholds (Vehtari et al. 2021)
MAX_R_HAT = 1.01
MIN_ESS = 400

_PARAM_ORDER = ("mu", "beta", "tau", "tau_within", "nu", "theta", "theta_new")
_META_ATTR = "bayesma"


class SamplingWarning(UserWarning):
    """The sampler's diagnostics failed (divergences, R-hat or ESS)."""


# ---------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------


class Diagnostics(dict):
    """Sampler diagnostics of a fit, a dict with a readable repr.

    Keys: ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``,
    ``n_draws``, ``passed`` (R-hat <= 1.01, both ESS >= 400, no divergences),
    ``problems`` (list of str) and ``advice`` (list of str). For the exact
    engine R-hat and ESS are NaN and ``passed`` is True.

    Examples
    --------
    >>> d = Diagnostics(max_r_hat=1.002, min_ess_bulk=1500.0, min_ess_tail=1200.0, divergences=0,
    ...                 n_draws=4000, passed=True, problems=[], advice=[])
    >>> d.passed
    True
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_frame(self) -> pd.DataFrame:
        """The numbers as a one-row DataFrame."""
        keys = ["max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "n_draws", "passed"]
        return pd.DataFrame([{k: self.get(k) for k in keys}])

    def line(self) -> str:
        """One line: ``passed (max R-hat 1.003, min ESS bulk 1520 / tail 1310, 0 divergences)``."""
        status = "passed" if self["passed"] else "FAILED"
        r = self["max_r_hat"]
        if r is None or (isinstance(r, float) and math.isnan(r)):
            return f"{status} (independent draws: no MCMC diagnostics needed)"
        return (
            f"{status} (max R-hat {r:.3f}, min ESS bulk {self['min_ess_bulk']:.0f} / "
            f"tail {self['min_ess_tail']:.0f}, {self['divergences']} divergences)"
        )

    def warn(self, stacklevel: int = 3) -> None:
        """Emit a :class:`SamplingWarning` with advice when the diagnostics failed."""
        if not self["passed"]:
            text = "NUTS diagnostics failed: " + "; ".join(self["problems"]) + ". " + " ".join(self["advice"])
            warnings.warn(text, SamplingWarning, stacklevel=stacklevel)

    def __repr__(self) -> str:
        lines = [f"Diagnostics: {self.line()}"]
        lines += [f"  problem: {p}" for p in self.get("problems", [])]
        lines += [f"  advice: {a}" for a in self.get("advice", [])]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# probability expressions
# ---------------------------------------------------------------------------

_SUBSCRIPT = re.compile(r"([A-Za-z_]\w*)\[\s*([^\]]+?)\s*\]")
_FUNCS = {"abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt}


def _eval_expr(expr: str, lookup) -> np.ndarray:
    """Evaluate a comparison such as ``"mu > 0"`` over posterior draws, safely (AST walk)."""
    names: dict[str, np.ndarray] = {}

    def sub(m: re.Match) -> str:
        key = f"__v{len(names)}"
        label = m.group(2).strip().strip("'\"")
        names[key] = lookup(m.group(1), label)
        return key

    text = _SUBSCRIPT.sub(sub, expr.strip())
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse {expr!r}: write e.g. 'mu > 0', 'tau < 0.1', 'beta[ablat] < 0'") from exc

    binops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
              ast.Pow: np.power, ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or}
    cmps = {ast.Gt: np.greater, ast.GtE: np.greater_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
            ast.Eq: np.equal, ast.NotEq: np.not_equal}

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            return lookup(node.id, None)
        if isinstance(node, ast.UnaryOp):
            val = ev(node.operand)
            if isinstance(node.op, ast.USub):
                return -val
            if isinstance(node.op, ast.UAdd):
                return val
            if isinstance(node.op, (ast.Invert, ast.Not)):
                return np.logical_not(val)
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = fn(out, v)
            return out
        if isinstance(node, ast.BinOp) and type(node.op) in binops:
            return binops[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare):
            left, out = ev(node.left), None
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp)
                res = cmps[type(op)](left, right)
                out = res if out is None else np.logical_and(out, res)
                left = right
            return out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise ValueError(f"unsupported expression in {expr!r}: {ast.dump(node)[:60]}")

    return np.asarray(ev(tree))


# ---------------------------------------------------------------------------
# MetaPosterior
# ---------------------------------------------------------------------------


class MetaPosterior:
    """Posterior of a Bayesian meta-analysis (from ``MetaAnalysis.fit``).

    Parameters
    ----------
    idata : arviz.InferenceData
        At least a ``posterior`` group with dims ``(chain, draw, ...)`` (see the
        module docstring for the variables and coords).
    spec : ModelSpec
        The model specification the posterior belongs to.
    engine : str
        ``"nuts"`` or ``"exact"``.
    exact_summary : pandas.DataFrame, optional
        Exact summary rows (columns ``mean, sd, median, eti_lower, eti_upper``).
    fit_seconds : float, optional
        Wall time of the fit.

    Attributes
    ----------
    idata, spec, engine, exact_summary, fit_seconds
    fit_info : dict
        Engine details (sampler, seed, whether the model was compiled...).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> post = bm.MetaAnalysis(dat).fit(draws=500, chains=2, seed=1)     # doctest: +SKIP
    >>> post.summary().loc[["mu", "tau"]]                                 # doctest: +SKIP
    >>> post.prob("mu < 0")                                               # doctest: +SKIP
    """

    def __init__(
        self,
        idata: "az.InferenceData",
        spec: "ModelSpec",
        engine: str,
        exact_summary: pd.DataFrame | None = None,
        fit_seconds: float | None = None,
        exact: Any = None,
    ) -> None:
        if not hasattr(idata, "posterior"):
            raise ValueError("idata must have a posterior group")
        self.idata = idata
        self.spec = spec
        self.engine = str(engine)
        self.exact_summary = exact_summary
        self.fit_seconds = None if fit_seconds is None else float(fit_seconds)
        self.exact = exact
        self.fit_info: dict[str, Any] = {}
        self._summary_cache: dict[tuple, pd.DataFrame] = {}

    # ------------------------------------------------------------------
    # draws
    # ------------------------------------------------------------------
    @property
    def posterior(self):
        """The posterior group (an xarray Dataset)."""
        return self.idata.posterior

    @property
    def priors(self) -> dict[str, Any]:
        """The priors of the fit."""
        return dict(self.spec.priors)

    @property
    def n_draws(self) -> int:
        p = self.idata.posterior
        return int(p.sizes["chain"] * p.sizes["draw"])

    def _var_dim(self, name: str) -> str | None:
        da = self.idata.posterior[name]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        return extra[0] if extra else None

    def draws(self, name: str, label: str | None = None) -> np.ndarray:
        """Flattened posterior draws of a parameter (``label`` picks one element of a vector).

        Parameters
        ----------
        name : str
            ``"mu"``, ``"tau"``, ``"theta"``, ``"beta"``, ... ; also ``"tau2"`` (tau squared) and,
            for intercept-only models, ``"mu"``.
        label : str, optional
            Coordinate label (study label, coefficient name, subgroup name).

        Returns
        -------
        numpy.ndarray
            Shape ``(n_draws,)`` or ``(n_draws, n)`` for a vector without *label*.
        """
        post = self.idata.posterior
        if name not in post:
            if name == "tau2" and "tau" in post:
                return self.draws("tau", label) ** 2
            if name == "mu" and "beta" in post and "intrcpt" in list(post["beta"].coords.get("coef", [])):
                return self.draws("beta", "intrcpt")
            known = [v for v in post.data_vars if not v.endswith("__")]
            raise KeyError(f"no parameter {name!r} in the posterior; parameters: {known}")
        da = post[name]
        dim = self._var_dim(name)
        if label is not None:
            if dim is None:
                raise KeyError(f"{name!r} is a scalar; it has no element {label!r}")
            labels = [str(c) for c in da.coords[dim].values]
            if label not in labels:
                raise KeyError(f"{name!r} has no element {label!r}; its {dim} labels are {labels}")
            da = da.isel({dim: labels.index(label)})
            dim = None
        vals = np.asarray(da.values, dtype=float)
        n = vals.shape[0] * vals.shape[1]
        return vals.reshape(n) if dim is None else vals.reshape((n,) + vals.shape[2:])

    def _rows(self) -> list[tuple[str, str, str | None]]:
        """(row name, variable, label) in the order of the summary."""
        post = self.idata.posterior
        rows = []
        for name in _PARAM_ORDER:
            if name not in post:
                continue
            if name == "mu" and "beta" in post:
                continue
            dim = self._var_dim(name)
            if dim is None:
                rows.append((name, name, None))
            else:
                for lab in post[name].coords[dim].values:
                    rows.append((f"{name}[{lab}]", name, str(lab)))
        return rows

    # ------------------------------------------------------------------
    # summaries
    # ------------------------------------------------------------------
    def summary(self, hdi: bool = False, prob: float = 0.95) -> pd.DataFrame:
        """Posterior summary table.

        Parameters
        ----------
        hdi : bool
            Add highest-density interval columns ``hdi_lower``, ``hdi_upper``.
        prob : float
            Interval probability (0.95).

        Returns
        -------
        pandas.DataFrame
            Rows ``mu`` (or ``beta[<coef>]``), ``tau`` (or ``tau[<subgroup>]``),
            ``tau_within``, ``nu``, ``theta[<label>]``, ``theta_new`` (or
            ``theta_new[<subgroup>]``), as the model has them; columns
            ``mean, sd, median, eti_lower, eti_upper, r_hat, ess_bulk, ess_tail``
            (R-hat and ESS are NaN for the exact engine and single chains).

        Examples
        --------
        >>> post.summary().loc["tau", ["median", "eti_lower", "eti_upper"]]   # doctest: +SKIP
        """
        if not 0 < prob < 1:
            raise ValueError(f"prob must be in (0, 1), got {prob}")
        key = (bool(hdi), float(prob))
        if key in self._summary_cache:
            return self._summary_cache[key].copy()
        rows = self._rows()
        lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
        out = []
        diag = self._mcmc_diagnostics() if self.exact_summary is None else {}
        for row, var, lab in rows:
            x = self.draws(var, lab)
            rec = {
                "mean": float(np.mean(x)),
                "sd": float(np.std(x, ddof=1)) if x.size > 1 else float("nan"),
                "median": float(np.median(x)),
                "eti_lower": float(np.quantile(x, lo_q)),
                "eti_upper": float(np.quantile(x, hi_q)),
                "r_hat": diag.get(row, (np.nan,) * 3)[0],
                "ess_bulk": diag.get(row, (np.nan,) * 3)[1],
                "ess_tail": diag.get(row, (np.nan,) * 3)[2],
            }
            if hdi:
                rec["hdi_lower"], rec["hdi_upper"] = _hdi(x, prob)
            out.append(rec)
        cols = SUMMARY_COLUMNS + (["hdi_lower", "hdi_upper"] if hdi else [])
        df = pd.DataFrame(out, index=pd.Index([r[0] for r in rows], name="parameter"), columns=cols)
        if self.exact_summary is not None:
            ex = self.exact_summary
            exact_cols = ["mean", "sd", "median", "eti_lower", "eti_upper"]
            use = exact_cols if abs(prob - 0.95) < 1e-12 else ["mean", "sd", "median"]
            common = [r for r in df.index if r in ex.index]
            for c in use:
                if c in ex.columns:
                    df.loc[common, c] = ex.loc[common, c].astype(float).values
            df[["r_hat", "ess_bulk", "ess_tail"]] = np.nan
        self._summary_cache[key] = df
        return df.copy()

    def _mcmc_diagnostics(self) -> dict[str, tuple[float, float, float]]:
        """row -> (r_hat, ess_bulk, ess_tail) from ArviZ (NaN with one chain)."""
        import arviz as az

        post = self.idata.posterior
        rows = self._rows()
        names = sorted({var for _, var, _ in rows})
        ds = post[names]
        if post.sizes["chain"] < 2 or post.sizes["draw"] < 4:
            return {}
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            rhat = az.rhat(ds)
            bulk = az.ess(ds, method="bulk")
            tail = az.ess(ds, method="tail")
        out = {}
        for row, var, lab in rows:
            vals = []
            for d in (rhat, bulk, tail):
                da = d[var]
                if lab is not None:
                    dim = da.dims[0]
                    labels = [str(c) for c in da.coords[dim].values]
                    da = da.isel({dim: labels.index(lab)})
                vals.append(float(da.values))
            out[row] = tuple(vals)
        return out

    # ------------------------------------------------------------------
    # probability statements
    # ------------------------------------------------------------------
    def prob(self, expr: str) -> float:
        """Posterior probability of a statement about the parameters.

        Parameters
        ----------
        expr : str
            A comparison of parameters and numbers: ``"mu > 0"``,
            ``"mu < -0.2"``, ``"tau > 0.5"``, ``"theta_new < 0"``,
            ``"beta[ablat] < 0"``, ``"theta[Aronson] < mu"``,
            ``"mu < 0 and tau < 0.3"``, ``"abs(mu) > 0.1"``.

        Returns
        -------
        float

        Examples
        --------
        >>> post.prob("mu < 0")            # doctest: +SKIP
        0.9995
        """
        val = _eval_expr(expr, self.draws)
        if val.dtype != bool:
            raise ValueError(f"{expr!r} is not a statement (use a comparison such as 'mu > 0')")
        return float(np.mean(val))

    probability = prob

    def p_greater(self, var: str, value: float = 0.0) -> float:
        """P(var > value), e.g. ``post.p_greater("mu", 0)``; ``var`` may be ``"beta[ablat]"``."""
        return self.prob(f"{var} > {float(value)!r}")

    def p_less(self, var: str, value: float = 0.0) -> float:
        """P(var < value), e.g. ``post.p_less("mu", -0.2)``."""
        return self.prob(f"{var} < {float(value)!r}")

    # ------------------------------------------------------------------
    # diagnostics
    # ------------------------------------------------------------------
    def diagnostics(self) -> Diagnostics:
        """Sampler diagnostics over mu/beta, tau (all variance parameters), theta and theta_new.

        ``passed`` means max R-hat <= 1.01, min bulk and tail ESS >= 400 and no
        divergent transitions. A failed NUTS fit warns with advice
        (:class:`SamplingWarning`) right after sampling.

        Examples
        --------
        >>> post.diagnostics().passed      # doctest: +SKIP
        True
        """
        n_draws = self.n_draws
        if self.engine == "exact" or self.exact_summary is not None:
            return Diagnostics(max_r_hat=float("nan"), min_ess_bulk=float("nan"), min_ess_tail=float("nan"),
                               divergences=0, n_draws=n_draws, passed=True, problems=[], advice=[])
        s = self.summary()
        rhat = float(np.nanmax(s["r_hat"].values)) if s["r_hat"].notna().any() else float("nan")
        bulk = float(np.nanmin(s["ess_bulk"].values)) if s["ess_bulk"].notna().any() else float("nan")
        tail = float(np.nanmin(s["ess_tail"].values)) if s["ess_tail"].notna().any() else float("nan")
        div = 0
        stats = getattr(self.idata, "sample_stats", None)
        if stats is not None and "diverging" in stats:
            div = int(np.asarray(stats["diverging"].values).sum())
        problems, advice = [], []
        if div > 0:
            problems.append(f"{div} divergent transitions")
            ta = self.fit_info.get("target_accept")
            nxt = 0.95 if ta is None or ta < 0.95 else 0.99
            advice.append(f"Raise target_accept (e.g. fit(..., target_accept={nxt})); with few studies "
                          "a more informative prior on tau also removes the funnel.")
        if math.isnan(rhat) or rhat > MAX_R_HAT:
            problems.append("R-hat not computable (one chain)" if math.isnan(rhat) else f"max R-hat {rhat:.3f} > {MAX_R_HAT}")
            advice.append("Run more chains and longer tuning (e.g. chains=4, tune=2000).")
        if math.isnan(bulk) or bulk < MIN_ESS or tail < MIN_ESS:
            if not math.isnan(bulk):
                problems.append(f"min ESS bulk {bulk:.0f} / tail {tail:.0f} < {MIN_ESS}")
            advice.append("Draw more samples (e.g. draws=2000) and tune longer.")
        return Diagnostics(max_r_hat=rhat, min_ess_bulk=bulk, min_ess_tail=tail, divergences=div,
                           n_draws=n_draws, passed=not problems, problems=problems, advice=list(dict.fromkeys(advice)))

    # ------------------------------------------------------------------
    # prior influence
    # ------------------------------------------------------------------
    def prior_influence(self, prob: float = 0.95, threshold: float = 0.8) -> pd.DataFrame:
        """How far the data narrowed each prior: posterior / prior interval width.

        For ``mu`` (or each coefficient), ``tau`` (per subgroup), ``tau_within``:
        the width of the central *prob* interval of the posterior divided by that
        of the prior (exact prior quantiles: ``ppf_tau`` for heterogeneity
        priors). A ratio near 1 means the data said little: the prior decides
        the answer.

        Returns
        -------
        pandas.DataFrame
            Rows as :meth:`summary`; columns ``prior``, ``prior_lower``,
            ``prior_upper``, ``posterior_lower``, ``posterior_upper``, ``ratio``
            and ``note`` (a sentence when ``ratio > threshold``).

        Examples
        --------
        >>> post.prior_influence().loc["tau", "ratio"]    # doctest: +SKIP
        """
        s = self.summary(prob=prob)
        lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
        recs, index = [], []
        for row, var, lab in self._rows():
            if var in ("theta", "theta_new", "nu"):
                continue
            if var == "beta":
                j = list(self.spec.coef_names).index(lab)
                prior = self.spec.location_prior(j)
            elif var == "mu":
                prior = self.spec.priors["mu"]
            else:
                prior = self.spec.priors.get(var)
            if prior is None:
                continue
            # ppf_tau: quantiles of tau for heterogeneity priors, ppf() otherwise
            p_lo, p_hi = float(prior.ppf_tau(lo_q)), float(prior.ppf_tau(hi_q))
            q_lo, q_hi = float(s.loc[row, "eti_lower"]), float(s.loc[row, "eti_upper"])
            ratio = (q_hi - q_lo) / (p_hi - p_lo) if p_hi > p_lo else float("nan")
            note = ""
            if ratio > threshold:
                note = (f"the prior dominates: the posterior {int(round(prob * 100))}% interval of {row} is "
                        f"{ratio:.0%} as wide as the prior's ({prior!r}); the data say little about it, "
                        "so report results under other priors (bayesma.compare_priors)")
            recs.append({"prior": repr(prior), "prior_lower": p_lo, "prior_upper": p_hi,
                         "posterior_lower": q_lo, "posterior_upper": q_hi, "ratio": ratio, "note": note})
            index.append(row)
        return pd.DataFrame(recs, index=pd.Index(index, name="parameter"))

    # ------------------------------------------------------------------
    # frequentist comparison
    # ------------------------------------------------------------------
    def compare_frequentist(self, level: float = 0.95) -> pd.DataFrame:
        """The frequentist estimates (``bayesma.rma``) beside the posterior.

        Rows ``FE``, ``DL``, ``REML``, ``REML+KH`` (Knapp-Hartung) and
        ``Bayesian (<engine>)``; columns ``estimate, ci_lb, ci_ub`` (the pooled
        effect and its interval), ``tau, tau_ci_lb, tau_ci_ub`` (Q-profile
        interval; 0 and NaN for FE) and ``pi_lb, pi_ub`` (prediction interval
        for a new study). The Bayesian row gives posterior medians and
        equal-tailed intervals (``theta_new`` for the prediction interval).

        For a meta-regression the index is a MultiIndex ``(method, coef)``:
        one row per method and coefficient, intercept first; the tau columns
        repeat within a method, and ``pi_lb, pi_ub`` are the prediction
        interval of a new study at the mean moderator values (``spec.x_new``),
        also repeated. Subgroup-tau and three-level models are compared with
        the ordinary (single-tau, two-level) frequentist fits; three-level
        models also get a ``REML (3-level)`` row from :func:`bayesma.rma_mv`
        when available.

        Examples
        --------
        >>> post.compare_frequentist().round(3)            # doctest: +SKIP
        """
        from bayesma.frequentist import fit_rma

        spec = self.spec
        if level > 1:
            level = level / 100.0
        reg = spec.is_regression
        rows: list[tuple[Any, dict]] = []
        x_new = np.asarray(spec.x_new, dtype=float)

        def add(method_label: str, res) -> None:
            tau, t_lo, t_hi = 0.0, float("nan"), float("nan")
            if method_label != "FE":
                tau = res.tau
                if res.tau2_ci is not None:
                    t_lo, t_hi = (float(np.sqrt(max(v, 0.0))) for v in res.tau2_ci)
            # predict() takes the full design row (intercept included) of a regression
            pred = res.predict(newmods=x_new[None, :] if reg else None, level=level)
            pi_lb, pi_ub = float(pred["pi_lb"].iloc[0]), float(pred["pi_ub"].iloc[0])
            for j, name in enumerate(res.coef_names):
                rec = {"estimate": float(res.beta[j]), "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]),
                       "tau": tau, "tau_ci_lb": t_lo, "tau_ci_ub": t_hi, "pi_lb": pi_lb, "pi_ub": pi_ub}
                rows.append(((method_label, name) if reg else method_label, rec))

        md = spec.meta
        for label, method, test in (("FE", "FE", "z"), ("DL", "DL", "z"), ("REML", "REML", "z"),
                                    ("REML+KH", "REML", "knha")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fit_rma(md, spec.X, list(spec.coef_names), method=method, test=test, level=level)
            add(label, res)
        if spec.cluster_index is not None and not reg:
            try:
                from bayesma.frequentist import rma_mv

                cl = np.asarray(spec.cluster_names, dtype=object)[spec.cluster_index]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res3 = rma_mv(spec.yi, spec.vi, cluster=cl, level=level)
                rows.append(("REML (3-level)", {
                    "estimate": float(res3.beta[0]), "ci_lb": float(res3.ci_lb[0]), "ci_ub": float(res3.ci_ub[0]),
                    "tau": float(np.sqrt(res3.sigma2[0])), "tau_ci_lb": float("nan"), "tau_ci_ub": float("nan"),
                    "pi_lb": float(res3.pi_lb or np.nan), "pi_ub": float(res3.pi_ub or np.nan)}))
            except Exception:  # pragma: no cover - a failed 3-level fit only drops its row
                pass

        # Bayesian row(s): posterior medians and equal-tailed intervals (exact values when available)
        lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
        bname = f"Bayesian ({self.engine})"
        summ = self.summary(prob=level)
        post = self.idata.posterior

        def mci(row: str, var: str) -> tuple[float, float, float]:
            if row in summ.index:
                r = summ.loc[row]
                return float(r["median"]), float(r["eti_lower"]), float(r["eti_upper"])
            x = self.draws(var).reshape(-1)  # a vector (per subgroup): pooled over its elements
            med, lo, hi = np.quantile(x, [0.5, lo_q, hi_q])
            return float(med), float(lo), float(hi)

        tau_med, t_lo, t_hi = mci("tau", "tau") if "tau" in post else (0.0, float("nan"), float("nan"))
        _, pi_lb, pi_ub = mci("theta_new", "theta_new")
        common = {"tau": tau_med, "tau_ci_lb": t_lo, "tau_ci_ub": t_hi, "pi_lb": pi_lb, "pi_ub": pi_ub}
        if reg:
            for name in spec.coef_names:
                med, lo, hi = mci(f"beta[{name}]", "beta")
                rows.append(((bname, name), {"estimate": med, "ci_lb": lo, "ci_ub": hi, **common}))
        else:
            med, lo, hi = mci("mu", "mu")
            rows.append((bname, {"estimate": med, "ci_lb": lo, "ci_ub": hi, **common}))
        cols = ["estimate", "ci_lb", "ci_ub", "tau", "tau_ci_lb", "tau_ci_ub", "pi_lb", "pi_ub"]
        if reg:
            index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["method", "coef"])
        else:
            index = pd.Index([r[0] for r in rows], name="method")
        return pd.DataFrame([r[1] for r in rows], index=index, columns=cols)

    # ------------------------------------------------------------------
    # save / load
    # ------------------------------------------------------------------
    def _meta_json(self) -> str:
        spec = self.spec
        mods = spec.mods
        meta = {
            "format": 1,
            "engine": self.engine,
            "fit_seconds": self.fit_seconds,
            "fit_info": {k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
                         for k, v in self.fit_info.items()},
            "model": spec.model,
            "likelihood": spec.likelihood,
            "measure": spec.measure,
            "labels": list(spec.labels),
            "yi": [float(v) for v in spec.yi],
            "vi": [float(v) for v in spec.vi],
            "X": np.asarray(spec.X, dtype=float).tolist(),
            "coef_names": list(spec.coef_names),
            "mods": mods if (mods is None or isinstance(mods, str)) else "<matrix>",
            "priors": {k: repr(v) for k, v in spec.priors.items()},
            "prior_labels": {k: getattr(v, "label", None) for k, v in spec.priors.items()},
            "tau_by": spec.tau_by,
            "group_index": None if spec.group_index is None else [int(v) for v in spec.group_index],
            "group_names": list(spec.group_names),
            "cluster_index": None if spec.cluster_index is None else [int(v) for v in spec.cluster_index],
            "cluster_names": list(spec.cluster_names),
            "exact_summary": None if self.exact_summary is None else self.exact_summary.to_json(orient="split", double_precision=15),
        }
        return json.dumps(meta)

    def to_netcdf(self, path: str) -> str:
        """Save the posterior, its data, priors and model description to a netCDF file.

        :func:`bayesma.load_posterior` restores an equivalent object (same
        draws, summary, priors, spec).

        Examples
        --------
        >>> post.to_netcdf("bcg.nc")           # doctest: +SKIP
        >>> again = bm.load_posterior("bcg.nc")  # doctest: +SKIP
        """
        import arviz as az

        idata = self.idata.copy()
        idata.posterior.attrs[_META_ATTR] = self._meta_json()
        groups = {g: getattr(idata, g) for g in idata.groups()}
        for g, ds in groups.items():  # netCDF attrs must be str/number/array
            for k, v in list(ds.attrs.items()):
                if isinstance(v, (bool, np.bool_)):
                    ds.attrs[k] = int(v)
                elif v is None:
                    ds.attrs[k] = "None"
        out = az.InferenceData(**groups)
        out.to_netcdf(str(path), engine="h5netcdf" if _has("h5netcdf") else None)
        return str(path)

    # ------------------------------------------------------------------
    # display
    # ------------------------------------------------------------------
    def __repr__(self) -> str:
        from bayesma.priors import describe

        info = self.fit_info
        head = f"MetaPosterior ({self.engine}"
        if info.get("sampler"):
            head += f", {info['sampler']}"
        p = self.idata.posterior
        head += f": {p.sizes['chain']} chains x {p.sizes['draw']} draws"
        if self.fit_seconds is not None:
            head += f", {self.fit_seconds:.2f} s"
        head += ")"
        s = self.summary()
        keep = [r for r in s.index if not r.startswith("theta[")]
        cols = ["mean", "sd", "median", "eti_lower", "eti_upper"]
        if self.exact_summary is None:
            cols += ["r_hat", "ess_bulk"]
        table = s.loc[keep, cols].to_string(float_format=lambda v: f"{v:.4g}")
        return "\n".join([
            head,
            self.spec.describe(),
            "priors:",
            describe(self.spec.priors),
            table,
            f"({self.spec.k} study effects theta[...] in .summary())",
            *self._influence_lines(),
            f"diagnostics: {self.diagnostics().line()}",
        ])

    def _influence_lines(self) -> list[str]:
        """How far the posterior of each heterogeneity SD moved from its prior (for the printout)."""
        try:
            table = self.prior_influence()
        except Exception:  # noqa: BLE001 - a printout must not fail
            return []
        lines = []
        for row, rec in table.iterrows():
            if not str(row).startswith("tau") or not np.isfinite(rec["ratio"]):
                continue
            text = f"prior influence: the 95% interval of {row} is {rec['ratio']:.0%} as wide as under the prior"
            if rec["note"]:
                text += " - the prior dominates; see bayesma.compare_priors()"
            lines.append(text)
        return lines

    # ------------------------------------------------------------------
    # plots
    # ------------------------------------------------------------------
    def forest(self, **kwargs: Any) -> "Figure":
        """Forest plot (observed effects, shrunken estimates, pooled and predictive); see
        :func:`bayesma.plots.forest_plot`."""
        from bayesma.plots import forest_plot

        return forest_plot(self, **kwargs)

    def plot_prior_posterior(self, var_names: Iterable[str] = ("mu", "tau"), **kwargs: Any) -> "Figure":
        """Prior density against posterior density; see :func:`bayesma.plots.prior_posterior_plot`."""
        from bayesma.plots import prior_posterior_plot

        return prior_posterior_plot(self, var_names=var_names, **kwargs)

    def plot_trace(self, var_names: Iterable[str] | None = None, **kwargs: Any) -> "Figure":
        """Trace plot (ArviZ); see :func:`bayesma.plots.trace_plot`."""
        from bayesma.plots import trace_plot

        return trace_plot(self, var_names=var_names, **kwargs)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _hdi(x: np.ndarray, prob: float) -> tuple[float, float]:
    """Shortest interval containing *prob* of the draws."""
    xs = np.sort(np.asarray(x, dtype=float))
    n = xs.size
    m = int(math.ceil(prob * n))
    if m >= n:
        return float(xs[0]), float(xs[-1])
    widths = xs[m:] - xs[: n - m]
    i = int(np.argmin(widths))
    return float(xs[i]), float(xs[i + m])


def load_posterior(path: str) -> MetaPosterior:
    """Load a posterior saved with :meth:`MetaPosterior.to_netcdf`.

    The model specification (data, design matrix, coefficient names, subgroup
    and cluster structure, priors rebuilt from their repr with
    :func:`bayesma.priors.parse`) is restored from the file.

    Examples
    --------
    >>> post = bm.load_posterior("bcg.nc")     # doctest: +SKIP
    """
    import arviz as az

    from bayesma.data import MetaData
    from bayesma.models.spec import ModelSpec
    from bayesma.priors import parse

    with az.rc_context(rc={"data.load": "eager"}):  # read everything and close the file
        idata = az.from_netcdf(str(path), engine="h5netcdf" if _has("h5netcdf") else None)
    try:
        meta = json.loads(idata.posterior.attrs[_META_ATTR])
    except KeyError:
        raise ValueError(f"{path} was not written by MetaPosterior.to_netcdf (no {_META_ATTR!r} attribute)") from None
    k = len(meta["labels"])
    cluster = None
    if meta["cluster_index"] is not None:
        cluster = np.asarray(meta["cluster_names"], dtype=object)[np.asarray(meta["cluster_index"])].astype(str)
    md = MetaData(yi=np.asarray(meta["yi"], dtype=float), vi=np.asarray(meta["vi"], dtype=float),
                  labels=list(meta["labels"]), data=pd.DataFrame(index=range(k)), cluster=cluster)
    priors = {}
    for key, text in meta["priors"].items():
        prior = parse(text)
        label = meta.get("prior_labels", {}).get(key)
        if label:
            prior.label = label
        priors[key] = prior
    mods = meta["mods"]
    spec = ModelSpec(
        meta=md, X=np.asarray(meta["X"], dtype=float).reshape(k, -1), coef_names=list(meta["coef_names"]),
        model=meta["model"], likelihood=meta["likelihood"], priors=priors, mods=mods,
        tau_by=meta["tau_by"],
        group_index=None if meta["group_index"] is None else np.asarray(meta["group_index"], dtype=int),
        group_names=list(meta["group_names"]),
        cluster_index=None if meta["cluster_index"] is None else np.asarray(meta["cluster_index"], dtype=int),
        cluster_names=list(meta["cluster_names"]), measure=meta["measure"],
    )
    exact = None
    if meta.get("exact_summary"):
        import io

        exact = pd.read_json(io.StringIO(meta["exact_summary"]), orient="split", precise_float=True)
    # restore coords as str (netCDF may return bytes/objects)
    del idata.posterior.attrs[_META_ATTR]
    post = MetaPosterior(idata, spec, engine=meta["engine"], exact_summary=exact, fit_seconds=meta["fit_seconds"])
    post.fit_info = dict(meta.get("fit_info") or {})
    return post
