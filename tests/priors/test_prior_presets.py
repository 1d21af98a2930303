"""Named heterogeneity presets: psychology (RoBMA's InvGamma(1, 0.15) on tau), Turner, Rhodes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

import bayesma as bm
from bayesma import priors
from bayesma.errors import ArgumentTypeError, InputError


def test_psychology_preset_is_robma_default_on_tau():
    p = priors.preset("psychology")
    assert isinstance(p, priors.InverseGammaTau) and p.target == "tau"
    from bayesma.bias.components import default_heterogeneity
    assert p == default_heterogeneity()   # the prior robma() uses
    tau = np.array([0.01, 0.1, 0.216, 0.5, 2.0])
    # InvGamma(1, b) density of tau, written out: b / tau^2 exp(-b / tau)
    np.testing.assert_allclose(np.exp(p.logpdf_tau(tau)), 0.15 / tau**2 * np.exp(-0.15 / tau), rtol=1e-12)
    assert float(p.ppf_tau(0.5)) == pytest.approx(0.15 / np.log(2), rel=1e-10)
    assert "van Erp" in p.label


@pytest.mark.parametrize("name", ["psychology", "robma_psychology", "vanErp2017", "van-erp", "Psychology"])
def test_preset_names_and_parse(name):
    assert priors.preset(name) == priors.InverseGammaTau(1, 0.15)
    assert priors.parse(name) == priors.InverseGammaTau(1, 0.15)
    assert priors.parse(f"{name}()") == priors.InverseGammaTau(1, 0.15)


def test_preset_rescaled_to_other_measures():
    assert priors.preset("psychology", measure="ZCOR") == priors.InverseGammaTau(1, 0.075)
    assert priors.preset("psychology", measure="OR") == priors.InverseGammaTau(1, 0.15)   # sigma_u = 2 as for d
    assert priors.parse("psychology(measure='SMD')") == priors.InverseGammaTau(1, 0.15)
    with pytest.raises(InputError, match="measure .MD. has no unit-information SD"):
        priors.preset("psychology", measure="MD")
    assert priors.preset("turner2015") == priors.turner2015()
    assert priors.preset("rhodes2015") == priors.rhodes2015()


def test_preset_errors_and_listing():
    with pytest.raises(InputError, match="unknown prior preset 'cochrane'.*psychology"):
        priors.preset("cochrane")
    with pytest.raises(ArgumentTypeError):
        priors.preset(3)
    table = priors.presets()
    assert list(table.index) == ["psychology", "turner2015", "rhodes2015"]
    assert table.loc["psychology", "tau_median"] == pytest.approx(0.2164, abs=1e-4)
    assert "van Erp" in table.loc["psychology", "source"]


def _exact_tau_mean_by_quadrature(yi, vi, mu_sd, tau_pdf):
    """Posterior mean of tau with mu ~ N(0, mu_sd^2) integrated out analytically: an independent
    one-dimensional quadrature (the marginal of y is N(0, diag(vi + tau^2) + mu_sd^2 11'))."""
    yi, vi = np.asarray(yi), np.asarray(vi)

    def lik(tau):
        cov = np.diag(vi + tau**2) + mu_sd**2
        sign, logdet = np.linalg.slogdet(cov)
        return np.exp(-0.5 * (logdet + yi @ np.linalg.solve(cov, yi)))

    z = integrate.quad(lambda t: tau_pdf(t) * lik(t), 0, np.inf, limit=200)[0]
    m = integrate.quad(lambda t: t * tau_pdf(t) * lik(t), 0, np.inf, limit=200)[0]
    return m / z


def test_exact_engine_with_the_psychology_preset_matches_an_independent_quadrature():
    yi = np.array([-0.451, -0.181, -0.770])   # three d values (the forensic example's misconduct studies)
    vi = np.array([0.0374, 0.0466, 0.0961])
    model = bm.MetaAnalysis(pd.DataFrame({"yi": yi, "vi": vi}), "yi", "vi",
                            priors={"mu": priors.Normal(0, 1), "tau": "psychology"})
    with pytest.warns(bm.errors.SmallKWarning):
        post = model.fit(engine="exact", seed=1)
    want = _exact_tau_mean_by_quadrature(yi, vi, 1.0, lambda t: 0.15 / t**2 * np.exp(-0.15 / t) if t > 0 else 0.0)
    assert post.summary().loc["tau", "mean"] == pytest.approx(want, rel=1e-4)


def test_compare_priors_and_cli_take_the_preset_by_name(tmp_path):
    dat = pd.DataFrame({"study": ["A", "B", "C"], "yi": [-0.451, -0.181, -0.770], "vi": [0.0374, 0.0466, 0.0961]})
    cmp = bm.compare_priors(dat, "yi", "vi", labels="study", tau_priors={"psy": "psychology", "default": "halfnormal(0.5)"},
                            engine="exact", seed=1)
    assert list(cmp.table.index) == ["psy", "default"]
    assert cmp.table.loc["psy", "tau_median"] < cmp.table.loc["default", "tau_median"]
    from bayesma.cli import main
    path = tmp_path / "d.csv"
    dat.to_csv(path, index=False)
    code = main(["priors", str(path), "--yi", "yi", "--vi", "vi", "--labels", "study", "--engine", "exact",
                 "--tau-prior", "psychology", "--tau-prior", "halfnormal(0.5)", "--out", str(tmp_path / "o")])
    assert code == 0
    table = pd.read_csv(tmp_path / "o" / "priors.csv", index_col=0)
    assert table.index[0] == "InverseGammaTau(alpha=1, beta=0.15)"
    assert table.iloc[0]["tau_median"] == pytest.approx(cmp.table.loc["psy", "tau_median"], rel=1e-6)
