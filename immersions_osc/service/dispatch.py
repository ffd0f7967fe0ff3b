"""Control messages in: decoding and address matching (python-osc, in :mod:`..osc.incoming`),
argument checking (:mod:`..osc.controls`), the handler, and the ack / error reply.

:class:`Dispatcher` knows nothing of the service: it is handed what it needs (as python-osc's
server is handed a dispatcher) -- the matcher (address or pattern -> controls), the handler of a
control, the access check, where replies go, the logs and the lock that makes controls apply one
at a time.  Nothing a client sends can stop it: every failure of a message becomes an
``/immersions/error`` reply and a rate-limited log line.

Every handler is called as ``handler(*values, sender=Sender)``: the checked argument values and who
sent them (:class:`Sender`: where answers go, how log lines name it, its host).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Optional, Sequence

from ..errors import Unanswered, UserError
from ..osc.controls import CONTROL_BY_ADDRESS, MESSAGES, PREFIX, ArgumentError, Control, parse_args
from ..osc.incoming import AddressMatcher, Incoming, PatternError, is_pattern, parse, split
from ..osc.protocol import OSCDecodeError, encode_message
from .logs import LOGGER
from .sinks import Send, UdpReply

AUTH = f"{PREFIX}/auth"
AUTH_PREFIX = AUTH.encode() + b"\0"  # a plain /immersions/auth message starts with these bytes
MAX_UNAUTHORIZED = 512  # bytes: the largest datagram an unauthorized remote sender gets decoded
OUTGOING = frozenset(m.address for m in MESSAGES)  # what we send: never answered when it comes back
MATCH = AddressMatcher(CONTROL_BY_ADDRESS)  # address or pattern -> the controls it names

Log = Callable[[str], None]
EARLY = 0.001  # a time tag less than this ahead is applied at once


@dataclass(frozen=True)
class Sender:
    """Who sent a message.  ``reply``: where answers go (None: an in-process caller);
    ``origin``: how log lines name it ("host:port", "ws PEER", a caller's label);
    ``host``: the IP address answers go to (a UDP sender); ``udp``: the UDP sender's address."""

    reply: Optional[Send] = None
    origin: str = "?"
    host: Optional[str] = None
    udp: Optional[tuple[str, int]] = None
    when: Optional[float] = None  # the time tag of the bundle that carried the message (Unix seconds)

    @classmethod
    def of(cls, reply: Optional[Send], origin: Optional[str] = None) -> "Sender":
        addr = getattr(reply, "addr", None) if isinstance(reply, UdpReply) else None
        if origin is None:
            origin = f"{addr[0]}:{addr[1]}" if addr else "?"
        host = getattr(reply, "host", None) if reply is not None else None
        if host is None and reply is not None:  # a viewer page's send (a bound method of its _Viewer):
            host = getattr(getattr(reply, "__self__", None), "host", None)  # the page's peer address
        return cls(reply, origin, host if isinstance(host, str) else None, tuple(addr) if addr else None)

    @property
    def udp_origin(self) -> str:
        """"host:port" of a UDP sender, "" for anyone else (the viewer, in-process callers)."""
        return f"{self.udp[0]}:{self.udp[1]}" if self.udp else ""


class Dispatcher:
    """Applies datagrams: ``handle_datagram(data, reply, origin)``.

    ``handler(control)``: the callable that applies a control; ``allowed(host)``: whether a UDP
    sender's host may send anything but ``/immersions/auth`` (``host`` is None for other senders);
    ``reply(send, datagram)``: answers the sender (and echoes to the subscribers); ``errors`` and
    ``trace``: rate-limited logs for rejections and for every applied control (at debug level);
    ``lock``: held while a handler runs (UDP, WebSocket and demo threads apply one control at a time).
    """

    def __init__(self, handler: Callable[[Control], Callable], allowed: Callable[[Optional[str]], bool],
                 reply: Callable[[Optional[Send], bytes], object], errors: Log, trace: Log, lock,
                 match: Callable[[str], Sequence[Control]] = MATCH, horizon: float = 3600.0,
                 pending: int = 1024):
        self.handler, self.allowed, self.reply = handler, allowed, reply
        self.errors, self.trace, self.lock, self.match = errors, trace, lock, match
        self.scheduler = Scheduler(self, horizon, pending)
        self.received = 0  # messages looked at (malformed ones too)
        self.dropped = 0  # datagrams from unauthorized remote senders, dropped before decoding
        self.rejected = 0  # messages answered with /immersions/error

    def handle_datagram(self, data: bytes, reply: Optional[Send] = None, origin: Optional[str] = None) -> None:
        """Apply every message of a datagram; never raises.  An address pattern applies the message
        to every control it matches, all or nothing (each applied one acknowledged); a message in a
        bundle whose time tag is ahead is applied at that time."""
        for _ in self.steps(data, reply, origin):
            pass

    def steps(self, data: bytes, reply: Optional[Send] = None, origin: Optional[str] = None) -> Iterator[None]:
        """:meth:`handle_datagram` one message at a time: a generator that yields after each message
        (the UDP intake, ``intake.py``, interleaves the messages of a large bundle with other
        senders' datagrams; the messages of one sender stay in order)."""
        sender = Sender.of(reply, origin)
        if sender.udp and not self.allowed(sender.host):
            # a remote sender that has not sent /immersions/auth: looked at before anything is
            # decoded; only a short plain /immersions/auth message goes on (a bundle, or anything
            # else, costs nothing more than this test) and nothing is answered (no reflection to a
            # spoofed source address)
            if len(data) > MAX_UNAUTHORIZED or not data.startswith(AUTH_PREFIX):
                self.dropped += 1
                self.errors(f"dropped a datagram from {sender.origin}: remote sender without /immersions/auth")
                return
            unauthorized = True
        else:
            unauthorized = False
        try:
            messages = split(data)  # the structure only: each message is parsed when its turn comes
        except OSCDecodeError as exc:
            self.reject(sender, "?", f"malformed OSC packet: {exc}")
            return
        except Exception as exc:  # whatever else the parser raises: still only this packet's problem
            self.reject(sender, "?", f"malformed OSC packet: {type(exc).__name__}")
            return
        if unauthorized:
            messages = [m for m in messages if m[0].startswith(AUTH_PREFIX)]
            if not messages:
                self.errors(f"dropped a datagram from {sender.origin}: remote sender without /immersions/auth")
                return
        for element, when in messages:
            self.received += 1
            try:
                message = parse(element, when)
            except OSCDecodeError as exc:  # (split has read every address: not expected)
                self.reject(sender, "?", f"malformed OSC packet: {exc}")
            except Exception as exc:
                self.reject(sender, "?", f"malformed OSC packet: {type(exc).__name__}")
            else:
                self._one(message, sender)
            yield

    def _one(self, message: Incoming, sender: Sender) -> None:
        if message.error is not None:
            self.reject(sender, message.address, f"malformed OSC message: {message.error}")
            return
        try:
            controls = self.match(message.address)
        except PatternError as exc:
            self.reject(sender, message.address, str(exc))
            return
        if not controls:
            if message.address in OUTGOING:
                # our own messages (a service subscribed to itself or to another service): answering
                # them would echo errors back and forth for ever
                return
            why = ("no control matches this address pattern" if is_pattern(message.address)
                   else "unknown address") + " (see docs/osc.md)"
            self.reject(sender, message.address, why)
            return
        self.dispatch(message, controls, sender)

    def dispatch(self, message: Incoming, controls: Sequence[Control], sender: Sender) -> None:
        """Check the arguments against every control the address matches first: one that does not
        fit refuses the whole message (one error, nothing applied); then apply them all -- now, or
        at the time tag of the bundle that carried the message (a past one: now, as OSC 1.1 says)."""
        parsed, failed = [], []
        for control in controls:
            try:
                parsed.append((control, parse_args(control, message.args)))
            except ArgumentError as exc:
                failed.append((control, str(exc)))
        if failed:
            if len(controls) == 1:
                self.reject(sender, failed[0][0].address, failed[0][1])
            else:
                more = f" (and {len(failed) - 1} more of the {len(controls)} it matches)" if len(failed) > 1 else ""
                self.reject(sender, message.address, f"{failed[0][0].address}: {failed[0][1]}{more}; "
                                                     f"nothing was applied")
            return
        if message.when is not None:
            sender = replace(sender, when=message.when)
        if message.when is not None and message.when - time.time() > EARLY:
            self.scheduler.schedule(message, parsed, sender)
            return
        for control, values in parsed:
            self.apply_values(control, values, sender)

    def apply(self, control: Control, args: list, sender: Sender) -> None:
        try:
            values = parse_args(control, args)
        except ArgumentError as exc:
            self.reject(sender, control.address, str(exc))
            return
        self.apply_values(control, values, sender)

    def apply_values(self, control: Control, values: list, sender: Sender) -> None:
        try:
            with self.lock:
                self.handler(control)(*values, sender=sender)
        except Unanswered as exc:  # e.g. a wrong token: logged, and the sender learns nothing
            self.rejected += 1
            self.errors(f"dropped {control.address} from {sender.origin}: {exc}")
            return
        except UserError as exc:
            self.reject(sender, control.address, str(exc))
            return
        except Exception as exc:  # a bug must not take the service down
            self.reject(sender, control.address, f"internal error: {type(exc).__name__}: {exc}")
            return
        self.reply(sender.reply, encode_message(f"{PREFIX}/ack", "s", [control.address]))
        if LOGGER.isEnabledFor(logging.DEBUG):  # -v: every control applied (rate-limited)
            self.trace(f"applied {control.address} {' '.join(map(repr, values))} from {sender.origin}")

    def close(self) -> None:
        self.scheduler.close()

    def reject(self, sender: Sender, address: str, why: str) -> None:
        self.rejected += 1
        address = clip(address)  # a megabyte address is neither logged nor echoed whole
        self.errors(f"rejected OSC message {address} from {sender.origin}: {clip(why, 500)}")
        self.reply(sender.reply, encode_message(f"{PREFIX}/error", "ss", [address, why[:500]]))


def clip(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters for a log line or an answer (with how long it was)."""
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} characters)"


class Scheduler:
    """Messages of time-tagged bundles, applied at their time (wall clock: OSC time tags are NTP
    time) by one thread of its own, started with the first.  At most ``pending`` wait at once and
    none more than ``horizon`` seconds ahead: beyond that a message is refused with one error."""

    def __init__(self, dispatcher: "Dispatcher", horizon: float, pending: int):
        self.dispatcher, self.horizon, self.pending = dispatcher, horizon, pending
        self._heap: list = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, message: Incoming, parsed: list, sender: Sender) -> None:
        ahead = message.when - time.time()
        if ahead > self.horizon:
            self.dispatcher.reject(sender, message.address, f"its bundle's time tag is {ahead:.0f} s ahead; at most "
                                                            f"{self.horizon:g} s (service.schedule_seconds)")
            return
        with self._wake:
            if self._closed:
                return
            if len(self._heap) >= self.pending:
                self.dispatcher.reject(sender, message.address, f"{self.pending} time-tagged messages wait already "
                                                                f"(service.schedule_pending); try again later")
                return
            heapq.heappush(self._heap, (message.when, next(self._order), parsed, sender))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="immersions-osc-scheduled", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (not self._heap or self._heap[0][0] - time.time() > 0):
                    self._wake.wait(min(1.0, self._heap[0][0] - time.time()) if self._heap else None)
                if self._closed:
                    return
                _, _, parsed, sender = heapq.heappop(self._heap)
            for control, values in parsed:
                self.dispatcher.apply_values(control, values, sender)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._heap.clear()
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(2.0)
