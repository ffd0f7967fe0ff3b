"""The real-time clock: no sound card; a thread renders the loop block by block at real-time
pace, so the playhead, the loop boundaries and everything that follows them (activation frames,
loop/new messages) behave exactly as with a sound device."""
from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from .player import LoopPlayer

Log = Callable[[str], None]


class ClockAudio:
    """Renders the player at real-time pace without a sound card."""

    kind = "none"

    def __init__(self, player: LoopPlayer, block: int = 1024, log: Log = print):
        self.player, self.block, self.log = player, block, log
        self.xruns = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="immersions-clock", daemon=True)

    def start(self) -> "ClockAudio":
        self._thread.start()
        return self

    def _run(self) -> None:
        out = np.zeros(self.block, np.float32)
        period = self.block / self.player.device_rate
        next_time = time.perf_counter()
        while not self._stop.is_set():
            self.player.render(out)
            next_time += period
            delay = next_time - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -0.5:  # fell far behind (machine suspended): resynchronize
                next_time = time.perf_counter()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
