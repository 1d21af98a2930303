"""bayesma: Bayesian meta-analysis for Python, checked against metafor.

The public API is re-exported here. Attributes load their module on first use,
so ``import bayesma`` is cheap and PyMC is imported only when a Bayesian model
is built.

Examples
--------
>>> import bayesma as bm
>>> dat = bm.load_dataset("dat.bcg")
>>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
>>> res = bm.rma("yi", "vi", data=es)                  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "MetaData": "bayesma.data",
    # errors and warnings (bayesma.errors)
    "BayesmaError": "bayesma.errors",
    "InputError": "bayesma.errors",
    "ArgumentTypeError": "bayesma.errors",
    "UnsupportedModelError": "bayesma.errors",
    "UnknownParameterError": "bayesma.errors",
    "ConvergenceError": "bayesma.errors",
    "BayesmaWarning": "bayesma.errors",
    "design_matrix": "bayesma.design",
    # effect sizes
    "escalc": "bayesma.effects",
    "aggregate": "bayesma.effects",
    "convert_r_to_d": "bayesma.effects",
    "convert_d_to_r": "bayesma.effects",
    "convert_r_to_z": "bayesma.effects",
    "convert_z_to_r": "bayesma.effects",
    "convert_d_to_z": "bayesma.effects",
    "convert_z_to_d": "bayesma.effects",
    "convert_d_to_logor": "bayesma.effects",
    "convert_logor_to_d": "bayesma.effects",
    "convert_r_to_logor": "bayesma.effects",
    "convert_logor_to_r": "bayesma.effects",
    "convert_t_to_d": "bayesma.effects",
    "convert_f_to_d": "bayesma.effects",
    "convert_t_to_r": "bayesma.effects",
    "convert_f_to_r": "bayesma.effects",
    "convert_p_to_t": "bayesma.effects",
    # reported estimates, CIs, p-values and five-number summaries (metafor's conv.*)
    "conv_wald": "bayesma.effects",
    "conv_delta": "bayesma.effects",
    "conv_fivenum": "bayesma.effects",
    # frequentist
    "rma": "bayesma.frequentist",
    "RMAResult": "bayesma.frequentist",
    "LocationScaleResult": "bayesma.frequentist.location_scale",
    "subgroup": "bayesma.frequentist",
    "SubgroupResult": "bayesma.frequentist",
    "egger_test": "bayesma.frequentist",
    "trimfill": "bayesma.frequentist",
    "rma_mv": "bayesma.frequentist.mv",
    "vcalc": "bayesma.frequentist.mv",
    "blsplit": "bayesma.frequentist.mv",
    # influence diagnostics of rma_mv fits (metafor's *.rma.mv methods)
    "cooks_distance": "bayesma.frequentist.mv.influence",
    "dfbetas": "bayesma.frequentist.mv.influence",
    "hatvalues": "bayesma.frequentist.mv.influence",
    "rstandard": "bayesma.frequentist.mv.influence",
    "rstudent": "bayesma.frequentist.mv.influence",
    "MVResiduals": "bayesma.frequentist.mv.influence",
    # cluster-robust inference (metafor's robust(), clubSandwich's verbs)
    "robust": "bayesma.frequentist.rve",
    "coef_test": "bayesma.frequentist.rve",
    "wald_test": "bayesma.frequentist.rve",
    "RobustResult": "bayesma.frequentist.rve",
    "selmodel": "bayesma.frequentist.bias",
    "pet_peese": "bayesma.frequentist.bias",
    "fsn": "bayesma.frequentist.bias",
    "hc": "bayesma.frequentist.bias",
    "ranktest": "bayesma.frequentist.bias",
    "tes": "bayesma.frequentist.bias.excess",
    "TESResult": "bayesma.frequentist.bias.excess",
    "sunset_values": "bayesma.frequentist.bias.excess",
    "sunset_plot": "bayesma.plots.sunset",
    "permutest": "bayesma.frequentist.permutest",
    "PermutestResult": "bayesma.frequentist.permutest",
    # frequentist diagnostics and comparisons (issue 13; leave1out/cumul are the frequentist
    # refits, leave_one_out/cumulative below the Bayesian ones)
    "influence": "bayesma.frequentist.influence",
    "leave1out": "bayesma.frequentist.influence",
    "cumul": "bayesma.frequentist.influence",
    "baujat_values": "bayesma.frequentist.influence",
    "anova": "bayesma.frequentist.anova",
    "fitstats": "bayesma.frequentist.anova",
    "blup": "bayesma.frequentist.ranef",
    "ranef": "bayesma.frequentist.ranef",
    "rma_mh": "bayesma.frequentist.mh",
    "rma_glmm": "bayesma.frequentist.glmm",
    "GLMMResult": "bayesma.frequentist.glmm",
    "rma_peto": "bayesma.frequentist.mh",
    "influence_plot": "bayesma.plots.influence",
    "baujat": "bayesma.frequentist.influence",
    "steps_plot": "bayesma.plots.influence",
    "forest_rma": "bayesma.plots.forest_frequentist",
    "forest_subgroup": "bayesma.plots.forest_frequentist",
    "simulation_plot": "bayesma.plots.simulation",
    # data sets
    "load_dataset": "bayesma.datasets",
    "list_datasets": "bayesma.datasets",
    # Bayesian
    "MetaAnalysis": "bayesma.models",
    "MetaPosterior": "bayesma.results",
    # robust Bayesian meta-analysis (RoBMA: Bayesian publication bias, package bayesma.bias; no module
    # is named bayesma.robust, which is reserved for the cluster-robust variance function)
    "robma": "bayesma.bias",
    "RoBMAResult": "bayesma.bias",
    "bma": "bayesma.bias",
    "RoBMAExtResult": "bayesma.bias",
    "WeightFunction": "bayesma.bias",
    "PET": "bayesma.bias",
    "PEESE": "bayesma.bias",
    "InverseGammaTau": "bayesma.bias",
    "load_posterior": "bayesma.results",
    # checking a Bayesian fit: LOO / WAIC through ArviZ, posterior predictive checks
    "compare_models": "bayesma.results.model_checks",
    "LOOResult": "bayesma.results.model_checks",
    "PPCResult": "bayesma.results.model_checks",
    # sensitivity
    "compare_priors": "bayesma.sensitivity",
    "rho_sensitivity": "bayesma.models.dependence_report",
    "leave_one_out": "bayesma.sensitivity",
    "cumulative": "bayesma.sensitivity",
    "fit_many": "bayesma.batch",
    "FitManyResult": "bayesma.batch",
    "small_k_simulation": "bayesma.sensitivity",
}

_SUBMODULES = {"errors", "priors", "plots", "exact", "models", "effects", "frequentist", "datasets", "sensitivity",
               "results", "bias", "report", "posterior"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES)


#: metafor's names that bayesma spells otherwise (one name per idea, docs/conventions.rst: no aliases)
_METAFOR_NAMES = {"regtest": "egger_test", "rma_uni": "rma"}


def __getattr__(name: str) -> Any:
    if name in _METAFOR_NAMES:
        raise AttributeError(f"module 'bayesma' has no attribute {name!r}: metafor's {name}() is "
                             f"bayesma.{_METAFOR_NAMES[name]}() (one name per function, docs/conventions.rst)")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"bayesma.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'bayesma' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__ + ["__version__"]
