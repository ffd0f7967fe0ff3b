"""Example (d): a real pretrained ear -- PESTO, self-supervised pitch estimation (Riou et al., ISMIR 2023).

The weights ship inside the ``pesto-pitch`` wheel (``pesto/weights/mir-1k_g7.ckpt``, trained on
MIR-1K singing), so this works offline.  Install (``--no-deps``: pesto-pitch requires torchaudio,
which it only uses to read files and which has no build for our torch pin)::

    pip install --no-deps pesto-pitch==2.0.1 && pip install omegaconf

    immersions-osc layout --model examples/pesto_ear.py:build --png
    immersions-osc serve  --model examples/pesto_ear.py:build --web-port 8130
    immersions-osc render --model examples/pesto_ear.py:build --layer encoder.final_norm --channels 207

The network: audio at 16 kHz -> a variable-Q CQT (251 bins, 3 per semitone, from 27.5 Hz; a
frame every ``hop_ms``) -> log power, cropped to 219 bins -> per frame, a 1D ResNet over the
frequency axis (LeakyReLU layers of 40, 40, 40, 30, 30, 10 and 3 channels) -> a Toeplitz dense
layer -> a softmax over 384 pitch bins (1/3 semitone each: bin ``c`` is MIDI pitch ``c / 3``).
The adapter runs the package's own modules and weights; it only reorders the frames so that
every layer is read in the canonical layout, and it resamples the input from ``sample_rate``
(44.1 kHz) to 16 kHz inside ``forward`` (``immersions_osc.resample``, differentiable).

Neurons (``neurons``, ``neuron_axes``): the LeakyReLU layers as channel x frequency (CQT bin)
over frames, and ``encoder.final_norm``, the output softmax, as 384 pitch channels over frames.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys

import torch
from torch import nn

INSTALL = "pip install --no-deps pesto-pitch==2.0.1 && pip install omegaconf"
NET_RATE = 16000  # the rate PESTO's CQT kernels are made for here (the package makes them for any rate)
BINS_PER_SEMITONE = 3
EPS = torch.finfo(torch.float32).eps  # PESTO's floor on |CQT| (data.ToLogMagnitude)


def _error(message: str) -> Exception:
    try:
        from immersions_osc.errors import UserError
    except ImportError:  # run without the package on the path
        return RuntimeError(message)
    return UserError(message)


def pesto_modules():
    """(pesto.data, pesto.model, weights folder) of the installed package.

    ``pesto/__init__.py`` imports ``pesto.core``, which imports torchaudio and tqdm for reading
    files; where those are missing, the package object is made from its spec without running
    ``__init__`` and only the model modules are imported (they need torch, numpy and scipy)."""
    spec = importlib.util.find_spec("pesto")
    if spec is None or not spec.submodule_search_locations:
        raise _error(f"PESTO needs the pesto-pitch package: {INSTALL}")
    if "pesto" not in sys.modules:
        try:
            importlib.import_module("pesto")
        except ModuleNotFoundError as exc:
            if exc.name not in ("torchaudio", "tqdm"):
                raise _error(f"PESTO: cannot import pesto ({exc}): {INSTALL}") from None
            sys.modules["pesto"] = importlib.util.module_from_spec(spec)
    try:
        data = importlib.import_module("pesto.data")
        model = importlib.import_module("pesto.model")
    except ModuleNotFoundError as exc:
        raise _error(f"PESTO: cannot import its model ({exc}): {INSTALL}") from None
    return data, model, os.path.join(list(spec.submodule_search_locations)[0], "weights")


def load_checkpoint(path: str) -> dict:
    """A PESTO checkpoint, read with ``weights_only=True`` (its hyperparameters are omegaconf
    containers: only those classes are allowed besides tensors)."""
    try:
        from omegaconf import DictConfig, ListConfig
        from omegaconf.base import ContainerMetadata, Metadata
        from omegaconf.nodes import AnyNode
    except ModuleNotFoundError:
        raise _error(f"PESTO's checkpoints need omegaconf to be read: {INSTALL}") from None
    import collections
    import typing

    allowed = [DictConfig, ListConfig, ContainerMetadata, Metadata, AnyNode, typing.Any, list, dict, int,
               collections.defaultdict]
    with torch.serialization.safe_globals(allowed):
        return torch.load(path, map_location="cpu", weights_only=True)


def bin_frequency(c) -> float:
    """Frequency in Hz of output pitch bin ``c`` (MIDI pitch c / 3)."""
    return 440.0 * 2.0 ** ((c / BINS_PER_SEMITONE - 69) / 12)


def frequency_bin(hz: float) -> int:
    return int(round(BINS_PER_SEMITONE * (69 + 12 * math.log2(hz / 440.0))))


class _Floor:
    power_floor = float(EPS * EPS)  # what the optimizer's spectrogram masking fills a hole with (as log)


class PestoFrontend(nn.Module):
    """audio [B, N] at ``sample_rate`` -> ln |CQT|^2 [B, harmonics, bins, frames]: PESTO's dB times
    ln(10) / 10, which is what its encoder is given (the contract's ``frontend``: pictures, the
    optimizer's spectrogram masking and spectral penalties)."""

    cfg = _Floor()

    def __init__(self, resample: nn.Module, hcqt: nn.Module):
        super().__init__()
        self.resample, self.hcqt = resample, hcqt

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        cqt = self.hcqt(self.resample(audio))  # [B, H, F, T, 2]
        return torch.log(cqt.pow(2).sum(-1).clamp_min(EPS * EPS))


class PestoEar(nn.Module):
    """PESTO under the Immersions contract: ``forward(audio [B, N] at sample_rate)`` -> pitch
    probabilities [B, frames, 384]."""

    window_seconds = 0.3  # the lowest CQT bin's kernel spans 0.26 s at 16 kHz
    neuron_axes = {"encoder.final_norm": "btc"}  # [B, frames, pitch bins]

    def __init__(self, sample_rate: int = 44100, checkpoint: str = "mir-1k_g7", hop_ms: float = 10.0):
        super().__init__()
        from immersions_osc.resample import Resample

        data, model, weights = pesto_modules()
        path = checkpoint if os.path.isfile(checkpoint) else os.path.join(weights, checkpoint + ".ckpt")
        if not os.path.isfile(path):
            raise _error(f"PESTO: no checkpoint {checkpoint!r} in {weights}")
        ck = load_checkpoint(path)
        hp = ck["hparams"]
        # as pesto.loader.load_model builds it, with the CQT kernels made for NET_RATE
        preprocessor = data.Preprocessor(hop_size=hop_ms, sampling_rate=NET_RATE, **dict(ck["hcqt_params"]))
        encoder = model.Resnet1d(**dict(hp["encoder"]))
        net = model.PESTO(encoder, preprocessor=preprocessor, crop_kwargs=dict(hp["pitch_shift"]),
                          reduction=hp["reduction"])
        missing, unexpected = net.load_state_dict(ck["state_dict"], strict=False)
        if unexpected or any(not k.startswith("preprocessor.hcqt_kernels.") for k in missing):
            raise _error(f"PESTO checkpoint {path} does not fit its model: missing {missing}, unexpected {unexpected}")
        self.sample_rate = int(sample_rate)
        self.hop_ms = float(hop_ms)
        self.checkpoint = checkpoint
        # PESTO's HarmonicCQT (its kernels are made from scipy windows, not stored)
        self.frontend = PestoFrontend(Resample(self.sample_rate, NET_RATE), preprocessor.hcqt_kernels)
        self.encoder = encoder
        self.crop = (int(hp["pitch_shift"]["max_steps"]), int(hp["pitch_shift"]["min_steps"]))
        self.roll = round(float(net.shift) * BINS_PER_SEMITONE)  # PESTO's absolute-pitch shift, in bins
        self.bins = int(hp["encoder"]["output_dim"])
        enc = self.encoder
        self.neurons = (["encoder.conv1.1"] + [f"encoder.prefilt_layers.{i}.1" for i in range(len(enc.prefilt_layers))]
                        + [f"encoder.conv_layers.{i + 1}" for i in range(0, len(enc.conv_layers), 3)]
                        + ["encoder.final_norm"])
        self.eval()

    @staticmethod
    def _canonical(h: torch.Tensor, batch: int) -> torch.Tensor:  # [B*T, C, F] -> [B, C, F, T]
        return h.reshape(batch, -1, h.shape[1], h.shape[2]).permute(0, 2, 3, 1)

    @staticmethod
    def _frames(h: torch.Tensor) -> torch.Tensor:  # [B, C, F, T] -> [B*T, C, F]
        return h.permute(0, 3, 1, 2).reshape(-1, h.shape[1], h.shape[2])

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        batch = audio.shape[0]
        x = self.frontend(audio)[..., self.crop[0]:self.crop[1], :]  # [B, 1, 219, T]
        enc = self.encoder
        x = enc.layernorm(x.permute(0, 3, 1, 2))  # per frame, over (harmonic, bin)
        h = x.reshape(-1, x.shape[2], x.shape[3])  # [B*T, 1, 219]

        def block(conv, act, h):
            return self._frames(act(self._canonical(conv(h), batch)))

        h = block(enc.conv1[0], enc.conv1[1], h)
        for layer in enc.prefilt_layers:
            new = block(layer[0], layer[1], h)
            h = new + h if enc.residual else new
        for i in range(0, len(enc.conv_layers), 3):
            h = block(enc.conv_layers[i], enc.conv_layers[i + 1], h)
        logits = enc.fc(enc.flatten(h)).reshape(batch, -1, self.bins)  # [B, T, 384]
        return enc.final_norm(logits.roll(-self.roll, -1))  # bin c: MIDI pitch c / 3


def build() -> PestoEar:
    """The factory named by ``--model examples/pesto_ear.py:build``: mir-1k_g7, 44.1 kHz in."""
    return PestoEar()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    torch.set_num_threads(1)
    ear = build()
    sr = ear.sample_rate
    t = torch.arange(sr) / sr
    for hz in (110.0, 220.0, 440.0, 880.0):
        with torch.no_grad():
            probs = ear(torch.sin(2 * math.pi * hz * t)[None] * 0.3)
        c = int(probs[0].mean(0).argmax())
        print(f"{hz:6.1f} Hz sine -> bin {c} ({bin_frequency(c):.1f} Hz)")
