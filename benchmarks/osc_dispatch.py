"""Decode + dispatch cost of a control message: python-osc vs pyliblo3 (and a hand-written decoder,
the floor without pattern matching), on the same seeded random mix of control messages.

    PYTHONPATH=. python benchmarks/osc_dispatch.py [--messages 20000] [--seed 0]

Every path ends where the service's handler would be called: the control found for the address
(or address pattern) and its arguments checked (``controls.parse_args``).
  * in process (bytes -> control + values, no socket): the hand-written decoder + dict lookup (it
    knows no patterns: those messages miss), and python-osc as the service uses it
    (``osc.incoming``: python-osc's OscMessage and Dispatcher pattern matching);
  * through a UDP socket on localhost (batches of 100 datagrams sent, then timed while received
    and dispatched): the same two, and pyliblo3 (a ``liblo.Server`` with one method per control
    address, which liblo matches against incoming patterns itself; pyliblo3 cannot decode bytes
    that did not arrive on its own socket, e.g. the viewer's WebSocket messages).
Prints microseconds per message (median of 5 runs) for each.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import random
import socket
import statistics
import time

from immersions_osc.osc.controls import CONTROL_BY_ADDRESS, parse_args
from immersions_osc.service.dispatch import MATCH
from immersions_osc.osc.incoming import decode
from immersions_osc.osc.protocol import decode_packet


def message_mix(n: int, seed: int) -> list[bytes]:
    """Seeded random control messages, built by python-osc's message builder."""
    from pythonosc.osc_message_builder import OscMessageBuilder

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rng.randrange(5)
        if kind == 0:
            address, args = "/immersions/player/volume", [("f", rng.uniform(0, 2))]
        elif kind == 1:
            address, args = "/immersions/player/play", [("T" if rng.random() < 0.5 else "F", None)]
        elif kind == 2:
            address, args = "/immersions/target/channel", [("s", "encoder.blocks.2.relu1"), ("i", rng.randrange(64)),
                                                           ("f", rng.uniform(-2, 2))]
        elif kind == 3:
            address, args = "/immersions/*/volume", [("f", rng.uniform(0, 2))]
        else:
            address, args = "/immersions/target/neurons", [("i", rng.randrange(15000)) for _ in range(8)]
        b = OscMessageBuilder(address)
        for tag, value in args:
            b.add_arg(value, tag) if value is not None else b.add_arg(tag == "T")
        out.append(b.build().dgram)
    return out


def handwritten(data: bytes) -> int:
    n = 0
    for address, _, args in decode_packet(data):
        control = CONTROL_BY_ADDRESS.get(address)
        if control is not None:
            parse_args(control, args)
            n += 1
    return n


def python_osc(data: bytes) -> int:
    n = 0
    for m in decode(data):
        for control in MATCH(m.address):
            parse_args(control, m.args)
            n += 1
    return n


def in_process(fn, messages: list[bytes]) -> float:
    t0 = time.perf_counter()
    for d in messages:
        fn(d)
    return (time.perf_counter() - t0) / len(messages) * 1e6


def over_udp(receive_batch, port: int, messages: list[bytes], batch: int = 100) -> float:
    """µs per message to receive and dispatch batches of datagrams already queued on the socket."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    total = 0.0
    for i in range(0, len(messages), batch):
        chunk = messages[i:i + batch]
        for d in chunk:
            sender.sendto(d, ("127.0.0.1", port))
        t0 = time.perf_counter()
        receive_batch(len(chunk))
        total += time.perf_counter() - t0
    sender.close()
    return total / len(messages) * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import pyliblo3 as liblo

    messages = message_mix(args.messages, args.seed)
    matched = sum(python_osc(d) for d in messages)
    assert matched == len(messages), "every message of the mix names a control"

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("127.0.0.1", 0))

    def socket_batch(fn):
        def receive(n):
            for _ in range(n):
                fn(sock.recv(65536))
        return receive

    server = liblo.Server(proto=liblo.UDP)  # a free port
    seen = [0]

    def on_message(path, values, types, src, control):
        parse_args(control, values)
        seen[0] += 1

    for address, control in CONTROL_BY_ADDRESS.items():
        server.add_method(address, None, on_message, control)

    def liblo_batch(n):
        target = seen[0] + n
        while seen[0] < target:
            server.recv(1000)

    results: dict[str, list[float]] = {}
    for _ in range(args.runs):  # interleaved, so that load on the machine hits every path alike
        for name, measure in [
            ("hand-written decoder + dict lookup, in process", lambda: in_process(handwritten, messages)),
            ("python-osc (service.incoming), in process", lambda: in_process(python_osc, messages)),
            ("hand-written decoder, UDP", lambda: over_udp(socket_batch(handwritten), sock.getsockname()[1], messages)),
            ("python-osc (service.incoming), UDP", lambda: over_udp(socket_batch(python_osc), sock.getsockname()[1],
                                                                    messages)),
            ("pyliblo3 Server, UDP", lambda: over_udp(liblo_batch, server.port, messages)),
        ]:
            results.setdefault(name, []).append(measure())
    print(f"osc_dispatch: {len(messages)} control messages (seed {args.seed}: volume f, play T/F, "
          f"target/channel sif, pattern /immersions/*/volume f, target/neurons 8 x i), median of {args.runs} runs")
    for name, values in results.items():
        print(f"  {name:48s}: {statistics.median(values):7.2f} µs/message")
    print("  (the hand-written decoder matches no patterns: 1 message in 5 of the mix is a lookup miss for it)")
    server.free()
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
