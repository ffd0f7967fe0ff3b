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

import logging
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from ..errors import UserError
from ..osc.controls import CONTROL_BY_ADDRESS, MESSAGES, PREFIX, ArgumentError, Control, parse_args
from ..osc.incoming import AddressMatcher, PatternError, decode, is_pattern
from ..osc.protocol import OSCDecodeError, encode_message
from .logs import LOGGER
from .sinks import Send, UdpReply

AUTH = f"{PREFIX}/auth"
OUTGOING = frozenset(m.address for m in MESSAGES)  # what we send: never answered when it comes back
MATCH = AddressMatcher(CONTROL_BY_ADDRESS)  # address or pattern -> the controls it names

Log = Callable[[str], None]


@dataclass(frozen=True)
class Sender:
    """Who sent a message.  ``reply``: where answers go (None: an in-process caller);
    ``origin``: how log lines name it ("host:port", "ws PEER", a caller's label);
    ``host``: the IP address answers go to (a UDP sender); ``udp``: the UDP sender's address."""

    reply: Optional[Send] = None
    origin: str = "?"
    host: Optional[str] = None
    udp: Optional[tuple[str, int]] = None

    @classmethod
    def of(cls, reply: Optional[Send], origin: Optional[str] = None) -> "Sender":
        addr = getattr(reply, "addr", None) if isinstance(reply, UdpReply) else None
        if origin is None:
            origin = f"{addr[0]}:{addr[1]}" if addr else "?"
        return cls(reply, origin, getattr(reply, "host", None) if reply is not None else None,
                   tuple(addr) if addr else None)

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
                 match: Callable[[str], Sequence[Control]] = MATCH):
        self.handler, self.allowed, self.reply = handler, allowed, reply
        self.errors, self.trace, self.lock, self.match = errors, trace, lock, match
        self.received = 0  # messages looked at (malformed ones too)
        self.rejected = 0  # messages answered with /immersions/error

    def handle_datagram(self, data: bytes, reply: Optional[Send] = None, origin: Optional[str] = None) -> None:
        """Apply every message of a datagram; never raises.  An address pattern applies the message
        to every control it matches (each acknowledged, or refused, on its own)."""
        sender = Sender.of(reply, origin)
        try:
            messages = decode(data)
        except OSCDecodeError as exc:
            self.reject(sender, "?", f"malformed OSC packet: {exc}")
            return
        except Exception as exc:  # whatever else the parser raises: still only this packet's problem
            self.reject(sender, "?", f"malformed OSC packet: {type(exc).__name__}")
            return
        if not self.allowed(sender.host if sender.udp else None):
            # a remote sender that has not sent /immersions/auth: only that message is looked at,
            # and nothing is answered (no reflection to a spoofed source address)
            messages = [m for m in messages if m.address == AUTH]
            if not messages:
                self.errors(f"dropped a datagram from {sender.origin}: remote sender without /immersions/auth")
                return
        for message in messages:
            self.received += 1
            if message.error is not None:
                self.reject(sender, message.address, f"malformed OSC message: {message.error}")
                continue
            try:
                controls = self.match(message.address)
            except PatternError as exc:
                self.reject(sender, message.address, str(exc))
                continue
            if not controls:
                if message.address in OUTGOING:
                    # our own messages (a service subscribed to itself or to another service): answering
                    # them would echo errors back and forth for ever
                    continue
                why = ("no control matches this address pattern" if is_pattern(message.address)
                       else "unknown address") + " (see docs/osc.md)"
                self.reject(sender, message.address, why)
                continue
            for control in controls:
                self.apply(control, message.args, sender)

    def apply(self, control: Control, args: list, sender: Sender) -> None:
        try:
            values = parse_args(control, args)
            with self.lock:
                self.handler(control)(*values, sender=sender)
        except (ArgumentError, UserError) as exc:
            self.reject(sender, control.address, str(exc))
            return
        except Exception as exc:  # a bug must not take the service down
            self.reject(sender, control.address, f"internal error: {type(exc).__name__}: {exc}")
            return
        self.reply(sender.reply, encode_message(f"{PREFIX}/ack", "s", [control.address]))
        if LOGGER.isEnabledFor(logging.DEBUG):  # -v: every control applied (rate-limited)
            self.trace(f"applied {control.address} {' '.join(map(repr, values))} from {sender.origin}")

    def reject(self, sender: Sender, address: str, why: str) -> None:
        self.rejected += 1
        self.errors(f"rejected OSC message {address} from {sender.origin}: {why}")
        self.reply(sender.reply, encode_message(f"{PREFIX}/error", "ss", [address, why[:500]]))
