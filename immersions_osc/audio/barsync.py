"""Bar lines from the DAW without Ableton Link: the MIDI clock (JACK MIDI, port
``immersions:midi_in``; or any MIDI input through python-rtmidi, ``--midi-in``) and the
``/immersions/player/sync`` message move the loop's playhead so that its bar lines -- and so its
boundaries -- are heard on the DAW's (heard: at the converter, one output latency after they are
rendered; docs/audio.md).

A thread polls the MIDI clock messages (the JACK backend's, the rtmidi input's) 50 times a second,
feeds them to the pure :class:`.midiclock.MidiClock` (rtmidi: :class:`.midiclock.SmoothedMidiClock`,
its stamps jitter), follows its tempo (the loop is refitted, heard at the next bar) and,
while the clock runs, moves the playhead whenever its bar lines drift more than ``tolerance_ms``
from the clock's.  The sync message names a bar line; the thread then keeps the loop's bar lines on that grid
(until the tempo changes or a MIDI clock runs).  The audio callback is never
involved: a correction is one reference the player takes at its next block (``nudge``).
"""
from __future__ import annotations

import math
import random
import threading
import time
from typing import Callable, Optional

from .midiclock import MidiClock, SmoothedMidiClock, bar_shift

Log = Callable[[str], None]
TEMPO_STEP = 0.005  # bpm: a clock tempo this far from the service's is followed (the loop refitted)
DRIFT_MS = 0.5  # a jittery clock's tempo is followed once its loop would drift less than this a bar (1 sigma) ...
SWITCH_LEAD = 0.4  # ... or when the clock's next bar line is this many seconds away (the refit must be queued)


