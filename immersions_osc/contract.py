"""The model contract: what Immersions needs of a network to lay it out, stream it and sonify it.

A model is a ``torch.nn.Module`` whose ``forward(audio)`` takes mono audio ``[batch, samples]``
(float32, about -1..1) at the sample rate named by its ``sample_rate`` attribute, and returns
anything.  Its *neurons* are the outputs of its nonlinearity modules (``nn.ReLU``, ``nn.GELU``,
...; functional calls such as ``F.relu`` are invisible), or of exactly the modules named in an
optional ``neurons`` attribute (a list of module paths).  Each output is read as
[B, channel, frequency, time] (4D), [B, channel, time] (3D) or [B, units] (2D); an optional
``neuron_axes`` attribute ``{module path: "btc"}`` names the axes of outputs laid out otherwise
(``b`` batch, ``c`` channel, ``f`` frequency, ``t`` time).  Two more optional attributes:
``frontend``, the submodule (or its path) that turns audio into a spectrogram [B, 1, F, T] of log
power (pictures, and the optimizer's spectrogram masking and spectral penalties), and
``window_seconds``, the audio the model hears per analysis (default 1 s).  Nothing else: no base
class, no registration.  The shipped CPC ear satisfies it (``frontend = "scaleogram"``).

Loaded from the command line by ``--model``:

* ``package.module:factory`` -- a Python entry point (importable from the current folder);
* ``path/to/file.py:factory`` -- a Python file;
* ``path/to/program.pt2`` -- a ``torch.export.save``d program (its nonlinearities become hookable
  modules again, named by the module paths they had).

``factory`` is called without arguments and returns the model (or ``(model, sample_rate)``).
TorchScript files cannot be used: PyTorch offers no forward hooks on loaded TorchScript modules.
Every way a model can break the contract ends in one :class:`~immersions_osc.errors.UserError`
line (see :func:`check_model`).
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .errors import UserError

DEFAULT_WINDOW_SECONDS = 1.0


@dataclass
class ModelInfo:
    """What the rest of the package reads of a model (see :func:`describe`)."""
    sample_rate: int
    frontend: Optional[nn.Module]  # audio -> log-power spectrogram [B, 1, F, T], or None
    window: int  # samples the model hears per analysis frame
    name: str


def describe(model: nn.Module) -> ModelInfo:
    """The model's contract metadata, checked (one clear line for each mistake)."""
    kind = type(model).__name__
    sr = getattr(model, "sample_rate", None)
    if isinstance(sr, bool) or not isinstance(sr, (int, float)) or sr <= 0 or int(sr) != sr:
        raise UserError(f"{kind} must state its audio rate as an integer `sample_rate` attribute "
                        f"(e.g. model.sample_rate = 22050), got {sr!r}")
    frontend = getattr(model, "frontend", None)
    if isinstance(frontend, str):
        try:
            frontend = model.get_submodule(frontend)
        except AttributeError:
            raise UserError(f"{kind}.frontend names {frontend!r}, which is not one of its modules") from None
    elif frontend is not None and not isinstance(frontend, nn.Module):
        raise UserError(f"{kind}.frontend must be a submodule or its name, got {type(frontend).__name__}")
    if hasattr(model, "window_samples"):
        window = int(model.window_samples)
    else:
        seconds = getattr(model, "window_seconds", DEFAULT_WINDOW_SECONDS)
        if not isinstance(seconds, (int, float)) or not 0 < seconds <= 600:
            raise UserError(f"{kind}.window_seconds must be a number of seconds in (0, 600], got {seconds!r}")
        window = max(1, int(round(seconds * sr)))
    return ModelInfo(int(sr), frontend, window, kind)


def check_model(model: nn.Module, device: torch.device | str = "cpu") -> list[str]:
    """Run the model once on silence [1, window] and check the contract; returns the layer names.

    Raises :class:`UserError` (one line) when the metadata is wrong, the model raises on audio
    [batch, samples] (e.g. it wants another input rank), no neuron module is found or called, or
    a neuron's output cannot be read.
    """
    from .activations import capture_activations, neuron_modules

    info = describe(model)
    neuron_modules(model)  # clear error when there is nothing to capture
    audio = torch.zeros(1, info.window, device=device)
    was_training = model.training
    model.eval()
    try:
        acts = capture_activations(model, audio)
    except UserError:
        raise
    except Exception as exc:  # whatever the user's forward raises
        first = (str(exc).strip().splitlines() or [""])[0]
        raise UserError(f"{info.name} raised {type(exc).__name__} on audio of shape {tuple(audio.shape)} "
                        f"([batch, samples] at {info.sample_rate} Hz, the model contract): {first}") from None
    finally:
        model.train(was_training)
    return list(acts)


