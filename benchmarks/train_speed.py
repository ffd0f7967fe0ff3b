"""Training throughput (clips/s) with the real data pipeline.

Run: ./run bench train_speed [--steps N] [--preset small|seed] [--device cpu|cuda]
Trains from scratch for a few steps on the synthetic stream and prints clips/s per step
(the first step, which includes start-up, is not counted) for each preset requested.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse
import json
import os
import tempfile
import time

import torch

from immersions_osc.config import parse_config
from immersions_osc.train import LOG_NAME, train


def measure(preset: str, device: str, steps: int, batch_size: int, workers: int) -> float:
    cfg = parse_config({"model": {"preset": preset},
                        "train": {"steps": steps, "batch_size": batch_size, "log_every": 1,
                                  "checkpoint_every": 10 ** 6, "device": device},
                        "data": {"num_workers": workers}})
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        train(cfg, out, show_progress=False)
        wall = time.perf_counter() - start
        log = [json.loads(line) for line in open(os.path.join(out, LOG_NAME))]
    rates = [entry["clips_per_s"] for entry in log[1:]]
    median = sorted(rates)[len(rates) // 2]
    print(f"{preset:6s} {device:5s} batch {batch_size:3d} workers {workers}: {median:7.1f} clips/s "
          f"(median over steps 2..{steps}; {wall:.1f} s wall for {steps} steps incl. start-up)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--preset", action="append")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    args = parser.parse_args()
    policy = threads.apply(args.threads)
    crop = parse_config({}).scaleogram
    print(f"{policy.describe()}; crops of 270336 samples (6.13 s at {crop.sample_rate} Hz)")
    for preset in args.preset or (["small"] if args.device == "cpu" else ["small", "seed"]):
        measure(preset, args.device, args.steps, args.batch_size, args.workers)


if __name__ == "__main__":
    main()
