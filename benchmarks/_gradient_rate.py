"""How fast a compiled nutpie model evaluates its log density and gradient (shared by the benchmarks'
child processes: bench_compile_families.py, bench_bias_padding.py)."""

from __future__ import annotations

import ctypes
import os
import resource
from typing import Any

import numpy as np

#: this folder, for a child process's PYTHONPATH
HERE = os.path.dirname(os.path.abspath(__file__))


def cpu() -> float:
    """CPU seconds of this process (user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def gradient_rate(compiled: Any) -> dict[str, float]:
    """Evaluations per CPU second of *compiled*'s log density + gradient at its initial point: the
    median of 5 batches of about 0.2 CPU s each; with the status and log density of the first call."""
    x = np.asarray(compiled.initial_point_func(1), dtype=float)
    grad, logp = np.zeros_like(x), np.zeros(1)
    ptr = ctypes.POINTER(ctypes.c_double)
    fn = compiled.compiled_logp_func.ctypes
    args = (ctypes.c_uint64(x.size), x.ctypes.data_as(ptr), grad.ctypes.data_as(ptr), logp.ctypes.data_as(ptr),
            ctypes.c_void_p(compiled.user_data.ctypes.data))
    status, first = fn(*args), float(logp[0])
    n = 1
    while True:  # calibrate a batch of about 0.2 CPU seconds
        c = cpu()
        for _ in range(n):
            fn(*args)
        if cpu() - c > 0.2:
            break
        n *= 2
    rates = []
    for _ in range(5):
        c = cpu()
        for _ in range(n):
            fn(*args)
        rates.append(n / max(cpu() - c, 1e-9))
    return {"grad_per_s": float(np.median(rates)), "status": int(status), "logp": first,
            "n_dim": int(compiled.n_dim)}


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this one's, with this folder importable, and *extra*."""
    path = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)
