"""Effects as studies publish them (conv_wald, conv_delta, conv_fivenum, t/F/p to d/r, escalc
replace=False), against metafor 5.0-1's conv.* and escalc (tests/data/reference/metafor/metafor_conv.R)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm
from bayesma.errors import DataWarning, InputError

REF = json.loads((REFERENCE_DIR / "metafor" / "metafor_conv.json").read_text())
RTOL = 1e-6


def _num(values):
    return np.array([np.nan if v in ("NaN", "NA", None) else v for v in values], dtype=float)


def _close(got, want, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(got, dtype=float), _num(want), rtol=rtol, equal_nan=True)


# ---------------------------------------------------------------------------------------- conv_wald
W = REF["conv_wald"]


@pytest.mark.parametrize("case,kwargs", [
    ("ci", dict(ci_lb=W["lower"], ci_ub=W["upper"])),
    ("ub_only", dict(ci_ub=W["upper"])),
    ("p", dict(pval=W["pval"])),
])
def test_conv_wald_ratio_on_log_scale_equals_metafor(case, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        es = bm.conv_wald(W["or"], transf=np.log, **kwargs)
    _close(es["yi"], W[case]["yi"])
    _close(es["vi"], W[case]["vi"])


def test_conv_wald_help_page_numbers():
    # metafor's help page: OR 0.64 (0.33, 1.22) -> yi -0.4463, vi 0.1113; upper only 0.1083; p = .17 0.1058
    es = bm.conv_wald([0.64], [0.33], [1.22], transf=np.log)
    assert es["yi"].round(4).tolist() == [-0.4463] and es["vi"].round(4).tolist() == [0.1113]
    assert bm.conv_wald([0.64], ci_ub=[1.22], transf=np.log)["vi"].round(4).tolist() == [0.1083]
    assert bm.conv_wald([0.64], pval=[0.17], transf=np.log)["vi"].round(4).tolist() == [0.1058]


def test_conv_wald_level_z_and_ci_preferred_to_p():
    _close(bm.conv_wald(W["est"], W["lb"], W["ub"], level=90)["vi"], W["level90"]["vi"])
    _close(bm.conv_wald(W["est"], W["lb"], W["ub"], level=0.90)["vi"], W["level90"]["vi"])
    _close(bm.conv_wald(W["est"], zval=W["zval"])["vi"], W["z"]["vi"])
    _close(bm.conv_wald(W["est"], W["lb"], W["ub"], pval=[0.01, 0.5, 0.02])["vi"], W["ci_and_p"]["vi"])


def test_conv_wald_flags_the_asymmetric_ci_by_study():
    # metafor: "... not ... halfway between (ci.lb, ci.ub) in row(s): 2"
    assert W["asym_message"].endswith("row(s): 2")
    with pytest.warns(DataWarning, match=r"study 'B' \(row 2\)") as rec:
        bm.conv_wald([0.5, 0.5], [0.1, 0.3], [0.9, 0.9], labels=["A", "B"])
    assert "'A'" not in str(rec[0].message)
    # a ratio CI given without transf=log is asymmetric on the raw scale: the warning says so
    with pytest.warns(DataWarning, match="transf=np.log"):
        bm.conv_wald([2.56], [1.23], [5.30])


def test_conv_wald_keeps_or_replaces_existing_values_as_metafor():
    dat = pd.DataFrame({"study": ["S1", "S2", "S3"], "yi": [-0.55, np.nan, -0.69], "vi": [0.0818, np.nan, 0.4437],
                        "or": [0.5, 0.64, 0.6], "lower": [0.3, 0.33, 0.2], "upper": [0.9, 1.22, 1.9]})
    with pytest.warns(DataWarning, match=r"kept the existing yi of study 'S1' \(row 1\), study 'S3'"):
        kept = bm.conv_wald("or", "lower", "upper", data=dat, transf=np.log, labels="study")
    _close(kept["yi"], W["ifna"]["yi"])
    _close(kept["vi"], W["ifna"]["vi"])
    assert "filled yi of 1 study (study 'S2' (row 2))" in kept.attrs["fill_note"]
    with pytest.warns(DataWarning, match="replaced the existing"):
        allr = bm.conv_wald("or", "lower", "upper", data=dat, transf=np.log, labels="study", replace="all")
    _close(allr["yi"], W["all"]["yi"])
    _close(allr["vi"], W["all"]["vi"])
    assert dat["yi"].isna().sum() == 1  # the input table is not modified


@pytest.mark.parametrize("kwargs,match", [
    (dict(out=[0.5, 0.2], ci_lb=[0.1, 0.4], ci_ub=[0.9, 0.3]), r"study 'B' \(row 2\) has a lower bound above"),
    (dict(out=[0.5, 0.95], ci_lb=[0.1, 0.1], ci_ub=[0.9, 0.9]), r"study 'B' \(row 2\) has an estimate outside"),
    (dict(out=[0.5, 0.2], pval=[0.04, 0.0]), r"column 'pval': study 'B' \(row 2\) has a p-value outside"),
    (dict(out=[0.5, 0.2], pval=[1.0, 0.3]), r"study 'A' \(row 1\) has a p-value outside"),
    (dict(out=[0.0, 0.2], pval=[0.5, 0.3]), r"study 'A' \(row 1\) has an estimate of 0"),
    (dict(out=[0.5, 0.2], zval=[0.0, 1.0]), r"study 'A' \(row 1\) has a z statistic of 0"),
    (dict(out=[-0.5, 0.2], ci_lb=[-0.9, 0.1], ci_ub=[-0.1, 0.3], transf=np.log), r"study 'A' \(row 1\) gives no finite"),
])
def test_conv_wald_bad_input_names_the_study(kwargs, match):
    with pytest.raises(InputError, match=match) as err:
        bm.conv_wald(labels=["A", "B"], **kwargs)
    assert err.value.study in ("A", "B") and err.value.row in (1, 2)


# ---------------------------------------------------------------------------------------- conv_delta
D = REF["conv_delta"]


def test_conv_delta_logit_equals_plo_and_metafor():
    es = bm.conv_delta(D["pr_yi"], D["pr_vi"], transf=lambda p: np.log(p / (1 - p)))
    _close(es["yi"], D["logit"]["yi"])
    _close(es["vi"], D["logit"]["vi"], rtol=1e-8)
    _close(es["vi"], D["plo"]["vi"], rtol=1e-7)   # the analytic variance of escalc's PLO


def test_conv_delta_with_per_study_arguments_equals_metafor():
    def d_to_rpb(d, n1i, n2i):
        m = n1i + n2i - 2
        return d / np.sqrt(d**2 + m / n1i + m / n2i)
    dat = pd.DataFrame({"d": D["smd_yi"], "v": D["smd_vi"], "n1": D["n1i"], "n2": D["n2i"]})
    es = bm.conv_delta("d", "v", data=dat, transf=d_to_rpb, transf_args={"n1i": "n1", "n2i": "n2"})
    _close(es["yi"], D["rpb"]["yi"])
    _close(es["vi"], D["rpb"]["vi"], rtol=1e-8)
    _close(bm.conv_delta(D["r"], D["vr"], transf=np.arctanh)["vi"], D["rtoz"]["vi"], rtol=1e-8)
    # a scalar-only function is applied study by study
    import math
    _close(bm.conv_delta([0.2, 1.1], [0.04, 0.09], transf=math.exp)["vi"], D["exp"]["vi"], rtol=1e-8)


def test_conv_delta_bad_input():
    with pytest.raises(InputError, match=r"study 'B' \(row 2\) has a negative variance"):
        bm.conv_delta([0.1, 0.2], [0.01, -0.01], transf=np.exp, labels=["A", "B"])
    with pytest.raises(InputError, match=r"study 'B' \(row 2\) has no finite transformed value"):
        bm.conv_delta([0.1, 1.0], [0.01, 0.01], transf=np.arctanh, labels=["A", "B"])


# ---------------------------------------------------------------------------------------- conv_fivenum
F = REF["conv_fivenum"]
FDATA = pd.DataFrame({k: _num(v) for k, v in F["data"].items()})
METHODS = {"default": "default", "luo2016": ("luo2016", "default"), "wan2014": "wan2014",
           "shi2020": ("default", "shi2020"), "hozo2005": "hozo2005", "bland2015": "bland2015"}


@pytest.mark.parametrize("name", list(METHODS))
def test_conv_fivenum_methods_equal_metafor(name):
    res = bm.conv_fivenum("min", "q1", "median", "q3", "max", n="n", data=FDATA, method=METHODS[name], test=False)
    _close(res["mean"], F[name]["mean"])
    _close(res["sd"], F[name]["sd"])


def test_conv_fivenum_skewness_test_equals_metafor():
    with pytest.warns(DataWarning, match=r"study in row 4 is too skewed"):
        res = bm.conv_fivenum("min", "q1", "median", "q3", "max", n="n", data=FDATA)
    _close(res["mean"], F["tested"]["mean"])
    _close(res["sd"], F["tested"]["sd"])
    table = res.attrs["skew_test"]
    _close(table["stat"], F["tested"]["tval"])
    _close(table["crit"], F["tested"]["crit"])
    assert table["sig"].tolist() == F["tested"]["sig"]
    skew = pd.DataFrame({k: _num(v) for k, v in F["skew"]["data"].items()})
    with pytest.warns(DataWarning, match="row 3"):
        res = bm.conv_fivenum("min", "q1", "median", "q3", "max", n="n", data=skew)
    _close(res["mean"], F["skew"]["mean"])


def test_conv_fivenum_worked_example_of_wan_2014_by_hand():
    # an independent check of the default in case S1 without metafor: Luo's weight 4 / (4 + n^0.75)
    # and Wan's range divided by twice the normal quantile at (n - 0.375) / (n + 0.25)
    from scipy.stats import norm
    n, a, m, b = 20, 2.0, 6.0, 14.0
    w = 4 / (4 + n**0.75)
    res = bm.conv_fivenum(min=[a], median=[m], max=[b], n=[n])
    assert res["mean"][0] == pytest.approx(w * (a + b) / 2 + (1 - w) * m, rel=1e-12)
    assert res["sd"][0] == pytest.approx((b - a) / (2 * norm.ppf((n - 0.375) / (n + 0.25))), rel=1e-12)


def test_conv_fivenum_bad_input_and_kept_values():
    with pytest.raises(InputError, match=r"study 'B' \(row 2\) has q1 = 7 above median = 6"):
        bm.conv_fivenum(q1=[4, 7], median=[6, 6], q3=[10, 10], n=[20, 20], labels=["A", "B"])
    with pytest.raises(InputError, match=r"study 'A' \(row 1\) has a sample size below 5"):
        bm.conv_fivenum(q1=[4, 4], median=[6, 6], q3=[10, 10], n=[4, 20], labels=["A", "B"])
    with pytest.raises(InputError, match="cannot estimate the SD"):
        bm.conv_fivenum(q1=[4], median=[6], q3=[10], n=[20], method="luo2016")
    dat = pd.DataFrame({"mean": [7.0, np.nan], "sd": [4.2, np.nan], "q1": [4, 4], "median": [6, 6],
                        "q3": [10, 10], "n": [20, 20]})
    with pytest.warns(DataWarning, match="kept the existing mean/sd of study in row 1"):
        res = bm.conv_fivenum(q1="q1", median="median", q3="q3", n="n", data=dat)
    assert res["mean"].tolist()[0] == 7.0 and res["mean"][1] == pytest.approx(6.7195)


# ---------------------------------------------------------------------------------------- t, F, p
S = REF["stats"]


def test_t_and_f_to_d_equal_metafor_escalc_ti():
    d, v = bm.convert_t_to_d(S["ti"], n1=S["n1i"], n2=S["n2i"])
    _close(d, S["smd"]["yi"])
    _close(v, S["smd"]["vi"])
    d, v = bm.convert_t_to_d(S["ti"], n1=S["n1i"], n2=S["n2i"], correct=False)
    _close(d, S["d"]["yi"])
    _close(v, S["d"]["vi"])
    t = np.array(S["ti"])
    d, v = bm.convert_f_to_d(t**2, n1=S["n1i"], n2=S["n2i"], sign=np.sign(t))
    _close(d, S["smd"]["yi"])


def test_t_and_f_to_r_equal_metafor_escalc_ti():
    r, v = bm.convert_t_to_r(S["ti"], n=S["ni"])
    _close(r, S["cor"]["yi"])
    _close(v, S["cor"]["vi"])
    t = np.array(S["ti"])
    _close(bm.convert_f_to_r(t**2, n=S["ni"], sign=np.sign(t))[0], S["cor"]["yi"])


def test_signed_p_values_to_d_and_r_equal_metafor():
    t = np.array(S["ti"])
    n1, n2, n = np.array(S["n1i"]), np.array(S["n2i"]), np.array(S["ni"])
    tp = bm.convert_p_to_t(S["pi"], df=n1 + n2 - 2, sign=np.sign(t))
    _close(bm.convert_t_to_d(tp, n1=n1, n2=n2)[0], S["smd_p"]["yi"])
    tr = bm.convert_p_to_t(S["pi"], df=n - 2, sign=np.sign(t))
    _close(bm.convert_t_to_r(tr, n=n)[0], S["cor_p"]["yi"])


@pytest.mark.parametrize("call,match", [
    (lambda: bm.convert_t_to_d([2.0, 1.0], n1=[10, 1], n2=[10, 10]), r"n1\[1\] = 1"),
    (lambda: bm.convert_t_to_r([2.0], n=[3]), "larger than 3"),
    (lambda: bm.convert_f_to_d([-1.0], n1=[10], n2=[10]), "cannot be negative"),
    (lambda: bm.convert_f_to_d([4.0], n1=[10], n2=[10], sign=[0]), r"\+1 or -1"),
    (lambda: bm.convert_p_to_t([0.0, 0.5], df=[10, 10]), r"p\[0\] = 0"),
    (lambda: bm.convert_p_to_t([1.0], df=[10]), "gives no finite t"),
])
def test_statistic_conversions_refuse_bad_input(call, match):
    with pytest.raises(InputError, match=match):
        call()


# ---------------------------------------------------------------------------------------- escalc replace
def test_escalc_replace_false_keeps_existing_and_says_so():
    dat = pd.DataFrame({"study": ["A", "B", "C"], "yi": [0.3, np.nan, 0.1], "vi": [0.02, np.nan, 0.05],
                        "m1i": [10.0, 11.0, 9.0], "sd1i": [2.0, 2.5, 2.0], "n1i": [20, 30, 25],
                        "m2i": [9.0, 10.0, 9.5], "sd2i": [2.0, 2.0, 2.2], "n2i": [20, 30, 25]})
    full = bm.escalc("SMD", m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i", data=dat)
    with pytest.warns(DataWarning, match=r"kept the existing yi/vi of study 'A' \(row 1\), study 'C' \(row 3\)"):
        kept = bm.escalc("SMD", m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i", data=dat,
                         slab="study", replace=False)
    assert kept["yi"].tolist() == [0.3, full["yi"][1], 0.1]
    assert kept["vi"].tolist() == [0.02, full["vi"][1], 0.05]
    assert "filled yi/vi of 1 study (study 'B' (row 2))" in kept.attrs["fill_note"]
    # missing inputs where a value exists: no missing-data warning, the value is kept
    dat2 = dat.assign(m1i=[np.nan, 11.0, 9.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", bm.errors.MissingDataWarning)
        warnings.simplefilter("ignore", DataWarning)
        kept2 = bm.escalc("SMD", m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i",
                          data=dat2, replace=False)
    assert kept2["yi"][0] == 0.3
    with pytest.raises(bm.ArgumentTypeError, match="replace must be True or False"):
        bm.escalc("SMD", m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i", data=dat,
                  replace="ifna")
