"""``immersions-osc layout``: lay out every neuron of a checkpoint's model and write .npz + JSON
(+ PNGs).  ``register(subparsers)`` adds the sub-command; user mistakes raise UserError."""
from __future__ import annotations

import argparse
import os
import time

from ..device import resolve_device
from ..errors import UserError

# the clips whose activation variance gives the charges
CLIP_SECONDS = 4.0
# audio used to probe the graph's connectivity (short: only the structure matters)
PROBE_SECONDS = 0.25


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("layout", help="lay out every neuron of the model in 2D",
                              description="lay out every neuron of the model in 2D (multilevel Barnes-Hut)")
    p.add_argument("--config", help="YAML config whose 'layout' section sets the simulation (default: the defaults)")
    p.add_argument("--checkpoint", default="checkpoints/small.pt", help="(default: %(default)s)")
    p.add_argument("--out", default="layout.npz", help="output .npz (+ .json beside it; default: %(default)s)")
    p.add_argument("--data", default="synthetic", help="'synthetic' or an audio FOLDER (validation clips)")
    p.add_argument("--clips", type=int, default=8, help="validation clips for the charges (default: %(default)s)")
    p.add_argument("--snapshots", type=int, default=0,
                   help="animated frames from the first clip's time steps (0 = none; default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    p.add_argument("--seed", type=int, help="layout seed (default: the config's)")
    p.add_argument("--png", action="store_true", help="also write OUT.png (by layer) and OUT-activation.png")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def validation_clips(data: str, n: int, sample_rate: int, seed: int):
    """Yield ``n`` clips [1, samples] (float32 tensors) of CLIP_SECONDS."""
    import numpy as np
    import torch

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


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ..activations import capture_activations, neuron_variance
    from ..checkpoint import load_model
    from ..config import load_config
    from ..progress import Progress
    from . import render, simulate
    from .export import Layout, save_layout
    from .graph import cached_graph

    if args.clips < 1:
        raise UserError(f"--clips must be >= 1, got {args.clips}")
    if args.snapshots < 0:
        raise UserError(f"--snapshots must be >= 0, got {args.snapshots}")
    if not args.out.endswith(".npz"):
        raise UserError(f"--out must name a .npz file, got {args.out}")
    device = resolve_device(args.device)
    model, cfg, _ = load_model(args.checkpoint, device)
    model.eval()
    # layout settings come from --config or the defaults, never from the training checkpoint
    lcfg = load_config(args.config).layout
    if args.seed is not None:
        lcfg.seed = args.seed
    lcfg.validate("layout.")
    sr = cfg.scaleogram.sample_rate
    torch.manual_seed(lcfg.seed)

    start = time.perf_counter()
    cache = os.path.splitext(args.out)[0] + ".graph.npz"
    graph, cached = cached_graph(model, torch.randn(1, int(PROBE_SECONDS * sr), device=device), cache)
    print(f"graph    : {graph.num_vertices:,} neurons in {len(graph.names)} layers, "
          f"{graph.num_edges:,} edges ({time.perf_counter() - start:.2f} s"
          f"{', cached in ' + cache if cached else ' -> ' + cache})")

    clips = [c.to(device) for c in validation_clips(args.data, args.clips, sr, lcfg.seed)]
    with torch.no_grad():
        variance = neuron_variance(model, clips)
    charges = torch.cat([variance[name].flatten() for name in graph.names])

    bars: dict[int, Progress] = {}

    def progress(level, n_levels, it, iterations, n):
        bar = bars.get(level)
        if bar is None:
            bar = bars[level] = Progress(iterations, f"level {level + 1}/{n_levels} ({n:,} neurons)",
                                         enabled=not args.quiet, every=max(1, iterations // 10))
        bar.update(it)
        if it == iterations:
            bar.close()

    t0 = time.perf_counter()
    pos = simulate.layout(graph, charges, lcfg, device, progress)
    elapsed = time.perf_counter() - t0

    animation = np.zeros((0, graph.num_vertices, 2), np.float32)
    frame_values = None
    if args.snapshots:
        with torch.no_grad():
            acts = capture_activations(model, clips[0])
        frame_values = _frames(acts, graph.names, args.snapshots)  # [T, N]
        bar = Progress(len(frame_values), "snapshots", enabled=not args.quiet, every=max(1, len(frame_values) // 10))
        animation = simulate.snapshots(graph, charges, frame_values, pos, lcfg, device, bar.update).cpu().numpy()
        bar.close()

    layers = graph.layer_of_vertex()
    save_layout(args.out, Layout(
        positions=pos.cpu().numpy(), neurons=graph.index_table(), layer_names=graph.names,
        layer_shapes=np.array(graph.shapes), charges=charges.numpy(),
        blocks=np.array([[b.src, b.dst, b.n_edges] for b in graph.blocks]).reshape(-1, 3),
        animation=animation,
        metadata={"checkpoint": args.checkpoint, "clips": args.clips, "data": args.data,
                  "seconds": round(elapsed, 3), "device": str(device),
                  "config": {k: getattr(lcfg, k) for k in lcfg.__dataclass_fields__}}))
    print(f"layout   : {elapsed:.1f} s -> {args.out} (+ .json)")
    if args.png:
        from ..images import write_png

        base = os.path.splitext(args.out)[0]
        write_png(base + ".png", render.layer_image(pos.cpu().numpy(), layers, len(graph.names)))
        if frame_values is None:
            with torch.no_grad():
                acts = capture_activations(model, clips[0])
            frame_values = _frames(acts, graph.names, 1)
        write_png(base + "-activation.png", render.activation_image(pos.cpu().numpy(), frame_values[-1].numpy()))
        print(f"pictures : {base}.png, {base}-activation.png")
    return 0


def _frames(acts, names, n_frames: int):
    """[T, N] activations at ``n_frames`` evenly spread steps of the finest time axis; a pooled
    layer is read at the step that covers the same moment (aligned to the end)."""
    import torch

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
