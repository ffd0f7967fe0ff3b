"""Hand-made audio features: the honest baselines a learned ear must beat in the linear probe.

Pure functions, audio ``[N, samples]`` (float32 tensor) in, features ``[N, D]`` out:

* :func:`log_cqt_stats` — mean and standard deviation over time of every log-power bin of the
  project's constant-Q scaleogram (timbre, register, loudness);
* :func:`mfcc_stats` — mean and standard deviation of 20 MFCCs (64-band mel, 2048-point STFT,
  hop 512): the classic timbre descriptor;
* :func:`onset_tempogram` — the autocorrelation of the onset-strength envelope (half-wave
  rectified spectral flux of the log-mel spectrogram) over lags up to 2 s, normalized by lag 0:
  periodicity, i.e. tempo and rhythm.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .config import ScaleogramConfig

N_FFT = 2048
HOP = 512
N_MELS = 64
N_MFCC = 20
TEMPOGRAM_SECONDS = 2.0


def mel_filterbank(sample_rate: int, n_fft: int = N_FFT, n_mels: int = N_MELS, fmin: float = 30.0,
                   fmax: float | None = None) -> torch.Tensor:
    """Triangular filters on the HTK mel scale, [n_mels, n_fft // 2 + 1], each of unit area."""
    fmax = fmax or sample_rate / 2

    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:, None] - edges[1:-1, None])
    fb = np.maximum(0.0, np.minimum(lower, upper))
    fb *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return torch.tensor(fb, dtype=torch.float32)


def log_mel(audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """[N, samples] -> log mel power [N, n_mels, frames]."""
    window = torch.hann_window(N_FFT, dtype=audio.dtype)
    spec = torch.stft(audio, N_FFT, HOP, window=window, center=True, return_complex=True).abs() ** 2
    return torch.log(mel_filterbank(sample_rate).to(audio.dtype) @ spec + 1e-10)


def _dct_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """Orthonormal DCT-II, [n_out, n_in]."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    m = np.cos(math.pi / n_in * (n + 0.5) * k) * math.sqrt(2.0 / n_in)
    m[0] /= math.sqrt(2.0)
    return torch.tensor(m, dtype=torch.float32)


def _mean_std(x: torch.Tensor) -> torch.Tensor:
    """[N, D, T] -> [N, 2D]: mean and standard deviation over time."""
    return torch.cat([x.mean(-1), x.std(-1)], dim=1)


@torch.no_grad()
def mfcc_stats(audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
    mfcc = _dct_matrix(N_MELS, N_MFCC) @ log_mel(audio.float(), sample_rate)
    return _mean_std(mfcc)


@torch.no_grad()
def log_cqt_stats(audio: torch.Tensor, cfg: ScaleogramConfig, batch: int = 16) -> torch.Tensor:
    from .scaleogram import Scaleogram

    transform = Scaleogram(cfg)
    out = [_mean_std(transform(audio[i:i + batch].float())[:, 0]) for i in range(0, len(audio), batch)]
    return torch.cat(out)


@torch.no_grad()
def onset_envelope(audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Onset strength [N, frames] at sample_rate / HOP frames per second."""
    mel = log_mel(audio.float(), sample_rate)
    flux = torch.relu(mel[..., 1:] - mel[..., :-1]).mean(1)
    return flux - flux.mean(-1, keepdim=True)


@torch.no_grad()
def onset_tempogram(audio: torch.Tensor, sample_rate: int, seconds: float = TEMPOGRAM_SECONDS) -> torch.Tensor:
    """Normalized autocorrelation of the onset envelope at lags 1 .. ``seconds`` [N, lags]."""
    env = onset_envelope(audio, sample_rate)
    n = env.shape[-1]
    lags = min(n - 1, int(round(seconds * sample_rate / HOP)))
    spec = torch.fft.rfft(env, n=2 * n)
    acf = torch.fft.irfft(spec.abs() ** 2, n=2 * n)[..., : lags + 1]
    acf = acf / torch.arange(n, n - lags - 1, -1, dtype=acf.dtype)  # unbiased: divide by overlap
    return acf[..., 1:] / acf[..., :1].clamp_min(1e-12)
