"""Every console printout fits a terminal of 100 columns, as metafor's do: the command line's tables split
into parts (each part starting with the row names) and its prose wrapped; the ``repr`` of the result objects
likewise. Nothing is lost: each row's cells, read across the parts, are the cells the one wide table printed
(the strings below were printed by the commands before the tables were split), and the files keep every
column."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main
from bayesma.cli.console import WIDTH, column_blocks, print_table

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def bcg(tmp_path_factory) -> pytest.TempPathFactory:
    """BCG trials (metafor's dat.bcg) as log risk ratios; 'outcome' alternates B, A to give two groups."""
    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    es["outcome"] = ["A" if i % 2 else "B" for i in range(len(es))]
    es["study"] = es["author"] + " " + es["year"].astype(str)
    path = tmp_path_factory.mktemp("width") / "bcg.csv"
    es.to_csv(path, index=False)
    return path


def _run(argv, capsys) -> str:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _too_wide(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if len(ln) > WIDTH]


def _row(out: str, key: str) -> list[str]:
    """The cells of the row *key* (its first cell), read across the parts of a split table."""
    parts = [re.split(r"\s{2,}", ln.strip()) for ln in out.splitlines() if ln.startswith(key + "  ")]
    assert parts, key
    return parts[0] + [c for p in parts[1:] for c in p[1:]]


# the rows these commands printed as one wide table (118 to 137 columns) before the tables were split
BEFORE = {
    "fit_by": ("A        6  -0.45 [-0.54, -0.36]  -0.85 [-1.45, -0.26]  139.11 (5)  < .001  96%  0.461  "
               "[-2.31, 0.61]  -0.85 [-1.56, -0.11]  .015"),
    "rma": "FE         13   -0.4303  0.0405  -0.5097  -0.3509  <.0001  0.0000  92.1173  152.2330  12  <.0001  "
           "-0.5097  -0.3509",
    "rma_kh": "REML + KH  13   -0.7145  0.1808  -1.1084  -0.3206  0.0019  0.3132  92.2214  152.2330  12  <.0001  "
              "-1.9960   0.5670",
    "rma_by": "B        7  -0.38 [-0.54, -0.21]  -0.49 [-0.81, -0.16]  12.59 (6)   .050    59%  0.095  [-1.17, 0.20]",
    "smallk": ("Aronson 1948               12  -0.7062  0.2073   -1.1264   -0.3005      0.5979     0.3626     1.0210"
               "    -2.0731     0.6442         0.0012"),
    "priors": "HalfNormal(0.694) (default)  -0.71 [-1.11, -0.33]  0.58 [0.35, 0.97]  [-2.03, 0.58]  < .001     3.512",
    "mv": ("A        6        6   -0.8583  0.2575  -1.3631  -0.3535  0.0009  0.3014    4.55    -1.6567    -0.0598"
           "    0.0400"),
}
_KEYS = {"fit_by": "A", "rma": "FE", "rma_kh": "REML + KH", "rma_by": "B", "smallk": "Aronson 1948",
         "priors": "HalfNormal(0.694) (default)", "mv": "A"}


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


class TestCommandLine:
    """Each subcommand's printout on the BCG trials (exact engine, small simulation)."""

    @pytest.fixture(autouse=True)
    def _here(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)  # short paths in the messages, as a user's relative ones

    def _out(self, bcg, tmp_path, capsys, *argv) -> str:
        return _run([argv[0], bcg, "--yi", "yi", "--vi", "vi", *argv[1:], "--out", "o"], capsys)

    def test_fit_by(self, bcg, tmp_path, capsys):  # bcg: an absolute path, as a user may give
        out = self._out(bcg, tmp_path, capsys, "fit", "--by", "outcome", "--engine", "exact", "--seed", "1")
        assert not _too_wide(out)  # was 133 columns
        assert _row(out, "A") == _cells(BEFORE["fit_by"])
        combined = pd.read_csv(tmp_path / "o" / "combined.csv")
        assert len(combined.columns) > len(_row(out, "A"))  # the file keeps every number

    def test_fit_prior_notes_are_wrapped(self, bcg, tmp_path, capsys):
        out = self._out(bcg, tmp_path, capsys, "fit", "--labels", "study", "--engine", "exact", "--seed", "1")
        assert not _too_wide(out)  # the data-scaled prior notes were 318 and 349 columns
        assert "choose priors on the outcome's scale" in " ".join(out.split())

    def test_rma(self, bcg, tmp_path, capsys):
        out = self._out(bcg, tmp_path, capsys, "rma", "--labels", "study")
        assert not _too_wide(out)  # was 114 columns
        assert _row(out, "FE") == _cells(BEFORE["rma"])
        assert _row(out, "REML + KH") == _cells(BEFORE["rma_kh"])

    def test_rma_by(self, bcg, tmp_path, capsys):
        out = self._out(bcg, tmp_path, capsys, "rma", "--by", "outcome")
        assert not _too_wide(out)
        assert _row(out, "B") == _cells(BEFORE["rma_by"])

    def test_smallk(self, bcg, tmp_path, capsys):
        out = self._out(bcg, tmp_path, capsys, "smallk", "--labels", "study", "--k", "3", "--tau", "0.3",
                        "--n-sim", "20", "--seed", "1")
        assert not _too_wide(out)  # was 137 columns
        assert _row(out, "Aronson 1948") == _cells(BEFORE["smallk"])

    def test_priors(self, bcg, tmp_path, capsys):
        out = self._out(bcg, tmp_path, capsys, "priors", "--labels", "study", "--seed", "1")
        assert not _too_wide(out)  # was 107 columns
        assert _row(out, "HalfNormal(0.694) (default)") == _cells(BEFORE["priors"])

    def test_mv(self, bcg, tmp_path, capsys):
        out = self._out(bcg, tmp_path, capsys, "mv", "--cluster", "trial", "--outcome", "outcome")
        assert not _too_wide(out)  # was 111 columns
        assert _row(out, "A") == _cells(BEFORE["mv"])

    @pytest.mark.parametrize("argv", [["subgroup", "--by", "outcome"], ["bias", "--labels", "study"],
                                      ["robma", "--labels", "study", "--seed", "1"]])
    def test_other_commands(self, bcg, tmp_path, capsys, argv):
        assert not _too_wide(self._out(bcg, tmp_path, capsys, *argv))

    def test_escalc(self, bcg, tmp_path, capsys):
        bm.load_dataset("dat.bcg").to_csv("trials.csv", index=False)
        out = _run(["escalc", "RR", "trials.csv", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg",
                    "--out", "e.csv"], capsys)
        assert not _too_wide(out)


def test_all_nan_columns_are_left_out_of_the_printout(capsys):
    df = pd.DataFrame({"estimate": [0.1234, -0.5], "rob_se": [np.nan, np.nan]}, index=["a", "b"])
    print_table(df, title="t")
    out = capsys.readouterr().out
    assert "rob_se" not in out and "0.1234" in out
    assert "rob_se" in df.columns  # the DataFrame keeps it


def test_parts_repeat_the_row_names_and_keep_the_column_order():
    blocks = column_blocks([20, 30, 30, 30, 30], keys=1, width=WIDTH)
    assert [b[0] for b in blocks] == [0, 0]
    assert [j for b in blocks for j in b[1:]] == [1, 2, 3, 4]
    assert all(sum(20 if j == 0 else 30 for j in b) + 2 * (len(b) - 1) <= WIDTH for b in blocks)


def test_result_reprs_fit_100_columns(bcg):
    es = pd.read_csv(bcg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {
            "MetaPosterior": bm.MetaAnalysis(es, "yi", "vi", labels="study").fit(engine="exact", seed=1),
            "RMAResult": bm.rma("yi", "vi", data=es, mods="~ ablat"),
            "RMAMVResult": bm.rma_mv("yi", "vi", data=es, random="~ 1 | trial"),
            "SubgroupResult": bm.subgroup("yi", "vi", data=es, by="outcome"),
            "FitManyResult": bm.fit_many(es, "outcome", "yi", "vi", engine="exact", seed=1),
            "PriorComparison": bm.compare_priors(es, "yi", "vi", seed=1),
            "InfluenceResult": bm.leave_one_out(es, "yi", "vi", seed=1),
            "RoBMAResult": bm.robma(es, "yi", "vi", seed=1),
        }
    for name, res in results.items():
        assert not _too_wide(repr(res)), name
    # the leave-one-out numbers, split in parts by pandas, are the ones the command prints
    loo = repr(results["InfluenceResult"])
    assert "-0.7062" in loo and "0.0012" in loo
