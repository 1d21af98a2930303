"""Bayesian model-averaged meta-analysis and meta-regression without publication bias (RoBMA's ``BMA()``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from bayesma._validate import label_alias
from bayesma.bias.ensemble import robma
from bayesma.bias.result import RoBMAResult

__all__ = ["bma"]


@label_alias
def bma(data: pd.DataFrame | None = None, yi: Any = None, vi: Any = None, *, sei: Any = None,
        measure: str | None = None, d: Any = None, r: Any = None, z: Any = None, logOR: Any = None, OR: Any = None,
        y: Any = None, se: Any = None, n: Any = None, t: Any = None, output_scale: str | None = None,
        transformation: str = "robma", priors: Mapping[str, Any] | None = None, mods: Any = None,
        cluster: Any = None, slab: Any = None, draws: int = 2048, replicates: int = 8,
        seed: int | None = 1) -> RoBMAResult:
    """Bayesian model averaging over effect, heterogeneity and moderators (no bias models).

    The ensemble of :func:`bayesma.robma` without publication-bias components: the four
    models of effect (mu = 0 or mu ~ prior) x heterogeneity (tau = 0 or tau ~ prior),
    crossed with every subset of the moderators (``mods=``: 2^m times as many models)
    and optionally multilevel (``cluster=``), as RoBMA's ``BMA(mods=)``.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        Holds the columns named by the other arguments.
    yi, vi : str or array-like
        Effect sizes and their sampling variances (or ``sei=``).
    sei : str or array-like, optional
        Standard errors, instead of *vi*.
    measure : str, optional
        As :func:`bayesma.robma` (default: ``data.attrs["measure"]`` from :func:`bayesma.escalc`, else
        ``"SMD"``).
    d, r, z, logOR, OR, y, se, n, t : str or array-like, optional
        The inputs of :func:`bayesma.robma` (RoBMA's ``d``, ``r`` with ``n``, ``y`` with ``se``, ...).
    output_scale : str, optional
        Scale of the estimates (as :func:`bayesma.robma`).
    transformation : {"robma", "link"}
        How mu moves to another scale (as :func:`bayesma.robma`).
    priors : mapping, optional
        ``"effect"``, ``"heterogeneity"``, ``"mods"`` (``{moderator: Normal prior}``),
        ``"rho"`` (``(a, b)`` of its Beta prior).
    mods : str or list of str, optional
        Moderators, ``"~ rater + setting"``.
    cluster : str or array-like, optional
        Cluster (study) of each estimate: multilevel model.
    slab : str or array-like, optional
        Study labels for messages.
    draws, replicates : int
        Importance-sampling draws per replicate and replicates per model.
    seed : int or None
        Random seed.

    Returns
    -------
    RoBMAResult
        A :class:`~bayesma.bias.extended_result.RoBMAExtResult` with ``mods=`` or ``cluster=``.

    Raises
    ------
    ValueError
        Bad data (naming the study and column), a factor level with one study, a
        missing cluster.

    References
    ----------
    Bartoš F, Maier M, Stanley TD, Wagenmakers E-J (2025). Robust Bayesian meta-regression:
    model-averaged moderation analysis in the presence of publication bias. Psychological
    Methods. doi:10.1037/met0000737. R package RoBMA, function ``BMA()``.

    Examples
    --------
    >>> import bayesma as bm
    >>> import pandas as pd
    >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "sei": [0.1] * 6,
    ...                    "g": ["a", "a", "a", "b", "b", "b"]})
    >>> fit = bm.bma(df, yi="yi", sei="sei", mods="~ g", draws=256, replicates=2)
    >>> len(fit.models)
    8
    """
    return robma(data, yi, vi, sei=sei, measure=measure, d=d, r=r, z=z, logOR=logOR, OR=OR, y=y, se=se, n=n, t=t,
                 output_scale=output_scale, transformation=transformation, priors=priors, ensemble="none",
                 slab=slab, draws=draws, replicates=replicates, seed=seed, mods=mods, cluster=cluster)
