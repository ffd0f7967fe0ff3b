"""End-to-end rates of the live service with real components: a dummy-driver jackd (1024-frame
periods), the service as a subprocess (`immersions-osc serve`), a JACK client listening to
immersions:out and an OSC client subscribed to the full stream.

    PYTHONPATH=. python benchmarks/service_rates.py [--seconds 60] [--checkpoint checkpoints/small.pt]
        [--frame-rate 30] [--format uint8] [--device cpu]

Prints: activation frames/s received complete (every neuron), datagrams/s and MB/s received,
control-to-acknowledgement latency (median / 95th percentile of 50 volume changes),
control-to-audible-effect latency (volume 0: until the level at the listener's JACK input halves,
and until silence -- volume changes ramp over one period), JACK xruns
over the run, and the optimizer's steps/s.  Needs jackd (Debian jackd2).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse
import os
import socket
import time

import numpy as np

from immersions_osc.layout.export import load_layout
from immersions_osc.service.protocol import FrameAssembler, decode_packet, parse_chunk
from service_harness import JackServer, OSCClient, ServiceProcess


class Listener:
    def __init__(self, server: JackServer):
        self.client = server.client("bench-listener")
        self.port = self.client.inports.register("in")
        self.rms = 0.0
        self.blocks = 0
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames):
        a = self.port.get_array()
        self.rms = float(np.sqrt(np.mean(a * a)))
        self.blocks += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "small.pt"))
    ap.add_argument("--frame-rate", type=float, default=30.0)
    ap.add_argument("--format", default="uint8")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, help="the service's torch threads (default: the thread policy)")
    args = ap.parse_args()
    policy = threads.apply(args.threads)  # the service process applies the same (--threads below)

    layout = os.path.splitext(args.checkpoint)[0] + "_layout.npz"
    n_neurons = len(load_layout(layout).positions)
    server = JackServer(period=1024)
    service = ServiceProcess("--audio", "jack", "--checkpoint", args.checkpoint, "--frame-rate", str(args.frame_rate),
                             "--device", args.device, "--loops-dir", "", "--threads", str(policy.intra_op),
                             env=server.env)
    osc = OSCClient(service.port)
    try:
        osc.wait_ready()
        listener = Listener(server)
        listener.client.connect("immersions:out", listener.port)
        osc.send("/immersions/stream/format", "s", args.format)
        osc.subscribe("all")
        osc.wait_for("/immersions/ack", predicate=lambda a: a == ["/immersions/stream/subscribe"])
        time.sleep(2.0)
        _, status0 = osc.wait_for("/immersions/status", timeout=5)
        osc.receive(0.3)  # drain what queued up before the measurement
        # --- the stream ---------------------------------------------------------------------------
        assembler = FrameAssembler()
        datagrams = nbytes = complete = wrong = 0
        steps = []
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            osc.sock.settimeout(0.5)
            try:
                data, _ = osc.sock.recvfrom(65536)
            except socket.timeout:
                continue
            datagrams += 1
            nbytes += len(data)
            for address, tags, values in decode_packet(data):
                if address == "/immersions/activations":
                    done = assembler.add(parse_chunk(tags, values))
                    if done is not None:
                        complete += 1
                        wrong += done[1].shape != (n_neurons,)
                elif address == "/immersions/status":
                    steps.append(values[1])
        elapsed = time.perf_counter() - start
        _, status1 = osc.wait_for("/immersions/status", timeout=5)
        xruns = status1[2] - status0[2]
        # --- control -> ack latency -----------------------------------------------------------------
        osc.send("/immersions/stream/unsubscribe", "si", "127.0.0.1", osc.port)  # quiet, then measure
        time.sleep(0.5)
        osc.receive(0.3)
        acks = []
        for i in range(50):
            t0 = time.perf_counter()
            osc.send("/immersions/player/volume", "f", 0.5 + 0.01 * (i % 2))
            osc.wait_for("/immersions/ack", timeout=5, predicate=lambda a: a == ["/immersions/player/volume"])
            acks.append(time.perf_counter() - t0)
            time.sleep(0.02)
        # --- control -> audible effect latency (volume 0 -> silence at the listener) ---------------
        effects = []
        for _ in range(5):
            osc.send("/immersions/player/volume", "f", 0.8)
            time.sleep(0.3)
            if listener.rms < 1e-4:
                continue  # between loops / silent start: skip this trial
            before = listener.rms
            t0 = time.perf_counter()
            osc.send("/immersions/player/volume", "f", 0.0)
            while listener.rms > 0.5 * before and time.perf_counter() - t0 < 2:
                time.sleep(0.0005)
            t1 = time.perf_counter()
            while listener.rms > 1e-6 and time.perf_counter() - t0 < 2:  # the one-block fade-out
                time.sleep(0.0005)
            effects.append((t1 - t0, time.perf_counter() - t0))
        listener.client.deactivate()
        listener.client.close()
    finally:
        osc.close()
        service.stop()
        server.stop()
    acks_ms = np.array(acks) * 1000
    print(f"service_rates: checkpoint {os.path.relpath(args.checkpoint, REPO)}, {n_neurons} neurons, format "
          f"{args.format}, frame rate asked {args.frame_rate:g}/s, JACK dummy driver 44.1 kHz / 1024-frame periods, "
          f"{os.cpu_count()} CPU cores, {elapsed:.0f} s")
    print(f"service {policy.describe()}")
    print(f"activation frames received complete : {complete / elapsed:.1f} frames/s ({complete} frames, "
          f"{assembler.dropped} dropped, {wrong} of the wrong size)")
    print(f"datagrams received                  : {datagrams / elapsed:.0f} /s, {nbytes / elapsed / 1e6:.2f} MB/s")
    print(f"control -> ack latency              : median {np.median(acks_ms):.2f} ms, 95th percentile "
          f"{np.percentile(acks_ms, 95):.2f} ms (50 volume changes)")
    if effects:
        starts, silent = np.median(np.array(effects), axis=0) * 1000
        print(f"control -> audible effect latency   : median {starts:.1f} ms until the level at the listener's JACK "
              f"input halves, {silent:.1f} ms until silence (volume 0, faded over one period; {len(effects)} trials)")
    print(f"JACK xruns                          : {xruns} over {elapsed:.0f} s")
    print(f"optimizer while streaming           : {np.mean(steps) if steps else float('nan'):.1f} steps/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
