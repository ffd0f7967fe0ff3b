"""Where the streams go: UDP subscribers and the browser viewer's WebSockets ("sinks"), and the
budget of what the service sends back to whoever writes to it.

A :class:`Sink` is a ``send(datagram)`` callable, what it wants (``all`` or ``summary``, i.e.
everything but the activation blobs) and its ``group``: ``udp`` (a subscriber), ``viewer`` (a
browser page) or ``internal`` (the demo, the viewer's snapshot; not counted).  :class:`Sinks` is
the service's registry of them, under one lock:

* **One limit for all**: at most ``MAX_SINKS`` subscribers and viewers together, of which at most
  ``MAX_SUBSCRIBERS`` UDP subscribers and ``MAX_VIEWERS`` viewers, checked and registered in one
  step under the lock (no race between simultaneous clients).
* **Subscriptions expire**: a UDP subscription lives ``ttl`` seconds (``service.subscription_seconds``)
  unless renewed by sending the same ``/immersions/stream/subscribe`` again (the bundled clients
  re-subscribe every few seconds), and ends early when sends to it keep failing.  So the slots
  cannot be filled for good, and a client that went away stops being streamed to.
* **Unsubscribe only by the subscriber**: from the subscribed host itself, or from the host
  that subscribed it (``owners``; any port: one-shot tools like ``oscsend`` send from a new port
  each time).
* **Every send is bounded in time**: UDP sends never wait (``UdpReply`` sends on a non-blocking
  duplicate of the control socket; a full buffer drops the datagram), viewers queue (see
  ``web/server.py``), so a slow sink never delays the others or the shutdown.
* **Replies are budgeted** (:class:`ReplyBudget`): what goes back to a UDP sender (acks, errors,
  status, layout) is limited per sender address and in total, so a spoofed source address cannot
  turn the service into a traffic amplifier, and acks/errors echoed to the subscribers are
  limited to a few per second.
"""
from __future__ import annotations

import collections
import math
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from ..errors import UserError

Send = Callable[[bytes], None]
MAX_SUBSCRIBERS = 64  # UDP subscribers
MAX_VIEWERS = 16  # browser pages
MAX_SINKS = MAX_SUBSCRIBERS + MAX_VIEWERS  # both together, counted in one step
MAX_FAILURES = 50  # consecutive failed sends that end a subscription
COUNTED = ("udp", "viewer")


@dataclass
class Sink:
    """Somewhere the streams go.  ``kind``: all | summary; ``group``: udp | viewer | internal."""
    send: Send
    kind: str = "all"
    group: str = "internal"
    expires: float = math.inf  # time.monotonic() after which a subscription ends (unless renewed)
    owners: frozenset = frozenset()  # hosts allowed to unsubscribe it
    failures: int = 0  # consecutive failed sends
    dropped: int = 0  # datagrams dropped (a full buffer)


class UdpReply:
    """Sends to one UDP address through ``sock()`` (None once the service is closed), never waiting:
    ``sock()`` is non-blocking, a full send buffer drops the datagram (BlockingIOError).  Equal to
    another for the same address."""

    def __init__(self, sock: Callable[[], Optional[socket.socket]], addr: tuple[str, int]):
        self.sock, self.addr = sock, addr

    @property
    def host(self) -> str:
        return self.addr[0]

    def __call__(self, data: bytes) -> None:
        sock = self.sock()
        if sock is not None:
            sock.sendto(data, self.addr)

    def __eq__(self, other) -> bool:
        return isinstance(other, UdpReply) and other.addr == self.addr

    def __hash__(self) -> int:
        return hash(self.addr)


