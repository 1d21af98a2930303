"""Study labels of robma / bma are unique, as bm.rma's: a repeated label is an InputError naming both
rows and pointing to cluster= (several effects of one study), in the library and on the command line."""

from __future__ import annotations

import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main
from bayesma.errors import InputError

DF = pd.DataFrame({"d": [0.3, 0.5, 0.4, -0.2], "se": [0.1] * 4, "s": list("aabb")})


@pytest.mark.parametrize("fit", [bm.robma, bm.bma])
def test_a_repeated_label_names_both_rows_and_cluster(fit):
    with pytest.raises(InputError, match=r"duplicate study label 'a' in rows 1 and 2.*cluster="):
        fit(DF, d="d", se="se", slab="s")


def test_repeated_labels_given_as_values_are_refused_too():
    with pytest.raises(InputError, match=r"duplicate study label 'b' in rows 2 and 4"):
        bm.robma(d=[0.3, 0.5, 0.4, -0.2], se=[0.1] * 4, slab=["a", "b", "c", "b "])


def test_unique_labels_are_kept_as_text():
    fit = bm.robma(DF.assign(s=["a", "b", "c", "d"]), d="d", se="se", slab="s", ensemble="none", draws=64,
                   replicates=2)
    assert fit.labels == ["a", "b", "c", "d"]


def test_cli_robma_refuses_repeated_labels(tmp_path, capsys):
    path = tmp_path / "d.csv"
    DF.to_csv(path, index=False)
    assert main(["robma", str(path), "--d", "d", "--se", "se", "--labels", "s", "--ensemble", "none",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'a' appears in rows 1 and 2" in err and "labels must be unique" in err
