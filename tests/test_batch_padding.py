"""fit_many and ``bayesma fit --by`` with NUTS: groups of different sizes share one compiled model.

NUTS models are padded to a bucket of studies (64, 128, ...); a batch pads every group to the bucket
of its largest group, so that it compiles once. The compile is replaced by a stand-in that records
which model it was asked for and fails, so no test here compiles anything: the models built are
counted in the cache.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.batch_steps import padded
from bayesma.cli import main
from bayesma.models import nuts, nuts_prepare
from bayesma.models.build import structure_key
from bayesma.models.nuts import ModelCache

PRIORS = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}


class NotCompiled(RuntimeError):
    pass


@pytest.fixture
def two_buckets() -> pd.DataFrame:
    """Two meta-analyses, of 5 and of 70 studies: buckets 64 and 128 when each is padded alone."""
    rng = np.random.default_rng(1)
    frames = [pd.DataFrame({"g": g, "study": [f"{g}{i}" for i in range(k)], "yi": rng.normal(0.2, 0.3, k),
                            "vi": rng.uniform(0.02, 0.1, k)}) for g, k in (("small", 5), ("large", 70))]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def compiles(monkeypatch) -> tuple[ModelCache, list]:
    """A fresh process-wide model cache and a compile step that records its model and fails."""
    cache, asked = ModelCache(), []

    def record(entry, sampler, values, target_accept):
        asked.append(entry.handles.key)
        raise NotCompiled("not compiled in this test")

    monkeypatch.setattr(nuts, "MODEL_CACHE", cache)
    monkeypatch.setattr(nuts_prepare, "compile_entry", record)
    return cache, asked


def test_alone_the_groups_would_need_two_compiled_models(two_buckets):
    keys = {structure_key(bm.MetaAnalysis(sub, priors=PRIORS).spec, pad=True) for _, sub in two_buckets.groupby("g")}
    assert len(keys) == 2


def test_fit_many_pads_every_group_to_the_largest_groups_bucket(two_buckets, compiles):
    cache, asked = compiles
    res = bm.fit_many(two_buckets, by="g", engine="nuts", priors=PRIORS, seed=1, progress=False)
    assert res.groups["error"].str.contains("not compiled in this test").all()  # both groups reached the compile
    assert len(asked) == 2 and len(set(asked)) == 1 and len(cache) == 1  # one model for both
    assert asked[0][3] == 128 and res.settings["pad"] == {"large": 70, "small": 70}


def test_fit_by_on_the_command_line_builds_one_model(two_buckets, compiles, tmp_path, capsys):
    cache, asked = compiles
    path = tmp_path / "two.csv"
    two_buckets.to_csv(path, index=False)
    code = main(["fit", str(path), "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "g", "--engine", "nuts",
                 "--mu-prior", PRIORS["mu"], "--tau-prior", PRIORS["tau"], "--out", str(tmp_path / "out")])
    assert code == 2 and "not compiled in this test" in capsys.readouterr().err  # the stand-in's error, per group
    assert len(asked) == 2 and len(set(asked)) == 1 and len(cache) == 1


def test_only_nuts_fits_of_padded_models_get_the_batchs_bucket(two_buckets):
    small = bm.MetaAnalysis(two_buckets[two_buckets["g"] == "small"], priors=PRIORS).spec
    assert padded(small, {"engine": "nuts", "draws": 10}, 70) == {"engine": "nuts", "draws": 10, "pad": 70}
    assert padded(small, {"engine": "auto", "tune": 50}, 70)["pad"] == 70  # a NUTS option: auto runs NUTS
    assert "pad" not in padded(small, {"engine": "auto", "draws": 10}, 70)  # the exact engine compiles nothing
    assert "pad" not in padded(small, {"engine": "exact"}, 70)
    assert padded(small, {"engine": "nuts", "pad": False}, 70)["pad"] is False  # the user's own choice stays
    three = bm.MetaAnalysis(two_buckets.assign(c=np.arange(len(two_buckets)) // 3).query("g == 'large'"),
                            cluster="c", priors=PRIORS).spec
    assert "pad" not in padded(three, {"engine": "nuts"}, 70)  # three-level fits stay unpadded, as alone
    student = bm.MetaAnalysis(two_buckets[two_buckets["g"] == "small"], priors=PRIORS, likelihood="student_t").spec
    assert "pad" not in padded(student, {"engine": "nuts"}, 70)  # a padded study costs it far more sampling
    assert "pad" not in padded(small, {"engine": "nuts", "parameterization": "centered"}, 70)


def test_pad_must_be_a_bool_or_a_number_of_studies(two_buckets):
    spec = bm.MetaAnalysis(two_buckets[two_buckets["g"] == "small"], priors=PRIORS).spec
    with pytest.raises(TypeError, match="pad must be"):
        nuts.sample(spec, pad="yes")
    with pytest.raises(ValueError, match="must be >= 1"):
        nuts.sample(spec, pad=0)


def test_a_bucket_joins_a_larger_one_only_when_that_costs_less_than_a_compile():
    from bayesma.batch_steps import PAD_BUDGET, batch_pads

    assert batch_pads([5, 40, 70]) == [70, 70, 70]  # 2 x 64 padded studies more: one bucket
    many = PAD_BUDGET // 64 + 1  # small meta-analyses enough that 64 more studies each cost more than a compile
    assert set(batch_pads([5] * many + [70])) == {5, 70}
    assert set(batch_pads([5] * many + [70], steps=8000 * 2)) == {5, 70}
    assert set(batch_pads([5] * (many // 2) + [70])) == {70}
    assert set(batch_pads([5] * many + [70], steps=8000 // 2)) == {70}  # half the sampling: worth padding
    assert batch_pads([]) == [] and batch_pads([3]) == [3]


def test_a_group_fitted_alone_with_its_padding_and_seed_gives_the_same_draws(bcg_rr, smoke_post):
    """The claim of fit_many's docs, on the smoke fit's compiled model (same structure: bucket 64)."""
    data = bcg_rr.assign(half=np.where(np.arange(len(bcg_rr)) < 5, "first", "rest"))
    kw = dict(draws=50, tune=50, chains=2)
    res = bm.fit_many(data, by="half", labels="trial", measure="RR", priors=PRIORS, engine="nuts", seed=3,
                      progress=False, **kw)
    assert res.settings["pad"] == {"first": 8, "rest": 8}  # the bucket's largest k: one model for both
    sub = data[data["half"] == "first"]
    alone = bm.MetaAnalysis(sub, labels="trial", measure="RR", priors=PRIORS).fit(
        engine="nuts", seed=int(res.groups.loc["first", "seed"]), pad=res.settings["pad"]["first"], warn=False, **kw)
    np.testing.assert_array_equal(alone.idata.posterior["mu"].values, res.fit("first").idata.posterior["mu"].values)
