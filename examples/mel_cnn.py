"""Example (b): your own audio network in Immersions -- a small mel-spectrogram CNN classifier.

The whole contract is in the class: ``forward(audio [batch, samples])``, a ``sample_rate``, and
(optional) the ``frontend`` that makes its spectrogram.  Its neurons are its ``nn.ReLU`` outputs:
three conv layers (channel x mel band) and one dense layer (units).

    python examples/mel_cnn.py --seconds 60            # train ~1 min on synthetic music -> examples/mel_cnn.pt
    immersions-osc layout --model examples/mel_cnn.py:build --png
    immersions-osc serve  --model examples/mel_cnn.py:build --web-port 8130
    immersions-osc render --model examples/mel_cnn.py:build --layer blocks.2.relu --channels 3

``build()`` loads the trained weights shipped beside this file (``mel_cnn.pt``); without them it
returns the untrained network (a warning says so).  It classifies which of the synthetic music's
instrument sets plays (``immersions_osc.data.synth.INSTRUMENT_SETS``) from one second of audio.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SAMPLE_RATE = 22050
N_FFT, HOP, N_MELS = 1024, 256, 64
WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mel_cnn.pt")


class MelSpectrogram(nn.Module):
    """audio [B, N] -> log mel power [B, 1, mels, frames] (differentiable: the sonification
    optimizes the waveform through it)."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, hop: int = HOP, n_mels: int = N_MELS):
        super().__init__()
        import librosa

        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        fb = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=30.0)
        self.register_buffer("filters", torch.from_numpy(fb.astype(np.float32)), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        power = spec.real ** 2 + spec.imag ** 2  # [B, n_fft / 2 + 1, frames]
        return torch.log(self.filters @ power + 1e-6).unsqueeze(1)


class Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, pool: bool):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x):
        return self.pool(self.relu(self.bn(self.conv(x))))


class MelCNN(nn.Module):
    sample_rate = SAMPLE_RATE  # the model contract: audio [batch, samples] at this rate
    window_seconds = 1.0  # what it hears per analysis frame in the live service
    frontend = "mel"  # its spectrogram (pictures, the optimizer's masking)

    def __init__(self, n_classes: int = 5, channels=(8, 16, 32), hidden: int = 32):
        super().__init__()
        self.mel = MelSpectrogram()
        self.norm = nn.BatchNorm2d(1)
        c, blocks = 1, []
        for i, width in enumerate(channels):
            blocks.append(Block(c, width, pool=i < len(channels) - 1))
            c = width
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(c, hidden)
        self.fc_relu = nn.ReLU()
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.mel(audio))
        for block in self.blocks:
            x = block(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)  # [B, C]: any clip length
        return self.out(self.fc_relu(self.fc(x)))


def build() -> MelCNN:
    """The factory named by ``--model examples/mel_cnn.py:build``."""
    model = MelCNN()
    if os.path.isfile(WEIGHTS):
        model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    else:
        warnings.warn(f"{WEIGHTS} not found: the mel CNN is untrained (python examples/mel_cnn.py trains it)")
    return model.eval()


def dataset(n: int, seed: int, seconds: float = 1.0):
    """n clips [n, samples] of synthetic music and their instrument-set labels [n]."""
    from immersions_osc.data.synth import SyntheticMusic

    music = SyntheticMusic(sample_rate=SAMPLE_RATE, seed=seed)
    clips, labels = [], []
    for i in range(n):
        audio, lab = music.clip(i, int(seconds * SAMPLE_RATE))
        clips.append(audio)
        labels.append(lab["instruments_id"])
    return torch.from_numpy(np.stack(clips).astype(np.float32)), torch.tensor(labels)


def train(seconds: float = 60.0, n_train: int = 384, n_test: int = 128, batch: int = 32, seed: int = 0,
          log=print) -> tuple[MelCNN, float]:
    """Train for about ``seconds`` of wall time (clip synthesis included); (model, test accuracy)."""
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    x_train, y_train = dataset(n_train, seed)
    x_test, y_test = dataset(n_test, seed + 1_000_000)  # other clips
    log(f"data: {n_train} + {n_test} one-second clips in {time.perf_counter() - t0:.1f} s")
    model = MelCNN()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    steps = 0
    while time.perf_counter() - t0 < seconds or steps == 0:
        model.train()
        idx = torch.randint(0, n_train, (batch,))
        shift = int(torch.randint(0, x_train.shape[1], ()))
        x = torch.roll(x_train[idx], shift, dims=1)  # a cheap augmentation: the clip starts elsewhere
        loss = F.cross_entropy(model(x), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        if steps % 50 == 0:
            log(f"step {steps}: loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
    model.eval()
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
    log(f"trained {steps} steps in {time.perf_counter() - t0:.0f} s: test accuracy {accuracy:.3f} "
        f"(chance {1 / 5:.3f})")
    return model, accuracy


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="train the example mel-spectrogram CNN on synthetic music")
    ap.add_argument("--seconds", type=float, default=60.0, help="training time budget (default: %(default)s)")
    ap.add_argument("--train-clips", type=int, default=384)
    ap.add_argument("--test-clips", type=int, default=128)
    ap.add_argument("--out", default=WEIGHTS, help="weights file (default: beside this file)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, _ = train(args.seconds, args.train_clips, args.test_clips)
    from immersions_osc.atomic import atomic_write

    atomic_write(args.out, lambda fh: torch.save(model.state_dict(), fh))
    print(f"weights -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
