"""Locked to a DAW without Ableton Link: MIDI clock in, and where the bar lines are.

Pure parts, testable without a device:

* :class:`MidiClock` -- MIDI clock messages (24 ticks per quarter note, start, stop, continue,
  song position pointer) with their arrival times in, the tempo and the time of a bar line out.
  After a *start* the first tick is the downbeat of bar 1; a *song position pointer* (in 16ths)
  followed by *continue* puts the next tick at that position.
* :func:`bar_shift` -- how far to move the playhead so that a bar line of the loop is *heard* at a
  given time (the DAW's bar line): used for the MIDI clock, for ``/immersions/player/sync`` and
  with the output latency and the user's latency offset.

And the one piece the real-time callback touches, :class:`EventRing`: a preallocated ring the
JACK process callback writes clock messages into (no lock; one writer, one reader).
"""
from __future__ import annotations

from collections import deque
from typing import Optional

import numpy as np

CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2
CLOCK_MESSAGES = frozenset((CLOCK, START, CONTINUE, STOP, SONG_POSITION))
TICKS_PER_BEAT = 24


class EventRing:
    """Fixed-size ring of (time, up to 3 MIDI bytes); ``put`` from the audio callback (array
    stores only), ``drain`` from any one other thread.  When the reader falls more than ``size``
    behind, the oldest messages are lost (counted)."""

    def __init__(self, size: int = 1024):
        self.size = size
        self._times = np.zeros(size, np.float64)
        self._bytes = np.zeros((size, 3), np.int32)
        self._written = 0
        self._read = 0
        self.lost = 0

    def put(self, when: float, data) -> None:
        i = self._written % self.size
        self._times[i] = when
        row = self._bytes[i]
        row[0] = data[0]
        row[1] = data[1] if len(data) > 1 else 0
        row[2] = data[2] if len(data) > 2 else 0
        self._written += 1

    def drain(self) -> list[tuple[float, tuple[int, int, int]]]:
        end = self._written
        start = self._read
        if end - start > self.size:
            self.lost += end - start - self.size
            start = end - self.size
        out = [(float(self._times[i % self.size]), tuple(int(b) for b in self._bytes[i % self.size]))
               for i in range(start, end)]
        self._read = end
        return out


class MidiClock:
    """MIDI clock in -> tempo (bpm) and bar lines (``time.monotonic()`` seconds).

    ``feed(time, status, data1, data2)`` for every clock-related message.  ``tempo()`` comes from
    the median tick interval over the last beat (None until a beat of ticks has come); ``bar_line()`` is the
    time of the latest bar line (None while stopped or before the first tick after a start)."""

    def __init__(self, beats_per_bar: int = 4, window: int = TICKS_PER_BEAT):
        self.beats_per_bar = beats_per_bar
        self.running = False
        self.tick = -1  # index of the last tick since the song's start (0 = the downbeat of bar 1)
        self._next_tick = 0  # index the next tick gets
        self._times: deque[float] = deque(maxlen=window + 2)  # an odd number of intervals: a true median
        self.last_tick_time: Optional[float] = None
        self._recent: deque[tuple[int, float]] = deque(maxlen=window + 2)  # (tick index, time) of the last ticks
        self.starts = 0

    @property
    def ticks_per_bar(self) -> int:
        return TICKS_PER_BEAT * self.beats_per_bar

    def feed(self, when: float, status: int, data1: int = 0, data2: int = 0) -> None:
        if when < 0:
            return  # the backend could not time it
        if status == START:
            self.running, self._next_tick = True, 0
            self._times.clear()
            self._recent.clear()
            self.starts += 1
        elif status == CONTINUE:
            self.running = True
            self._times.clear()
            self._recent.clear()
        elif status == STOP:
            self.running = False
        elif status == SONG_POSITION:
            self._next_tick = ((data2 & 0x7F) << 7 | (data1 & 0x7F)) * 6  # 16ths -> ticks
            self._recent.clear()
        elif status == CLOCK:
            interval = float(np.median(np.diff(np.asarray(self._times)))) if len(self._times) >= 3 else None
            if self.running:
                recent = self._recent
                if interval and recent and self._next_tick > self.tick:
                    # ticks since the last one: a clearly long gap is ticks lost on the way (a skipped
                    # audio cycle), a clearly short one follows a tick that was timed late (and
                    # counted one too far): it takes that tick's index
                    gap = (when - self.last_tick_time) / interval
                    self._next_tick = self.tick + (int(round(gap)) if gap >= 1.6 else 0 if gap < 0.4 else 1)
                self.tick = self._next_tick
                self._next_tick += 1
                self.last_tick_time = when
                recent.append((self.tick, when))
            self._times.append(when)

    def tick_seconds(self) -> Optional[float]:
        """The median tick interval over the last beat (a tempo change shows once half a beat of
        ticks has come at the new tempo, not as a glide through the tempi in between; a lost tick
        is one long interval, which the median passes over)."""
        times = self._times
        if len(times) < times.maxlen:
            return None
        diffs = np.diff(np.asarray(times))
        median = float(np.median(diffs))
        recent = self._recent
        steady = diffs[diffs < 1.5 * median]  # (a lost tick is one long interval)
        if (self.running and len(recent) >= 2 and recent[-1][0] > recent[0][0]
                and float(np.max(np.abs(steady - median))) < 0.003 * median):
            # a steady tempo: the slope over the counted ticks (exact where the ticks sit on whole
            # samples and the median would pick one of two neighbouring intervals)
            return (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])
        return median

    def tempo(self) -> Optional[float]:
        interval = self.tick_seconds()
        if interval is None or interval <= 0:
            return None
        return 60.0 / (TICKS_PER_BEAT * interval)

    def bar_line(self) -> Optional[float]:
        """The time of the bar line at or before the last tick: the median over the last ticks of
        where each puts it (one tick timed late does not move it)."""
        interval = self.tick_seconds()
        if not self.running or self.tick < 0 or not self._recent or interval is None:
            return None
        bar = self.tick - self.tick % self.ticks_per_bar
        return float(np.median([t - (i - bar) * interval for i, t in self._recent]))


