"""PyMC's positive-definiteness check written in PyTensor ops, for the numba-compiled log density.

PyMC's ``LKJCorr`` log density checks its matrix with ``PosDefMatrix``, an Op with only a Python
implementation: in a numba-compiled function it runs in object mode, which makes the function
uncacheable (every process compiled the unstructured multivariate model again, ~35 CPU s) and
its gradient about 3.5 times slower. :func:`replace_posdef` swaps it for the same test in
tensor ops: the matrix is positive definite exactly when every pivot of its Cholesky
factorisation (unrolled over the few outcomes of a meta-analysis) is positive, which is the
test ``scipy.linalg.cholesky`` (PyMC's ``posdef``) makes; a matrix with NaN fails it (PyMC's check
raises there: the point is rejected either way).
"""

from __future__ import annotations

from typing import Any

__all__ = ["replace_posdef"]


def _pivots_positive(x: Any, m: int) -> Any:
    import pytensor.tensor as pt

    L: list[list[Any]] = [[None] * m for _ in range(m)]
    ok = []
    for i in range(m):
        for j in range(i + 1):
            val = x[i, j] - sum(L[i][q] * L[j][q] for q in range(j))
            if i == j:
                ok.append(pt.gt(val, 0.0))
                L[i][j] = pt.sqrt(val)
            else:
                L[i][j] = val / L[j][j]
    return pt.all(pt.stack(ok))


def replace_posdef(outputs: list) -> list:
    """*outputs* with every ``PosDefMatrix`` check of a matrix of static shape replaced by
    the unrolled pivot test (the graph is unchanged when there is none)."""
    import pytensor
    from pymc.distributions.multivariate import PosDefMatrix
    from pytensor.graph.traversal import ancestors

    replace = {}
    for var in ancestors(outputs):
        node = var.owner
        if node is not None and isinstance(node.op, PosDefMatrix):
            shape = node.inputs[0].type.shape
            if len(shape) == 2 and shape[0] is not None and shape[0] == shape[1]:
                replace[node.outputs[0]] = _pivots_positive(node.inputs[0], int(shape[0]))
    return pytensor.clone_replace(outputs, replace) if replace else outputs
