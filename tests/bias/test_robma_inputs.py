"""bm.robma's inputs (RoBMA 3.6.1's combine_data): r/n, d with n/se/t, z, logOR/OR, y; cut-point rules,
output scales and the bad-input errors. Expected values are computed here from RoBMA's formulas
(written out independently of bayesma.bias.inputs) or from another input path of the same model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayesma as bm
from bayesma.bias import WeightFunction
from bayesma.bias.inputs import robma_inputs

R = np.array([0.21, 0.35, 0.10, 0.30, 0.25, 0.05, 0.40, 0.18])
N = np.array([80, 40, 120, 60, 90, 200, 35, 150])
FAST = {"draws": 256, "replicates": 2}


def _r_cutoff(r_steps_p, n):
    """RoBMA's cut point for a correlation: the r whose t test (n - 2 df) has one-sided p-value p, on z."""
    t = stats.t.ppf(1 - r_steps_p, n - 2)
    return np.arctanh(t / np.sqrt(t**2 + n - 2))


def test_r_n_cut_points_are_the_t_test_of_r():
    inp = robma_inputs(None, {"r": R}, n=N)
    np.testing.assert_allclose(inp.fit.y, np.arctanh(R), rtol=1e-14)
    np.testing.assert_allclose(inp.fit.se, 1 / np.sqrt(N - 3), rtol=1e-14)
    for steps, sides in (((0.025,), "one"), ((0.05, 0.025), "one"), ((0.05,), "two"), ((0.1, 0.05), "two")):
        wf = WeightFunction(steps, sides)
        p = np.sort(np.array(steps))[::-1] / (2 if sides == "two" else 1)
        expected = np.column_stack([_r_cutoff(pj, N.astype(float)) for pj in p])
        np.testing.assert_allclose(inp.fit.crit(wf), expected, rtol=1e-12)
    # the z rule (measure="ZCOR") puts the cut points elsewhere: t * se_z
    z_rule = stats.t.ppf(0.975, N - 2) / np.sqrt(N - 3)
    assert np.max(np.abs(inp.fit.crit(WeightFunction((0.025,)))[:, 0] - z_rule)) > 1e-3


def test_r_n_equals_the_z_path_with_the_t_based_cut_points():
    """Every model of r/n input equals the Fisher-z input's, once its cut points are RoBMA's r rule."""
    fit_r = bm.robma(r=R, n=N, ensemble=[bm.PET(), bm.PEESE(), WeightFunction((0.025,))], **FAST)
    z_in = robma_inputs(None, {"z": np.arctanh(R)}, sei=1 / np.sqrt(N - 3))
    wf = WeightFunction((0.025,))
    z_in.fit._crit[(wf.steps, wf.sides)] = _r_cutoff(0.025, N.astype(float))[:, None]
    from bayesma.bias.ensemble import ensemble_models
    from bayesma.bias.model import fit_model

    models = ensemble_models(None, [bm.PET(), bm.PEESE(), wf])
    ours = [fit_model(m, z_in.fit, n=256, replicates=2, seed=1 + i).log_ml for i, m in enumerate(models)]
    np.testing.assert_allclose(fit_r.models["log_ml"], ours, rtol=0, atol=1e-10)
    # and without selection models it is the measure="ZCOR" fit itself
    fit_z = bm.robma(yi=np.arctanh(R), sei=1 / np.sqrt(N - 3), measure="ZCOR", ensemble="PP", **FAST)
    fit_r2 = bm.robma(r=R, n=N, ensemble="PP", **FAST)
    np.testing.assert_allclose(fit_r2.models["log_ml"], fit_z.models["log_ml"], atol=1e-10)


def test_column_names_and_measure_cor_read_the_same():
    df = pd.DataFrame({"r": R, "n": N, "study": [f"S{i}" for i in range(R.size)]})
    a = bm.robma(df, r="r", n="n", slab="study", ensemble="PP", **FAST)
    b = bm.robma(df, yi="r", n="n", measure="COR", ensemble="PP", **FAST)
    np.testing.assert_allclose(a.models["log_ml"], b.models["log_ml"], atol=1e-12)
    assert a.measure == "r" and a.output_scale == "d"


