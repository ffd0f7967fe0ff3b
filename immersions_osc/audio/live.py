"""The live input as a continuous stream at the model's rate, for streaming inference.

``input_window`` (player.py) gives the latest n samples, a fresh copy each time; a streaming
reader instead wants each sample exactly once, in order.  :class:`LiveInput` keeps the count of
device samples it has read (the player's ``input_written``: sample i sits at ``ring[i % len]``)
and on each :meth:`read` returns what arrived since, converted to the model's rate by one
continuous converter (``audio.resample.StreamResampler``: a converter per read would restart its
filter at every chunk's edge).

A reader that fell a ring behind (the input ran on while no one read), a restarted ring (a new
device rate) or the first read cannot continue: :meth:`read` then returns ``None`` and the caller
starts again from :meth:`start`, which returns the latest ``n`` samples as a stream would have
given them (the converter runs over them and a margin before them, so what follows joins
seamlessly).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .resample import StreamResampler

MARGIN = 8192  # device samples the writer may be ahead of the published count (one block or so)


class LiveInput:
    def __init__(self, player):
        self.player = player
        self._read: Optional[int] = None  # device samples read so far (None: start first)
        self._rate = 0  # the device rate the reading started at
        self._resampler: Optional[StreamResampler] = None

    def start(self, n: int) -> np.ndarray:
        """Read from now on; returns the latest ``n`` model-rate samples (zeros before the input began)."""
        ring, written = self.player.input_ring()
        self._rate, model_rate = int(self.player.device_rate), int(self.player.sample_rate)
        self._resampler = StreamResampler(self._rate, model_rate)
        need = n
        if self._rate != model_rate:
            need = int(np.ceil(n * self._rate / model_rate)) + MARGIN  # and the converter's own delay
        m = max(0, min(need, len(ring) - MARGIN, written))
        raw = ring[np.arange(written - m, written) % len(ring)] if m > 0 else np.zeros(0, np.float32)
        self._read = written
        got = self._resampler.process(raw)[-n:] if n > 0 else np.zeros(0, np.float32)
        if len(got) < n:
            got = np.concatenate([np.zeros(n - len(got), np.float32), got])
        return got

    def read(self) -> Optional[np.ndarray]:
        """The model-rate samples that arrived since the last read (maybe none), or ``None`` when
        the stream cannot continue (see the module docstring): call :meth:`start`."""
        ring, written = self.player.input_ring()
        if self._read is None or int(self.player.device_rate) != self._rate or written < self._read \
                or written - self._read > len(ring) - MARGIN:
            return None
        raw = ring[np.arange(self._read, written) % len(ring)]
        self._read = written
        return self._resampler.process(raw)
