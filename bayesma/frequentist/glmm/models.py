"""metafor's GLMMs for counts as :class:`~bayesma.frequentist.glmm.newton.LocalProblem`s.

Which likelihood each ``(measure, model)`` pair uses (metafor 3.8-1, ``rma.glmm``):

==============  ================================================================  ==============
model           likelihood of study i                                             integral
==============  ================================================================  ==============
UM.FS           two binomial (OR) / Poisson (IRR) groups; study intercept alpha_i  AGQ, 7 nodes
                fixed; logit p = alpha_i + x_i'beta + u_i/2 and alpha_i - u_i/2
UM.RS           as UM.FS with a common intercept and a random one, b_i ~ N(0,      Laplace
                sigma^2), independent of u_i (``cor=True``: correlation rho)     (lme4)
CM.AL (OR),     events of group 1 among all events: binomial with offset           AGQ, 7 nodes
CM.EL (IRR)     log(n1/n2) (log(t1/t2)); exact for IRR, approximate for OR
CM.EL (OR)      non-central hypergeometric given the margins (exact)               AGQ, 41 nodes
PLO / IRLN      one binomial / Poisson count per study, logit p = x_i'beta + u_i   AGQ, 7 nodes
==============  ================================================================  ==============

Measure RR (experimental in metafor) is UM.FS or UM.RS with a log link: log p in place of logit p.

``u_i ~ N(0, tau^2)``; metafor's ``coding`` says how u_i enters the groups: 1/2 (the default,
above), 1 (group 1 only: ``alpha_i + x_i'beta + u_i`` and ``alpha_i``) or 0 (group 2 only). The
heterogeneity parameter enters as ``log tau`` (``log tau^2`` for
CM.EL, where its standard error is reported as metafor does); method ``"FE"`` drops it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bayesma.frequentist.glmm.hypergeometric import NCHTables, nch_marginal_loglik
from bayesma.frequentist.glmm.likelihood import marginal_loglik
from bayesma.frequentist.glmm.newton import LocalProblem

__all__ = ["Counts", "counts_for", "problem", "saturated_um_rs", "conditional_loglik", "group_codes"]

_ONES = np.array([[1.0], [1.0]])


class Counts:
    """The counts of one (measure, model) pair in the form its likelihood takes.

    Attributes
    ----------
    family : {"binomial", "binomial_log", "poisson", "nch"}
        ``binomial_log``: binomial with a log link (measure RR, log risk ratios).
    y : numpy.ndarray, shape (k, J)
        Events (J = 2 groups for UM.FS / UM.RS, else 1).
    size : numpy.ndarray or None, shape (k, J)
        Binomial sizes.
    offset : numpy.ndarray, shape (k, J)
        Offsets of the linear predictors (log person-times; log(n1/n2) for CM.AL).
    tables : NCHTables or None
        For OR with CM.EL.
    """

    def __init__(self, family: str, y: np.ndarray, size: np.ndarray | None, offset: np.ndarray,
                 tables: NCHTables | None = None) -> None:
        self.family, self.y, self.size, self.offset, self.tables = family, y, size, offset, tables

    @property
    def nch(self) -> NCHTables:
        """The 2x2 tables of the conditional likelihood (CM.EL only)."""
        if self.tables is None:
            raise TypeError("these counts have no 2x2 tables (not a CM.EL model)")
        return self.tables

    @property
    def sizes(self) -> np.ndarray:
        """Binomial sizes; for Poisson counts (no sizes) an array of ones, never read by their likelihood."""
        return np.ones_like(self.y) if self.size is None else self.size


def counts_for(measure: str, model: str, c: dict[str, np.ndarray]) -> Counts:
    """Arrange the counts *c* (from :func:`~bayesma.frequentist.glmm.data.glmm_data`) for *model*."""
    if measure in ("OR", "RR"):
        a, b, cc, d = c["ai"], c["bi"], c["ci"], c["di"]
        if model in ("UM.FS", "UM.RS"):
            return Counts("binomial" if measure == "OR" else "binomial_log", np.column_stack([a, cc]), np.column_stack([a + b, cc + d]),
                          np.zeros((a.size, 2)))
        if model == "CM.AL":
            return Counts("binomial", a[:, None], (a + cc)[:, None], np.log((a + b) / (cc + d))[:, None])
        return Counts("nch", a[:, None], None, np.zeros((a.size, 1)), NCHTables(a, b, cc, d))
    if measure == "IRR":
        x1, t1, x2, t2 = c["x1i"], c["t1i"], c["x2i"], c["t2i"]
        if model in ("UM.FS", "UM.RS"):
            return Counts("poisson", np.column_stack([x1, x2]), None, np.log(np.column_stack([t1, t2])))
        return Counts("binomial", x1[:, None], (x1 + x2)[:, None], np.log(t1 / t2)[:, None])
    if measure == "PLO":
        return Counts("binomial", c["xi"][:, None], c["ni"][:, None], np.zeros((c["xi"].size, 1)))
    return Counts("poisson", c["xi"][:, None], None, np.log(c["ti"])[:, None])


def group_codes(coding: float) -> np.ndarray:
    """metafor's ``coding``: how the group indicator of the random effects codes groups 1 and 2,
    shape (2, 1): 1/2 -> (1/2, -1/2), 1 -> (1, 0), 0 -> (0, 1)."""
    return {0.5: np.array([[0.5], [-0.5]]), 1.0: np.array([[1.0], [0.0]]), 0.0: np.array([[0.0], [1.0]])}[coding]


def _two_arm(cnt: Counts, random_b: bool, random_u: bool, n_nodes: int,
             modes: bool = False, coding: float = 0.5, cor: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """Local scalars (m, c[, log sigma][, z_rho][, log tau]): group 1 ``c + m (+ b) (+ g1 u)``, group 2
    ``c (+ b) (+ g2 u)`` with ``(g1, g2)`` the group codes of *coding*; with *cor* ``(b, u)`` are
    correlated (``rho = tanh(z_rho)``). With *modes*, the log-likelihood conditional on the random
    effects' modes (lme4's conditional deviance)."""
    G = group_codes(coding)
    Zs = [z for z, on in ((_ONES, random_b), (G, random_u)) if on]
    Z = np.hstack(Zs) if Zs else np.zeros((2, 0))

    def f(S: np.ndarray) -> np.ndarray:
        fixed = cnt.offset + np.column_stack([S[:, 1] + S[:, 0], S[:, 1]])
        if Z.shape[1] == 0:
            return marginal_loglik(cnt.y, fixed, np.zeros((2, 1)), np.zeros(1), cnt.family, cnt.size)
        if cor:
            s, t, r = np.exp(S[:, 2]), np.exp(S[:, 4]), np.tanh(S[:, 3])
            L = np.zeros((S.shape[0], 2, 2))     # Cholesky factor of [[s^2, r s t], [r s t, t^2]]
            L[:, 0, 0], L[:, 1, 0], L[:, 1, 1] = s, r * t, t * np.sqrt(1.0 - r**2)
            return marginal_loglik(cnt.y, fixed, np.einsum("jq,kqr->kjr", Z, L), np.ones(2), cnt.family,
                                   cnt.size, n_nodes)
        sd = np.exp(S[:, 2:2 + Z.shape[1]])
        if modes:
            _, u = marginal_loglik(cnt.y, fixed, Z, sd, cnt.family, cnt.size, 1, return_modes=True)
            return marginal_loglik(cnt.y, fixed + u @ Z.T, Z, np.zeros(Z.shape[1]), cnt.family, cnt.size)
        return marginal_loglik(cnt.y, fixed, Z, sd, cnt.family, cnt.size, n_nodes)

    return f


def _one_group(cnt: Counts, random: bool, n_nodes: int, modes: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """Local scalars (m[, log tau]) (log tau^2 for the hypergeometric likelihood)."""
    if cnt.family == "nch":
        def f_nch(S: np.ndarray) -> np.ndarray:
            tau = np.sqrt(np.exp(S[:, 1])) if random else 0.0
            return nch_marginal_loglik(cnt.nch, S[:, 0], tau, n_nodes)
        return f_nch

    def f(S: np.ndarray) -> np.ndarray:
        fixed = cnt.offset + S[:, :1]
        sd = np.exp(S[:, 1:2]) if random else np.zeros((S.shape[0], 1))
        if modes and random:
            _, u = marginal_loglik(cnt.y, fixed, np.ones((1, 1)), sd, cnt.family, cnt.size, 1, return_modes=True)
            return marginal_loglik(cnt.y, fixed + u, np.ones((1, 1)), np.zeros(1), cnt.family, cnt.size)
        return marginal_loglik(cnt.y, fixed, np.ones((1, 1)), sd, cnt.family, cnt.size, n_nodes)

    return f


def problem(model: str, cnt: Counts, X: np.ndarray, random: bool, n_nodes: int, modes: bool = False,
            coding: float = 0.5, cor: bool = False) -> LocalProblem:
    """The fixed-effects (``random=False``) or random-effects model *model* for design *X*.

    Global parameters, in order: ``beta`` (p), then UM.FS: the k study intercepts; UM.RS:
    the common intercept and log sigma (and with *cor* ``z_rho``, ``rho = tanh(z_rho)``); then
    log tau (log tau^2 for OR with CM.EL) when *random*. *model* ``"single"`` is the one-count
    model of PLO and IRLN. With *modes* the log-likelihood is the one conditional on the random
    effects' modes. *coding* is metafor's group coding of the random effects (1/2, 1 or 0).
    """
    k, p = X.shape
    if model == "UM.FS":
        P = p + k + int(random)
        A = np.zeros((k, 2 + int(random), P))
        A[:, 0, :p] = X
        A[np.arange(k), 1, p + np.arange(k)] = 1.0
        if random:
            A[:, 2, -1] = 1.0
        names = [f"beta{j}" for j in range(p)] + [f"alpha{i}" for i in range(k)] + (["log_tau"] if random else [])
        return LocalProblem(A, _two_arm(cnt, False, random, n_nodes, modes, coding), names, own=p + np.arange(k))
    if model == "UM.RS":
        cor = cor and random
        P = p + 2 + int(random) + int(cor)
        A = np.zeros((k, P - p + 1, P))
        A[:, 0, :p] = X
        for j in range(P - p):
            A[:, 1 + j, p + j] = 1.0
        names = ([f"beta{j}" for j in range(p)] + ["const", "log_sigma"] + (["z_rho"] if cor else [])
                 + (["log_tau"] if random else []))
        return LocalProblem(A, _two_arm(cnt, True, random, n_nodes, modes, coding, cor), names)
    P = p + int(random)
    A = np.zeros((k, 1 + int(random), P))
    A[:, 0, :p] = X
    if random:
        A[:, 1, p] = 1.0
    names = [f"beta{j}" for j in range(p)] + (["log_tau2" if cnt.family == "nch" else "log_tau"] if random else [])
    return LocalProblem(A, _one_group(cnt, random, n_nodes, modes), names)


def conditional_loglik(model: str, cnt: Counts, X: np.ndarray, theta: np.ndarray, coding: float = 0.5) -> float:
    """The log-likelihood of a random-effects fit at *theta* conditional on the random effects'
    modes: what metafor reports as the log-likelihood of the models it fits with lme4 and
    ``nAGQ > 1`` (``ll_saturated - deviance(fit) / 2``, lme4's ``deviance`` of a GLMM being
    the conditional deviance)."""
    return problem(model, cnt, X, True, 1, modes=True, coding=coding).loglik(theta)


def saturated_um_rs(cnt: Counts, n_nodes: int) -> LocalProblem:
    """UM.RS's saturated model (one log odds ratio per study, a common intercept and a random
    one): parameters ``theta`` (k), const, log sigma."""
    k = cnt.y.shape[0]
    A = np.zeros((k, 3, k + 2))
    A[np.arange(k), 0, np.arange(k)] = 1.0
    A[:, 1, k] = 1.0
    A[:, 2, k + 1] = 1.0
    return LocalProblem(A, _two_arm(cnt, True, False, n_nodes), [f"theta{i}" for i in range(k)] + ["const", "log_sigma"],
                        own=np.arange(k))
