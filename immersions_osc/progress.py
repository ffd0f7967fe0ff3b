"""A small progress bar for long work (training, layout): one updating line on a terminal (at most
ten redraws a second), a plain line every ``every`` updates otherwise (logs, CI).  ``due(done)``
says whether an update would be drawn, so a caller computes costly fields only then (a value read
back from a GPU makes the host wait for it)."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str, enabled: bool = True, every: int = 10,
                 stream: TextIO | None = None, width: int = 24):
        self.total, self.label, self.enabled, self.every, self.width = total, label, enabled, every, width
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.done = 0
        self._drawn = -1.0  # when the terminal line was last drawn

    REDRAW = 0.1  # seconds between two redraws on a terminal

    def due(self, done: int) -> bool:
        if not self.enabled:
            return False
        if done == self.total:
            return True
        if self.tty:
            return time.perf_counter() - self._drawn >= self.REDRAW
        return done % self.every == 0

    def update(self, done: int, **fields: str) -> None:
        self.done = done
        if not self.due(done):
            return
        self._drawn = time.perf_counter()
        elapsed = time.perf_counter() - self.start
        frac = done / self.total if self.total else 1.0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        line = (f"{self.label} [{bar}] {done}/{self.total} {extra} "
                f"elapsed {_clock(elapsed)} eta {_clock(eta)}")
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
