"""What to excite: targets are sets of neurons of one layer, with a weight (< 0 suppresses).

A target names a layer (``encoder.blocks.0.relu1``) and, optionally, channels, a frequency-row
range and a time range (fractions of the clip) within it, or explicit neuron indices
``channel * n_frequencies + frequency`` (what a selection in the 2D layout produces).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from ..errors import UserError


@dataclass
class Target:
    layer: str
    channels: Optional[list[int]] = None
    frequencies: Optional[tuple[int, int]] = None  # rows [lo, hi) of a 2D layer
    times: Optional[tuple[float, float]] = None  # fractions [lo, hi) of the layer's time axis
    neurons: Optional[list[int]] = None  # flat indices channel * F + frequency
    weight: float = 1.0


def layer_shapes(activations: dict[str, torch.Tensor]) -> dict[str, tuple[int, int]]:
    """{layer: (channels, frequencies)}; 1D layers have one frequency row."""
    return {name: (a.shape[1], a.shape[2] if a.dim() == 4 else 1) for name, a in activations.items()}


def neuron_mask(target: Target, shapes: dict[str, tuple[int, int]]) -> torch.Tensor:
    """Boolean [C, F] mask of the target's neurons; a clear UserError for a bad target."""
    if target.layer not in shapes:
        raise UserError(f"unknown layer {target.layer!r}; valid layers: {', '.join(shapes)}")
    channels, frequencies = shapes[target.layer]
    mask = torch.zeros(channels, frequencies, dtype=torch.bool)
    if target.neurons is not None:
        bad = [n for n in target.neurons if not 0 <= n < channels * frequencies]
        if bad:
            raise UserError(f"neuron index {bad[0]} out of range for {target.layer} "
                            f"(0..{channels * frequencies - 1})")
        mask.view(-1)[torch.tensor(target.neurons, dtype=torch.long)] = True
        return mask
    rows = slice(None)
    if target.frequencies is not None:
        lo, hi = target.frequencies
        if not 0 <= lo < hi <= frequencies:
            raise UserError(f"frequency range {lo}..{hi} out of range for {target.layer} "
                            f"(0..{frequencies})")
        rows = slice(lo, hi)
    if target.channels is None:
        mask[:, rows] = True
    else:
        bad = [c for c in target.channels if not 0 <= c < channels]
        if bad:
            raise UserError(f"channel {bad[0]} out of range for {target.layer} (0..{channels - 1})")
        mask[torch.tensor(target.channels, dtype=torch.long), rows] = True
    return mask


def time_slice(target: Target, steps: int) -> slice:
    if target.times is None:
        return slice(None)
    lo, hi = target.times
    if not 0.0 <= lo < hi <= 1.0:
        raise UserError(f"time range {lo}..{hi} must be fractions with 0 <= lo < hi <= 1")
    start = min(steps - 1, int(lo * steps))
    return slice(start, max(start + 1, int(round(hi * steps))))


def mask_index(mask: torch.Tensor, device=None) -> torch.Tensor:
    """The flat indices (``channel * F + frequency``, ascending) of a [C, F] boolean mask, on
    ``device``: ``select(a, mask_index(m))`` is ``a[:, m]`` without a host sync (a boolean index
    has a value-dependent size, so the host must read the mask first; these indices are computed
    once per target set)."""
    return mask.reshape(-1).nonzero()[:, 0].to(device if device is not None else mask.device)


def select(a: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``a`` [B, C, F, ...] at the flat neuron indices ``index`` (:func:`mask_index`): [B, n, ...],
    the values and order of ``a[:, mask]``."""
    return a.flatten(1, 2).index_select(1, index)


def target_activation(activations: dict[str, torch.Tensor], target: Target,
                      mask: Optional[torch.Tensor] = None, index: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean activation of the target's neurons over its time range: [B].  ``index``: the mask's
    :func:`mask_index` on the activations' device (no host sync)."""
    if mask is None and index is None:
        mask = neuron_mask(target, layer_shapes(activations))  # validates the target first
    a = activations[target.layer]
    a = a if a.dim() == 4 else a.unsqueeze(2)  # [B, C, F, T]
    if index is None:
        index = mask_index(mask, a.device)
    selected = select(a[..., time_slice(target, a.shape[-1])], index)  # [B, n, T']
    return selected.mean(dim=(1, 2))


def check_targets(targets: Sequence[Target], shapes: dict[str, tuple[int, int]]) -> None:
    if not targets:
        raise UserError("no target: name at least one layer to excite")
    for t in targets:
        if not neuron_mask(t, shapes).any():
            raise UserError(f"the target in {t.layer} selects no neuron")


def block_layers(layer_names: list[str]) -> list[str]:
    """The last nonlinearity of every block: encoder.blocks.i.relu2, ar.blocks.i.relu."""
    last: dict[str, str] = {}
    for name in layer_names:
        block = name.rsplit(".", 1)[0]
        last[block] = name
    return list(last.values())
