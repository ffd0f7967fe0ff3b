"""Regularizers as small composable transforms (in the spirit of lucent's ``transform`` lists).

Waveform transforms map audio [B, N] to audio [B, N] inside the graph, so the optimized loop must
excite the targets robustly (and, with the circular time shift, seamlessly across its wrap
point).  Scaleogram transforms act on [B, C, F, T].  Each takes a ``torch.Generator`` so runs are
reproducible, on the device of what it transforms: every random number is drawn there and stays
there (a shift, a ratio, a hole are tensors), so no transform makes the host wait for the device
(``immersions_osc.syncs``).  ``noisy_gradient`` and ``denoise`` act on the gradient and between steps;
``level`` brings a loop to its playback level inside the graph and ``random_gain`` jitters it.
"""
from __future__ import annotations

import functools
from typing import Callable

import torch

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def compose(*transforms: Transform) -> Transform:
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for t in transforms:
            x = t(x, generator)
        return x
    return apply


def _uniform(generator: torch.Generator, lo: float, hi: float, device=None) -> torch.Tensor:
    """A float64 0-dim tensor uniform in [lo, hi) on ``device`` (drawn as float32, as it was when
    it was read back as a Python float: the same value from the same generator)."""
    return lo + (hi - lo) * torch.rand((), generator=generator, device=device).double()


def random_time_shift(max_fraction: float = 1.0) -> Transform:
    """Circular roll by a random number of samples, up to ``max_fraction`` of the clip."""
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        limit = int(max_fraction * x.shape[-1])
        if limit < 1:
            return x
        shift = torch.randint(-limit, limit + 1, (), generator=generator, device=x.device)
        n = x.shape[-1]  # torch.roll(x, shift) with the shift on the device: a gather
        return x.index_select(-1, torch.remainder(torch.arange(n, device=x.device) - shift, n))
    return apply


def resample_circular(x: torch.Tensor, ratio) -> torch.Tensor:
    """Read the loop ``ratio`` times faster (pitch up by 12 log2(ratio) semitones), wrapping around,
    with linear interpolation: differentiable with respect to ``x``; length unchanged.  ``ratio``: a
    float or a 0-dim tensor (float64) on ``x``'s device."""
    n = x.shape[-1]
    position = torch.arange(n, device=x.device, dtype=torch.float64) * ratio
    left = torch.floor(position)
    frac = (position - left).to(x.dtype)
    i0 = left.long() % n
    i1 = (i0 + 1) % n
    return x.index_select(-1, i0) * (1 - frac) + x.index_select(-1, i1) * frac


def random_pitch_shift(max_semitones: float = 0.5) -> Transform:
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if max_semitones <= 0:
            return x
        semitones = _uniform(generator, -max_semitones, max_semitones, x.device)
        return resample_circular(x, 2.0 ** (semitones / 12.0))
    return apply


