"""A NUTS refit that reuses the compiled model (new prior scale, new data of the same shape)
samples the new posterior: its draws agree with the exact engine's quadrature of that posterior."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayesma as bm

pytest.importorskip("nutpie")

_DAT = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
_DRAWS = dict(draws=2500, tune=1000, chains=4, seed=7)


def _fit(ma, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ma.fit(**kw)


def _agrees(post, exact) -> None:
    """Means within 0.1 posterior sd, 2.5% / 97.5% quantiles within 0.2 sd, sd within 10%."""
    table = exact.summary(studies=False)
    for name in ("mu", "tau"):
        x = post.draws(name)
        mean, sd, lo, hi = table.loc[name, ["mean", "sd", "eti_lower", "eti_upper"]]
        assert abs(x.mean() - mean) < 0.1 * sd, (name, x.mean(), mean, sd)
        assert abs(np.quantile(x, 0.025) - lo) < 0.2 * sd, (name, "2.5%", np.quantile(x, 0.025), lo)
        assert abs(np.quantile(x, 0.975) - hi) < 0.2 * sd, (name, "97.5%", np.quantile(x, 0.975), hi)
        assert abs(x.std() - sd) < 0.1 * sd, (name, "sd", x.std(), sd)


@pytest.mark.slow
def test_refits_with_a_new_prior_scale_and_new_data_agree_with_the_exact_engine():
    ma = bm.MetaAnalysis(_DAT, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    first = _fit(ma, engine="nuts", **_DRAWS)
    _agrees(first, _fit(ma, engine="exact"))
    wider = ma.with_priors({"tau": bm.priors.HalfNormal(1.0)})
    refit = _fit(wider, engine="nuts", **_DRAWS)
    assert refit.fit_info["compiled"] is False and refit._cache_entry is first._cache_entry
    _agrees(refit, _fit(wider, engine="exact"))
    shifted = bm.MetaAnalysis(_DAT.assign(yi=_DAT["yi"] * 0.5 + 0.2), priors={"mu": bm.priors.Normal(0, 1),
                                                                             "tau": bm.priors.HalfNormal(0.25)})
    shifted._pymc_cache = ma._pymc_cache
    again = _fit(shifted, engine="nuts", **_DRAWS)
    assert again.fit_info["compiled"] is False and again._cache_entry is first._cache_entry
    _agrees(again, _fit(shifted, engine="exact"))
