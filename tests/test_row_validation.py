"""One rule for bad cells: MetaData (the library) and the command line's whole-file check agree on every cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli.checks import check_rows


@pytest.mark.parametrize("column, value, word", [
    ("vi", -0.02, "negative"), ("vi", 0.0, "0"), ("vi", np.inf, "non-finite"), ("yi", np.inf, "non-finite"),
])
def test_library_and_command_line_refuse_the_same_cell(column, value, word):
    df = pd.DataFrame({"study": ["A", "B", "C", "D"], "yi": [0.1, 0.2, 0.3, 0.4], "vi": [0.01, 0.02, 0.03, 0.04]})
    df.loc[2, column] = value
    with pytest.raises(bm.InputError) as lib:
        bm.MetaData.create("yi", "vi", data=df, labels="study")
    assert (lib.value.study, lib.value.row, lib.value.column) == ("C", 3, column)
    assert f"column '{column}': study 'C' (row 3)" in str(lib.value)
    with pytest.raises(bm.InputError) as cli:
        check_rows(df, {"yi": "yi", "vi": "vi", "sei": None, "labels": "study", "missing": "raise"})
    assert "study 'C' (row 3)" in str(cli.value) and f"column '{column}'" in str(cli.value) and word in str(cli.value)


def test_a_clean_file_passes_both():
    df = pd.DataFrame({"study": ["A", "B"], "yi": [0.1, 0.2], "vi": [0.01, 0.02]})
    assert bm.MetaData.create("yi", "vi", data=df, labels="study").k == 2
    check_rows(df, {"yi": "yi", "vi": "vi", "sei": None, "labels": "study", "missing": "raise"})
