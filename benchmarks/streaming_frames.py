"""Live input: CPU time per activation frame, the full-window forward against streaming.

    PYTHONPATH=. python benchmarks/streaming_frames.py [--presets small seed] [--threads 1]
        [--rounds 5] [--frame-rate 30] [--serve SECONDS [--port 47120]]

What ``serve --source input`` does per frame, side by side in one run, interleaved round by
round (a change of the machine's load touches both alike):

* ``window``: the path before streaming, ``engine.current_activations`` -- the model's full
  forward over the analysis window (its receptive field, 4.8 s) ending now;
* ``stream``: ``engine.StreamingActivations.feed`` of one frame's new audio (sample_rate /
  frame_rate samples, 1.44 hops at 30 frames/s: frames of one and of two hops alternate) --
  ``model/streaming.py`` computes the new columns of every layer, and the newest of them are
  copied out in the layout's order.

Random weights (the time does not depend on them).  CPU time (``time.process_time``) per frame:
the median of the window's forwards, the mean of the streamed frames (their cost alternates), and
their 95th percentile and maximum (a frame beside a busy process is sometimes much slower).
Also printed: the largest relative difference, over the layers, between the last streamed frame
and the full forward of all the audio the stream heard, and the load average before and after.
``--serve``: the whole service on live input (``serve`` below), frames/s sent and optimizer steps/s.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse
import gc
import os
import statistics
import time

import numpy as np
import torch

from immersions_osc.activations import capture_activations
from immersions_osc.config import Config, ModelConfig
from immersions_osc.model import build_model
from immersions_osc.service.engine import NeuronVector, StreamingActivations, current_activations


def model_order_vector(model) -> NeuronVector:
    """A NeuronVector in the model's own order (the layout's order does not change the cost)."""
    shapes = {name: (a.shape[1], a.shape[2] if a.dim() == 4 else 1)
              for name, a in capture_activations(model, torch.zeros(1, model.window_samples)).items()}
    sizes = [c * f for c, f in shapes.values()]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return NeuronVector(list(shapes), shapes, offsets, np.arange(offsets[-1]))


def cpu_seconds(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def measure(preset: str, rounds: int, frame_rate: float) -> dict:
    torch.manual_seed(0)
    model = build_model(Config(model=ModelConfig(preset=preset))).eval()
    vector = model_order_vector(model)
    sr, window = model.sample_rate, model.window_samples
    chunk = int(round(sr / frame_rate))
    per_round = int(frame_rate)  # one second of live input per round
    rng = np.random.default_rng(1)
    audio = (0.1 * rng.standard_normal(window + (rounds + 1) * per_round * chunk)).astype(np.float32)
    live = StreamingActivations(model, vector)
    live.restart(audio[:window])
    heard = window
    for _ in range(per_round):  # warm-up: one second, untimed
        live.feed(audio[heard:heard + chunk])
        heard += chunk
    # A full collection of the interpreter's objects (~60 ms of CPU with torch loaded, every few
    # hundred frames here, triggered by the window path's hook objects) is no cost of either path:
    # the objects made so far are moved out of the collector's way (the maximum shows what is left).
    gc.collect()
    gc.freeze()
    full, streamed = [], []
    for _ in range(rounds):
        now = torch.from_numpy(audio[heard - window:heard])
        full.extend(cpu_seconds(lambda: current_activations(model, now, vector)) for _ in range(2))
        for _ in range(per_round):
            piece = audio[heard:heard + chunk]
            streamed.append(cpu_seconds(lambda: live.feed(piece)))
            heard += chunk
    # exactness: the last streamed frame against the full forward of everything the stream heard
    hop = model.scaleogram.cfg.hop_length
    last = live.feed(np.zeros(0, np.float32))
    reference = current_activations(model, torch.from_numpy(audio[:heard // hop * hop]), vector)
    error = max(float(np.abs(last[a:b] - reference[a:b]).max() / max(np.abs(reference[a:b]).max(), 1e-12))
                for a, b in zip(vector.offsets[:-1], vector.offsets[1:]))
    return {"window": statistics.median(full), "stream": statistics.mean(streamed),
            "stream_p95": float(np.percentile(streamed, 95)), "stream_max": max(streamed), "error": error, "frames": len(streamed), "forwards": len(full)}


def serve(seconds: float, port: int, preset: str = "small") -> None:
    """The service in this process on live input (no sound device: noise is written into the input
    ring at the real-time rate, in blocks of 512), one subscriber of the summary stream on
    ``port + 1``: frames/s sent after 5 s of warm-up, and the optimizer's steps/s meanwhile (it
    runs too, as in a live set).  ``small``: the shipped checkpoint; another preset: a checkpoint
    of it with random weights (the speed does not depend on them), laid out by the service."""
    import shutil
    import socket
    import tempfile
    import threading

    sys.path.insert(0, str(REPO / "tests"))
    from service_harness import in_process_config

    from immersions_osc.osc.protocol import encode_message
    from immersions_osc.service.server import Service

    cfg = in_process_config(source="input", port=port, loops_dir="")
    folder = None  # the random-weight checkpoint and its layout (removed afterwards)
    if preset != "small":  # the service lays it out on its first start
        from immersions_osc.checkpoint import save_checkpoint

        model_cfg = Config(model=ModelConfig(preset=preset))
        folder = tempfile.mkdtemp(prefix="immersions-bench-")
        cfg.service.checkpoint = os.path.join(folder, f"{preset}.pt")
        save_checkpoint(cfg.service.checkpoint, build_model(model_cfg), model_cfg)
    service = Service(cfg, log=lambda line: None).start()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", port + 1))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.sendto(encode_message("/immersions/stream/subscribe", "sis", ["127.0.0.1", port + 1, "summary"]),
              ("127.0.0.1", port))
    stop = threading.Event()

    def live_input() -> None:
        rng, due = np.random.default_rng(0), time.monotonic()
        while not stop.is_set():
            service.player.write_input((0.1 * rng.standard_normal(512)).astype(np.float32))
            due += 512 / service.sample_rate
            stop.wait(max(0.0, due - time.monotonic()))

    feeder = threading.Thread(target=live_input, daemon=True)
    feeder.start()
    try:
        time.sleep(5.0)
        sent, start = service.stream.frames_sent, time.monotonic()
        time.sleep(seconds)
        rate = (service.stream.frames_sent - sent) / (time.monotonic() - start)
        live = getattr(service.stream, "_live", None)
        path = "streaming" if live is not None else "full window per frame"
        print(f"serve, {preset}, live input ({path}): {rate:.1f} frames/s sent ({cfg.service.frame_rate:g} asked), "
              f"optimizer {service.generator.stats.steps_per_second:.1f} steps/s")
    finally:
        stop.set()
        feeder.join()
        service.close()
        rx.close()
        tx.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presets", nargs="+", default=["small", "seed"])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the targets are stated)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of (2 window forwards, 1 s of streamed frames)")
    ap.add_argument("--frame-rate", type=float, default=30.0)
    ap.add_argument("--serve", type=float, default=0.0, metavar="SECONDS",
                    help="also run the service in this process on live input for SECONDS and print its frames/s")
    ap.add_argument("--serve-presets", nargs="+", default=["small"], help="with --serve: the models served, one "
                                                                           "after the other (default: small)")
    ap.add_argument("--port", type=int, default=47120, help="with --serve: its OSC port (the subscriber: port + 1)")
    args = ap.parse_args()
    policy = threads.apply(args.threads)
    before = os.getloadavg()
    print(f"{policy.describe()}; CPU time per live-input frame at {args.frame_rate:g} frames/s; "
          f"load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}")
    print(f"{'preset':8s} {'window ms':>10s} {'stream ms':>10s} {'p95':>7s} {'max':>7s} {'ratio':>7s} {'rel. diff':>10s}")
    for preset in args.presets:
        r = measure(preset, args.rounds, args.frame_rate)
        print(f"{preset:8s} {r['window'] * 1e3:10.1f} {r['stream'] * 1e3:10.2f} {r['stream_p95'] * 1e3:7.2f} "
              f"{r['stream_max'] * 1e3:7.2f} "
              f"{r['window'] / r['stream']:6.1f}x {r['error']:10.1e}   "
              f"({r['forwards']} window forwards, {r['frames']} streamed frames)")
    for preset in args.serve_presets if args.serve > 0 else []:
        serve(args.serve, args.port, preset)
    after = os.getloadavg()
    print(f"load average after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")


if __name__ == "__main__":
    main()
