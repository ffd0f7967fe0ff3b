"""Regularizers as small composable transforms (in the spirit of lucent's ``transform`` lists).

Waveform transforms map audio [B, N] to audio [B, N] inside the graph, so the optimized loop must
excite the targets robustly (and, with the circular time shift, seamlessly across its wrap
point).  Scaleogram transforms act on [B, C, F, T].  Each takes a ``torch.Generator`` so runs are
reproducible.  ``noisy_gradient`` and ``denoise`` act on the gradient and between steps.
"""
from __future__ import annotations

from typing import Callable

import torch

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def compose(*transforms: Transform) -> Transform:
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for t in transforms:
            x = t(x, generator)
        return x
    return apply


def _uniform(generator: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=generator))


def random_time_shift(max_fraction: float = 1.0) -> Transform:
    """Circular roll by a random number of samples, up to ``max_fraction`` of the clip."""
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        limit = int(max_fraction * x.shape[-1])
        if limit < 1:
            return x
        shift = int(torch.randint(-limit, limit + 1, (), generator=generator))
        return torch.roll(x, shifts=shift, dims=-1)
    return apply


def resample_circular(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Read the loop ``ratio`` times faster (pitch up by 12 log2(ratio) semitones), wrapping around,
    with linear interpolation: differentiable with respect to ``x``; length unchanged."""
    n = x.shape[-1]
    position = torch.arange(n, device=x.device, dtype=torch.float64) * ratio
    left = torch.floor(position)
    frac = (position - left).to(x.dtype)
    i0 = left.long() % n
    i1 = (i0 + 1) % n
    return x[..., i0] * (1 - frac) + x[..., i1] * frac


def random_pitch_shift(max_semitones: float = 0.5) -> Transform:
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if max_semitones <= 0:
            return x
        semitones = _uniform(generator, -max_semitones, max_semitones)
        return resample_circular(x, 2.0 ** (semitones / 12.0))
    return apply


def random_mask(time_fraction: float = 0.2, frequency_fraction: float = 0.2) -> Transform:
    """Zero a random time x frequency rectangle of a scaleogram [B, C, F, T] (its gradient too)."""
    def apply(spec: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        f, t = spec.shape[-2], spec.shape[-1]
        h, w = int(frequency_fraction * f), int(time_fraction * t)
        if h < 1 or w < 1:
            return spec
        f0 = int(torch.randint(0, f - h + 1, (), generator=generator))
        t0 = int(torch.randint(0, t - w + 1, (), generator=generator))
        keep = torch.ones(f, t, dtype=spec.dtype, device=spec.device)
        keep[f0:f0 + h, t0:t0 + w] = 0
        return spec * keep
    return apply


class _NoisyGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, std, seed):
        ctx.std, ctx.seed = std, seed
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        g = torch.Generator(device="cpu").manual_seed(ctx.seed)
        noise = torch.randn(grad.shape, generator=g).to(grad.device, grad.dtype)
        scale = grad.detach().std() if grad.numel() > 1 else grad.detach().abs()
        return grad + ctx.std * scale * noise, None, None


def noisy_gradient(std: float = 0.1) -> Transform:
    """Identity forward; backward adds Gaussian noise of ``std`` times the gradient's own std."""
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if std <= 0:
            return x
        seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=generator))
        return _NoisyGradient.apply(x, std, seed)
    return apply


def denoise(audio: torch.Tensor, strength: float, n_fft: int = 1024) -> torch.Tensor:
    """Spectral soft-thresholding of audio [B, N] (between optimization steps, no gradient):
    every STFT magnitude shrinks by ``strength`` times the noise floor of its frame (the median
    magnitude across frequencies: tones occupy few bins, broadband noise all of them)."""
    if strength <= 0:
        return audio
    window = torch.hann_window(n_fft, device=audio.device, dtype=audio.dtype)
    spec = torch.stft(audio, n_fft, hop_length=n_fft // 4, window=window, return_complex=True)
    magnitude = spec.abs()
    threshold = strength * magnitude.median(dim=-2, keepdim=True).values  # [B, 1, frames]
    gain = torch.clamp(magnitude - threshold, min=0) / magnitude.clamp_min(1e-12)
    return torch.istft(spec * gain, n_fft, hop_length=n_fft // 4, window=window, length=audio.shape[-1])


def peak_normalize(audio: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """Scale down (never up) so that |audio| <= ``peak`` (1.0 = 0 dBFS)."""
    current = audio.abs().amax(dim=-1, keepdim=True)
    return audio * torch.clamp(peak / current.clamp_min(1e-12), max=1.0)

