"""Causal 1D conv autoregressive model: encodings z [B, D, T] -> context c [B, C, T'].

Per the seed's autoregressive table: 9 residual blocks of one causal convolution each (kernel 4
or 1), batch norm, ReLU, max-pool 2 in time after blocks 2 and 5 (so T' = ceil(ceil(T/2)/2)).
Pooling is aligned to the end, so the last output step always includes the newest encoding.
The residual path is pooled like the main path and projected by a 1x1 conv + batch norm where
the channel count changes.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import CausalConv1d, causal_max_pool, receptive_field
from .presets import AR_TABLE, ARBlockSpec


class ARBlock(nn.Module):
    def __init__(self, in_channels: int, channels: int, spec: ARBlockSpec):
        super().__init__()
        self.pool = spec.pool
        self.conv = CausalConv1d(in_channels, channels, spec.kernel)
        self.bn = nn.BatchNorm1d(channels)
        self.relu = nn.ReLU()
        self.project = None
        if in_channels != channels:
            self.project = nn.Sequential(nn.Conv1d(in_channels, channels, 1, bias=False),
                                         nn.BatchNorm1d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        residual = x
        if self.pool:
            h = causal_max_pool(h, pool_frequency=False)
            residual = causal_max_pool(x, pool_frequency=False)
        if self.project is not None:
            residual = self.project(residual)
        return self.relu(self.bn(h) + residual)


class AutoregressiveModel(nn.Module):
    def __init__(self, in_channels: int, channels: tuple[int, ...] | list[int],
                 table: tuple[ARBlockSpec, ...] = AR_TABLE):
        super().__init__()
        if len(channels) != len(table):
            raise ValueError(f"autoregressive model needs {len(table)} channel counts, got {len(channels)}")
        blocks, previous = [], in_channels
        for spec, c in zip(table, channels):
            blocks.append(ARBlock(previous, c, spec))
            previous = c
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = previous
        self.time_stride = 2 ** sum(spec.pool for spec in table)  # encoder steps per output step
        # in encoder steps
        self.receptive_field = receptive_field([(spec.kernel, spec.pool) for spec in table])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for block in self.blocks:
            h = block(h)
        return h