def test_d_with_n_se_and_t_are_one_input():
    d = np.array([0.3, 0.5, 0.1, 0.6, 0.2, 0.45])
    n = np.array([40.0, 60, 100, 30, 80, 50])
    se = np.sqrt(4 / n + d**2 / (2 * n))   # RoBMA's se_d
    t = d * np.sqrt(n) / 2                  # RoBMA's t of d
    fits = [robma_inputs(None, {"d": d}, **kw).fit for kw in ({"n": n}, {"sei": se}, {"t": t})]
    wf = WeightFunction((0.05, 0.025))
    for fd in fits[1:]:
        np.testing.assert_allclose(fd.y, fits[0].y, rtol=1e-12)
        np.testing.assert_allclose(fd.se, fits[0].se, rtol=1e-12)
        np.testing.assert_allclose(fd.crit(wf), fits[0].crit(wf), rtol=1e-10)
    # RoBMA's d cut point: 2 t_c / sqrt(n) with n - 2 df, moved to z
    tc = stats.t.ppf(1 - np.array([0.05, 0.025]), (n - 2)[:, None])
    dc = 2 * tc / np.sqrt(n)[:, None]
    np.testing.assert_allclose(fits[0].crit(wf), np.arctanh(dc / np.sqrt(dc**2 + 4)), rtol=1e-12)
    # t with n and no effect size: the two-group t test, d = 2 t / sqrt(n)
    fd_tn = robma_inputs(None, {}, t=t, n=n).fit
    np.testing.assert_allclose(fd_tn.y, fits[0].y, rtol=1e-12)


def test_log_odds_ratios_and_odds_ratios():
    lor = np.array([0.4, 0.9, -0.1, 0.6, 0.3])
    se = np.array([0.2, 0.35, 0.25, 0.3, 0.15])
    a = robma_inputs(None, {"logOR": lor}, sei=se).fit
    b = robma_inputs(None, {"OR": np.exp(lor)}, sei=se).fit
    np.testing.assert_allclose(a.y, b.y, rtol=1e-12)
    d, se_d = lor * math.sqrt(3) / math.pi, se * math.sqrt(3) / math.pi   # RoBMA's logOR2d
    np.testing.assert_allclose(a.y, np.arctanh(d / np.sqrt(d**2 + 4)), rtol=1e-12)
    np.testing.assert_allclose(a.se, 1 / np.sqrt((d**2 + 8) / (2 * se_d**2) - 3), rtol=1e-12)
    c = stats.norm.ppf(0.975) * se * math.sqrt(3) / math.pi              # normal quantile, df = Inf
    np.testing.assert_allclose(a.crit(WeightFunction((0.025,)))[:, 0], np.arctanh(c / np.sqrt(c**2 + 4)),
                               rtol=1e-12)


