"""Every public figure at k = 2, 3, 20 and 200: no two drawn texts overlap and none leaves the canvas.

Each figure function or plot method of a result is drawn from a fit at each k (exact engine or
frequentist fits; no MCMC; k = 200 in the slow tier, a few seconds per figure) and checked with ``assert_readable`` (bounding boxes of the
``matplotlib.text.Text`` artists after ``canvas.draw()``, empty texts ignored, 0.5 px tolerance).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

matplotlib = pytest.importorskip("matplotlib")
from _helpers import _texts, assert_readable  # noqa: E402

KS = (2, 3, 20, 200)
OUTCOMES = np.array(["dropout", "misconduct", "recidivism"])


def _data(k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed + k)
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    labels = [f"{'Abcdefgh'[i % 8] * (2 + i % 3)} et al. ({1985 + i % 35}) #{i + 1}" for i in range(k)]
    df = pd.DataFrame({"yi": yi, "vi": vi, "label": labels, "outcome": OUTCOMES[np.arange(k) % 3],
                       "x": np.linspace(0.0, 1.0, k), "study": [f"S{i // 2 + 1:03d}" for i in range(k)]})
    df.attrs["measure"] = "SMD"
    return df


class _Fits:
    """The fits of one k, built on first use (each figure needs only some of them)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.df = _data(k)
        self._cache: dict[str, object] = {}

    def get(self, name: str, make):
        if name not in self._cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._cache[name] = make()
        return self._cache[name]

    @property
    def rma(self):
        return self.get("rma", lambda: bm.rma("yi", "vi", data=self.df, labels="label"))

    @property
    def post(self):
        return self.get("post", lambda: bm.MetaAnalysis(self.df, yi="yi", vi="vi", labels="label",
                                                        measure="SMD").fit(engine="exact", seed=1))


@pytest.fixture(scope="module")
def fits():
    return {k: _Fits(k) for k in KS}


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


# -- the figures: name -> (minimum k, a function of the fits of one k returning a Figure) ------------------


def _subgroup(f):
    return bm.subgroup("yi", "vi", by="outcome", data=f.df, labels="label").forest()


def _selection(f):
    return bm.selmodel(f.rma, type="stepfun", steps=[0.025, 0.5]).plot()


def _trimfill(f):
    return bm.trimfill(f.rma).funnel()


def _sunset(f):
    return bm.sunset_values("yi", "vi", data=f.df).plot()


def _grouped(f):
    pooled = pd.DataFrame({"estimate": [0.3, 0.2, 0.25], "ci_lb": [0.1, 0.0, 0.05], "ci_ub": [0.5, 0.4, 0.45]},
                          index=list(OUTCOMES))
    return bm.plots.forest_grouped(f.df["yi"], f.df["vi"], f.df["study"], f.df["outcome"], pooled=pooled,
                                   measure="SMD", title="Outcomes")


def _robma(f, which, **kw):
    fit = f.get("robma", lambda: bm.robma(yi=f.df["yi"].to_numpy(), sei=np.sqrt(f.df["vi"].to_numpy()),
                                          draws=256, replicates=2))
    return getattr(fit, which)(**kw)


def _loo(f):
    return bm.leave_one_out(f.df, "yi", "vi", labels="label", engine="exact", seed=1).plot()


def _compare_priors(f):
    return bm.compare_priors(f.df, "yi", "vi", tau_priors={"HN(0.5)": "halfnormal(0.5)", "HN(1)": "halfnormal(1)"},
                             engine="exact", seed=1).plot()


def _mods_forest(f):
    return bm.rma("yi", "vi", data=f.df, labels="label", mods="~ outcome").forest()


def _bayes_mods_forest(f):
    post = f.get("post_mods", lambda: bm.MetaAnalysis(f.df, yi="yi", vi="vi", labels="label", measure="SMD",
                                                      mods="~ outcome").fit(engine="exact", seed=1))
    return post.forest()


def _dependent(f, **kw):
    post = f.get(f"dep{sorted(kw)}", lambda: bm.MetaAnalysis(f.df, yi="yi", vi="vi", labels="label", cluster="study",
                                                             rho=0.5, **kw).fit(engine="exact", seed=1))
    return post.forest()


