"""Serving the pitch ears: `immersions-osc serve --model examples/pesto_ear.py:build` (and CREPE)
on one torch thread -- activation frames/s at the stream's 30 frames/s, and the loop optimizer
running for an output pitch bin at the same time.

    python benchmarks/pitch_serve.py [--models examples/pesto_ear.py:build examples/crepe_ear.py:build]
        [--seconds 20] [--threads 1]

For each model: the service as a subprocess (``--audio none``: the real-time clock paces the
playhead; ``--threads``), one OSC subscriber to the full stream.  First the stream alone
(no target: the optimizer idles), then with a pitch bin as the target (``/immersions/target/channel``):
complete frames/s received (every neuron in each), and the optimizer's steps/s as the service
reports it in ``/immersions/status`` (median over the window), plus the seconds until the first
optimized loop was published.  Needs the models' packages (see docs/pitch_ears.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from immersions_osc import threads  # noqa: E402,F401  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse
import os
import socket
import tempfile
import time

import numpy as np

from immersions_osc.osc.protocol import FrameAssembler, decode_packet, parse_chunk
from service_harness import OSCClient, ServiceProcess

RENEW = 20.0  # seconds between renewals of the subscription (it expires: service.subscription_seconds)
TARGETS = {"pesto": ("encoder.final_norm", 207), "crepe": ("pitch", 228)}  # 440 Hz in both


def window(osc: OSCClient, seconds: float) -> tuple[float, list[int], int]:
    """(complete frames/s, the optimizer steps/s of each status seen, loops published) over ``seconds``."""
    assembler = FrameAssembler()
    complete, steps, loops = 0, [], 0
    start = renewed = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if time.perf_counter() - renewed > RENEW:
            osc.subscribe("all")
            renewed = time.perf_counter()
        osc.sock.settimeout(0.5)
        try:
            data, _ = osc.sock.recvfrom(65536)
        except socket.timeout:
            continue
        for address, tags, values in decode_packet(data):
            if address == "/immersions/activations":
                complete += assembler.add(parse_chunk(tags, values)) is not None
            elif address == "/immersions/status":
                steps.append(float(values[1]))
            elif address == "/immersions/loop/new":
                loops += 1
    return complete / (time.perf_counter() - start), steps, loops


def bench(spec: str, seconds: float, threads_: int, extra: list[str], first_wait: float) -> str:
    name = "pesto" if "pesto" in spec else "crepe"
    layer, channel = TARGETS[name]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        service = ServiceProcess("--model", spec, "--audio", "none", "--threads", str(threads_), "--loops-dir", tmp,
                                 "--frame-rate", "30", *extra)
        osc = OSCClient(service.port)
        try:
            osc.wait_ready(timeout=600)
            ready = time.perf_counter() - t0
            osc.subscribe("all")
            osc.wait_for("/immersions/ack", predicate=lambda a: a == ["/immersions/stream/subscribe"])
            time.sleep(1.0)
            idle_fps, _, _ = window(osc, seconds)
            t1 = time.perf_counter()
            osc.send("/immersions/target/channel", "sif", layer, channel, 1.0)
            first = f"none within {first_wait:.0f} s"
            while time.perf_counter() - t1 < first_wait:  # renewing the subscription (it expires)
                osc.subscribe("all")
                try:
                    osc.wait_for("/immersions/loop/new", timeout=min(RENEW, first_wait - (time.perf_counter() - t1)))
                    first = f"first after {time.perf_counter() - t1:.1f} s"
                    break
                except TimeoutError:
                    continue
            fps, steps, loops = window(osc, seconds)
            rate = float(np.median(steps)) if steps else float("nan")
        finally:
            osc.close()
            code = service.stop()
    if not loops and "none within" in first:  # say why: the service's own last lines
        print("\n".join(service.output.splitlines()[-15:]))
    return (f"{spec}: ready in {ready:.1f} s; stream alone {idle_fps:.1f} frames/s; while optimizing "
            f"{layer} channel {channel}: {fps:.1f} frames/s, optimizer {rate:.2f} steps/s "
            f"({loops} loops published in the window of {seconds:.0f} s; {first}); exit {code}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["examples/pesto_ear.py:build", "examples/crepe_ear.py:build"])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--first-wait", type=float, default=120.0, help="seconds to wait for the first loop")
    ap.add_argument("--serve-args", default="--config examples/pitch_sonification.yaml --loop-seconds 1",
                    help="more serve arguments (default: %(default)s)")
    args = ap.parse_args(argv)
    os.chdir(REPO)
    print(f"serve on {args.threads} thread(s), 30 frames/s asked, {args.serve_args}; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    for spec in args.models:
        print(bench(spec, args.seconds, args.threads, args.serve_args.split(), args.first_wait), flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
