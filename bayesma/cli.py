"""The ``bayesma`` command: a Bayesian meta-analysis of a CSV or Excel file.

Subcommands::

    bayesma fit FILE --yi COL (--vi COL | --sei COL) [...]   posterior, frequentist check, files
    bayesma escalc MEASURE FILE --ai COL ... [--out FILE]    add effect sizes yi, vi
    bayesma priors FILE --yi COL --vi COL --tau-prior SPEC ... compare heterogeneity priors
    bayesma smallk FILE --yi COL --vi COL [...]              leave-one-out, small-k simulation
    bayesma demo [--out DIR]                                 the whole workflow on bundled data

Input problems (a missing value, a negative variance, an unknown column, an
unreadable file) end with exit code 2 and one line on stderr::

    bayesma: error: studies.csv: column 'vi': study 'Smith 2004' (row 5) has a variance of -0.01; ...

``--debug`` shows the traceback instead. This module imports nothing heavy at
the top, so ``bayesma --help`` is fast; PyMC and ArviZ load only when a
Bayesian model is fitted.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["main", "read_table", "build_parser"]

PROG = "bayesma"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT = 2

#: what an input problem looks like: reported in one line, exit code 2
INPUT_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, KeyError, OSError)

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
LOG_MEASURES = {"OR": "odds ratio", "RR": "risk ratio", "ROM": "ratio of means", "HR": "hazard ratio",
                "IRR": "incidence rate ratio", "PETO": "odds ratio"}
MEASURE_NAMES = {
    "OR": "log odds ratios", "RR": "log risk ratios", "RD": "risk differences",
    "SMD": "standardized mean differences (Hedges' g)", "SMDH": "standardized mean differences",
    "MD": "mean differences", "ROM": "log ratios of means", "COR": "correlations",
    "ZCOR": "Fisher z-transformed correlations", "PR": "proportions", "PLO": "logit proportions",
    "HR": "log hazard ratios", "IRR": "log incidence rate ratios", "PETO": "log odds ratios (Peto)",
}

ESCALC_ARGS = ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i", "sd2i", "ri", "ni", "xi", "mi")

DEMO_DATASET = "dat.landenberger2005"


class InputError(ValueError):
    """A problem with the user's input, reported as one line with exit code 2."""


# ---------------------------------------------------------------------------
# errors: one line, naming the file
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def about(source: str | os.PathLike | None) -> Iterator[None]:
    """Attach *source* (a file name, or an option such as ``--tau-prior``) to input errors raised inside."""
    try:
        yield
    except INPUT_ERRORS as exc:
        if source is not None and getattr(exc, "bayesma_source", None) is None:
            try:
                exc.bayesma_source = str(source)  # type: ignore[attr-defined]
            except AttributeError:  # pragma: no cover - exotic exception types
                pass
        raise


def one_line(exc: BaseException) -> str:
    """The message of *exc* as a single line (no traceback), with CLI-style hints."""
    if isinstance(exc, KeyError) and exc.args:
        msg = str(exc.args[0])
    elif isinstance(exc, UnicodeDecodeError):
        msg = (f"cannot read the file as text ({exc.encoding} decoding failed at byte {exc.start}); "
               "save it as CSV (UTF-8) or as an Excel .xlsx file")
    elif isinstance(exc, FileNotFoundError):
        msg = "no such file" + (f" {exc.filename!r}" if exc.filename and not getattr(exc, "bayesma_source", None) else "")
    elif isinstance(exc, IsADirectoryError):
        msg = "is a directory, not a data file"
    elif isinstance(exc, PermissionError):
        msg = "permission denied" + (f" ({exc.filename})" if exc.filename else "")
    elif isinstance(exc, OSError) and exc.strerror:
        msg = exc.strerror + (f" ({exc.filename})" if exc.filename else "")
    else:
        msg = str(exc) or type(exc).__name__
    # the Python API suggests missing='drop'; on the command line that is --missing drop
    msg = msg.replace("missing='drop'", "--missing drop")
    lines = [line.strip() for line in msg.splitlines() if line.strip()]
    msg = "; ".join(lines)
    msg = re.sub(r";\s*;", ";", msg).replace(":;", ":")
    source = getattr(exc, "bayesma_source", None)
    return f"{source}: {msg}" if source else msg


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------
# output helpers: progress, warnings, tables
# ---------------------------------------------------------------------------


class Progress:
    """Step messages on stderr: ``[2/5] fitting the Bayesian model ... done (0.1 s)``."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.i = 0
        self.quiet = quiet
        self._t0 = time.perf_counter()

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[None]:
        self.i += 1
        t0 = time.perf_counter()
        if not self.quiet:
            print(f"[{self.i}/{self.total}] {text} ...", file=sys.stderr, flush=True)
        yield
        if not self.quiet:
            print(f"      done ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)


@contextlib.contextmanager
def user_warnings(debug: bool = False) -> Iterator[None]:
    """Show warnings as ``bayesma: warning: ...`` lines on stderr (once each)."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        ours = category.__module__.startswith("bayesma") or "bayesma" in str(filename)
        if not debug and not (ours and issubclass(category, (UserWarning, RuntimeWarning))):
            return  # other libraries' chatter (PyTensor's BLAS notice, ...) only with --debug
        text = " ".join(str(message).split())
        if text in seen:
            return
        seen.add(text)
        print(f"{PROG}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for cat in (DeprecationWarning, FutureWarning, PendingDeprecationWarning):
            if not debug:
                warnings.simplefilter("ignore", cat)
        old = warnings.showwarning
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = old


def _fmt_value(value: Any, column: str = "") -> str:
    import math

    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    col = column.lower()
    if col.startswith("ess") or col in ("k", "divergences", "draws", "n", "n_sim"):
        return f"{v:.0f}"
    if col in ("pval", "p", "qep", "qmp", "p_value") or col.startswith("p(") or col.endswith("_p"):
        return "<.0001" if v < 1e-4 else f"{v:.4f}"
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:.4f}"


