"""Activation capture for any ``nn.Module``: what every neuron module puts out.

Forward hooks sit on each *neuron module*: by default every nonlinearity module (``nn.ReLU``,
``LeakyReLU``, ``GELU``, ``ELU``, ``Tanh``, ``Sigmoid``, ``SiLU``, ...); a model that lists
module names in a ``neurons`` attribute gets exactly those (any module type: a ``nn.Linear``, an
attention block ...).  Each call of such a module is one *layer*, named by its module path
(``encoder.blocks.0.relu1``); a module called twice in one forward pass (a ResNet block reusing
``self.relu``) gives ``name`` and ``name#2``.  Functional calls (``F.relu``) are not visible to
hooks and are not captured.  A module returning a tuple contributes its first element.

Every captured output is read in the *canonical* layout: [B, channel, frequency, time],
[B, channel, time] or, for a dense layer, [B, channel] as [B, channel, 1].  Time, when there is
one, is the last axis.  By default a 4D output is read as [B, C, F, T] (images: [B, C, H, W],
height playing frequency), 3D as [B, C, T], 2D as [B, C].  A model whose outputs are laid out
otherwise says so per module in a ``neuron_axes`` attribute: a string naming each axis with
``b`` (batch), ``c`` (channel), ``f`` (frequency) and ``t`` (time), e.g. ``"btc"`` for a
Transformer's [B, tokens, units] or ``"bctf"`` for attention heads as [B, head, token, head dim]
(heads are channels, head dims the frequency rows); see docs/api.md.

``neuron_variance`` gives each neuron's (channel, frequency) activation variance over a set of
clips and all their time steps: the charges of the layout.
"""
from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Callable, Iterable, Iterator, Optional

import torch
from torch import nn

from .errors import UserError

NONLINEARITIES: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.GELU, nn.ELU, nn.SELU, nn.CELU, nn.Tanh,
    nn.Sigmoid, nn.SiLU, nn.Mish, nn.Softplus, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid)
AXES = "bcft"


def neuron_modules(model: nn.Module) -> list[tuple[str, nn.Module, Optional[str]]]:
    """(name, module, axes) of every neuron module of ``model``: the modules named in its
    ``neurons`` attribute, or else every nonlinearity module in registration order; ``axes`` from
    its ``neuron_axes`` attribute (None: read by rank).

    Raises :class:`UserError` when there is none, a listed name is not a module of the model, or
    an axes string is malformed.
    """
    listed = getattr(model, "neurons", None)
    axes_of = getattr(model, "neuron_axes", None) or {}
    if not isinstance(axes_of, dict):
        raise UserError(f"{type(model).__name__}.neuron_axes must be a dict {{module name: axes}}, "
                        f"got {type(axes_of).__name__}")
    modules = dict(model.named_modules())
    if listed is not None:
        if isinstance(listed, str) or not all(isinstance(n, str) for n in listed):
            raise UserError(f"{type(model).__name__}.neurons must be a list of module names, got {listed!r}")
        missing = [n for n in listed if n not in modules]
        if missing:
            raise UserError(f"{type(model).__name__}.neurons names {missing[0]!r}, which is not one of its modules")
        found = [(n, modules[n]) for n in listed]
    else:
        found = [(name, m) for name, m in model.named_modules() if isinstance(m, NONLINEARITIES)]
    if not found:
        raise UserError(f"{type(model).__name__} has no recognizable layers: no nonlinearity modules "
                        f"({', '.join(t.__name__ for t in NONLINEARITIES[:7])}, ...) to capture "
                        f"and no `neurons` attribute naming modules")
    for name, axes in axes_of.items():
        if name not in modules:
            raise UserError(f"{type(model).__name__}.neuron_axes names {name!r}, which is not one of its modules")
        _check_axes(name, axes)
    return [(name, m, axes_of.get(name)) for name, m in found]


def nonlinearity_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every neuron module (see :func:`neuron_modules`)."""
    return [(name, m) for name, m, _ in neuron_modules(model)]


def _check_axes(name: str, axes) -> None:
    if not isinstance(axes, str) or not set(axes) <= set(AXES) or len(set(axes)) != len(axes) \
            or "b" not in axes or "c" not in axes:
        raise UserError(f"neuron_axes[{name!r}] = {axes!r}: expected a string of distinct axis letters "
                        f"b (batch), c (channel), f (frequency), t (time) with b and c, e.g. 'btc'")


def _first(output):
    return output[0] if isinstance(output, (tuple, list)) else output


def as_layer_tensor(out: torch.Tensor, axes: Optional[str] = None, layer: str = "") -> torch.Tensor:
    """A layer output -> canonical [B, C, F, T] / [B, C, T] / [B, C, 1] (see module docstring)."""
    out = _first(out)
    where = f"layer {layer} puts out" if layer else "cannot capture a layer output of"
    if axes is None:
        if out.dim() == 2:
            return out.unsqueeze(-1)
        if out.dim() not in (3, 4):
            raise UserError(f"{where} shape {tuple(out.shape)}: expected [batch, channel, (frequency,) time] "
                            f"or [batch, units]; name its axes in the model's neuron_axes (docs/api.md)")
        return out
    if len(axes) != out.dim():
        raise UserError(f"{where} shape {tuple(out.shape)}, but its neuron_axes {axes!r} name {len(axes)} axes")
    order = [axes.index(a) for a in AXES if a in axes]
    x = out.permute(*order)
    if "t" not in axes:
        x = x.unsqueeze(-1)
    return x


def from_layer_tensor(x: torch.Tensor, like: torch.Tensor, axes: Optional[str]) -> torch.Tensor:
    """The inverse of :func:`as_layer_tensor`: canonical ``x`` back in the layout of ``like``."""
    if axes is None:
        return x.squeeze(-1) if like.dim() == 2 else x
    if "t" not in axes:
        x = x.squeeze(-1)
    present = [a for a in AXES if a in axes]  # x's axis order
    return x.permute(*[present.index(a) for a in axes])


@contextlib.contextmanager
def hooked(model: nn.Module, on_output: Callable[[str, nn.Module, tuple, torch.Tensor], torch.Tensor | None]
           ) -> Iterator[list[str]]:
    """Hook every neuron module; ``on_output(layer_name, module, inputs, output)`` sees each call,
    ``output`` in the canonical layout (see module docstring), and so ``inputs[0]`` when it is
    shaped like the output; a tensor it returns (canonical) replaces the module's output.  Yields the list of layer names, in call order, filled during
    the forward pass."""
    names: list[str] = []
    calls: dict[str, int] = {}
    handles = []

    def make(name: str, axes: Optional[str]):
        def hook(module, inputs, output):
            calls[name] = calls.get(name, 0) + 1
            layer = name if calls[name] == 1 else f"{name}#{calls[name]}"
            names.append(layer)
            raw = _first(output)
            if not isinstance(raw, torch.Tensor):
                raise UserError(f"layer {layer} puts out a {type(raw).__name__}, not a tensor")
            first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
            if first is not None and first.shape == raw.shape:  # element-wise: the input reads alike
                inputs = (as_layer_tensor(first, axes, layer), *inputs[1:])
            replaced = on_output(layer, module, inputs, as_layer_tensor(raw, axes, layer))
            if replaced is None:
                return None
            back = from_layer_tensor(replaced, raw, axes)
            if isinstance(output, (tuple, list)):
                return type(output)([back, *output[1:]])
            return back
        return hook

    try:
        for name, module, axes in neuron_modules(model):
            handles.append(module.register_forward_hook(make(name, axes)))
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
        captured[layer] = output.detach() if detach else output
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
