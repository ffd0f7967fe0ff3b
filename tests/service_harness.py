"""Real components for service tests: a dummy-driver jackd under its own server name, the service
as a subprocess (``python -m immersions_osc serve``), and a UDP OSC client.

Each jackd gets a unique server name (``-n``) and the service finds it through
``JACK_DEFAULT_SERVER``, so tests (and anything else on the machine) never share a JACK server.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import numpy as np

from immersions_osc.audio.jack import start_dummy_jackd, stop_jackd
from immersions_osc.osc.protocol import FrameAssembler, decode_packet, encode_message, parse_chunk

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_JACKD = shutil.which("jackd") is not None


def wait_until(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.05) -> bool:
    """Poll ``condition`` every ``interval`` s until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JackServer:
    """``jackd --no-realtime -n NAME -d dummy``; ``env`` points clients at it."""

    def __init__(self, period: int = 1024, sample_rate: int = 44100, port_max: Optional[int] = None,
                 realtime: bool = False, prefix: str = "imm"):
        self.name = f"{prefix}{uuid.uuid4().hex[:8]}"
        self.sample_rate, self.period = sample_rate, period
        self.proc = start_dummy_jackd(sample_rate, period, name=self.name, port_max=port_max, realtime=realtime)
        self.env = dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_AUDIO_RESERVATION="1")

    def client(self, name: str):
        import jack

        return jack.Client(name, no_start_server=True, servername=self.name)

    def restart(self) -> None:
        """A new server of the same name (after this one died or was stopped)."""
        self.proc = start_dummy_jackd(self.sample_rate, self.period, name=self.name)

    def has_port(self, name: str) -> bool:
        """Whether a port called ``name`` exists now (asked by a short-lived client)."""
        client = self.client("probe")
        try:
            return bool(client.get_ports(name))
        finally:
            client.close()

    def stop(self) -> None:
        stop_jackd(self.proc)


class ServiceProcess:
    """The service as a subprocess on a free port (``python -m immersions_osc serve``: another
    interpreter, e.g. a venv with the built wheel, with ``python``); ``stop`` sends SIGINT and waits."""

    def __init__(self, *args: str, env: Optional[dict] = None, port: Optional[int] = None, cwd: str = REPO,
                 python: str = sys.executable):
        self.port = port or free_udp_port()
        self.proc = subprocess.Popen([python, "-m", "immersions_osc", "serve", "--port", str(self.port),
                                      *args], cwd=cwd, env=env or dict(os.environ), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.output = ""

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.output += out or ""
        return self.proc.returncode


class OSCClient:
    """A UDP socket that sends to the service and collects what comes back."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.target = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def send(self, address: str, tags: str = "", *args) -> None:
        self.sock.sendto(encode_message(address, tags, list(args)), self.target)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def subscribe(self, kind: str = "all") -> None:
        self.send("/immersions/stream/subscribe", "sis", "127.0.0.1", self.port, kind)

    def _datagrams(self, timeout: float) -> Iterator[list[tuple[str, str, list]]]:
        """The decoded messages of each datagram that arrives within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                return
            yield decode_packet(data)

    def receive(self, timeout: float = 0.5) -> list[tuple[str, str, list]]:
        """Every message that arrives within ``timeout`` seconds."""
        return [message for messages in self._datagrams(timeout) for message in messages]

    def receive_until_quiet(self, quiet: float = 2.0, timeout: float = 60.0) -> list[tuple[str, str, list]]:
        """Every message until none has arrived for ``quiet`` seconds (at most ``timeout`` seconds)."""
        deadline, got = time.monotonic() + timeout, []
        while time.monotonic() < deadline:
            batch = self.receive(min(quiet, deadline - time.monotonic()))
            if not batch:
                break
            got += batch
        return got

    def wait_for(self, address: str, timeout: float = 30.0, predicate=None) -> tuple[str, list]:
        """Wait for a message at ``address`` (and ``predicate(args)``); returns (tags, args)."""
        for messages in self._datagrams(timeout):
            for addr, tags, args in messages:
                if addr == address and (predicate is None or predicate(args)):
                    return tags, args
        raise TimeoutError(f"no {address} within {timeout} s")

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Ask for the status until the service answers (it loads the model first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send("/immersions/status/request")
            try:
                self.wait_for("/immersions/status", timeout=0.5)
                return
            except TimeoutError:
                continue
        raise TimeoutError("the service did not answer /immersions/status/request")

    def frames(self, n: int, address: str = "/immersions/activations", timeout: float = 30.0):
        """The next ``n`` complete reassembled frames: list of (frame id, values)."""
        assembler, out = FrameAssembler(), []
        for messages in self._datagrams(timeout):
            for addr, tags, args in messages:
                if addr == address:
                    done = assembler.add(parse_chunk(tags, args))
                    if done is not None:
                        out.append(done)
            if len(out) >= n:
                break
        return out

    def close(self) -> None:
        self.sock.close()


@contextmanager
def serving(*args: str, env: Optional[dict] = None) -> Iterator[tuple[ServiceProcess, OSCClient]]:
    """The service as a subprocess and an OSC client, once the service answers; afterwards the client
    is closed and the service stopped (exit code: ``service.proc.returncode``, output: ``service.output``)."""
    service = ServiceProcess(*args, env=env)
    osc = OSCClient(service.port)
    try:
        osc.wait_ready()
        yield service, osc
    finally:
        osc.close()
        service.stop()


def in_process_config(**service):
    """A config for an in-process ``Service``: no audio device, any free port, no loop files,
    the shipped checkpoint; ``service`` overrides more ``service.*`` fields."""
    from immersions_osc.config import Config

    cfg = Config()
    cfg.service.audio = "none"
    cfg.service.port = 0
    cfg.service.loops_dir = ""
    cfg.service.checkpoint = os.path.join(REPO, "checkpoints", "small.pt")
    for name, value in service.items():
        setattr(cfg.service, name, value)
    return cfg


def running_viewer(**service):
    """An in-process service with the browser viewer on a free port, warmed up; a generator for
    pytest fixtures (yields the WebServer, closes both afterwards)."""
    from immersions_osc.service.server import Service
    from immersions_osc.web.server import WebServer

    running = Service(in_process_config(**service), log=lambda line: None).start()
    server = WebServer(running, "127.0.0.1", 0).start()
    try:
        assert server.warmed.wait(60)
        yield server
    finally:
        server.close()
        running.close()


def stream_input(osc: OSCClient) -> np.ndarray:
    """Subscribe ``osc`` to the activations of the live input (float16 frames); returns the mean of
    the next 5 frames (the input as it is now)."""
    osc.send("/immersions/stream/source", "s", "input")
    osc.wait_for("/immersions/ack", predicate=lambda a: a == ["/immersions/stream/source"])
    osc.send("/immersions/stream/format", "s", "float16")
    osc.subscribe()
    return np.mean([v for _, v in osc.frames(5)], axis=0)


def frames_after_input_change(osc: OSCClient, n: int = 5) -> list[np.ndarray]:
    """``n`` activation frames once the whole analysis window holds the new input."""
    time.sleep(6.0)
    osc.receive(0.2)
    return [v for _, v in osc.frames(n)]


def relative_change(before: np.ndarray, after: np.ndarray) -> float:
    return float(np.linalg.norm(after - before) / max(np.linalg.norm(before), 1e-9))