def _table_rows(df: "pd.DataFrame", index: bool = True) -> tuple[list[str], list[list[str]], list[bool]]:
    import pandas as pd

    levels = df.index.nlevels if index else 0
    names = [str(n or "") for n in df.index.names] if index else []
    header = names + [str(c) for c in df.columns]
    numeric = [False] * levels + [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    rows = []
    for idx, row in df.iterrows():
        cells = ([str(i) for i in idx] if levels > 1 else [str(idx)]) if index else []
        cells += [_fmt_value(row[c], str(c)) for c in df.columns]
        rows.append(cells)
    return header, rows, numeric


def _use_rich() -> bool:
    if os.environ.get("BAYESMA_PLAIN") or not _isatty(sys.stdout):
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def print_table(df: "pd.DataFrame", title: str | None = None, index: bool = True) -> None:
    """Print a DataFrame as an aligned table: a rich table on a terminal, plain text otherwise."""
    header, rows, numeric = _table_rows(df, index=index)
    if _use_rich():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left", title_style="bold")
        for name, num in zip(header, numeric):
            table.add_column(name, justify="right" if num else "left")
        for cells in rows:
            table.add_row(*cells)
        Console(file=sys.stdout).print(table)
        return
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(header)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    if title:
        print(title)
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for cells in rows:
        print(fmt(cells))
    print()


def say(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------------------
# reading data
# ---------------------------------------------------------------------------


def _numeric_comma_columns(df: "pd.DataFrame") -> "pd.DataFrame":
    """Columns written with a decimal comma ("0,25") become numbers."""
    import pandas as pd

    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s):
            continue
        text = s.dropna().astype(str).str.strip()
        if text.empty or not text.str.fullmatch(r"[-+]?\d*,?\d+([eE][-+]?\d+)?").all():
            continue
        df[col] = pd.to_numeric(s.astype(str).str.strip().str.replace(",", ".", regex=False).where(s.notna()))
    return df


def read_table(path: str | os.PathLike, sheet: str | int | None = None) -> "pd.DataFrame":
    """Read a CSV (comma, semicolon or tab separated) or Excel file into a DataFrame.

    Column names are stripped of surrounding spaces; rows that are entirely
    empty (common at the end of spreadsheets) are left out.

    Raises
    ------
    FileNotFoundError, InputError
        The file does not exist, is not readable, is empty, or is an Excel
        file and ``openpyxl`` is not installed.
    """
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "no such file", str(p))
    if p.is_dir():
        raise IsADirectoryError(21, "is a directory", str(p))
    suffix = p.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        engine = "xlrd" if suffix == ".xls" else "openpyxl"
        import importlib.util

        if importlib.util.find_spec(engine) is None:
            extra = ' (or: pip install "bayesma[excel]")' if engine == "openpyxl" else ""
            raise InputError(
                f"reading Excel files ({suffix}) needs the package {engine!r}, which is not installed: "
                f"pip install {engine}{extra}; or save the sheet as CSV"
            )
        import zipfile

        try:
            df = pd.read_excel(p, sheet_name=0 if sheet is None else sheet, engine=engine)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise InputError(f"not a readable Excel file ({one_line(exc)})") from exc
    else:
        sep = "\t" if suffix in (".tsv", ".tab") else ","
        try:
            df = pd.read_csv(p, sep=sep)
        except pd.errors.EmptyDataError:
            raise InputError("the file is empty") from None
        except pd.errors.ParserError as exc:
            raise InputError(f"not a readable CSV file: {one_line(exc)}") from None
        if df.shape[1] == 1 and sep == ",":
            head = str(df.columns[0])
            for alt in (";", "\t"):
                if alt in head:
                    df = _numeric_comma_columns(pd.read_csv(p, sep=alt)) if alt == ";" else pd.read_csv(p, sep=alt)
                    break
    df.columns = [str(c).strip() for c in df.columns]
    df = df.dropna(how="all").reset_index(drop=True)
    if df.empty:
        raise InputError("the file has no data rows")
    return df


def make_dir(path: Path) -> None:
    """Create the output directory, or fail with one line saying why."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err = InputError(f"cannot create the output directory ({exc.strerror or exc})")
        err.bayesma_source = str(path)  # type: ignore[attr-defined]
        raise err from None


def check_columns(df: "pd.DataFrame", wanted: dict[str, Any]) -> None:
    """Every option that names a column must name one of *df*; else say which option and suggest."""
    for option, col in wanted.items():
        if col is None or col in df.columns:
            continue
        close = difflib.get_close_matches(str(col), [str(c) for c in df.columns], n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(
            f"no column {col!r} (given to {option}){hint}; the columns are: "
            + ", ".join(str(c) for c in df.columns)
        )


def _formula_columns(formula: str | None) -> list[str]:
    if not formula:
        return []
    from bayesma.design import formula_variables

    return list(formula_variables(formula))


def _split_labelled(spec: str) -> tuple[str | None, str]:
    """``"wide=halfnormal(1)"`` -> ("wide", "halfnormal(1)"); ``"halfnormal(sigma=1)"`` -> (None, spec).

    A label is whatever precedes the first ``=`` when that part has no parenthesis.
    """
    m = re.match(r"^\s*([^=()]+?)\s*=\s*(.+)$", spec)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    return None, spec.strip()


def _parse_prior(spec: str | None, option: str, target: tuple[str, ...]):
    if spec is None:
        return None
    from bayesma import priors

    with about(option):
        return priors.as_prior(spec, target=target, name=option.lstrip("-").replace("-prior", ""))


def _parse_list(text: str | None, option: str, kind: Callable[[str], Any] = float) -> list[Any] | None:
    if text is None:
        return None
    try:
        return [kind(x) for x in re.split(r"[,\s]+", text.strip()) if x]
    except ValueError:
        raise InputError(f"{option}: expected a comma-separated list of numbers, got {text!r}") from None


# ---------------------------------------------------------------------------
# the fit pipeline (shared by `fit` and `demo`)
# ---------------------------------------------------------------------------


def _version_line() -> str:
    from importlib.metadata import PackageNotFoundError, version

    import bayesma

    parts = []
    for pkg, name in (("pymc", "PyMC"), ("arviz", "ArviZ")):
        try:
            parts.append(f"{name} {version(pkg)}")
        except PackageNotFoundError:  # pragma: no cover
            pass
    return f"bayesma {bayesma.__version__}" + (f" ({', '.join(parts)})" if parts else "")


def _rows(summary: "pd.DataFrame", prefix: str) -> list[str]:
    return [str(i) for i in summary.index if str(i) == prefix or str(i).startswith(prefix + "[")]


def _location_rows(summary: "pd.DataFrame") -> list[str]:
    return _rows(summary, "mu") or _rows(summary, "beta")


def prob_greater(post: Any, row: str, value: float = 0.0) -> float:
    """P(parameter > value) for a summary row such as ``mu``, ``beta[ablat]``, ``tau[prison]``."""
    with contextlib.suppress(Exception):
        return float(post.p_greater(row, value))
    # labels that the expression parser cannot read: take the draws directly
    var, _, label = row.partition("[")
    return float((post.draws(var, label[:-1] if label else None) > value).mean())


def frequentist_fits(data: "pd.DataFrame", spec: dict[str, Any]) -> dict[str, Any]:
    """metafor's estimators on the same data: FE, DL, REML, REML + Knapp-Hartung (or the 3-level REML)."""
    import bayesma as bm

    common = dict(sei=spec.get("sei"), data=data, labels=spec.get("labels"), mods=spec.get("mods"),
                  missing=spec.get("missing", "raise"))
    yi, vi = spec["yi"], spec.get("vi")
    if spec.get("cluster") is not None:
        return {"REML (3-level)": bm.rma(yi, vi, cluster=spec["cluster"], **common)}
    fits = {}
    for name, kwargs in (("FE", dict(method="FE")), ("DL", dict(method="DL")), ("REML", dict(method="REML")),
                         ("REML + KH", dict(method="REML", test="knha"))):
        fits[name] = bm.rma(yi, vi, **common, **kwargs)
    return fits


