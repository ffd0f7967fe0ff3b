"""The seed's architecture tables, as data.

Kernel sizes are written as in the seed, time x frequency ("1x25" spans 25 frequency bins and
one time step).  A preset only chooses channel counts; the topology is the table.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncoderBlockSpec:
    conv1: tuple[int, int]  # (time, frequency)
    pool: bool  # max-pool 2 (time and frequency) after conv 1
    conv2: tuple[int, int]


@dataclass(frozen=True)
class ARBlockSpec:
    kernel: int  # time
    pool: bool  # max-pool 2 in time after the conv


# Encoder Model Architecture (seed table): block, conv 1, conv 2.
ENCODER_TABLE: tuple[EncoderBlockSpec, ...] = (
    EncoderBlockSpec((3, 3), True, (1, 25)),
    EncoderBlockSpec((1, 3), False, (1, 3)),
    EncoderBlockSpec((3, 3), False, (1, 15)),
    EncoderBlockSpec((1, 3), False, (1, 3)),
    EncoderBlockSpec((3, 3), True, (1, 15)),
    EncoderBlockSpec((1, 3), False, (1, 3)),
    EncoderBlockSpec((3, 3), False, (1, 5)),
    EncoderBlockSpec((1, 3), False, (1, 3)),
)

# Autoregressive Model Architecture (seed table): block, conv 1.
AR_TABLE: tuple[ARBlockSpec, ...] = (
    ARBlockSpec(4, False),
    ARBlockSpec(4, False),
    ARBlockSpec(1, True),
    ARBlockSpec(4, False),
    ARBlockSpec(4, False),
    ARBlockSpec(1, True),
    ARBlockSpec(4, False),
    ARBlockSpec(1, False),
    ARBlockSpec(4, False),
)


@dataclass(frozen=True)
class Preset:
    encoder_channels: tuple[int, ...]
    ar_channels: tuple[int, ...]


PRESETS: dict[str, Preset] = {
    # the seed's channel counts
    "seed": Preset((8, 16, 32, 64, 128, 256, 512, 512),
                   (512, 512, 512, 512, 256, 256, 256, 256, 256)),
    # same topology, trainable on 2 CPU cores
    "small": Preset((8, 16, 16, 32, 32, 64, 64, 128),
                    (128, 128, 128, 128, 64, 64, 64, 64, 64)),
}