FIGURES = {
    "forest_rma": (2, lambda f: f.rma.forest()),
    "forest_rma with moderators": (6, _mods_forest),
    "funnel_rma": (2, lambda f: f.rma.funnel()),
    "funnel trimfill": (3, _trimfill),
    "forest_subgroup": (6, _subgroup),
    "forest_grouped": (2, _grouped),
    "influence": (3, lambda f: bm.influence(f.rma).plot()),
    "baujat": (3, lambda f: bm.baujat(f.rma)),
    "cumul": (2, lambda f: bm.cumul(f.rma).plot()),
    "leave1out": (3, lambda f: bm.leave1out(f.rma).plot()),
    "selection": (6, _selection),
    "sunset": (2, _sunset),
    "forest (Bayesian)": (2, lambda f: f.post.forest()),
    "forest (Bayesian, moderators)": (6, _bayes_mods_forest),
    "forest (Bayesian, CHE)": (3, _dependent),
    "forest (Bayesian, multivariate)": (20, lambda f: _dependent(f, outcome="outcome", struct="CS")),
    "plot_forest (ArviZ)": (2, lambda f: f.post.plot_forest()),
    "prior_posterior": (2, lambda f: f.post.plot_prior_posterior()),
    "trace": (2, lambda f: f.post.plot_trace()),
    "leave_one_out (Bayesian)": (3, _loo),
    "compare_priors": (2, _compare_priors),
    "posterior predictive check": (2, lambda f: f.post.ppc().plot()),
    "influence (dfbetas)": (3, lambda f: bm.influence(f.rma).plot(dfbetas=True)),
    "robma plot_mu": (2, lambda f: _robma(f, "plot_mu")),
    "robma plot_mu (conditional)": (2, lambda f: _robma(f, "plot_mu", conditional=True)),
    "robma plot_weightfunction": (2, lambda f: _robma(f, "plot_weightfunction")),
}


@pytest.mark.parametrize("k", [pytest.param(k, marks=pytest.mark.slow) if k > 100 else k for k in KS])
@pytest.mark.parametrize("name", list(FIGURES))
def test_no_two_texts_overlap(fits, name, k):
    k_min, make = FIGURES[name]
    if k < k_min:
        pytest.skip(f"{name} needs k >= {k_min}")
    fig = _quiet(lambda: make(fits[k]))
    assert_readable(fig, f"{name} k={k}")


def _text_hits_a_curve(fig) -> list[str]:
    """Texts of each axes (annotations, legends inside it) that a drawn curve passes through."""
    from matplotlib.text import Text

    hits = []
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        texts = [t for t in ax.findobj(Text) if t.get_visible() and t.get_text().strip()
                 and t not in ax.get_xticklabels() + ax.get_yticklabels()
                 and t not in (ax.xaxis.label, ax.yaxis.label, ax.title)]
        for t in texts:
            box = t.get_window_extent(renderer)
            for other in fig.axes:
                for line in other.get_lines():
                    path = line.get_transform().transform_path(line.get_path())
                    if path.intersects_bbox(box, filled=False):
                        hits.append(f"{t.get_text()!r} crossed by {line.get_label()!r}")
    return hits


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("which", ["plot_mu", "plot_weightfunction"])
def test_robma_curves_never_cross_a_label(fits, which, k):
    fig = _quiet(lambda: _robma(fits[k], which))
    _texts(fig)  # draws
    assert _text_hits_a_curve(fig) == []
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    if which == "plot_weightfunction":  # the cutoffs' labels, each on its own tick
        assert labels[-3:] == ["0.95", "0.975", "1"]


def test_the_curve_check_can_fail():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="diagonal")
    ax.text(0.45, 0.5, "in the way")
    _texts(fig)
    assert _text_hits_a_curve(fig) == ["'in the way' crossed by 'diagonal'"]


def test_the_check_sees_every_text_artist():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.set_title("a title")
    ax.annotate("an annotation", (0.5, 0.5))
    fig.suptitle("a suptitle")
    ax.text(0.1, 0.1, "")  # empty: ignored
    shown = {t.get_text() for t in _texts(fig)}
    assert {"a title", "an annotation", "a suptitle"} <= shown and "" not in shown


def test_plots_of_one_outcome_say_which_outcome():
    df = _data(24)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = bm.fit_many(df, by="outcome", yi="yi", vi="vi", labels="label", engine="exact", seed=1)
        post = many.fit("misconduct")
        sg = bm.subgroup("yi", "vi", by="outcome", data=df, labels="label")
        whole = bm.rma("yi", "vi", data=df, labels="label")
    texts = lambda fig: {t.get_text() for t in _texts(fig)}  # noqa: E731
    assert "outcome = misconduct" in texts(post.forest())
    assert "outcome = misconduct" in texts(post.plot_prior_posterior())
    assert "outcome = dropout" in texts(sg.fits["dropout"].forest())
    assert "outcome = dropout" in texts(sg.fits["dropout"].funnel())
    assert not any(t.startswith("outcome =") for t in texts(whole.forest()) | texts(whole.funnel()))
    assert "my title" in texts(sg.fits["dropout"].funnel(title="my title"))
    for fig in (post.forest(), post.plot_prior_posterior(), sg.fits["dropout"].funnel()):
        assert_readable(fig, "titled plot")


def test_command_line_parts_carry_their_title():
    from bayesma.cli.options import groups_of

    df = _data(24)
    parts = dict(groups_of(df, "outcome"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma("yi", "vi", data=parts["dropout"], labels="label")
        sg = bm.subgroup("yi", "vi", by="g", data=parts["recidivism"].assign(g=["a", "b"] * 4), labels="label")
    assert "outcome = dropout" in {t.get_text() for t in _texts(res.funnel(contours=[0.9, 0.95, 0.99]))}
    assert "outcome = recidivism" in {t.get_text() for t in _texts(sg.forest())}
    assert sg.fits["a"].data.data.attrs["subset"] == "outcome = recidivism, g = a"
    assert "subset" not in df.attrs  # the caller's frame is left alone