def frequentist_table(fits: dict[str, Any]) -> "pd.DataFrame":
    import numpy as np
    import pandas as pd

    rows = []
    for name, res in fits.items():
        for j, coef in enumerate(res.coef_names):
            tau2 = float(getattr(res, "tau2", np.nan)) if np.ndim(getattr(res, "tau2", np.nan)) == 0 else np.nan
            rows.append({
                "method": name, "coef": coef, "estimate": float(res.beta[j]), "se": float(res.se[j]),
                "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]), "pval": float(res.pval[j]),
                "tau": float(np.sqrt(tau2)) if np.isfinite(tau2) else np.nan,
                "I2": float(getattr(res, "I2", np.nan)) if j == 0 else np.nan,
            })
    df = pd.DataFrame(rows).set_index("method")
    if (df["coef"] == "intrcpt").all():
        df = df.drop(columns="coef")
    return df


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if abs(x) >= 10 ** -digits or x == 0 else f"{x:.2g}"


def _interval(lo: float, hi: float, digits: int = 2) -> str:
    return f"{_num(lo, digits)} to {_num(hi, digits)}"


def report_text(
    summary: "pd.DataFrame",
    *,
    k: int,
    priors: dict[str, Any],
    fits: dict[str, Any],
    p_greater: dict[str, float],
    measure: str | None = None,
    engine: str = "exact",
    engine_detail: str = "",
    diagnostics_text: str = "",
    prior_influence: "pd.DataFrame | None" = None,
    source: str = "",
    versions: str = "",
    files: Sequence[str] = (),
    n_clusters: int | None = None,
) -> str:
    """The report.md text: a paragraph a paper could use, then the numbers behind it.

    Parameters
    ----------
    summary : pandas.DataFrame
        Rows and columns of :meth:`bayesma.MetaPosterior.summary` (``median``,
        ``eti_lower``, ``eti_upper`` are used).
    k : int
        Number of studies (effects).
    priors : dict
        The priors of the fit (:mod:`bayesma.priors` objects).
    fits : dict
        :func:`bayesma.rma` results by method name (``"FE"``, ``"DL"``, ``"REML"``, ...).
    p_greater : dict
        P(parameter > 0) by summary row of the location parameters.
    measure : str, optional
        The effect measure, to name the effects and back-transform log ratios.
    engine, engine_detail, diagnostics_text : str
        How the posterior was computed, for the methods sentence.
    prior_influence : pandas.DataFrame, optional
        :meth:`bayesma.MetaPosterior.prior_influence`, to say how far the data moved the prior of tau.
    source, versions : str
        The data file (for the title) and the software versions.
    files : sequence of str
        The files written beside the report.
    n_clusters : int, optional
        Number of studies when the k effects are nested in them (three-level models).
    """
    import math

    key = (measure or "").upper()
    unit = MEASURE_NAMES.get(key, "effect sizes")
    loc = _location_rows(summary)
    taus = _rows(summary, "tau")
    taus_within = _rows(summary, "tau_within")
    new = _rows(summary, "theta_new")
    regression = bool(loc) and loc[0].startswith("beta")

    def est(row: str) -> str:
        r = summary.loc[row]
        return f"{_num(float(r['median']))} (95% CrI {_interval(float(r['eti_lower']), float(r['eti_upper']))})"

    model_kind = "meta-regression" if regression else "random-effects meta-analysis"
    if taus_within:
        model_kind = "three-level " + model_kind
    if not taus:
        model_kind = "common-effect " + ("meta-regression" if regression else "meta-analysis")
    how = ("computing the posterior exactly by numerical integration over the heterogeneity"
           if engine == "exact" else "sampling the posterior with the No-U-Turn sampler (PyMC)")
    of_clusters = f" from {n_clusters} studies" if n_clusters else ""
    parts = [f"We fitted a Bayesian {model_kind} to k = {k} {unit}{of_clusters} with {versions or 'bayesma'}, "
             f"{how}{f' ({engine_detail})' if engine_detail else ''}."]
    parts.append(_priors_sentence(priors, key))
    if not regression and loc:
        row = loc[0]
        sentence = f"The pooled effect (posterior median) was {est(row)}"
        if row in p_greater:
            sentence += f", with a posterior probability {_prob_words(p_greater[row])} that it is greater than zero"
        parts.append(sentence + ".")
        if key in LOG_MEASURES:
            r = summary.loc[row]
            name = LOG_MEASURES[key]
            parts.append(
                f"As {'an' if name[0] in 'aeiou' else 'a'} {name}, this is {_num(math.exp(float(r['median'])))} "
                f"(95% CrI {_interval(math.exp(float(r['eti_lower'])), math.exp(float(r['eti_upper'])))})."
            )
    elif regression:
        coefs = []
        for row in loc:
            text = f"{row} = {est(row)}"
            if row in p_greater:
                text += f", P(> 0) {_prob_rel(p_greater[row])}"
            coefs.append(text)
        parts.append("The meta-regression coefficients (posterior medians) were " + "; ".join(coefs) + ".")
    if len(taus) == 1:
        parts.append(f"The between-study standard deviation tau was {est(taus[0])}.")
    elif taus:
        parts.append("The between-study standard deviations were " + "; ".join(f"{t} = {est(t)}" for t in taus) + ".")
    if taus_within:
        parts.append(f"The within-study (between-effect) standard deviation was {est(taus_within[0])}.")
    if prior_influence is not None and "tau" in getattr(prior_influence, "index", []):
        ratio = float(prior_influence.loc["tau", "ratio"])
        if math.isfinite(ratio):
            parts.append(f"The 95% posterior interval of tau was {ratio:.0%} as wide as the prior's"
                         + (", so the prior, not the data, determines it." if ratio > 0.8 else "."))
    if new:
        lab = "a new study" if not regression else "a new study at the mean moderator values"
        texts = [f"{_interval(float(summary.loc[r, 'eti_lower']), float(summary.loc[r, 'eti_upper']))}"
                 + (f" ({r})" if len(new) > 1 else "") for r in new]
        parts.append(f"The 95% predictive interval for the true effect in {lab} was {'; '.join(texts)}.")
    freq = []
    for name, res in fits.items():
        tau2 = getattr(res, "tau2", float("nan"))
        tau = math.sqrt(tau2) if isinstance(tau2, (int, float)) and math.isfinite(tau2) else float("nan")
        if regression:
            coefs = ", ".join(
                f"{c} {_num(float(res.beta[j]))} ({_interval(float(res.ci_lb[j]), float(res.ci_ub[j]))})"
                for j, c in enumerate(res.coef_names))
            text = f"{name}: {coefs} (95% CIs"
        else:
            text = f"{name} {_num(float(res.beta[0]))} (95% CI {_interval(float(res.ci_lb[0]), float(res.ci_ub[0]))}"
        sigma = getattr(res, "sigma", None)
        if sigma is not None and len(sigma) == 2:
            text += f"; tau = {_num(float(sigma[0]))}, tau_within = {_num(float(sigma[1]))}"
        elif name != "FE" and math.isfinite(tau):
            text += f"; tau = {_num(tau)}"
        if name in ("REML", "DL") and isinstance(getattr(res, "I2", None), float):
            text += f", I² = {res.I2:.0f}%"
        freq.append(text + ")")
    if freq:
        what = "coefficients" if regression else "estimates"
        legend = {"FE": "common effect", "DL": "DerSimonian-Laird", "REML": "restricted maximum likelihood",
                  "KH": "Knapp-Hartung adjustment"}
        used = [f"{abbr}: {meaning}" for abbr, meaning in legend.items()
                if any(abbr in re.split(r"[\s+()]+", name) for name in fits)]
        parts.append("For comparison, the frequentist " + what + " were: " + "; ".join(freq)
                     + (f" ({'; '.join(used)})" if used else "") + ".")
    if k < 5 and taus:
        parts.append(f"With only k = {k} studies the data say little about tau, so its prior shapes the credible "
                     "interval; results under other priors should be reported beside these (bayesma priors).")

    title = "# Bayesian meta-analysis" + (f": {source}" if source else "")
    lines = [title, "", " ".join(parts), ""]
    if diagnostics_text:
        lines += ["Sampling diagnostics: " + diagnostics_text, ""]
    lines += ["## Posterior summary", ""]
    keep = [r for r in loc + taus + taus_within + new if r in summary.index]
    cols = [c for c in ("mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk")
            if c in summary.columns and summary[c].notna().any()]
    lines += _markdown_table(summary.loc[keep, cols])
    if fits:
        lines += ["", "## Frequentist estimates", ""]
        lines += _markdown_table(frequentist_table(fits))
    from bayesma import priors as pr

    lines += ["", "## Priors", "", "```", pr.describe(priors), "```"]
    if files:
        lines += ["", "## Files", ""] + [f"- `{f}`" for f in files]
    return "\n".join(lines) + "\n"


