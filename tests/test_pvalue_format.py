"""One p-value formatter: the frequentist printouts, the report and the figures all call bayesma._format.format_p."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bayesma._format import format_p
from bayesma.frequentist._printing import _fmt_p, _p_text
from bayesma.plots._forest_layout import fmt_p as forest_p
from bayesma.report import fmt_p as report_p

PACKAGE = Path(__file__).resolve().parents[1] / "bayesma"


@pytest.mark.parametrize("p, metafor, apa", [
    (0.01234, "0.0123", ".012"), (3e-7, "<.0001", "< .001"), (0.0004, "0.0004", "< .001"),
    (0.99962, "0.9996", "> .999"), (0.5, "0.5000", ".500"), (math.nan, "NA", "n/a"), (None, "NA", "n/a"),
])
def test_the_two_styles(p, metafor, apa):
    assert format_p(p) == _fmt_p(p) == metafor
    assert format_p(p, "apa") == apa
    # metafor's test lines put a space after the relation: "p-val < .0001", "p-val = 0.0123"
    assert _p_text(p) == ("< " + metafor[1:] if metafor.startswith("<") else f"= {metafor}")
    assert report_p(p) == (apa if apa[0] in "<>" else f"= {apa}")
    assert forest_p(p) == "p " + (apa if apa[0] in "<>" else f"= {apa if apa != 'n/a' else 'NA'}")


def test_no_other_module_writes_its_own_p_value_thresholds():
    own = [str(f.relative_to(PACKAGE)) for f in PACKAGE.rglob("*.py")
           if f.name != "_format.py" and ('"<.0001"' in f.read_text() or '"< .001"' in f.read_text())]
    assert not own, f"p-value formatting outside bayesma/_format.py: {own}"
