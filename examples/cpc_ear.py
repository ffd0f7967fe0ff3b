"""Example (a): the shipped ear (the CPC model in ``checkpoints/small.pt``) through the Python API.

The same five steps work for any model that meets the contract (docs/api.md):

    python examples/cpc_ear.py --out ear-example [--steps 40]

1. load the model; 2. capture every layer's activations on synthetic music; 3. build its neuron
graph and lay it out (PNG); 4. optimize a loop that excites one channel (WAV); 5. the factory
``build`` serves it too: ``immersions-osc serve --model examples/cpc_ear.py:build`` (the same as
``--checkpoint checkpoints/small.pt``, but through the contract).
"""
from __future__ import annotations

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build():
    """The factory for ``--model examples/cpc_ear.py:build``: the shipped, trained CPC ear."""
    from immersions_osc.checkpoint import load_model

    model, _, _ = load_model(os.path.join(REPO, "checkpoints", "small.pt"))
    return model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="the shipped ear through the Python API")
    ap.add_argument("--out", default="ear-example", help="output folder (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=40, help="optimizer steps for the loop (default: %(default)s)")
    ap.add_argument("--seconds", type=float, default=2.0, help="clip and loop length (default: %(default)s)")
    ap.add_argument("--clips", type=int, default=4, help="clips for the layout's charges (default: %(default)s)")
    args = ap.parse_args(argv)

    import numpy as np
    import soundfile as sf
    import torch

    from immersions_osc.activations import capture_activations
    from immersions_osc.config import LayoutConfig, OptimizeConfig
    from immersions_osc.contract import describe
    from immersions_osc.data.synth import SyntheticMusic
    from immersions_osc.images import write_png
    from immersions_osc.layout import render
    from immersions_osc.layout.build import build_layout
    from immersions_osc.optimize import Target, optimize

    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    model = build()  # 1. the model: audio [batch, samples] at model.sample_rate
    sr = describe(model).sample_rate
    audio, labels = SyntheticMusic(sample_rate=sr, seed=123).clip(0, int(args.seconds * sr))
    x = torch.from_numpy(np.asarray(audio, np.float32))[None]
    acts = capture_activations(model, x)  # 2. {layer: [1, C, F, T] or [1, C, T]}
    for name, a in list(acts.items())[:3] + [("...", None)] + list(acts.items())[-2:]:
        print(f"{name:24s} {tuple(a.shape) if a is not None else ''}")
    result = build_layout(model, LayoutConfig(), "cpu", clips=args.clips, quiet=True)  # 3. graph + layout
    png = os.path.join(args.out, "layout.png")
    write_png(png, render.layer_image(result.layout.positions, result.graph.layer_of_vertex(), len(result.graph.names)))
    print(f"layout: {len(result.layout.positions):,} neurons -> {png}")
    target = Target("encoder.blocks.6.relu2", channels=[3])  # 4. a loop that excites one channel
    run = optimize(model, x[0], [target], OptimizeConfig(steps=args.steps, seed=0))
    wav = os.path.join(args.out, "loop.wav")
    sf.write(wav, run.loop().numpy(), sr)
    print(f"loop: {target.layer} ch 3, activation {run.history[0]:.3f} -> {run.history[-1]:.3f} "
          f"in {args.steps} steps -> {wav}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, REPO)
    sys.exit(main())
