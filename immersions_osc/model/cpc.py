"""Contrastive Predictive Coding: the full model and its two losses.

``CPCModel`` = scaleogram -> encoder (z) -> autoregressive model (c) -> one linear map ``M_k``
per predicted step.  From the context ``c`` at step ``t`` (the last step whose encoding the
autoregressive model has seen) it predicts the encodings ``z_{t+s+1} ... z_{t+s+K}``, skipping
``s = prediction_skip`` steps (K = ``prediction_steps``; the seed: s = 4, K = 16).

Training crop length, derived from the topology (``CPCModel.crop_samples``):
  * context: the autoregressive model's receptive field R_ar in encoder steps (R_ar = 46 for the
    seed table: kernels 4, 4, 1+pool, 4, 4, 1+pool, 4, 1, 4), so the context has seen a full
    receptive field of encodings;
  * then s + K further encodings for the targets;
  * one encoder step is ``time_stride`` = 4 scaleogram frames (two pools), one frame ``hop``
    samples.
  crop_samples = (R_ar + s + K) * 4 * hop = (46 + 4 + 16) * 4 * 1024 = 270 336 samples
  (6.13 s at 44.1 kHz).  The scaleogram of a crop starts from silence, so its first frames
  (up to ~0.85 s for the 40 Hz bin) see a partial kernel; they feed only the early context, never
  the targets.  The encoder's own receptive field is 22 frames (~0.5 s).

Losses (``pred``, ``target``: [N, K, D] for N clips of a mini-batch):
  * CPC: ``-sum_{n,k} log exp(z_{n,k}.M_k c_n) / sum_m exp(z_{m,k}.M_k c_n)`` — negatives from
    the mini-batch, N candidates, chance value log N.
  * SAT (scores across time steps): the denominator runs over every clip m *and* every step l,
    ``sum_{m,l} exp(z_{m,l}.M_l c_n)`` — N*K candidates, chance value log(N*K).  As the K
    positives of clip n share that one denominator, its lowest value is log K, not 0.
  Both are reported as the mean over the N*K terms (the seed's sum divided by the constant N*K),
  so a value reads directly against the chance value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Config
from ..scaleogram import Scaleogram, decimation_delay, octave_groups
from .ar import AutoregressiveModel
from .encoder import Encoder
from .presets import PRESETS


@dataclass
class ContrastiveResult:
    loss: torch.Tensor
    # fraction of (clip, step) whose true encoding scores highest among the N encodings of the
    # mini-batch at that step (the same measure for both losses)
    accuracy: torch.Tensor
    chance: float  # log(number of candidates): the value of uninformed predictions
    floor: float  # the lowest reachable value: 0 for CPC; log K for SAT, whose K positives share one softmax


def cpc_loss(pred: torch.Tensor, target: torch.Tensor) -> ContrastiveResult:
    n, k, _ = pred.shape
    scores = torch.einsum("nkd,mkd->knm", pred, target)  # [K, N, M]
    labels = torch.arange(n, device=pred.device).repeat(k)
    loss = F.cross_entropy(scores.reshape(k * n, n), labels)
    accuracy = (scores.argmax(-1) == labels.view(k, n)).float().mean()
    return ContrastiveResult(loss, accuracy, math.log(n), 0.0)


def sat_loss(pred: torch.Tensor, target: torch.Tensor) -> ContrastiveResult:
    n, k, _ = pred.shape
    scores = torch.einsum("nld,mld->nml", pred, target)  # [N, M, L]: z_{m,l} . M_l c_n
    log_normalizer = torch.logsumexp(scores.reshape(n, n * k), dim=-1)  # [N]
    positives = torch.diagonal(scores, dim1=0, dim2=1)  # [L, N]: z_{n,k} . M_k c_n
    loss = (log_normalizer.unsqueeze(0) - positives).mean()
    labels = torch.arange(n, device=pred.device)
    accuracy = (scores.argmax(1) == labels.unsqueeze(-1)).float().mean()
    return ContrastiveResult(loss, accuracy, math.log(n * k), math.log(k))


LOSSES = {"cpc": cpc_loss, "sat": sat_loss}


def channel_counts(cfg: Config) -> tuple[list[int], list[int]]:
    preset = PRESETS[cfg.model.preset]
    encoder = list(cfg.model.encoder_channels or preset.encoder_channels)
    ar = list(cfg.model.ar_channels or preset.ar_channels)
    return encoder, ar


class CPCModel(nn.Module):
    # the model contract (immersions_osc/contract.py): audio [B, N] at sample_rate -> (z, c); the
    # scaleogram is the frontend
    frontend = "scaleogram"

    def __init__(self, cfg: Config):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        encoder_channels, ar_channels = channel_counts(cfg)
        self.scaleogram = Scaleogram(cfg.scaleogram)
        self.encoder = Encoder(self.scaleogram.channels, encoder_channels)
        if self.encoder.output_frequencies(cfg.scaleogram.n_bins) != 1:
            from ..config import ConfigError
            raise ConfigError(
                f"scaleogram.n_bins must be {self.encoder.required_bins()} for this encoder "
                f"(its frequency convolutions reduce exactly that many bins to one), "
                f"got {cfg.scaleogram.n_bins}")
        self.ar = AutoregressiveModel(self.encoder.out_channels, ar_channels)
        self.steps = cfg.model.prediction_steps
        self.skip = cfg.model.prediction_skip
        # M_k for k = 1..K, stacked into one matrix; small init keeps the scores near 0 so both
        # losses start at their chance value.
        self.predictor = nn.Linear(self.ar.out_channels, self.steps * self.encoder.out_channels, bias=False)
        nn.init.normal_(self.predictor.weight, std=0.01 / math.sqrt(self.ar.out_channels))
        self.loss_fn = LOSSES[cfg.loss.kind]

    # --- derived sizes ---------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.cfg.scaleogram.sample_rate

    @property
    def step_samples(self) -> int:
        """Samples per encoder step."""
        return self.cfg.scaleogram.hop_length * self.encoder.time_stride

    @property
    def window_samples(self) -> int:
        """Audio that makes the deepest layer's last step exactly that of continuous listening:
        its receptive field, a whole number of encoder steps."""
        steps = self.ar.receptive_field + math.ceil(self.encoder.receptive_field / self.encoder.time_stride)
        return steps * self.step_samples

    def window_for(self, layers) -> int:
        """Audio that makes the last step of every named layer that of continuous listening: the
        encoder's receptive field when every layer is one of the encoder's modules, else
        :attr:`window_samples` (a name the model does not have gets the whole window)."""
        modules, encoder = dict(self.named_modules()), {id(m) for m in self.encoder.modules()}
        if layers and all(name in modules and id(modules[name]) in encoder for name in layers):
            cfg = self.cfg.scaleogram  # the scaleogram's own support: its longest kernel, decimated
            support = max(g.kernel_length * g.decimation + 2 * decimation_delay(cfg, g.decimation)
                          for g in octave_groups(cfg))
            steps = math.ceil(self.encoder.receptive_field / self.encoder.time_stride)
            return steps * self.step_samples + math.ceil(support / self.step_samples) * self.step_samples
        return self.window_samples

    def steady_tail(self, n: int, window: int | None = None) -> int:
        """Samples of a loop's own end to put before a loop of ``n`` samples so that every layer
        hears the loop in its steady state (the loop having played before itself), as the service
        analyses a playing loop: ``window`` (default: the receptive field), rounded up so that the
        whole input is a multiple of the deepest layer's time step (every column ends on a step)."""
        window = self.window_samples if window is None else window
        deepest = self.cfg.scaleogram.hop_length * self.encoder.time_stride * self.ar.time_stride
        return window + (-(window + n) % deepest)

    @property
    def z_dim(self) -> int:
        return self.encoder.out_channels

    @property
    def c_dim(self) -> int:
        return self.ar.out_channels

    @property
    def context_steps(self) -> int:
        return self.ar.receptive_field

    @property
    def crop_steps(self) -> int:
        return self.context_steps + self.skip + self.steps

    @property
    def crop_samples(self) -> int:
        return self.crop_steps * self.encoder.time_stride * self.cfg.scaleogram.hop_length

    # --- forward passes --------------------------------------------------------------------------
    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """audio [B, N] -> z [B, D, N // hop // 4]."""
        return self.encoder(self.scaleogram(audio))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """audio [B, N] -> (z [B, D, T_z], c [B, C, ceil(ceil(T_z / 2) / 2)])."""
        z = self.encode(audio)
        return z, self.ar(z)

    def predictions_and_targets(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For each clip: predictions M_k c_t and true encodings z_{t+s+k}, both [B, K, D].

        ``t`` is the latest step that leaves s + K target steps inside the clip; the context is
        the ``context_steps`` encodings ending at ``t``.
        """
        z = self.encode(audio)
        t_last = z.shape[-1] - 1 - self.skip - self.steps
        if t_last < 0:
            raise ValueError(f"clip of {audio.shape[-1]} samples gives {z.shape[-1]} encodings; "
                             f"need at least {self.skip + self.steps + 1} (train crops: {self.crop_samples} samples)")
        context = z[..., max(0, t_last + 1 - self.context_steps): t_last + 1]
        c = self.ar(context)[..., -1]  # [B, C]
        pred = self.predictor(c).view(-1, self.steps, self.z_dim)
        target = z[..., t_last + 1 + self.skip:].transpose(1, 2)  # [B, K, D]
        return pred, target

    def contrastive_loss(self, audio: torch.Tensor) -> ContrastiveResult:
        pred, target = self.predictions_and_targets(audio)
        return self.loss_fn(pred, target)


def build_model(cfg: Config | None = None) -> CPCModel:
    return CPCModel(cfg or Config())
