"""The variance and correlation components of an ``rma_mv`` model: their names in metafor's
order (``sigma^2.1, ..., tau^2.1, ..., rho, ..., gamma^2.1, ..., phi``), which are fixed by the
user (``sigma2=``, ``tau2=``, ``rho=``, ``gamma2=``, ``phi=``), and metafor's rules that fix a
component the data cannot inform (with metafor's warnings):

* a correlation of CS/HCS/AR/HAR is fixed to 0 when the inner factor has a single level, or
  when every outer level holds a single row;
* a variance of HCS/UN/DIAG/HAR is fixed to 0 for an inner level that occurs in only one
  outer level;
* with tau2 fixed to 0 (CS, AR) the correlation is fixed to 0.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from bayesma.errors import InputError
from bayesma.frequentist.mv.optimize import Params
from bayesma.frequentist.mv.random import SigmaTerm, StructTerm

__all__ = ["build_params"]


def _values(spec: Any, n: int, name: str) -> np.ndarray:
    """A user's fixed values: None (all estimated), a number, or a list with None/NaN entries."""
    if spec is None:
        return np.full(n, np.nan)
    arr = np.array([np.nan if v is None else v for v in np.atleast_1d(np.asarray(spec, dtype=object))],
                   dtype=float)
    if arr.size == 1 and n > 1:
        arr = np.full(n, arr[0])
    if arr.size != n:
        raise InputError(f"{name} has {arr.size} values but the model has {n} such components")
    return arr


def _struct_info(term: StructTerm) -> dict:
    st = term.struct
    pairs = np.unique(np.column_stack([term.inner_codes, term.outer_codes]), axis=0)
    k_levels = np.bincount(pairs[:, 0], minlength=st.q)
    return {"struct": st.name, "inner": term.inner_name, "outer": term.outer_name, "levels": term.inner_levels,
            "n_outer": len(term.outer_levels), "k_levels": k_levels, "n_tau2": st.n_tau2, "n_rho": st.n_rho}


def _struct_fixed(term: StructTerm, info: dict, tau2: np.ndarray, rho: np.ndarray, names: tuple[str, str]):
    st = term.struct
    var, cor = names
    if st.n_rho and st.name in ("CS", "HCS", "AR", "HAR"):
        if st.q == 1 and np.isnan(rho).any():
            rho = np.zeros_like(rho)
            warnings.warn(f"Inner factor has only a single level, so fixed value of {cor} to 0.", stacklevel=5)
        elif len(term.outer_levels) == len(term.outer_codes) and np.isnan(rho).any():
            rho = np.zeros_like(rho)
            warnings.warn("Each level of the outer factor contains only a single level of the inner factor, "
                          f"so fixed value of {cor} to 0.", stacklevel=5)
    if st.name in ("HCS", "UN", "DIAG", "HAR"):
        once = np.isnan(tau2) & (info["k_levels"] == 1)
        if once.any():
            tau2 = np.where(once, 0.0, tau2)
            warnings.warn(f"Inner factor has k=1 for one or more levels. Corresponding '{var}' value(s) "
                          "fixed to 0.", stacklevel=5)
    if st.name == "UN" and st.n_rho:
        occ = np.zeros((len(term.outer_levels), st.q), dtype=float)
        occ[term.outer_codes, term.inner_codes] = 1.0
        together = (occ.T @ occ)[st._un]  # outer levels holding both inner levels, in rho's order
        never = (together == 0) & np.isnan(rho)
        if never.any():
            rho = np.where(never, 0.0, rho)
            warnings.warn("Some combinations of the levels of the inner factor never occurred. Corresponding "
                          f"{cor} value(s) fixed to 0.", stacklevel=5)
    if st.name in ("CS", "AR") and st.n_rho and tau2[0] == 0 and np.isnan(rho).any():
        rho = np.zeros_like(rho)
    if np.any(np.abs(rho[~np.isnan(rho)]) > 1):
        raise InputError(f"fixed value(s) of {cor} must be in [-1, 1]")
    return tau2, rho


def build_params(sigmas: list[SigmaTerm], structs: list[StructTerm], fixed: dict, k: int, p: int
                 ) -> tuple[Params, list[dict]]:
    """The parameter vector of a model, with fixed entries, and a description of each struct term.

    Raises
    ------
    ValueError
        Fixed values of the wrong length or out of range, a fixed value for a component the model
        does not have, or more estimated components than k - p.
    """
    names: list[str] = []
    is_var: list[bool] = []
    values: list[np.ndarray] = []
    ns = len(sigmas)
    s2 = _values(fixed.get("sigma2"), ns, "sigma2") if ns else _unused(fixed.get("sigma2"), "sigma2", "~ 1 | f")
    names += [f"sigma^2.{j + 1}" for j in range(ns)]
    is_var += [True] * ns
    values.append(s2)
    infos = []
    labels = (("tau2", "rho", "tau^2"), ("gamma2", "phi", "gamma^2"))
    for j, (var, cor, pretty) in enumerate(labels):
        if j >= len(structs):
            for arg in (var, cor):
                _unused(fixed.get(arg), arg, "~ inner | outer")
            continue
        term, info = structs[j], _struct_info(structs[j])
        st = term.struct
        tau = _values(fixed.get(var), st.n_tau2, var)
        rho = _values(fixed.get(cor), st.n_rho, cor) if st.n_rho else _unused_rho(fixed.get(cor), cor, st.name)
        tau, rho = _struct_fixed(term, info, tau, rho, (var, cor))
        names += [f"{pretty}.{i + 1}" for i in range(st.n_tau2)] if st.n_tau2 > 1 else [pretty]
        names += [f"{cor}.{i + 1}" for i in range(st.n_rho)] if st.n_rho > 1 else [cor] * st.n_rho
        is_var += [True] * st.n_tau2 + [False] * st.n_rho
        values += [tau, rho]
        infos.append(info)
    fixed_vec = np.concatenate(values) if values else np.zeros(0)
    if np.any(fixed_vec[np.array(is_var, dtype=bool)] < 0):
        raise InputError("fixed variance components must be >= 0")
    n_free = int(np.isnan(fixed_vec).sum())
    if n_free > k - p:
        raise InputError(f"the model has {n_free} variance/correlation components to estimate but only "
                         f"k - p = {k - p} residual degrees of freedom: the struct needs more levels (or "
                         "more effects) than the data have; use a simpler struct or fix components")
    return Params(names, np.array(is_var, dtype=bool), fixed_vec), infos


def _unused(spec: Any, name: str, kind: str) -> np.ndarray:
    if spec is not None:
        raise InputError(f"{name}= was given but the model has no '{kind}' term")
    return np.zeros(0)


def _unused_rho(spec: Any, name: str, struct: str) -> np.ndarray:
    if spec is not None and np.any(np.asarray(spec, dtype=float) != 0):
        raise InputError(f"{name}= cannot be set for struct={struct!r} (its correlations are 0)")
    return np.zeros(0)
