"""Gradient ascent on a batch of loops: the optimization step and a finite run of it.

The model always hears a loop at its playback level (``transforms.level`` inside the graph, then
a random level jitter), so the loop that is played is the loop that was optimized.  Several
candidates are optimized at once (a batch); ``loop()`` is the best one.  Targets can change
between steps without losing the optimizer's state (the live generator morphs from target to
target).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from ..activations import hooked
from ..config import OptimizeConfig
from ..contract import describe
from ..errors import UserError
from ..model.lean import lean_copy
from .objective import TargetTerms, objective, target_terms
from .parameterize import make
from .targets import Target, check_targets, layer_shapes, neuron_mask, target_activation
from .transforms import (compose, level, noisy_gradient, random_gain, random_mask, random_pitch_shift,
                         random_time_shift)


DENOISE_EVERY = 4  # steps between de-noising passes (a pass costs about half a step)


def steady_tail(model: nn.Module, n: int, layers: Optional[Sequence[str]] = None) -> int:
    """Samples of a loop's own end that the model hears before the loop (0: none), so that it hears
    the loop in its steady state, exactly as the service's activation stream analyses a playing
    loop (``service.engine.LoopAnalysis``).  The CPC ear: its receptive field (the deepest layers
    of the small preset see 4.8 s, more than a 4 s loop: heard from a cold start, their first
    columns are the zero-padded past, which an optimizer exploits and playback never shows).
    With ``layers`` (the layers that matter, e.g. the targets'), only as much as they hear: the
    scaleogram's and the encoder's receptive field (1.5 s) when they are all encoder layers.  Another model (any time
    axes, not necessarily causal): 0."""
    from ..model import CPCModel

    if not isinstance(model, CPCModel):
        return 0
    return model.steady_tail(n, model.window_for(layers) if layers else None)


def log_probabilities(module: nn.Module, inputs: tuple, output: torch.Tensor) -> Optional[torch.Tensor]:
    """The log of a probability layer's output, computed from its input so that it stays finite and
    keeps its gradient where the probability underflows (canonical layout, like ``output``): an
    ``nn.Softmax`` over the channel axis (log_softmax; checked against the output, None when it
    normalizes another axis) or an ``nn.Sigmoid`` (logsigmoid); None for any other module."""
    x = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].shape == output.shape else None
    if x is None:
        return None
    if isinstance(module, nn.Sigmoid):
        return torch.nn.functional.logsigmoid(x)
    if isinstance(module, nn.Softmax):
        logp = torch.log_softmax(x, dim=1)
        with torch.no_grad():
            if not torch.allclose(logp.exp(), output, atol=1e-5):
                return None
        return logp
    return None


@functools.lru_cache(maxsize=8)
def _tail_index(n: int, tail: int, device: torch.device) -> torch.Tensor:
    """The samples of a loop of ``n`` heard with its last ``tail`` before it."""
    return (torch.arange(tail + n, device=device) - tail) % n


class _Enough(Exception):
    """Raised by a hook once every wanted layer is captured: the rest of the forward is not run."""


def activations_of(model: nn.Module, audio: torch.Tensor,
                   spectrum_transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                   tail: int = 0, redirect: bool = False, log_probs: Optional[dict[str, torch.Tensor]] = None,
                   layers: Optional[Sequence[str]] = None
                   ) -> tuple[dict[str, torch.Tensor], Optional[torch.Tensor]]:
    """Every neuron layer's output (with gradients, canonical layout) and the frontend's
    spectrogram, for audio [B, N].  ``spectrum_transform`` changes what the rest of the model sees
    of the frontend's output (the masking regularizer); a model without a ``frontend`` (see
    immersions_osc/contract.py) returns None for the spectrogram and ignores the transform.

    ``tail`` > 0: the audio is a loop; the model hears its last ``tail`` samples (circularly)
    before it, and every output keeps only the columns of the loop itself (``steady_tail``).
    ``redirect``: a ReLU's gradient also flows where it is 0 (straight through to its input, the
    forward values unchanged), so a neuron silent on the start can still be woken (Lucid's
    redirected ReLU).  ``log_probs``: a dict filled with the log-probabilities of the layers that are
    probabilities (a softmax over channels, a sigmoid: ``log_probabilities``), for the
    ``log_probability`` objective.

    ``layers``: only these layers are wanted (the optimizer's targets'): only they are kept (and
    redirected), and the forward stops once the last of them is computed (an encoder target does
    not run the autoregressive model); the same values as the full forward."""
    captured: dict[str, torch.Tensor] = {}
    spectra: list[torch.Tensor] = []
    wanted = None if layers is None else set(layers)

    def keep(layer, module, inputs, output):
        if wanted is not None and layer not in wanted:
            return
        if redirect and isinstance(module, nn.ReLU) and inputs and inputs[0].shape == output.shape:
            pre = inputs[0]
            output = output + (pre - pre.detach()) * (output <= 0)
        captured[layer] = output
        if log_probs is not None:
            logp = log_probabilities(module, inputs, output)
            if logp is not None:
                log_probs[layer] = logp
        if wanted is not None and len(captured) == len(wanted):
            raise _Enough

    def frontend_hook(module, inputs, output):
        spectra.append(output)
        return None if spectrum_transform is None else spectrum_transform(output)

    n = audio.shape[-1]
    if tail > 0:
        audio = audio.index_select(-1, _tail_index(n, tail, audio.device))
    frontend = describe(model).frontend
    handle = frontend.register_forward_hook(frontend_hook) if frontend is not None else None
    try:
        with hooked(model, keep):
            model(audio)
    except _Enough:
        pass
    finally:
        if handle is not None:
            handle.remove()
    spectrum = spectra[0] if spectra else None
    if tail > 0:
        def loop_part(a: torch.Tensor) -> torch.Tensor:  # the columns that end inside the loop
            return a[..., -math.ceil(a.shape[-1] * n / (tail + n)):]
        captured = {k: loop_part(v) for k, v in captured.items()}
        if log_probs is not None:
            log_probs.update({k: loop_part(v) for k, v in log_probs.items()})
        spectrum = None if spectrum is None else loop_part(spectrum)
    return captured, spectrum


@torch.no_grad()
def measure(model: nn.Module, audio: torch.Tensor, targets: Sequence[Target]) -> list[float]:
    """Mean activation of each target on the loop audio [N] (or [B, N], averaged), heard in its
    steady state (as it plays)."""
    audio = audio.reshape(-1, audio.shape[-1])
    acts, _ = activations_of(model.eval(), audio, tail=steady_tail(model, audio.shape[-1], [t.layer for t in targets]))
    return [float(target_activation(acts, t).mean()) for t in targets]


def scaleogram_floor(model: nn.Module) -> float:
    """The frontend's value for silence (``log(power_floor)`` of the scaleogram): what a masked hole
    is filled with (0 for a frontend without a ``cfg.power_floor``)."""
    cfg = getattr(describe(model).frontend, "cfg", None)
    return math.log(cfg.power_floor) if hasattr(cfg, "power_floor") else 0.0


@dataclass
class LoopAscent:
    """One optimization run's state; ``step()`` may be called forever (the live generator does).

    ``per_candidate``: candidate ``i`` optimizes ``targets[i]`` alone (one batch, many channels:
    the benchmark); otherwise ``cfg.candidates`` candidates all optimize every target and the best
    is kept.  ``total_steps``: the run's length, for the learning-rate schedule (None: constant,
    as in the live generator)."""

    model: nn.Module
    start: torch.Tensor  # [N] or [B, N]
    targets: list[Target]
    cfg: OptimizeConfig
    per_candidate: bool = False
    total_steps: Optional[int] = None
    history: list[torch.Tensor] = field(default_factory=list)  # per step: the activation (0-dim, on the device)

    def __post_init__(self):
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.device = next(self.model.parameters()).device
        # what a step runs: the same function, computed faster (batch norms folded, channels-last
        # convolutions: model/lean.py); the model itself for anything else
        self.lean = lean_copy(self.model)
        cfg = self.cfg
        self.generator = torch.Generator().manual_seed(cfg.seed)
        start = self.start.detach().to(self.device).float()
        start = start.reshape(-1, start.shape[-1])
        n = len(self.targets) if self.per_candidate else cfg.candidates
        if start.shape[0] == 1 and n > 1:
            start = start.expand(n, -1).clone()
            if not self.per_candidate:  # candidates must differ: independent noise at -6 dB of the start
                rms = start.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-8)
                noise = torch.randn(start.shape, generator=self.generator).to(start)
                start[1:] += 0.5 * rms[1:] * noise[1:]
        self.original = level(start, cfg.peak, cfg.rms)
        info = describe(self.model)
        if info.frontend is None and (cfg.sparsity_penalty > 0 or cfg.high_frequency_penalty > 0):
            raise UserError(f"optimize.sparsity_penalty and high_frequency_penalty need a model with a "
                            f"`frontend` (a spectrogram module); {type(self.model).__name__} has none")
        self.sample_rate = info.sample_rate
        self.tail = 0  # set with the targets (set_targets)
        self.param = make(cfg.parameterization, start, self.generator, self.sample_rate)
        # the steps' random numbers are drawn on the model's device; on the CPU from the same
        # generator, which carries on from the start's (seeded runs reproduce as they did)
        self.step_generator = self.generator if self.device.type == "cpu" else \
            torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.optimizer = make_optimizer(cfg, self.param)
        self.floor = scaleogram_floor(self.model)
        self.steps_done = 0
        # False once a step's gradient was not finite (that step's update is skipped); read, and
        # raised as FloatingPointError, only where the host reads values anyway (check())
        self.finite = torch.ones((), dtype=torch.bool, device=self.device)
        self.score = torch.full((n,), -math.inf, device=self.device)
        self.set_targets(self.targets)

    @property
    def candidates(self) -> int:
        return self.original.shape[0]

    def set_targets(self, targets: Sequence[Target]) -> None:
        """New targets from the current loops on; the optimizer's state (Adam moments) carries on."""
        self.tail = steady_tail(self.model, self.original.shape[-1], [t.layer for t in targets])
        with torch.no_grad():
            acts, _ = activations_of(self.model, self.loops_now(), tail=self.tail)
        shapes = layer_shapes(acts)
        targets = list(targets)
        if self.per_candidate and len(targets) != self.candidates:
            raise ValueError(f"per-candidate targets: {len(targets)} targets for {self.candidates} candidates")
        check_targets(targets, shapes)
        masks = [neuron_mask(t, shapes) for t in targets]
        weights = torch.tensor([t.weight for t in targets], device=self.device)
        if self.per_candidate:
            weights = torch.diag(weights)
        else:
            weights = weights[None].expand(self.candidates, -1)
        self.targets = targets
        self.terms: TargetTerms = target_terms(acts, targets, masks, weights)
        self.layers = list(dict.fromkeys(t.layer for t in targets))  # what a step computes (and no deeper)
        self.score = torch.full((self.candidates,), -math.inf, device=self.device)

    @property
    def masks(self) -> list[torch.Tensor]:
        return self.terms.masks

    def loops_now(self) -> torch.Tensor:
        """The candidates as they are played [B, N] (with gradient)."""
        x = level(self.param.audio(), self.cfg.peak, self.cfg.rms)
        if self.cfg.mix_original > 0:
            m = self.cfg.mix_original
            x = level((1 - m) * x + m * self.original, self.cfg.peak, self.cfg.rms)
        return x

    def learning_rate(self) -> float:
        lr = self.cfg.learning_rate
        if self.total_steps and self.cfg.schedule == "cosine":
            progress = min(1.0, self.steps_done / max(1, self.total_steps - 1))
            lr *= 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))
        return lr

    def transform(self):
        cfg = self.cfg
        return compose(random_gain(cfg.level_jitter), random_time_shift(cfg.time_shift),
                       random_pitch_shift(cfg.pitch_shift), noisy_gradient(cfg.gradient_noise))

    def step(self) -> torch.Tensor:
        """One step; returns the mean target activation (a 0-dim tensor on the model's device:
        ``float()`` it to read it).  The host never waits for the device here (no value is read:
        tests/test_optimize_syncs.py); a non-finite gradient skips its update and is raised by
        :meth:`check` (``best``, ``loop()``, ``loops()``)."""
        cfg = self.cfg
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate() * group["scale"]
        x = self.transform()(self.loops_now(), self.step_generator)
        mask = random_mask(cfg.mask, cfg.mask, self.floor)
        log_probs = {} if cfg.objective == "log_probability" else None
        acts, spec = activations_of(self.lean, x, lambda s: mask(s, self.step_generator), tail=self.tail,
                                    redirect=True, log_probs=log_probs, layers=self.layers)
        loss, value, activation = objective(acts, spec, self.targets, self.terms, cfg, log_probs)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        finite = self.finite
        for p in self.param.parameters():
            if p.grad is None:
                raise FloatingPointError("no gradient reaches the loop's parameters")
            ok = torch.isfinite(p.grad).all()
            finite = finite & ok
            p.grad = torch.where(ok, p.grad, torch.zeros((), device=p.grad.device, dtype=p.grad.dtype))
            if cfg.optimizer == "sgd" and cfg.normalize_gradient:  # each candidate's to unit RMS: shape kept
                dims = tuple(range(1, p.grad.dim()))
                p.grad.div_(p.grad.pow(2).mean(dim=dims, keepdim=True).sqrt().clamp_min(1e-20))
        self.finite = finite
        self.optimizer.step()
        self.param.renormalize()
        if self.steps_done % DENOISE_EVERY == DENOISE_EVERY - 1:
            self.param.denoise(cfg.denoise)
        self.score = torch.where(torch.isfinite(self.score), 0.8 * self.score + 0.2 * value, value)
        self.steps_done += 1
        result = activation.mean()
        self.history.append(result)
        return result

    def check(self) -> None:
        """Raise FloatingPointError if a step since the start had a non-finite gradient (a host
        sync: read it where values are read anyway)."""
        if not bool(self.finite):
            raise FloatingPointError("non-finite gradient")

    @property
    def best(self) -> int:
        self.check()
        return int(self.score.argmax()) if torch.isfinite(self.score).any() else 0

    @property
    def audio(self) -> torch.Tensor:
        """Every candidate as played [B, N] (detached, on the model's device)."""
        with torch.no_grad():
            return self.loops_now()

    def loops(self) -> torch.Tensor:
        """Every candidate [B, N] (on the CPU), at the playback level."""
        self.check()
        return self.audio.cpu()

    def loop(self) -> torch.Tensor:
        """The best candidate [N] (on the CPU), at the playback level: exactly what is played."""
        return self.audio[self.best].cpu()


def make_optimizer(cfg: OptimizeConfig, param) -> torch.optim.Optimizer:
    """``adam``: per-sample steps (whitens the gradient); ``sgd``: Nesterov momentum on the
    gradient brought to unit RMS per candidate (keeps its spectral shape).  Each parameter tensor
    steps at ``learning_rate`` times its parameterization's scale for it."""
    scales = getattr(param, "lr_scales", {})
    groups = [{"params": [p], "scale": scales.get(i, 1.0), "lr": cfg.learning_rate * scales.get(i, 1.0)}
              for i, p in enumerate(param.parameters())]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.learning_rate, momentum=0.9, nesterov=True)
    return torch.optim.Adam(groups, lr=cfg.learning_rate)


def optimize(model: nn.Module, start: torch.Tensor, targets: list[Target], cfg: OptimizeConfig,
             steps: Optional[int] = None, callback: Optional[Callable[[int, float], None]] = None) -> LoopAscent:
    total = cfg.steps if steps is None else steps
    run = LoopAscent(model, start, targets, cfg, total_steps=total)
    for i in range(total):
        value = run.step()
        if callback is not None:
            callback(i + 1, value)
    run.check()
    return run
