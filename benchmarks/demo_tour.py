"""Does the demo's tour keep its word?  `immersions-osc demo` run for several random seeds, idle
and beside two busy processes, with every run's summary printed.

    PYTHONPATH=. python benchmarks/demo_tour.py [--seeds 1 2 3 4 5] [--busy 0 2] [--seconds 72]
        [-- extra demo flags]
    PYTHONPATH=. python benchmarks/demo_tour.py --curve [--curve-seeds 2 3 4] [--steps 30 60 100]

Per run: how many stops rose (gain >= x2, or woken from silence) on their own loops, whether every
stop played its own loop (never another stop's), stops still silent, the wall time against
``--seconds``, and whether the tour said it stretched.  The bar (issue 25): in every run every
stop plays its own loop, none stays silent, >= 5 of 6 stops rise, and on an idle machine the
wall time is within 20 % of ``--seconds``.

``--curve``: the offline figure behind the tour's defaults: for the tour's stops (random channels
of 6 layers from the first to the last block, per seed, drawn as the demo draws them), the share of
stops whose target rises on a loop optimized from the silence start, after each number of steps,
at the config's default step size and at the tour's (1 thread), and the share that rose at that
or an earlier check (what the tour's patience reaches: it plays a stop's loop once its target rose,
after at least ``--steps-per-stop`` steps and at most three times that).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def busy_processes(n: int) -> list[subprocess.Popen]:
    """``n`` processes that each spin a core (bounded to 30 minutes in any case)."""
    code = "import time\nend = time.time() + 1800\nwhile time.time() < end: pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def one_run(seed: int, seconds: float, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "immersions_osc", "demo", "--seed", str(seed), "--seconds",
                               f"{seconds:g}", "--audio", "none", "--web-port", "0", "--port", "0", "--out", out,
                               *extra], capture_output=True, text=True, cwd=REPO, timeout=3600,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
        wall = time.monotonic() - t0
    lines = [line.strip() for line in proc.stdout.splitlines()]
    stops = [line for line in lines if re.match(r"stop \d+: ", line)]
    rose = re.search(r"(\d+) of (\d+) stops rose", proc.stdout)
    return {"seed": seed, "rc": proc.returncode, "wall": wall, "stops": stops,
            "rose": int(rose.group(1)) if rose else 0, "total": int(rose.group(2)) if rose else 0,
            "own": all(" in its own loop " in s and "other loops" not in s for s in stops),
            "silent": sum("silent on the start and on its loop" in s for s in stops),
            "stretched": next((line for line in lines if line.startswith(("stretched :", "on time   :"))), "?"),
            "error": proc.stderr.strip().splitlines()[-1] if proc.returncode else ""}


def tour_runs(args) -> None:
    print("each run: `immersions-osc demo` under its own thread policy (immersions_osc/threads.py)", flush=True)
    for busy in args.busy:
        burners = busy_processes(busy)
        try:
            time.sleep(1.0 if busy else 0.0)
            load = os.getloadavg()[0]
            print(f"\n== beside {busy} busy process{'es' if busy != 1 else ''} (load {load:.1f} at the start)",
                  flush=True)
            runs = []
            for seed in args.seeds:
                r = one_run(seed, args.seconds, args.extra)
                runs.append(r)
                print(f"seed {seed}: rc {r['rc']}, {r['rose']} of {r['total']} stops rose, own loops "
                      f"{'yes' if r['own'] else 'NO'}, silent {r['silent']}, wall {r['wall']:.1f} s for "
                      f"--seconds {args.seconds:g} ({r['wall'] / args.seconds:.2f}x); {r['stretched']}", flush=True)
                for s in r["stops"]:
                    print("    " + s, flush=True)
                if r["error"]:
                    print("    error: " + r["error"], flush=True)
        finally:
            for p in burners:
                p.kill()
                p.wait()
        ok = sum(r["rc"] == 0 and r["own"] and r["silent"] == 0 and r["rose"] >= r["total"] - 1 for r in runs)
        walls = [r["wall"] / args.seconds for r in runs]
        print(f"-- beside {busy}: {ok} of {len(runs)} runs keep every promise (own loops, none silent, >= all but "
              f"one stop rose); wall / --seconds {min(walls):.2f}..{max(walls):.2f}", flush=True)


def curve(args) -> None:
    import random

    import numpy as np
    import torch

    from immersions_osc.checkpoint import load_model
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.ascent import LoopAscent, measure
    from immersions_osc.optimize.start import start_clip
    from immersions_osc.optimize.transforms import level
    from immersions_osc.optimize.targets import Target
    from immersions_osc.service.command import tour_layers
    from immersions_osc.service.streaming import playable
    from immersions_osc.optimize.start import STEP_FROM_NOTHING
    from immersions_osc.service.tour import (channel_activity, eligible_channels,
                                             probe_clips, stop_report)

    print(threads.apply(1).describe(), flush=True)
    model, mcfg, _ = load_model(str(REPO / "checkpoints" / "small.pt"), "cpu")
    sr = mcfg.scaleogram.sample_rate
    n = int(4.0 * sr)
    base = OptimizeConfig()
    start = start_clip("silence", n, sr, 0)
    reference = torch.from_numpy(playable(start, base, optimized=False))
    from immersions_osc.optimize.ascent import activations_of

    names = list(activations_of(model, torch.zeros(1, n))[0])
    layers = tour_layers(names, 6)
    activity = channel_activity(model, torch.cat([reference[None], level(probe_clips(n, sr), base.peak, base.rms)]),
                                layers)
    print(f"load {os.getloadavg()[0]:.1f}; stops: seeds {args.curve_seeds} x {len(layers)} layers", flush=True)
    for lr in (base.learning_rate, STEP_FROM_NOTHING):
        cfg = OptimizeConfig(learning_rate=lr)
        rose = {s: [] for s in args.steps}
        for seed in args.curve_seeds:
            rng = random.Random(seed)
            for layer in layers:
                target = [Target(layer, channels=[rng.choice(eligible_channels(activity[layer][0],
                                                                              activity[layer][1:]))])]
                before = measure(model, reference, target)[0]
                run = LoopAscent(model, start, target, cfg)
                for step in range(1, max(args.steps) + 1):
                    run.step()
                    if step in rose:
                        after = measure(model, torch.from_numpy(playable(run.loop(), cfg)), target)[0]
                        rose[step].append(stop_report(before, after)[0])
        checks = np.array([rose[step] for step in args.steps])  # [checks, stops]
        for k, step in enumerate(args.steps):
            print(f"step size {lr:g}, {step:4d} steps: {checks[k].mean():4.0%} of {checks.shape[1]} stops rose; "
                  f"{checks[:k + 1].any(0).mean():4.0%} rose at this or an earlier check (the tour's patience)",
                  flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--busy", type=int, nargs="+", default=[0, 2], help="busy processes beside the runs")
    p.add_argument("--seconds", type=float, default=72.0)
    p.add_argument("--curve", action="store_true", help="the offline rise-vs-steps figure instead")
    p.add_argument("--curve-seeds", dest="curve_seeds", type=int, nargs="+", default=[2, 3, 4])
    p.add_argument("--steps", type=int, nargs="+", default=[30, 60, 100])
    p.add_argument("extra", nargs="*", help="more demo flags (after --)")
    args = p.parse_args(argv)
    curve(args) if args.curve else tour_runs(args)


if __name__ == "__main__":
    main()
