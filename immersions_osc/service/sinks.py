"""Where the streams go: UDP subscribers and the browser viewer's WebSockets ("sinks").

A :class:`Sink` is a ``send(datagram)`` callable and what it wants (``all`` or ``summary``, i.e.
everything but the activation blobs).  :class:`Sinks` is the service's registry of them, under one
lock: ``broadcast`` streams to every sink, ``reply`` answers a sender (and tells the subscribers).
:class:`UdpReply` sends to one UDP address through the service's socket; two for the same address
are equal, so a sender that is also a subscriber is answered once.
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from ..errors import UserError

Send = Callable[[bytes], None]
MAX_SINKS = 64  # subscribers + browser viewers: a flood of subscribe messages cannot grow without end


@dataclass
class Sink:
    """Somewhere the streams go: a UDP subscriber or a WebSocket.  ``kind``: all | summary."""
    send: Send
    kind: str = "all"
    failures: int = 0


class UdpReply:
    """Replies to a UDP sender through ``sock()`` (None once the service is closed); equal to
    another for the same address."""

    def __init__(self, sock: Callable[[], Optional[socket.socket]], addr: tuple[str, int]):
        self.sock, self.addr = sock, addr

    def __call__(self, data: bytes) -> None:
        sock = self.sock()
        if sock is not None:
            sock.sendto(data, self.addr)

    def __eq__(self, other) -> bool:
        return isinstance(other, UdpReply) and other.addr == self.addr

    def __hash__(self) -> int:
        return hash(self.addr)


class Sinks:
    """The registry: key -> Sink, thread-safe.  Iterating, ``in`` and ``len`` see the keys."""

    def __init__(self):
        self._sinks: dict[object, Sink] = {}
        self.lock = threading.Lock()

    def add(self, key: object, sink: Sink, limit: Optional[int] = None) -> None:
        """Register (or replace) a sink; a new key beyond ``limit`` sinks is a UserError."""
        with self.lock:
            if limit is not None and len(self._sinks) >= limit and key not in self._sinks:
                raise UserError(f"too many subscribers ({limit}); unsubscribe one first")
            self._sinks[key] = sink

    def remove(self, key: object) -> None:
        with self.lock:
            self._sinks.pop(key, None)

    def snapshot(self) -> list[Sink]:
        with self.lock:
            return list(self._sinks.values())

    def __len__(self) -> int:
        with self.lock:
            return len(self._sinks)

    def __contains__(self, key: object) -> bool:
        with self.lock:
            return key in self._sinks

    def __iter__(self) -> Iterator[object]:
        with self.lock:
            return iter(list(self._sinks))

    def broadcast(self, datagrams: list[bytes], blobs: bool = False) -> None:
        """To every sink (``blobs``: only to those that take everything)."""
        for sink in self.snapshot():
            if blobs and sink.kind != "all":
                continue
            for d in datagrams:
                try:
                    sink.send(d)
                except OSError:
                    sink.failures += 1

    def reply(self, reply: Optional[Send], datagram: bytes) -> None:
        """To the sender (when it is not a subscriber already) and to every subscriber."""
        sends = [s.send for s in self.snapshot()]
        if reply is not None and reply not in sends:
            sends.append(reply)
        for send in sends:
            try:
                send(datagram)
            except OSError:
                pass
