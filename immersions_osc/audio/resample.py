"""Sample-rate conversion at the device boundary: pure functions, no state.

The model keeps its own rate (44.1 kHz for the shipped one); a device (a JACK server, a PortAudio
device) may run at any other.  Loops are converted once, when they are queued (never in the audio
callback), to exactly the length they must have at the device's rate:

* ``device_length``: a loop of whole bars at a tempo is ``bars`` bars in *device* samples (rounded
  once, at the device rate: the bar length is exact there, not a rounded model length scaled up);
  a free-length loop is its model length scaled to the device rate.
* ``loop_to_length``: a loop is periodic, so it is resampled as one period (scipy's FFT resampler:
  band-limited, exactly ``n`` samples, no edge at the loop boundary).  The same function stretches a
  playing loop to a new bar length when the tempo changes.
* ``StreamResampler``: live input, device rate -> model rate, continuous across blocks (soxr's
  streaming resampler), for the thread that feeds the model -- not the audio callback.
"""
from __future__ import annotations

import numpy as np

from .tempo import loop_samples

# device rates the service accepts (a shared input ring is sized for the highest)
MAX_DEVICE_RATE = 192000


def device_length(n_model: int, model_rate: int, device_rate: int, bpm: float = 0.0, bars: int = 0,
                  beats_per_bar: int = 4) -> int:
    """Samples a loop of ``n_model`` model samples lasts at ``device_rate``: the exact whole bars
    when it is ``bars`` bars at ``bpm`` (at the model rate), else the scaled length."""
    if device_rate == model_rate:
        return int(n_model)
    if bpm > 0 and bars > 0 and n_model == loop_samples(bpm, bars, beats_per_bar, model_rate):
        return loop_samples(bpm, bars, beats_per_bar, device_rate)
    return max(1, int(round(n_model * device_rate / model_rate)))


def loop_to_length(loop: np.ndarray, n: int) -> np.ndarray:
    """One period of the periodic signal ``loop`` resampled to exactly ``n`` samples (float32).

    FFT resampling treats the loop as one period of a periodic signal -- which a loop is -- so the
    result is band-limited (to the lower of the two Nyquist frequencies) and continuous across its
    own boundary.  ``len(loop) == n`` returns a float32 copy."""
    from scipy.signal import resample

    loop = np.asarray(loop, np.float32)
    if len(loop) == n:
        return loop.copy()
    if len(loop) == 0 or n <= 0:
        return np.zeros(max(0, n), np.float32)
    return resample(loop.astype(np.float64), n).astype(np.float32)


def rates_text(model_rate: int, device_rate: int) -> str:
    """How the two rates meet, for the log line that says which device opened."""
    if model_rate == device_rate:
        return f"{device_rate} Hz"
    return f"device {device_rate} Hz, model {model_rate} Hz (loops and input resampled at the device boundary)"


def position_map(pos: int, n_from: int, n_to: int) -> int:
    """The position in a loop of ``n_to`` samples that corresponds to ``pos`` in one of ``n_from``."""
    if n_from <= 0:
        return 0
    return int(pos * n_to // n_from) % max(1, n_to)


class StreamResampler:
    """Continuous rate conversion of a block stream (soxr); ``process(block) -> converted block``
    (its length varies around ``len(block) * out_rate / in_rate``).  Not for the audio callback:
    the converter allocates its output."""

    def __init__(self, in_rate: int, out_rate: int):
        import soxr

        self.in_rate, self.out_rate = int(in_rate), int(out_rate)
        self._same = self.in_rate == self.out_rate
        self._soxr = None if self._same else soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="float32",
                                                                 quality="HQ")

    def process(self, block: np.ndarray) -> np.ndarray:
        block = np.ascontiguousarray(block, np.float32)
        if self._same:
            return block.copy()
        return self._soxr.resample_chunk(block)
