"""A disk-cached ``numba.cfunc`` that survives an unreadable cache file."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any


def cached_cfunc(py: Any, sig: Any) -> Any:
    """``numba.cfunc(sig, cache=True)(py)``; an index file numba cannot read (truncated by a
    killed process, or not a pickle) is deleted and the callback compiled again, never a crash."""
    from numba.core import sigutils
    from numba.core.ccallback import CFunc

    sig = sigutils.normalize_signature(sig)
    res = CFunc(py, sig, locals={}, options={})
    res.enable_caching()
    try:
        res.compile()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError):
        index = Path(res._cache._cache_file._index_path)
        if not index.is_file():
            raise
        index.unlink(missing_ok=True)
        res = CFunc(py, sig, locals={}, options={})
        res.enable_caching()
        res.compile()
    return res
