"""Bursts sent at a pace a client's default UDP receive buffer can take.

The layout is ~120 KB of datagrams (16 chunks for ``small``); sent back to back they overflow
the 208 KB Linux default receive buffer of a client that is also taking the activation stream, or
that is busy for a few milliseconds (12-13 of 16 chunks arrived, in every try).  ``PacedSender``
sends such a burst from its own thread (the control thread is never held up), at most
``bytes_per_second``, so the client has time to read what came before.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Callable, Optional

Send = Callable[[bytes], None]
BYTES_PER_SECOND = 2_000_000  # 120 KB of layout in 60 ms
MAX_PENDING = 8  # bursts waiting; more is a client asking faster than they can go out


class PacedSender:
    def __init__(self, bytes_per_second: float = BYTES_PER_SECOND, max_pending: int = MAX_PENDING,
                 on_error: Optional[Callable[[str], None]] = None):
        self.bytes_per_second, self.max_pending = bytes_per_second, max_pending
        self.on_error = on_error
        self._queue: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._stop = False
        self._thread: Optional[threading.Thread] = None
        self.bursts_sent = 0

    def start(self) -> "PacedSender":
        self._thread = threading.Thread(target=self._run, name="immersions-paced", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def submit(self, sends: list[Send], datagrams: list[bytes]) -> bool:
        """Queue a burst to every ``send``; False when too many are waiting already.  Without a
        running thread (a service that was never started) the burst goes out now, paced."""
        if self._thread is None:
            self._send(sends, datagrams)
            return True
        with self._cond:
            if len(self._queue) >= self.max_pending:
                return False
            self._queue.append((sends, datagrams))
            self._cond.notify()
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                sends, datagrams = self._queue.popleft()
            self._send(sends, datagrams)

    def _send(self, sends: list[Send], datagrams: list[bytes]) -> None:
        next_time = time.perf_counter()
        for d in datagrams:
            delay = next_time - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if self._stop:
                return
            for send in sends:
                try:
                    send(d)
                except OSError as exc:
                    if self.on_error is not None:
                        self.on_error(f"paced send failed: {exc}")
            next_time = max(next_time, time.perf_counter() - 0.01) + len(d) / self.bytes_per_second
        self.bursts_sent += 1
