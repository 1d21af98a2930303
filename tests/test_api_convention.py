"""The public API's conventions (docs/conventions.rst), checked on every name in bayesma._EXPORTS."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

#: what a positional argument means, by its name; names outside these groups are not compared
MEANINGS = {
    "effect": {"yi", "r", "d", "z", "logor"},
    "variance": {"vi", "var_r", "var_d", "var_z", "var_logor"},
    "standard error": {"sei", "se"},
    "sample size": {"ni", "n", "n1", "n2", "n1i", "n2i"},
}
MEANING_OF = {name: meaning for meaning, names in MEANINGS.items() for name in names}
#: meanings a user can mistake for each other when given by position
CONFUSABLE = [{"variance", "standard error"}, {"variance", "sample size"}, {"standard error", "sample size"}]
#: leading arguments that are not counted (the table, or the measure, comes first)
LEADING = {"data", "measure"}


def _public_callables():
    for name in sorted(bm._EXPORTS):
        obj = getattr(bm, name)
        if inspect.isclass(obj):
            if obj.__init__ is object.__init__ or isinstance(obj, type) and issubclass(obj, BaseException):
                continue
            if hasattr(obj, "__dataclass_fields__") and name != "MetaData":
                continue  # result containers, built by the library
            func = obj.__init__
        elif callable(obj):
            func = obj
        else:
            continue
        yield name, func


def _positional_slots(func) -> list[str]:
    params = [p for p in inspect.signature(func).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ("self", "cls")]
    names = [p.name for p in params]
    while names and names[0] in LEADING:
        names = names[1:]
    return names


def test_no_positional_slot_has_two_confusable_meanings():
    """E.g. bm.robma(data, "yi", "vi") once read the variances as standard errors (its third slot was sei)."""
    slots: dict[int, dict[str, list[str]]] = {}
    for name, func in _public_callables():
        for i, arg in enumerate(_positional_slots(func)):
            meaning = MEANING_OF.get(arg)
            if meaning is not None:
                slots.setdefault(i, {}).setdefault(meaning, []).append(f"{name}({arg})")
    clashes = [(i, {m: users[:3] for m, users in meanings.items()}) for i, meanings in sorted(slots.items())
               if any(pair <= set(meanings) for pair in CONFUSABLE)]
    assert not clashes, f"positional slots with confusable meanings: {clashes}"


def test_standard_errors_and_sample_sizes_are_keyword_only():
    for name, func in _public_callables():
        slots = _positional_slots(func)
        bad = [a for a in slots if MEANING_OF.get(a) in ("standard error", "sample size")]
        assert not bad, f"{name}: {bad} can be given by position"


def test_robma_reads_the_third_argument_as_variances_as_rma_does():
    dat = bm.load_dataset("dat.lehmann2018").iloc[:12]
    by_name = bm.robma(dat, yi="yi", vi="vi", ensemble="none", draws=256, replicates=2)
    by_position = bm.robma(dat, "yi", "vi", ensemble="none", draws=256, replicates=2)
    as_se = bm.robma(dat, "yi", sei=np.sqrt(dat["vi"].to_numpy()), ensemble="none", draws=256, replicates=2)
    def text(fit):  # the printout without the fitting time
        return re.sub(r"fitted in [0-9.]+ s", "", repr(fit))

    assert text(by_position) == text(by_name) == text(as_se)


def test_conversions_take_sample_sizes_by_name():
    with pytest.raises(TypeError):
        bm.convert_r_to_d(-0.22, 124)  # 124 could be a variance: say n=124
    d, v = bm.convert_r_to_d(-0.22, n=124)
    assert d == pytest.approx(2 * -0.22 / np.sqrt(1 - 0.22**2))


@pytest.mark.parametrize("frequentist, bayesian", [("leave1out", "leave_one_out"), ("cumul", "cumulative")])
def test_the_frequentist_and_bayesian_refits_point_to_each_other(frequentist, bayesian):
    dat = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4], "vi": [0.01, 0.02, 0.015, 0.03, 0.02]})
    res = bm.rma("yi", "vi", data=dat)
    with pytest.raises(TypeError, match=rf"bm\.{frequentist}"):
        getattr(bm, bayesian)(res)
    model = bm.MetaAnalysis(dat, "yi", "vi")
    with pytest.raises(TypeError, match=bayesian):
        getattr(bm, frequentist)(model)


def test_slab_and_labels_are_one_argument():
    dat = pd.DataFrame({"author": ["A", "B", "C", "D"], "yi": [0.1, 0.3, 0.2, 0.5], "vi": [0.01, 0.02, 0.015, 0.03],
                        "ai": [3, 5, 2, 4], "bi": [17, 15, 18, 16], "ci": [6, 8, 5, 7], "di": [14, 12, 15, 13]})
    for name, func in _public_callables():
        params = inspect.signature(func).parameters
        assert not ("labels" in params and "slab" in params), name
    assert bm.rma("yi", "vi", data=dat, slab="author").data.labels == ["A", "B", "C", "D"]
    assert bm.MetaAnalysis(dat, "yi", "vi", slab="author").spec.labels == ["A", "B", "C", "D"]
    es = bm.escalc("OR", ai="ai", bi="bi", ci="ci", di="di", data=dat, labels="author")
    ref = bm.escalc("OR", ai="ai", bi="bi", ci="ci", di="di", data=dat, slab="author")
    pd.testing.assert_frame_equal(es, ref)
    mh = bm.rma_mh(ai="ai", bi="bi", ci="ci", di="di", data=dat, labels="author")
    assert repr(bm.leave1out(mh)) == repr(bm.leave1out(bm.rma_mh(ai="ai", bi="bi", ci="ci", di="di", data=dat,
                                                                 slab="author")))
    assert "A" in repr(bm.leave1out(mh))
    with pytest.raises(TypeError, match="not both"):
        bm.rma("yi", "vi", data=dat, labels="author", slab="author")


@pytest.mark.parametrize("metafor_name, ours", [("regtest", "egger_test"), ("rma_uni", "rma")])
def test_metafor_names_bayesma_spells_otherwise_point_to_bayesmas(metafor_name, ours):
    """One name per function (no aliases): metafor's name is not exported and its error names bayesma's."""
    assert metafor_name not in bm._EXPORTS and metafor_name not in dir(bm)
    with pytest.raises(AttributeError, match=rf"bayesma\.{ours}\(\)"):
        getattr(bm, metafor_name)
    assert not hasattr(bm, metafor_name)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'$"):
        bm.not_a_name  # noqa: B018 - the ordinary error for other names


#: data-first functions whose slot after data is not the effect sizes, and why
NOT_YI_SECOND = {"fit_many": "its groups come first: fit_many(data, by, yi, vi)"}


def test_data_first_functions_read_yi_then_vi_by_position():
    """E.g. bm.rho_sensitivity(dat, "yi", "vi") once read "yi" as the correlation rho."""
    for name, func in _public_callables():
        params = list(inspect.signature(func).parameters)
        slots = [p for p in params if p not in ("self", "cls")]
        if not slots or slots[0] != "data" or name in NOT_YI_SECOND:
            continue
        assert _positional_slots(func)[:2] == ["yi", "vi"], f"{name}{inspect.signature(func)}"


def test_rho_sweep_takes_yi_and_vi_by_position_and_checks_rho():
    dat = bm.load_dataset("dat.assink2016")
    pri = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)}
    by_position = bm.rho_sensitivity(dat, "yi", "vi", rho=[0.5], cluster="study", priors=pri, seed=2)
    by_name = bm.rho_sensitivity(dat, yi="yi", vi="vi", rho=[0.5], cluster="study", priors=pri, seed=2)
    pd.testing.assert_frame_equal(by_position, by_name)
    with pytest.raises(bm.errors.ArgumentTypeError, match="rho="):
        bm.rho_sensitivity(dat, "yi", "vi", rho="high", cluster="study")
    with pytest.raises(bm.errors.InputError, match="non-empty"):
        bm.rho_sensitivity(dat, "yi", "vi", rho=[], cluster="study")
