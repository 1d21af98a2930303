"""The null distribution of Kendall's statistic behind ranktest: the exact lower tail equals
a count over every permutation, the Edgeworth tail used for many studies agrees with the exact
one where both can be computed, and ranktest at k = 100,000 gives a number."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import bayesma as bm
from bayesma.frequentist._kendall import _kendall_edgeworth_cdf, _kendall_exact_cdf, kendall_lower_tail


def inversions(perm) -> int:
    return sum(1 for i in range(len(perm)) for j in range(i + 1, len(perm)) if perm[i] > perm[j])


@pytest.mark.parametrize("n", [3, 5, 7])
def test_exact_tail_counts_every_permutation(n):
    counts = np.bincount([inversions(p) for p in itertools.permutations(range(n))])
    cdf = np.cumsum(counts) / math.factorial(n)
    for q in range(n * (n - 1) // 2 + 1):
        assert _kendall_exact_cdf(q, n) == pytest.approx(cdf[q], rel=1e-13)


@pytest.mark.parametrize("n", [300, 500])
def test_edgeworth_tail_agrees_with_exact(n):
    half = n * (n - 1) // 4
    sd = math.sqrt(n * (n - 1) * (2 * n + 5) / 72)
    for z in (-4.0, -2.5, -1.0, -0.2):
        q = int(half + z * sd)
        assert _kendall_edgeworth_cdf(q, n) == pytest.approx(_kendall_exact_cdf(q, n), abs=5e-8, rel=1e-4)


def test_exact_where_cheap_and_edgeworth_elsewhere():
    assert kendall_lower_tail(100, 20)[1] is True
    assert kendall_lower_tail(5, 100_000)[1] is True  # a far tail is cheap at any n
    assert kendall_lower_tail(2_000_000, 3_000)[1] is False


def test_ranktest_many_studies():
    rng = np.random.default_rng(11)
    k = 100_000
    vi = rng.uniform(0.01, 0.1, k)
    yi = rng.normal(0.0, np.sqrt(vi))
    rt = bm.ranktest(yi, vi)
    assert not rt.exact
    # no small-study effect was simulated; the normal approximation without corrections agrees
    z = rt.tau / math.sqrt(2 * (2 * k + 5) / (9 * k * (k - 1)))
    from scipy import stats
    assert rt.pval == pytest.approx(2 * stats.norm.sf(abs(z)), abs=2e-3)
