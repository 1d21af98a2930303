"""Multivariate and multilevel meta-analysis (metafor's ``rma.mv``, ``vcalc``, ``blsplit``).

Modules: :mod:`~bayesma.frequentist.mv.blocks` (:class:`BlockDiag`, a block-diagonal matrix that
never materialises k x k), :mod:`~bayesma.frequentist.mv.vcalc` (:func:`vcalc`, :func:`blsplit`),
:mod:`~bayesma.frequentist.mv.fit` (:func:`rma_mv`), :mod:`~bayesma.frequentist.mv.predict`
(``predict`` and ``ranef``) and :mod:`~bayesma.frequentist.mv.profile` (profile-likelihood
intervals of the variance components).
"""

from __future__ import annotations

from bayesma.frequentist.mv.blocks import BlockDiag
from bayesma.frequentist.mv.fit import fit_rma_mv, rma_mv
from bayesma.frequentist.mv.nested import _State
from bayesma.frequentist.mv.result import RMAMVResult
from bayesma.frequentist.mv.vcalc import blsplit, vcalc

__all__ = ["rma_mv", "RMAMVResult", "fit_rma_mv", "vcalc", "blsplit", "BlockDiag", "_State"]
