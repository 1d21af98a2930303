"""`bayesma priors` never drops a prior: two different priors under one label are an error."""

from __future__ import annotations

import pandas as pd

from bayesma.cli import main


def test_two_priors_under_one_label_are_an_error(tmp_path, capsys):
    csv = tmp_path / "d.csv"
    pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5], "vi": [0.01, 0.02, 0.03, 0.02]}).to_csv(csv, index=False)
    code = main(["priors", str(csv), "--yi", "yi", "--vi", "vi", "--tau-prior", "a=halfnormal(0.5)",
                 "--tau-prior", "a=halfnormal(1)", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0 and "two priors under the label 'a'" in err
