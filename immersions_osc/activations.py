"""Activation capture for any ``nn.Module``: what every nonlinearity puts out.

Forward hooks sit on each nonlinearity *module* (``nn.ReLU``, ``LeakyReLU``, ``GELU``, ``ELU``,
``Tanh``, ``Sigmoid``, ``SiLU``, ...).  Each call of such a module is one *layer*, named by its
module path (``encoder.blocks.0.relu1``); a module called twice in one forward pass (a ResNet
block reusing ``self.relu``) gives ``name`` and ``name#2``.  Functional calls (``F.relu``) are not
visible to hooks and are not captured.

Shapes, for a batch of B inputs: a 2D-conv layer gives [B, channel, frequency, time] (for images:
[B, channel, height, width], height playing frequency), a 1D layer [B, channel, time], a dense
layer [B, channel] is returned as [B, channel, 1].  Time is always the last axis.

``neuron_variance`` gives each neuron's (channel, frequency) activation variance over a set of
clips and all their time steps: the charges of the layout.
"""
from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

from .errors import UserError

NONLINEARITIES: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.GELU, nn.ELU, nn.SELU, nn.CELU, nn.Tanh,
    nn.Sigmoid, nn.SiLU, nn.Mish, nn.Softplus, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid)


def nonlinearity_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every nonlinearity module in ``model``, in registration order.

    Raises :class:`UserError` when there is none (nothing to lay out).
    """
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, NONLINEARITIES)]
    if not found:
        raise UserError(f"{type(model).__name__} has no recognizable layers: no nonlinearity modules "
                        f"({', '.join(t.__name__ for t in NONLINEARITIES[:7])}, ...) to capture")
    return found


def as_layer_tensor(out: torch.Tensor) -> torch.Tensor:
    """A nonlinearity output [B, C, (F,) T] or [B, C] -> [B, C, (F,) T] (dense: time axis of 1)."""
    if out.dim() == 2:
        return out.unsqueeze(-1)
    if out.dim() not in (3, 4):
        raise UserError(f"cannot capture a layer output of shape {tuple(out.shape)}: expected "
                        f"[batch, channel, (frequency,) time]")
    return out


@contextlib.contextmanager
def hooked(model: nn.Module, on_output: Callable[[str, nn.Module, tuple, torch.Tensor], torch.Tensor | None]
           ) -> Iterator[list[str]]:
    """Hook every nonlinearity; ``on_output(layer_name, module, inputs, output)`` sees each call
    (its return value, when not None, replaces the output).  Yields the list of layer names, in
    call order, filled during the forward pass."""
    names: list[str] = []
    calls: dict[str, int] = {}
    handles = []

    def make(name: str):
        def hook(module, inputs, output):
            calls[name] = calls.get(name, 0) + 1
            layer = name if calls[name] == 1 else f"{name}#{calls[name]}"
            names.append(layer)
            return on_output(layer, module, inputs, output)
        return hook

    try:
        for name, module in nonlinearity_modules(model):
            handles.append(module.register_forward_hook(make(name)))
        yield names
    finally:
        for h in handles:
            h.remove()
        calls.clear()


def capture_activations(model: nn.Module, inputs: torch.Tensor | tuple, *, detach: bool = True
                        ) -> "OrderedDict[str, torch.Tensor]":
    """Run ``model(*inputs)`` once and return {layer name: activation} in call order.

    Each activation is [B, C, F, T] or [B, C, T] (see module docstring).
    """
    captured: "OrderedDict[str, torch.Tensor]" = OrderedDict()

    def keep(layer, module, inp, output):
        captured[layer] = as_layer_tensor(output.detach() if detach else output)
        return None

    args = inputs if isinstance(inputs, tuple) else (inputs,)
    with hooked(model, keep), torch.set_grad_enabled(not detach):
        model(*args)
    if not captured:
        raise UserError(f"{type(model).__name__}: no nonlinearity was called in the forward pass")
    return captured


def neuron_variance(model: nn.Module, clips: Iterable[torch.Tensor]) -> "OrderedDict[str, torch.Tensor]":
    """Variance of every neuron's activation over ``clips`` and all their time steps.

    ``clips``: an iterable of model inputs (each a batch, e.g. audio [B, N] for the CPC model).
    Returns {layer: [C, F]} (1D layers: [C, 1]), float32 on the CPU.  An empty iterable raises
    :class:`UserError`.
    """
    sums: dict[str, torch.Tensor] = {}
    squares: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    seen = 0
    for clip in clips:
        seen += 1
        for name, act in capture_activations(model, clip).items():
            a = act.double()
            if a.dim() == 3:
                a = a.unsqueeze(2)  # [B, C, 1, T]
            s, s2 = a.sum(dim=(0, 3)).cpu(), (a * a).sum(dim=(0, 3)).cpu()
            n = a.shape[0] * a.shape[3]
            if name in sums:
                sums[name] += s
                squares[name] += s2
                counts[name] += n
            else:
                sums[name], squares[name], counts[name] = s, s2, n
    if not seen:
        raise UserError("the validation set is empty: need at least one clip to measure activation variance")
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for name in sums:
        mean = sums[name] / counts[name]
        out[name] = (squares[name] / counts[name] - mean * mean).clamp_min(0).float()
    return out
