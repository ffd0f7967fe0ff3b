"""The objective of the sonification: excite the targets, optionally at a price.

Per candidate loop ``b`` (a batch of loops is optimized at once), with ``a_t`` the mean activation
of target ``t`` and ``r_t`` the mean activation of the other neurons of its layer:

- ``objective = "activation"``: ``value_b = sum_t w_t * a_t``
- ``objective = "log_probability"``: where the target's layer is a probability (a softmax over its
  channels, a sigmoid: a classifier's output, e.g. a pitch network's pitch bins), ``value_b = sum_t
  w_t * log mean p_t`` (the mean over the target's neurons and frames, as ``log_ratio`` takes it),
  computed from the layer's log-probabilities (``ascent.log_probabilities``, from the layer's input,
  with a logsumexp); elsewhere as ``log_ratio``.  The
  log-ratio's offset ``eps`` (1 % of the layer's mean: 1/38 400 of a 384-bin softmax) flattens
  ``log(p + eps)`` where ``p`` << ``eps``, so a bin the start gives almost no probability gets
  almost no gradient; the log-probability's gradient does not vanish there.
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
``  - top_channel * min(log(a_t + eps) - softmax_c log(a_c + eps), log 2)`` over the layer's other
``    channels c`` (a soft maximum, sharpness TOP_SHARPNESS): the target must lead every other channel
``    of its layer, not merely rise with them, and a lead of 2x is enough
``  - contrast * min(log(a_t + eps) on its own loops - softmax log(a_t + eps) on the batch's loops``
``    made for other targets, log 2)``: in a batch of loops for different targets, each target must
``    answer its own loop more than the others' (a shared drift that excites every target earns nothing)
``  + diversity * mean cosine similarity between the candidates' target-layer activations``
Every penalty is level-free and of order 1; weights of 1 to 10 matter (tests/test_optimize.py
checks that each moves the figure it names in that range).
Minimizing the sum maximizes the targets' activation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import torch

from ..config import OptimizeConfig
from .targets import Target, mask_index, select, target_activation, time_slice

OBJECTIVES = ("activation", "log_ratio", "log_probability")
TOP_SHARPNESS = 8.0  # the soft maximum of log activations is within log(C) / 8 of the maximum
TOP_LEAD = math.log(2.0)  # the lead over the strongest other channel that top_channel asks for


@dataclass
class TargetTerms:
    """What the objective needs about the targets besides the activations (fixed per target set).
    Every mask is also kept as device indices, and every question about the masks and weights
    answered once here, so that a step never reads a value on the host (``immersions_osc.syncs``)."""
    masks: list[torch.Tensor]  # [C, F] bool per target
    weights: torch.Tensor  # [B, n_targets]: w_t for candidate b (0: candidate b ignores target t)
    eps: torch.Tensor  # [n_targets]
    rest_energy: torch.Tensor  # [n_targets]: the rest's mean squared activation at the start
    base: list[torch.Tensor]  # per target: [B, C, F] time-averaged activations at the start
    base_target: torch.Tensor  # [B, n_targets]: the target's activation at the start
    index: list[torch.Tensor] = field(default_factory=list)  # per target: its neurons' flat indices
    others: list[Optional[torch.Tensor]] = field(default_factory=list)  # the rest of its layer (None: no rest)
    base_rest: list[Optional[torch.Tensor]] = field(default_factory=list)  # [B]: the rest's mean at the start
    rivals: list[Optional[torch.Tensor]] = field(default_factory=list)  # channels holding none of its neurons
    own: list[torch.Tensor] = field(default_factory=list)  # [B] bool: the loops made for it (w != 0)
    strangers: list[Optional[torch.Tensor]] = field(default_factory=list)  # indices of the loops not made for it


def _nonempty(index: torch.Tensor) -> Optional[torch.Tensor]:
    return index if index.numel() else None


@torch.no_grad()
def target_terms(activations: dict[str, torch.Tensor], targets: Sequence[Target], masks: Sequence[torch.Tensor],
                 weights: torch.Tensor) -> TargetTerms:
    eps, energy, base, base_target = [], [], [], []
    index, others, base_rest, rivals, own, strangers = [], [], [], [], [], []
    for i, (t, m) in enumerate(zip(targets, masks)):
        a = activations[t.layer]
        dev = a.device
        eps.append(0.01 * float(a.mean()) + 1e-8)
        index.append(mask_index(m, dev))
        others.append(_nonempty(mask_index(~m, dev)))
        rivals.append(_nonempty((~m.any(1)).nonzero()[:, 0].to(dev)))
        w = weights[:, i] != 0
        own.append(w.to(dev))
        strangers.append(_nonempty((~w).nonzero()[:, 0].to(dev)))
        base_target.append(target_activation(activations, t, index=index[-1]))
        a = a if a.dim() == 4 else a.unsqueeze(2)
        base.append(a[..., time_slice(t, a.shape[-1])].mean(-1))
        base_rest.append(None if others[-1] is None else select(base[-1], others[-1]).mean(1))
        rest = a[:, ~m.to(a.device)]
        energy.append(float(rest.pow(2).mean()) + 1e-12 if rest.numel() else 1.0)
    dev = weights.device
    return TargetTerms(list(masks), weights, torch.tensor(eps, device=dev), torch.tensor(energy, device=dev),
                       base, torch.stack(base_target, 1), index, others, base_rest, rivals, own, strangers)


def objective(activations: dict[str, torch.Tensor], log_power: torch.Tensor, targets: Sequence[Target],
              terms: TargetTerms, cfg: OptimizeConfig, log_probs: Optional[dict[str, torch.Tensor]] = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss scalar, value [B] (what each candidate maximizes), activation [B] (weighted mean
    target activation, the figure progress bars show)).  ``log_probs``: the probability layers'
    log-probabilities (``activations_of(log_probs=...)``), for ``objective = "log_probability"``.
    No host sync (every mask is an index of ``terms``)."""
    value = 0
    activation = 0
    for i, t in enumerate(targets):
        w = terms.weights[:, i]
        a = target_activation(activations, t, index=terms.index[i])
        activation = activation + w * a
        x = activations[t.layer]
        x = x if x.dim() == 4 else x.unsqueeze(2)  # [B, C, F, T]
        others = terms.others[i]  # the rest of the target's layer (None: the target is all of it)
        if cfg.objective == "log_probability" and log_probs is not None and t.layer in log_probs:
            value = value + w * log_mean_probability(log_probs, t, terms.masks[i], terms.index[i])
        elif cfg.objective in ("log_ratio", "log_probability"):
            eps = terms.eps[i]
            own = (a + eps) / (terms.base_target[:, i] + eps)
            if others is not None:  # the rest of the layer as one: its mean activation's gain
                now = x[..., time_slice(t, x.shape[-1])].mean(-1)  # [B, C, F]
                rest = (select(now, others).mean(1) + eps) / (terms.base_rest[i] + eps)
                value = value + w * (torch.log(own) - torch.log(rest))
            else:
                value = value + w * torch.log(own)
        else:
            value = value + w * a
        if cfg.top_channel > 0 and terms.rivals[i] is not None:
            value = value + w * cfg.top_channel * capped_lead(
                a, x[..., time_slice(t, x.shape[-1])].index_select(1, terms.rivals[i]).mean(dim=(2, 3)),
                terms.eps[i], 1)
        if cfg.contrast > 0 and terms.strangers[i] is not None:
            value = value + w * cfg.contrast * capped_lead(a, a.index_select(0, terms.strangers[i]), terms.eps[i], 0)
        if cfg.energy_penalty > 0 and others is not None:
            rest = select(x, others)
            value = value - terms.own[i] * cfg.energy_penalty * rest.pow(2).mean(dim=(1, 2)) / terms.rest_energy[i]
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


