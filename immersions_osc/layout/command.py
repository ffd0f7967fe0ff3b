"""``immersions-osc layout``: lay out every neuron of a checkpoint's model and write .npz + JSON
(+ PNGs).  ``register(subparsers)`` adds the sub-command; user mistakes raise UserError."""
from __future__ import annotations

import argparse
import os

from ..errors import UserError
from ..shipped import DEFAULT_CHECKPOINT_SPEC as DEFAULT_CHECKPOINT


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
    from ..contract import load_any
    from ..device import resolve_device

    device = resolve_device(args.device)
    model, source = load_any(args.model, args.checkpoint, device)
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