@pytest.mark.filterwarnings("ignore:unstandardized effects")
def test_unstandardized_y_is_the_z_fit_rescaled():
    """y = 2 z, se = 2 se_z with RoBMA's priors on y is the d-prior fit on z (mu_z = mu_d / 2): the same
    Bayes factors and mu, log marginal likelihoods shifted by k log 2 (no selection models: those use
    qnorm on y but the t test on z)."""
    z, sz = np.arctanh(R), 1 / np.sqrt(N - 3)
    fz = bm.robma(yi=z, sei=sz, measure="ZCOR", ensemble="PP", **FAST)
    with pytest.warns(bm.errors.DataWarning, match="default priors .* on the scale of y"):
        fy = bm.robma(y=2 * z, se=2 * sz, ensemble="PP", **FAST)
    np.testing.assert_allclose(fy.models["log_ml"], fz.models["log_ml"] - R.size * math.log(2), atol=1e-8)
    np.testing.assert_allclose(fy.components()["log_BF"], fz.components()["log_BF"], atol=1e-8)
    np.testing.assert_allclose(fy.estimates().loc["mu"], fz.estimates().loc["mu"], atol=1e-10)
    assert fy.prior_scale == "y" and fy.output_scale == "y"
    # the same from Cohen's d: d -> z = atanh(d / sqrt(d^2 + 4)), se_z = 1 / sqrt(n - 3), n = (d^2 + 8) / (2 se^2)
    d = 2 * R / np.sqrt(1 - R**2)
    se_d = np.sqrt(4 / N + d**2 / (2 * N))
    fd = bm.robma(d=d, se=se_d, ensemble="PP", **FAST)
    fy2 = bm.robma(y=2 * np.arctanh(d / np.sqrt(d**2 + 4)), se=2 / np.sqrt((d**2 + 8) / (2 * se_d**2) - 3),
                   ensemble="PP", **FAST)
    np.testing.assert_allclose(fy2.models["log_ml"], fd.models["log_ml"] - R.size * math.log(2), atol=1e-8)
    np.testing.assert_allclose(fy2.estimates().loc["mu"], fd.estimates().loc["mu"], atol=1e-10)
    # y's cut points: the normal quantile times se
    inp = robma_inputs(None, {"y": 2 * z}, sei=2 * sz)
    np.testing.assert_allclose(inp.fit.crit(WeightFunction((0.05,), "two"))[:, 0],
                               stats.norm.ppf(0.975) * 2 * sz, rtol=1e-12)
    with pytest.raises(ValueError, match="own scale"):
        bm.robma(y=2 * z, se=2 * sz, ensemble="none", output_scale="r", **FAST)


def test_output_scales_follow_robma():
    fit = bm.robma(r=R, n=N, ensemble="PP", **FAST)
    d = fit.estimates(conditional=True)
    r = fit.estimates(conditional=True, output_scale="r")
    z = fit.estimates(conditional=True, output_scale="z")
    lor = fit.estimates(conditional=True, output_scale="logOR")
    for q in ("median", "0.025", "0.975"):  # quantiles move with the (monotone) conversion of each draw
        dq = d.loc["mu", q]
        assert r.loc["mu", q] == pytest.approx(dq / math.sqrt(dq**2 + 4), abs=1e-12)
        assert z.loc["mu", q] == pytest.approx(math.atanh(dq / math.sqrt(dq**2 + 4)), abs=1e-12)
        assert lor.loc["mu", q] == pytest.approx(dq * math.pi / math.sqrt(3), abs=1e-12)
        assert r.loc["tau", q] == pytest.approx(d.loc["tau", q] / 2, abs=1e-12)       # RoBMA's linear scale
        assert r.loc["PEESE", q] == pytest.approx(d.loc["PEESE", q] * 2, abs=1e-12)   # and its inverse
        assert r.loc["PET", q] == pytest.approx(d.loc["PET", q], abs=1e-12)
    link = bm.robma(r=R, n=N, ensemble="PP", transformation="link", **FAST).estimates(conditional=True,
                                                                                        output_scale="z")
    assert link.loc["mu", "median"] == pytest.approx(d.loc["mu", "median"] / 2, abs=1e-12)
    assert fit.estimates(output_scale="input").loc["mu", "median"] == pytest.approx(
        fit.estimates(output_scale="r").loc["mu", "median"])