def bar_shift(loop_origin: float, loop_length: int, bars: int, rate: int, bar_time: float,
              latency: float = 0.0) -> int:
    """Device samples to move the playhead by (-half a bar .. +half a bar) so that a bar line of
    the loop is heard at ``bar_time``.

    ``loop_origin``: when the loop's sample 0 was (or would have been) rendered, as the last block
    says (its start time minus its start position over the rate: one number, so a reader in
    another thread or process never pairs one block's time with another's position).  A sample is
    heard ``latency`` seconds after it is rendered, so the loop sample heard at ``bar_time`` is
    ``(bar_time - latency - loop_origin) * rate``; the shift brings it onto the nearest multiple of
    the bar length (``loop_length / bars``: any bar line of the loop, so the loop boundary falls on
    a bar line too)."""
    bar = loop_length / max(1, bars)
    heard = (bar_time - latency - loop_origin) * rate
    past = heard % bar
    return int(round(-past if past < bar / 2 else bar - past))


class SmoothedMidiClock(MidiClock):
    """:class:`MidiClock` for timestamps that jitter: tempo and bar lines from a least-squares line
    through the last ticks instead of the median tick interval.

    MIDI clock read through python-rtmidi (PortAudio set-ups, any system) carries the MIDI API's
    timestamps: exact to the microsecond from ALSA's sequencer and CoreMIDI, 1 ms on Windows, and
    one JACK period (10.7 ms at 48 kHz / 512 frames) through rtmidi's JACK API, which stamps a
    whole cycle's events with the cycle's time.  A median of such intervals is one of the
    quantized values (a wrong tempo); the line through up to ``span`` ticks averages the jitter
    out.  Ticks are counted as they come (a MIDI port loses none; rtmidi's queue holds 1024).  A
    tempo change: three ticks in a row on one side of the line, each further off than the fit's
    scatter allows, start a new line from them.  :meth:`tempo_sigma` and :meth:`bar_sigma` say how
    sure the line is, so the follower can ignore tempo "changes" within its noise."""

    def __init__(self, beats_per_bar: int = 4, span: int = 2 * 4 * TICKS_PER_BEAT, min_ticks: int = TICKS_PER_BEAT):
        super().__init__(beats_per_bar)
        self.span, self.min_ticks = span, min_ticks
        self._fit: deque[tuple[int, float]] = deque(maxlen=span)
        self._line: Optional[tuple[float, float, float, float, float]] = None  # (mean index, time there, slope, rms, sum of squares)
        self._off: list[tuple[int, float]] = []  # the last ticks off the line, on one side

    def feed(self, when: float, status: int, data1: int = 0, data2: int = 0) -> None:
        if when < 0:
            return
        if status != CLOCK:
            if status in (START, CONTINUE, SONG_POSITION):
                self._fit.clear()
                self._line, self._off = None, []
            super().feed(when, status, data1, data2)
            return
        if not self.running:
            return
        self.tick = self._next_tick
        self._next_tick += 1
        self.last_tick_time = when
        self._recent.append((self.tick, when))
        line = self._line
        if line is not None:
            predicted = line[1] + line[2] * (self.tick - line[0])
            miss = when - predicted
            if abs(miss) > max(0.002, 4.0 * line[3]):
                same_side = not self._off or (self._off[-1][1] > 0) == (miss > 0)
                self._off = (self._off if same_side else []) + [(self.tick, miss)]
                if len(self._off) >= 3:  # a new tempo: a new line from the ticks off the old one
                    keep = {i for i, _ in self._off}
                    self._fit = deque([(i, t) for i, t in self._fit if i in keep], maxlen=self.span)
                    self._off = []
            else:
                self._off = []
        self._fit.append((self.tick, when))
        self._refit()

    def _refit(self) -> None:
        if len(self._fit) < self.min_ticks:
            self._line = None
            return
        idx = np.array([i for i, _ in self._fit], np.float64)
        t = np.array([w for _, w in self._fit], np.float64)
        mi, mt = float(idx.mean()), float(t.mean())
        di = idx - mi
        ss = float(np.dot(di, di))
        slope = float(np.dot(di, t - mt) / ss)
        resid = t - (mt + slope * di)
        rms = float(np.sqrt(np.dot(resid, resid) / max(1, len(t) - 2)))
        self._line = (mi, mt, slope, rms, ss)

    def tick_seconds(self) -> Optional[float]:
        line = self._line
        return None if line is None or line[2] <= 0 else line[2]

    def tempo_sigma(self) -> float:
        """The tempo's standard error (bpm) from the scatter about the line."""
        line = self._line
        if line is None or line[2] <= 0:
            return float("inf")
        bpm = 60.0 / (TICKS_PER_BEAT * line[2])
        return bpm * (line[3] / np.sqrt(line[4])) / line[2]

    def bar_line(self) -> Optional[float]:
        line = self._line
        if not self.running or self.tick < 0 or line is None:
            return None
        bar = self.tick - self.tick % self.ticks_per_bar
        return line[1] + line[2] * (bar - line[0])

    def bar_sigma(self) -> float:
        """The bar line's standard error (s)."""
        line = self._line
        if line is None:
            return float("inf")
        bar = self.tick - self.tick % self.ticks_per_bar
        return line[3] * float(np.sqrt(1.0 / len(self._fit) + (bar - line[0]) ** 2 / line[4]))
