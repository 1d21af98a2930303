"""The rma_mv rows of the report's and the console's frequentist tables carry the fit's between-study SDs:
the square roots of its variance components, named as the posterior's (tau, tau_within, tau[<outcome>]).
Expected values: metafor 3.8.1 (tests/data/reference/metafor/metafor_cases_v3.json, metafor_mv_mods.json)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.report.dependent import dependent_fits
from bayesma.report.tables import comparison_table, frequentist_table

REF = Path(__file__).parents[1] / "data" / "reference" / "metafor"


def _cases(name: str) -> dict:
    return {c["name"]: c for c in json.loads((REF / name).read_text())["cases"]}


def _berkey() -> tuple[pd.DataFrame, np.ndarray]:
    inp = dict(json.loads((REF / "metafor_mv_mods.json").read_text())["input"])
    V = np.array(inp.pop("V"))
    return pd.DataFrame(inp), V


def _model(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(*args, **kwargs)


def test_multivariate_cs_row_has_tau():
    df, V = _berkey()
    model = _model(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS")
    table = frequentist_table(dependent_fits(model.spec))
    tau2 = _cases("metafor_cases_v3.json")["berkey1998_CS"]["expect"]["tau2"]
    np.testing.assert_allclose(table["tau"], np.sqrt(tau2), rtol=1e-4)
    assert not any(str(c).startswith("tau[") for c in table.columns)


def test_multivariate_hcs_with_moderators_has_a_tau_per_outcome():
    df, V = _berkey()
    mods = "~ 0 + outcome + I(year - 1983)"
    model = _model(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="HCS", mods=mods)
    table = frequentist_table(dependent_fits(model.spec))
    tau2 = _cases("metafor_mv_mods.json")[f"berkey1998 HCS REML {mods}"]["expect"]["tau2"]
    np.testing.assert_allclose(table["tau[AL]"], np.sqrt(tau2[0]), rtol=1e-4)
    np.testing.assert_allclose(table["tau[PD]"], np.sqrt(tau2[1]), rtol=1e-4)
    assert table["tau"].isna().all()  # no single tau: said by the per-outcome columns


@pytest.mark.parametrize("mods, case", [(None, "assink2016_che_rho06"), ("~ deltype", "assink2016_che_deltype")])
def test_che_rows_have_tau_and_tau_within(mods, case):
    dat = bm.load_dataset("dat.assink2016")
    model = _model(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6, mods=mods)
    fits = dependent_fits(model.spec)
    sigma2 = _cases("metafor_cases_v3.json")[case]["expect"]["model"]["sigma2"]
    table = frequentist_table(fits)
    np.testing.assert_allclose(table["tau"], np.sqrt(sigma2[0]), rtol=1e-4)
    np.testing.assert_allclose(table["tau_within"], np.sqrt(sigma2[1]), rtol=1e-4)
    if mods is None:  # the console's table: the posterior's tau_within beside the fit's
        summary = model.fit(engine="exact", seed=1).summary()
        cmp = comparison_table(fits, summary, "exact")
        np.testing.assert_allclose(cmp["tau_within"].iloc[0], np.sqrt(sigma2[1]), rtol=1e-4)
        assert cmp.loc["Bayesian (exact)", "tau_within"] == summary.loc["tau_within", "median"]
        assert cmp.loc["Bayesian (exact)", "tau"] == summary.loc["tau", "median"]


def test_report_table_of_a_multivariate_fit_shows_tau():
    df, V = _berkey()
    model = _model(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS",
                   priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    text = model.fit(engine="exact", seed=1).report()
    rows = [line for line in text.split("## Frequentist estimates")[1].splitlines() if line.startswith("| REML")]
    tau = np.sqrt(_cases("metafor_cases_v3.json")["berkey1998_CS"]["expect"]["tau2"])
    assert len(rows) == 2 and all(f"| {tau:.4f} |" in row for row in rows)
