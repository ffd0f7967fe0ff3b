"""The key figures idle, beside one and beside two CPU-burning processes, side by side.

    PYTHONPATH=. python benchmarks/under_load.py [--threads N | --compare-threads 1 2] [--rounds 1]
        [--service-seconds 20] [--only NAME ...]

A laptop running a DAW is a loaded machine: this measures how much each figure suffers from
other work.  For every figure, in turn: idle (whatever else already runs on the machine: the
load average is printed), then with one and with two background processes that spin a CPU core
each (pure Python busy loops, killed after the measurement and bounded in time anyway).  Each
measurement runs in a fresh process under the thread policy (immersions_osc/threads.py,
``--threads`` overrides).  Figures:

  service   the live service with a dummy-driver jackd (benchmarks/service_rates.py, 1024-frame
            periods): activation frames/s received complete, JACK xruns, optimizer steps/s
  optimizer optimizer steps/s alone (shipped `small` checkpoint, 4 s loop)
  scaleogram one 4 s clip, and per clip in a batch of 16 (ms)
  layout    `immersions-osc layout` of the shipped checkpoint (s)
  render    `immersions-osc render --steps 20` (s)

The ratio columns are load / idle for times and idle / load for rates (1.0 = unaffected).  The
bar to meet: every ratio <= 1.5 beside one process, <= 3 beside two.  It also measures what
OpenMP wait policy took effect: CPU time burnt while a 2-thread torch process waits between
small parallel operations, with OMP_WAIT_POLICY=PASSIVE (the policy) and unset.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from _timing import median_seconds  # noqa: E402  (benchmarks/, on sys.path when run as a script)

BURN_LIMIT_S = 900  # a background process never outlives this, even if this script is killed
CONDITIONS = (0, 1, 2)  # background processes


# --- the figures, each measured in a fresh process (--figure NAME) -------------------------------

def figure_scaleogram() -> dict:
    import torch

    from immersions_osc.config import ScaleogramConfig
    from immersions_osc.scaleogram import Scaleogram

    s = Scaleogram(ScaleogramConfig())
    x1 = torch.randn(1, 4 * 44100) * 0.1
    x16 = torch.randn(16, 4 * 44100) * 0.1
    with torch.no_grad():
        return {"scaleogram 1 clip (ms)": median_seconds(lambda: s(x1), 20) * 1000,
                "scaleogram per clip in 16 (ms)": median_seconds(lambda: s(x16), 5) * 1000 / 16}


def figure_optimizer() -> dict:
    from immersions_osc.checkpoint import load_model
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.ascent import LoopAscent
    from immersions_osc.optimize.start import start_clip
    from immersions_osc.optimize.targets import Target

    model, _, _ = load_model(REPO / "checkpoints" / "small.pt")
    run = LoopAscent(model, start_clip("noise", 4 * 44100, 44100),
                    [Target("encoder.blocks.6.relu2", channels=[0, 1])], OptimizeConfig())
    for _ in range(3):
        run.step()
    return {"optimizer (steps/s)": 1.0 / median_seconds(run.step, 20)}


def _cli_seconds(argv: list[str]) -> float:
    from immersions_osc.cli import main

    start = time.perf_counter()
    if main(argv) != 0:
        raise SystemExit(f"immersions-osc {' '.join(argv)} failed")
    return time.perf_counter() - start


def figure_layout(thread_args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return {"layout (s)": _cli_seconds(["layout", "--out", os.path.join(tmp, "l.npz"), "--quiet",
                                            "--device", "cpu", *thread_args])}


def figure_render(thread_args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return {"render --steps 20 (s)": _cli_seconds(["render", "--steps", "20", "--device", "cpu", "--layer",
                                                       "encoder.blocks.6.relu2", "--channels", "0", "1", "--out",
                                                       os.path.join(tmp, "r.wav"), *thread_args])}


def figure_service(thread_args: list[str], seconds: float) -> dict:
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "service_rates.py"), "--seconds", str(seconds),
                          "--backends", "jack", "--blocks", "1024", "--device", "cpu", *thread_args],
                         capture_output=True, text=True, timeout=seconds + 240)
    if out.returncode != 0:
        raise SystemExit(f"service_rates failed:\n{out.stdout}\n{out.stderr}")
    # service_rates prints one table row per backend and block:
    # backend block frames/s audio-frames/s xruns ack-ms audible-ms steps/s ...
    row = re.search(r"^jack\s+1024\s+([\d.]+)\s+\d+\s+(\d+)\s+[\d.na]+\s+[\d.na]+\s+([\d.]+)", out.stdout, re.M)
    if row is None:
        raise SystemExit(f"service_rates printed no jack 1024 row:\n{out.stdout}")
    return {"service frames/s": float(row.group(1)), "service xruns": float(row.group(2)),
            "service optimizer (steps/s)": float(row.group(3))}


def spin_probe() -> dict:
    """CPU seconds per second burnt while 2 torch threads wait between small parallel operations."""
    import torch

    torch.set_num_threads(2)
    a = torch.randn(400_000)
    cpu = wall = 0.0
    for _ in range(300):
        (a * 2.0).sum()  # a parallel region: OpenMP's worker thread then waits for the next one
        c, w = time.process_time(), time.perf_counter()
        time.sleep(0.002)
        cpu += time.process_time() - c
        wall += time.perf_counter() - w
    return {"idle cpu": cpu / wall}


def run_figure(name: str, args: argparse.Namespace) -> dict:
    policy = threads.apply(args.threads)
    thread_args = ["--threads", str(policy.intra_op)]
    if name == "scaleogram":
        result = figure_scaleogram()
    elif name == "optimizer":
        result = figure_optimizer()
    elif name == "layout":
        result = figure_layout(thread_args)
    elif name == "render":
        result = figure_render(thread_args)
    elif name == "service":
        result = figure_service(thread_args, args.service_seconds)
    elif name == "spin":
        result = spin_probe()
    else:
        raise SystemExit(f"unknown figure {name!r}")
    return {"policy": policy.describe(), **result}


# --- the driver -----------------------------------------------------------------------------------

def start_burners(n: int) -> list[subprocess.Popen]:
    code = (f"import time\nend = time.monotonic() + {BURN_LIMIT_S}\n"
            "while time.monotonic() < end:\n    pass\n")
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def stop_burners(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def measure(name: str, args: argparse.Namespace, burners: int, env: dict | None = None,
            n_threads: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--figure", name, "--service-seconds", str(args.service_seconds)]
    n_threads = args.threads if n_threads is None else n_threads
    if n_threads is not None:
        cmd += ["--threads", str(n_threads)]
    procs = start_burners(burners)
    try:
        time.sleep(0.5)  # let the burners get going
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    finally:
        stop_burners(procs)
    if out.returncode != 0:
        raise SystemExit(f"figure {name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    ap.add_argument("--service-seconds", dest="service_seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat idle / 1 / 2 busy this many times, interleaved; the median is shown")
    ap.add_argument("--compare-threads", dest="compare_threads", type=int, nargs="+",
                    help="measure at each of these thread counts, interleaved (one row per count)")
    ap.add_argument("--only", nargs="+", choices=("service", "optimizer", "scaleogram", "layout", "render"),
                    help="measure only these figures")
    ap.add_argument("--figure", help=argparse.SUPPRESS)  # a worker process: measure one figure, print JSON
    args = ap.parse_args()
    if args.figure:
        print(json.dumps(run_figure(args.figure, args)))
        return 0

    policy = threads.apply(args.threads)
    print(f"under_load: {policy.describe()}")
    print(f"machine: {threads.available_cores()} cores, load average {os.getloadavg()[0]:.1f} before the run "
          f"(other work on the machine counts as 'idle' here)")
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    spins = {label: measure("spin", args, 0, env={**base, "OMP_WAIT_POLICY": value})["idle cpu"]
             for label, value in (("PASSIVE", "PASSIVE"), ("OpenMP's default", ""), ("ACTIVE", "ACTIVE"))}
    print("OpenMP wait policy in effect: CPU s per s burnt while 2 torch threads wait between small ops: "
          + ", ".join(f"{v:.2f} with {k}" for k, v in spins.items()) + "\n")

    figures = args.only or ["service", "optimizer", "scaleogram", "layout", "render"]
    print(f"{'figure':32s} {'idle':>9s} {'1 busy':>9s} {'2 busy':>9s} {'ratio 1':>8s} {'ratio 2':>8s}", flush=True)
    worst = [1.0, 1.0]
    counts = args.compare_threads or [args.threads]
    for name in figures:  # each figure's rows printed as soon as they are measured
        rounds = [[[measure(name, args, n, n_threads=c) for n in CONDITIONS] for c in counts]
                  for _ in range(args.rounds)]
        for j, count in enumerate(counts):
            label = f" [{count} thr]" if args.compare_threads else ""
            for key in rounds[0][j][0]:
                if key == "policy":
                    continue
                idle, one, two = (statistics.median(r[j][i][key] for r in rounds) for i in range(len(CONDITIONS)))
                if "xruns" in key:
                    print(f"{key + label:32s} {idle:9.0f} {one:9.0f} {two:9.0f}", flush=True)
                    continue
                higher_is_better = "/s" in key
                ratios = [(idle / v if higher_is_better else v / idle) if v and idle else float("nan")
                          for v in (one, two)]
                worst = [max(w, r) for w, r in zip(worst, ratios)]
                print(f"{key + label:32s} {idle:9.2f} {one:9.2f} {two:9.2f} {ratios[0]:8.2f} {ratios[1]:8.2f}",
                      flush=True)
    print(f"\nworst ratio: {worst[0]:.2f} beside one busy process (bar 1.5), {worst[1]:.2f} beside two (bar 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
