"""pandas Series pair by index at every public entry point that takes columns, never by position:
each function gets its columns as Series whose index is shuffled (one column shuffled against the
others) and must give what the aligned Series give; a Series with a foreign index is an error."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

K = 8
RNG = np.random.default_rng(7)
IDX = pd.Index([f"s{i}" for i in range(K)])
FRAME = pd.DataFrame({
    "yi": RNG.normal(0.3, 0.3, K), "vi": RNG.uniform(0.01, 0.06, K), "ni": RNG.integers(20, 200, K),
    "ai": RNG.integers(1, 20, K), "bi": RNG.integers(20, 60, K), "ci": RNG.integers(1, 20, K),
    "di": RNG.integers(20, 60, K), "year": RNG.permutation(np.arange(1990, 1990 + K)),
    "g": ["a", "b"] * (K // 2), "r": RNG.uniform(-0.4, 0.6, K), "cl": ["c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4"],
}, index=IDX)
FRAME["sei"] = np.sqrt(FRAME["vi"])


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _ser(name):
    return FRAME[name].copy()


def _egger(c):
    return _quiet(bm.egger_test, c["yi"], c["vi"]).zval


def _mv_influence(name, c):
    res = _quiet(bm.rma_mv, c["yi"], c["vi"], random="~ 1 | cl", data=FRAME)
    kw = {} if name == "rstandard" else {"reestimate": False}
    out = _quiet(getattr(bm, name), res, cluster=c["cl"], **kw)
    out = out.cluster["X2"] if isinstance(out, bm.MVResiduals) else out
    return np.asarray(out, dtype=float).ravel()


CASES = {
    "rma": (["yi", "vi"], lambda c: _quiet(bm.rma, c["yi"], c["vi"]).tau2),
    "rma_sei": (["yi", "sei"], lambda c: _quiet(bm.rma, c["yi"], sei=c["sei"]).tau2),
    "MetaAnalysis": (["yi", "vi"], lambda c: _quiet(bm.MetaAnalysis, yi=c["yi"], vi=c["vi"]).spec.vi),
    "escalc_OR": (["ai", "bi", "ci", "di"], lambda c: _quiet(bm.escalc, "OR", ai=c["ai"], bi=c["bi"], ci=c["ci"],
                                                           di=c["di"])["yi"].to_numpy()),
    "escalc_ZCOR": (["r", "ni"], lambda c: _quiet(bm.escalc, "ZCOR", ri=c["r"], ni=c["ni"])["vi"].to_numpy()),
    "rma_mh": (["ai", "bi", "ci", "di"], lambda c: _quiet(bm.rma_mh, ai=c["ai"], bi=c["bi"], ci=c["ci"],
                                                        di=c["di"]).beta),
    "rma_glmm": (["ai", "bi", "ci", "di"], lambda c: _quiet(bm.rma_glmm, "OR", ai=c["ai"], bi=c["bi"], ci=c["ci"],
                                                          di=c["di"], method="FE").beta),
    "rma_peto": (["ai", "bi", "ci", "di"], lambda c: _quiet(bm.rma_peto, ai=c["ai"], bi=c["bi"], ci=c["ci"],
                                                            di=c["di"]).beta),
    "rma_cluster": (["yi", "vi", "cl"], lambda c: _quiet(bm.rma, c["yi"], c["vi"], cluster=c["cl"]).sigma2),
    "rma_mv": (["yi", "vi", "cl"], lambda c: _quiet(bm.rma_mv, c["yi"], c["vi"], random="~ 1 | cl",
                                                    data=FRAME.assign(cl=c["cl"])).sigma2),
    "egger_test": (["yi", "vi"], _egger),
    "ranktest": (["yi", "vi"], lambda c: _quiet(bm.ranktest, c["yi"], c["vi"]).tau),
    "fsn": (["yi", "vi"], lambda c: _quiet(bm.fsn, c["yi"], c["vi"]).fsnum),
    "pet_peese": (["yi", "vi"], lambda c: _quiet(bm.pet_peese, c["yi"], c["vi"]).estimate),
    "trimfill": (["yi", "vi"], lambda c: _quiet(bm.trimfill, c["yi"], c["vi"]).k0),
    "tes": (["yi", "vi"], lambda c: _quiet(bm.tes, c["yi"], c["vi"]).O),
    # data= required (by= is a column of it): a Series pairs with its rows by index
    "subgroup": (["yi", "vi"], lambda c: _quiet(bm.subgroup, c["yi"], c["vi"], by="g", data=FRAME).Q_between),
    "vcalc": (["vi", "cl"], lambda c: _quiet(bm.vcalc, c["vi"], cluster=c["cl"], rho=0.5).toarray()),
    "cumulative": (["yi", "vi", "year"], lambda c: _quiet(bm.cumulative, yi=c["yi"], vi=c["vi"], order=c["year"],
                                                          engine="exact", seed=1).table["mu_mean"].to_numpy()),
    "convert_r_to_d": (["r", "ni"], lambda c: bm.convert_r_to_d(c["r"], n=c["ni"])[1]),
    "convert_t_to_d": (["yi", "ni", "ai"], lambda c: bm.convert_t_to_d(c["yi"] * 10, n1=c["ni"], n2=c["ai"] + 5)[1]),
    # rma_mv influence: cluster= as a Series pairs with the fitted rows by index
    **{f: (["yi", "cl", "vi"], lambda c, f=f: _mv_influence(f, c)) for f in ("cooks_distance", "dfbetas",
                                                                            "rstandard", "rstudent")},
    "robma": (["yi", "sei"], lambda c: _quiet(bm.robma, yi=c["yi"], sei=c["sei"], ensemble="PP", draws=256,
                                              replicates=2, seed=1).components()["log_BF"].to_numpy()),
}


def _shuffled(cols, which):
    out = {name: _ser(name) for name in cols}
    out[which] = out[which].sample(frac=1.0, random_state=3)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_shuffled_series_pairs_by_index(name):
    cols, fn = CASES[name]
    aligned = fn({c: _ser(c) for c in cols})
    for which in cols[1:]:  # each later column shuffled against the first
        np.testing.assert_allclose(np.asarray(fn(_shuffled(cols, which)), dtype=float),
                                   np.asarray(aligned, dtype=float), rtol=1e-10, err_msg=f"{name}: {which} shuffled")


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_series_with_a_foreign_index_is_an_error(name):
    cols, fn = CASES[name]
    given = {c: _ser(c) for c in cols}
    given[cols[1]] = given[cols[1]].set_axis([f"x{i}" for i in range(K)])
    with pytest.raises(bm.InputError, match="index"):
        fn(given)


def test_cumul_order_series_pairs_by_index():
    res = _quiet(bm.rma, "yi", "vi", data=FRAME)
    aligned = bm.cumul(res, order=FRAME["year"]).table
    shuffled = bm.cumul(res, order=FRAME["year"].sample(frac=1.0, random_state=3)).table
    assert aligned.index.tolist() == shuffled.index.tolist()
    np.testing.assert_allclose(shuffled["estimate"], aligned["estimate"], rtol=1e-12)
    with pytest.raises(bm.InputError, match="index"):
        bm.cumul(res, order=FRAME["year"].set_axis(range(K)))


def test_functions_taking_column_names_only_refuse_a_series():
    with pytest.raises(TypeError, match="name of a column"):
        bm.aggregate(FRAME, yi=FRAME["yi"], vi="vi", cluster="cl", rho=0.5)
    with pytest.raises(TypeError, match="name of a column"):
        bm.subgroup("yi", "vi", by=FRAME["g"], data=FRAME)


#: public functions taking columns that the cases above do not call, each with the reason
NOT_CALLED = {
    "MetaData": "MetaAnalysis's path (MetaData.create)", "compare_priors": "MetaAnalysis's path",
    "leave_one_out": "MetaAnalysis's path", "rho_sensitivity": "MetaAnalysis's path", "fit_many": "column names of data only",
    "sunset_values": "MetaData's path, as fsn", "aggregate": "column names only (a Series is refused, tested)",
    "coef_test": "cluster: a column of the fit's data or one value per effect of the fit",
    "wald_test": "as coef_test", "robust": "as coef_test", "blsplit": "cluster of a given V",
    "design_matrix": "labels for messages", "small_k_simulation": "simulated data",
    "forest_rma": "order of a fit's rows, as cumul", "forest_subgroup": "as forest_rma",
    "conv_delta": "published estimates, one array per argument", "conv_fivenum": "as conv_delta",
    "conv_wald": "as conv_delta", "bma": "robma's path (robma without bias components)",
}
CALLED = {"rma_glmm", "rma", "MetaAnalysis", "escalc", "rma_mh", "rma_peto", "rma_mv", "egger_test", "ranktest", "fsn",
          "pet_peese", "trimfill", "tes", "subgroup", "vcalc", "cumulative", "robma", "cumul",
          "cooks_distance", "dfbetas", "rstandard", "rstudent"}


def test_every_public_function_taking_columns_is_checked_or_exempted():
    import inspect

    column_args = {"yi", "vi", "sei", "ni", "n", "n1", "n2", "ai", "bi", "ci", "di", "r", "d", "z", "logor", "t",
                   "var_r", "var_d", "var_z", "var_logor", "order", "cluster", "x1i", "x2i", "t1i", "t2i", "ri"}
    missing = []
    for name in sorted(bm._EXPORTS):
        obj = getattr(bm, name)
        if inspect.isclass(obj) and (hasattr(obj, "__dataclass_fields__") and name != "MetaData"):
            continue  # result containers
        func = obj.__init__ if inspect.isclass(obj) else obj
        if not callable(func):
            continue
        try:
            params = set(inspect.signature(func).parameters)
        except (TypeError, ValueError):
            continue
        if params & column_args and name not in CALLED and name not in NOT_CALLED \
                and not name.startswith("convert_"):
            missing.append(name)
    assert not missing, f"public functions taking columns with no Series-alignment check: {missing}"


@pytest.mark.parametrize("name", sorted(n for n in bm._EXPORTS if n.startswith("convert_")))
def test_every_conversion_pairs_series_by_index(name):
    func = getattr(bm, name)
    assert getattr(func, "__wrapped__", None) is not None, f"{name} is not decorated with series_by_index"
