"""The loop player: plays the current loop over and over; at each loop boundary it switches to the
newest queued loop with a short crossfade, so the sound morphs loop after loop.

``LoopPlayer.render(out)`` is the whole real-time path: it fills a preallocated float32 block in
place from preallocated arrays (numpy views and in-place ufuncs only: no locks, no logging, no
torch, no new buffers).  Other threads talk to it through single reference assignments
(``queue``, ``volume``, ``playing``, ``set_crossfade``) that the render call reads once per block.
The audio backends (``audio.py``) call ``render`` from the JACK process callback or from a
real-time clock thread.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np


class LoopPlayer:
    def __init__(self, sample_rate: int, crossfade_ms: float = 10.0, volume: float = 0.8,
                 max_block: int = 8192, input_seconds: float = 8.0, record_seconds: float = 0.0):
        self.sample_rate = sample_rate
        self.volume = float(volume)
        self.playing = True
        self._queued: Optional[tuple[np.ndarray, int]] = None  # (audio, version): newest published loop
        self._current: Optional[np.ndarray] = None
        self._old: Optional[np.ndarray] = None  # the loop being faded out
        self.version = -1  # version of the loop playing
        self.loops_started = 0
        self.pos = 0  # playhead in the current loop
        self._seek = -1  # a requested playhead (Ableton Link phase), taken at the next block
        self.render_time: Optional[float] = None  # time.monotonic() of the last block ...
        self.render_pos = 0  # ... and where in the loop it started
        self._fade_pos = 0
        self._scratch = np.zeros(max_block, np.float32)
        self._gain = 0.0  # the gain applied at the end of the last block (ramps to volume / 0)
        self._ramp = np.zeros(0, np.float32)  # (1..n) / n for the block size n in use
        self.set_crossfade(crossfade_ms)
        # live input ring buffer (written by the backend's input port)
        self._input = np.zeros(max(1, int(input_seconds * sample_rate)), np.float32)
        self._input_pos = 0
        # optional recording of everything played (the demo's WAV)
        self._record = np.zeros(int(record_seconds * sample_rate), np.float32)
        self.recorded = 0

    # --- any thread ------------------------------------------------------------------------------------
    def queue(self, audio: np.ndarray, version: int) -> None:
        """Play ``audio`` from the next loop boundary on (the first loop starts at once)."""
        self._queued = (np.ascontiguousarray(audio, dtype=np.float32), int(version))

    def seek(self, pos: int) -> None:
        """Move the playhead to ``pos`` at the next block (bar-phase alignment)."""
        self._seek = int(pos)

    def set_crossfade(self, ms: float) -> None:
        n = max(1, int(ms * 1e-3 * self.sample_rate))
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
        self._fades = (ramp, (1.0 - ramp).astype(np.float32))  # one reference: (fade in, fade out)

    def queued(self) -> Optional[np.ndarray]:
        """The newest queued loop (it plays from the next loop boundary on)."""
        q = self._queued
        return q[0] if q is not None else None

    def playhead(self) -> tuple[Optional[np.ndarray], int]:
        """(the loop playing, the position in it)."""
        return self._current, self.pos

    def input_window(self, n: int) -> np.ndarray:
        """The latest ``n`` samples of the live input, oldest first (a copy)."""
        ring, end = self._input, self._input_pos
        n = min(n, len(ring))
        idx = (np.arange(end - n, end)) % len(ring)
        return ring[idx]

    def recording(self) -> np.ndarray:
        return self._record[:self.recorded].copy()

    # --- the real-time thread ---------------------------------------------------------------------------
    def render(self, out: np.ndarray) -> None:
        """Fill ``out`` (float32, in place) with the next block of the loop."""
        n = len(out)
        queued = self._queued
        if self._current is None and queued is not None:
            self._switch(queued, fade=False)
        cur = self._current
        seek = self._seek
        if seek >= 0 and cur is not None:
            self._seek = -1
            self.pos = seek % len(cur)
        self.render_time, self.render_pos = time.monotonic(), self.pos
        target = self.volume if self.playing else 0.0
        if cur is None or (target == 0.0 and self._gain == 0.0):  # silent: the playhead waits
            out.fill(0.0)
            self._record_block(out)
            return
        done = 0
        while done < n:
            take = min(n - done, len(cur) - self.pos)
            seg = out[done:done + take]
            seg[:] = cur[self.pos:self.pos + take]
            self._crossfade(seg)
            done += take
            self.pos += take
            if self.pos >= len(cur):  # loop boundary: the newest loop takes over
                queued = self._queued
                if queued is not None and queued[1] != self.version:
                    self._switch(queued, fade=True)
                self.pos = 0
                cur = self._current
        self._apply_gain(out, target)
        self._record_block(out)

    def _apply_gain(self, out: np.ndarray, target: float) -> None:
        """Volume, play and stop ramp linearly over one block (no clicks, no zipper noise)."""
        n = len(out)
        start = self._gain
        if start == target:
            np.multiply(out, target, out=out)
            return
        if len(self._ramp) != n:  # once per block size (JACK's is fixed)
            self._ramp = (np.arange(1, n + 1) / n).astype(np.float32)
        gains = self._scratch[:n]
        np.multiply(self._ramp, target - start, out=gains)
        np.add(gains, start, out=gains)
        np.multiply(out, gains, out=out)
        self._gain = target

    def write_input(self, block: np.ndarray) -> None:
        """Append a block of live input to the ring buffer (real-time thread)."""
        ring, n = self._input, len(block)
        if n >= len(ring):
            ring[:] = block[n - len(ring):]
            self._input_pos = 0
            return
        start = self._input_pos
        first = min(n, len(ring) - start)
        ring[start:start + first] = block[:first]
        ring[:n - first] = block[first:]
        self._input_pos = (start + n) % len(ring)

    def _switch(self, queued: tuple[np.ndarray, int], fade: bool) -> None:
        self._old = self._current if fade else None
        self._current, self.version = queued
        self._fade_pos = 0
        self.loops_started += 1

    def _crossfade(self, seg: np.ndarray) -> None:
        old = self._old
        if old is None:
            return
        fade_in, fade_out = self._fades
        k = self._fade_pos
        m = min(len(seg), len(fade_in) - k, len(old) - k)
        if m <= 0:
            self._old = None
            return
        head = seg[:m]
        np.multiply(head, fade_in[k:k + m], out=head)
        tmp = self._scratch[:m]
        np.multiply(old[k:k + m], fade_out[k:k + m], out=tmp)
        np.add(head, tmp, out=head)
        self._fade_pos = k + m
        if self._fade_pos >= len(fade_in):
            self._old = None

    def _record_block(self, out: np.ndarray) -> None:
        room = len(self._record) - self.recorded
        if room > 0:
            m = min(room, len(out))
            self._record[self.recorded:self.recorded + m] = out[:m]
            self.recorded += m
