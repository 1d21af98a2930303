"""``bayesma fit --by``: one fit per group, one story.

``fit_many(keep_fits=True)`` keeps each group's posterior and metafor's fits of it; the CLI
prints and writes from those objects, fitting nothing twice. The dependent-effects models
(``--cluster`` with ``--rho``, ``--outcome``, ``--struct``) are reached from ``fit`` and
``fit_many``, and the outputs name the model.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import ROOT, run_cli

import bayesma as bm
import bayesma.frequentist as freq
from bayesma.models import MetaAnalysis

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


_run = run_cli


@pytest.fixture
def effects(tmp_path) -> Path:
    es = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    path = tmp_path / "effects.csv"
    es.to_csv(path, index=False)
    return path


def test_fit_by_fits_each_group_once_and_prints_what_fit_many_kept(effects, tmp_path, capsys, monkeypatch):
    calls = {"fit": 0, "rma": 0}
    real_fit, real_rma = MetaAnalysis.fit, freq.rma

    def counting_fit(self, *a, **k):
        calls["fit"] += 1
        return real_fit(self, *a, **k)

    def counting_rma(*a, **k):
        calls["rma"] += 1
        return real_rma(*a, **k)

    monkeypatch.setattr(MetaAnalysis, "fit", counting_fit)
    monkeypatch.setattr(freq, "rma", counting_rma)
    out = tmp_path / "bayes"
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                              "--by", "outcome", "--out", out], capsys)
    assert code == 0, err
    # three outcomes: three Bayesian fits and FE, DL, REML, REML + KH each -- nothing refitted for the report
    assert calls == {"fit": 3, "rma": 12}
    monkeypatch.setattr(MetaAnalysis, "fit", real_fit)
    monkeypatch.setattr(freq, "rma", real_rma)

    table = pd.read_csv(out / "combined.csv", index_col=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = bm.fit_many(pd.read_csv(effects), by="outcome", labels="study", measure="R2D", seed=1, keep_fits=True)
    report = (out / "report.md").read_text()
    for outcome in ("dropout", "misconduct", "recidivism"):
        reml = ref.frequentist(outcome)["REML"]
        post = ref.fit(outcome)
        mu = post.summary().loc["mu"]
        # the table's numbers are the kept objects' numbers, to the last digit
        assert table.loc[outcome, "RE"] == reml.beta[0]
        assert table.loc[outcome, "tau2"] == reml.tau2
        assert table.loc[outcome, "Q"] == ref.frequentist(outcome)["FE"].QE
        assert table.loc[outcome, "bayes_median"] == mu["median"]
        assert table.loc[outcome, "p_mu_positive"] == post.p_greater("mu", 0.0)
        # and the report's section quotes them
        assert f"{mu['median']:.2f}" in report.split(f"## outcome: {outcome}")[1]


def test_fit_many_keep_fits_rows_equal_the_vectorised_path():
    """Two computations of the same group (vectorised arrays vs the kept objects) agree."""
    dat = pd.read_csv(CSV)
    es = bm.escalc("R2D", ri="r", ni="n", data=dat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vec = bm.fit_many(es, by="outcome", labels="study", measure="R2D", seed=1)
        kept = bm.fit_many(es, by="outcome", labels="study", measure="R2D", seed=1, keep_fits=True)
    # every group is an exact model: keep_fits takes the vectorised pass too, and keeps one object per group
    assert vec.settings["n_vectorised"] == 3 and kept.settings["n_vectorised"] == 3
    story = kept.read_from_fits()  # the rows read from the kept objects, built per group
    assert story.settings["rows"] == "fits" and not story.groups["engine"].str.contains("vectorised").any()
    cols = ["FE", "FE_lower", "RE", "RE_se", "tau2", "tau2_lower", "tau2_upper", "I2", "H2", "Q", "Q_p",
            "pi_lower", "pi_upper", "mu_mean", "mu_lower", "mu_upper", "p_mu_positive", "tau_median"]
    np.testing.assert_allclose(story.groups[cols].to_numpy(float), vec.groups[cols].to_numpy(float), rtol=1e-6,
                               atol=1e-9)
    for outcome in ("dropout", "misconduct", "recidivism"):
        post, fits = kept.fit(outcome), kept.frequentist(outcome)
        assert story.fit(outcome) is post and story.frequentist(outcome) is fits  # kept, not refitted
        summ = post.summary()
        for name in ("mu", "tau", "theta_new"):  # to the last digit
            assert (story.table.loc[(outcome, name), ["mean", "median", "eti_lower", "eti_upper"]].to_numpy(float)
                    == summ.loc[name, ["mean", "median", "eti_lower", "eti_upper"]].to_numpy(float)).all()
        assert story.groups.loc[outcome, "RE"] == fits["REML"].beta[0]
        assert story.groups.loc[outcome, "p_mu_positive"] == post.p_greater("mu", 0.0)
        alone = MetaAnalysis(es[es["outcome"] == outcome], labels="study", measure="R2D").fit(
            engine="exact", seed=int(kept.groups.loc[outcome, "seed"]))
        assert summ.loc["mu", "median"] == alone.summary().loc["mu", "median"]  # the group's own fit
    assert sorted(kept.frequentist("dropout")) == ["DL", "FE", "REML", "REML + KH"]
    with pytest.raises(bm.InputError, match="keep_fits=True"):
        vec.read_from_fits()
    with pytest.raises(bm.InputError, match="keep_fits=True"):
        vec.frequentist("dropout")


def test_fit_many_reaches_the_multivariate_model():
    dat = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    dat["all"] = "all"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.fit_many(dat, by="all", cluster="study", outcome="outcome", rho=0.5, struct="CS", measure="R2D",
                          engine="exact", keep_fits=True, seed=1)
        alone = MetaAnalysis(dat, cluster="study", outcome="outcome", rho=0.5, struct="CS",
                             measure="R2D").fit(engine="exact", seed=1)
    rows = res.table.loc["all"]
    for name in ("mu[dropout]", "mu[misconduct]", "mu[recidivism]", "tau", "rho"):
        assert rows.loc[name, "median"] == pytest.approx(alone.summary().loc[name, "median"], rel=1e-9)
    assert list(res.frequentist("all")) == ["REML (rma.mv)"]


def test_fit_cluster_outcome_rho_is_the_multivariate_model(effects, tmp_path, capsys):
    out = tmp_path / "mv"
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome",
                              "--rho", "0.5", "--struct", "CS", "--measure", "R2D", "--out", out], capsys)
    assert code == 0, err
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = MetaAnalysis(pd.read_csv(effects), cluster="study", outcome="outcome", rho=0.5, struct="CS",
                           measure="R2D").fit(engine="exact", seed=1)
    for name in ("mu[dropout]", "mu[misconduct]", "tau", "rho"):
        assert summary.loc[name, "median"] == pytest.approx(ref.summary().loc[name, "median"], rel=1e-9)
    # the table and the report name the model and the sampling correlation used
    assert "multivariate" in stdout and "CS" in stdout and "sampling correlation within studies fixed at 0.5" in stdout
    assert "rma.mv" in stdout
    report = (out / "report.md").read_text()
    assert "multivariate" in report and "misconduct" in err  # the outcome with k = 3 is named


def test_fit_by_with_the_che_model(effects, tmp_path, capsys):
    out = tmp_path / "che"
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--by", "rater", "--cluster", "study",
                              "--rho", "0.5", "--measure", "R2D", "--out", out], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "combined.csv", index_col=[0, 1])
    assert "CHE model (sampling correlation rho = 0.5)" in stdout
    data = pd.read_csv(effects)
    part = data[data["rater"] == "client"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = MetaAnalysis(part, cluster="study", rho=0.5, measure="R2D").fit(engine="exact", seed=1)
    assert table.loc[("client", "mu"), "bayes_median"] == pytest.approx(post.summary().loc["mu", "median"], rel=1e-9)


def test_struct_without_outcome_is_one_line_exit_2(effects, tmp_path, capsys):
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--cluster", "study", "--struct", "CS",
                              "--out", tmp_path / "x"], capsys)
    assert code == 2 and "outcome" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_fit_many_names_the_model():
    dat = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        che = bm.fit_many(dat, by="rater", cluster="study", rho=0.5, measure="R2D", engine="exact", seed=1)
        plain = bm.fit_many(dat, by="outcome", labels="study", measure="R2D", seed=1)
    assert che.settings["model"] == "CHE model (sampling correlation rho = 0.5)"
    assert "CHE model" in repr(che).splitlines()[0]
    assert plain.settings["model"] == "random-effects model"
