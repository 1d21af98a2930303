"""Reading a saved posterior back: :func:`load_posterior`."""

from __future__ import annotations

from bayesma.posterior.engines import restore

from .io import read_posterior
from .posterior import MetaPosterior

__all__ = ["load_posterior"]


def load_posterior(path: str) -> MetaPosterior:
    """Load a posterior saved with :meth:`MetaPosterior.to_netcdf`.

    The whole model specification is restored from the file (data, design matrix, subgroup and
    cluster structure, the dependence of a CHE or multivariate model, a scale design, a bias
    component, counts, and the priors rebuilt from their arguments), so every model family reads
    back as itself; for the exact engine the exact posterior is integrated again (deterministic:
    the same numbers), so summaries at any level and probabilities stay exact.

    Parameters
    ----------
    path : str or path-like
        The netCDF file written by :meth:`MetaPosterior.to_netcdf`.

    Returns
    -------
    MetaPosterior
        The posterior, with its ``fit_info``.

    Examples
    --------
    >>> import os, tempfile
    >>> path = post.to_netcdf(os.path.join(tempfile.mkdtemp(), "bcg.nc"))   # post: a fitted MetaPosterior
    >>> again = bm.load_posterior(path)
    >>> again.engine, again.prob("mu < 0") == post.prob("mu < 0")
    ('exact', True)
    """
    parts = read_posterior(path)
    source = restore(parts["engine"], parts["idata"], parts["spec"])
    return MetaPosterior(source, parts["spec"], fit_seconds=parts["fit_seconds"], fit_info=parts["fit_info"])
