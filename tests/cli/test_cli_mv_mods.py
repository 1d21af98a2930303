"""``bayesma mv --mods`` without ``--che``: moderators in the multivariate model across outcomes (the same
``random = ~ outcome | study`` structure); numbers against metafor 3.8.1 + clubSandwich 0.5.8
(tests/data/reference/metafor/metafor_mv_cli_mods.R, on the seed's shape of metafor_mv_more.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

from bayesma.cli import main

SEED = {c["name"]: c for c in load_json("metafor/metafor_mv_more.json")["cases"]}["seed_shape_CS_REML"]
CASES = {c["name"]: c for c in load_json("metafor/metafor_mv_cli_mods.json")["cases"]}


@pytest.mark.parametrize("struct", ["CS", "HCS"])
def test_multivariate_model_with_moderators_equals_metafor(struct, tmp_path):
    path = tmp_path / "alliance.csv"
    pd.DataFrame({k: v for k, v in SEED["input"].items() if k != "V"}).to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["mv", str(path), "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome",
                 "--rho", "0.5", "--struct", struct, "--mods", "~ 0 + outcome + setting", "--out", str(out)])
    assert code == 0
    exp = CASES[f"seed_shape_{struct}_REML_mods_setting"]["expect"]
    table = pd.read_csv(out / "mv.csv", index_col="coef")
    assert list(table.index) == exp["coef_names"]
    np.testing.assert_allclose(table["estimate"], exp["beta"], rtol=1e-4)
    np.testing.assert_allclose(table["se"], exp["se"], rtol=1e-4)
    rob = exp["robust_cr2"]
    np.testing.assert_allclose(table["rob_se"], rob["se"], rtol=1e-4)
    np.testing.assert_allclose(table["rob_df"], rob["df"], rtol=1e-4)
    report = (out / "report.md").read_text()
    assert f"random = ~ outcome | study (struct = {struct}), mods = ~ 0 + outcome + setting" in report
