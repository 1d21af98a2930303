"""Moderators of a robust Bayesian meta-regression (RoBMA-reg): terms, contrasts, default priors.

RoBMA's defaults (Bartoš et al., 2025, Psychological Methods, doi:10.1037/met0000737;
R package RoBMA, ``RoBMA(mods=)``):

- a continuous moderator is standardized (``(x - mean) / sd``, sd with ``n - 1``), so
  that its prior is scale free and the intercept is the grand mean;
- a factor gets mean-difference contrasts (BayesTools' ``contr.meandif``): an
  orthonormal basis of the centred space scaled by ``1 / sqrt(1 - 1/K)``, with
  independent priors on its ``K - 1`` coefficients, so that every level's deviation
  from the grand mean has exactly the coefficient prior (label invariant);
- each moderator is either in the model (its prior) or out (coefficients 0), with
  prior probability 1/2 each, independently of effect, heterogeneity and bias;
- the prior of every coefficient is ``Normal(0, 0.25)`` on the scale of the effect
  prior (Cohen's d for RoBMA 3's ``prior_scale = "cohens_d"``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesma._validate import study_name
from bayesma.design import formula_variables, is_text, numbers_as_text, refuse_mostly_numeric
from bayesma.errors import ArgumentTypeError, DataWarning, InputError
from bayesma.priors import Normal, Prior

__all__ = ["Term", "meandif_contrast", "build_terms", "default_moderator_prior"]

_FACTOR_CALL = re.compile(r"\b(?:factor|C)\(\s*([^()]+?)\s*\)")


def default_moderator_prior() -> Prior:
    """RoBMA's default prior of a moderator coefficient, ``Normal(0, 0.25)`` (effect-prior scale)."""
    return Normal(0.0, 0.25)


def meandif_contrast(n_levels: int) -> np.ndarray:
    """Mean-difference contrast matrix, shape ``(K, K - 1)`` (BayesTools' ``contr.meandif``).

    The columns are an orthonormal basis of the vectors that sum to zero, scaled by
    ``1 / sqrt(1 - 1/K)``: with independent ``N(0, s^2)`` coefficients every level's
    deviation from the grand mean (a row times the coefficients) is ``N(0, s^2)``.

    Examples
    --------
    >>> C = meandif_contrast(3)
    >>> C.shape, bool(np.allclose(C.sum(axis=0), 0)), bool(np.allclose((C**2).sum(axis=1), 1))
    ((3, 2), True, True)
    """
    if n_levels < 2:
        raise InputError("a factor needs at least 2 levels for contrasts")
    centred = np.eye(n_levels) - 1.0 / n_levels
    vals, vecs = np.linalg.eigh(centred)
    basis = vecs[:, np.argsort(vals)[::-1][: n_levels - 1]]
    # a sign convention so that results do not depend on the eigen solver
    signs = np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(n_levels - 1)])
    return basis * signs / np.sqrt(1.0 - 1.0 / n_levels)


@dataclass(frozen=True)
class Term:
    """One moderator: its name, kind, columns in the design, prior.

    Attributes
    ----------
    name : str
        Column of the data.
    kind : {"factor", "continuous"}
    levels : tuple of str
        Factor levels (sorted; empty for a continuous moderator).
    contrast : numpy.ndarray
        ``(K, K - 1)`` mean-difference contrasts (factor) or ``[[1]]``.
    center, scale : float
        Standardization of a continuous moderator (0 and 1 for a factor).
    prior : Prior
        Prior of each coefficient.
    """

    name: str
    kind: str
    levels: tuple
    contrast: np.ndarray
    center: float
    scale: float
    prior: Prior

    @property
    def ncol(self) -> int:
        return int(self.contrast.shape[1])

    def columns(self, values: pd.Series) -> np.ndarray:
        """Design columns of this term for the studies, shape ``(k, ncol)``."""
        if self.kind == "factor":
            idx = np.array([self.levels.index(str(v).strip()) for v in values])
            return self.contrast[idx]
        return ((np.asarray(values, float) - self.center) / self.scale)[:, None]

    def __hash__(self) -> int:
        return hash((self.name, self.kind, self.levels))

    def __eq__(self, other) -> bool:
        return isinstance(other, Term) and (self.name, self.kind, self.levels) == (other.name, other.kind, other.levels)


def _variables(mods) -> list[str]:
    if isinstance(mods, str):
        text = mods.strip()
        if not text.startswith("~"):
            raise ArgumentTypeError(f"mods must be a formula such as '~ rater + setting', got {mods!r}")
        bare = _FACTOR_CALL.sub(r"\1", text)  # factor(x) / C(x): a factor, the only call taken
        if any(op in bare for op in ("*", ":", "^", "|", "-", "(", ")")):
            raise InputError(f"mods={mods!r}: RoBMA-reg takes main effects only ('~ a + b', 'factor(a)' for a "
                             "factor); interactions, removed terms and transformations such as log(x) are not "
                             "supported: compute the transformed column in the data")
        names = formula_variables(text)
        if not names:
            raise InputError(f"mods={mods!r} names no moderator")
        return names
    if isinstance(mods, (list, tuple)) and all(isinstance(m, str) for m in mods) and mods:
        return list(mods)
    raise ArgumentTypeError("mods must be a formula string ('~ rater + setting') or a list of column names, got "
                            f"{type(mods).__name__ if not isinstance(mods, (str, list, tuple)) else repr(mods)}")


