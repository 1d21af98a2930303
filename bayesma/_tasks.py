"""Running many independent tasks: serially, on any ``concurrent.futures.Executor``, or on Dask.

Shared by :func:`bayesma.fit_many` and :func:`bayesma.small_k_simulation`. A
``dask.distributed.Client`` is accepted as it is (its ``get_executor()`` is used), so
no Dask import happens unless the caller already has a client. Results come back in
task order whatever the executor, so a seeded run gives the same numbers serially and
on a cluster.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, as_completed
from typing import Any

from bayesma.errors import ArgumentTypeError

__all__ = ["as_executor", "run_tasks", "Progress"]


def as_executor(executor: Any) -> Executor | None:
    """A ``concurrent.futures.Executor`` from what the user passed.

    ``None`` (serial), any ``Executor`` (thread or process pool, Dask's ``ClientExecutor``,
    ...), or a ``dask.distributed.Client`` (its ``get_executor()``). Anything else is a
    TypeError naming the argument.
    """
    if executor is None or isinstance(executor, Executor):
        return executor
    get = getattr(executor, "get_executor", None)
    if callable(get):
        return get()
    raise ArgumentTypeError(
        "executor must be None, a concurrent.futures.Executor (e.g. ProcessPoolExecutor) or a "
        f"dask.distributed.Client, got {type(executor).__name__}"
    )


class Progress:
    """A progress bar on stderr (tqdm) for long runs; silent when not a terminal.

    ``enabled=None`` shows the bar only when stderr is a terminal; the bar appears
    after the first second, so quick runs print nothing.
    """

    def __init__(self, total: int, desc: str, enabled: bool | None = None, unit: str = "task") -> None:
        if enabled is None:
            enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.bar = None
        if enabled and total > 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, leave=False, delay=1.0, file=sys.stderr)

    def step(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_tasks(fn: Callable[[Any], Any], tasks: Sequence[Any] | Iterable[Any], executor: Any = None,
              progress: bool | None = None, desc: str = "bayesma") -> list[Any]:
    """``[fn(t) for t in tasks]``, on *executor* when given, with a progress bar.

    *fn* must be a module-level function (picklable) for process pools and Dask.
    """
    tasks = list(tasks)
    ex = as_executor(executor)
    out: list[Any] = [None] * len(tasks)
    with Progress(len(tasks), desc, progress) as bar:
        if ex is None:
            for i, task in enumerate(tasks):
                out[i] = fn(task)
                bar.step()
        else:
            futures = {ex.submit(fn, task): i for i, task in enumerate(tasks)}
            for fut in as_completed(futures):
                out[futures[fut]] = fut.result()
                bar.step()
    return out
