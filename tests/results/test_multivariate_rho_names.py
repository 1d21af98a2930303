"""A multivariate model has two correlations: the sampling correlation ``rho=`` that V is built with (fixed)
and the posterior parameter ``rho`` (the correlation of the true effects between outcomes). Every printout
tells them apart: a header line names both, and the sampling one is never printed as a bare "rho = 0.4"."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main

LEGEND = ("rho: correlation of the true effects between outcomes (posterior); "
          "sampling correlation within studies fixed at 0.4")
BARE = re.compile(r"sampling correlation rho\b|\brho = 0\.4\b")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
            for s in range(10) for o in (["a", "b"] if s < 4 else ["a"] if s < 7 else ["b"])]
    return pd.DataFrame(rows)


def test_posterior_printout_names_both_correlations(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(data, yi="yi", vi="vi", rho=0.4, cluster="study", outcome="outcome",
                               priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)}).fit(
            engine="exact", seed=1)
    text = repr(post)
    assert LEGEND in " ".join(text.split())  # a line of its own, wrapped at 100 columns
    assert any(ln.startswith("rho: correlation") for ln in text.splitlines())
    assert "rho" in post.summary().index  # the public row name is kept
    assert not BARE.search(text), text


def test_fit_command_names_both_correlations(data, tmp_path, capsys):
    path = tmp_path / "es.csv"
    data.to_csv(path, index=False)
    code = main(["fit", str(path), "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome",
                 "--rho", "0.4", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("Posterior summary"))
    assert LEGEND in lines[title - 2:title]  # the header line just above the table
    assert not BARE.search(out), out
    report = (tmp_path / "out" / "report.md").read_text()
    assert "sampling correlation within studies fixed at 0.4" in report and not BARE.search(report)
