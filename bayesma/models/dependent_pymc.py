"""The PyMC models of dependent effect sizes: CHE and multivariate across outcomes (NUTS).

Both use the eigendecomposition ``V_j = Q_j diag(L_j) Q_j'`` of each cluster's sampling
covariance (computed once, :func:`bayesma.exact.che.rotated_clusters`): in the rotated
coordinates ``Q_j' y_j`` the sampling errors are independent with variances ``L_j``, so the
likelihood is a product of univariate normals, vectorised over all effects (no per-cluster
multivariate normal, linear in k).

**CHE** (``theta_ij = x_ij' beta + tau u_j + tau_within z_ij``): the cluster effects are
non-centred (``u_j`` standard normal) and the within-cluster level is integrated out,

    Q_j' y_j ~ N(Q_j' X_j beta + tau u_j a_j, diag(L_j + tau_within^2)),   a_j = Q_j' 1,

(the within-cluster level stays independent after the rotation); the true effects are drawn
from their exact conditional in the rotated coordinates and rotated back,
``theta~ = m~ + B (y~ - m~) + sqrt(tau_within^2 L / (L + tau_within^2)) z`` with
``B = tau_within^2 / (L + tau_within^2)``.

**Multivariate** (``outcome=``): study j's true effects over the outcomes are
``theta_j = mu + diag(tau) chol(Omega) z_j`` (non-centred, ``z_j`` standard normal), with
``Omega = (1 - rho) I + rho 1 1'`` (CS, HCS) or ``Omega ~ LKJ(eta)`` (UN); each effect takes
its study's and outcome's entry, and ``Q' y ~ N(Q' theta, diag(L))``. With ``mods=`` the mean
of study j's effects is ``X_j beta`` (the design rows of its effects, padded over the outcomes)
instead of ``mu``, and there is no ``theta_new`` (a new study's effect needs its moderator values).

Data and prior hyperparameters are ``pm.Data`` (compiled once per structure:
:func:`structure_key`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["structure_key", "data_values", "build", "dims"]


def _rotation(spec: Any) -> dict[str, np.ndarray]:
    """Rotated data and the gathers that apply Q' (forward) and Q (back) block-wise."""
    from bayesma.exact.che import rotated_clusters

    dep = spec.dependence
    X = spec.X if (spec.is_regression and not dep.multivariate) else None
    cl = rotated_clusters(spec.yi, X, spec.cluster_index, dep.blocks)
    k = spec.k
    sizes = np.diff(np.r_[cl.starts, k])
    n_max = int(sizes.max())
    start_of = np.repeat(cl.starts, sizes)  # block start of each sorted position
    members = start_of[:, None] + np.arange(n_max)[None]  # (k, n_max)
    valid = np.arange(n_max)[None] < np.repeat(sizes, sizes)[:, None]
    members = np.where(valid, members, start_of[:, None])
    Q = cl.Q.tocsr()
    rows = np.broadcast_to(np.arange(k)[:, None], members.shape).ravel()

    def entries(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.where(valid, np.asarray(Q[r, c]).ravel().reshape(members.shape), 0.0)

    back_w, fwd_w = entries(rows, members.ravel()), entries(members.ravel(), rows)
    out = {"rot_y": cl.y, "rot_L": cl.v, "rot_a": cl.a, "rot_cluster": cl.index.astype("int64"),
           "rot_members": members.astype("int64"), "rot_back": back_w, "rot_fwd": fwd_w,
           "rot_order": cl.order.astype("int64"), "rot_inverse": np.argsort(cl.order).astype("int64")}
    if X is not None:
        out["rot_X"] = cl.X
    return out


def _mv_hyper(spec: Any) -> dict[str, np.ndarray]:
    from bayesma.models.random_effects import location_values

    names = spec.outcome_names
    out: dict[str, np.ndarray] = location_values(spec) if spec.is_regression else {}
    mus = [] if spec.is_regression else [spec.priors[f"mu[{o}]"] for o in names]
    taus = [spec.priors["tau"]] if spec.dependence.struct == "CS" else [spec.priors[f"tau[{o}]"] for o in names]
    for key, group in (("mu", mus), ("tau", taus)):
        if not group:
            continue
        fams = {p.family for p in group}
        if len(fams) > 1:
            raise ValueError(f"engine='nuts' needs one prior family for {key} across the outcomes; got {sorted(fams)}")
        for param in group[0].params:
            out[f"hyper_{key}_{param}"] = np.array([p.params[param] for p in group], dtype=float)
    rho = spec.priors["rho"]
    if spec.dependence.struct != "UN":
        for param, value in rho.params.items():
            out[f"hyper_rho_{param}"] = np.asarray(value, dtype=float)
    return out


def data_values(spec: Any) -> dict[str, np.ndarray]:
    """The ``pm.Data`` values of a dependent model beyond those of :func:`bayesma.models.build.data_values`
    (CHE: the rotation) or all of them (multivariate: rotation and hyperparameters)."""
    if spec.dependence.multivariate:
        out = _padded(spec)
        out["outcome_idx"] = np.asarray(spec.dependence.outcome_index, dtype="int64")
        out["cluster_idx"] = np.asarray(spec.cluster_index, dtype="int64")
        out.update(_mv_hyper(spec))
        return out
    out = _rotation(spec)
    for name in ("rot_fwd", "rot_order"):  # nutpie swaps only the data the model reads
        out.pop(name)
    return out


def structure_key(spec: Any) -> tuple:
    """What decides the compiled model of a dependent spec (shapes, block sizes, prior families)."""
    dep = spec.dependence
    sizes = tuple(sorted({int(b.shape[0]) for b in dep.blocks}))
    fams = tuple(sorted((key, p.family, tuple(p.params)) for key, p in spec.priors.items()))
    # LKJ's eta is a constant of the graph (not pm.Data): models with another eta compile their own
    eta = float(spec.priors["rho"].params["eta"]) if dep.struct == "UN" else None
    from bayesma.models.random_effects import location_key

    loc = location_key(spec) if spec.is_regression else None
    return ("dependent", dep.struct, spec.k, len(spec.cluster_names), spec.p, spec.is_regression, sizes,
            len(dep.outcome_names), fams, eta, loc)


def _gather(x, members, weights):
    """sum_m weights[l, m] x[members[l, m]]: one block-wise rotation."""
    return (x[members] * weights).sum(axis=-1)


def che_effects(b: Any, loc, loc_new) -> None:
    """CHE model: likelihood in rotated coordinates, theta by its exact conditional (module docstring)."""
    import pymc as pm
    import pytensor.tensor as pt

    spec = b.spec
    yt, L, a = b.data("rot_y"), b.data("rot_L"), b.data("rot_a")
    cl = b.data("rot_cluster")
    members, back, inv = b.data("rot_members"), b.data("rot_back"), b.data("rot_inverse")
    loc_rot = pt.dot(b.data("rot_X"), pm.modelcontext(None)["beta"]) if spec.is_regression else loc * a
    tau = b.hetero("tau")
    tw = b.hetero("tau_within")
    u = b.noise("u", dims="cluster")
    m = loc_rot + tau * u[cl] * a
    var = L + tw**2
    pm.Normal("yi", mu=m, sigma=pt.sqrt(var), observed=yt, dims="study")
    z = b.noise("z", dims="study")
    shrink = tw**2 / var
    theta_rot = m + shrink * (yt - m) + pt.sqrt(shrink * L) * z
    theta = _gather(theta_rot, members, back)[inv]
    pm.Deterministic("theta", theta, dims="study")
    u_new, z_new = b.noise("u_new"), b.noise("z_new")
    pm.Deterministic("theta_new", loc_new + tau * u_new + tw * z_new)
    b.handles.theta_prior = loc + tau * u[cl[inv]] + tw * z


def _omega(b: Any, m: int) -> list:
    """The correlation matrix across outcomes as nested lists of scalars (and the rho deterministic):
    ``(1 - rho) I + rho 1 1'`` (CS, HCS) or the LKJ draw (UN). No matrix op: every later step is
    unrolled over the few outcomes (a batched Cholesky's gradient through SolveTriangular is the
    slowest op of the graph by far)."""
    import pymc as pm
    import pytensor.tensor as pt

    spec = b.spec
    prior = spec.priors["rho"]
    if spec.dependence.struct == "UN":
        corr = _lkj_corr(float(prior.params["eta"]), m)
        iu = np.triu_indices(m, 1)
        pm.Deterministic("rho", pt.stack([corr[i][c] for i, c in zip(*iu)]), dims="pair")
        b.handles.params.append("rho")
        return corr
    hp = {param: b.data(f"hyper_rho_{param}") for param in prior.params}
    rho = prior.pymc("rho", params=hp)
    b.handles.params.append("rho")
    return [[1.0 if i == c else rho for c in range(m)] for i in range(m)]


def _lkj_corr(eta: float, m: int) -> list:
    """An LKJ(eta) correlation matrix (nested lists of scalars) from its canonical partial correlations.

    The partial correlation ``z_ij`` (``j < i``) of outcomes i and j given outcomes ``0..j-1`` is
    independent of the others with ``(z_ij + 1) / 2 ~ Beta(b_j, b_j)``, ``b_j = eta + (m - 2 - j) / 2``,
    exactly when the matrix is LKJ(eta) (Lewandowski, Kurowicka & Joe 2009, the C-vine method): the
    free variable ``rho_cpc`` holds ``(z + 1) / 2``, and the Cholesky factor of the matrix is
    ``L_ij = z_ij sqrt(prod_{q<j} (1 - z_iq^2))``, ``L_ii = sqrt(prod_{q<i} (1 - z_iq^2))``. Positive
    definite everywhere, scalar operations only: PyMC's LKJCholeskyCov (packed Cholesky, auxiliary
    scales, fancy-indexed sets and their gradients) took numba about 20 CPU seconds to compile.
    """
    import pymc as pm
    import pytensor.tensor as pt

    pairs = [(i, j) for i in range(1, m) for j in range(i)]
    shape = np.array([eta + (m - 2 - j) / 2.0 for _, j in pairs])
    u = pm.Beta("rho_cpc", alpha=shape, beta=shape, shape=len(pairs))
    L = [[None] * m for _ in range(m)]
    L[0][0] = 1.0
    n = 0
    for i in range(1, m):
        rest = 1.0  # prod_{q<j} (1 - z_iq^2)
        for j in range(i):
            L[i][j] = (2.0 * u[n] - 1.0) * pt.sqrt(rest)
            rest = rest * 4.0 * u[n] * (1.0 - u[n])  # 1 - z^2 without cancellation
            n += 1
        L[i][i] = pt.sqrt(rest)
    return [[1.0 if i == c else sum(L[i][q] * L[c][q] for q in range(min(i, c) + 1)) for c in range(m)]
            for i in range(m)]


def _chol(S: list, m: int) -> list:
    """Cholesky factor of a batch of small m x m matrices given as nested lists of vectors (unrolled:
    fast and differentiable for the few outcomes of a meta-analysis)."""
    import pytensor.tensor as pt

    L = [[None] * m for _ in range(m)]
    for i in range(m):
        for j in range(i + 1):
            val = S[i][j] - sum(L[i][q] * L[j][q] for q in range(j))
            L[i][j] = pt.sqrt(val) if i == j else val / L[j][j]
    return L


def _fsolve(L: list, rhs: list, m: int) -> list:
    out: list = []
    for i in range(m):
        out.append((rhs[i] - sum(L[i][q] * out[q] for q in range(i))) / L[i][i])
    return out


def _bsolve(L: list, rhs: list, m: int) -> list:
    out: list = [None] * m
    for i in reversed(range(m)):
        out[i] = (rhs[i] - sum(L[q][i] * out[q] for q in range(i + 1, m))) / L[i][i]
    return out


def _padded(spec: Any) -> dict[str, np.ndarray]:
    """Each study's effects as a vector over all outcomes: y (J, m), V (J, m, m), mask (J, m) and, with
    moderators, the design rows X (J, m, p); a missing outcome has y 0, variance 1, no covariance and a
    design row of zeros (its likelihood term is a constant)."""
    dep = spec.dependence
    J, m = len(spec.cluster_names), len(dep.outcome_names)
    y, V, M = np.zeros((J, m)), np.tile(np.eye(m), (J, 1, 1)), np.zeros((J, m))
    X = np.zeros((J, m, spec.p))
    for j, blk in enumerate(dep.blocks):
        rows = np.flatnonzero(spec.cluster_index == j)
        o = dep.outcome_index[rows]
        y[j, o] = spec.yi[rows]
        V[j][np.ix_(o, o)] = blk
        M[j, o] = 1.0
        X[j, o] = spec.X[rows]
    out = {"pad_y": y, "pad_V": V, "pad_mask": M}
    if spec.is_regression:
        out["pad_X"] = X
    return out


def _mv_location(b: Any, m: int, M: Any) -> tuple[Any, list]:
    """The means: ``mu`` (dim outcome) or, with moderators, ``beta`` (dim coef); and each study's mean on
    each outcome, a list over the outcomes of (J,) vectors (0 where the study has no effect)."""
    import pytensor.tensor as pt

    from bayesma.models.random_effects import coefficients

    spec = b.spec
    if not spec.is_regression:
        prior = spec.priors[f"mu[{spec.outcome_names[0]}]"]
        mu = prior.pymc("mu", params={p: b.data(f"hyper_mu_{p}") for p in prior.params}, dims="outcome")
        b.handles.params.append("mu")
        return mu, [mu[i] * M[:, i] for i in range(m)]
    beta = coefficients(b)
    X = b.data("pad_X")
    return beta, [pt.dot(X[:, i, :], beta) for i in range(m)]


def mv_effects(b: Any) -> None:
    """Multivariate model across outcomes: each study's effects ~ N(mu, V_j + T) (its true effects
    integrated out, one batched multivariate normal over the studies, written out element by element
    over the outcomes), theta from its conditional."""
    import pymc as pm
    import pytensor.tensor as pt

    spec = b.spec
    m = len(spec.outcome_names)
    y, V, M = b.data("pad_y"), b.data("pad_V"), b.data("pad_mask")
    mu, mu_j = _mv_location(b, m, M)
    cs = spec.dependence.struct == "CS"
    tau_prior = spec.priors["tau"] if cs else spec.priors[f"tau[{spec.outcome_names[0]}]"]
    tau = tau_prior.pymc("tau", params={p: b.data(f"hyper_tau_{p}")[0] if cs else b.data(f"hyper_tau_{p}")
                                        for p in tau_prior.params}, **({} if cs else {"dims": "outcome"}))
    b.handles.params.append("tau")
    omega = _omega(b, m)
    taus = [tau if cs else tau[i] for i in range(m)]
    T = [[taus[i] * taus[c] * omega[i][c] for c in range(m)] for i in range(m)]
    Mi = [M[:, i] for i in range(m)]
    To = [[T[i][c] * Mi[i] * Mi[c] for c in range(m)] for i in range(m)]
    L = _chol([[V[:, i, c] + To[i][c] for c in range(m)] for i in range(m)], m)
    zr = _fsolve(L, [y[:, i] - mu_j[i] for i in range(m)], m)
    pm.Potential("loglik", -0.5 * sum((zi * zi).sum() for zi in zr) - sum(pt.log(L[i][i]).sum() for i in range(m)))
    # theta_j | y ~ N(mu + T_o S^-1 (y - mu), T_o - T_o S^-1 T_o) on the reported outcomes
    Sr = _bsolve(L, zr, m)
    mean = [mu_j[i] + sum(To[i][q] * Sr[q] for q in range(m)) for i in range(m)]
    cols = [_bsolve(L, _fsolve(L, [To[q][c] for q in range(m)], m), m) for c in range(m)]
    C = [[To[i][c] - sum(To[i][q] * cols[c][q] for q in range(m)) + (1.0 - Mi[i] + 1e-12) * float(i == c)
          for c in range(m)] for i in range(m)]
    Lc = _chol(C, m)
    z = b.noise("z", dims=("cluster", "outcome"))
    theta_j = pt.stack([mean[i] + sum(Lc[i][q] * z[:, q] for q in range(i + 1)) for i in range(m)], axis=1)
    ci, oi = b.data("cluster_idx"), b.data("outcome_idx")
    pm.Deterministic("theta", theta_j[ci, oi], dims="study")
    Lt = _chol(T, m)  # diag(tau) chol(Omega)
    if not spec.is_regression:  # with moderators a new study's effect needs its moderator values (predict)
        z_new = b.noise("z_new", dims="outcome")
        pm.Deterministic("theta_new", pt.stack([mu[i] + sum(Lt[i][q] * z_new[q] for q in range(i + 1))
                                                for i in range(m)]), dims="outcome")
    b.handles.theta_prior = pt.stack([mu_j[i] + sum(Lt[i][q] * z[:, q] for q in range(i + 1))
                                      for i in range(m)], axis=1)[ci, oi]


def dims(spec: Any) -> dict[str, list[str]]:
    """Dims of the multivariate model's variables (prior draws are stored with them)."""
    out = {"z": ["cluster", "outcome"]}
    if not spec.is_regression:
        out.update({"mu": ["outcome"], "theta_new": ["outcome"], "z_new": ["outcome"]})
    if spec.dependence.struct != "CS":
        out["tau"] = ["outcome"]
    if spec.dependence.struct == "UN":
        out["rho"] = ["pair"]
    return out


def build(b: Any) -> None:
    """Add the dependent model of ``b.spec`` to the current ``pm.Model`` (called by ``build_model``)."""
    from bayesma.models import random_effects

    if b.spec.dependence.multivariate:
        mv_effects(b)
    else:
        loc, loc_new = random_effects.location(b)
        che_effects(b, loc, loc_new)

