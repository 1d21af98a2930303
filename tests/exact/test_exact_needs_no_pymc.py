"""The exact engine never imports PyMC or PyTensor (2-7 s of a first fit are PyMC's import alone)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_an_exact_fit_imports_neither_pymc_nor_pytensor():
    code = textwrap.dedent(
        """
        import sys, warnings
        warnings.simplefilter("ignore")
        import bayesma as bm
        ma = bm.MetaAnalysis(yi=[0.1, 0.3, 0.2, 0.4, 0.0], vi=[0.01, 0.02, 0.03, 0.02, 0.04])
        ma.fit(engine="exact", seed=1).summary()
        print(sorted(m for m in ("pymc", "pytensor", "nutpie") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