def _priors_sentence(priors: dict[str, Any], measure_key: str) -> str:
    """``Priors: mu ~ Normal(mu=0, sigma=8); tau ~ HalfNormal(sigma=0.5) (prior median of tau 0.34, ...).``"""
    texts, defaults = [], False
    for name, prior in priors.items():
        text = f"{name} ~ {prior!r}"
        if getattr(prior, "target", None) == "tau2":
            text += " on tau²"
        if getattr(prior, "is_heterogeneity", False):
            with contextlib.suppress(Exception):
                lo, med, hi = (float(v) for v in prior.ppf_tau([0.025, 0.5, 0.975]))
                text += f" (prior median of {name} {med:.2g}, 95% prior interval {lo:.2g} to {hi:.2g})"
        label = str(getattr(prior, "label", "") or "")
        if label.startswith("default"):
            defaults = True
        elif label:
            text += f" [{label}]"
        texts.append(text)
    sentence = "Priors: " + "; ".join(texts) + "."
    if defaults:
        what = MEASURE_NAMES.get(measure_key)
        if what and "fallback" not in " ".join(str(getattr(p, "label", "")) for p in priors.values()):
            sentence += (f" These are bayesma's defaults for {what}: a half-normal prior on tau with scale a quarter "
                         "of the unit-information standard deviation (Röver et al. 2021; Friede et al. 2017) and a "
                         "wide normal prior on the effect.")
        else:
            sentence += (" No effect measure was given, so default priors were scaled to the data (a weakly "
                         "informative fallback); state them, or choose priors on the outcome's scale.")
    return sentence


def _prob_text(p: float) -> str:
    if p > 0.999:
        return "> 0.999"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def _prob_rel(p: float) -> str:
    """``= 0.034``, ``> 0.999`` or ``< 0.001``: to follow ``P(...)``."""
    text = _prob_text(p)
    return text if text[0] in "<>" else f"= {text}"


def _prob_words(p: float) -> str:
    """``of 0.980``, ``above 0.999`` or ``below 0.001``: to follow "a posterior probability"."""
    if p > 0.999:
        return "above 0.999"
    if p < 0.001:
        return "below 0.001"
    return f"of {p:.3f}"


def _markdown_table(df: "pd.DataFrame") -> list[str]:
    header, rows, numeric = _table_rows(df)
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _diagnostics_text(post: Any) -> str:
    try:
        diag = post.diagnostics()
    except Exception:  # noqa: BLE001 - diagnostics are informative only
        return ""
    if hasattr(diag, "line"):
        return str(diag.line())
    if isinstance(diag, dict):
        return ", ".join(f"{k} = {_fmt_value(v, k)}" for k, v in diag.items())
    return str(diag)


