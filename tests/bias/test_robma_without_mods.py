"""moderators() and marginal_means() of a robma / bma fit without mods= raise a typed error saying to
fit with mods= (not a bare AttributeError), also for a multilevel fit (cluster= without mods=)."""

from __future__ import annotations

import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import UnsupportedModelError

DF = pd.DataFrame({"d": [0.3, 0.5, 0.4, 0.1, 0.2, 0.35], "se": [0.1] * 6, "study": list("aabbcc")})


@pytest.fixture(scope="module", params=["plain", "cluster"])
def fit(request):
    kw = {"cluster": "study"} if request.param == "cluster" else {}
    return bm.bma(DF, d="d", se="se", draws=64, replicates=2, **kw)


@pytest.mark.parametrize("method", ["moderators", "marginal_means"])
def test_methods_of_moderators_say_to_fit_with_mods(fit, method):
    with pytest.raises(UnsupportedModelError, match=rf"{method}\(\) needs moderators.*mods="):
        getattr(fit, method)()
