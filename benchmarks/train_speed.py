"""Training throughput (clips/s) with the real data pipeline.

Run: ./run bench train_speed [--steps N] [--preset small|seed] [--device cpu|cuda]
Trains from scratch for a few steps on the synthetic stream and prints clips/s per step
(the first step, which includes start-up, is not counted) for each preset requested.
With ``--corpus DIR`` (a folder made by ``immersions-osc corpus``) it also prints the corpus's
decode speed beside it: seconds of music decoded per second from randomly drawn source files
(Ogg Vorbis/Opus/MP3, inside archives too, to mono at 44.1 kHz), and training crops per second read
from the decoded WAVs, which is what the trainer does per clip.
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


def corpus_speed(folder: str, files: int, crops: int, seed: int = 0) -> None:
    import random

    from immersions_osc.data.corpus import SourceSpec, decode_item, find_items, read_index
    from immersions_osc.data.folder import AudioFolderDataset

    tracks = read_index(folder)
    rng = random.Random(seed)
    chosen = rng.sample(tracks, min(files, len(tracks)))
    decoded = spent = 0.0
    for t in chosen:
        path, _, member = t.origin.partition("!")
        spec = SourceSpec(t.source, path)
        item = next(i for i in find_items(spec) if i.origin == t.origin) if member else \
            next(iter(find_items(spec)))
        start = time.perf_counter()
        audio = decode_item(item, 44100)
        spent += time.perf_counter() - start
        decoded += len(audio) / 44100
    print(f"corpus decode: {decoded:.0f} s of music from {len(chosen)} random source files in {spent:.1f} s "
          f"= {decoded / spent:.0f}x real time ({decoded / spent * 44100 / 270336:.0f} crops' worth/s)")
    dataset = AudioFolderDataset(os.path.join(folder, "audio", "train"), crop_samples=270336, length=crops,
                                 seed=seed)
    start = time.perf_counter()
    for i in range(crops):
        dataset[i]
    wall = time.perf_counter() - start
    print(f"corpus crops: {crops / wall:.0f} training crops/s read from the decoded WAVs ({crops} random crops)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--preset", action="append")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--corpus", help="also measure this corpus's decode speed (immersions-osc corpus)")
    parser.add_argument("--corpus-files", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    args = parser.parse_args()
    policy = threads.apply(args.threads)
    crop = parse_config({}).scaleogram
    print(f"{policy.describe()}; crops of 270336 samples (6.13 s at {crop.sample_rate} Hz)")
    for preset in args.preset or (["small"] if args.device == "cpu" else ["small", "seed"]):
        measure(preset, args.device, args.steps, args.batch_size, args.workers)
    if args.corpus:
        corpus_speed(args.corpus, args.corpus_files, crops=200)


if __name__ == "__main__":
    main()
