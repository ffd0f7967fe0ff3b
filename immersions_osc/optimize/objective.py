"""The objective of the sonification: excite the targets, optionally at a price.

Per candidate loop ``b`` (a batch of loops is optimized at once), with ``a_t`` the mean activation
of target ``t`` and ``r_t`` the mean activation of the other neurons of its layer:

- ``objective = "activation"``: ``value_b = sum_t w_t * a_t``
- ``objective = "log_ratio"``: ``value_b = sum_t w_t * (log g_t - log g_rest)``, with ``g`` the
  gain of a mean activation over its value on the loop the target was set on (``(a + eps) / (a0 +
  eps)``, ``eps`` 1 % of the layer's mean there) and ``rest`` the layer's other neurons taken
  together (their mean activation, time-averaged): the target's gain *against the rest of its
  layer's* (selective, and the same scale for every layer).  Taken together, not neuron by
  neuron: a mean of per-neuron gains is ruled by the few neurons that were silent on the start,
  and chasing those cost a third of the selectivity and most of the gain
  (benchmarks/sonification_quality.py)

``loss_b = -value_b``
``  + energy_penalty * (mean squared activation of the rest of the target layers) / (its value at the start)``
``  + sparsity_penalty * mean sqrt(power / mean power)``     (1 = flat noise, -> 0 for a few lines)
``  + high_frequency_penalty * spectral centroid on the bin axis`` (0 = lowest bin, 1 = highest)
``  + diversity * mean cosine similarity between the candidates' target-layer activations``
Every penalty is level-free and of order 1; weights of 1 to 10 matter (tests/test_optimize.py
checks that each moves the figure it names in that range).
Minimizing the sum maximizes the targets' activation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..config import OptimizeConfig
from .targets import Target, target_activation, time_slice

OBJECTIVES = ("activation", "log_ratio")


@dataclass
class TargetTerms:
    """What the objective needs about the targets besides the activations (fixed per target set)."""
    masks: list[torch.Tensor]  # [C, F] bool per target
    weights: torch.Tensor  # [B, n_targets]: w_t for candidate b (0: candidate b ignores target t)
    eps: torch.Tensor  # [n_targets]
    rest_energy: torch.Tensor  # [n_targets]: the rest's mean squared activation at the start
    base: list[torch.Tensor]  # per target: [B, C, F] time-averaged activations at the start
    base_target: torch.Tensor  # [B, n_targets]: the target's activation at the start


@torch.no_grad()
def target_terms(activations: dict[str, torch.Tensor], targets: Sequence[Target], masks: Sequence[torch.Tensor],
                 weights: torch.Tensor) -> TargetTerms:
    eps, energy, base, base_target = [], [], [], []
    for t, m in zip(targets, masks):
        a = activations[t.layer]
        eps.append(0.01 * float(a.mean()) + 1e-8)
        base_target.append(target_activation(activations, t, m))
        a = a if a.dim() == 4 else a.unsqueeze(2)
        base.append(a[..., time_slice(t, a.shape[-1])].mean(-1))
        rest = a[:, ~m.to(a.device)]
        energy.append(float(rest.pow(2).mean()) + 1e-12 if rest.numel() else 1.0)
    dev = weights.device
    return TargetTerms(list(masks), weights, torch.tensor(eps, device=dev), torch.tensor(energy, device=dev),
                       base, torch.stack(base_target, 1))


def objective(activations: dict[str, torch.Tensor], log_power: torch.Tensor, targets: Sequence[Target],
              terms: TargetTerms, cfg: OptimizeConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss scalar, value [B] (what each candidate maximizes), activation [B] (weighted mean
    target activation, the figure progress bars show))."""
    value = 0
    activation = 0
    for i, (t, m) in enumerate(zip(targets, terms.masks)):
        w = terms.weights[:, i]
        a = target_activation(activations, t, m)
        activation = activation + w * a
        x = activations[t.layer]
        x = x if x.dim() == 4 else x.unsqueeze(2)  # [B, C, F, T]
        others = ~m.to(x.device)  # the rest of the target's layer
        if cfg.objective == "log_ratio":
            eps = terms.eps[i]
            now = x[..., time_slice(t, x.shape[-1])].mean(-1)  # [B, C, F]
            own = (a + eps) / (terms.base_target[:, i] + eps)
            if others.any():  # the rest of the layer as one: its mean activation's gain
                rest = (now[:, others].mean(1) + eps) / (terms.base[i][:, others].mean(1) + eps)
            else:
                rest = torch.ones_like(own)
            value = value + w * (torch.log(own) - torch.log(rest))
        else:
            value = value + w * a
        if cfg.energy_penalty > 0:
            rest = x[:, others]
            if rest.numel():
                value = value - (w != 0) * cfg.energy_penalty * rest.pow(2).mean(dim=(1, 2)) / terms.rest_energy[i]
    if cfg.sparsity_penalty > 0 or cfg.high_frequency_penalty > 0:
        power = log_power[:, 0].exp()  # [B, F, T]
        total = power.sum(dim=(1, 2)).clamp_min(1e-20)
        if cfg.sparsity_penalty > 0:
            share = power * (power[0].numel() / total)[:, None, None]
            value = value - cfg.sparsity_penalty * share.clamp_min(1e-12).sqrt().mean(dim=(1, 2))
        if cfg.high_frequency_penalty > 0:
            ramp = torch.linspace(0, 1, power.shape[1], device=power.device, dtype=power.dtype)
            value = value - cfg.high_frequency_penalty * (power * ramp[:, None]).sum(dim=(1, 2)) / total
    loss = -value.sum()
    batch = activations[targets[0].layer].shape[0]
    if cfg.diversity > 0 and batch > 1:
        loss = loss + cfg.diversity * batch * diversity(activations, targets)
    return loss, value.detach(), activation.detach()


def diversity(activations: dict[str, torch.Tensor], targets: Sequence[Target]) -> torch.Tensor:
    """Mean pairwise cosine similarity of the candidates' target-layer activation patterns (time
    averaged, per neuron): low when the candidates excite their layer in different ways."""
    layers = sorted({t.layer for t in targets})
    feats = torch.cat([activations[name].flatten(2).mean(-1) if activations[name].dim() == 3
                       else activations[name].mean(-1).flatten(1) for name in layers], dim=1)
    feats = torch.nn.functional.normalize(feats, dim=1)
    sim = feats @ feats.T
    b = sim.shape[0]
    return (sim.sum() - sim.diagonal().sum()) / (b * (b - 1))
