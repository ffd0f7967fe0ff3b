"""Lay out a model: graph, charges (activation variance on validation clips), simulation,
optional snapshots.  Used by ``immersions-osc layout`` and by the service when a ``--model`` has
no layout yet; works for any model that meets the contract (immersions_osc/contract.py)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from ..config import LayoutConfig
from ..errors import UserError
from .export import Layout
from .graph import NeuronGraph, cached_graph


# the clips whose activation variance gives the charges
CLIP_SECONDS = 4.0
# audio used to probe the graph's connectivity (short: only the structure matters)
PROBE_SECONDS = 0.25


@dataclass
class LayoutResult:
    layout: Layout
    graph: NeuronGraph
    seconds: float  # the simulation's wall time
    last_frame: np.ndarray  # [N] activations at the first clip's last step (for the picture)


def probe_samples(model: nn.Module) -> int:
    """Audio used to find the graph: 0.25 s for the CPC ear (only the structure matters), the
    contract's analysis window for any other model (its layers must all see some time steps)."""
    from ..contract import describe
    from ..model import CPCModel

    if isinstance(model, CPCModel):
        return int(PROBE_SECONDS * model.sample_rate)
    return describe(model).window


def build_layout(model: nn.Module, lcfg: LayoutConfig, device, *, data: str = "synthetic", clips: int = 8,
                 snapshots: int = 0, cache: Optional[str] = None, quiet: bool = False,
                 log: Callable[[str], None] = print, source: str = "") -> LayoutResult:
    from ..activations import capture_activations, neuron_variance
    from ..contract import describe
    from ..progress import Progress
    from . import simulate

    model.eval()
    sr = describe(model).sample_rate
    torch.manual_seed(lcfg.seed)
    start = time.perf_counter()
    graph, cached = cached_graph(model, torch.randn(1, probe_samples(model), device=device), cache)
    log(f"graph    : {graph.num_vertices:,} neurons in {len(graph.names)} layers, "
        f"{graph.num_edges:,} edges ({time.perf_counter() - start:.2f} s"
        f"{', cached in ' + cache if cached else (' -> ' + cache if cache else '')})")
    audio = [c.to(device) for c in validation_clips(data, clips, sr, lcfg.seed)]
    with torch.no_grad():
        variance = neuron_variance(model, audio)
    charges = torch.cat([variance[name].flatten() for name in graph.names])

    bars: dict[int, Progress] = {}

    def progress(level, n_levels, it, iterations, n):
        bar = bars.get(level)
        if bar is None:
            bar = bars[level] = Progress(iterations, f"level {level + 1}/{n_levels} ({n:,} neurons)",
                                         enabled=not quiet, every=max(1, iterations // 10))
        bar.update(it)
        if it == iterations:
            bar.close()

    t0 = time.perf_counter()
    pos = simulate.layout(graph, charges, lcfg, device, progress)
    elapsed = time.perf_counter() - t0
    with torch.no_grad():
        acts = capture_activations(model, audio[0])
    animation = np.zeros((0, graph.num_vertices, 2), np.float32)
    frame_values = frames_at(acts, graph.names, max(1, snapshots))
    if snapshots:
        bar = Progress(len(frame_values), "snapshots", enabled=not quiet, every=max(1, len(frame_values) // 10))
        animation = simulate.snapshots(graph, charges, frame_values, pos, lcfg, device, bar.update).cpu().numpy()
        bar.close()
    layout = Layout(
        positions=pos.cpu().numpy(), neurons=graph.index_table(), layer_names=graph.names,
        layer_shapes=np.array(graph.shapes), charges=charges.numpy(),
        blocks=np.array([[b.src, b.dst, b.n_edges] for b in graph.blocks]).reshape(-1, 3),
        animation=animation,
        metadata={"checkpoint" if source.endswith(".pt") else "model": source, "clips": clips, "data": data,
                  "seconds": round(elapsed, 3), "device": str(device), "sample_rate": sr,
                  "config": {k: getattr(lcfg, k) for k in lcfg.__dataclass_fields__}})
    return LayoutResult(layout, graph, elapsed, frame_values[-1].numpy())


def validation_clips(data: str, n: int, sample_rate: int, seed: int):
    """Yield ``n`` clips [1, samples] (float32 tensors) of CLIP_SECONDS."""
    length = int(CLIP_SECONDS * sample_rate)
    if data == "synthetic":
        from ..data.synth import SyntheticMusic

        music = SyntheticMusic(sample_rate=sample_rate, seed=seed)
        for i in range(n):
            yield torch.from_numpy(np.asarray(music.clip(i, length)[0], np.float32)).unsqueeze(0)
        return
    if not os.path.isdir(data):
        raise UserError(f"--data {data}: not 'synthetic' and not a folder")
    from ..data.folder import load_audio, scan_audio_folder

    # unreadable, silent and too-short files are skipped with a warning; none usable -> DataError
    for file in scan_audio_folder(data, sample_rate, length)[:n]:
        audio = np.asarray(load_audio(file.path, sample_rate), np.float32)[:length]
        yield torch.from_numpy(audio).unsqueeze(0)


def frames_at(acts, names, n_frames: int):
    """[T, N] activations at ``n_frames`` evenly spread steps of the finest time axis; a pooled
    layer is read at the step that covers the same moment (aligned to the end)."""
    t_max = max(acts[name].shape[-1] for name in names)
    steps = torch.linspace(0, t_max - 1, min(n_frames, t_max)).round().long()
    frames = []
    for t in steps.tolist():
        row = []
        for name in names:
            a = acts[name][0]
            a = a if a.dim() == 3 else a.unsqueeze(1)  # [C, F, T]
            t_layer = a.shape[-1]
            idx = max(0, t_layer - 1 - (t_max - 1 - t) * t_layer // t_max)
            row.append(a[..., idx].flatten().float().cpu())
        frames.append(torch.cat(row))
    return torch.stack(frames)
