"""Signals and the librosa comparison shared by tests/test_scaleogram.py and
benchmarks/scaleogram_accuracy.py (a test helper, outside the runtime package)."""
import math

import numpy as np
import torch

from immersions_osc.scaleogram import bin_frequencies, frame_centre_offsets

SR = 44100


def chord_and_chirp(seconds: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    chord = sum(0.3 * np.sin(2 * np.pi * f * t) for f in (110.0, 138.6, 164.8, 440.0, 1318.5))
    # exponential chirp 50 Hz -> 12 kHz
    f0, f1 = 50.0, 12000.0
    k = math.log(f1 / f0) / seconds
    chirp = 0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)
    noise = 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (chord + chirp + noise).astype(np.float32)


def tones_and_noise(seconds: float, seed: int) -> np.ndarray:
    """Eight steady tones, drawn log-uniformly over the bins' range, in white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    freqs = np.exp(rng.uniform(math.log(40.0), math.log(16000.0), 8))
    amplitudes = rng.uniform(0.02, 0.3, 8)
    phases = rng.uniform(0, 2 * np.pi, 8)
    x = sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(amplitudes, freqs, phases))
    return (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def magnitudes_at_centred_frames(scaleogram, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Our magnitudes resampled onto a centred transform's frames (frame t centred on t * hop).

    Each bin's frames sit ``offset`` samples from ``t * hop`` (frame_centre_offsets): delaying the
    input by the sub-hop part of the offset and shifting by the whole hops puts bin k's frame t on
    sample t * hop.  Returns [bins, frames] magnitudes and the whole-hop lag of every bin.
    """
    cfg = scaleogram.cfg
    offsets = frame_centre_offsets(cfg)
    lag = np.floor(offsets / cfg.hop_length).astype(int)
    delay = np.round(offsets - lag * cfg.hop_length).astype(int)
    out = np.zeros((cfg.n_bins, len(x) // cfg.hop_length))
    for d in np.unique(delay):
        delayed = torch.tensor(np.concatenate([np.zeros(d, np.float32), x])[: len(x)])
        real, imag = scaleogram.complex_transform(delayed)
        bins = delay == d
        out[bins] = torch.sqrt(real ** 2 + imag ** 2)[0].numpy()[bins]
    return out, lag


def librosa_filter_scale(cfg) -> float:
    """librosa's filter_scale giving our kernel lengths (its Q is filter_scale / alpha)."""
    alpha = (2 ** (2 / cfg.bins_per_octave) - 1) / (2 ** (2 / cfg.bins_per_octave) + 1)
    return cfg.filter_scale * alpha / (2 ** (1 / cfg.bins_per_octave) - 1)


def kernel_lengths(cfg) -> np.ndarray:
    import librosa

    return librosa.filters.wavelet_lengths(freqs=bin_frequencies(cfg), sr=cfg.sample_rate,
                                           filter_scale=librosa_filter_scale(cfg))[0]


def librosa_magnitudes(cqt, x: np.ndarray, cfg, **kw) -> np.ndarray:
    """librosa.cqt's magnitudes with our bins and kernel lengths, scaled like ours (a sinusoid of
    amplitude a gives a / 2; with scale=False librosa gives a * length / 2)."""
    c = cqt(x, sr=cfg.sample_rate, hop_length=cfg.hop_length, fmin=cfg.fmin, n_bins=cfg.n_bins,
            bins_per_octave=cfg.bins_per_octave, filter_scale=librosa_filter_scale(cfg), scale=False, **kw)
    return np.abs(c) / kernel_lengths(cfg)[:, None]


def log_correlation(ours: np.ndarray, lag: np.ndarray, theirs: np.ndarray, floor: float) -> float:
    """Correlation of log(|X|^2 + floor) over all bins and frames; ours[k, t] is compared with
    theirs[k, t + lag[k]], frames whose kernels reach before the start left out."""
    margin = int(np.abs(lag).max()) + 2
    frames = np.arange(margin, min(ours.shape[1], theirs.shape[1]) - margin)
    a = np.stack([ours[k, frames] for k in range(len(lag))])
    b = np.stack([theirs[k, frames + lag[k]] for k in range(len(lag))])
    return float(np.corrcoef(np.log(a ** 2 + floor).ravel(), np.log(b ** 2 + floor).ravel())[0, 1])


def log_magnitude_correlations(scaleogram, x: np.ndarray, cqt, variants: list[dict]) -> list[float]:
    """Ours vs librosa.cqt (one figure per set of librosa options), at each bin's own frame
    centres, log power with our power floor."""
    cfg = scaleogram.cfg
    ours, lag = magnitudes_at_centred_frames(scaleogram, x)
    return [log_correlation(ours, lag, librosa_magnitudes(cqt, x, cfg, **kw), cfg.power_floor) for kw in variants]


SIGNALS = {"chord+chirp": lambda: chord_and_chirp(5.0), "tones+noise seed 0": lambda: tones_and_noise(5.0, 0),
           "tones+noise seed 1": lambda: tones_and_noise(5.0, 1)}


