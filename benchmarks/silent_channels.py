"""How sparse is the ear's code?  The share of each block's channels that are silent (mean
activation < 1 % of the layer's mean) on white, pink and brown noise and on random excerpts of
real music, every clip at the playback level and heard as it plays.

Run: python benchmarks/silent_channels.py [--checkpoint checkpoints/small.pt] [--corpus corpus] [--excerpts 4]

Why it matters: the sonification benchmark's selectivity (a target's gain over the mean gain of
its layer's other channels) counts a channel silent on the start that wakes as a gain of x10 to
x100 (the offset that keeps a silent channel's gain finite is 1 % of the layer's mean), so the
share printed here bounds what that figure can reach (benchmarks/sonification_quality.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing
sys.path.insert(0, str(REPO / "benchmarks"))

import argparse

import torch

from immersions_osc.config import OptimizeConfig
from immersions_osc.optimize.targets import block_layers
from immersions_osc.optimize.ascent import activations_of, steady_tail
from immersions_osc.optimize.transforms import level
from loop_measures import SILENT
from sonification_quality import channel_means, corpus_clips, load_bench_model


def coloured_noise(n: int, sr: int, tilt: float, seed: int) -> torch.Tensor:
    """White noise whose amplitude spectrum is multiplied by (f / 1 kHz) ** tilt (-0.5 pink, -1 brown)."""
    white = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    freqs = torch.fft.rfftfreq(n, 1.0 / sr)
    return torch.fft.irfft(torch.fft.rfft(white) * (freqs.clamp_min(20.0) / 1000.0) ** tilt, n)


def silent_shares(model, clips: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per block layer: [clips] share of channels below 1 % of the layer's mean on each clip."""
    cfg = OptimizeConfig()
    with torch.no_grad():
        acts, _ = activations_of(model, level(clips, cfg.peak, cfg.rms), tail=steady_tail(model, clips.shape[-1]))
    shares = {}
    for layer in block_layers(list(acts)):
        means = channel_means(acts, layer)
        shares[layer] = (means < SILENT * means.mean(1, keepdim=True)).float().mean(1)
    return shares


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "small.pt"))
    p.add_argument("--corpus", help="a corpus folder (immersions-osc corpus): adds excerpts of its held-out tracks")
    p.add_argument("--excerpts", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    model, sr = load_bench_model(args.checkpoint, args.threads)
    n = 4 * sr
    clips = {"white": coloured_noise(n, sr, 0.0, args.seed), "pink": coloured_noise(n, sr, -0.5, args.seed),
             "brown": coloured_noise(n, sr, -1.0, args.seed)}
    if args.corpus:
        for i, clip in enumerate(corpus_clips(args.corpus, args.excerpts, n, sr, args.seed)):
            clips[f"music {i + 1}"] = clip
    shares = silent_shares(model, torch.stack(list(clips.values())))
    print(f"checkpoint {args.checkpoint}; threads {torch.get_num_threads()}; share of each block's channels silent "
          f"(< 1 % of the layer's mean) on each clip at the playback level:")
    print(f"{'block':24s} " + " ".join(f"{name:>8s}" for name in clips))
    for layer, s in shares.items():
        print(f"{layer:24s} " + " ".join(f"{float(v):8.0%}" for v in s))


if __name__ == "__main__":
    main()
