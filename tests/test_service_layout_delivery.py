"""The layout reaches a client whole with the operating system's default UDP receive buffer
(paced chunks), missing chunks can be asked for again, and a subscribed client gets it while the
activation stream runs."""
import os
import socket
import time

import numpy as np
import pytest

from immersions_osc.layout.export import load_layout
from immersions_osc.osc.decoder import ActivationReceiver
from immersions_osc.osc.protocol import FrameAssembler, decode_packet, encode_message, parse_chunk

from service_harness import REPO, ServiceProcess

TRIES = 20


def default_buffer_socket(host: str = "127.0.0.1") -> socket.socket:
    """A client socket as any OSC tool makes one: SO_RCVBUF left at the system default."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    if os.path.exists("/proc/sys/net/core/rmem_default"):
        with open("/proc/sys/net/core/rmem_default") as f:  # an untouched socket reports the default
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == int(f.read())
    return sock


@pytest.fixture(scope="module")
def service():
    s = ServiceProcess("--audio", "none", "--loops-dir", "")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    probe.settimeout(0.5)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until it answers (the model loads first)
        probe.sendto(encode_message("/immersions/status/request", "", []), ("127.0.0.1", s.port))
        try:
            probe.recvfrom(65536)
            break
        except socket.timeout:
            continue
    probe.close()
    yield s
    s.stop()


def receive_layout(sock: socket.socket, receiver: ActivationReceiver, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while receiver.positions is None and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            break
        receiver.feed_datagram(data)
    return receiver.positions is not None


@pytest.mark.skipif(not os.path.exists("/proc/sys/net/core/rmem_default"), reason="Linux only")
def test_the_layout_arrives_whole_with_the_default_receive_buffer(service):

    expected = np.asarray(load_layout(f"{REPO}/checkpoints/small_layout.npz").positions, np.float32)
    whole = 0
    for i in range(TRIES):
        # 20 clients, each on its own loopback address (the service budgets replies per host: one
        # host asking for the layout 20 times in a few seconds would be refused, and rightly)
        sock = default_buffer_socket(f"127.0.0.{10 + i}")
        host, port = sock.getsockname()
        receiver = ActivationReceiver()
        kind = "all" if i % 2 else "summary"  # half the tries with the activation stream running too
        sock.sendto(encode_message("/immersions/stream/subscribe", "sis", [host, port, kind]),
                    ("127.0.0.1", service.port))
        sock.sendto(encode_message("/immersions/layout/request", "", []), ("127.0.0.1", service.port))
        if receive_layout(sock, receiver):
            whole += 1
            np.testing.assert_array_equal(receiver.positions, expected)
        sock.sendto(encode_message("/immersions/stream/unsubscribe", "si", [host, port]), ("127.0.0.1", service.port))
        sock.close()
    assert whole == TRIES, f"the layout arrived whole {whole} times of {TRIES}"


def test_missing_chunks_are_asked_for_again_and_complete_the_frame(service):
    """A client that lost chunks (here: it throws a seeded random half away) asks for exactly
    those and gets the whole layout: the positions keep their frame number between requests."""
    expected = np.asarray(load_layout(f"{REPO}/checkpoints/small_layout.npz").positions, np.float32).reshape(-1)
    sock = default_buffer_socket()
    sock.settimeout(5.0)

    def chunks(n=None):
        """Position chunks until ``n`` (or the whole first delivery) have come."""
        out = []
        while not out or len(out) < (n or out[0].count):
            data, _ = sock.recvfrom(65536)
            out += [parse_chunk(tags, args) for address, tags, args in decode_packet(data)
                    if address == "/immersions/layout/positions"]
        return out

    sock.sendto(encode_message("/immersions/layout/request", "", []), ("127.0.0.1", service.port))
    first = chunks()
    count = first[0].count
    lost = sorted(int(i) for i in np.random.default_rng(16).choice(count, count // 2, replace=False))
    assembler = FrameAssembler()
    assert all(assembler.add(c) is None for c in first if c.chunk not in lost)  # incomplete
    sock.sendto(encode_message("/immersions/layout/request", "i" * len(lost), lost), ("127.0.0.1", service.port))
    again = chunks(len(lost))
    assert sorted(c.chunk for c in again) == lost and {c.frame for c in again} == {first[0].frame}
    done = [r for r in map(assembler.add, again) if r is not None]
    assert len(done) == 1 and done[0][0] == first[0].frame
    np.testing.assert_array_equal(done[0][1], expected)
    # a chunk that does not exist is a clear error
    sock.sendto(encode_message("/immersions/layout/request", "i", [count]), ("127.0.0.1", service.port))
    while True:
        data, _ = sock.recvfrom(65536)
        (address, _, args), = decode_packet(data)
        if address == "/immersions/error":
            assert args == ["/immersions/layout/request",
                            f"chunk {count} out of range (0..{count - 1} at max_datagram 8192)"]
            break
    sock.close()