class BarSync:
    def __init__(self, player, get_tempo: Callable[[], tuple[float, int, int]],
                 follow_tempo: Callable[[float, str], None], latency: Callable[[], float], log: Log = print,
                 tolerance_ms: float = 1.0, poll_seconds: float = 0.02):
        self.player, self.get_tempo, self.follow_tempo = player, get_tempo, follow_tempo
        self.audio = None  # the backend whose MIDI clock messages are read (drain_midi), set by start()
        self.latency, self.log = latency, log
        self.tolerance_ms, self.poll_seconds = tolerance_ms, poll_seconds
        self.clock = MidiClock(get_tempo()[2])  # the JACK backend's port (frame-exact stamps)
        self.midi_in = None  # a python-rtmidi input (--midi-in), set by start()
        self.rt_clock = SmoothedMidiClock(get_tempo()[2])  # its clock (the MIDI API's stamps jitter)
        self.corrections = 0
        self._aimed_sigma = float("inf")  # a jittery clock: the standard error of the bar line last aimed at
        self.last_shift = 0
        self._said_clock = False
        self._pending: Optional[float] = None  # a sync that waits for a loop to play
        self._grid: Optional[tuple[float, float, int]] = None  # (a bar line, bpm, beats per bar) of the last sync
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="immersions-barsync", daemon=True)

    def start(self, audio=None, midi_in=None) -> "BarSync":
        self.audio, self.midi_in = audio, midi_in
        self._thread.start()
        return self

    # --- the sync message ------------------------------------------------------------------------------
    def sync(self, bar_time: float) -> None:
        """A bar line of the DAW at ``bar_time`` (time.monotonic()): aligned now, or as soon as a
        loop plays (the thread retries); from then on the thread keeps the loop's bar lines on that
        grid (an xrun that skipped audio is corrected) until the tempo changes or a MIDI clock
        runs.  The grid is kept in the backend's block time (JACK: its frame counter)."""
        bar_time -= self.player.clock_offset
        bpm, _, beats_per_bar = self.get_tempo()
        self._grid = (bar_time, bpm, beats_per_bar) if bpm > 0 else None
        if self.align(bar_time) is None:
            self._pending = bar_time

    def _keep_grid(self) -> None:
        grid = self._grid
        if grid is None:
            return
        bpm, _, beats_per_bar = self.get_tempo()
        if (bpm, beats_per_bar) != grid[1:]:
            self._grid = None  # another tempo: the grid is gone until the next sync
            return
        bar = beats_per_bar * 60.0 / bpm
        now = time.monotonic() - self.player.clock_offset
        line = grid[0] + math.floor((now - grid[0]) / bar) * bar
        self.align(line, tolerance_samples=int(self.tolerance_ms * 1e-3 * self.player.device_rate))

    def align(self, bar_time: float, tolerance_samples: int = 0, before_switch: bool = False) -> Optional[int]:
        """Move the playhead so that a bar line of the loop is heard at ``bar_time`` (block time:
        time.monotonic() less the player's clock_offset; MIDI timestamps are block time); the shift in device samples (None: nothing plays yet, or a loop
        of another length is about to take over)."""
        p = self.player
        loop, _ = p.playhead()
        queued = p.queued()
        origin = p.loop_origin
        n = p.device_loop_length()
        if loop is None or origin is None or n <= 0:
            return None
        switching = queued is not None and len(queued) != len(loop)
        if switching != before_switch:
            return None
        bpm, bars, _ = self.get_tempo()
        if switching:  # the loop playing has the old bar length: its bar count is the same
            bars = max(1, int(round(len(loop) / len(queued) * bars)))
        shift = bar_shift(origin, n, bars if bpm > 0 else 1, p.device_rate, bar_time, self.latency())
        self.last_shift = shift
        if abs(shift) > tolerance_samples:
            p.nudge(shift)
            self.corrections += 1
        return shift

    # --- the MIDI clock --------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds * random.uniform(0.5, 1.5)):  # (uneven: see rtmidiclock)
            try:
                pending = self._pending
                if pending is not None and self.align(pending) is not None:
                    self._pending = None
                drain = getattr(self.audio, "drain_midi", None)
                if drain is not None:
                    self._step(drain(), self.clock, "immersions:midi_in")
                if self.midi_in is not None:  # stamps on the MIDI API's clock: its bar lines go to block time
                    self._step(self.midi_in.drain(), self.rt_clock, self.midi_in.name, external=True)
                if not self.clock.running and not self.rt_clock.running and pending is None:
                    self._keep_grid()
            except Exception as exc:  # the clock must never take the service down
                self.log(f"midi clock: {type(exc).__name__}: {exc}")
                self._stop.wait(1.0)

    def _step(self, events: list, clock: MidiClock, where: str, external: bool = False) -> None:
        """Feed ``clock`` and follow it.  ``external``: its stamps are on the MIDI API's clock
        (python-rtmidi), not block time (the JACK port): the clock keeps them so (the offsets to
        time.monotonic() and to block time both move -- a better poll gap, a skipped audio cycle --
        and ticks already in the clock's fit must move with them), and only the bar lines it gives
        are taken to block time, with the offsets of the moment."""
        starts = clock.starts
        for when, (status, d1, d2) in events:
            clock.feed(when, status, d1, d2)
        if clock.starts != starts:
            self.log("midi clock: start")
            self._aimed_sigma = float("inf")
        bpm = clock.tempo()
        if bpm is None or not clock.running:
            return
        if not self._said_clock:
            self._said_clock = True
            self.log(f"midi clock: following {bpm:.2f} bpm and the bar lines of the MIDI clock on {where}")
        current, _, beats_per_bar = self.get_tempo()
        clock.beats_per_bar = beats_per_bar
        bpm = round(bpm, 3)
        # a clock whose stamps jitter (python-rtmidi) changes tempo only beyond its own noise
        smoothed = isinstance(clock, SmoothedMidiClock)
        sigma = clock.tempo_sigma() if smoothed else 0.0
        if abs(bpm - current) >= max(TEMPO_STEP, 4.0 * sigma) and (not smoothed or self._sure_enough(clock, bpm, external)):
            self.follow_tempo(bpm, "midi clock")
            self._aimed_sigma = float("inf")
            # the refitted loop takes over at the next bar line of the loop playing: put that bar
            # line on the clock's next one (at the new tempo)
            line = clock.bar_line()
            if line is not None:
                line += self._to_block() if external else 0.0
                self.align(line + clock.ticks_per_bar * clock.tick_seconds(), before_switch=True)
            return
        bar_time = clock.bar_line()
        if bar_time is not None:
            bar_time += self._to_block() if external else 0.0
            rate = self.player.device_rate
            tolerance = self.tolerance_ms * 1e-3
            sigma = clock.bar_sigma() if smoothed else 0.0
            # a jittery clock's bar line is followed beyond 3 sigma (its noise), and re-aimed at beyond
            # 2 sigma once it is twice as sure as when it was last aimed at (the first aim after a
            # start or a tempo change comes from half a bar of ticks)
            surer = smoothed and sigma <= 0.5 * self._aimed_sigma
            tolerance = max(tolerance, (2.0 if surer else 3.0) * sigma)
            if self._switch_pending():
                # the refitted loop waits for the bar line of the loop playing: that bar line is
                # put on the clock's next one again as the fit improves with every tick (the
                # first aim was extrapolated a bar ahead from the ticks the change had brought)
                shift = self.align(bar_time + clock.ticks_per_bar * clock.tick_seconds(),
                                   tolerance_samples=int(tolerance * rate), before_switch=True)
            else:
                shift = self.align(bar_time, tolerance_samples=int(tolerance * rate))
            if smoothed and shift is not None and (surer or abs(shift) > tolerance * rate):
                self._aimed_sigma = sigma

    def _switch_pending(self) -> bool:
        loop, _ = self.player.playhead()
        queued = self.player.queued()
        return loop is not None and queued is not None and len(queued) != len(loop)

    def _sure_enough(self, clock: SmoothedMidiClock, bpm: float, external: bool) -> bool:
        """Whether a jittery clock's new tempo is followed now: once the loop it would fit drifts
        less than ``DRIFT_MS`` a bar (one standard error of the tempo), or when the clock's next bar
        line -- where the refitted loop is to take over -- is ``SWITCH_LEAD`` s away or less (the
        refitted loop must be queued before it, or the change is heard a bar later).  Until then
        the fit takes more ticks: its error falls as they come, and a refitted loop stays at its
        first tempo until the clock is 4 sigma from it."""
        bar = clock.ticks_per_bar * clock.tick_seconds()
        if bar * clock.tempo_sigma() / bpm <= DRIFT_MS * 1e-3:
            return True
        line = clock.bar_line()
        if line is None:
            return True
        line += self._to_block() if external else 0.0
        return line + bar - (time.monotonic() - self.player.clock_offset) <= SWITCH_LEAD

    def _to_block(self) -> float:
        """Seconds from the rtmidi input's clock to block time."""
        return self.midi_in.offset - self.player.clock_offset

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
