"""Causal building blocks: padding only at the start of the time axis (the last axis)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CausalConv2d(nn.Conv2d):
    """2D conv on [B, C, freq, time]: 'valid' in frequency, causal ('same' length) in time."""

    def __init__(self, in_channels: int, out_channels: int, kernel_tf: tuple[int, int]):
        kt, kf = kernel_tf
        super().__init__(in_channels, out_channels, (kf, kt), bias=False)
        self.time_pad = kt - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a kernel one step long needs no padding (F.pad would copy the input all the same)
        return super().forward(F.pad(x, (self.time_pad, 0)) if self.time_pad else x)


class CausalConv1d(nn.Conv1d):
    def __init__(self, in_channels: int, out_channels: int, kernel: int):
        super().__init__(in_channels, out_channels, kernel, bias=False)
        self.time_pad = kernel - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a kernel one step long needs no padding (F.pad would copy the input all the same)
        return super().forward(F.pad(x, (self.time_pad, 0)) if self.time_pad else x)


def causal_max_pool(x: torch.Tensor, pool_frequency: bool) -> torch.Tensor:
    """Max-pool 2 with stride 2, aligned to the end of the time axis.

    An odd time length is padded with one -inf step at the start, so the newest step is always
    pooled with its predecessor and never waits for a future one.  Frequency (when pooled) uses
    ceil mode.
    """
    if x.shape[-1] % 2:
        x = F.pad(x, (1, 0), value=float("-inf"))
    if pool_frequency:
        return F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
    return F.max_pool1d(x, kernel_size=2, stride=2)


def crop_frequency(x: torch.Tensor, size: int) -> torch.Tensor:
    """Centre crop of the frequency axis (dim -2) to ``size``."""
    offset = (x.shape[-2] - size) // 2
    return x[..., offset: offset + size, :]


def receptive_field(kernels_and_pools: list[tuple[int, bool]]) -> int:
    """Receptive field (in input steps) of a stack of causal convs, each optionally followed by
    a max-pool 2."""
    field, jump = 1, 1
    for kernel, pool in kernels_and_pools:
        field += (kernel - 1) * jump
        if pool:
            field += jump
            jump *= 2
    return field


def batch_norm_affine(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch norm in eval mode as ``x * scale + shift`` per channel (what folding it into the
    convolution before it, or streaming it, multiplies and adds)."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale.detach(), shift.detach()
