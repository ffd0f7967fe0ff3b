"""Loops in bars at a tempo: pure arithmetic, no state.

With a tempo (bpm > 0) the loop is a whole number of bars long, so its boundary -- where the
next optimized loop takes over -- falls on a bar line of the DAW playing at that tempo.  Without
a tempo (bpm 0) the loop length is free, in seconds.  Which tempi, bar counts and loop lengths
are allowed is the config's (``check_tempo``, from the bounds of ``service.tempo``, ``bars``,
``beats_per_bar`` and ``loop_seconds``).
"""
from __future__ import annotations

from ..config import bar_seconds, check_tempo

__all__ = ["bar_seconds", "bars_for", "check_tempo", "loop_phase_samples", "loop_samples"]


def loop_samples(bpm: float, bars: int, beats_per_bar: int, sample_rate: int) -> int:
    """Samples in ``bars`` bars (rounded to the nearest sample; the drift this leaves against a
    DAW's clock is below 0.5 samples per loop, and Ableton Link's phase sync removes it)."""
    return int(round(bars * bar_seconds(bpm, beats_per_bar) * sample_rate))


def bars_for(seconds: float, bpm: float, beats_per_bar: int) -> int:
    """The whole number of bars (at least 1) nearest to ``seconds``."""
    return max(1, int(round(seconds / bar_seconds(bpm, beats_per_bar))))


def loop_phase_samples(beat: float, bars: int, beats_per_bar: int, n_samples: int) -> int:
    """Where in a loop of ``bars`` bars (``n_samples`` long) the playhead belongs at session beat
    ``beat`` (beat 0 = the start of a bar, as Ableton Link counts with quantum = one loop)."""
    quantum = bars * beats_per_bar
    phase = beat % quantum
    return int(phase / quantum * n_samples) % max(1, n_samples)
