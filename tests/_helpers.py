"""Helpers shared by the tests (import them with ``from _helpers import ...``; fixtures live in conftest.py)."""

from __future__ import annotations

import warnings

#: draws of the NUTS smoke fits: enough for a mean within a few Monte Carlo standard errors,
#: small enough that the default engine runs in every plain ``pytest`` (each model structure is
#: compiled once and shared by every test through the session fixtures of conftest.py)
SMOKE = dict(draws=100, tune=100, chains=2)
#: priors of the smoke fits of the BCG log risk ratios (those of the brms reference)
SMOKE_PRIORS = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}


def quiet_fit(ma, **kwargs):
    """``ma.fit(**kwargs)`` without the SamplingWarning that 200 draws always raise (ESS < 400)."""
    from bayesma.results import SamplingWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return ma.fit(**kwargs)