def test_bad_inputs_name_the_study():
    with pytest.raises(ValueError, match=r"study 'B' \(row 2\).*correlation of 1\b"):
        bm.robma(r=[0.2, 1.0], n=[10, 20], slab=["A", "B"])
    with pytest.raises(ValueError, match=r"column 'n': study in row 3 has a total sample size n = 3 <= 3"):
        bm.robma(r=[0.2, 0.3, 0.1], n=[10, 20, 3])
    with pytest.raises(ValueError, match=r"column .r.: study in row 2 implies a total sample size n = 0.1977"):  # n_r(r, se)
        bm.robma(r=[0.2, 0.3], se=[0.1, 2.0])
    with pytest.raises(ValueError, match=r"measure 'PLO' is not supported.*'SMD'.*'COR'.*'ZCOR'.*'OR'.*'GEN'"):
        bm.robma(yi=[0.1, 0.2], sei=[0.1, 0.1], measure="PLO")
    with pytest.raises(TypeError, match="one effect-size input"):
        bm.robma(r=[0.1, 0.2], d=[0.1, 0.2], n=[20, 30])
    with pytest.raises(TypeError, match="one of sei="):
        bm.robma(r=[0.1, 0.2], n=[20, 30], se=[0.1, 0.1])
    with pytest.raises(TypeError, match="no standard error for log odds"):
        bm.robma(logOR=[0.1, 0.2], n=[20, 30])
    with pytest.raises(ValueError, match=r"column 'OR': study in row 1 has an odds ratio -1"):
        bm.robma(OR=[-1, 2], se=[0.1, 0.2])
    with pytest.raises(ValueError, match="output_scale 'SD'"):
        bm.robma(r=R, n=N, output_scale="SD")


def test_cli_robma_reads_r_and_n(tmp_path, capsys):
    from bayesma.cli import main

    path = tmp_path / "cors.csv"
    pd.DataFrame({"study": [f"S{i}" for i in range(R.size)], "r": R, "n": N}).to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["robma", str(path), "--r", "r", "--n", "n", "--labels", "study", "--ensemble", "PP",
                 "--output-scale", "r", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "Model-averaged estimates (correlation r)" in text and "prediction" in text
    assert "Priors (on Cohen's d)" in text
    models = pd.read_csv(out / "robma_models.csv")
    ref = bm.robma(r=R, n=N, ensemble="PP", output_scale="r").summary(type="models")
    np.testing.assert_allclose(models["log_ml"], ref["log_ml"], atol=1e-12)
    np.testing.assert_allclose(models["mu_mean"], ref["mu_mean"], atol=1e-12)
    assert "summarised on r" in (out / "report.md").read_text()
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"r": [0.2, 1.2, 0.1], "n": [30, 40, 50]}).to_csv(bad, index=False)
    assert main(["robma", str(bad), "--r", "r", "--n", "n", "--out", str(tmp_path / "o2")]) == 2
    assert "row 2" in capsys.readouterr().err
    assert main(["robma", str(path), "--n", "n", "--out", str(tmp_path / "o3")]) == 2
    assert "--r" in capsys.readouterr().err


def test_cli_robma_passes_moderators_and_clusters(tmp_path, capsys):
    from bayesma.cli import main

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"study": np.repeat([f"S{i}" for i in range(8)], 2), "rater": ["self", "other"] * 8,
                       "n": rng.integers(30, 150, 16)})
    df["r"] = np.tanh(rng.normal(0.15 + 0.1 * (df["rater"] == "self"), 1 / np.sqrt(df["n"] - 3)))
    path = tmp_path / "mods.csv"
    df.to_csv(path, index=False)
    for extra, kw in ((["--mods", "~ rater"], {"mods": "~ rater"}), (["--cluster", "study"], {"cluster": "study"})):
        out = tmp_path / extra[0].strip("-")
        code = main(["robma", str(path), "--r", "r", "--n", "n", "--ensemble", "PP", *extra, "--out", str(out)])
        assert code == 0
        text = capsys.readouterr().out
        ref = bm.robma(df, r="r", n="n", ensemble="PP", **kw)
        np.testing.assert_allclose(pd.read_csv(out / "robma_models.csv")["log_ml"], ref.models["log_ml"], atol=1e-12)
        if "mods" in kw:
            assert "Moderators" in text and "Marginal means" in text and "rater" in text
        else:
            assert "rho" in text


