"""The activation engine: what every neuron does *now*, as one vector in the layout's neuron order.

``NeuronVector`` maps the model's captured activations to the layout's neuron order (the same
order as the layout file's ``neurons`` table and as ``/immersions/target/neurons`` indices) and
checks that model and layout belong together.  ``current_activations`` runs the model on a window
of audio ending now and returns the last time step of every layer.  ``summarize`` gives the float
summary stream (per-layer mean, most active neurons).  All pure: the thread lives in server.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..activations import as_layer_tensor, hooked
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
            raise UserError("the layout does not belong to this checkpoint (its layers or their sizes differ); "
                            "make one with `immersions-osc layout --checkpoint ...`")

    def layer_of(self, index: int) -> tuple[str, int]:
        """(layer, index within the layer as channel * F + frequency) of a vector index."""
        model_index = int(self.order[index])
        layer = int(np.searchsorted(self.offsets, model_index, side="right") - 1)
        return self.layer_names[layer], model_index - int(self.offsets[layer])


@torch.no_grad()
def current_activations(model, audio: torch.Tensor, vector: NeuronVector) -> np.ndarray:
    """Activations at the last time step of every layer for audio [N] -> [neurons] float32, layout order."""
    last: dict[str, torch.Tensor] = {}

    def keep(layer, module, inputs, output):
        last[layer] = as_layer_tensor(output)[0, ..., -1].reshape(-1)

    with hooked(model, keep):
        model.ar(model.encoder(model.scaleogram(audio.reshape(1, -1))))
    flat = torch.cat([last[name] for name in vector.layer_names]).float().cpu().numpy()
    return flat[vector.order]


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
