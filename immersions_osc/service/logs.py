"""The service's log: stdlib ``logging`` under the ``immersions_osc`` logger, one line per event,
with a timestamp and a level, control characters escaped (a client's address or host name cannot
forge or break lines), and what clients can provoke rate-limited.

``setup_logging(level)`` is called by ``serve``/``demo`` (``--log-level``, ``-v``, ``-q``); a
program that embeds the service configures ``logging`` its own way.
"""
from __future__ import annotations

import logging
import re
import sys
import time
from typing import Callable, Optional

Log = Callable[[str], None]
LOGGER = logging.getLogger("immersions_osc.service")
LEVELS = ("debug", "info", "warning", "error")

# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def escape_controls(text: str) -> str:
    r"""``text`` with every control character written as an escape (``\n``, ``\x1b``, ``\u202e``)."""
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class EscapingFormatter(logging.Formatter):
    """``2026-11-30 01:02:03.456 INFO    immersions_osc.service: message`` with controls escaped."""

    def __init__(self):
        super().__init__("%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        head, sep, tail = text.partition("\nTraceback")  # a traceback keeps its lines
        return escape_controls(head) + (sep + tail if sep else "")


def level_from_args(log_level: Optional[str], verbose: int = 0, quiet: int = 0) -> int:
    """``--log-level`` wins; else ``-v`` = debug, ``-q`` = warning (``-qq`` = error); default info."""
    if log_level:
        return getattr(logging, log_level.upper())
    if verbose:
        return logging.DEBUG
    return {0: logging.INFO, 1: logging.WARNING}.get(quiet, logging.ERROR)


def setup_logging(level: int, stream=None) -> logging.Handler:
    """One handler on the ``immersions_osc`` logger (to stderr), replacing one set up before."""
    root = logging.getLogger("immersions_osc")
    for h in list(root.handlers):
        if getattr(h, "_immersions", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(EscapingFormatter())
    handler._immersions = True
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return handler


class RateLimitedLog:
    """At most ``burst`` lines per ``interval`` seconds; the lines held back are counted in the next
    one.  Control characters are escaped (the lines carry what clients sent)."""

    def __init__(self, log: Log, interval: float, burst: int = 1):
        self.log, self.interval, self.burst = log, interval, burst
        self._window = -1e9
        self._in_window = 0
        self.suppressed = 0
        self.total = 0

    def __call__(self, line: str) -> None:
        self.total += 1
        now = time.monotonic()
        if now - self._window >= self.interval:
            self._window, self._in_window = now, 0
        if self._in_window >= self.burst:
            self.suppressed += 1
            return
        self._in_window += 1
        more = f" (+{self.suppressed} more since the last report)" if self.suppressed else ""
        self.suppressed = 0
        self.log(escape_controls(line) + more)
