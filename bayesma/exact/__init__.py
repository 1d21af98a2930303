"""Exact posterior of normal-normal meta-analysis models by quadrature over the heterogeneity.

For a normal likelihood with known sampling variances and normal priors on the
effect (or the regression coefficients), the coefficients integrate out in
closed form given the heterogeneity: ``beta | tau, y`` is normal and the
marginal likelihood ``p(y | tau)`` is a Gaussian density. What remains is a
one-dimensional integral over ``tau`` (the approach of R's ``bayesmeta``), or
a two-dimensional one over ``(tau_1, tau_2)`` for two subgroups with their own
heterogeneity (``tau_by=``) and over ``(tau, tau_within)`` for three-level
models (``cluster=``), where the block-diagonal covariance is handled with the
Sherman-Morrison formula cluster by cluster (linear in k).

The integral is computed on ``u = log(tau)`` with an adaptive rule:

1. a coarse grid over a wide range (the data's scale and the prior's quantiles)
   locates the region where the log posterior is within 32 units of its
   maximum (extending the range until it is bracketed);
2. the region is zoomed into until the grid resolves it;
3. panel edges are placed at fixed levels of the posterior cdf on that grid
   (from 1e-10 to 1 - 1e-10; no panel holds more than 10% of the mass), and
   each panel gets a Gauss-Legendre rule: 26 panels of 12 nodes in 1-D; in 2-D
   a tensor rule with 16 panels of 7 nodes per axis, placed by the marginal cdfs.

The posterior mass below the smallest grid value of tau (23 log units below the
data's scale, where the likelihood is flat in tau) is added as an atom at
tau = 0 with mass ``p(y | tau=0) * P_prior(tau < tau_min)``, so priors with
heavy tails on ``log tau`` (log-t priors on tau^2) are integrated in full
(1-D models; the 2-D rule neglects that mass).

Beyond the largest grid value the posterior of tau is integrated analytically (1-D models):
its log density is linear in u there, with the slope measured one unit of u past the
grid, which is exact for the power-law tails of heavy-tailed and improper priors
(half-Cauchy, HalfFlat, Jeffreys, DuMouchel: density ~ tau^-a). That tail carries
little probability but much of the second moments (a half-Cauchy prior with k = 2
puts 3e-4 of E[tau^2] beyond the 1 - 1e-10 quantile); moments that do not exist are
reported as ``inf`` (sd, tau's mean) or ``NaN`` (the mean of mu under a flat prior,
of theta_new), following :mod:`bayesma.priors.improper`.

Accuracy: summaries agree with independent adaptive quadrature to about 1e-9
of a posterior sd in 1-D and 1e-7 in 2-D (tests: 1e-8 relative against scipy and
mpmath integrals in tests/priors/test_improper.py, and 1e-7 of the interval width against
bayesmeta's own densities on 102 cases in tests/exact/test_bayesmeta_reference.py); marginal
likelihoods to 1e-8 in log. For very large k the study effects use a compressed
Gauss rule for the heterogeneity (see :func:`bayesma.exact.effects.theta_summary`).

Supported: common and random effects, meta-regression, ``tau_by=`` with two
subgroups, three-level models; normal or flat (improper) priors on mu and the
coefficients, any heterogeneity prior of :mod:`bayesma.priors` (the improper
HalfFlat and Jeffreys priors in the one-tau model). Not supported (``ValueError``
pointing to ``engine="nuts"``): Student-t random effects, Student-t or Cauchy
priors on the coefficients, ``tau_by=`` with more than two subgroups.

Everything else follows from the per-node normal conditionals: the posterior of
each coefficient, of each study's true effect ``theta_i`` and of a new study's
effect ``theta_new`` is a mixture of normals over the nodes (quantiles by
root-finding the mixture cdf); tau's cdf is the integral of the panel-wise
Legendre interpolant of its density (quantiles and draws by inverting it).
Independent posterior draws (tau by inverse cdf, then ``beta | tau``,
``theta | beta, tau``) fill ``.idata`` so every plot works; the same seed gives
the same numbers.

Examples
--------
>>> import bayesma as bm
>>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
>>> model = bm.MetaAnalysis(dat, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
>>> post = model.fit(engine="exact", seed=1)                               # doctest: +SKIP
>>> bm.exact.bayes_factor_heterogeneity(model.spec)                        # doctest: +SKIP

Layout: :mod:`~bayesma.exact.quadrature` (Gauss-Legendre rules, normal mixtures),
:mod:`~bayesma.exact.likelihood` (p(y | tau) with beta integrated out),
:mod:`~bayesma.exact.grids` (adaptive 1-D / 2-D grids, :func:`integrate`),
:mod:`~bayesma.exact.posterior` (:class:`ExactPosterior`), :mod:`~bayesma.exact.bayes`
(marginal likelihoods, Bayes factors), :mod:`~bayesma.exact.fit` (draws for
``MetaAnalysis.fit``), :mod:`~bayesma.exact.batch` (many data sets at once).
This package never imports :mod:`bayesma.results` or the CLI: it returns raw
posteriors, and :class:`bayesma.MetaAnalysis` wraps them in a ``MetaPosterior``.
"""

from __future__ import annotations

from .batch import batch_summaries
from .bayes import (
    bayes_factor_effect,
    bayes_factor_heterogeneity,
    bayes_factors,
    marginal_likelihood,
    marginal_likelihood_null_effect,
    model_probabilities,
    savage_dickey,
)
from .fit import ExactFit, fit_exact
from .grids import integrate
from .posterior import ExactPosterior, exact_posterior

__all__ = [
    "fit_exact",
    "ExactFit",
    "ExactPosterior",
    "exact_posterior",
    "integrate",
    "marginal_likelihood",
    "marginal_likelihood_null_effect",
    "bayes_factor_effect",
    "bayes_factor_heterogeneity",
    "bayes_factors",
    "model_probabilities",
    "savage_dickey",
    "batch_summaries",
]
