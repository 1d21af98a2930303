"""``post.draws`` takes the row names ``summary()`` prints (``beta[intrcpt]``, ``tau[a]``,
``mu[o1]``), the same names ``post.prob`` reads; before, they raised "no parameter 'beta[intrcpt]'"
for a meta-regression, a subgroup-tau and a multivariate model. A label a vector does not have is
an UnknownParameterError (an InputError) naming its labels, not a bare KeyError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import InputError

_DATA = pd.DataFrame({"yi": [0.10, 0.35, 0.20, 0.90, 0.05, 0.40, 0.30, 0.15],
                      "vi": [0.02, 0.03, 0.05, 0.04, 0.03, 0.02, 0.06, 0.04],
                      "grp": ["a", "b"] * 4, "cl": ["c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4"],
                      "out": ["o1", "o2"] * 4})

MODELS = {
    "meta-regression": dict(mods="~ grp"),
    "tau by subgroup": dict(tau_by="grp"),
    "multivariate CS": dict(cluster="cl", outcome="out", struct="CS", rho=0.5),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_summary_row_has_its_draws(name):
    post = bm.MetaAnalysis(_DATA, "yi", "vi", **MODELS[name]).fit(engine="exact", seed=8, draws=300, chains=2)
    rows = list(post.summary(studies=False).index)
    assert any("[" in r for r in rows)
    for row in rows:
        d = post.draws(row)
        assert d.shape == (post.n_draws,)
        if "[" in row:
            base, _, label = row[:-1].partition("[")
            np.testing.assert_array_equal(d, post.draws(base, label))
        assert post.prob(f"{row} > 0") == pytest.approx(float(np.mean(d > 0)), abs=0.15)  # exact vs draws


def test_unknown_label_is_a_typed_error():
    post = bm.MetaAnalysis(_DATA, "yi", "vi", tau_by="grp").fit(engine="exact", seed=8, draws=300, chains=2)
    with pytest.raises(InputError, match=r"labels are \['a', 'b'\]"):
        post.draws("tau[c]")
