"""Helpers for long transfers into a temporary file: a pace that gives up on servers that
trickle bytes, and a SIGTERM guard that removes the partial file. Used by `download`."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Pace:
    """Gives up on a transfer that is too slow as a whole, which a per-read timeout never
    catches when a server sends a byte now and then.

    Over every `window` seconds at least `min_rate` bytes/s must arrive (0: no minimum),
    and the whole transfer must end within `max_time` seconds (None: no limit).
    """

    min_rate: float = 1024.0
    window: float = 60.0
    max_time: float | None = None
    start: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._mark = (self.start, 0)

    def read_timeout(self, timeout: float) -> float:
        """The socket timeout for reads: `timeout`, never past the overall limit."""
        return timeout if self.max_time is None else max(0.01, min(timeout, self.max_time))

    def problem(self, received: int) -> str | None:
        """Why the transfer must stop after `received` bytes, or None."""
        now = time.monotonic()
        if self.max_time is not None and now - self.start > self.max_time:
            return f"did not finish within {self.max_time:g} s ({received} bytes received)"
        since, before = self._mark
        if self.min_rate <= 0 or now - since < self.window:
            return None
        rate = (received - before) / (now - since)
        if rate < self.min_rate:
            return (
                f"too slow: {rate:.0f} bytes/s over the last {now - since:.0f} s, below "
                f"the minimum of {self.min_rate:.0f} bytes/s ({received} bytes received)"
            )
        self._mark = (now, received)
        return None


class Terminated(BaseException):
    """SIGTERM arrived while a partial file was being written."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


@contextlib.contextmanager
def removed_on_sigterm(path: Path) -> Iterator[None]:
    """Inside the block, SIGTERM first removes the partial file `path`, then ends the process
    as it would have (the previous handler runs; by default the process dies of SIGTERM).

    Only in the main thread (where Python runs signal handlers), and not where SIGTERM is
    ignored; elsewhere the block runs unguarded.
    """
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or previous in (
        signal.SIG_IGN,
        None,
    ):
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except Terminated as err:
        Path(path).unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, previous)
        os.kill(os.getpid(), err.signum)  # default action: the process ends here
        raise  # a handler that returns: the transfer is abandoned all the same
    finally:
        signal.signal(signal.SIGTERM, previous)