def random_mask(time_fraction: float = 0.2, frequency_fraction: float = 0.2, floor: float = 0.0) -> Transform:
    """Fill a random time x frequency rectangle of a scaleogram [B, C, F, T] with ``floor`` (the
    scaleogram's silence, ``log(power_floor)``: a hole is silent, not loud) and cut its gradient,
    so the targets must be excited by the rest of the loop.  Each batch item gets its own hole."""
    def apply(spec: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        f, t = spec.shape[-2], spec.shape[-1]
        h, w = int(frequency_fraction * f), int(time_fraction * t)
        if h < 1 or w < 1:
            return spec
        dev = spec.device
        corners = [torch.randint(0, top, (1,), generator=generator, device=dev)
                   for _ in range(spec.shape[0]) for top in (f - h + 1, t - w + 1)]  # f0, t0 of every item
        f0, t0 = torch.cat(corners).view(-1, 2).unbind(1)  # [B] each, on the device
        rows, cols = torch.arange(f, device=dev), torch.arange(t, device=dev)
        in_rows = (rows >= f0[:, None]) & (rows < f0[:, None] + h)  # [B, F]
        in_cols = (cols >= t0[:, None]) & (cols < t0[:, None] + w)  # [B, T]
        hole = (in_rows[:, None, :, None] & in_cols[:, None, None, :])  # [B, 1, F, T]
        fill = torch.zeros_like(spec[:1, :, :1, :1])
        fill[:, :1] = floor  # log power channel: the floor; a phase channel (if any): 0
        return torch.where(hole, fill, spec)
    return apply


def random_gain(max_db: float = 6.0) -> Transform:
    """Level jitter: scale each batch item by a random gain of 0 to -``max_db`` dB, so the loop
    excites its targets at any playback level, not just the one it was optimized at."""
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if max_db <= 0:
            return x
        db = -max_db * torch.rand(x.shape[0], 1, generator=generator, device=x.device).to(x.dtype)
        return x * 10.0 ** (db / 20.0)
    return apply


def level(audio: torch.Tensor, peak: float, rms: float = 0.1) -> torch.Tensor:
    """Bring audio [B, N] to the playback level, differentiably: RMS ``rms`` (0.1 = -20 dBFS), then
    a soft limiter (``peak * tanh(x / peak)``) so that no sample exceeds ``peak``.  Inside the
    graph the model always hears the loop at the level it is played at; an RMS (not peak) level
    means a loop cannot make itself quiet with one loud click."""
    x = audio * (rms / audio.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(1e-12))
    return peak * torch.tanh(x / peak)


class _NoisyGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, std, noise):
        ctx.std = std
        ctx.save_for_backward(noise)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        noise, = ctx.saved_tensors
        flat = grad.detach().reshape(grad.shape[0] if grad.dim() > 1 else 1, -1)
        # each loop's own std: a loop whose gradient is small (a deep target, another objective in
        # the batch) must not drown in noise sized by its neighbours'
        scale = flat.std(dim=1) if flat.shape[1] > 1 else flat.abs()[:, 0]
        scale = scale.reshape(-1, *[1] * (grad.dim() - 1)) if grad.dim() > 1 else scale
        return grad + ctx.std * scale * noise, None, None


def noisy_gradient(std: float = 0.1) -> Transform:
    """Identity forward; backward adds Gaussian noise of ``std`` times the gradient's own std (each
    batch item's own: [B, N] audio, one std per loop)."""
    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if std <= 0:
            return x
        noise = torch.randn(x.shape, generator=generator, device=x.device).to(x.dtype)  # drawn on the device
        return _NoisyGradient.apply(x, std, noise)
    return apply


def denoise(audio: torch.Tensor, strength: float, n_fft: int = 1024) -> torch.Tensor:
    """Spectral soft-thresholding of audio [B, N] (between optimization steps, no gradient):
    every STFT magnitude shrinks by ``strength`` times the noise floor of its frame (the geometric
    mean magnitude across frequencies: tones occupy few bins, broadband noise all of them).  The STFT
    is circular (frames wrap around the loop's end), so the loop stays seamless."""
    if strength <= 0:
        return audio
    stft = _circular_stft(audio.shape[-1], n_fft, audio.device, audio.dtype)
    return stft.synthesize(soft_threshold(stft.analyze(audio), strength))


@functools.lru_cache(maxsize=4)
def _circular_stft(n: int, n_fft: int, device, dtype):
    from .stft import CircularSTFT

    return CircularSTFT(n, n_fft, n_fft // 4, device, dtype)


def soft_threshold(spec: torch.Tensor, strength: float) -> torch.Tensor:
    """Shrink complex [B, F, T] magnitudes by ``strength`` times each frame's noise floor, its
    geometric mean magnitude (a median's robustness at a fraction of its cost)."""
    magnitude = spec.abs()
    threshold = strength * magnitude.clamp_min(1e-12).log().mean(dim=-2, keepdim=True).exp()  # [B, 1, frames]
    return spec * (torch.clamp(magnitude - threshold, min=0) / magnitude.clamp_min(1e-12))


def peak_normalize(audio: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """Scale down (never up) so that |audio| <= ``peak`` (1.0 = 0 dBFS)."""
    current = audio.abs().amax(dim=-1, keepdim=True)
    return audio * torch.clamp(peak / current.clamp_min(1e-12), max=1.0)