def run(model: nn.Module, audio: torch.Tensor) -> None:
    """One forward pass on audio [B, N] (what every capture does)."""
    model(audio)


def spectrum(model: nn.Module, audio: torch.Tensor) -> torch.Tensor:
    """A log-power spectrogram [B, 1, F, T] of audio [B, N] for pictures: the model's frontend,
    or the package's scaleogram at the model's sample rate when it has none."""
    info = describe(model)
    if info.frontend is not None:
        out = info.frontend(audio)
        if out.dim() == 3:
            out = out.unsqueeze(1)
        return out[:, :1]
    from .config import ScaleogramConfig
    from .scaleogram import Scaleogram

    cached = model.__dict__.get("_immersions_picture_scaleogram")
    if cached is None or cached[0] != info.sample_rate:
        cfg = ScaleogramConfig(sample_rate=info.sample_rate, n_bins=_bins_below_nyquist(info.sample_rate),
                               hop_length=512)
        cached = (info.sample_rate, Scaleogram(cfg))
        model.__dict__["_immersions_picture_scaleogram"] = cached  # plain attribute: no submodule, no state
    return cached[1].to(audio.device)(audio)


def _bins_below_nyquist(sample_rate: int, fmin: float = 40.0, bins_per_octave: int = 24) -> int:
    top = sample_rate / 2 * 0.9
    return max(8, int(math.floor(bins_per_octave * math.log2(top / fmin))) + 1)


# --- loading ---------------------------------------------------------------------------------------

def load(spec: str, device: torch.device | str = "cpu") -> nn.Module:
    """The model named by ``spec`` (see the module docstring), in eval mode on ``device``, its
    contract checked."""
    if not isinstance(spec, str) or not spec.strip():
        raise UserError("--model needs a value: package.module:factory, path/to/file.py:factory or a .pt2 file")
    spec = spec.strip()
    if spec.endswith(".pt2"):
        model = _load_exported(spec)
    elif spec.endswith((".pt", ".pth", ".ts", ".jit")) and ":" not in spec:
        raise UserError(f"{spec}: TorchScript and checkpoint files cannot be hooked; give a Python factory "
                        f"(file.py:factory), a torch.export file (.pt2) or --checkpoint for Immersions checkpoints")
    else:
        model = _call_factory(spec)
    model = model.to(device).eval()
    check_model(model, device)
    if spec.endswith(".pt2"):  # the service runs batches and loops longer than the window
        window = describe(model).window
        try:
            with torch.no_grad():
                model(torch.zeros(2, 2 * window, device=device))
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            raise UserError(f"--model {spec}: the program was exported for one input shape and fails on "
                            f"[2, {2 * window}] ({type(exc).__name__}: {first}); export it with dynamic batch "
                            f"and sample dimensions (docs/api.md)") from None
    return model


def _call_factory(spec: str) -> nn.Module:
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise UserError(f"--model {spec}: expected package.module:factory or path/to/file.py:factory")
    if where.endswith(".py") or os.sep in where or "/" in where:
        if not os.path.isfile(where):
            raise UserError(f"--model {spec}: file not found: {where}")
        name = "immersions_user_model_" + os.path.splitext(os.path.basename(where))[0].replace("-", "_")
        try:
            module_spec = importlib.util.spec_from_file_location(name, os.path.abspath(where))
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module  # dataclasses and pickling look the module up
            module_spec.loader.exec_module(module)
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"--model {spec}: importing {where} raised {type(exc).__name__}: {exc}") from None
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise UserError(f"--model {spec}: cannot import {where} ({exc})") from None
        except Exception as exc:
            raise UserError(f"--model {spec}: importing {where} raised {type(exc).__name__}: {exc}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise UserError(f"--model {spec}: {where} has no callable {attr!r}")
    try:
        made = factory()
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"--model {spec}: {attr}() raised {type(exc).__name__}: {exc}") from None
    if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], nn.Module):
        made[0].sample_rate = made[1]
        made = made[0]
    if not isinstance(made, nn.Module):
        raise UserError(f"--model {spec}: {attr}() returned a {type(made).__name__}, not a torch.nn.Module")
    return made