def log_mean_probability(log_probs: dict[str, torch.Tensor], target: Target, mask: torch.Tensor,
                         index: Optional[torch.Tensor] = None) -> torch.Tensor:
    """log of the target's mean probability over its neurons and frames [B], from log-probabilities
    (a logsumexp: finite and with its gradient where the probabilities underflow).  The log of the
    mean, as ``log_ratio`` takes it, not the mean of the logs (the cross-entropy per frame, ruled
    by the frames the network is least sure of): with the mean of the logs PESTO heard its bin in
    every loop, but its bins from 123 to 449 Hz filled their loops with 40-75 Hz rumble that pYIN
    heard instead (1 of 8 within a semitone, seed 0); with the log of the mean, 8 of 8
    (docs/pitch_ears.md)."""
    lp = log_probs[target.layer]
    lp = lp if lp.dim() == 4 else lp.unsqueeze(2)
    index = mask_index(mask, lp.device) if index is None else index
    selected = select(lp[..., time_slice(target, lp.shape[-1])], index)  # [B, n, T']
    flat = selected.flatten(1)
    return torch.logsumexp(flat, dim=1) - math.log(flat.shape[1])


def capped_lead(a: torch.Tensor, rivals: torch.Tensor, eps: torch.Tensor, dim: int) -> torch.Tensor:
    """log(a + eps) over a soft maximum (sharpness TOP_SHARPNESS) of log(rivals + eps) along
    ``dim``, capped at TOP_LEAD: the lead both top_channel and contrast ask for."""
    soft_max = torch.logsumexp(TOP_SHARPNESS * torch.log(rivals + eps), dim) / TOP_SHARPNESS
    return torch.clamp(torch.log(a + eps) - soft_max, max=TOP_LEAD)


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
