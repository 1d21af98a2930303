"""A live "still working" line on stderr for the silent phases of a fit (compiling a model).

:func:`elapsed` is a context manager: while its block runs, a daemon thread shows the message and
the seconds elapsed, and when the block ends it writes one line saying how long it took.

* **Terminal or Jupyter** (stderr is a terminal, or the code runs in an IPython kernel): one line,
  rewritten in place (``\\r``) every half second::

      compiling the model (once per model family; cached for later runs) ... 12 s

  and, at the end, the same line with the outcome: ``... compiled in 12.3 s; sampling``.
* **Log file or pipe** (progress asked for explicitly, stderr not a terminal): no carriage
  returns; the message once, a line every :data:`LOG_EVERY` seconds while it lasts
  (``  still compiling (10 s)``), then the outcome on its own line (``compiled in 12.3 s; sampling``),
  so that a log read later shows that the process was working and how long the step took.
* **Disabled**: nothing at all.

When the block raises (a compile error, ``KeyboardInterrupt``), the thread stops before the
exception leaves the block, the line is ended with ``failed after 3.2 s`` (``interrupted after
3.2 s``), and the exception propagates unchanged. Nothing is written after the block ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["Elapsed", "elapsed", "live_stream", "no_sampler_bar", "sampler_bar", "LIVE_EVERY", "LOG_EVERY"]

#: Seconds between two redraws of the live line (terminal, Jupyter).
LIVE_EVERY = 0.5
#: Seconds between two ``still ...`` lines when stderr is a log file or a pipe.
LOG_EVERY = 10.0


def live_stream(stream: Any) -> bool:
    """Whether *stream* redraws a line in place: a terminal, or any stream in Jupyter (IPython kernel)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # replaced or closed stream
        pass
    return "ipykernel" in sys.modules


_SAMPLER_BAR = contextvars.ContextVar("bayesma_sampler_bar", default=True)


@contextlib.contextmanager
def no_sampler_bar() -> Iterator[None]:
    """Inside the block a sampler draws no progress bar of its own (its compile line still shows):
    :func:`bayesma.fit_many` draws one bar over its meta-analyses."""
    token = _SAMPLER_BAR.set(False)
    try:
        yield
    finally:
        _SAMPLER_BAR.reset(token)


def sampler_bar(stream: Any) -> bool:
    """Whether a sampler draws its progress bar on *stream*: a live stream (:func:`live_stream`; a bar
    is drawn in place, not in a log file) outside :func:`no_sampler_bar`."""
    return _SAMPLER_BAR.get() and live_stream(stream)


class Elapsed:
    """What :func:`elapsed` yields: the caller sets :attr:`done` (the outcome line) before the block ends.

    Attributes
    ----------
    done : str or None
        Format of the last line, with ``{seconds}`` (e.g. ``"compiled in {seconds:.1f} s"``);
        ``None``: the live line is erased and nothing is written (the caller reports).
    seconds : float
        Seconds since the block began (final once it has ended).
    """

    def __init__(self, message: str, stream: IO[str], live: bool, still: str) -> None:
        self.message = message
        self.done: str | None = "done in {seconds:.1f} s"
        self._stream, self._live, self._still = stream, live, still
        self._t0 = time.perf_counter()
        self._end: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._width = 0
        self._thread = threading.Thread(target=self._run, name="bayesma-elapsed", daemon=True)

    @property
    def seconds(self) -> float:
        return (self._end if self._end is not None else time.perf_counter()) - self._t0

    def _write(self, text: str) -> None:
        with self._lock:
            try:
                self._stream.write(text)
                self._stream.flush()
            except (OSError, ValueError):  # closed stream: the indicator is not worth an error
                pass

    def _line(self, tail: str, cut: bool = True) -> str:
        """The live line: the message and *tail*, over the previous line. *cut*: the message is
        shortened to the terminal's width (a line longer than that cannot be redrawn in place);
        the last line is written whole (once, the terminal may wrap it)."""
        head = self.message
        if cut:
            room = max(shutil.get_terminal_size((80, 24)).columns - len(tail) - 6, 10)
            head = head if len(head) <= room else head[:room - 3] + "..."  # ASCII: any terminal encoding
        text, old = f"{head} ... {tail}", self._width
        self._width = len(text)
        if not cut:  # blank the live line, then the whole text
            return "\r" + " " * old + "\r" + text
        return "\r" + text + " " * max(old - len(text), 0)

    def _run(self) -> None:
        every = LIVE_EVERY if self._live else LOG_EVERY
        n = 1  # the n-th line is due n * every seconds after the start (a late wake-up does not delay the next)
        while not self._stop.wait(max(self._t0 + n * every - time.perf_counter(), 0.0)):
            s = self.seconds
            n = max(n + 1, int(s / every) + 1)
            self._write(self._line(f"{int(s)} s") if self._live else f"  {self._still} ({int(s)} s)\n")

    def _start(self) -> None:
        self._write(self._line("0 s") if self._live else f"{self.message} ...\n")
        self._thread.start()

    def _finish(self, failure: str | None) -> None:
        self._stop.set()
        self._thread.join()
        self._end = time.perf_counter()
        if failure is not None:
            tail = f"{failure} after {self.seconds:.1f} s"
            self._write(self._line(tail, cut=False) + "\n" if self._live else f"{tail}\n")
        elif self.done is not None:
            tail = self.done.format(seconds=self.seconds)
            self._write(self._line(tail, cut=False) + "\n" if self._live else f"{tail}\n")
        elif self._live:
            self._write("\r" + " " * self._width + "\r")


@contextlib.contextmanager
def elapsed(message: str, enabled: bool = True, *, done: str | None = "done in {seconds:.1f} s",
            still: str = "still working", stream: IO[str] | None = None) -> Iterator[Elapsed | None]:
    """Show *message* and the seconds elapsed on stderr while the block runs (see the module's docstring).

    Parameters
    ----------
    message : str
        What is happening, e.g. :data:`bayesma.models.compile.COMPILE_MESSAGE`.
    enabled : bool
        ``False``: write nothing, yield ``None``.
    done : str or None
        Format of the final line with ``{seconds}``; the block may change it through the
        yielded :class:`Elapsed` (``ticker.done = "loaded from the cache in {seconds:.1f} s"``).
        ``None``: no final line (on a terminal the live line is erased).
    still : str
        The words of the periodic line in a log (``"still compiling"``).
    stream : file, optional
        Where to write (default: ``sys.stderr`` at the time of the call).

    Yields
    ------
    Elapsed or None

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with elapsed("compiling", stream=out, done="compiled in 0 s"):
    ...     pass
    >>> out.getvalue().splitlines()[-1]
    'compiled in 0 s'
    """
    stream = sys.stderr if stream is None else stream
    if not enabled or stream is None:  # no stderr at all (pythonw): nothing to show
        yield None
        return
    ticker = Elapsed(message, stream, live_stream(stream), still)
    ticker.done = done
    ticker._start()
    try:
        yield ticker
    except KeyboardInterrupt:
        ticker._finish("interrupted")
        raise
    except BaseException:
        ticker._finish("failed")
        raise
    ticker._finish(None)
