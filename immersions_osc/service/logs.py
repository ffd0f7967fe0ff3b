"""Log lines of the service that a client can provoke: rate-limited, and with what the client
chose (an OSC address, a string argument, a WebSocket reason) made harmless: control characters
(newlines that would forge a second log line, terminal escape codes) are written as ``\\xNN`` /
``\\uNNNN`` escapes, and a line is cut at ``MAX_LINE`` characters."""
from __future__ import annotations

import re
import time
from typing import Callable

Log = Callable[[str], None]
MAX_LINE = 600
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` with every control character escaped (C0, DEL, C1, line separators, bidi
    overrides), at most ``MAX_LINE`` characters."""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)
    return out if len(out) <= MAX_LINE else out[:MAX_LINE] + "..."


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
        self.log(clean(line) + more)
