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


def test_an_exact_fit_builds_its_inferencedata_only_when_asked():
    """ArviZ's import (2-3 s in a fresh process) is paid only when the draws are read as an InferenceData."""
    code = textwrap.dedent(
        """
        import sys, warnings
        warnings.simplefilter("ignore")
        import numpy as np
        import bayesma as bm
        ma = bm.MetaAnalysis(yi=[0.1, 0.3, 0.2, 0.4, 0.0], vi=[0.01, 0.02, 0.03, 0.02, 0.04])
        post = ma.fit(engine="exact", seed=1)
        post.summary(); repr(post); post.n_draws; post.posterior["mu"]
        before = "arviz" in sys.modules
        idata = post.idata
        same = bool(np.array_equal(idata.posterior["mu"].values, post.posterior["mu"].values))
        print(before, "arviz" in sys.modules, same, sorted(idata.groups()))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False True True ['constant_data', 'observed_data', 'posterior']"
