"""How few channels ever lead their layer: per block, the strongest channel's mean activation on
the noise start over the median channel's, the share silent on noise, and how many distinct
channels are the top one across the sonification benchmark's 11 probe clips (noise, drums,
clicks, sines over 7 octaves), heard as they play.

Run: python benchmarks/top_channels.py [--checkpoint checkpoints/small.pt]   (10 s, one thread)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from immersions_osc.optimize.ascent import activations_of, steady_tail
from immersions_osc.optimize.targets import block_layers
from immersions_osc.optimize.transforms import level

from sonification_quality import channel_means, load_bench_model, probe_clips


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=str(Path(__file__).resolve().parents[1] / "checkpoints" / "small.pt"))
    args = p.parse_args(argv)
    model, sr = load_bench_model(args.checkpoint, 1)
    n = 4 * sr
    clips = probe_clips(n, sr, 0)
    with torch.no_grad():
        acts, _ = activations_of(model, level(torch.stack(list(clips.values())), 0.9, 0.1), tail=steady_tail(model, n))
    for layer in block_layers(list(acts)):
        m = channel_means(acts, layer)  # [clips, C]; row 0 is the noise start
        noise = m[0]
        silent = float((noise < 0.01 * noise.mean()).float().mean())
        ratio = float(noise.max() / noise.median()) if float(noise.median()) > 1e-6 * float(noise.max()) else float("inf")
        print(f"{layer:24s} {m.shape[1]:4d} channels  strongest / median on noise {ratio:8.1f}  "
              f"silent on noise {silent:4.0%}  distinct top channels over {len(clips)} clips: {len(set(m.argmax(1).tolist()))}")


if __name__ == "__main__":
    main()
