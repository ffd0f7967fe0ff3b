"""A picture per parameterization: scaleograms of loops made for random channels of three blocks.

Run: python benchmarks/sonification_pictures.py [--seed 1] [--out docs/images/sonification_parameterizations.png]

One random channel (seeded) in each of three blocks (the first encoder block, the middle one,
the last autoregressive block) gets a loop from the noise start with each parameterization
(defaults otherwise, 200 steps, the step size for a noise start).  The PNG has one row per
parameterization (in the order given) and one column per block, each the loop's scaleogram (low
frequencies at the bottom, 4 s left to right).  ``--wavs DIR`` also writes the loops.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import argparse
import dataclasses
import random

import torch

from immersions_osc.config import OptimizeConfig
from immersions_osc.contract import spectrum
from immersions_osc.images import scaleogram_image, stack, write_png
from immersions_osc.optimize.ascent import LoopAscent
from immersions_osc.optimize.start import for_start, start_clip
from immersions_osc.optimize.targets import Target, block_layers

from sonification_quality import layer_widths, load_bench_model


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "small.pt"))
    p.add_argument("--parameterizations", default="spectral,events")
    p.add_argument("--steps", type=int, default=OptimizeConfig().steps)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=str(REPO / "docs" / "images" / "sonification_parameterizations.png"))
    p.add_argument("--wavs", help="also write the loops into this folder")
    args = p.parse_args(argv)
    model, sr = load_bench_model(args.checkpoint, 1)
    n = 4 * sr
    widths = layer_widths(model, n)
    blocks = block_layers(list(widths))
    chosen = [blocks[0], blocks[len(blocks) // 2], blocks[-1]]
    rng = random.Random(args.seed)
    targets = [Target(layer, channels=[rng.randrange(widths[layer])]) for layer in chosen]
    print("targets: " + ", ".join(f"{t.layer} ch {t.channels[0]}" for t in targets), flush=True)
    start = start_clip("noise", n, sr, args.seed)
    rows = []
    for kind in args.parameterizations.split(","):
        cfg = for_start(dataclasses.replace(OptimizeConfig(seed=args.seed), parameterization=kind), "noise")
        run = LoopAscent(model, start, targets, cfg, per_candidate=True, total_steps=args.steps)
        for _ in range(args.steps):
            run.step()
        loops = run.loops()
        with torch.no_grad():
            spec = spectrum(model, loops)[:, 0].numpy()
        images = [scaleogram_image(s, scale=2) for s in spec]
        rows.append(stack(images, axis=1, gap=6))
        if args.wavs:
            import soundfile as sf

            Path(args.wavs).mkdir(parents=True, exist_ok=True)
            for t, loop in zip(targets, loops.numpy()):
                sf.write(Path(args.wavs) / f"{kind}_{t.layer}_{t.channels[0]}.wav", loop, sr, subtype="FLOAT")
        print(f"{kind}: done", flush=True)
    write_png(args.out, stack(rows, gap=6))
    print(f"-> {args.out} (rows: {args.parameterizations}; columns: {', '.join(chosen)})")


if __name__ == "__main__":
    main()
