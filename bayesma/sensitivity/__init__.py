"""Sensitivity analyses for few studies: priors, influence of single studies, small-k simulation.

* :func:`compare_priors` fits the same data under several priors (one row per
  prior combination): how much does the prior decide?
* :func:`leave_one_out` refits without each study, :func:`cumulative` adds the
  studies one at a time: would the conclusion survive one study less?
* :func:`small_k_simulation` simulates meta-analyses with few studies and
  compares the frequentist coverage, width, bias and RMSE of Bayesian intervals
  (exact engine) with DL, REML, REML + Knapp-Hartung and Paule-Mandel intervals,
  as in Friede et al. (2017, Research Synthesis Methods 8:79-91) and Seide et al.
  (2019, BMC Medical Research Methodology 19:8).

The exact engine (:mod:`bayesma.exact`) makes these many-fit analyses take
seconds; ``engine="nuts"`` is available for :func:`compare_priors`,
:func:`leave_one_out` and :func:`cumulative` (the compiled PyMC model is reused
across refits of the same structure). PyMC is imported only then.

Examples
--------
>>> import bayesma as bm
>>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
>>> cmp = bm.compare_priors(dat, tau_priors={"HN(0.5)": "halfnormal(0.5)", "HC(0.5)": "halfcauchy(0.5)"},
...                         measure="RR")                                     # doctest: +SKIP
>>> cmp.table[["mu_mean", "mu_lower", "mu_upper", "tau_median"]]              # doctest: +SKIP
"""

from bayesma.frequentist.batch import frequentist_batch
from bayesma.sensitivity.influence import InfluenceResult, cumulative, leave_one_out
from bayesma.sensitivity.priors import PriorComparison, compare_priors
from bayesma.sensitivity.simulation import (
    EmpiricalVariances,
    LogUniformSampleSize,
    SimulationResult,
    small_k_simulation,
)

__all__ = [
    "compare_priors",
    "PriorComparison",
    "leave_one_out",
    "cumulative",
    "InfluenceResult",
    "small_k_simulation",
    "SimulationResult",
    "LogUniformSampleSize",
    "EmpiricalVariances",
    "frequentist_batch",
]
