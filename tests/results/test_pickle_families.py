"""An exact posterior pickles (process pools, Dask, joblib caches) for every model family the exact
engine fits, and reads back with the same numbers. The two-dimensional grids (tau by subgroup,
three-level, CHE, multivariate CS, binomial- and Poisson-normal) keep their joint log density to
refine the study effects; it was a closure, so pickling these posteriors raised AttributeError.
It is now a recipe (bayesma.exact.quadrature.LazyDensity) rebuilt on first use after loading."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import bayesma as bm


def _effects() -> pd.DataFrame:
    return pd.DataFrame({
        "yi": [0.10, 0.35, 0.20, 0.90, 0.05, 0.40, 0.30, 0.15],
        "vi": [0.02, 0.03, 0.05, 0.04, 0.03, 0.02, 0.06, 0.04],
        "study": [f"S{i}" for i in range(1, 9)],
        "grp": ["a", "b"] * 4,
        "cl": ["c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4"],
        "out": ["o1", "o2"] * 4,
    })


_TABLES = pd.DataFrame({"ai": [5, 8, 3, 12, 7, 4], "bi": [45, 42, 47, 38, 43, 46],
                        "ci": [9, 10, 6, 15, 9, 8], "di": [41, 40, 44, 35, 41, 42]})
_RATES = pd.DataFrame({"x1i": [5, 8, 3, 12, 7, 4], "t1i": [100.0, 120, 90, 150, 110, 95],
                       "x2i": [9, 10, 6, 15, 9, 8], "t2i": [100.0, 115, 95, 140, 100, 90]})

MODELS = {
    "tau by subgroup": lambda: bm.MetaAnalysis(_effects(), "yi", "vi", labels="study", tau_by="grp"),
    "three-level": lambda: bm.MetaAnalysis(_effects(), "yi", "vi", labels="study", cluster="cl"),
    "CHE": lambda: bm.MetaAnalysis(_effects(), "yi", "vi", labels="study", cluster="cl", rho=0.6),
    "multivariate CS": lambda: bm.MetaAnalysis(_effects(), "yi", "vi", labels="study", cluster="cl",
                                               outcome="out", struct="CS", rho=0.5),
    "binomial-normal": lambda: bm.MetaAnalysis(_TABLES, measure="OR", likelihood="binomial",
                                               ai="ai", bi="bi", ci="ci", di="di"),
    "Poisson-normal": lambda: bm.MetaAnalysis(_RATES, measure="IRR", likelihood="poisson",
                                              x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i"),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_exact_posterior_pickles_with_the_same_numbers(name):
    post = MODELS[name]().fit(engine="exact", seed=3, draws=400, chains=2)
    back = pickle.loads(pickle.dumps(post))  # before any summary is cached: the copy computes its own
    assert back.engine == "exact"
    pd.testing.assert_frame_equal(back.summary(), post.summary())  # study rows use the joint density
    assert back.prob(f"{back.summary().index[0]} > 0") == post.prob(f"{post.summary().index[0]} > 0")
    assert repr(back) == repr(post)


def test_lazy_density_pickles_as_its_recipe():
    from bayesma.exact.quadrature import LazyDensity

    dens = LazyDensity(np.poly1d, [1.0, 0.0, 2.0])  # x^2 + 2
    assert dens(3.0) == 11.0
    back = pickle.loads(pickle.dumps(dens))
    assert back._fn is None and back(3.0) == 11.0
