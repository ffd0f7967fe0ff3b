"""``immersions-osc render``: optimize a loop that excites chosen neurons and write it as WAV, a
PNG of its scaleogram with the target marked, and a JSON of every parameter (``--seed`` makes it
reproducible).  ``--sweep`` renders one loop per block, like the seed's gallery."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

from ..config import PARAMETERIZATIONS
from ..errors import UserError


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("render", help="optimize an audio loop that excites chosen neurons",
                              description="optimize an audio loop that excites chosen neurons (sonification)")
    p.add_argument("--config", help="YAML config whose 'optimize' section overrides the defaults")
    p.add_argument("--checkpoint", help="trained Immersions model (default: checkpoints/small.pt)")
    p.add_argument("--model", help="your own network instead: package.module:factory, path/to/file.py:factory "
                                   "or a torch.export .pt2 file (docs/api.md)")
    p.add_argument("--layer", help="layer name, e.g. encoder.blocks.1.relu2 (see the error for the list)")
    p.add_argument("--channels", type=int, nargs="+", help="channels of the layer (default: all)")
    p.add_argument("--frequencies", type=int, nargs=2, metavar=("LO", "HI"), help="frequency rows [LO, HI)")
    p.add_argument("--steps", type=int, help="optimization steps (default: the config's, 200)")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--parameterization", choices=PARAMETERIZATIONS,
                   help="what is optimized (default: the config's, auto: events from noise or silence, spectral from music)")
    p.add_argument("--candidates", type=int, help="loops optimized at once, the best is kept (default: 1)")
    p.add_argument("--diversity", type=float, help="push the candidates apart (default: the config's, 0)")
    p.add_argument("--facets", action="store_true",
                   help="write every candidate (OUT.facetK.wav and one PNG of all their scaleograms): "
                        "several facets of one neuron, with --candidates N and --diversity")
    p.add_argument("--start", default="noise", help="silence, noise or an audio file (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=4.0, help="loop length (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="render.wav", help="WAV path; .png and .json are written beside it")
    p.add_argument("--sweep", action="store_true", help="one loop per encoder/autoregressive block into the "
                                                        "folder of --out (the last nonlinearity of each block)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import torch

    from ..config import load_config
    from ..contract import describe, load_any
    from ..device import resolve_device
    from .ascent import activations_of
    from .start import for_start, start_clip
    from .targets import Target, block_layers

    if args.seconds <= 0.5:
        raise UserError(f"--seconds must be more than 0.5, got {args.seconds:g}")
    device = resolve_device(args.device)
    model, args.source = load_any(args.model, args.checkpoint, device)
    # optimization settings come from --config or the defaults, never from the training checkpoint
    ocfg = load_config(args.config).optimize
    flags = {"steps": args.steps, "learning_rate": args.lr, "parameterization": args.parameterization,
             "candidates": args.candidates, "diversity": args.diversity}
    ocfg = dataclasses.replace(ocfg, seed=args.seed, **{k: v for k, v in flags.items() if v is not None})
    ocfg = for_start(ocfg, args.start)  # the step size by start, unless the config or --lr chose one
    ocfg.validate("optimize.")
    if args.facets and ocfg.candidates < 2:
        raise UserError("--facets writes every candidate: give --candidates 2 or more")
    sr = describe(model).sample_rate
    start = start_clip(args.start, int(args.seconds * sr), sr, args.seed)
    with torch.no_grad():
        names = list(activations_of(model.eval(), start.unsqueeze(0).to(device))[0])
    if args.sweep:
        if args.layer or args.channels or args.frequencies:
            raise UserError("--sweep renders every block: leave out --layer, --channels and --frequencies")
        folder = os.path.dirname(os.path.abspath(args.out))
        for layer in block_layers(names):
            out = os.path.join(folder, layer.replace(".", "_") + ".wav")
            render_one(model, ocfg, Target(layer), start, out, args)
        return 0
    if not args.layer:
        raise UserError(f"name a --layer (or use --sweep); layers: {', '.join(names)}")
    target = Target(args.layer, channels=args.channels,
                    frequencies=tuple(args.frequencies) if args.frequencies else None)
    render_one(model, ocfg, target, start, args.out, args)
    return 0


def render_one(model, ocfg, target, start, out: str, args: argparse.Namespace) -> None:
    import numpy as np
    import soundfile as sf
    import torch

    from ..atomic import atomic_write, atomic_write_bytes
    from ..contract import describe, spectrum
    from ..images import scaleogram_image, write_png
    from ..progress import Progress
    from .ascent import measure, optimize

    if not out.endswith(".wav"):
        raise UserError(f"--out must name a .wav file, got {out}")
    from .transforms import level

    device = next(model.parameters()).device
    # level-matched: the start clip as it would be played (at the loop's peak level)
    before = measure(model, level(start.to(device)[None], ocfg.peak, ocfg.rms)[0], [target])[0]
    bar = Progress(ocfg.steps, f"render {target.layer}", every=max(1, ocfg.steps // 10))
    t0 = time.perf_counter()
    run = optimize(model, start, [target], ocfg,
                   callback=lambda i, v: bar.update(i, activation=f"{float(v):.3f}") if bar.due(i) else None)
    bar.close()
    elapsed = time.perf_counter() - t0
    loop = run.loop()
    after = measure(model, loop.to(device), [target])[0]
    sr = describe(model).sample_rate
    audio = loop.numpy().astype(np.float32)
    atomic_write(out, lambda fh: sf.write(fh, audio, sr, format="WAV", subtype="FLOAT"))
    with torch.no_grad():
        spec = spectrum(model, loop.unsqueeze(0).to(device))[0, 0].cpu().numpy()
    image = scaleogram_image(spec)
    mark_target(image, target, run.masks[0].numpy())
    base = os.path.splitext(out)[0]
    write_png(base + ".png", image)
    record = {"target": dataclasses.asdict(target), "start": args.start, "seconds": args.seconds,
              ("model" if args.model else "checkpoint"): args.source, "optimize": dataclasses.asdict(ocfg),
              "activation_before": before, "activation_after": after,
              "gain": after / before if before > 0 else None, "seconds_elapsed": round(elapsed, 2),
              "steps_per_second": round(ocfg.steps / elapsed, 2)}
    if getattr(args, "facets", False):
        record["facets"] = write_facets(model, run, target, base, sr)
    atomic_write_bytes(base + ".json", json.dumps(record, indent=2).encode())
    print(f"{target.layer}: activation {before:.4f} -> {after:.4f} in {ocfg.steps} steps "
          f"({ocfg.steps / elapsed:.1f} steps/s) -> {out}, {base}.png, {base}.json")


def write_facets(model, run, target, base: str, sr: int) -> list[dict]:
    """Every candidate of ``run`` as ``base.facetK.wav`` and their scaleograms stacked in
    ``base.facets.png`` (the best first); returns each one's file and target activation."""
    import numpy as np
    import soundfile as sf
    import torch

    from ..atomic import atomic_write
    from ..contract import spectrum
    from ..images import scaleogram_image, stack, write_png
    from .ascent import measure

    device = next(model.parameters()).device
    loops = run.loops()
    order = [run.best] + [k for k in range(len(loops)) if k != run.best]
    facets, images = [], []
    for rank, k in enumerate(order, 1):
        path = f"{base}.facet{rank}.wav"
        audio = loops[k].numpy().astype(np.float32)
        atomic_write(path, lambda fh: sf.write(fh, audio, sr, format="WAV", subtype="FLOAT"))
        with torch.no_grad():
            images.append(scaleogram_image(spectrum(model, loops[k:k + 1].to(device))[0, 0].cpu().numpy()))
        facets.append({"file": os.path.basename(path), "activation": measure(model, loops[k].to(device), [target])[0]})
    write_png(base + ".facets.png", stack(images))
    print(f"{len(facets)} facets -> {base}.facet1.wav .. facet{len(facets)}.wav, {base}.facets.png "
          f"(activations {', '.join(format(f['activation'], '.4f') for f in facets)})")
    return facets


def mark_target(image, target, mask) -> None:
    """Outline, on the scaleogram picture, the frequency band of the target's rows (mapped
    proportionally from the layer's frequency rows to the bins; 1D layers span all bins)."""
    height, width, _ = image.shape
    rows = mask.any(axis=0).nonzero()[0]
    n_rows = mask.shape[1]
    lo, hi = (rows.min() / n_rows, (rows.max() + 1) / n_rows) if len(rows) and n_rows > 1 else (0.0, 1.0)
    top, bottom = int((1 - hi) * (height - 1)), int((1 - lo) * (height - 1))
    colour = (0, 255, 255)
    image[top, :] = colour
    image[bottom, :] = colour
    image[top:bottom + 1, 0] = colour
    image[top:bottom + 1, width - 1] = colour