def test_confidence_intervals_as_robma_reads_them():
    """RoBMA's combine_data: se from a 95% CI on Fisher's z for d and r, on its own scale for z, log OR, y."""
    q = stats.norm.ppf(0.975)
    se_z = 1 / np.sqrt(N - 3)
    z = np.arctanh(R)
    lo, hi = np.tanh(z - q * se_z), np.tanh(z + q * se_z)   # a symmetric interval on z, moved to r
    a = robma_inputs(None, {"r": R}, lCI=lo, uCI=hi).fit
    b = robma_inputs(None, {"r": R}, n=N).fit
    np.testing.assert_allclose(a.se, b.se, rtol=1e-10)
    np.testing.assert_allclose(a.crit(WeightFunction((0.025,))), b.crit(WeightFunction((0.025,))), rtol=1e-10)
    d = 2 * R / np.sqrt(1 - R**2)
    dz = np.arctanh(d / np.sqrt(d**2 + 4))
    to_d = lambda x: 2 * np.tanh(x) / np.sqrt(1 - np.tanh(x) ** 2)  # noqa: E731 - z (of d) back to d
    a = robma_inputs(None, {"d": d}, lCI=to_d(dz - q * se_z), uCI=to_d(dz + q * se_z)).fit
    np.testing.assert_allclose(a.se, se_z, rtol=1e-10)
    lor, se = np.array([0.4, 0.9, -0.1]), np.array([0.2, 0.35, 0.25])
    a = robma_inputs(None, {"OR": np.exp(lor)}, lCI=np.exp(lor - q * se), uCI=np.exp(lor + q * se)).fit
    np.testing.assert_allclose(a.se, robma_inputs(None, {"logOR": lor}, sei=se).fit.se, rtol=1e-10)
    y = np.array([1.0, 2.0, 0.5])
    a = robma_inputs(None, {"y": y}, lCI=y - q * se, uCI=y + q * se).fit
    np.testing.assert_allclose(a.se, se, rtol=1e-10)
    with pytest.raises(ValueError, match=r"row 2 has the interval \[0.4, 0.5\].*hold the effect 0.35"):
        robma_inputs(None, {"r": [0.2, 0.35]}, lCI=[0.1, 0.4], uCI=[0.3, 0.5])
    with pytest.raises(TypeError, match="both lCI= and uCI="):
        robma_inputs(None, {"r": [0.2, 0.35]}, lCI=[0.1, 0.2])
    with pytest.raises(TypeError, match="one of sei="):
        bm.robma(r=[0.2, 0.35], n=[20, 30], lCI=[0.1, 0.2], uCI=[0.3, 0.5])


def test_d_converted_from_r_is_fitted_as_cohens_d():
    """escalc's R2D (and bayesma fit's --measure R2D) are Cohen's d: robma fits them as SMD, as the command
    line does. RoBMA's d -> z (r = d / sqrt(d^2 + 4)) inverts the equal-groups R2D conversion, so the
    fitted z are atanh(r) of the correlations the d came from."""
    d, v = bm.convert_r_to_d(R, n=N)
    inp = robma_inputs(None, {}, yi=d, vi=v, measure="R2D")
    np.testing.assert_allclose(inp.fit.y, np.arctanh(R), rtol=1e-12)
    smd = robma_inputs(None, {}, yi=d, vi=v, measure="SMD")
    np.testing.assert_array_equal(inp.fit.se, smd.fit.se)
    with pytest.raises(bm.InputError, match="R2D"):  # a measure on no RoBMA scale names the ones that are
        robma_inputs(None, {}, yi=d, vi=v, measure="RR")


def test_escalc_table_of_d_from_r_needs_no_measure():
    es = bm.escalc("R2D", ri=R, ni=N)  # attrs["measure"] = "R2D": Cohen's d
    fit = bm.robma(es, ensemble="none", seed=1, **FAST)
    ref = bm.robma(yi=es["yi"].to_numpy(), vi=es["vi"].to_numpy(), measure="SMD", ensemble="none", seed=1, **FAST)
    np.testing.assert_allclose(fit.models["log_ml"], ref.models["log_ml"], rtol=1e-12)