def _factors(mods) -> set[str]:
    """The variables a formula wraps in ``factor()`` / ``C()``: factors even when they hold numbers."""
    return {m.group(1).strip().strip("`") for m in _FACTOR_CALL.finditer(mods)} if isinstance(mods, str) else set()


def _level_text(v) -> str:
    """A value of a ``factor()`` column as its level name, R's way (``2.0`` -> ``"2"``)."""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _numbers_stored_as_text(name: str, col: pd.Series, labels) -> pd.Series:
    """A text column whose every cell is a number is a continuous moderator (as in :func:`bayesma.rma`),
    with a warning; one that is mostly numbers with a few other cells is an error naming them."""
    refuse_mostly_numeric(col, name, labels)
    numbers = numbers_as_text(col)
    if numbers is None:
        return col
    warnings.warn(f"moderator {name!r} holds numbers stored as text: used as a continuous moderator (standardized, "
                  f"one slope); write factor({name}) in mods= for a factor with one coefficient per level",
                  DataWarning, stacklevel=5)
    return numbers


def _check_column(data: pd.DataFrame, name: str, labels) -> pd.Series:
    if data is None or name not in data.columns:
        raise InputError(f"mods: column {name!r} is not in the data")
    col = data[name]
    missing = np.flatnonzero(col.isna().to_numpy())
    if missing.size:
        i = int(missing[0])
        raise InputError(f"column {name!r}: {study_name(labels, i)} has a missing moderator value; "
                         "RoBMA-reg drops nothing silently", study=None if labels is None else labels[i],
                         row=i + 1, column=name)
    return col


def _factor_term(name: str, col: pd.Series, labels, prior: Prior) -> Term:
    values = col.astype(str).str.strip()
    levels = tuple(sorted(values.unique()))
    if len(levels) < 2:
        raise InputError(f"moderator {name!r} has a single level ({levels[0]!r}); it cannot moderate anything",
                         column=name)
    counts = values.value_counts()
    for lev in levels:
        if counts[lev] < 2:
            i = int(np.flatnonzero(values.to_numpy() == lev)[0])
            raise InputError(f"moderator {name!r}: level {lev!r} has one study only ({study_name(labels, i)}); "
                             "its deviation from the grand mean is not identified apart from that study's "
                             "random effect: merge or drop the level", study=None if labels is None else labels[i],
                             row=i + 1, column=name)
    return Term(name, "factor", levels, meandif_contrast(len(levels)), 0.0, 1.0, prior)


def _continuous_term(name: str, col: pd.Series, labels, prior: Prior) -> Term:
    x = np.asarray(col, float)
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"column {name!r}: {study_name(labels, i)} is not finite ({x[i]!r})",
                         study=None if labels is None else labels[i], row=i + 1, column=name)
    sd = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    if not sd > 0:
        raise InputError(f"moderator {name!r} is constant ({x[0]:g}) and cannot be standardized", column=name)
    return Term(name, "continuous", (), np.ones((1, 1)), float(np.mean(x)), sd, prior)


def build_terms(mods, data: pd.DataFrame | None, labels=None, priors: dict | None = None,
                standardize: bool = True) -> tuple[list[Term], np.ndarray]:
    """Terms and the ``(k, p)`` design matrix (no intercept) of a RoBMA-reg formula.

    Parameters
    ----------
    mods : str or list of str
        ``"~ rater + setting"`` or column names.
    data : pandas.DataFrame
        Holds the moderator columns (one row per estimate).
    labels : list, optional
        Study labels for error messages.
    priors : dict, optional
        ``{moderator name: Prior}`` (key ``"*"``: every moderator not named); default
        :func:`default_moderator_prior`.
    standardize : bool
        Standardize continuous moderators (RoBMA's default).

    Returns
    -------
    terms : list of Term
    X : numpy.ndarray of shape (k, sum of the terms' columns)

    Raises
    ------
    InputError
        A missing column or value, a factor level with one study, a constant moderator.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 2.0, 3.0, 5.0]})
    >>> terms, X = build_terms("~ g + x", df)
    >>> [t.name for t in terms], X.shape
    (['g', 'x'], (4, 2))
    """
    priors = dict(priors or {})
    names = _variables(mods)
    forced = _factors(mods)
    common = priors.pop("*", None)
    unknown = set(priors) - set(names)
    if unknown:
        raise InputError(f"priors for moderators {sorted(unknown)} that are not in mods={mods!r}")
    terms, blocks = [], []
    for name in names:
        col = _check_column(data, name, labels)
        prior = priors.get(name, common if common is not None else default_moderator_prior())
        if not isinstance(prior, Prior) or prior.family != "Normal":
            raise ArgumentTypeError(f"the prior of moderator {name!r} must be a bayesma Normal prior, got {prior!r}")
        if name in forced:
            col = col.map(_level_text)
        elif is_text(col) and not isinstance(col.dtype, pd.CategoricalDtype):
            col = _numbers_stored_as_text(name, col, labels)
        if name in forced or is_text(col) or isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == bool:
            term = _factor_term(name, col, labels, prior)
        else:
            term = _continuous_term(name, col, labels, prior)
            if not standardize:
                term = Term(name, "continuous", (), term.contrast, 0.0, 1.0, prior)
        terms.append(term)
        blocks.append(term.columns(col))
    return terms, np.concatenate(blocks, axis=1)
