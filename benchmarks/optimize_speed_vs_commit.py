"""Render and live-generator speed (steps/s) of this tree against an older commit, side by side.

Run: python benchmarks/optimize_speed_vs_commit.py [--commit 2024cce] [--rounds 2] [--steps 20]
    [--layer encoder.blocks.6.relu2]
Both trees run the same probe, alternately, in fresh subprocesses at one torch thread on the
shipped checkpoint (default regularizers, channel 3 of ``--layer``, noise start), so a loaded
machine slows both alike; the ratios are the figure.  ``render_cpu`` counts the process's CPU
time per step instead of the wall clock: steadier where other jobs load the machine (a step
that waits for a core is not counted).  The layer matters since the model hears a
loop in its steady state: an encoder target needs 1.5 s of the loop's end before it, an
autoregressive one 4.8 s (try ``--layer ar.blocks.4.relu``).  Needs git (``git archive``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, statistics, sys, time
import torch
torch.set_num_threads(1)
from immersions_osc.checkpoint import load_model
from immersions_osc.config import OptimizeConfig
from immersions_osc.optimize.generator import LoopGenerator
try:
    from immersions_osc.optimize.ascent import LoopAscent
except ImportError:  # an older tree, where the class is optimize.loop.Optimizer
    from immersions_osc.optimize.loop import Optimizer as LoopAscent
from immersions_osc.optimize.start import start_clip
from immersions_osc.optimize.targets import Target
steps = int(sys.argv[2])
model, _, _ = load_model(sys.argv[1], "cpu")
start = start_clip("noise", 4 * 44100, 44100)
targets = [Target(sys.argv[3], channels=[3])]
run = LoopAscent(model, start, targets, OptimizeConfig())
for _ in range(3):
    run.step()
times, cpu = [], []
for _ in range(steps):
    t0, c0 = time.perf_counter(), time.process_time()
    run.step()
    times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
render = 1 / statistics.median(times)
render_cpu = 1 / statistics.median(cpu)
gen = LoopGenerator(model, start, targets, OptimizeConfig(), publish_every=50).start()
time.sleep(2.0)
s0, t0 = gen.stats.steps, time.perf_counter()
time.sleep(steps / render)
live = (gen.stats.steps - s0) / (time.perf_counter() - t0)
gen.stop()
print(json.dumps({"render": render, "render_cpu": render_cpu, "live": live}))
"""


def checkpoint_for_old_tree(folder: str, model_sections=("scaleogram", "model", "loss")) -> str:
    """The shipped checkpoint with only the config sections that build the model (the older code
    may not know the newer settings of the others; the same weights, so the same speed)."""
    import torch

    ckpt = torch.load(REPO / "checkpoints" / "small.pt", map_location="cpu", weights_only=False)
    ckpt["config"] = {k: v for k, v in ckpt["config"].items() if k in model_sections}
    path = os.path.join(folder, "small.pt")
    torch.save(ckpt, path)
    return path


def probe(tree: str, steps: int, layer: str, checkpoint: str) -> dict:
    env = dict(os.environ, PYTHONPATH=tree, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", PROBE, checkpoint, str(steps), layer],
                         env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--commit", default="2024cce", help="the older commit (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--layer", default="encoder.blocks.6.relu2", help="the target's layer (channel 3)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "archive", args.commit, "immersions_osc"], cwd=REPO, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        old_checkpoint = checkpoint_for_old_tree(old)
        rows = {"old": [], "new": []}
        for _ in range(args.rounds):
            rows["old"].append(probe(old, args.steps, args.layer, old_checkpoint))
            rows["new"].append(probe(str(REPO), args.steps, args.layer, str(REPO / "checkpoints" / "small.pt")))
    for key in ("render", "render_cpu", "live"):
        o = statistics.median(r[key] for r in rows["old"])
        n = statistics.median(r[key] for r in rows["new"])
        print(f"{key:6s} steps/s at 1 thread ({args.layer}): {args.commit} {o:6.1f}   this tree {n:6.1f}   "
              f"ratio {n / o:.2f}")


if __name__ == "__main__":
    main()
