"""The loop player: plays the current loop over and over; at each loop boundary it switches to the
newest queued loop with a short crossfade, so the sound morphs loop after loop.  A queued loop of
another length (a new tempo, bar count or loop length) takes over at the next *bar line* instead,
at the same bar of the new loop: a tempo change is heard within one bar.

Two rates.  Everything the service hands in and reads out is at the model's rate
(``sample_rate``: loops, playhead positions, seeks, the input window); the device may run at
another (``device_rate``, set by the backend when it opens).  ``queue`` converts each loop once to
its exact length in device samples (:mod:`.resample`: whole bars at the device rate), outside the
audio callback; the live input ring holds device samples and ``input_window`` converts what it
returns.

``LoopPlayer.render(out)`` is the whole real-time path: it fills a preallocated float32 block in
place from preallocated arrays (numpy views and in-place ufuncs only: no locks, no logging, no
torch, no new buffers).  Other threads talk to it through single reference assignments
(``queue``, ``volume``, ``playing``, ``set_crossfade``, ``seek``) that the render call reads once
per block.  The audio backends call ``render`` from the JACK process callback, PortAudio's callback
or a real-time clock thread.
"""
from __future__ import annotations

import time
from typing import NamedTuple, Optional

import numpy as np

from .resample import device_length, loop_to_length, position_map


class Queued(NamedTuple):
    model: np.ndarray  # the loop at the model rate (what the service reads back)
    device: np.ndarray  # the same loop at the device rate (what is played)
    version: int
    bars: int  # bars in the loop (0: a free length, one "bar")
    rate: int  # the device rate ``device`` was made for
    serial: int  # which queue() call made it