def run_fit(
    model: Any,
    data: "pd.DataFrame",
    spec: dict[str, Any],
    out: Path,
    *,
    engine: str = "exact",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = 1,
    source: str = "",
    progress: Progress | None = None,
    show_studies: bool | None = None,
) -> dict[str, Path]:
    """Fit *model*, print the tables, write summary.csv, forest.png, posterior.nc, report.md into *out*."""
    progress = progress or Progress(3)
    make_dir(out)
    say(f"\n{model.spec.describe()}" if hasattr(model, "spec") else "")
    say("Priors:")
    from bayesma import priors as pr

    for line in pr.describe(model.priors).splitlines():
        say("  " + line)
    say()

    with progress.step(f"fitting the Bayesian model ({engine} engine"
                       + (f", {chains} chains x {draws} draws" if engine == "nuts" else "") + ")"):
        post = model.fit(engine=engine, draws=draws, tune=tune, chains=chains, seed=seed,
                         **({"progressbar": _isatty(sys.stderr)} if engine == "nuts" else {}))
    with progress.step("frequentist check (FE, DL, REML, Knapp-Hartung)"):
        fits = frequentist_fits(data, spec)

    summary = post.summary()
    k = int(model.k)
    if show_studies is None:
        show_studies = k <= 25
    rows = [r for r in summary.index if show_studies or not str(r).startswith("theta[")]
    cols = [c for c in ("mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail")
            if c in summary.columns and not (engine == "exact" and c in ("r_hat", "ess_bulk", "ess_tail")
                                             and summary[c].isna().all())]
    say()
    print_table(summary.loc[rows, cols], title=f"Posterior summary (k = {k}; 95% equal-tailed intervals)")
    if not show_studies:
        say(f"(the {k} study rows theta[...] are in {out / 'summary.csv'})\n")
    check = None
    with contextlib.suppress(Exception):
        check = post.compare_frequentist()
    if check is None:
        check = frequentist_table(fits)
    print_table(check, title="Frequentist check (metafor's estimators on the same data)")

    loc = _location_rows(summary)
    p_gt = {row: prob_greater(post, row, 0.0) for row in loc}
    for row, p in p_gt.items():
        say(f"P({row} > 0) {_prob_rel(p)}")
    diag = _diagnostics_text(post) if engine == "nuts" else ""
    if diag:
        say(f"Diagnostics: {diag}")

    influence = None
    with contextlib.suppress(Exception):
        influence = post.prior_influence()
    paths = {name: out / name for name in ("summary.csv", "forest.png", "posterior.nc", "report.md")}
    with about(out), progress.step(f"writing files to {out}"):
        summary.to_csv(paths["summary.csv"], index_label="parameter")
        fig = post.forest()
        fig.savefig(paths["forest.png"], dpi=150, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
        if paths["posterior.nc"].exists():
            paths["posterior.nc"].unlink()
        post.to_netcdf(str(paths["posterior.nc"]))
        detail = ""
        if engine == "nuts":
            detail = f"{chains} chains of {draws} draws after {tune} tuning steps"
        else:
            n = getattr(post, "n_draws", None) or draws * chains
            detail = f"{int(n)} independent posterior draws for the plots"
        text = report_text(
            summary, k=k, priors=model.priors, fits=fits, p_greater=p_gt,
            measure=spec.get("measure"), engine=engine, engine_detail=detail, diagnostics_text=diag,
            prior_influence=influence,
            n_clusters=len(model.spec.cluster_names) or None if hasattr(model, "spec") else None,
            source=source, versions=_version_line(), files=[p.name for p in paths.values()],
        )
        paths["report.md"].write_text(text, encoding="utf-8")
    return paths


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _model_spec_args(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "yi": args.yi, "vi": args.vi, "sei": args.sei, "labels": args.labels,
        "mods": getattr(args, "mods", None), "cluster": getattr(args, "cluster", None),
        "tau_by": getattr(args, "tau_by", None), "measure": _measure(args.measure),
        "missing": getattr(args, "missing", "raise"),
    }


def _measure(m: str | None) -> str | None:
    return m.strip().upper() if isinstance(m, str) and m.strip() else None


def _column_options(spec: dict[str, Any]) -> dict[str, Any]:
    wanted = {"--yi": spec["yi"], "--vi": spec.get("vi"), "--sei": spec.get("sei"),
              "--labels": spec.get("labels"), "--cluster": spec.get("cluster"), "--tau-by": spec.get("tau_by")}
    for col in _formula_columns(spec.get("mods")):
        wanted.setdefault(f"--mods ({col})", col)
    return wanted


def _load_for_model(args: argparse.Namespace) -> tuple["pd.DataFrame", dict[str, Any]]:
    spec = _model_spec_args(args)
    if spec["vi"] is None and spec["sei"] is None:
        raise InputError("give the sampling variances with --vi COL or the standard errors with --sei COL")
    with about(args.file):
        df = read_table(args.file, sheet=getattr(args, "sheet", None))
        check_columns(df, _column_options(spec))
    return df, spec


def _build_model(df: "pd.DataFrame", spec: dict[str, Any], priors: dict[str, Any], source: str):
    import bayesma as bm

    with about(source):
        return bm.MetaAnalysis(df, yi=spec["yi"], vi=spec["vi"], sei=spec["sei"], labels=spec["labels"],
                               mods=spec["mods"], tau_by=spec["tau_by"], cluster=spec["cluster"],
                               priors=priors or None, measure=spec["measure"], missing=spec["missing"])


def _priors_from_args(args: argparse.Namespace) -> dict[str, Any]:
    out = {}
    tau = _parse_prior(getattr(args, "tau_prior", None), "--tau-prior", ("tau", "tau2"))
    mu = _parse_prior(getattr(args, "mu_prior", None), "--mu-prior", ("location",))
    if tau is not None:
        out["tau"] = tau
    if mu is not None:
        out["mu"] = mu
    return out


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------


def cmd_fit(args: argparse.Namespace) -> int:
    priors = _priors_from_args(args)
    df, spec = _load_for_model(args)
    model = _build_model(df, spec, priors, args.file)
    out = Path(args.out)
    with about(args.file):
        paths = run_fit(model, df, spec, out, engine=args.engine, draws=args.draws, tune=args.tune,
                        chains=args.chains, seed=args.seed, source=Path(args.file).name, progress=Progress(3))
    say(f"\nWrote {', '.join(p.name for p in paths.values())} to {out}/")
    return EXIT_OK


def cmd_escalc(args: argparse.Namespace) -> int:
    import bayesma as bm

    measure = args.measure.strip().upper()
    given = {name: getattr(args, name) for name in ESCALC_ARGS if getattr(args, name) is not None}
    if not given:
        raise InputError(f"name the columns that hold the study data, e.g. --ai COL --bi COL --ci COL --di COL "
                         f"for measure {measure}")
    with about(args.file):
        df = read_table(args.file, sheet=args.sheet)
        check_columns(df, {f"--{k}": v for k, v in {**given, "slab": args.slab}.items()})
        es = bm.escalc(measure, data=df, slab=args.slab, add=args.add, to=args.to, vtype=args.vtype,
                       var_names=(args.yi_name, args.vi_name), **given)
    if args.out in (None, "-"):
        es.to_csv(sys.stdout, index=False)
        print(f"{PROG}: added {args.yi_name} and {args.vi_name} ({MEASURE_NAMES.get(measure, measure)}) "
              f"for {len(es)} studies", file=sys.stderr)
        return EXIT_OK
    out = Path(args.out)
    with about(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() in EXCEL_SUFFIXES:
            es.to_excel(out, index=False)
        else:
            es.to_csv(out, index=False)
    n_missing = int(es[args.yi_name].isna().sum())
    say(f"Added {args.yi_name} and {args.vi_name} ({MEASURE_NAMES.get(measure, measure)}) for {len(es)} studies "
        f"to {out}" + (f"; {n_missing} studies have no effect size (see the warnings)" if n_missing else ""))
    say(f"Next: {PROG} fit {out} --yi {args.yi_name} --vi {args.vi_name} --measure {measure}"
        + (f" --labels {args.slab}" if args.slab else ""))
    return EXIT_OK


def default_tau_priors(measure: str | None, yi: Any, vi: Any) -> dict[str, Any]:
    """A standard set of heterogeneity priors for a sensitivity analysis, scaled to the measure."""
    from bayesma import priors as pr

    base = pr.default_priors(measure, yi=yi, vi=vi)["tau"]
    s = float(base.params["sigma"])

    def r(x: float) -> float:
        return float(f"{x:.3g}")

    out = {
        f"HalfNormal({r(s):g}) (default)": pr.HalfNormal(r(s)),
        f"HalfNormal({r(2 * s):g}) (wider)": pr.HalfNormal(r(2 * s)),
        f"HalfCauchy({r(s):g})": pr.HalfCauchy(r(s)),
        f"Uniform(0, {r(8 * s):g})": pr.Uniform(r(8 * s)),
    }
    key = (measure or "").upper()
    if key == "OR":
        out["Turner 2015 (general)"] = pr.turner2015()
    if key in ("SMD", "SMDH"):
        out["Rhodes 2015 (general)"] = pr.rhodes2015()
    return out


def _labelled_priors(specs: Sequence[str] | None, option: str, target: tuple[str, ...]) -> dict[str, Any] | None:
    if not specs:
        return None
    out: dict[str, Any] = {}
    for spec in specs:
        label, text = _split_labelled(spec)
        prior = _parse_prior(text, option, target)
        out[label or repr(prior)] = prior
    return out


def _save_fig(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    if hasattr(fig, "savefig"):
        fig.savefig(path, dpi=150, bbox_inches="tight")
        plt.close(fig)
    elif hasattr(fig, "figure"):  # an Axes
        fig.figure.savefig(path, dpi=150, bbox_inches="tight")
        plt.close(fig.figure)
    else:  # pragma: no cover
        raise TypeError(f"cannot save a plot of type {type(fig).__name__}")


def cmd_priors(args: argparse.Namespace) -> int:
    import bayesma as bm

    tau_priors = _labelled_priors(args.tau_prior, "--tau-prior", ("tau", "tau2"))
    mu_priors = _labelled_priors(args.mu_prior, "--mu-prior", ("location",))
    df, spec = _load_for_model(args)
    model = _build_model(df, spec, {}, args.file)  # validates the data, names bad studies
    if tau_priors is None:
        tau_priors = default_tau_priors(spec["measure"], model.spec.yi, model.spec.vi)
        say("No --tau-prior given: comparing a standard set of heterogeneity priors.")
    out = Path(args.out)
    make_dir(out)
    progress = Progress(2)
    with about(args.file), progress.step(f"fitting {len(tau_priors) * len(mu_priors or {0: 0})} models "
                                         f"({args.engine} engine)"):
        cmp = bm.compare_priors(
            data=model.spec.meta.data, yi=spec["yi"], vi=spec["vi"], sei=spec["sei"], labels=spec["labels"],
            tau_priors=tau_priors, mu_priors=mu_priors, engine=args.engine, measure=spec["measure"],
            seed=args.seed, mods=spec["mods"],
        )
    table = cmp.table
    shown = table.drop(columns=[c for c in ("mu_prior", "tau_prior") if c in table and table[c].nunique() <= 1
                                or (c == "tau_prior" and (table.index == table[c]).all())])
    print_table(shown, title=f"Prior comparison (k = {model.k}; 95% intervals; full table in priors.csv)")
    with about(out), progress.step(f"writing files to {out}"):
        table.to_csv(out / "priors.csv")
        _save_fig(cmp.plot(), out / "priors.png")
    say(f"\nWrote priors.csv, priors.png to {out}/")
    return EXIT_OK


def _design_taus(vi: Any) -> list[float]:
    """Heterogeneity values for the simulation: none, moderate and substantial relative to a typical study."""
    import numpy as np

    s = float(np.sqrt(np.median(np.asarray(vi, dtype=float))))
    return [0.0, float(f"{0.5 * s:.2g}"), float(f"{s:.2g}")]


def cmd_smallk(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    import bayesma as bm

    priors = _priors_from_args(args)
    df, spec = _load_for_model(args)
    model = _build_model(df, spec, priors, args.file)
    out = Path(args.out)
    make_dir(out)
    ks = _parse_list(args.k, "--k", int) or sorted({2, 3, 5, min(int(model.k), 10)})
    taus = _parse_list(args.tau, "--tau", float) or _design_taus(model.spec.vi)
    progress = Progress(3)
    with about(args.file), progress.step(f"leave-one-out: {model.k} refits without one study each"):
        loo = bm.leave_one_out(
            data=model.spec.meta.data, yi=spec["yi"], vi=spec["vi"], sei=spec["sei"], labels=spec["labels"],
            priors=model.priors, engine="exact", measure=spec["measure"],
        )
    loo_table = loo.table
    print_table(loo_table, title="Leave-one-out (each row: the fit without that study)")
    mu = float(bm.rma(model.spec.yi, model.spec.vi, method="REML").beta[0])
    executor = None
    if args.jobs and args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=args.jobs)
    try:
        with about(args.file), progress.step(
            f"simulating {args.n_sim} meta-analyses for each k in {ks} and tau in {taus} "
            f"(mu = {mu:.3g}, within-study variances resampled from the data)"
        ):
            sim = bm.small_k_simulation(
                k=ks, tau=taus, mu=mu, n_sim=args.n_sim, seed=args.seed,
                priors={"tau": model.priors["tau"], "mu": model.priors["mu"]}, vi=np.asarray(model.spec.vi),
                executor=executor, progress=_isatty(sys.stderr),
            )
    finally:
        if executor is not None:
            executor.shutdown()
    sim_table = sim.table
    for column, what in (("coverage_mu", "coverage of the 95% intervals for mu (nominal 0.95)"),
                         ("width_mu", "mean width of the 95% intervals for mu")):
        if column in sim_table.columns and isinstance(sim_table.index, pd.MultiIndex):
            wide = sim_table[column].unstack(level=-1)
            wide.columns.name = None
            print_table(wide, title=f"Small-k simulation: {what}")
    if not isinstance(sim_table.index, pd.MultiIndex):
        print_table(sim_table, title="Small-k simulation")
    say(f"(bias, RMSE and the intervals for tau: {out / 'smallk_simulation.csv'})")
    with about(out), progress.step(f"writing files to {out}"):
        loo_table.to_csv(out / "leave_one_out.csv")
        sim_table.to_csv(out / "smallk_simulation.csv")
        _save_fig(loo.plot(), out / "leave_one_out.png")
        _save_fig(sim.plot(), out / "smallk_simulation.png")
        written = ["leave_one_out.csv", "smallk_simulation.csv", "leave_one_out.png", "smallk_simulation.png"]
    say(f"\nWrote {', '.join(written)} to {out}/")
    return EXIT_OK


def demo_data() -> "pd.DataFrame":
    """dat.landenberger2005 with log odds ratios (positive: fewer recidivists after CBT) and unique labels."""
    import bayesma as bm

    dat = bm.load_dataset(DEMO_DATASET)
    dup = dat.groupby("study").cumcount()
    many = dat["study"].duplicated(keep=False)
    dat.insert(0, "label", [f"{s} {'abcdefgh'[i]}" if m else s for s, i, m in zip(dat["study"], dup, many)])
    es = bm.escalc("OR", ai="n.cbt.non", bi="n.cbt.rec", ci="n.ctrl.non", di="n.ctrl.rec", data=dat, slab="label")
    return es


def cmd_demo(args: argparse.Namespace) -> int:
    import bayesma as bm
    from bayesma.datasets import dataset_info

    out = Path(args.out)
    make_dir(out)
    info = dataset_info(DEMO_DATASET)
    say(f"bayesma demo: {info['title']}")
    say(f"Data: {info['citation']}")
    say("Effect: log odds ratio of NOT reoffending, CBT vs control (> 0 means CBT reduces recidivism).\n")
    progress = Progress(6)
    with progress.step("computing log odds ratios with escalc('OR', ...)"):
        es = demo_data()
        es.to_csv(out / "landenberger2005_effects.csv", index=False)
    say(f"k = {len(es)} studies; effects written to {out / 'landenberger2005_effects.csv'}\n")

    with progress.step("frequentist random-effects model (REML) and subgroups by setting"):
        res = bm.rma("yi", "vi", data=es, labels="label")
        sg = bm.subgroup("yi", "vi", by="setting", data=es, labels="label")
    say(f"REML: estimate {res.beta[0]:.3f} (95% CI {res.ci_lb[0]:.3f} to {res.ci_ub[0]:.3f}), "
        f"tau = {res.tau:.3f}, Q({res.k - 1}) = {res.QE:.1f}, p {'< .0001' if res.QEp < 1e-4 else f'= {res.QEp:.4f}'}, "
        f"I² = {res.I2:.1f}%")
    print_table(sg.table[["k", "estimate", "se", "ci_lb", "ci_ub", "tau2", "I2"]],
                title="Subgroups by treatment setting (REML within each)")
    say(f"Test for subgroup differences: Q = {sg.Q_between:.2f}, df = {sg.Q_between_df}, "
        f"p = {sg.Q_between_p:.4f}\n")
    sg.table.to_csv(out / "subgroups_frequentist.csv")

    spec = {"yi": "yi", "vi": "vi", "labels": "label", "measure": "OR", "missing": "raise"}
    model = bm.MetaAnalysis(es, yi="yi", vi="vi", labels="label", measure="OR")
    fit_progress = Progress(6)
    fit_progress.i = progress.i
    paths = run_fit(model, es, spec, out, engine=args.engine, draws=args.draws, tune=args.tune,
                    chains=args.chains, seed=args.seed, source=DEMO_DATASET,
                    progress=fit_progress, show_studies=False)
    progress.i = fit_progress.i

    with progress.step("Bayesian meta-regression on setting (community vs prison)"):
        reg = bm.MetaAnalysis(es, yi="yi", vi="vi", labels="label", mods="~ setting", measure="OR")
        post_reg = reg.fit(engine=args.engine, draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)
        reg_sum = post_reg.summary()
    rows = _location_rows(reg_sum) + _rows(reg_sum, "tau")
    print_table(reg_sum.loc[rows, ["mean", "median", "eti_lower", "eti_upper"]],
                title="Bayesian meta-regression: yi ~ setting")
    slope = [r for r in _location_rows(reg_sum) if "prison" in r]
    if slope:
        p = prob_greater(post_reg, slope[0], 0.0)
        say(f"P(prison programmes have a larger effect than community ones) {_prob_rel(p)}")
    reg_sum.to_csv(out / "metaregression_setting.csv", index_label="parameter")

    files = sorted(p.name for p in out.iterdir() if p.is_file())
    say(f"\nDone. The files are in {out.resolve()}:")
    for name in files:
        say(f"  {out / name}")
    say(f"\nRead {out / 'report.md'} for a paragraph to adapt for a paper, and open {out / 'forest.png'}.")
    say(f"Your own data: {PROG} fit studies.csv --yi yi --vi vi --labels study --measure SMD")
    return EXIT_OK


# ---------------------------------------------------------------------------
# the parser
# ---------------------------------------------------------------------------


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions; shows defaults that mean something (not None or False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("%(default)" not in text and action.option_strings
                and action.default not in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the full traceback on errors")


def _add_data_options(p: argparse.ArgumentParser, model_options: bool = True) -> None:
    p.add_argument("file", metavar="FILE", help="CSV (comma, semicolon or tab separated) or Excel (.xlsx) file")
    p.add_argument("--yi", required=True, metavar="COL", help="column with the effect sizes")
    var = p.add_mutually_exclusive_group()
    var.add_argument("--vi", metavar="COL", help="column with the sampling variances")
    var.add_argument("--sei", metavar="COL", help="column with the standard errors (instead of --vi)")
    p.add_argument("--labels", metavar="COL",
                   help="column with (unique) study labels; default: a 'study' column if there is one")
    p.add_argument("--measure", metavar="NAME",
                   help="effect measure (OR, RR, SMD, ZCOR, ...), to choose the default priors")
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)")
    p.add_argument("--missing", choices=("raise", "drop"), default="raise",
                   help="studies with a missing value: an error, or left out with a warning")
    if model_options:
        p.add_argument("--tau-prior", metavar="SPEC", help='prior on tau, e.g. "halfnormal(0.5)" or '
                       '"turner2015()" (default: by measure)')
        p.add_argument("--mu-prior", metavar="SPEC", help='prior on the pooled effect, e.g. "normal(0, 1)"')


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``bayesma`` command."""
    from bayesma import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Bayesian meta-analysis, checked against metafor's frequentist estimates.",
        epilog=(
            "examples:\n"
            "  bayesma demo\n"
            "  bayesma escalc OR trials.csv --ai tpos --bi tneg --ci cpos --di cneg --out effects.csv\n"
            "  bayesma fit effects.csv --yi yi --vi vi --labels study --measure OR\n"
            '  bayesma priors effects.csv --yi yi --vi vi --tau-prior "halfnormal(0.5)" '
            '--tau-prior "halfcauchy(0.5)"\n'
            "  bayesma smallk effects.csv --yi yi --vi vi --k 2,3,5 --n-sim 500\n\n"
            "Run 'bayesma COMMAND --help' for the options of a command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", default=False, help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("fit", help="fit a Bayesian meta-analysis and write summary, plot, posterior, report",
                       formatter_class=_Formatter,
                       description="Fit a Bayesian meta-analysis of FILE; print the posterior summary and the "
                                   "frequentist check; write summary.csv, forest.png, posterior.nc and report.md "
                                   "into --out.")
    _add_data_options(p)
    p.add_argument("--mods", metavar="FORMULA", help='moderator formula, e.g. "~ ablat + year" (meta-regression)')
    p.add_argument("--cluster", metavar="COL", help="column of study ids for several effects per study (three levels)")
    p.add_argument("--tau-by", metavar="COL", help="column of a categorical moderator: a separate tau per subgroup")
    p.add_argument("--engine", choices=("exact", "nuts"), default="nuts",
                   help="exact: numerical integration (normal models, milliseconds); nuts: MCMC with PyMC")
    p.add_argument("--draws", type=int, default=1000, help="posterior draws per chain")
    p.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (nuts)")
    p.add_argument("--chains", type=int, default=4, help="chains")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    _add_common(p)
    p.set_defaults(handler=cmd_fit)

    p = sub.add_parser("escalc", help="compute effect sizes (yi) and sampling variances (vi)",
                       formatter_class=_Formatter,
                       description="Add effect sizes and their sampling variances to FILE (metafor's escalc). "
                                   "Measures: SMD, MD, ROM (means and SDs); OR, RR, RD (2x2 tables); "
                                   "COR, ZCOR (correlations); PR, PLO (proportions).")
    p.add_argument("measure", metavar="MEASURE", help="effect measure, e.g. OR, RR, SMD, ZCOR")
    p.add_argument("file", metavar="FILE", help="CSV or Excel file with one row per study")
    group = p.add_argument_group("study data (column names)")
    helps = {"ai": "events, group 1", "bi": "non-events, group 1", "ci": "events, group 2",
             "di": "non-events, group 2", "n1i": "size of group 1", "n2i": "size of group 2",
             "m1i": "mean, group 1", "sd1i": "SD, group 1", "m2i": "mean, group 2", "sd2i": "SD, group 2",
             "ri": "correlation", "ni": "sample size", "xi": "events (proportions)", "mi": "non-events (proportions)"}
    for name in ESCALC_ARGS:
        group.add_argument(f"--{name}", metavar="COL", help=helps[name])
    p.add_argument("--slab", metavar="COL", help="study labels (used in messages)")
    p.add_argument("--add", type=float, default=0.5, help="added to the cells of studies with a zero cell")
    p.add_argument("--to", default="only0", choices=("only0", "all", "if0all", "none"), help="which studies get --add")
    p.add_argument("--vtype", default="LS", help="sampling variance estimator (metafor's names)")
    p.add_argument("--yi-name", default="yi", help="name of the new effect column")
    p.add_argument("--vi-name", default="vi", help="name of the new variance column")
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)")
    p.add_argument("--out", metavar="FILE", help="output CSV or .xlsx (default: CSV on standard output)")
    _add_common(p)
    p.set_defaults(handler=cmd_escalc)

    p = sub.add_parser("priors", help="compare heterogeneity priors: table and plot",
                       formatter_class=_Formatter,
                       description="Fit the random-effects model under several priors and tabulate how the "
                                   "pooled effect, tau and the predictive interval change. Each --tau-prior is "
                                   'a spec such as "halfnormal(0.5)", optionally labelled: "wide=halfnormal(1)". '
                                   "Without --tau-prior a standard set scaled to the measure is used.")
    _add_data_options(p, model_options=False)
    p.add_argument("--tau-prior", metavar="SPEC", action="append", help="a heterogeneity prior (repeat the option)")
    p.add_argument("--mu-prior", metavar="SPEC", action="append", help="a prior on the pooled effect (repeatable)")
    p.add_argument("--engine", choices=("exact", "nuts"), default="exact", help="fitting engine")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    _add_common(p)
    p.set_defaults(handler=cmd_priors)

    p = sub.add_parser("smallk", help="leave-one-out and a small-k simulation for your design",
                       formatter_class=_Formatter,
                       description="How much do conclusions depend on single studies, and how do the Bayesian and "
                                   "frequentist intervals behave with as few studies as yours? Leave-one-out on "
                                   "FILE, then a simulation with within-study variances drawn from FILE.")
    _add_data_options(p)
    p.add_argument("--k", metavar="LIST", help="numbers of studies to simulate (default: 2,3,5 and yours up to 10)")
    p.add_argument("--tau", metavar="LIST",
                   help="true tau values (default: 0, half and one typical within-study SE)")
    p.add_argument("--n-sim", type=int, default=1000, help="simulated meta-analyses per setting")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for the simulation")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    _add_common(p)
    p.set_defaults(handler=cmd_smallk)

    p = sub.add_parser("demo", help="the whole workflow on a bundled forensic data set",
                       formatter_class=_Formatter,
                       description="CBT for offenders (Landenberger & Lipsey 2005, k = 58): log odds ratios, "
                                   "frequentist random effects and subgroups, Bayesian random effects with the "
                                   "frequentist check, a meta-regression on the treatment setting, a forest plot "
                                   "and a report.")
    p.add_argument("--out", metavar="DIR", default="bayesma-demo", help="output directory")
    p.add_argument("--engine", choices=("exact", "nuts"), default="exact", help="fitting engine")
    p.add_argument("--draws", type=int, default=1000, help="posterior draws per chain")
    p.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (nuts)")
    p.add_argument("--chains", type=int, default=4, help="chains")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    _add_common(p)
    p.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bayesma`` command; returns the exit code (0 ok, 2 bad input, 1 other failure)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_INPUT
    debug = bool(getattr(args, "debug", False))
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_INPUT
    try:
        with user_warnings(debug):
            return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except INPUT_ERRORS as exc:
        if debug:
            raise
        _error(one_line(exc))
        return EXIT_INPUT
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback without --debug
        if debug:
            raise
        _error(f"{type(exc).__name__}: {one_line(exc)} (run again with --debug for the traceback)")
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
