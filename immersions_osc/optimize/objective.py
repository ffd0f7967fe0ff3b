"""The objective of the sonification: excite the targets, optionally at a price.

``loss = -sum_i w_i * mean activation of target i``
``       + energy_penalty * mean squared activation of the other neurons of the target layers``
``       + sparsity_penalty * mean scaleogram power``
``       + high_frequency_penalty * mean power weighted by bin / n_bins``
Minimizing it maximizes the targets' activation.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..config import OptimizeConfig
from .targets import Target, target_activation


def objective(activations: dict[str, torch.Tensor], log_power: torch.Tensor, targets: Sequence[Target],
              masks: Sequence[torch.Tensor], cfg: OptimizeConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss scalar, gain [B] = weighted target activation) for one batch."""
    gain = sum(t.weight * target_activation(activations, t, m) for t, m in zip(targets, masks))
    loss = -gain.mean()
    if cfg.energy_penalty > 0:
        for t, m in zip(targets, masks):
            a = activations[t.layer]
            a = a if a.dim() == 4 else a.unsqueeze(2)
            rest = a[:, ~m.to(a.device)]
            if rest.numel():
                loss = loss + cfg.energy_penalty * rest.pow(2).mean()
    if cfg.sparsity_penalty > 0 or cfg.high_frequency_penalty > 0:
        power = log_power[:, 0].exp()  # [B, F, T]
        if cfg.sparsity_penalty > 0:
            loss = loss + cfg.sparsity_penalty * power.mean()
        if cfg.high_frequency_penalty > 0:
            ramp = torch.linspace(0, 1, power.shape[1], device=power.device, dtype=power.dtype)
            loss = loss + cfg.high_frequency_penalty * (power * ramp[:, None]).mean()
    return loss, gain
