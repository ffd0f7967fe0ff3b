"""The activation engine: what every neuron does *now*, as one vector in the layout's neuron order.

``NeuronVector`` maps the model's captured activations to the layout's neuron order (the same
order as the layout file's ``neurons`` table and as ``/immersions/target/neurons`` indices) and
checks that model and layout belong together.  ``current_activations`` runs the model on a window
of audio ending now and returns the last time step of every layer.  ``summarize`` gives the float
summary stream (per-layer mean, most active neurons).  All pure: the thread lives in server.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from ..activations import hooked
from ..contract import describe
from ..errors import UserError
from ..layout.export import Layout


@dataclass
class NeuronVector:
    layer_names: list[str]
    shapes: dict[str, tuple[int, int]]  # layer -> (channels, frequencies)
    offsets: np.ndarray  # [L + 1] start of each layer in the vector
    order: np.ndarray  # [N] index into the model-order vector for each layout neuron

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    @classmethod
    def from_layout(cls, layout: Layout) -> "NeuronVector":
        names = list(layout.layer_names)
        shapes = {n: (int(c), int(f)) for n, (c, f) in zip(names, np.asarray(layout.layer_shapes))}
        sizes = np.array([c * f for c, f in shapes.values()], np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        neurons = np.asarray(layout.neurons, np.int64)
        if len(neurons) != offsets[-1]:
            raise UserError(f"layout lists {len(neurons)} neurons but its layers hold {offsets[-1]}")
        layer, channel, freq = neurons[:, 0], neurons[:, 1], neurons[:, 2]
        f_of = np.array([f for _, f in shapes.values()], np.int64)
        order = offsets[layer] + channel * f_of[layer] + freq
        return cls(names, shapes, offsets, order)

    def check_model(self, activations: dict[str, torch.Tensor]) -> None:
        """The model's layers must be the layout's, with the same shapes."""
        got = {n: (a.shape[1], a.shape[2] if a.dim() == 4 else 1) for n, a in activations.items()}
        if list(got) != self.layer_names or any(got[n] != self.shapes[n] for n in got):
            raise UserError("the layout does not belong to this model (its layers or their sizes differ); "
                            "make one with `immersions-osc layout --checkpoint ...` (or `--model ...`)")

    def split(self, indices) -> dict[str, list[int]]:
        """Vector indices grouped by layer: {layer: sorted distinct indices within the layer
        (channel * F + frequency)}, layers in vector order."""
        model = np.unique(self.order[np.asarray(indices, np.int64)])
        layers = np.searchsorted(self.offsets, model, side="right") - 1
        return {self.layer_names[i]: (model[layers == i] - self.offsets[i]).tolist() for i in np.unique(layers)}

    def layer_of(self, index: int) -> tuple[str, int]:
        """(layer, index within the layer as channel * F + frequency) of a vector index."""
        model_index = int(self.order[index])
        layer = int(np.searchsorted(self.offsets, model_index, side="right") - 1)
        return self.layer_names[layer], model_index - int(self.offsets[layer])


def in_stream_order(layout: Layout, vector: NeuronVector) -> tuple[Layout, NeuronVector]:
    """The layout with its neurons in stream order (layer by layer, channel-major: the order of the
    ``/immersions/layout/layer`` offsets), so that activation index i, position i and neuron i
    of every message are one and the same neuron.  Layouts written by ``immersions-osc layout``
    already are in this order (then nothing changes)."""
    import dataclasses

    if np.array_equal(vector.order, np.arange(len(vector.order))):
        return layout, vector
    inverse = np.empty_like(vector.order)
    inverse[vector.order] = np.arange(len(vector.order))  # stream index -> layout index
    animation = np.asarray(layout.animation)
    reordered = dataclasses.replace(
        layout, positions=np.asarray(layout.positions)[inverse], neurons=np.asarray(layout.neurons)[inverse],
        charges=np.asarray(layout.charges)[inverse],
        animation=animation[:, inverse] if animation.ndim == 3 and animation.shape[0] else animation)
    return reordered, NeuronVector.from_layout(reordered)


def analysis_window(model, seconds: float, sample_rate: int) -> int:
    """Samples of audio the model runs on per frame.  The CPC ear: a whole number of encoder steps
    (so that the last step ends exactly at the playhead), by default (``seconds`` 0) enough for the
    deepest layer's receptive field, which makes the activations exactly those of continuous
    listening.  Any other model: ``seconds`` of audio, by default the window its contract states
    (``window_seconds``, 1 s when unstated)."""
    from ..model import CPCModel

    if isinstance(model, CPCModel):
        step = model.step_samples
        if seconds > 0:
            return max(1, math.ceil(seconds * sample_rate / step)) * step
        return model.window_samples
    if seconds > 0:
        return max(1, int(round(seconds * sample_rate)))
    return describe(model).window


@torch.no_grad()
def current_activations(model, audio: torch.Tensor, vector: NeuronVector) -> np.ndarray:
    """Activations at the last time step of every layer for audio [N] -> [neurons] float32, layout order."""
    last: dict[str, torch.Tensor] = {}

    def keep(layer, module, inputs, output):
        last[layer] = output[0, ..., -1].reshape(-1)

    with hooked(model, keep):
        model(audio.reshape(1, -1))
    flat = torch.cat([last[name] for name in vector.layer_names]).float().cpu().numpy()
    return flat[vector.order]


class StreamingActivations:
    """Live input, column by column (the CPC ear only): :class:`~..model.streaming.StreamingCPC`
    is fed the input's new samples and the frame is the newest column of every layer, layout
    order.  That column is what :func:`current_activations` gives for a window ending at the last
    whole hop heard, with all the input before it heard too (continuous listening; the window
    makes it exactly that when it spans the receptive field), at the cost of one column per layer
    and hop instead of a forward pass over the window per frame."""

    def __init__(self, model, vector: NeuronVector, device="cpu"):
        from ..model.streaming import StreamingCPC

        self.stream, self.vector, self.device = StreamingCPC(model), vector, device
        self._last: Optional[np.ndarray] = None

    def restart(self, audio: np.ndarray) -> Optional[np.ndarray]:
        """A new stream whose past is ``audio`` (silence before it): the frame at its end."""
        self.stream.reset()
        self._last = None
        return self.feed(audio)

    def feed(self, audio: np.ndarray) -> Optional[np.ndarray]:
        """The frame after ``audio`` (the samples since the last feed): the newest columns; the
        previous frame when no new hop was completed (None before the first hop)."""
        if len(audio):
            new = self.stream.feed(torch.from_numpy(np.ascontiguousarray(audio, np.float32)).to(self.device))
            if new:
                # the only copy to the host, once per frame: the newest column of every layer
                flat = torch.cat([new[name][0, ..., -1].reshape(-1) for name in self.vector.layer_names])
                self._last = flat.float().cpu().numpy()[self.vector.order]
        return self._last


ANALYSIS_FRAMES = 128  # the most windows a loop's analysis runs (models other than the CPC ear)


def analysis_frames(n: int, sample_rate: int, frame_rate: float, most: int = ANALYSIS_FRAMES) -> int:
    """Windows per loop of ``n`` samples for a model analysed window by window: one per frame the
    stream shows while the loop plays (more would never be seen), at most ``most``.  A 1 s loop
    at 30 frames/s needs 30, a quarter of the work of 128 before its first frame."""
    return max(1, min(most, math.ceil(n / sample_rate * frame_rate)))


class LoopAnalysis:
    """Every layer's activations over a whole (circular) loop, computed once when the loop starts
    playing; ``frame(position)`` is then an index lookup instead of a forward pass per frame.

    The CPC ear: the model runs on ``[end of the loop (at least the receptive field), the loop]``,
    the total length a multiple of the deepest layer's time step, so every layer's column j ends
    exactly at sample ``(j + 1) * stride * hop`` of that input.  The frame at playhead ``p`` takes,
    for each layer, the last column that ends at or before ``p`` (what has been heard): exactly
    what :func:`current_activations` gives for a window ending at that column's end, with the loop
    having played before itself (the steady state of a loop).

    Any other model (whose time axes need not be causal or aligned): ``frames`` windows of
    ``window`` samples ending at evenly spaced points of the loop (circularly) run in batches, and
    the frame at playhead ``p`` is the last one ending at or before ``p``: what
    :func:`current_activations` gives there, on a grid of ``frames`` points per loop.
    """

    def __init__(self, model, loop: np.ndarray, vector: NeuronVector, window: int, device="cpu",
                 frames: int = ANALYSIS_FRAMES, batch: int = 16):
        from ..model import CPCModel

        self.loop, self.vector = loop, vector
        self._flat = np.empty(vector.size, np.float32)
        if not isinstance(model, CPCModel):
            self._windowed(model, loop, vector, window, device, frames, batch)
            return
        hop = model.scaleogram.cfg.hop_length
        n = len(loop)
        tail = model.steady_tail(n, window)
        extended = loop[(np.arange(tail + n) - tail) % n]  # x[k] = loop[(k - tail) mod n]
        self.tail, self.hop = tail, hop
        captured: dict[str, torch.Tensor] = {}

        def keep(layer, module, inputs, output):
            captured[layer] = output[0].reshape(-1, output.shape[-1])  # [C*F, T]

        audio = torch.from_numpy(np.ascontiguousarray(extended, np.float32)).to(device)
        with torch.no_grad(), hooked(model, keep):
            model(audio[None])
        frames_total = (tail + n) // hop
        self.layers = [captured[name].float().cpu().numpy() for name in vector.layer_names]
        self.strides = [frames_total // a.shape[1] for a in self.layers]  # in hops
        self.grid = None

    def _windowed(self, model, loop, vector, window, device, frames, batch) -> None:
        n = len(loop)
        frames = max(1, min(frames, n))
        ends = (np.arange(1, frames + 1) * n) // frames  # window j ends at sample ends[j] (exclusive)
        rows = []
        for lo in range(0, frames, batch):
            idx = (ends[lo: lo + batch, None] - window + np.arange(window)[None, :]) % n
            audio = torch.from_numpy(np.ascontiguousarray(loop[idx], np.float32)).to(device)
            last: dict[str, torch.Tensor] = {}

            def keep(layer, module, inputs, output):
                last[layer] = output[..., -1].reshape(output.shape[0], -1)

            with torch.no_grad(), hooked(model, keep):
                model(audio)
            rows.append(torch.cat([last[name] for name in vector.layer_names], dim=1).float().cpu().numpy())
        self.grid = np.concatenate(rows)[:, vector.order]  # [frames, neurons], layout order
        self.ends = ends

    def frame(self, position: int) -> np.ndarray:
        """Activations at playhead ``position`` (samples into the loop), layout order."""
        if self.grid is not None:
            p = int(position) % len(self.loop)
            j = int(np.searchsorted(self.ends, p, side="right")) - 1  # last window ending at or before p
            return self.grid[j % len(self.grid)]
        q = self.tail + int(position) % len(self.loop)
        flat, offsets = self._flat, self.vector.offsets
        for i, (acts, stride) in enumerate(zip(self.layers, self.strides)):
            column = min(acts.shape[1], q // (stride * self.hop)) - 1
            flat[offsets[i]:offsets[i + 1]] = acts[:, column]
        return flat[self.vector.order]


def summarize(values: np.ndarray, vector: NeuronVector, top: int) -> tuple[list[float], list[int], list[float]]:
    """(mean activation per layer in the layout's layer order, top-k indices, their values)."""
    model_order = np.empty_like(values)
    model_order[vector.order] = values
    energy = [float(model_order[a:b].mean()) if b > a else 0.0
              for a, b in zip(vector.offsets[:-1], vector.offsets[1:])]
    k = min(top, len(values))
    if k == 0:
        return energy, [], []
    idx = np.argpartition(-values, k - 1)[:k]
    idx = idx[np.argsort(-values[idx])]
    return energy, [int(i) for i in idx], [float(values[i]) for i in idx]