# aten operators that are nonlinearity modules when a program is exported
def _exported_nonlinearities() -> dict:
    aten = torch.ops.aten
    return {
        aten.relu.default: lambda a, k: nn.ReLU(),
        aten.relu_.default: lambda a, k: nn.ReLU(),
        aten.gelu.default: lambda a, k: nn.GELU(approximate=k.get("approximate", "none")),
        aten.sigmoid.default: lambda a, k: nn.Sigmoid(),
        aten.tanh.default: lambda a, k: nn.Tanh(),
        aten.silu.default: lambda a, k: nn.SiLU(),
        aten.elu.default: lambda a, k: nn.ELU(alpha=a[1] if len(a) > 1 else 1.0),
        aten.leaky_relu.default: lambda a, k: nn.LeakyReLU(a[1] if len(a) > 1 else 0.01),
        aten.hardtanh.default: lambda a, k: nn.Hardtanh(a[1] if len(a) > 1 else -1.0, a[2] if len(a) > 2 else 1.0),
        aten.softplus.default: lambda a, k: nn.Softplus(),
        aten.mish.default: lambda a, k: nn.Mish(),
        aten.hardswish.default: lambda a, k: nn.Hardswish(),
        aten.hardsigmoid.default: lambda a, k: nn.Hardsigmoid(),
    }


def _load_exported(path: str) -> nn.Module:
    """A ``torch.export`` program as a module whose nonlinearities are modules again (the exported
    graph holds them as operator calls, which forward hooks cannot see)."""
    if not os.path.isfile(path):
        raise UserError(f"--model {path}: file not found")
    try:
        program = torch.export.load(path)
        gm = program.module()
    except Exception as exc:
        raise UserError(f"--model {path}: not a readable torch.export program ({type(exc).__name__}: {exc})") from None
    makers = _exported_nonlinearities()
    used: set[str] = set()
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target not in makers:
            continue
        stack = node.meta.get("nn_module_stack") or {}
        path_name = list(stack.values())[-1][0] if stack else ""
        name = (path_name or node.name).replace("/", ".")
        name = name if name not in used else f"{name}.{node.name}"
        used.add(name)
        module = makers[node.target](node.args, node.kwargs)
        holder = name  # at its original path when that is free, else under immersions_neurons
        if name in dict(gm.named_modules()) or not gm.add_submodule(name, module):
            holder = "immersions_neurons." + name.replace(".", "__")
            gm.add_submodule(holder, module)
        with gm.graph.inserting_before(node):
            call = gm.graph.call_module(holder, args=(node.args[0],))
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
    gm.recompile()
    # an exported program keeps the mode it was exported in (eval(), train() raise there): the
    # package's mode switches become no-ops
    gm.train = lambda mode=True: gm
    gm.eval = lambda: gm
    if not hasattr(gm, "sample_rate"):
        sidecar = os.path.splitext(path)[0] + ".json"
        if os.path.isfile(sidecar):
            import json

            try:
                data = json.load(open(sidecar))
            except ValueError as exc:
                raise UserError(f"{sidecar}: not JSON ({exc})") from None
            for key in ("sample_rate", "window_seconds"):
                if key in data:
                    setattr(gm, key, data[key])
    if not hasattr(gm, "sample_rate"):
        raise UserError(f"--model {path}: an exported program must state its sample rate in "
                        f"{os.path.splitext(path)[0]}.json ({{\"sample_rate\": 22050}})")
    return gm


def default_layout_path(spec: str) -> str:
    """Where ``layout --model SPEC`` writes and ``serve --model SPEC`` looks for the layout:
    beside the model's file (``examples/mel_cnn.py:build`` -> ``examples/mel_cnn_build_layout.npz``),
    in the current folder for a package entry point."""
    where, _, attr = spec.rpartition(":")
    if spec.endswith(".pt2"):
        return os.path.splitext(spec)[0] + "_layout.npz"
    if where.endswith(".py"):
        return os.path.splitext(where)[0] + f"_{attr}_layout.npz"
    return f"{where.replace('.', '_')}_{attr}_layout.npz"


def load_any(model: Optional[str], checkpoint: Optional[str], device) -> tuple[nn.Module, str]:
    """(model in eval mode, description) from a ``--model`` spec or a ``--checkpoint`` (not both;
    neither: the shipped checkpoint, found from any folder)."""
    if model:
        if checkpoint:
            raise UserError("give --model or --checkpoint, not both")
        return load(model, device), model
    from .checkpoint import load_model
    from .shipped import DEFAULT_CHECKPOINT_SPEC, resolve_checkpoint

    path = resolve_checkpoint(checkpoint or DEFAULT_CHECKPOINT_SPEC)
    net, _, _ = load_model(path, device)
    return net.eval(), path
