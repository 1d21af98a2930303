"""Shared test fixtures. Helpers (reference paths, load_json, the smoke-fit settings) are in
tests/_helpers.py: ``from _helpers import ...``; the reference files are in
tests/data/reference/<tool>/ beside the scripts that made them (its README says how).
"""

from __future__ import annotations

import os

import pytest
from _helpers import SMOKE, SMOKE_PRIORS, load_cases, quiet_fit
from hypothesis import HealthCheck, settings

# property tests draw the same examples on every machine and run (a CI run must test what passed
# here; each test's examples are seeded from its name), with no time limits (per example, or on
# generating them: CI machines are slower) and no example database written into the checkout
settings.register_profile("bayesma", derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("bayesma")

# printouts as on a CI machine (no terminal: 80 x 24), whatever terminal runs the tests or COLUMNS says:
# pandas folds a wide table to the terminal's width, the live progress line is cut to it
os.environ["COLUMNS"], os.environ["LINES"] = "80", "24"


@pytest.fixture(scope="session")
def metafor_cases() -> list[dict]:
    return load_cases()


# ---------------------------------------------------------------------------
# the NUTS smoke tier: small fits shared by the whole test run
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def bcg_rr():
    """dat.bcg as log risk ratios (yi, vi) with metafor's column names."""
    import bayesma as bm

    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


@pytest.fixture(scope="session")
def smoke_ma(bcg_rr):
    """The random-effects model of the BCG trials (13 studies) that the smoke fits sample."""
    import bayesma as bm

    return bm.MetaAnalysis(bcg_rr, labels="trial", measure="RR", priors=SMOKE_PRIORS)


@pytest.fixture(scope="session")
def smoke_post(smoke_ma):
    """A NUTS posterior of :func:`smoke_ma` (2 chains x 100 draws after 100 tuning steps)."""
    return quiet_fit(smoke_ma, engine="nuts", seed=20261205, **SMOKE)


@pytest.fixture(scope="session")
def smoke_exact(smoke_ma):
    """The exact-engine posterior of the same model (the reference of the smoke tier)."""
    return smoke_ma.fit(engine="exact", seed=1)


@pytest.fixture(scope="session")
def smoke_post_regression(bcg_rr):
    """NUTS: meta-regression on latitude with one tau per allocation (regression x subgroup branches)."""
    import bayesma as bm

    ma = bm.MetaAnalysis(bcg_rr, labels="trial", measure="RR", mods="~ ablat", tau_by="alloc",
                         priors={"beta": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    return quiet_fit(ma, engine="nuts", seed=7, **SMOKE)


@pytest.fixture(scope="session")
def smoke_post_three_level():
    """NUTS: schools within districts (dat.konstantopoulos2011, 56 effects in 11 clusters)."""
    import bayesma as bm

    dat = bm.load_dataset("dat.konstantopoulos2011")
    ma = bm.MetaAnalysis(dat, labels=[f"{d}.{s}" for d, s in zip(dat["district"], dat["school"])],
                         cluster="district",
                         priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)", "tau_within": "halfnormal(0.5)"})
    return quiet_fit(ma, engine="nuts", seed=5, **SMOKE)
