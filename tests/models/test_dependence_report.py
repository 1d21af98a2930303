"""Trust tools of the dependent-effects models: the rho sweep and borrowing of strength (exact engine)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import bayesma as bm
from bayesma.models.dependence_report import borrowing


def test_rho_sweep_refits_once_per_rho_and_rho_zero_is_three_level():
    dat = bm.load_dataset("dat.assink2016")
    pri = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)}
    tab = bm.rho_sensitivity(dat, rho=[0.0, 0.9], yi="yi", vi="vi", cluster="study", labels="id", priors=pri)
    assert list(tab.index.get_level_values("rho").unique()) == [0.0, 0.9]
    three = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", priors=pri).fit(
        engine="exact", seed=1).summary()
    np.testing.assert_allclose(tab.loc[(0.0, "tau"), "mean"], three.loc["tau", "mean"], rtol=1e-8)
    assert tab.loc[(0.9, "tau_within"), "mean"] != tab.loc[(0.0, "tau_within"), "mean"]


def test_borrowing_puts_the_joint_mean_beside_the_outcome_alone():
    rng = np.random.default_rng(5)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
            for s in range(8) for o in (["a", "b"] if s < 3 else ["a"])]
    df = pd.DataFrame(rows)
    model = bm.MetaAnalysis(df, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome",
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        tab = borrowing(model, engine="exact")
    assert tab.loc["b", "k"] == 3 and tab.loc["a", "k"] == 8
    alone = bm.MetaAnalysis(yi=df.yi[df.outcome == "b"], vi=df.vi[df.outcome == "b"],
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)}).fit(
        engine="exact", seed=1).summary().loc["mu"]
    np.testing.assert_allclose(tab.loc["b", "alone_mean"], alone["mean"], rtol=1e-10)
    small_k = [str(x.message) for x in w if "fewer than 5" in str(x.message)]
    assert small_k == [] or "'b' (k = 3)" in small_k[0]


def test_report_says_how_far_an_outcome_with_few_studies_moved():
    rng = np.random.default_rng(5)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
            for s in range(8) for o in (["a", "b"] if s < 3 else ["a"])]
    df = pd.DataFrame(rows)
    pri = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(df, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome",
                               priors=pri).fit(engine="exact", seed=1)
        text = post.report()
        alone = bm.MetaAnalysis(yi=df.yi[df.outcome == "b"], vi=df.vi[df.outcome == "b"], priors=pri).fit(
            engine="exact", seed=1).summary().loc["mu"]
    para = next(p for p in text.split("\n\n") if p.startswith("Borrowing strength"))
    joint = post.summary().loc["mu[b]"]
    assert f"outcome 'b' (k = 3) has mean {joint['mean']:.2f}" in para
    assert f"and {alone['mean']:.2f} [{alone['eti_lower']:.2f}, {alone['eti_upper']:.2f}] fitted alone" in para
    assert f"a shift of {(joint['mean'] - alone['mean']) / alone['sd']:.2f} posterior sd" in para
    assert "'a'" not in para  # k = 8: no borrowing paragraph for it


def test_a_fit_names_each_outcome_with_fewer_than_5_studies():
    rng = np.random.default_rng(5)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
            for s in range(8) for o in (["a", "b", "c"] if s < 3 else ["a"] if s < 6 else ["a", "c"])]
    model = bm.MetaAnalysis(pd.DataFrame(rows), yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        model.fit(engine="exact", seed=1)
    msgs = [str(x.message) for x in w if issubclass(x.category, bm.errors.SmallKWarning) and "fewer than 5" in str(x.message)]
    assert len(msgs) == 1
    assert "'b' (k = 3)" in msgs[0] and "'c' (k = 5)" not in msgs[0] and "'a'" not in msgs[0]
