"""Gradient ascent on the waveform: the optimization step and a finite run of it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from ..activations import hooked
from ..config import OptimizeConfig
from ..contract import describe
from ..errors import UserError
from .objective import objective
from .targets import Target, check_targets, layer_shapes, neuron_mask, target_activation
from .transforms import (compose, denoise, noisy_gradient, peak_normalize, random_mask, random_pitch_shift,
                         random_time_shift)


def activations_of(model: nn.Module, audio: torch.Tensor,
                   spectrum_transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
                   ) -> tuple[dict[str, torch.Tensor], Optional[torch.Tensor]]:
    """Every neuron layer's output (with gradients, canonical layout) and the frontend's
    spectrogram, for audio [B, N].  ``spectrum_transform`` changes what the rest of the model sees
    of the frontend's output (the masking regularizer); a model without a ``frontend`` (see
    immersions_osc/contract.py) returns None for the spectrogram and ignores the transform."""
    captured: dict[str, torch.Tensor] = {}
    spectra: list[torch.Tensor] = []

    def keep(layer, module, inputs, output):
        captured[layer] = output

    def frontend_hook(module, inputs, output):
        spectra.append(output)
        return None if spectrum_transform is None else spectrum_transform(output)

    frontend = describe(model).frontend
    handle = frontend.register_forward_hook(frontend_hook) if frontend is not None else None
    try:
        with hooked(model, keep):
            model(audio)
    finally:
        if handle is not None:
            handle.remove()
    return captured, (spectra[0] if spectra else None)


@torch.no_grad()
def measure(model: nn.Module, audio: torch.Tensor, targets: Sequence[Target]) -> list[float]:
    """Mean activation of each target on audio [N] (or [B, N], averaged)."""
    acts, _ = activations_of(model.eval(), audio.reshape(-1, audio.shape[-1]))
    return [float(target_activation(acts, t).mean()) for t in targets]


@dataclass
class Optimizer:
    """One optimization run's state; ``step()`` may be called forever (the live generator does)."""

    model: nn.Module
    start: torch.Tensor  # [N]
    targets: list[Target]
    cfg: OptimizeConfig
    history: list[float] = field(default_factory=list)

    def __post_init__(self):
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        device = next(self.model.parameters()).device
        self.generator = torch.Generator().manual_seed(self.cfg.seed)
        self.original = self.start.detach().to(device).reshape(1, -1).float()
        self.audio = self.original.clone().requires_grad_(True)
        with torch.no_grad():
            acts, _ = activations_of(self.model, self.original)
        shapes = layer_shapes(acts)
        check_targets(self.targets, shapes)
        if describe(self.model).frontend is None and (self.cfg.sparsity_penalty > 0 or self.cfg.high_frequency_penalty > 0):
            raise UserError(f"optimize.sparsity_penalty and high_frequency_penalty need a model with a "
                            f"`frontend` (a spectrogram module); {type(self.model).__name__} has none")
        self.masks = [neuron_mask(t, shapes) for t in self.targets]
        self.optimizer = torch.optim.Adam([self.audio], lr=self.cfg.learning_rate)

    def waveform_transform(self):
        return compose(random_time_shift(self.cfg.time_shift), random_pitch_shift(self.cfg.pitch_shift),
                       noisy_gradient(self.cfg.gradient_noise))

    def step(self) -> float:
        cfg = self.cfg
        x = self.waveform_transform()(self.audio, self.generator)
        mask = random_mask(cfg.mask, cfg.mask)
        acts, spec = activations_of(self.model, x, lambda s: mask(s, self.generator))
        loss, gain = objective(acts, spec, self.targets, self.masks, cfg)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad = self.audio.grad
        if not torch.isfinite(grad).all():
            raise FloatingPointError("non-finite gradient")
        if cfg.normalize_gradient:
            grad /= grad.pow(2).mean().sqrt().clamp_min(1e-12)
        self.optimizer.step()
        with torch.no_grad():
            y = denoise(self.audio, cfg.denoise)
            if cfg.mix_original > 0:
                y = (1 - cfg.mix_original) * y + cfg.mix_original * self.original
            self.audio.copy_(peak_normalize(y, cfg.peak))
        value = float(gain.detach().mean())
        self.history.append(value)
        return value

    def loop(self) -> torch.Tensor:
        """The current loop [N] (detached, on the CPU)."""
        return self.audio.detach()[0].cpu()


def optimize(model: nn.Module, start: torch.Tensor, targets: list[Target], cfg: OptimizeConfig,
             steps: Optional[int] = None, callback: Optional[Callable[[int, float], None]] = None) -> Optimizer:
    run = Optimizer(model, start, targets, cfg)
    for i in range(cfg.steps if steps is None else steps):
        value = run.step()
        if callback is not None:
            callback(i + 1, value)
    return run
