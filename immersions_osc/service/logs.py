"""Log lines of the service that a client can provoke, rate-limited."""
from __future__ import annotations

import time
from typing import Callable

Log = Callable[[str], None]


class RateLimitedLog:
    """At most one line per ``interval`` seconds; the lines held back are counted in the next one."""

    def __init__(self, log: Log, interval: float):
        self.log, self.interval = log, interval
        self._last = -1e9
        self.suppressed = 0
        self.total = 0

    def __call__(self, line: str) -> None:
        self.total += 1
        now = time.monotonic()
        if now - self._last < self.interval:
            self.suppressed += 1
            return
        more = f" (+{self.suppressed} more since the last report)" if self.suppressed else ""
        self.suppressed, self._last = 0, now
        self.log(line + more)
