"""Moderator formulas to design matrices, with metafor's coefficient names.

``"~ ablat + year"`` gives columns ``intrcpt, ablat, year``; a string or
categorical column (or ``factor(x)``) is a factor with treatment coding and the
first level (sorted, or the categorical's own order) as reference, named as R
names it: ``factor(alloc)random``, ``allocrandom``.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import study_name
from bayesma.errors import ArgumentTypeError, DataWarning, InputError

__all__ = ["design_matrix", "drop_redundant", "required_columns", "formula_variables"]

# a variable in a formula: `name with spaces`, Q("name"), or an identifier (letters of any script)
_VAR = r"`[^`]+`|Q\(\s*(?:'[^']+'|\"[^\"]+\")\s*\)|[^\W\d][\w.]*"
_TOKEN = re.compile(r"`([^`]+)`|Q\(\s*(?:'([^']+)'|\"([^\"]+)\")\s*\)|([^\W\d][\w.]*)(\s*\()?")
_LOGICAL = re.compile(r"^I\(.*(?:[<>]=?|==|!=).*\)$")
_FACTOR = re.compile(r"factor\(\s*(" + _VAR + r")\s*\)")


def design_matrix(
    mods: Any, data: pd.DataFrame | None, k: int, labels: list[str] | None = None, intercept: bool = True,
    redundant: str = "drop",
) -> tuple[np.ndarray, list[str]]:
    """Build the k x p design matrix of a (meta-)regression.

    Parameters
    ----------
    mods : None, str, array_like or DataFrame
        ``None`` (intercept only), a formula such as ``"~ ablat + year"``,
        or a matrix / DataFrame of moderators (an intercept is added in front
        when *intercept* is true).
    data : DataFrame or None
        Where the formula's variables live (aligned with the studies).
    k : int
        Number of studies.
    labels : list of str, optional
        Study labels, for error messages.
    intercept : bool, default True
        Add an intercept column (``"intrcpt"``) in front of a matrix / DataFrame of
        moderators. A formula sets its own intercept (``"~ x - 1"`` has none).
    redundant : {"drop", "raise"}
        What a column that is a linear combination of the columns before it does:
        dropped with a warning (metafor's rule, the default) or an error naming it
        (:func:`drop_redundant`).

    Returns
    -------
    X : numpy.ndarray, shape (k, p)
    names : list of str

    Examples
    --------
    >>> import pandas as pd
    >>> X, names = design_matrix("~ x", pd.DataFrame({"x": [1.0, 2.0, 4.0]}), 3)
    >>> names
    ['intrcpt', 'x']
    """
    if mods is None:
        return np.ones((k, 1)), ["intrcpt"]
    if isinstance(mods, str):
        return _from_formula(mods, data, k, labels, redundant)
    if isinstance(mods, pd.Series):
        mods = mods.to_frame()
    if isinstance(mods, pd.DataFrame):
        names = [str(c) for c in mods.columns]
        values = mods
    else:
        arr = np.asarray(mods)
        if arr.ndim == 1:
            arr = arr[:, None]
        names = [f"mod{j + 1}" for j in range(arr.shape[1])]
        values = pd.DataFrame(arr, columns=names)
    if len(values) != k:
        raise InputError(f"mods has {len(values)} rows but there are {k} studies")
    X = np.empty((k, len(names)))
    for j, name in enumerate(names):
        col = values.iloc[:, j]
        try:
            X[:, j] = pd.to_numeric(col).to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"moderator {name!r} is not numeric; use a formula to code it as a factor") from None
        for i in np.flatnonzero(~np.isfinite(X[:, j])):
            raise InputError(f"moderator {name!r}: {study_name(labels, i)} has a missing or non-finite value")
    if intercept:
        X = np.column_stack([np.ones(k), X])
        names = ["intrcpt"] + names
    return drop_redundant(X, names, redundant=redundant)


def formula_variables(formula: str) -> list[str]:
    """Names of the data columns a formula uses (for completeness checks).

    Understands plain names in any script (``größe``), backticks (```rater type```) and
    ``Q("rater type")``; names followed by ``(`` are functions (``factor``, ``log``, ``I``...).
    """
    text = formula.split("~", 1)[-1]
    names = []
    for m in _TOKEN.finditer(text):
        quoted = m.group(1) or m.group(2) or m.group(3)
        if quoted is not None:
            names.append(quoted)
        elif m.group(5) is None:  # an identifier that is not a function call
            names.append(m.group(4))
    return list(dict.fromkeys(names))


def _unquote(var: str) -> str:
    m = _TOKEN.fullmatch(var.strip())
    if m is None:
        return var
    return m.group(1) or m.group(2) or m.group(3) or m.group(4)


def required_columns(mods: Any, data: pd.DataFrame | None, *extra: str | None) -> list[str]:
    """Columns of *data* that a moderator formula (and *extra* columns such as ``tau_by``) use:
    these must be complete, so MetaData can name (or, with missing="drop", drop) incomplete studies."""
    if data is None:
        return []
    names = list(formula_variables(mods)) if isinstance(mods, str) else []
    names += [e for e in extra if e is not None]
    return [c for c in dict.fromkeys(names) if c in data.columns]


def _from_formula(formula: str, data: pd.DataFrame | None, k: int, labels: list[str] | None,
                  redundant: str = "drop"):
    from formulaic import model_matrix

    text = formula.strip()
    if not text.startswith("~"):
        text = "~ " + text
    if data is None:
        data = pd.DataFrame(index=range(k))
    frame = data.reset_index(drop=True)
    factor_vars = {raw: _unquote(raw) for raw in _FACTOR.findall(text)}
    for var in formula_variables(text):
        if var not in frame.columns:
            raise InputError(f"moderator {var!r} in {formula!r} is not a column of the data; "
                             f"columns are {list(frame.columns)}")
        col = frame[var]
        for i in np.flatnonzero(col.isna().to_numpy()):
            raise InputError(f"moderator {var!r}: {study_name(labels, i)} has a missing value")
        if is_text(col):
            if var not in factor_vars.values():
                refuse_mostly_numeric(col, var, labels)
                numbers = numbers_as_text(col)
                if numbers is not None:
                    warnings.warn(f"moderator {var!r} holds numbers stored as text: used as a numeric moderator "
                                  f"(one slope); write factor({var}) for a categorical moderator with one "
                                  "coefficient per level", DataWarning, stacklevel=5)
                    frame[var] = numbers
                    continue
            frame[var] = strip_levels(col, var)
    text_fm = _power_in_calls(_FACTOR.sub(r"C(\1)", text))
    # string / boolean columns are factors; numbers in factor() become labels.
    for var in set(factor_vars.values()):
        if var in frame.columns and not isinstance(frame[var].dtype, pd.CategoricalDtype):
            col = frame[var]
            levels = sorted(col.unique(), key=lambda v: (isinstance(v, str), v))
            frame[var] = pd.Categorical(col.map(_r_level), categories=[_r_level(v) for v in levels])
    try:
        mm = model_matrix(text_fm, frame, na_action="raise")
    except Exception as err:  # formulaic's syntax and evaluation errors
        message = re.sub(r"\x1b\[[0-9;]*m|[⧚⧛]", "", str(err)).strip().splitlines()[0]
        raise InputError(f"cannot read the moderator formula {formula!r}: {message}") from None
    names = [_r_name(c, set(factor_vars)) for c in mm.columns]
    X = np.asarray(mm, dtype=float)
    # a logical term (I(x > 30)) is a factor in R: its column is named for the level TRUE
    names = [n + "TRUE" if _LOGICAL.search(n) and np.isin(X[:, j], (0.0, 1.0)).all() else n
             for j, n in enumerate(names)]
    if X.shape[0] != k:
        raise InputError(f"the formula {formula!r} gave {X.shape[0]} rows for {k} studies")
    for i, j in zip(*np.nonzero(~np.isfinite(X))):  # inf in the data, or log(0), 1/0 in the formula
        raise InputError(f"moderator {names[j]!r} in {formula!r}: {study_name(labels, int(i))} has the "
                         f"non-finite value {X[i, j]} (an infinite cell, or a transformation such as "
                         "log(0) undefined there)", row=int(i) + 1, column=names[j])
    if X.shape[1] == 0:
        raise InputError(f"the moderator formula {formula!r} has no columns (no intercept and no "
                         "moderators); use mods=None for the intercept-only model")
    return drop_redundant(X, names, redundant=redundant)


def is_text(col: pd.Series) -> bool:
    """Whether a column holds text (object, string or text-categorical dtype)."""
    return col.dtype == object or pd.api.types.is_string_dtype(col.dtype) or (
        isinstance(col.dtype, pd.CategoricalDtype) and col.cat.categories.dtype == object)


def numbers_as_text(col: pd.Series) -> pd.Series | None:
    """The numbers of a text column whose every cell reads as a finite number ("7.5 "), else None."""
    values = pd.to_numeric(col.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
    return values.astype(float) if values.notna().all() and np.isfinite(values.to_numpy(float)).all() else None


def refuse_mostly_numeric(col: pd.Series, var: str, labels: list[str] | None) -> None:
    """A text column whose cells are mostly numbers is a numeric moderator with a few typos
    ("7.5 " is fine, "<20" or "n/a" is not): never a factor with one level per value."""
    values = col.astype(object).to_numpy()
    numeric = pd.to_numeric(pd.Series(values), errors="coerce").notna().to_numpy()
    bad = np.flatnonzero(~numeric)
    if numeric.sum() > len(values) / 2 and len(bad):
        cells = "; ".join(f"{study_name(labels, i)}: {values[i]!r}" for i in bad)
        raise InputError(
            f"moderator {var!r} is mostly numeric but has {len(bad)} non-numeric "
            f"value{'s' if len(bad) > 1 else ''} ({cells}); correct or remove "
            f"{'them' if len(bad) > 1 else 'it'}, or write factor({var}) if it is a categorical moderator")


def strip_levels(col: pd.Series, var: str) -> pd.Series:
    """Factor levels without surrounding spaces; a warning when that merges levels ("a" and "a ")."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in col.cat.categories]
        stripped = list(dict.fromkeys(c.strip() for c in cats))
        values = col.astype(object).map(lambda v: str(v).strip())
        new = pd.Series(pd.Categorical(values, categories=stripped, ordered=col.cat.ordered), index=col.index)
        merged = [c for c in cats if c != c.strip()]
    else:
        raw = col.astype(object)
        new = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
        cats = list(dict.fromkeys(raw))
        merged = [c for c in cats if isinstance(c, str) and c != c.strip()]
    if merged and new.nunique() < len(cats):
        warnings.warn(f"moderator {var!r}: levels that differ only by surrounding spaces were merged "
                      f"({', '.join(repr(c) for c in merged)} -> "
                      f"{', '.join(repr(c.strip()) for c in merged)})", DataWarning, stacklevel=5)
    return new


def _power_in_calls(formula: str) -> str:
    """R's ``^`` inside a function call (``I(x^2)``, ``log(x^2)``) is a power; Python's is bitwise XOR,
    which formulaic would compute silently. Rewritten as ``**`` there; ``(a + b)^2`` outside calls
    stays the formula's interaction power."""
    out, stack, quote = [], [], None
    for i, ch in enumerate(formula):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            j = len(out) - 1
            while j >= 0 and out[j] == " ":
                j -= 1
            stack.append(j >= 0 and (out[j].isalnum() or out[j] in "._"))
        elif ch == ")" and stack:
            stack.pop()
        elif ch == "^" and any(stack):
            out.append("**")
            continue
        out.append(ch)
    return "".join(out)


_SPACED = {"+", "-", "*", "==", "!=", "<", ">", "<=", ">=", "&", "|", "&&", "||", "%%", "%/%"}


def _r_deparse(term: str) -> str:
    """A term as R's ``deparse`` writes it (R's coefficient names): ``I(x ** 2)`` -> ``I(x^2)``,
    ``I(x / 2)`` -> ``I(x/2)``, spaces around ``+ - * ==``..., none inside parentheses."""
    import io
    import tokenize

    try:
        toks = [t for t in tokenize.generate_tokens(io.StringIO(term).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return term
    out: list[str] = []
    prev = None
    for t in toks:
        text = t.string
        if t.type == tokenize.STRING and text[0] == "'" and '"' not in text:
            text = '"' + text[1:-1] + '"'
        if text == "**":
            text = "^"
        unary = text in ("-", "+") and (prev is None or prev in _SPACED or prev in ("(", ",", "^", "/", "="))
        if text in _SPACED and not unary:
            out.append(f" {text} ")
        elif text == ",":
            out.append(", ")
        elif text == "=" and prev is not None:
            out.append(" = ")
        else:
            out.append(text)
        prev = text
    return "".join(out)


def _r_level(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _r_name(column: str, factor_vars: set[str]) -> str:
    if column == "Intercept":
        return "intrcpt"
    parts = []
    for part in column.split(":"):
        # treatment contrasts "C(x)[T.b]", or full dummy coding "C(x)[b]" of a formula without
        # intercept ("~ factor(x) - 1"): R's "factor(x)b" either way
        m = re.fullmatch(r"C\((.*?)\)\[(?:T\.)?(.*)\]", part)
        if m:
            var, level = m.groups()
            prefix = f"factor({var})" if var in factor_vars else var
            parts.append(prefix + level)
            continue
        m = re.fullmatch(r"(.*?)\[(?:T\.)?(.*)\]", part)
        if m:
            parts.append(m.group(1) + m.group(2))
            continue
        parts.append(_r_deparse(part) if "(" in part else part)
    return ":".join(parts)


def drop_redundant(X: np.ndarray, names: list[str], tol: float = 1e-7,
                   redundant: str = "drop") -> tuple[np.ndarray, list[str]]:
    """Drop the columns of *X* that are (numerically) linear combinations of the columns before
    them, with a warning naming them, as metafor (``rma``'s "Redundant predictors dropped from the
    model."; R's ``lm`` decides: a column whose part orthogonal to the kept columns before it is
    shorter than *tol* times the column is redundant, LINPACK ``dqrdc2``'s rule).

    Returns
    -------
    X : numpy.ndarray, shape (k, p_kept)
    names : list of str, the kept names

    Raises
    ------
    ValueError
        When every column is redundant, a column is redundant and ``redundant="raise"``, or the
        kept columns are still not of full rank in metafor's sense (an eigenvalue of X'X <= 1e-7:
        "Model matrix not of full rank").
    """
    keep: list[int] = []
    basis = np.empty((X.shape[0], 0))
    for j in range(X.shape[1]):
        col = X[:, j]
        norm = float(np.linalg.norm(col))
        resid = col - basis @ (basis.T @ col)
        resid = resid - basis @ (basis.T @ resid)  # second pass: Gram-Schmidt loses orthogonality
        rnorm = float(np.linalg.norm(resid))
        if norm == 0.0 or rnorm < tol * norm:
            continue
        keep.append(j)
        basis = np.column_stack([basis, resid / rnorm])
    dropped = [names[j] for j in range(X.shape[1]) if j not in keep]
    if not keep:
        raise InputError(f"the design matrix (columns {names}) has no usable column: every moderator is zero")
    if dropped and redundant == "raise":
        raise InputError(
            f"the design matrix of mods= is not of full column rank: {', '.join(repr(d) for d in dropped)} "
            f"{'is a' if len(dropped) == 1 else 'are'} constant or a linear combination of the other columns "
            f"({', '.join(names[j] for j in keep)}); remove {'it' if len(dropped) == 1 else 'them'} from the formula",
            column=dropped[0])
    if dropped:
        warnings.warn(
            f"Redundant predictors dropped from the model (as metafor): {', '.join(repr(d) for d in dropped)} "
            f"{'is a' if len(dropped) == 1 else 'are'} constant or a linear combination of the other columns "
            f"({', '.join(names[j] for j in keep)})",
            DataWarning, stacklevel=4,
        )
        X = X[:, keep]
        names = [names[j] for j in keep]
    if np.linalg.eigvalsh(X.T @ X).min() <= tol:
        raise InputError(
            f"the design matrix (columns {names}) is not of full rank: a moderator is (nearly) constant "
            "or a combination of others (metafor: 'Model matrix not of full rank. Cannot fit model.')"
        )
    return X, names