class LoopPlayer:
    def __init__(self, sample_rate: int, crossfade_ms: float = 10.0, volume: float = 0.8,
                 max_block: int = 8192, input_seconds: float = 8.0, record_seconds: float = 0.0,
                 device_rate: Optional[int] = None):
        self.sample_rate = int(sample_rate)  # the model's rate
        self.device_rate = int(device_rate or sample_rate)  # the device's (set_device_rate)
        self.volume = float(volume)
        self.playing = True
        self._meter = (0.0, 0, 4)  # (bpm, bars, beats per bar) of the loops queued from now on
        self._queued: Optional[Queued] = None  # the newest published loop
        self._playing: Optional[Queued] = None  # the loop playing
        self._current: Optional[np.ndarray] = None  # its device samples
        self._old: Optional[np.ndarray] = None  # the loop being faded out
        self._old_pos = 0  # where the faded-out loop goes on from
        self.version = -1  # version of the loop playing
        self.serial = 0  # counts queued loops (a refitted loop keeps its version, not its serial)
        self.loops_started = 0
        self._pos = 0  # playhead in the current loop, device samples
        self._seek = -1  # a requested playhead (model samples), taken at the next block
        self._nudge = 0  # a requested playhead shift (device samples), taken at the next block
        self._rate_change: Optional[tuple] = None  # (rate, converted playing loop, queued) for the next block
        self.render_time: Optional[float] = None  # time.monotonic() of the last block ...
        self.render_pos = 0  # ... and where in the loop it started (model samples)
        self.render_device_pos = 0  # (the same in device samples)
        self.loop_origin: Optional[float] = None  # render_time - render_device_pos / device_rate
        # time.monotonic() minus the backend's block times (JACK's come from its frame counter):
        # add it to a block time for the system clock, subtract it from a system time for block time
        self.clock_offset = 0.0
        self.boundaries = 0  # loop boundaries passed (a switch or a repeat)
        self._fade_pos = 0
        self._scratch = np.zeros(max_block, np.float32)
        self._gain = 0.0  # the gain applied at the end of the last block (ramps to volume / 0)
        self._ramp = np.zeros(0, np.float32)  # (1..n) / n for the block size n in use
        self._crossfade_ms = float(crossfade_ms)
        self.set_crossfade(crossfade_ms)
        self._input_seconds = float(input_seconds)
        # live input ring buffer (device samples, written by the backend's input port)
        self._input = np.zeros(max(1, int(input_seconds * self.device_rate)), np.float32)
        self._input_pos = 0
        # input samples written since the ring (re)started: sample i sits at ring[i % len(ring)]
        # (_input_pos == input_written % len(ring)), so a reader that keeps the count it read up to
        # gets the new samples from this one number (audio/live.py)
        self.input_written = 0
        # optional recording of everything played (device samples; the demo's WAV)
        self._record = np.zeros(int(record_seconds * self.device_rate), np.float32)
        self.recorded = 0

    # --- any thread ------------------------------------------------------------------------------------
    def set_meter(self, bpm: float, bars: int, beats_per_bar: int = 4) -> None:
        """The tempo the loops queued from now on are in (their bar lines; exact bars at the device rate)."""
        self._meter = (float(bpm), int(bars), int(beats_per_bar))

    def _entry(self, audio: np.ndarray, version: int, rate: int, serial: int) -> Queued:
        model = np.ascontiguousarray(audio, dtype=np.float32)
        bpm, bars, bpb = self._meter
        n = device_length(len(model), self.sample_rate, rate, bpm, bars, bpb)
        return Queued(model, loop_to_length(model, n) if n != len(model) else model, int(version),
                      bars if bpm > 0 else 0, rate, serial)

    def queue(self, audio: np.ndarray, version: int, serial: Optional[int] = None) -> None:
        """Play ``audio`` (model rate) from the next loop boundary on -- from the next bar line when
        its length differs from the loop playing (the first loop starts at once)."""
        self.serial = int(serial) if serial is not None else self.serial + 1
        self._queued = self._entry(audio, version, self.device_rate, self.serial)

    def set_device_rate(self, rate: int) -> None:
        """The device runs at ``rate`` Hz: the loops are converted (here, not in the callback) and
        the player switches at its next block.  Called by the backend when it opens the device."""
        rate = int(rate)
        if rate == self.device_rate and self._rate_change is None:
            return
        playing, queued = self._playing, self._queued
        converted = self._entry(playing.model, playing.version, rate, playing.serial)._replace(bars=playing.bars) \
            if playing is not None else None
        again = self._entry(queued.model, queued.version, rate, queued.serial) if queued is not None else None
        if len(self._input) < int(self._input_seconds * rate):
            self._input = np.zeros(int(self._input_seconds * rate), np.float32)
            self._input_pos = 0
            self.input_written = 0
        self._rate_change = (rate, converted, again)
        if self.render_time is None:  # nothing renders yet: take it now
            self._apply_rate_change()

    def seek(self, pos: int) -> None:
        """Move the playhead to ``pos`` (model samples) at the next block (bar-phase alignment)."""
        self._seek = int(pos)

    def nudge(self, samples: int) -> None:
        """Shift the playhead by ``samples`` device samples at the next block (phase sync)."""
        self._nudge = int(samples)

    def device_loop_length(self) -> int:
        """Device samples of the loop playing (0 before one plays)."""
        playing = self._playing
        return len(playing.device) if playing is not None else 0

    def set_crossfade(self, ms: float) -> None:
        self._crossfade_ms = float(ms)
        n = max(1, int(ms * 1e-3 * self.device_rate))
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
        self._fades = (ramp, (1.0 - ramp).astype(np.float32))  # one reference: (fade in, fade out)

    def queued(self) -> Optional[np.ndarray]:
        """The newest queued loop (model rate; it plays from the next loop boundary on)."""
        q = self._queued
        return q.model if q is not None else None

    @property
    def pos(self) -> int:
        """The playhead in the loop playing, model samples."""
        playing = self._playing
        if playing is None:
            return 0
        return position_map(self._pos, len(playing.device), len(playing.model))

    def playhead(self) -> tuple[Optional[np.ndarray], int]:
        """(the loop playing at the model rate, the position in it)."""
        playing = self._playing
        if playing is None:
            return None, 0
        return playing.model, position_map(self._pos, len(playing.device), len(playing.model))

    def input_window(self, n: int) -> np.ndarray:
        """The latest ``n`` samples of the live input at the model rate, oldest first (a copy)."""
        return input_window(self._input, self._input_pos, n, self.device_rate, self.sample_rate)

    def input_ring(self) -> tuple[np.ndarray, int]:
        """(the live input ring at the device rate, ``input_written``): sample i of the input since
        the ring started sits at ``ring[i % len(ring)]`` while i >= written - len(ring)."""
        return self._input, self.input_written

    def recording(self) -> np.ndarray:
        """What was played, at the device rate (``device_rate``)."""
        return self._record[:self.recorded].copy()

    # --- the real-time thread ---------------------------------------------------------------------------
    def render(self, out: np.ndarray, when: Optional[float] = None) -> None:
        """Fill ``out`` (float32, in place) with the next block of the loop; ``when``: the block's
        start on the ``time.monotonic()`` clock when the backend knows it better than "now" (JACK's
        frame time), for the bar-phase sync."""
        if self._rate_change is not None:
            self._apply_rate_change()
        n = len(out)
        queued = self._queued
        if self._playing is None and queued is not None and queued.rate == self.device_rate:
            self._switch(queued, fade=False, pos=0)
        cur = self._current
        playing = self._playing
        if cur is not None:
            seek = self._seek
            if seek >= 0:
                self._seek = -1
                self._pos = position_map(seek, len(playing.model), len(cur))
            nudge = self._nudge
            if nudge:
                self._nudge = 0
                self._pos = (self._pos + nudge) % len(cur)
        self.render_time, self.render_device_pos = (time.monotonic() if when is None else when), self._pos
        self.render_pos = position_map(self._pos, len(cur), len(playing.model)) if cur is not None else 0
        self.loop_origin = self.render_time - self._pos / self.device_rate  # (one float: read atomically)
        target = self.volume if self.playing else 0.0
        if cur is None or (target == 0.0 and self._gain == 0.0):  # silent: the playhead waits
            out.fill(0.0)
            self._record_block(out)
            return
        done = 0
        while done < n:
            queued = self._queued
            change = (queued is not None and queued is not playing and queued.rate == self.device_rate)
            limit = len(cur)
            bar = 0
            if change and len(queued.device) != len(cur) and playing.bars > 1:
                # another length: take over at the next bar line (bar k of the loop playing)
                bar = self._pos * playing.bars // len(cur) + 1
                limit = min(len(cur), -(-bar * len(cur) // playing.bars))
            take = min(n - done, limit - self._pos)
            seg = out[done:done + take]
            seg[:] = cur[self._pos:self._pos + take]
            self._crossfade(seg)
            done += take
            self._pos += take
            if self._pos >= limit:
                if change:  # the newest loop takes over (at the same bar of it)
                    start = 0 if limit >= len(cur) or not queued.bars else \
                        -(-(bar % queued.bars) * len(queued.device) // queued.bars)
                    self._switch(queued, fade=True, pos=start)
                    cur, playing = self._current, self._playing
                if self._pos >= len(cur):
                    self._pos = 0
                    self.boundaries += 1
                elif self._pos == 0:
                    self.boundaries += 1
        self._apply_gain(out, target)
        self._record_block(out)

    def _apply_rate_change(self) -> None:
        rate, converted, queued = self._rate_change
        self._rate_change = None
        old = self._current
        self.device_rate = rate
        self.set_crossfade(self._crossfade_ms)
        if converted is not None:
            self._pos = position_map(self._pos, len(old), len(converted.device)) if old is not None else 0
            self._playing, self._current = converted, converted.device
        if queued is not None and self._queued is not None and self._queued.rate != rate:
            self._queued = queued
        self._old = None

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
        """Append a block of live input (device rate) to the ring buffer (real-time thread)."""
        ring, n = self._input, len(block)
        if n > len(ring):  # only the block's last ring-full fits: its start is lost (but counted)
            self.input_written += n - len(ring)
            self._input_pos = self.input_written % len(ring)
            block, n = block[n - len(ring):], len(ring)
        start = self._input_pos
        first = min(n, len(ring) - start)
        ring[start:start + first] = block[:first]
        ring[:n - first] = block[first:]
        self._input_pos = (start + n) % len(ring)
        self.input_written += n

    def _switch(self, queued: Queued, fade: bool, pos: int) -> None:
        self._old = self._current if fade else None
        self._old_pos = self._pos
        self._playing, self._current, self.version = queued, queued.device, queued.version
        self._pos = pos
        self._fade_pos = 0
        self.loops_started += 1

    def _crossfade(self, seg: np.ndarray) -> None:
        old = self._old
        if old is None:
            return
        fade_in, fade_out = self._fades
        k = self._fade_pos
        start = self._old_pos % len(old) if self._old_pos < len(old) else 0
        m = min(len(seg), len(fade_in) - k, len(old) - start - k)
        if m <= 0:
            self._old = None
            return
        head = seg[:m]
        np.multiply(head, fade_in[k:k + m], out=head)
        tmp = self._scratch[:m]
        np.multiply(old[start + k:start + k + m], fade_out[k:k + m], out=tmp)
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


def input_window(ring: np.ndarray, end: int, n: int, device_rate: int, model_rate: int,
                 guard: int = 64) -> np.ndarray:
    """The latest ``n`` model-rate samples of a device-rate input ring ending at ``end`` (a copy).
    At another rate, a little more is read and converted (soxr) and the last ``guard`` converted
    samples -- those the converter's filter had no future for -- are left out (a delay of
    ``guard`` samples, 1.5 ms at 44.1 kHz)."""
    if device_rate == model_rate:
        n = min(n, len(ring))
        return ring[np.arange(end - n, end) % len(ring)]
    import soxr

    m = min(len(ring), int(np.ceil((n + 2 * guard) * device_rate / model_rate)) + 16)
    raw = ring[np.arange(end - m, end) % len(ring)]
    converted = soxr.resample(raw, device_rate, model_rate, quality="HQ").astype(np.float32)
    stop = max(0, len(converted) - guard)
    got = converted[max(0, stop - n):stop]
    if len(got) < n:
        got = np.concatenate([np.zeros(n - len(got), np.float32), got])
    return got
