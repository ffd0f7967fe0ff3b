"""Streaming inference for the CPC ear: feed audio chunk by chunk, get only the new columns.

Every layer of :class:`~.cpc.CPCModel` is causal, so the columns of a continuous stream never
change once computed; a live frame needs only the columns of the newest hop of audio.
:class:`StreamingCPC` keeps each layer's causal state and computes exactly those:

* the scaleogram: the last samples of every octave's signal (its longest kernel, and the
  ``taps - 1`` samples that the next half-band decimation looks back on);
* every causal convolution: its left context, ``(kernel - 1)`` columns of its input;
* every causal max-pool: the column before, ``-inf`` before the start of the stream.

**Which columns.**  The full forward pools *aligned to the end* (``layers.causal_max_pool``): over
``T`` frames, a layer ``s`` frames apart per column has its columns end at frames ``T - 1``,
``T - 1 - s``, ...; one frame more and every pooled column of the deeper layers moves.  So that a
stream matches the full forward of the audio heard so far *at every frame*, not only every 16th,
it computes, for each new frame ``t``, every layer's column that ends at ``t``: a pooled layer
``s`` frames apart keeps the interleaved column families of all ``s`` phases, and its
convolutions read their inputs ``s`` columns apart (a dilated convolution; the pool takes the
maximum of a column and the one ``s`` frames earlier).  Each frame then costs one column per
layer, whatever the layer's stride.  A column that ends at frame ``t`` is, to float rounding,
the last column of the full forward over the first ``t + 1`` frames of the stream (frames end at
sample ``(t + 1) * hop``); ``tests/test_streaming.py`` checks every layer against it.

**Cost.**  A hop's columns are small, so a frame is bound by the number of operations (``small``)
or by reading every weight once (``seed``, 38 MB), not by arithmetic.  Hence: each convolution is
a gathered view times its weight as one contiguous matrix with the batch norm after it folded in
(torch's dilated convolution takes a slow path on the CPU; oneDNN's setup dominates one this
small), and all of it is prepared once (:class:`_Plan`), so a frame does no module attribute
look-ups and builds nothing but its tensors.  The plan is made again when a weight or statistic
changes in place (every parameter's and buffer's version counter is compared once per chunk:
optimizer steps, ``load_state_dict``, ``copy_``); after replacing a parameter *object* or writing
through ``.data`` (which the counter does not see), call :meth:`StreamingCPC.reset`.

Pure: tensors in, tensors out, no threads, no I/O, no host syncs (``immersions_osc.syncs``).
The model must be in eval mode (batch norm from its running statistics acts column by column).
The columns are returned, not seen by forward hooks (the nonlinearity modules are not called).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..scaleogram import halfband_filter, to_scaleogram
from .cpc import CPCModel
from .layers import batch_norm_affine

NEG_INF = float("-inf")


@dataclass
class _Conv:
    """A causal convolution (+ the batch norm after it) as one matrix product.  Its input: the
    new columns [B, C_in, (F,) n] after ``history`` columns kept from before (``k - 1`` taps,
    ``s`` frames apart)."""

    matrix: torch.Tensor  # [C_in * (kf *) k, C_out], contiguous, batch norm folded in
    bias: Optional[torch.Tensor]  # [C_out] or None
    k: int  # time taps
    kf: int  # frequency taps (0: a 1-D convolution)
    s: int  # frames between the columns it reads
    key: str  # its history in the state

    @property
    def history(self) -> int:
        return (self.k - 1) * self.s


@dataclass
class _Block:
    """An encoder block (``relu1`` is set) or an autoregressive block (only ``relu2``)."""

    conv1: _Conv  # batch norm folded in unless the block pools
    pool: bool
    norm1: Optional[tuple[torch.Tensor, torch.Tensor]]  # (scale, shift) after the pool
    conv2: Optional[_Conv]  # the encoder's second convolution (batch norm folded in)
    project: Optional[_Conv]  # the residual's 1x1 convolution + batch norm
    s: int  # frames between the block's input columns
    key: str
    relu1: Optional[str]  # layer names
    relu2: str


@dataclass
class _Group:
    """An octave of scaleogram bins: frames of ``length`` samples, ``step`` apart, of the signal
    decimated by ``decimation``, times ``kernels`` [length, 2 * bins]."""

    decimation: int
    step: int
    length: int
    start: int  # where the first new frame starts in [history, new samples]
    kernels: torch.Tensor
    bins: int


@dataclass
class _Plan:
    """Everything a chunk needs from the model, looked up once (see the module docstring, Cost)."""

    levels: list[tuple[int, int]]  # (decimation, samples of history kept)
    halve_start: dict[int, int]  # decimation -> where the halving reads [history, new] from
    halfband: torch.Tensor
    groups: list[_Group]
    encoder: list[_Block]
    ar: list[_Block]
    tensors: list[tuple[torch.Tensor, int]]  # every parameter and buffer it was made from, and its version


def _conv(conv: nn.Conv1d | nn.Conv2d, bn, s: int, key: str) -> _Conv:
    """The matrix rows in the order :func:`_apply_conv` gathers them: (C_in, kf, k)."""
    weight = conv.weight.detach()  # [C_out, C_in, (kf,) k]
    matrix = weight.reshape(weight.shape[0], -1).t()
    bias = conv.bias.detach() if conv.bias is not None else None
    if bn is not None:
        scale, shift = batch_norm_affine(bn)
        matrix = matrix * scale
        bias = shift if bias is None else bias * scale + shift
    # contiguous: one column reads every weight once (bound by memory), 2.5x faster than the
    # transposed view of the weight
    return _Conv(matrix.contiguous(), bias, weight.shape[-1], weight.shape[2] if weight.dim() == 4 else 0, s, key)


class StreamingCPC:
    """``feed(audio)`` -> ``{layer: the new columns}`` for every nonlinearity of ``model``.

    ``audio``: [N] or [B, N] at the model's rate, any length (samples short of a whole hop wait
    for the next chunk).  The result has one column per hop completed by this chunk, time last:
    encoder layers [B, C, F, n], autoregressive layers [B, C, n], named as the activation hooks
    name them (``encoder.blocks.0.relu1``, ...); an empty dict when no hop was completed.  The
    batch size is fixed by the first chunk until :meth:`reset`.
    """

    def __init__(self, model: CPCModel):
        if not isinstance(model, CPCModel):
            raise TypeError(f"streaming needs the CPC model, got {type(model).__name__}")
        if model.training:
            raise ValueError("streaming needs the model in eval mode (model.eval()): in training mode batch norm "
                             "normalizes over the whole batch, not column by column")
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is None:
                raise ValueError("streaming needs batch norm with running statistics (track_running_stats)")
            if isinstance(m, nn.modules.conv._ConvNd) and m.groups != 1:
                raise ValueError("streaming handles convolutions of one group (as the CPC model's)")
        nonlinearities = [b.relu1 for b in model.encoder.blocks] + [b.relu2 for b in model.encoder.blocks] + \
                         [b.relu for b in model.ar.blocks]
        if not all(type(m) is nn.ReLU for m in nonlinearities):
            raise ValueError("streaming computes the CPC model's ReLUs itself; this model has other nonlinearities")
        self.model = model
        self.hop = model.scaleogram.cfg.hop_length
        names = {id(m): name for name, m in model.named_modules()}
        self.layer_names = [names[id(m)] for b in model.encoder.blocks for m in (b.relu1, b.relu2)] + \
                           [names[id(b.relu)] for b in model.ar.blocks]
        self._names = names
        self._plan: Optional[_Plan] = None
        self.reset()

    def reset(self) -> None:
        """Start a new stream (silence before it, as the full forward's padding); the plan is
        made again from the model's tensors."""
        self._state: dict[str, torch.Tensor] = {}
        self._pending: Optional[torch.Tensor] = None
        self._plan = None
        self.frames = 0  # frames (hops) completed so far

    # --- the plan ----------------------------------------------------------------------------------
    @torch.no_grad()
    def _prepare(self) -> _Plan:
        model, names = self.model, self._names
        sc = model.scaleogram
        taps = sc.cfg.decimation_taps
        levels, halve_start = [], {}
        for d in sc.decimations:
            # history: a new frame starts (longest frame - one hop's step) back; the next halving
            # looks taps - 1 samples back
            frames = [g.kernel_length - self.hop // d for g in sc.groups if g.decimation == d]
            history = max([0, taps - 1 if d < sc.decimations[-1] else 0, *frames])
            levels.append((d, history))
            halve_start[d] = history - (taps - 1)
        history_of = dict(levels)
        groups = [_Group(g.decimation, self.hop // g.decimation, g.kernel_length,
                         history_of[g.decimation] - g.kernel_length + self.hop // g.decimation,
                         getattr(sc, f"kernels_{i}"), g.stop - g.start) for i, g in enumerate(sc.groups)]
        device = sc.kernels_0.device
        # the scaleogram's halving as one windowed product (its polyphase slices and adds are ~15
        # operations, and a hop's few samples make their count, not their size, the cost)
        halfband = torch.tensor(halfband_filter(taps), dtype=torch.float32, device=device)

        encoder, s = [], 1
        for i, b in enumerate(model.encoder.blocks):
            key = f"encoder{i}"
            s_out = 2 * s if b.pool else s
            encoder.append(_Block(
                conv1=_conv(b.conv1, None if b.pool else b.bn1, s, f"{key}.conv1"),
                pool=b.pool, norm1=_norm_shape(batch_norm_affine(b.bn1), 4) if b.pool else None,
                conv2=_conv(b.conv2, b.bn2, s_out, f"{key}.conv2"),
                project=_conv(b.project[0], b.project[1], 1, "") if b.project is not None else None,
                s=s, key=key, relu1=names[id(b.relu1)], relu2=names[id(b.relu2)]))
            s = s_out
        ar = []
        for i, b in enumerate(model.ar.blocks):
            key = f"ar{i}"
            ar.append(_Block(
                conv1=_conv(b.conv, None if b.pool else b.bn, s, f"{key}.conv"),
                pool=b.pool, norm1=_norm_shape(batch_norm_affine(b.bn), 3) if b.pool else None, conv2=None,
                project=_conv(b.project[0], b.project[1], 1, "") if b.project is not None else None,
                s=s, key=key, relu1=None, relu2=names[id(b.relu)]))
            s = 2 * s if b.pool else s
        tensors = [(t, t._version) for t in (*model.parameters(), *model.buffers())]
        return _Plan(levels, halve_start, halfband, groups, encoder, ar, tensors)

    def _current_plan(self) -> _Plan:
        plan = self._plan
        if plan is None or any(t._version != v for t, v in plan.tensors):
            plan = self._plan = self._prepare()
        return plan

    # --- the state ---------------------------------------------------------------------------------
    def _extend(self, key: str, new: torch.Tensor, length: int, fill: float) -> torch.Tensor:
        """[the last ``length`` columns before ``new``, ``new``] along time (the last axis); what
        came before the stream is ``fill`` (0: a convolution's zero padding, -inf: the pool's)."""
        if length == 0:
            return new
        history = self._state.get(key)
        if history is None:
            history = new.new_full((*new.shape[:-1], length), fill)
        extended = torch.cat([history, new], -1)
        self._state[key] = extended[..., -length:]
        return extended

    def _pool(self, key: str, h: torch.Tensor, s: int, frequency: bool) -> torch.Tensor:
        """``causal_max_pool`` of the columns ending at each new frame: the maximum of a column and
        the one ``s`` frames before it (-inf before the stream: the full forward's padding of an
        odd length); frequency pairs in ceil mode, as there."""
        if frequency:  # pairs of rows; an odd last row alone (ceil mode)
            if h.shape[-2] % 2:
                h = F.pad(h, (0, 0, 0, 1), value=NEG_INF)
            h = torch.maximum(h[..., 0::2, :], h[..., 1::2, :])
        n = h.shape[-1]
        extended = self._extend(key, h, s, NEG_INF)
        return torch.maximum(extended[..., :n], extended[..., s:])

    def _apply_conv(self, c: _Conv, x: torch.Tensor) -> torch.Tensor:
        """The new columns of ``c`` over the new input columns ``x``: gather each column's k taps
        (s apart) and kf frequency rows, one product."""
        n = x.shape[-1]
        extended = self._extend(c.key, x, c.history, 0.0) if c.history else x
        taps = extended.unfold(-1, c.history + 1, 1)[..., ::c.s]  # [B, C_in, (F,) n, k]: a view
        if c.kf:  # -> frequency windows [B, n, F_out, C_in, kf, k]
            windows = taps.unfold(2, c.kf, 1).permute(0, 3, 2, 1, 5, 4)
        else:
            windows = taps.permute(0, 2, 1, 3).unsqueeze(2)  # [B, n, 1, C_in, k]
        b, _, f_out = windows.shape[:3]
        rows = windows.reshape(b * n * f_out, -1)
        out = rows @ c.matrix if c.bias is None else torch.addmm(c.bias, rows, c.matrix)
        out = out.view(b, n, f_out, -1).permute(0, 3, 2, 1)  # [B, C_out, F_out, n]
        return out if c.kf else out.squeeze(2)

    # --- the layers --------------------------------------------------------------------------------
    def _scaleogram(self, plan: _Plan, x: torch.Tensor, n: int) -> torch.Tensor:
        """n * hop new samples [B, n * hop] -> the n new scaleogram frames [B, C, F, n]."""
        signals: dict[int, torch.Tensor] = {}
        y = x
        for d, history in plan.levels:
            if d > 1:  # the scaleogram's halving, y[j] = sum_i h[i] x[2j - (taps - 1) + i]
                y = signals[d // 2][..., plan.halve_start[d // 2]:].unfold(-1, len(plan.halfband), 2) @ plan.halfband
            signals[d] = self._extend(f"signal{d}", y, history, 0.0)
        outs = [signals[g.decimation][:, g.start:].unfold(-1, g.length, g.step)[:, :n] @ g.kernels
                for g in plan.groups]  # frame k ends at the signal's (k + 1) * step - 1 after the history
        real = torch.cat([o[..., :g.bins] for o, g in zip(outs, plan.groups)], -1).transpose(1, 2)
        imag = torch.cat([o[..., g.bins:] for o, g in zip(outs, plan.groups)], -1).transpose(1, 2)
        return to_scaleogram(real, imag, self.model.scaleogram.cfg)

    def _block(self, block: _Block, x: torch.Tensor, out: dict, frequency: bool) -> torch.Tensor:
        """One block over the new columns ``x``."""
        if block.pool:  # batch norm after the pool: a negative scale does not commute with max
            h = self._pool(f"{block.key}.pool", self._apply_conv(block.conv1, x), block.s, frequency)
            h = torch.addcmul(block.norm1[1], h, block.norm1[0])
            residual = self._pool(f"{block.key}.residual", x, block.s, frequency)
        else:
            h, residual = self._apply_conv(block.conv1, x), x
        if block.conv2 is not None:  # the encoder: ReLU, the frequency convolution
            h = torch.relu(h)
            out[block.relu1] = h
            h = self._apply_conv(block.conv2, h)
        if frequency:  # centre crop of the residual's frequency rows (layers.crop_frequency)
            offset = (residual.shape[-2] - h.shape[-2]) // 2
            residual = residual[..., offset: offset + h.shape[-2], :]
        if block.project is not None:
            residual = self._apply_conv(block.project, residual)
        h = torch.relu(h + residual)
        out[block.relu2] = h
        return h

    # --- feeding -----------------------------------------------------------------------------------
    @torch.no_grad()
    def feed(self, audio: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        plan = self._current_plan()
        x = audio.to(plan.halfband.device, torch.float32)
        x = x.unsqueeze(0) if x.dim() == 1 else x
        if self._pending is not None:
            x = torch.cat([self._pending, x], -1)
        n = x.shape[-1] // self.hop
        self._pending = x[:, n * self.hop:]
        out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
        if n == 0:
            return out
        h = self._scaleogram(plan, x[:, :n * self.hop], n)
        for block in plan.encoder:
            h = self._block(block, h, out, frequency=True)
        h = h.squeeze(-2)  # z: one frequency row left (CPCModel checks the bins at construction)
        for block in plan.ar:
            h = self._block(block, h, out, frequency=False)
        self.frames += n
        return out  # filled in the order of layer_names


def _norm_shape(affine: tuple[torch.Tensor, torch.Tensor], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (-1,) + (1,) * (dim - 2)
    return affine[0].view(shape), affine[1].view(shape)
