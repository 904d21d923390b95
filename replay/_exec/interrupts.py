"""SIGINT and SIGTERM: the signals that interrupt replay, kept for its main thread.

Python runs a signal handler in the main thread only, but the kernel delivers a
process's signal to any thread that does not block it. A signal taken by a
worker thread (a digest, a parser, an idle thread of the pool) is acted on only
when the main thread next runs Python code, and the end of the process may come
first: the signal is lost and a run that was interrupted exits 0 or 1. So every
thread replay starts blocks these signals (`in_worker`, `block_in_this_thread`),
and the process ends through `interrupt_pending`, which sees a signal that came
in its last instructions.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that interrupt replay (exit 130)."""

P = ParamSpec("P")
R = TypeVar("R")


def block_in_this_thread() -> None:
    """Keep SIGINT and SIGTERM away from the calling (worker) thread: they go to the main one.

    A `ThreadPoolExecutor(initializer=...)`; threads this thread starts inherit it.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)


def in_worker(function: Callable[P, R]) -> Callable[P, R]:
    """`function`, blocking the interrupt signals in the thread that calls it first.

    For `anyio.to_thread.run_sync`: the worker thread keeps the mask, so an idle
    thread of the pool cannot take a signal either.
    """

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        block_in_this_thread()
        return function(*args, **kwargs)

    return call


def interrupt_pending() -> bool:
    """Block the signals in the calling (main) thread; whether one came and was not acted on.

    Blocking runs the handlers of signals already received; one that comes after
    stays pending, and is seen here. The process's last step before it exits.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    return bool(set(signal.sigpending()) & set(SIGNALS))


class Interrupts:
    """SIGINT and SIGTERM for the length of one run, from its first instruction to its last.

    The handler only counts: it runs between two bytecodes of whatever the main
    thread was doing (the event loop's own code included), where touching a cancel
    scope is not safe. `watch_signals` acts on the count in the event loop, and
    the end of the run reads it to decide the summary's status.

    On exit the handlers that were there before come back in one swap each (anyio's
    signal receiver would leave SIG_DFL behind on asyncio: a SIGTERM while the summary
    is written killed replay with exit 143). A signal the run did not act on, one
    that came after the summary's status was decided, is passed on to them.
    """

    def __init__(self, enabled: bool) -> None:
        self.count = 0
        """Signals received so far."""
        self.last: int = signal.SIGINT
        self._decided = 0
        self._saved: dict[int, Any] = {}
        if enabled:
            self._install()

    def _install(self) -> None:
        try:
            for signum in SIGNALS:
                self._saved[signum] = signal.signal(signum, self._handler)
        except ValueError:  # not the main thread: only the main thread can take signals
            self._restore()

    def _handler(self, signum: int, frame: object) -> None:
        self.count += 1
        self.last = signum

    @property
    def taken(self) -> bool:
        """Whether the run handles the signals (False off the main thread or when asked not to)."""
        return bool(self._saved)

    def decide(self) -> bool:
        """Whether the run was interrupted, decided now: later signals are passed on at the end."""
        self._decided = self.count
        return self._decided > 0

    def _restore(self) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._saved.clear()

    def __enter__(self) -> Interrupts:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.taken:
            return
        self._restore()
        if self.count > self._decided:
            signal.raise_signal(self.last)
