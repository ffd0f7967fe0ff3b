"""A differentiable band-limited resampler in torch: audio at one rate in, another rate out.

Adapters of networks that want their own rate (pitch trackers at 16 kHz) resample inside their
``forward``, so the optimizer's gradient flows back through the resampling to the loop at the
service's rate.  Rational polyphase resampling with a Hann-windowed sinc (the method of
torchaudio's ``sinc_interp_hann``): the ratio is reduced to ``new / orig``, the signal is
convolved with ``new`` phase kernels at stride ``orig``.  The low-pass sits at ``rolloff`` of
the lower Nyquist frequency, so nothing above the output's Nyquist folds back.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinc_kernels(orig: int, new: int, zeros: int = 6, rolloff: float = 0.99) -> tuple[torch.Tensor, int]:
    """(kernels [new, 1, K] float64, width): the ``new`` phases of the low-pass interpolator for a
    reduced ratio ``new / orig``; ``width`` is the one-sided half-length in input samples."""
    base = min(orig, new) * rolloff
    width = math.ceil(zeros * orig / base)
    idx = torch.arange(-width, width + orig, dtype=torch.float64)[None] / orig
    t = (-torch.arange(new, dtype=torch.float64)[:, None] / new + idx) * base
    t = t.clamp(-zeros, zeros)
    window = torch.cos(t * math.pi / zeros / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / torch.where(t == 0, torch.ones_like(t), t))
    return (sinc * window * base / orig)[:, None, :], width


class Resample(nn.Module):
    """``[batch, samples]`` at ``orig_rate`` -> ``[batch, ceil(samples * new / orig)]`` at
    ``new_rate``; the identity when the rates are equal.  Differentiable (a strided conv1d)."""

    def __init__(self, orig_rate: int, new_rate: int, zeros: int = 6, rolloff: float = 0.99):
        super().__init__()
        g = math.gcd(int(orig_rate), int(new_rate))
        self.orig, self.new = int(orig_rate) // g, int(new_rate) // g
        self.orig_rate, self.new_rate = int(orig_rate), int(new_rate)
        kernels, self.width = sinc_kernels(self.orig, self.new, zeros, rolloff)
        self.register_buffer("kernels", kernels.float(), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if self.orig == self.new:
            return audio
        shape = audio.shape
        x = audio.reshape(-1, 1, shape[-1])
        x = F.pad(x, (self.width, self.width + self.orig))
        y = F.conv1d(x, self.kernels.to(x.dtype), stride=self.orig)  # [B, new, frames]
        y = y.transpose(1, 2).reshape(x.shape[0], -1)
        n = math.ceil(self.new * shape[-1] / self.orig)
        return y[:, :n].reshape(*shape[:-1], n)

    def extra_repr(self) -> str:
        return f"{self.orig_rate} Hz -> {self.new_rate} Hz"
