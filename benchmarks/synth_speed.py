"""Synthetic-music generation speed: milliseconds per 6.2 s clip (a training crop) at 44.1 kHz.

    PYTHONPATH=. python benchmarks/synth_speed.py [--clips 5]

The training stream renders clips on the fly in its loader workers; this is the time one clip
takes (the first clip, which fills the wavetable cache, is not counted): best and median.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from immersions_osc.data.synth import SyntheticMusic  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=5)
    ap.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    args = ap.parse_args()
    print(f"{threads.apply(args.threads).describe()}, load average {os.getloadavg()[0]:.1f}")
    music = SyntheticMusic(44100, seed=0)
    n = int(6.2 * 44100)
    music.clip(0, n)  # fills the wavetable cache
    times = []
    for i in range(1, args.clips + 1):
        start = time.perf_counter()
        music.clip(i, n)
        times.append(time.perf_counter() - start)
    print(f"one 6.2 s clip: best {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms "
          f"({args.clips} clips)")


if __name__ == "__main__":
    main()
