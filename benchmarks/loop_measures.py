"""Measures of optimized loops that a sparse code cannot fool (issue 24), as pure functions.

Activation measures take channel means (time-averaged activations) of one layer: ``base`` [C]
on the start clip and ``means`` [B, C] on every loop of a batch, where loop ``b`` was optimized
for channel ``c`` of that layer.  Audio measures take a loop as a numpy array at ``sr``.

- gain: the target's activation on its own loop over its activation on the start (offset by
  1 % of the layer's mean on the start, so a channel silent on the start stays finite).
- selectivity: the target's gain over the gain of its layer's total activation: how much the
  target's *share* of its layer grew.  A loop that only makes everything louder scores 1; waking
  a few silent channels barely moves it (unlike a mean of per-channel gains).
- top: the target is its layer's most active channel on its own loop.
- specificity: the target's activation on its own loop over its best activation on any other loop
  of the batch (loops made for other channels of its layer and for other blocks).
- level variation: the spread (90th - 10th percentile) of the loop's level in 50 ms frames, dB:
  ~1 dB for steady noise, >= 6 dB for a loop with audible beats or notes.
- onset strength: the 99th percentile of the frame-to-frame level rise in 11.6 ms frames, dB.
- pitch salience: YIN's aperiodicity complement, 1 - min of the cumulative-mean-normalized
  difference over lags of 55..1000 Hz, median over 46 ms frames: ~0.1-0.3 for noise, ~0.9 for
  a steady tone.
"""
from __future__ import annotations

import numpy as np
import torch

SILENT = 0.01  # a channel below this share of its layer's mean activation is silent (and the gain offset)


def target_figures(base: torch.Tensor, means: torch.Tensor, b: int, c: int) -> dict:
    """The activation figures of target channel ``c``, whose own loop is ``means[b]``."""
    eps = SILENT * float(base.mean()) + 1e-9
    now = means[b]
    gain = float((now[c] + eps) / (base[c] + eps))
    total = float((now.mean() + eps) / (base.mean() + eps))
    others = torch.cat([means[:b, c], means[b + 1:, c]])
    specificity = float((now[c] + eps) / (others.max() + eps)) if len(others) else float("nan")
    return {"gain": gain, "selectivity": gain / total, "top": bool(int(now.argmax()) == c),
            "specificity": specificity}


def spectrum_correlations(spectra: np.ndarray, groups: list[str]) -> tuple[float, float]:
    """(mean correlation of the long-term spectra [B, F] between loops of the same group (layer),
    between loops of different groups); nan where there is no such pair."""
    corr = np.corrcoef(spectra)
    same, other = [], []
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            (same if groups[i] == groups[j] else other).append(corr[i, j])
    mean = lambda v: float(np.mean(v)) if v else float("nan")
    return mean(same), mean(other)


def frame_levels(x: np.ndarray, hop: int) -> np.ndarray:
    frames = len(x) // hop
    power = np.square(x[:frames * hop].reshape(frames, hop)).mean(1)
    return 10 * np.log10(power + 1e-12)


def level_variation(x: np.ndarray, sr: int, frame_s: float = 0.05) -> float:
    levels = frame_levels(x, max(1, int(frame_s * sr)))
    return float(np.percentile(levels, 90) - np.percentile(levels, 10))


def onset_envelope(x: np.ndarray, hop: int = 512) -> np.ndarray:
    """Per frame, how many dB the level rose since the last frame (0 where it fell); the loop
    wraps, so the last frame's rise is to the first."""
    levels = frame_levels(x, hop)
    return np.maximum(np.diff(levels, append=levels[:1]), 0)


def onset_strength(x: np.ndarray, sr: int, hop: int = 512) -> float:
    return float(np.percentile(onset_envelope(x, hop), 99))


def pitch_salience(x: np.ndarray, sr: int, frame: int = 2048, f_low: float = 55.0, f_high: float = 1000.0) -> float:
    lo, hi = int(sr / f_high), min(int(sr / f_low), frame // 2)
    values = []
    for start in range(0, len(x) - frame, frame):
        w = x[start:start + frame]
        if np.mean(w ** 2) < 1e-10:
            continue
        n = frame // 2
        # difference function d(tau) = sum (w[t] - w[t + tau])^2 over the first half-window
        a = w[:n]
        d = np.array([np.sum((a - w[tau:tau + n]) ** 2) for tau in range(hi + 1)])
        cmnd = d[1:] * np.arange(1, hi + 1) / np.maximum(np.cumsum(d[1:]), 1e-20)
        values.append(1.0 - float(np.min(cmnd[lo - 1:hi])))
    return float(np.median(values)) if values else 0.0
