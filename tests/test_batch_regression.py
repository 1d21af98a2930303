"""fit_many with mods=: the vectorised meta-regressions equal each group fitted alone (rtol 1e-10), and the
groups they cannot take (bad rows, a design the group cannot fit, flat coefficient priors) give what
fitting them alone gives."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.batch_steps import posterior_rows

SIZES = {"k3": 3, "k4a": 4, "k4b": 4, "k7": 7, "k12a": 12, "k12b": 12, "k2": 2}


def _studies(seed: int = 11) -> pd.DataFrame:
    """Groups of different k (two of each of k = 4 and 12: fitted together), a continuous x, a text arm."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, k in SIZES.items():
        vi = rng.uniform(0.01, 0.15, k)
        x = rng.normal(size=k)
        arm = np.array(["drug", "placebo"] * k)[:k]
        rng.shuffle(arm)
        parts.append(pd.DataFrame({"review": name, "study": [f"s{i}" for i in range(k)], "x": x, "arm": arm, "vi": vi,
                                   "yi": rng.normal(0.1 + 0.2 * x, np.sqrt(vi + 0.04))}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def studies() -> pd.DataFrame:
    dat = _studies()
    one_arm = dat["review"] == "k7"  # a factor level missing in one group: the group's own levels (one)
    dat.loc[one_arm, "arm"] = "drug"
    tiny = dat["review"] == "k4b"  # x varies by 1e-5: not of full rank in metafor's sense, an error alone
    dat.loc[tiny, "x"] = 1.0 + 1e-5 * np.arange(tiny.sum())
    return dat


def _alone(sub: pd.DataFrame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ma = bm.MetaAnalysis(sub, labels="study", **kw)
        return ma.fit(engine="exact", seed=1)


def _check_each_group_alone(many, dat: pd.DataFrame, level: float = 0.95, **kw) -> dict:
    """Every group's rows equal its own fit (rtol 1e-10); a group that fails alone has that error. The
    paths taken, by group."""
    paths = {}
    for key, sub in dat.groupby("review"):
        paths[key] = many.groups.loc[key, "engine"]
        try:
            post = _alone(sub, **kw)
        except Exception as exc:  # noqa: BLE001 - the message the group's row must carry
            assert many.groups.loc[key, "error"] == f"{type(exc).__name__}: {exc}"
            continue
        assert many.groups.loc[key, "error"] == ""
        rows, _ = posterior_rows(post, level)
        mine = many.table.loc[key]
        assert list(mine.index) == list(rows.index), key
        np.testing.assert_allclose(mine[["mean", "sd", "median", "eti_lower", "eti_upper"]].to_numpy(float),
                                   rows[["mean", "sd", "median", "eti_lower", "eti_upper"]].to_numpy(float),
                                   rtol=1e-10, atol=1e-13, err_msg=str(key))
        assert many.groups.loc[key, "k"] == len(sub)
    return paths


@pytest.mark.parametrize("mods", ["~ x", "~ arm", "~ x + arm", "~ x * arm"])
def test_vectorised_meta_regressions_equal_each_group_alone(studies, mods):
    """Data-scaled default priors (no measure), one per group; "~ x * arm" is built by design_matrix
    group by group, the others from the columns."""
    many = bm.fit_many(studies, by="review", labels="study", mods=mods, seed=1)
    paths = _check_each_group_alone(many, studies, mods=mods)
    assert many.settings["n_vectorised"] >= 5
    assert paths["k12a"] == paths["k12b"] == "exact (vectorised)"
    # the group whose x is not of full rank fails as alone, on the one-by-one path
    if "x" in mods:
        assert "not of full rank" in many.groups.loc["k4b", "error"]
        assert paths["k4b"] == "exact"
        assert "a moderator formula the group's rows cannot fit" in many.settings["why_single"]


def test_a_factor_level_missing_in_a_group_gives_that_group_fewer_coefficients(studies):
    many = bm.fit_many(studies, by="review", labels="study", mods="~ arm", seed=1)
    assert list(many.table.loc["k7"].index) == ["beta[intrcpt]", "tau", "theta_new"]  # as alone: arm dropped
    assert list(many.table.loc["k12a"].index) == ["beta[intrcpt]", "beta[armplacebo]", "tau", "theta_new"]
    assert many.groups.loc["k7", "engine"] == "exact (vectorised)"


def test_shared_priors_common_effect_and_another_level_equal_each_group_alone(studies):
    priors = {"mu": "normal(0, 1)", "beta": "normal(0, 0.5)", "tau": "halfcauchy(0.3)"}
    many = bm.fit_many(studies, by="review", labels="study", measure="SMD", mods="~ x", priors=priors, level=0.9,
                       seed=1)
    assert many.settings["priors"] == "shared"
    _check_each_group_alone(many, studies, level=0.9, measure="SMD", mods="~ x", priors=priors)
    common = bm.fit_many(studies, by="review", labels="study", measure="OR", mods="~ x + arm", model="common", seed=1)
    _check_each_group_alone(common, studies, measure="OR", mods="~ x + arm", model="common")
    assert list(common.table.loc["k12a"].index) == ["beta[intrcpt]", "beta[x]", "beta[armplacebo]", "theta_new"]


def test_k_equal_to_p_and_p_plus_one_are_vectorised(studies):
    many = bm.fit_many(studies, by="review", labels="study", measure="OR", mods="~ x", seed=1)
    assert many.groups.loc["k2", "engine"] == "exact (vectorised)"  # k = p = 2: proper priors make it proper
    assert many.groups.loc["k3", "engine"] == "exact (vectorised)"  # k = p + 1
    _check_each_group_alone(many, studies, measure="OR", mods="~ x")


def test_groups_the_vectorised_path_cannot_take_are_fitted_alone_and_say_why(studies):
    bad = studies.copy()
    bad.loc[bad.index[bad["review"] == "k7"][2], "x"] = np.nan  # a missing moderator: the group's own error
    flat = bm.fit_many(bad, by="review", labels="study", mods="~ x", priors={"beta": bm.priors.Flat()}, seed=1)
    assert flat.settings["n_vectorised"] == 0
    assert "coefficient priors that are not Normal" in flat.settings["why_single"]
    _check_each_group_alone(flat, bad, mods="~ x", priors={"beta": bm.priors.Flat()})
    many = bm.fit_many(bad, by="review", labels="study", mods="~ x", seed=1)
    assert "missing" in many.groups.loc["k7", "error"] and "'x'" in many.groups.loc["k7", "error"]
    _check_each_group_alone(many, bad, mods="~ x")
    matrix = bm.fit_many(bad, by="review", labels="study", mods=np.ones((len(bad), 1)), seed=1)
    assert matrix.settings["why_single"].startswith("meta-regression with moderators given as a matrix")


def test_refit_and_read_from_fits_of_a_vectorised_meta_regression(studies):
    many = bm.fit_many(studies, by="review", labels="study", mods="~ x", keep_fits=True, seed=1)
    again = many.read_from_fits()
    for col in ("mean", "sd", "eti_lower", "eti_upper"):
        np.testing.assert_allclose(again.table[col].to_numpy(float), many.table[col].to_numpy(float), rtol=1e-10)
    assert again.groups["RE"].isna().all()  # no intercept-only estimate beside a meta-regression (as one by one)


@pytest.mark.parametrize("priors", [None, {"beta": "flat"}], ids=["vectorised", "one by one"])
def test_a_coefficient_dropped_in_one_group_is_noted_in_its_row(priors):
    """A moderator constant in a group (or a factor level absent) is dropped from its design, as alone; the
    group's warnings say so on either path, rather than fit another model under the same formula."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame([{"g": g, "yi": rng.normal(0.3, 0.2), "vi": 0.04, "x": 1.0 if g == 0 else rng.normal(),
                        "arm": "a" if g == 1 else ["a", "b"][i % 2]} for g in range(3) for i in range(6)])
    kw = {} if priors is None else {"priors": priors}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.fit_many(df, "g", "yi", "vi", mods="~ x + arm", engine="exact", seed=1, **kw)
        alone = [bm.MetaAnalysis(df[df.g == g], "yi", "vi", mods="~ x + arm", **kw).spec.coef_names for g in range(3)]
    notes = res.groups["warnings"].tolist()
    assert ("vectorised" in res.groups["engine"].iloc[0]) == (priors is None)
    assert "'x' dropped" in notes[0] and "x" not in alone[0]
    assert "'armb' dropped" in notes[1] and "armb" not in alone[1]
    assert "dropped" not in notes[2] and alone[2] == ["intrcpt", "x", "armb"]
