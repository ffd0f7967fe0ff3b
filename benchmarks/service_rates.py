"""End-to-end rates of the live service with real components, for each audio backend and block
size: a dummy-driver jackd (paced in real time) at the block size, the service as a subprocess
(`immersions-osc serve --audio jack` or `--audio portaudio`, the latter through PortAudio's JACK
host API), a JACK client listening to the service's output and an OSC client subscribed to the
full stream; optionally busy background processes (the "busy laptop").

    PYTHONPATH=. python benchmarks/service_rates.py [--seconds 60] [--backends jack portaudio]
        [--blocks 256 512 1024] [--load 1] [--audio-priority 70] [--checkpoint checkpoints/small.pt]
        [--frame-rate 30] [--format uint8] [--device cpu]

For each (backend, block) it prints: activation frames/s received complete (every neuron), audio
frames/s heard at the listener, xruns / underflows over the run (JACK's xrun count; PortAudio's
output-underflow flags, which its JACK host API raises on every server xrun too),
control-to-acknowledgement latency (median of 20 volume changes), control-to-audible-effect latency
(volume 0: until the level at the listener halves; the volume ramps over one block), and the
optimizer's steps/s.  Needs jackd (Debian jackd2) and, for portaudio, libportaudio2.
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
import subprocess
import time

import numpy as np

from immersions_osc.layout.export import load_layout
from immersions_osc.osc.protocol import FrameAssembler, decode_packet, parse_chunk
from service_harness import JackServer, OSCClient, ServiceProcess

SOURCES = {"jack": ["immersions:out"], "portaudio": ["PortAudio:out_0"]}


def _listen(server_name: str, source: str, rms, frames, ready, stop) -> None:
    """The listener's own process: a JACK client and nothing else, so its (Python) callback never
    waits for a GIL held by this benchmark's busy threads -- a late listener would count as an
    xrun of the whole JACK graph, not of the service."""
    import jack

    client = jack.Client("bench-listener", no_start_server=True, servername=server_name)
    port = client.inports.register("in")

    @client.set_process_callback
    def process(n):
        a = port.get_array()
        rms.value = float(np.sqrt(np.mean(a * a)))
        frames.value += n

    client.activate()
    deadline = time.monotonic() + 30
    while not client.get_ports(source) and time.monotonic() < deadline:
        time.sleep(0.1)
    client.connect(source, port)
    ready.set()
    stop.wait()
    client.deactivate()
    client.close()


class Listener:
    """What reaches the JACK graph from the service: level and frames, from a separate process."""

    def __init__(self, server: JackServer, source: str):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self._rms, self._frames = ctx.Value("d", 0.0, lock=False), ctx.Value("q", 0, lock=False)
        self._ready, self._stop = ctx.Event(), ctx.Event()
        self.proc = ctx.Process(target=_listen, args=(server.name, source, self._rms, self._frames, self._ready,
                                                      self._stop), daemon=True)
        self.proc.start()
        if not self._ready.wait(60):
            raise TimeoutError(f"the listener could not connect to {source}")

    @property
    def rms(self) -> float:
        return self._rms.value

    @property
    def frames(self) -> int:
        return self._frames.value

    def close(self):
        self._stop.set()
        self.proc.join(10)


def busy_processes(n: int, seconds: float) -> list[subprocess.Popen]:
    """``n`` CPU-burning processes, each ending by itself after ``seconds``."""
    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def measure(args, backend: str, block: int, n_neurons: int) -> dict:
    server = JackServer(period=block, realtime=args.jackd_realtime)
    extra = ["--block-size", str(block)] if backend == "portaudio" else []
    service = ServiceProcess("--audio", backend, *extra, "--checkpoint", args.checkpoint, "--frame-rate",
                             str(args.frame_rate), "--device", args.device, "--loops-dir", "", "--threads", str(args.policy.intra_op), "--audio-priority",
                             str(args.audio_priority), "--audio-process" if args.audio_process else "--no-audio-process",
                             env=server.env)
    osc = OSCClient(service.port)
    load = []
    try:
        osc.wait_ready()
        listener = Listener(server, SOURCES[backend][0])
        osc.send("/immersions/stream/format", "s", args.format)
        osc.subscribe("all")
        osc.wait_for("/immersions/ack", predicate=lambda a: a == ["/immersions/stream/subscribe"])
        time.sleep(2.0)
        load = busy_processes(args.load, args.seconds + 60)
        time.sleep(1.0)
        _, status0 = osc.wait_for("/immersions/status", timeout=5)
        osc.receive(0.3)
        assembler = FrameAssembler()
        complete = wrong = 0
        steps = []
        heard0 = listener.frames
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            osc.sock.settimeout(0.5)
            try:
                data, _ = osc.sock.recvfrom(65536)
            except socket.timeout:
                continue
            for address, tags, values in decode_packet(data):
                if address == "/immersions/activations":
                    done = assembler.add(parse_chunk(tags, values))
                    if done is not None:
                        complete += 1
                        wrong += done[1].shape != (n_neurons,)
                elif address == "/immersions/status":
                    steps.append(values[1])
        elapsed = time.perf_counter() - start
        heard = listener.frames - heard0
        _, status1 = osc.wait_for("/immersions/status", timeout=5)
        xruns = status1[2] - status0[2]
        osc.send("/immersions/stream/unsubscribe", "si", "127.0.0.1", osc.port)
        time.sleep(0.5)
        osc.receive(0.3)
        acks = []
        for i in range(20):
            t0 = time.perf_counter()
            osc.send("/immersions/player/volume", "f", 0.5 + 0.01 * (i % 2))
            osc.wait_for("/immersions/ack", timeout=5, predicate=lambda a: a == ["/immersions/player/volume"])
            acks.append(time.perf_counter() - t0)
            time.sleep(0.02)
        effects = []
        for _ in range(7):
            osc.send("/immersions/player/volume", "f", 0.8)
            time.sleep(0.4)
            if listener.rms < 1e-4:
                continue  # between loops / silent start: skip this trial
            before = listener.rms
            t0 = time.perf_counter()
            osc.send("/immersions/player/volume", "f", 0.0)
            while listener.rms > 0.5 * before and time.perf_counter() - t0 < 2:
                time.sleep(0.0005)
            effects.append(time.perf_counter() - t0)
        listener.close()
    finally:
        for p in load:
            p.kill()
            p.wait()
        osc.close()
        service.stop()
        server.stop()
    scheduling = next((line.split(": ", 2)[-1] for line in service.output.splitlines()
                       if "callback thread:" in line), "?")
    return {"backend": backend, "block": block, "fps": complete / elapsed, "wrong": wrong, "dropped": assembler.dropped,
            "audio_fps": heard / elapsed, "xruns": xruns, "seconds": elapsed, "ack_ms": 1000 * np.median(acks),
            "effect_ms": 1000 * np.median(effects) if effects else float("nan"), "trials": len(effects),
            "steps": float(np.mean(steps)) if steps else float("nan"), "scheduling": scheduling}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--backends", nargs="+", default=["jack", "portaudio"], choices=["jack", "portaudio"])
    ap.add_argument("--blocks", nargs="+", type=int, default=[256, 512, 1024])
    ap.add_argument("--load", type=int, default=0, help="CPU-burning background processes (default: 0)")
    ap.add_argument("--audio-priority", type=int, default=70, help="the service's --audio-priority (0 = off)")
    ap.add_argument("--audio-process", action=argparse.BooleanOptionalAction, default=True,
                    help="the service's --audio-process: the player in a process of its own (default: on)")
    ap.add_argument("--jackd-realtime", action=argparse.BooleanOptionalAction, default=True,
                    help="run the dummy jackd real-time (-R), as a musician's JACK runs (default: on)")
    ap.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "small.pt"))
    ap.add_argument("--frame-rate", type=float, default=30.0)
    ap.add_argument("--format", default="uint8")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, help="the service's torch threads (default: the thread policy)")
    args = ap.parse_args()
    args.policy = threads.apply(args.threads)  # the service process applies the same (--threads)

    layout = os.path.splitext(args.checkpoint)[0] + "_layout.npz"
    n_neurons = len(load_layout(layout).positions)
    print(f"service_rates: checkpoint {os.path.relpath(args.checkpoint, REPO)}, {n_neurons} neurons, format "
          f"{args.format}, frame rate asked {args.frame_rate:g}/s, JACK dummy driver 44.1 kHz "
          f"({'real-time' if args.jackd_realtime else 'not real-time'}), "
          f"{os.cpu_count()} CPU cores, load average before {os.getloadavg()[0]:.1f}, {args.load} busy background "
          f"process(es), --audio-priority {args.audio_priority}, "
          f"{'--audio-process' if args.audio_process else '--no-audio-process'}, {args.seconds:g} s per row", flush=True)
    print(f"{'backend':<10} {'block':>5} {'frames/s':>8} {'audio frames/s':>14} {'xruns':>6} {'ack ms':>7} "
          f"{'audible ms':>10} {'steps/s':>7}  callback thread", flush=True)
    for backend in args.backends:
        for block in args.blocks:
            r = measure(args, backend, block, n_neurons)
            print(f"{r['backend']:<10} {r['block']:>5} {r['fps']:>8.1f} {r['audio_fps']:>14.0f} {r['xruns']:>6d} "
                  f"{r['ack_ms']:>7.2f} {r['effect_ms']:>10.1f} {r['steps']:>7.1f}  {r['scheduling']}"
                  + (f"  ({r['wrong']} frames of the wrong size)" if r["wrong"] else ""), flush=True)
    print("xruns: JACK's count (jack) / PortAudio's output-underflow flags (portaudio) over the run; audible: "
          "volume 0 until the level at the listener's JACK input halves (median of up to 7 trials)")
    print(f"service {args.policy.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
