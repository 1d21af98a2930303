"""Keep other libraries' noise away from the user of a normal fit.

:func:`backend_noise_filtered` hides, while an engine runs, the warnings that say nothing
about the user's analysis: PyTensor's notice that it could not link to a BLAS library
(printed on every compile of a pip-installed PyTensor) and numpy's "divide by zero"
RuntimeWarnings from log densities evaluated at the boundary (log 0 = -inf is the
intended value there). Everything else passes, and bayesma's own warnings about the
fit (:class:`bayesma.results.SamplingWarning` for divergences, R-hat and ESS; small-k
warnings) are emitted outside this context.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np

__all__ = ["backend_noise_filtered", "NOISE"]

#: (category, message regex) of the warnings hidden during a fit
NOISE = (
    (UserWarning, r"PyTensor could not link to a BLAS"),
    (RuntimeWarning, r"divide by zero encountered"),
)


@contextlib.contextmanager
def backend_noise_filtered() -> Iterator[None]:
    """Context in which the warnings of :data:`NOISE` are ignored (and numpy does not warn on x / 0).

    Examples
    --------
    >>> import numpy as np, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error")
    ...     with backend_noise_filtered():
    ...         float(np.log(np.float64(0.0)))
    -inf
    """
    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        for category, message in NOISE:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield
