"""A circular short-time Fourier transform: the loop is a circle, so frames wrap around its end.

``analyze`` and ``synthesize`` are exact inverses for any loop length (weighted overlap-add with
the window's own squared sum), and nothing in either ever sees a seam: the de-noiser and the
time-frequency parameterization built on it keep a loop seamless.
"""
from __future__ import annotations

import math

import torch


class CircularSTFT:
    def __init__(self, n_samples: int, n_fft: int = 1024, hop: int = 256, device=None,
                 dtype: torch.dtype = torch.float32):
        if n_samples < n_fft:
            raise ValueError(f"a loop of {n_samples} samples is shorter than the STFT window ({n_fft})")
        self.n, self.n_fft, self.hop = n_samples, n_fft, hop
        self.frames = -(-n_samples // hop)  # ceil: the last frames wrap around the loop's end
        self.window = torch.hann_window(n_fft, periodic=True, device=device, dtype=dtype)
        starts = torch.arange(self.frames, device=device) * hop
        self.index = (starts[:, None] + torch.arange(n_fft, device=device)[None]) % n_samples  # [T, n_fft]
        norm = torch.zeros(n_samples, device=device, dtype=dtype)
        norm.index_add_(0, self.index.reshape(-1), self.window.pow(2).repeat(self.frames))
        self.norm = norm.clamp_min(1e-8)

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def analyze(self, audio: torch.Tensor) -> torch.Tensor:
        """audio [B, N] -> complex [B, bins, frames]."""
        need = (self.frames - 1) * self.hop + self.n_fft  # the circle, unrolled far enough
        reps = -(-need // self.n)
        wrapped = audio.repeat(1, reps)[:, :need] if reps > 1 else audio[:, :need]
        frames = wrapped.unfold(-1, self.n_fft, self.hop) * self.window  # [B, T, n_fft]
        return torch.fft.rfft(frames, dim=-1).transpose(1, 2)

    def synthesize(self, spec: torch.Tensor) -> torch.Tensor:
        """complex [B, bins, frames] -> audio [B, N] (weighted overlap-add around the circle)."""
        frames = torch.fft.irfft(spec.transpose(1, 2), n=self.n_fft, dim=-1) * self.window  # [B, T, n_fft]
        out = torch.zeros(frames.shape[0], self.n, device=frames.device, dtype=frames.dtype)
        out = out.index_add(1, self.index.reshape(-1), frames.reshape(frames.shape[0], -1))
        return out / self.norm


def log_band_weights(freqs: torch.Tensor, bands: int, f_low: float, f_high: float) -> torch.Tensor:
    """[F, bands]: triangular interpolation on log frequency between ``bands`` log-spaced band
    centres from ``f_low`` to ``f_high``, each bin's weights summing to 1."""
    edges = torch.logspace(math.log10(f_low), math.log10(f_high), bands + 1, device=freqs.device, dtype=freqs.dtype)
    centre = torch.log((edges[:-1] * edges[1:]).sqrt())[None]
    lf = torch.log(freqs.clamp_min(20.0))[:, None]
    w = torch.clamp(1 - (lf - centre).abs() / (centre[0, 1] - centre[0, 0]), min=0)
    return w / w.sum(1, keepdim=True).clamp_min(1e-6)
