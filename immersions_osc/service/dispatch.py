"""Control messages in: the receive thread, decoding and address matching (python-osc, in
:mod:`.incoming`), argument checking (:mod:`.controls`), the handlers, ack / error replies.

``ControlDispatch`` is a part of :class:`~.server.Service` (it uses the service's ``sock``,
``sinks``, ``errors`` and its ``on_<address>`` handlers from :mod:`.handlers`).  Nothing a client
sends can stop the service: every failure of a message becomes an ``/immersions/error`` reply and a
rate-limited log line.
"""
from __future__ import annotations

import logging
import socket
from typing import Optional

from ..errors import UserError
from ..osc.controls import CONTROL_BY_ADDRESS, MESSAGES, PREFIX, ArgumentError, Control, parse_args
from ..osc.incoming import AddressMatcher, PatternError, decode, is_pattern
from .logs import LOGGER
from ..osc.protocol import OSCDecodeError, encode_message
from .sinks import Send, UdpReply

AUTH = f"{PREFIX}/auth"
OUTGOING = frozenset(m.address for m in MESSAGES)  # what we send: never answered when it comes back
MATCH = AddressMatcher(CONTROL_BY_ADDRESS)  # address or pattern -> the controls it names


class ControlDispatch:
    def _serve(self) -> None:
        """The ``immersions-osc-in`` thread: every datagram on the control port is applied."""
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                continue
            self.handle_datagram(data, self.udp_reply(addr), f"{addr[0]}:{addr[1]}")

    def udp_reply(self, addr: tuple[str, int]) -> UdpReply:
        return UdpReply(lambda: self.send_sock, addr)

    def handle_datagram(self, data: bytes, reply: Optional[Send] = None, origin: str = "?") -> None:
        """Apply every message of a datagram; never raises.  An address pattern applies the message
        to every control it matches (each acknowledged, or refused, on its own)."""
        try:
            messages = decode(data)
        except OSCDecodeError as exc:
            self._reject(reply, "?", f"malformed OSC packet: {exc}", origin)
            return
        except Exception as exc:  # whatever else the parser raises: still only this packet's problem
            self._reject(reply, "?", f"malformed OSC packet: {type(exc).__name__}", origin)
            return
        if not self.access.allowed(getattr(reply, "host", None) if isinstance(reply, UdpReply) else None):
            # a remote sender that has not sent /immersions/auth: only that message is looked at,
            # and nothing is answered (no reflection to a spoofed source address)
            messages = [m for m in messages if m.address == AUTH]
            if not messages:
                self.errors(f"dropped a datagram from {origin}: remote sender without /immersions/auth")
                return
        for message in messages:
            self.messages_received += 1
            if message.error is not None:
                self._reject(reply, message.address, f"malformed OSC message: {message.error}", origin)
                continue
            try:
                controls = MATCH(message.address)
            except PatternError as exc:
                self._reject(reply, message.address, str(exc), origin)
                continue
            if not controls:
                if message.address in OUTGOING:
                    # our own messages (a service subscribed to itself or to another service): answering
                    # them would echo errors back and forth for ever
                    continue
                why = ("no control matches this address pattern" if is_pattern(message.address)
                       else "unknown address") + " (see docs/osc.md)"
                self._reject(reply, message.address, why, origin)
                continue
            for control in controls:
                self._apply(control, message.args, reply, origin)

    def _apply(self, control: Control, args: list, reply: Optional[Send], origin: str) -> None:
        try:
            values = parse_args(control, args)
            with self._control_lock:  # UDP, WebSocket and demo threads: one control at a time
                getattr(self, control.handler)(*values, reply=reply)
        except (ArgumentError, UserError) as exc:
            self._reject(reply, control.address, str(exc), origin)
            return
        except Exception as exc:  # a bug must not take the service down
            self._reject(reply, control.address, f"internal error: {type(exc).__name__}: {exc}", origin)
            return
        self._reply(reply, encode_message(f"{PREFIX}/ack", "s", [control.address]))
        if LOGGER.isEnabledFor(logging.DEBUG):  # -v: every control applied (rate-limited)
            self.trace(f"applied {control.address} {' '.join(map(repr, values))} from {origin}")

    def _reject(self, reply: Optional[Send], address: str, why: str, origin: str) -> None:
        self.rejected += 1
        self.errors(f"rejected OSC message {address} from {origin}: {why}")
        self._reply(reply, encode_message(f"{PREFIX}/error", "ss", [address, why[:500]]))
