"""``immersions-osc layout``: lay out every neuron of a checkpoint's model and write .npz + JSON
(+ PNGs).  ``register(subparsers)`` adds the sub-command; user mistakes raise UserError."""
from __future__ import annotations

import argparse
import os
import time

from ..device import resolve_device
from ..errors import UserError
from ..shipped import DEFAULT_CHECKPOINT_SPEC as DEFAULT_CHECKPOINT, resolve_checkpoint

# the clips whose activation variance gives the charges
CLIP_SECONDS = 4.0
# audio used to probe the graph's connectivity (short: only the structure matters)
PROBE_SECONDS = 0.25


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("layout", help="lay out every neuron of the model in 2D",
                              description="lay out every neuron of the model in 2D (multilevel Barnes-Hut)")
    p.add_argument("--config", help="YAML config whose 'layout' section sets the simulation (default: the defaults)")
    p.add_argument("--checkpoint", help=f"trained Immersions model (default: {DEFAULT_CHECKPOINT})")
    p.add_argument("--model", help="your own network instead: package.module:factory, path/to/file.py:factory "
                                   "or a torch.export .pt2 file (docs/api.md)")
    p.add_argument("--out", help="output .npz (+ .json beside it; default: layout.npz, with --model: "
                                 "beside the model's file)")
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

    from ..config import load_config
    from . import render
    from .build import build_layout
    from .export import save_layout

    if args.clips < 1:
        raise UserError(f"--clips must be >= 1, got {args.clips}")
    if args.snapshots < 0:
        raise UserError(f"--snapshots must be >= 0, got {args.snapshots}")
    device = resolve_device(args.device)
    model, source = load_any(args, device)
    if args.out is None:
        from ..contract import default_layout_path

        args.out = default_layout_path(args.model) if args.model else "layout.npz"
    if not args.out.endswith(".npz"):
        raise UserError(f"--out must name a .npz file, got {args.out}")
    # layout settings come from --config or the defaults, never from the training checkpoint
    lcfg = load_config(args.config).layout
    if args.seed is not None:
        lcfg.seed = args.seed
    lcfg.validate("layout.")
    result = build_layout(model, lcfg, device, data=args.data, clips=args.clips, snapshots=args.snapshots,
                          cache=os.path.splitext(args.out)[0] + ".graph.npz", quiet=args.quiet,
                          log=print, source=source)
    save_layout(args.out, result.layout)
    print(f"layout   : {result.seconds:.1f} s -> {args.out} (+ .json)")
    if args.png:
        from ..images import write_png

        base = os.path.splitext(args.out)[0]
        pos = np.asarray(result.layout.positions)
        write_png(base + ".png", render.layer_image(pos, result.graph.layer_of_vertex(), len(result.graph.names)))
        write_png(base + "-activation.png", render.activation_image(pos, result.last_frame))
        print(f"pictures : {base}.png, {base}-activation.png")
    return 0


def load_any(args: argparse.Namespace, device):
    """(model, description) from ``--model`` or ``--checkpoint`` (not both)."""
    if getattr(args, "model", None):
        if getattr(args, "checkpoint", None):
            raise UserError("give --model or --checkpoint, not both")
        from ..contract import load

        return load(args.model, device), args.model
    from ..checkpoint import load_model

    path = resolve_checkpoint(args.checkpoint or DEFAULT_CHECKPOINT)  # from any folder: the shipped one
    model, _, _ = load_model(path, device)
    return model.eval(), path


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
