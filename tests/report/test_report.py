"""The report (report.md, post.report()): its numbers are the summary's and metafor's, read back from the text."""

from __future__ import annotations

import base64
import re
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma import priors as pr
from bayesma.report import html_report, report_text

STUDIES = pd.DataFrame({
    "study": [f"S{i}" for i in range(1, 11)],
    "yi": [0.12, 0.65, 0.31, -0.15, 0.82, 0.28, -0.18, 0.60, 0.02, 0.71],
    "vi": [0.031, 0.052, 0.024, 0.061, 0.045, 0.018, 0.072, 0.039, 0.027, 0.055],
    "rater": ["client", "service provider/observer"] * 5,
    "year": [1998, 2001, 2003, 2005, 2008, 2010, 2012, 2015, 2018, 2021],
})


def _fit(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(STUDIES, yi="yi", vi="vi", labels="study", **kwargs).fit(engine="exact", seed=1)


def _apa_p(p: float) -> str:
    if p < 0.001:
        return "< .001"
    return "> .999" if p > 0.999 else "= " + f"{p:.3f}".lstrip("0")


def _paragraph(text: str) -> str:
    return text.split("\n\n")[1]


def test_report_numbers_equal_the_summary_and_metafor():
    post = _fit(measure="SMD")
    text = post.report(title="Alliance and dropout")
    assert text.startswith("# Alliance and dropout\n")
    par = _paragraph(text)
    s = post.summary()
    # Bayesian: pooled effect, tau and the predictive interval, read back from the text
    m = re.search(r"pooled effect was g = (-?\d+\.\d\d), 95% CrI \[(-?\d+\.\d\d), (-?\d+\.\d\d)\]", par)
    assert m, par
    assert [float(x) for x in m.groups()] == pytest.approx(
        [s.loc["mu", c] for c in ("median", "eti_lower", "eti_upper")], abs=0.005)
    m = re.search(r"tau was (\d+\.\d\d), 95% CrI \[(\d+\.\d\d), (\d+\.\d\d)\]", par)
    assert [float(x) for x in m.groups()] == pytest.approx(
        [s.loc["tau", c] for c in ("median", "eti_lower", "eti_upper")], abs=0.005)
    m = re.search(r"predictive interval for the true effect in a new study was \[(-?\d+\.\d\d), (-?\d+\.\d\d)\]", par)
    assert [float(x) for x in m.groups()] == pytest.approx(
        [s.loc["theta_new", c] for c in ("eti_lower", "eti_upper")], abs=0.005)
    p_gt = post.p_greater("mu")
    words = {"<": "below ", ">": "above ", "=": ""}[_apa_p(p_gt)[0]] + _apa_p(p_gt)[2:]
    assert f"greater than zero was {words}" in par
    # frequentist (metafor's estimators on the same data): FE, REML, Q(df), p, I², tau², PI
    fe = bm.rma("yi", "vi", data=STUDIES, method="FE")
    reml = bm.rma("yi", "vi", data=STUDIES, method="REML")
    m = re.search(r"common-effect \(fixed-effect\) estimate was g = (-?\d+\.\d\d), 95% CI \[(-?\d+\.\d\d), "
                  r"(-?\d+\.\d\d)\]", par)
    assert [float(x) for x in m.groups()] == pytest.approx([fe.beta[0], fe.ci_lb[0], fe.ci_ub[0]], abs=0.005)
    m = re.search(r"random-effects estimate \(restricted maximum likelihood\) was g = (-?\d+\.\d\d), 95% CI "
                  r"\[(-?\d+\.\d\d), (-?\d+\.\d\d)\], p (<|=) (\.\d+)", par)
    assert [float(x) for x in m.groups()[:3]] == pytest.approx([reml.beta[0], reml.ci_lb[0], reml.ci_ub[0]],
                                                              abs=0.005)
    m = re.search(r"Q\((\d+)\) = (\d+\.\d\d), p ([<=] \.\d+), I² = (\d+)%, tau² = (\d\.\d{3}) \(tau = (\d\.\d\d)\)",
                  par)
    assert m, par
    assert int(m.group(1)) == reml.k - 1
    assert float(m.group(2)) == pytest.approx(reml.QE, abs=0.005)
    assert m.group(3) == _apa_p(reml.QEp)
    assert int(m.group(4)) == round(reml.I2)
    assert float(m.group(5)) == pytest.approx(reml.tau2, abs=0.0005)
    pred = reml.predict()
    m = re.search(r"95% prediction interval \(z\) was \[(-?\d+\.\d\d), (-?\d+\.\d\d)\]", par)
    assert [float(x) for x in m.groups()] == pytest.approx([pred["pi_lb"].iloc[0], pred["pi_ub"].iloc[0]],
                                                          abs=0.005)
    # the priors and, in plain words, how much they mattered
    assert "HalfNormal(sigma=0.5)" in par and "How much the priors mattered:" in par
    assert "as wide as the prior" not in text
    # rounding: nothing with more than three decimals in the paragraph
    assert not re.search(r"\d\.\d{4,}", par), par


def test_report_text_is_the_cli_report(tmp_path, capsys):
    from bayesma.cli import main

    STUDIES.to_csv(tmp_path / "s.csv", index=False)
    code = main(["fit", str(tmp_path / "s.csv"), "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure",
                 "SMD", "--engine", "exact", "--title", "My title", "--out", str(tmp_path / "out")])
    assert code == 0
    written = (tmp_path / "out" / "report.md").read_text()
    assert written.startswith("# My title\n")
    par_cli = _paragraph(written)
    par_py = _paragraph(_fit(measure="SMD").report())
    # the same paragraph, but for the software versions the CLI names
    strip = re.compile(r"fitted with .*? \(exact numerical integration\)")
    assert strip.sub("", par_cli) == strip.sub("", par_py)
    # every written file is listed
    files = re.findall(r"^- `([^`]+)`$", written.split("## Files")[1], flags=re.M)
    assert sorted(files) == sorted(p.name for p in (tmp_path / "out").iterdir())


def test_converted_effects_are_named_by_their_conversion():
    data = pd.DataFrame({"study": list("ABCDE"), "r": [-0.22, -0.10, -0.31, -0.05, -0.18],
                         "n": [124, 80, 60, 200, 95]})
    es = bm.escalc("R2D", ri="r", ni="n", data=data, slab="study")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(es, yi="yi", vi="vi", labels="study").fit(engine="exact", seed=1)
    text = post.report()
    assert "Hedges' g" not in text
    assert "Cohen's d converted from point-biserial correlations" in text and "Borenstein" in text
    assert "pooled effect was d = " in text
    # a conversion recorded by the user on the data wins
    es.attrs["conversion"] = "d from r with unequal groups (own formula)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(es, yi="yi", vi="vi", labels="study").fit(engine="exact", seed=1)
    assert "(d from r with unequal groups (own formula))" in post.report()


def test_meta_regression_terms_are_readable():
    post = _fit(measure="SMD", mods="~ rater + year")
    text = post.report()
    assert "rater: service provider/observer vs client" in text and "year (per unit)" in text
    assert "beta[" not in _paragraph(text) and "raterservice" not in text
    assert re.search(r"test of moderators was QM\(2\) = \d+\.\d\d, p [<=] \.\d+", text)
    assert re.search(r"Residual heterogeneity: Q\(7\) = \d+\.\d\d", text)


def test_infinite_posterior_moments_are_never_printed_as_numbers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(STUDIES.head(3), yi="yi", vi="vi", labels="study", measure="SMD",
                               priors={"mu": pr.Flat(), "tau": pr.HalfFlat()}).fit(engine="exact", seed=1)
    s = post.summary()
    assert not np.isfinite(s.loc["tau", "mean"])  # the case: tau has no finite mean under HalfFlat at k = 3
    text = post.report()
    assert "inf" not in text.replace("information", "").replace("informative", "")
    assert "no finite mean or standard deviation" in text
    tau = s.loc["tau"]
    assert f"tau was {tau['median']:.2f}, 95% CrI [{tau['eti_lower']:.2f}, {tau['eti_upper']:.2f}]" in text


def test_small_p_values_and_tiny_numbers_are_rounded():
    summary = pd.DataFrame({"mean": [0.00058, 0.01], "sd": [0.0002, 0.01], "median": [0.00058, 0.008],
                            "eti_lower": [0.0002, 0.0001], "eti_upper": [0.0009, 0.03]}, index=["mu", "tau"])
    text = report_text(summary, k=12, priors={}, fits={}, p_greater={"mu": 0.99995}, measure="SMD")
    par = _paragraph(text)
    assert "0.00058" not in par and "g = 0.00, 95% CrI [0.00, 0.00]" in par
    assert "greater than zero was above .999" in par


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_embeds_every_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    post = _fit(measure="SMD")
    paths = []
    for name, fig in (("forest.png", post.forest()), ("prior.png", post.plot_prior_posterior())):
        fig.savefig(tmp_path / name)
        paths.append(tmp_path / name)
    text = post.report(title="HTML")
    page = html_report(text, figures={p.name: p for p in paths}, tables={"Extra": pd.DataFrame({"a": [1.5]})})
    parser = _Images()
    parser.feed(page)
    assert len(parser.srcs) == len(paths)
    for src, path in zip(parser.srcs, paths):
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == path.read_bytes()
    shown = " ".join(parser.text)
    reml = bm.rma("yi", "vi", data=STUDIES, method="REML")
    assert f"Q({reml.k - 1}) = {reml.QE:.2f}" in shown
    assert f"{post.summary().loc['mu', 'median']:.2f}" in shown
    assert "<table>" in page and "http" not in page.replace("http-equiv", "")


def test_subgroup_results_in_the_report():
    post = _fit(measure="SMD")
    sg = bm.subgroup("yi", "vi", by="rater", data=STUDIES)
    text = post.report(subgroups={"rater": sg})
    row = sg.table.loc["client"]
    assert (f"Subgroups by rater: client (k = {int(row['k'])}) g = {row['estimate']:.2f}, "
            f"95% CI [{row['ci_lb']:.2f}, {row['ci_ub']:.2f}]") in text
    assert f"Q_between({sg.Q_between_df}) = {sg.Q_between:.2f}, p {_apa_p(sg.Q_between_p)}" in text
