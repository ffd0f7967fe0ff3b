"""Causal 2D ResNet-like encoder: scaleogram [B, C, F, T] -> encodings z [B, D, T / 4].

Per the seed's encoder table: 8 residual blocks of two convolutions each (square 3x3 kernels and
frequency-only 1xN kernels), batch norm, ReLU, max-pool 2 after the first convolution of blocks
0 and 4.  Frequency convolutions are 'valid', so the 216 scaleogram bins shrink to exactly one
at the output (216 -3x3-> 214 -pool-> 107 ... -> 1) and only time and channels are left.  The
residual path is pooled like the main path, centre-cropped in frequency, and projected by a 1x1
conv + batch norm where the channel count changes.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import CausalConv2d, causal_max_pool, crop_frequency, receptive_field
from .presets import ENCODER_TABLE, EncoderBlockSpec


class EncoderBlock(nn.Module):
    def __init__(self, in_channels: int, channels: int, spec: EncoderBlockSpec):
        super().__init__()
        self.pool = spec.pool
        self.conv1 = CausalConv2d(in_channels, channels, spec.conv1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv2 = CausalConv2d(channels, channels, spec.conv2)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU()
        self.project = None
        if in_channels != channels:
            self.project = nn.Sequential(nn.Conv2d(in_channels, channels, 1, bias=False),
                                         nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)
        if self.pool:
            h = causal_max_pool(h, pool_frequency=True)
        h = self.relu1(self.bn1(h))
        h = self.bn2(self.conv2(h))
        residual = causal_max_pool(x, pool_frequency=True) if self.pool else x
        residual = crop_frequency(residual, h.shape[-2])
        if self.project is not None:
            residual = self.project(residual)
        return self.relu2(h + residual)


class Encoder(nn.Module):
    def __init__(self, in_channels: int, channels: tuple[int, ...] | list[int],
                 table: tuple[EncoderBlockSpec, ...] = ENCODER_TABLE):
        super().__init__()
        if len(channels) != len(table):
            raise ValueError(f"encoder needs {len(table)} channel counts, got {len(channels)}")
        blocks, previous = [], in_channels
        for spec, c in zip(table, channels):
            blocks.append(EncoderBlock(previous, c, spec))
            previous = c
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = previous
        self.time_stride = 2 ** sum(spec.pool for spec in table)
        # in scaleogram frames
        self.receptive_field = receptive_field(
            [layer for spec in table for layer in ((spec.conv1[0], spec.pool), (spec.conv2[0], False))])
        self.table = table

    def output_frequencies(self, n_bins: int) -> int:
        f = n_bins
        for spec in self.table:
            f -= spec.conv1[1] - 1
            if spec.pool:
                f = (f + 1) // 2
            f -= spec.conv2[1] - 1
        return f

    def forward(self, scaleogram: torch.Tensor) -> torch.Tensor:
        h = scaleogram
        for block in self.blocks:
            h = block(h)
        if h.shape[-2] != 1:
            raise ValueError(f"encoder output has {h.shape[-2]} frequency rows, expected 1: "
                             f"the scaleogram must have {self.required_bins()} bins")
        return h.squeeze(-2)

    def required_bins(self) -> int:
        """The number of scaleogram bins that this encoder reduces to exactly one."""
        return next(n for n in range(1, 4096) if self.output_frequencies(n) == 1)
