"""Loops in bars at a tempo: pure arithmetic, no state.

With a tempo (bpm > 0) the loop is a whole number of bars long, so its boundary -- where the
next optimized loop takes over -- falls on a bar line of the DAW playing at that tempo.  Without
a tempo (bpm 0) the loop length is free, in seconds.
"""
from __future__ import annotations

from ..errors import UserError

MIN_BPM, MAX_BPM = 20.0, 400.0
MAX_BARS = 64
MIN_SECONDS, MAX_SECONDS = 0.5, 60.0


def bar_seconds(bpm: float, beats_per_bar: int) -> float:
    return 60.0 * beats_per_bar / bpm


def loop_samples(bpm: float, bars: int, beats_per_bar: int, sample_rate: int) -> int:
    """Samples in ``bars`` bars (rounded to the nearest sample; the drift this leaves against a
    DAW's clock is below 0.5 samples per loop, and Ableton Link's phase sync removes it)."""
    return int(round(bars * bar_seconds(bpm, beats_per_bar) * sample_rate))


def bars_for(seconds: float, bpm: float, beats_per_bar: int) -> int:
    """The whole number of bars (at least 1) nearest to ``seconds``."""
    return max(1, int(round(seconds / bar_seconds(bpm, beats_per_bar))))


def check_tempo(bpm: float, bars: int, beats_per_bar: int) -> None:
    """A tempo of 0 means "no tempo, seconds"; otherwise the loop must stay 0.5..60 s long."""
    if bpm == 0:
        return
    if not MIN_BPM <= bpm <= MAX_BPM:
        raise UserError(f"tempo must be {MIN_BPM:g}..{MAX_BPM:g} bpm (0 = no tempo), got {bpm:g}")
    if not 1 <= bars <= MAX_BARS:
        raise UserError(f"bars must be 1..{MAX_BARS}, got {bars}")
    if not 1 <= beats_per_bar <= 32:
        raise UserError(f"beats per bar must be 1..32, got {beats_per_bar}")
    seconds = bars * bar_seconds(bpm, beats_per_bar)
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        most = max(1, int(MAX_SECONDS // bar_seconds(bpm, beats_per_bar)))
        raise UserError(f"{bars} bars of {beats_per_bar} beats at {bpm:g} bpm last {seconds:.2f} s; a loop lasts "
                        f"{MIN_SECONDS:g}..{MAX_SECONDS:g} s (at this tempo at most {most} bars)")


def loop_phase_samples(beat: float, bars: int, beats_per_bar: int, n_samples: int) -> int:
    """Where in a loop of ``bars`` bars (``n_samples`` long) the playhead belongs at session beat
    ``beat`` (beat 0 = the start of a bar, as Ableton Link counts with quantum = one loop)."""
    quantum = bars * beats_per_bar
    phase = beat % quantum
    return int(phase / quantum * n_samples) % max(1, n_samples)
