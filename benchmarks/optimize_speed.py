"""Sonification speed: optimization steps/s and seconds per new 4 s loop.

Run: ./run bench optimize_speed   (or: python benchmarks/optimize_speed.py)
`small` (the shipped checkpoint) on the CPU at the thread policy (--threads overrides); and, when CUDA is present, an untrained
`seed` model on the GPU (speed does not depend on the weights).  The live generator publishes a
new loop every `publish_every` steps; the live-performance target is a new loop at least every 4 s.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse
import time

import torch

from immersions_osc.checkpoint import load_model
from immersions_osc.config import Config, ModelConfig, OptimizeConfig
from immersions_osc.model import build_model
from immersions_osc.optimize.ascent import LoopAscent
from immersions_osc.optimize.start import start_clip
from immersions_osc.optimize.targets import Target

from _timing import median_seconds  # noqa: E402  (benchmarks/, on sys.path when run as a script)

PUBLISH_EVERY = 50  # steps per published loop in the live generator (its default)


def measure(model, device: str, label: str, steps: int = 60) -> None:
    start = start_clip("noise", 4 * 44100, 44100)
    run = LoopAscent(model.to(device), start, [Target("encoder.blocks.6.relu2", channels=[0, 1])], OptimizeConfig())

    def step():
        run.step()
        if device == "cuda":
            torch.cuda.synchronize()

    per_step = median_seconds(step, steps, warmup=5)
    print(f"{label:28s} {device:5s} {1 / per_step:8.1f} steps/s   {per_step * PUBLISH_EVERY:6.2f} s per new loop "
          f"({PUBLISH_EVERY} steps)   {per_step * 200:6.2f} s for a 200-step render")


def measure_live(model, seconds: float = 5.0) -> None:
    """The live generator's own rate (its thread, publishing every PUBLISH_EVERY steps)."""
    from immersions_osc.optimize.generator import LoopGenerator

    start = start_clip("noise", 4 * 44100, 44100)
    gen = LoopGenerator(model, start, [Target("encoder.blocks.6.relu2", channels=[3])], OptimizeConfig(),
                        publish_every=PUBLISH_EVERY).start()
    try:
        time.sleep(1.0)  # warm-up
        s0, t0 = gen.stats.steps, time.perf_counter()
        time.sleep(seconds)
        rate = (gen.stats.steps - s0) / (time.perf_counter() - t0)
    finally:
        gen.stop()
    print(f"{'live generator (small)':28s} cpu   {rate:8.1f} steps/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    policy = threads.apply(ap.parse_args().threads)
    print(f"{policy.describe()}; 4 s loops at 44.1 kHz, all regularizers at their defaults")
    model, _, _ = load_model(REPO / "checkpoints" / "small.pt")
    measure(model, "cpu", "small (shipped checkpoint)")
    measure_live(model)
    if torch.cuda.is_available():
        measure(model, "cuda", "small (shipped checkpoint)")
        measure(build_model(Config(model=ModelConfig(preset="seed"))), "cuda", "seed (untrained)")


if __name__ == "__main__":
    main()
