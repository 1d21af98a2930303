"""``bayesma robma --mods ... --cluster ...``: RoBMA-reg and multilevel RoBMA from a file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesma.cli import main


@pytest.fixture()
def clustered_csv(tmp_path):
    rng = np.random.default_rng(4)
    study = np.repeat([f"study {i}" for i in range(8)], 3)
    rater = np.repeat(np.where(np.arange(8) % 2 == 0, "clinician", "self-report"), 3)
    se = np.repeat(rng.uniform(0.12, 0.3, 8), 3)
    d = 0.3 + 0.15 * (rater == "clinician") + rng.normal(0, se)
    path = tmp_path / "effects.csv"
    pd.DataFrame({"study": study, "d": d, "se": se, "rater": rater}).to_csv(path, index=False)
    return path


def test_mods_and_cluster_print_moderators_marginal_means_and_rho(clustered_csv, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["robma", str(clustered_csv), "--d", "d", "--se", "se", "--mods", "~ rater", "--cluster", "study",
                 "--ensemble", "PP", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Moderators" in text and "Marginal means" in text
    assert "rater[clinician]" in text and "rho" in text
    models = pd.read_csv(out / "robma_models.csv")
    assert len(models) == 24


def test_cluster_with_a_missing_value_is_an_input_error(clustered_csv, tmp_path, capsys):
    df = pd.read_csv(clustered_csv)
    df.loc[4, "study"] = np.nan
    df.to_csv(clustered_csv, index=False)
    assert main(["robma", str(clustered_csv), "--d", "d", "--se", "se", "--cluster", "study", "--ensemble", "PP",
                 "--out", str(tmp_path / "o")]) == 2
    assert "study" in capsys.readouterr().err
