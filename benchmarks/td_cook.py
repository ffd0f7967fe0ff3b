"""TouchDesigner's per-frame Python, timed outside TouchDesigner with the very same code.

    PYTHONPATH=. python benchmarks/td_cook.py [--layout checkpoints/small_layout.npz] [--frames 300]
        [--format uint8] [--max-datagram 8192]

A frame is what the service sends for one activation vector (encoded by the service's own
encoder, values drawn from a seeded gamma distribution with 60 % zeros, like ReLU outputs) for the
layout's neuron count.  Per frame it times

* decode: every chunk through immersions_osc/clients/touchdesigner/osc_in_callbacks.py's onReceiveOSC (raw bytes -> the shared
  ActivationReceiver), the OSC In DAT's work;
* cook: immersions_osc/clients/touchdesigner/script_chop_callbacks.py's onCook into a stand-in Script CHOP whose
  copyNumpyArray copies the block (what TouchDesigner's does), the Script CHOP's work;
* the list-based cook ("previous cook" in the output: re-normalising the positions every frame and
  `.tolist()` per channel) on the same frames, side by side, for the ratio.

Prints median and 95th percentile per frame (wall clock, and the thread's CPU time, which other
work preempting it does not inflate), the thread count and the machine's load average (the
wall-clock figures depend on whatever else runs on the machine: say so when quoting them).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the TouchDesigner stand-ins (tests/td_fakes.py)

import argparse
import os
import time

import numpy as np

from immersions_osc.osc import decoder
from immersions_osc.osc.protocol import encode_vector

from td_fakes import BlockScriptCHOP, FakeComp, FakeDat, load_td


def previous_cook(scriptOp, comp, values, positions, layers):
    """The list-based cook, the yardstick for the ratio: positions re-normalised, colours
    re-indexed and every channel converted to a Python list, every frame."""
    xy = decoder.normalized_positions(positions)
    light = decoder.brightness(values, comp.par.Gain.eval())
    colours = decoder.layer_colors(int(layers.max()) + 1)[layers] * light[:, None]
    columns = {"tx": xy[:, 0], "ty": xy[:, 1], "r": colours[:, 0], "g": colours[:, 1], "b": colours[:, 2],
               "activation": light}
    scriptOp.clear()
    scriptOp.numSamples = len(values)
    for name, column in columns.items():
        scriptOp.appendChan(name).vals = column.astype(np.float32).tolist()


def stats(ms):
    a = np.asarray(ms)
    return f"median {np.median(a):.2f} ms, p95 {np.percentile(a, 95):.2f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layout", default=str(REPO / "checkpoints" / "small_layout.npz"))
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--format", default="uint8", choices=["uint8", "float16"])
    ap.add_argument("--max-datagram", type=int, default=8192)
    args = ap.parse_args()

    positions, layers, names = decoder.load_layout_npz(args.layout)
    n = len(positions)
    rng = np.random.default_rng(0)
    frames = []
    for f in range(args.frames):
        v = rng.gamma(0.7, 1.0, n).astype(np.float32) * (rng.random(n) > 0.6)
        frames.append(encode_vector("/immersions/activations", f, v, args.format, args.max_datagram))

    osc_in, chop = load_td("osc_in_callbacks"), load_td("script_chop_callbacks")
    comp = FakeComp(layout=args.layout)
    dat = FakeDat(comp)
    script = BlockScriptCHOP(comp, "/bench/activations")
    old = BlockScriptCHOP(comp, "/bench/activations")
    decode_ms, cook_ms, old_ms, cpu_ms, old_cpu_ms = [], [], [], [], []
    for k, chunks in enumerate(frames):
        c0, t0 = time.thread_time(), time.perf_counter()
        for d in chunks:
            osc_in.onReceiveOSC(dat, 0, "", d, 0.0, "", [], None)
        t1 = time.perf_counter()
        chop.onCook(script)
        c2, t2 = time.thread_time(), time.perf_counter()
        previous_cook(old, comp, comp.fetch("immersions").values, positions, layers)
        c3, t3 = time.thread_time(), time.perf_counter()
        if k >= 5:  # the first frames prepare the layout and warm the caches
            decode_ms.append((t1 - t0) * 1e3)
            cook_ms.append((t2 - t1) * 1e3)
            old_ms.append((t3 - t2) * 1e3)
            cpu_ms.append((c2 - c0) * 1e3)
            old_cpu_ms.append((c3 - c2) * 1e3)
    assert comp.fetch("immersions").frame == args.frames - 1, "frames were lost in decoding"
    total = np.add(decode_ms, cook_ms)
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"layout {Path(args.layout).name}: {n} neurons, {len(names)} layers; {args.frames} frames of "
          f"{len(frames[0])} datagrams ({args.format}, max datagram {args.max_datagram} B)")
    print(f"conditions: OMP_NUM_THREADS={threads}, load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs (other work on the machine counts)")
    print(f"decode (OSC In DAT callbacks): {stats(decode_ms)} per frame")
    print(f"cook (Script CHOP, copyNumpyArray): {stats(cook_ms)} per frame")
    print(f"decode + cook: {stats(total)} per frame wall clock  (target: under 3 ms)")
    print(f"decode + cook, CPU time of this thread (what preemption by other work does not inflate): "
          f"{stats(cpu_ms)} per frame; previous cook {stats(old_cpu_ms)}")
    print(f"previous cook (re-normalise + .tolist(); TouchDesigner's own conversion of those lists not "
          f"counted): {stats(old_ms)} per frame wall clock; in CPU time this cook + decode is "
          f"{np.median(old_cpu_ms) / np.median(cpu_ms):.1f}x less than the previous cook alone (medians, same run)")


if __name__ == "__main__":
    main()