class TokenBucket:
    """``rate`` units per second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.level, self.stamp = burst, time.monotonic()

    def refill(self, now: float) -> float:
        self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.level

    def take(self, amount: float, now: float) -> bool:
        if self.refill(now) < amount:
            return False
        self.level -= amount
        return True


def budget_key(reply: "UdpReply") -> object:
    """Whose reply budget an answer is charged to: a client on this machine by its address and
    port (one local client's flood cannot starve another's answers; loopback cannot be spoofed from
    outside), a remote sender by its host (a spoofed source cannot multiply the reflection by
    ports)."""
    host = reply.host
    if host.startswith("127.") or host in ("::1", "localhost"):
        return tuple(reply.addr)
    return host


class ReplyBudget:
    """Bytes the service may send back to UDP senders: ``per_sender`` per second per source
    address (``burst`` at once: one layout fits), ``total`` per second over all senders, and
    ``echoes`` acks/errors per second copied to the subscribers.  The newest ``MAX_SENDERS``
    senders are remembered."""

    MAX_SENDERS = 1024
    OVERHEAD = 64  # bytes counted per datagram on top of its payload (headers)

    def __init__(self, per_sender: float = 256 << 10, burst: float = 1 << 20, total: float = 4 << 20,
                 echoes: float = 20.0):
        self.per_sender, self.burst = per_sender, burst
        self._senders: collections.OrderedDict = collections.OrderedDict()
        self._total = TokenBucket(total, 4 * burst)
        self._echo = TokenBucket(echoes, echoes)
        self._lock = threading.Lock()
        self.dropped = 0

    def allow(self, sender: object, nbytes: int) -> bool:
        """May ``nbytes`` (of one or more datagrams) go to ``sender`` now?  Charges them if so."""
        with self._lock:
            now = time.monotonic()
            bucket = self._senders.get(sender)
            if bucket is None:
                bucket = self._senders[sender] = TokenBucket(self.per_sender, self.burst)
                if len(self._senders) > self.MAX_SENDERS:
                    self._senders.popitem(last=False)
            else:
                self._senders.move_to_end(sender)
            ok = bucket.refill(now) >= nbytes and self._total.take(nbytes, now) and bucket.take(nbytes, now)
            if not ok:
                self.dropped += 1
            return ok

    def echo(self) -> bool:
        with self._lock:
            return self._echo.take(1.0, time.monotonic())


class Sinks:
    """The registry: key -> Sink, thread-safe.  Iterating, ``in`` and ``len`` see the keys;
    ``len`` counts every sink, ``counted()`` the subscribers and viewers."""

    def __init__(self, limit: int = MAX_SINKS, group_limits: Optional[dict] = None,
                 on_expire: Optional[Callable[[object, Sink, str], None]] = None):
        self._sinks: dict[object, Sink] = {}
        self.lock = threading.Lock()
        self.limit = limit
        self.group_limits = group_limits or {"udp": MAX_SUBSCRIBERS, "viewer": MAX_VIEWERS}
        self.on_expire = on_expire
        self.budget = ReplyBudget()
        self.expired = 0

    def add(self, key: object, sink: Sink, limit: Optional[int] = None) -> bool:
        """Register (or renew) a sink; True when it is new.  A new subscriber or viewer beyond the
        limits is a UserError (checked and added under one lock)."""
        with self.lock:
            old = self._sinks.get(key)
            if old is None and sink.group in COUNTED:
                counted = [s for s in self._sinks.values() if s.group in COUNTED]
                limit = self.limit if limit is None else limit
                group_limit = self.group_limits.get(sink.group, limit)
                if len(counted) >= limit or sum(s.group == sink.group for s in counted) >= group_limit:
                    what = "viewers connected" if sink.group == "viewer" else "subscribers"
                    raise UserError(f"too many {what} ({min(limit, group_limit)}); unsubscribe one "
                                    f"first, or wait for a silent one to expire")
            if old is not None:
                sink.owners = sink.owners | old.owners
            self._sinks[key] = sink
            return old is None

    def remove(self, key: object) -> bool:
        with self.lock:
            return self._sinks.pop(key, None) is not None

    def get(self, key: object) -> Optional[Sink]:
        with self.lock:
            return self._sinks.get(key)

    def snapshot(self) -> list[Sink]:
        with self.lock:
            return list(self._sinks.values())

    def counted(self, group: Optional[str] = None) -> int:
        with self.lock:
            return sum(s.group in COUNTED and (group is None or s.group == group) for s in self._sinks.values())

    def __len__(self) -> int:
        with self.lock:
            return len(self._sinks)

    def __contains__(self, key: object) -> bool:
        with self.lock:
            return key in self._sinks

    def __iter__(self) -> Iterator[object]:
        with self.lock:
            return iter(list(self._sinks))

    def expire(self, now: Optional[float] = None) -> list[object]:
        """End the subscriptions that were not renewed in time or keep failing; returns their keys."""
        now = time.monotonic() if now is None else now
        with self.lock:
            gone = [(k, s, "not renewed" if s.expires <= now else "unreachable")
                    for k, s in self._sinks.items() if s.expires <= now or s.failures >= MAX_FAILURES]
            for k, _, _ in gone:
                del self._sinks[k]
        self.expired += len(gone)
        if self.on_expire is not None:
            for k, sink, why in gone:
                self.on_expire(k, sink, why)
        return [k for k, _, _ in gone]

    @staticmethod
    def _send(sink: Sink, datagram: bytes) -> None:
        try:
            sink.send(datagram)
            sink.failures = 0
        except BlockingIOError:  # the socket's buffer is full: this datagram is dropped
            sink.dropped += 1
        except OSError:  # unreachable (ICMP), gone: counted, the subscription ends after MAX_FAILURES
            sink.failures += 1

    def broadcast(self, datagrams: list[bytes], blobs: bool = False) -> None:
        """To every sink (``blobs``: only to those that take everything)."""
        for sink in self.snapshot():
            if blobs and sink.kind != "all":
                continue
            for d in datagrams:
                self._send(sink, d)

    def reply(self, reply: Optional[Send], datagram: bytes, echo: bool = True) -> bool:
        """To the sender (within its budget) and, when ``echo`` (acks and errors), to every
        subscriber (a few per second).  Returns whether the sender got it."""
        sent = False
        if reply is not None:
            if not isinstance(reply, UdpReply) or self.budget.allow(budget_key(reply),
                                                                    len(datagram) + ReplyBudget.OVERHEAD):
                try:
                    reply(datagram)
                    sent = True
                except OSError:
                    pass
        if echo and self.budget.echo():
            for sink in self.snapshot():
                if sink.group == "internal" or (reply is not None and sink.send == reply):
                    continue
                self._send(sink, datagram)
        return sent

    def request_targets(self, reply: Optional[Send], datagrams: list[bytes]) -> Optional[list[Send]]:
        """Who gets the answer to a request (a layout, a status): the sender and the subscribers on
        the sender's host (a client often sends from one port and listens on another).  None when
        that is beyond the sender host's budget (nothing is charged then)."""
        if reply is None:
            return []
        targets = [reply]
        if isinstance(reply, UdpReply):
            targets += [s.send for s in self.snapshot() if s.group == "udp" and isinstance(s.send, UdpReply)
                        and s.send.host == reply.host and s.send != reply]
            cost = len(targets) * sum(len(d) + ReplyBudget.OVERHEAD for d in datagrams)
            if not self.budget.allow(budget_key(reply), cost):
                return None
        return targets

    def reply_many(self, reply: Optional[Send], datagrams: list[bytes]) -> bool:
        """Datagrams answering a request, sent now to :meth:`request_targets`; whether they went."""
        targets = self.request_targets(reply, datagrams)
        if not targets:
            return False
        for send in targets:
            for d in datagrams:
                try:
                    send(d)
                except BlockingIOError:
                    pass
                except OSError:
                    break
        return True
