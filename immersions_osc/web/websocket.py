"""A minimal WebSocket (RFC 6455), standard library only: the opening handshake, frames (masked
from the client, unmasked from the server), fragmented messages, ping/pong and the closing
handshake.  No extensions (no compression), no subprotocols.

Everything a peer can get wrong raises :class:`ProtocolError` with the close code the RFC asks for
(1002 protocol error, 1007 bad UTF-8 in a text message, 1009 message too big); the connection
then sends that close frame and ends.  A lost peer raises :class:`ConnectionClosed`.

Used by the viewer's server (``server.py``, role "server") and by the DevTools client that drives
the browser in the tests (``browser.py``, role "client").
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import threading
from typing import Callable, Optional
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPCODES = (CONTINUATION, TEXT, BINARY)
CONTROL_OPCODES = (CLOSE, PING, PONG)

NORMAL, GOING_AWAY, PROTOCOL_ERROR, BAD_DATA, TOO_BIG = 1000, 1001, 1002, 1007, 1009
# close codes a peer may send (RFC 6455 7.4.1: 1004-1006 and 1015 are reserved, 1016-2999 unassigned)
_VALID_CLOSE = set(range(1000, 1004)) | set(range(1007, 1015)) | set(range(3000, 5000))


class ProtocolError(ValueError):
    """The peer broke the protocol; ``code`` is the close code to answer with."""

    def __init__(self, message: str, code: int = PROTOCOL_ERROR):
        super().__init__(message)
        self.code = code


class ConnectionClosed(Exception):
    """The connection is closed (close frame received, or the socket ended)."""

    def __init__(self, code: int = GOING_AWAY, reason: str = ""):
        super().__init__(f"{code} {reason}".strip())
        self.code, self.reason = code, reason


class HandshakeError(ValueError):
    """An HTTP request that is not a valid WebSocket opening handshake."""


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def check_request(method: str, headers) -> str:
    """Check an opening handshake's request (``headers``: case-insensitive mapping); returns the
    Sec-WebSocket-Accept value."""
    def header(name: str) -> str:
        return (headers.get(name) or "").strip()

    if method != "GET":
        raise HandshakeError("the WebSocket handshake is a GET request")
    if "websocket" not in header("Upgrade").lower():
        raise HandshakeError("missing 'Upgrade: websocket'")
    if "upgrade" not in [t.strip().lower() for t in header("Connection").split(",")]:
        raise HandshakeError("missing 'Connection: Upgrade'")
    if header("Sec-WebSocket-Version") != "13":
        raise HandshakeError("only WebSocket version 13 is supported")
    key = header("Sec-WebSocket-Key")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        raise HandshakeError("Sec-WebSocket-Key must be 16 bytes, base64") from None
    return accept_key(key)


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte mask (its own inverse); fast for large payloads."""
    if not data:
        return b""
    n = len(data)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ key).to_bytes(n, "little")


def encode_frame(opcode: int, payload: bytes = b"", fin: bool = True, mask: Optional[bytes] = None) -> bytes:
    """One frame; ``mask`` (4 bytes) for frames a client sends."""
    payload = bytes(payload)
    n = len(payload)
    head = bytearray([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if mask is not None else 0
    if n < 126:
        head.append(mask_bit | n)
    elif n < 1 << 16:
        head.append(mask_bit | 126)
        head += struct.pack(">H", n)
    else:
        head.append(mask_bit | 127)
        head += struct.pack(">Q", n)
    if mask is not None:
        if len(mask) != 4:
            raise ValueError("a mask is 4 bytes")
        return bytes(head) + mask + apply_mask(payload, mask)
    return bytes(head) + payload


def read_frame(read_exact: Callable[[int], bytes], expect_mask: bool, max_size: int) -> tuple[bool, int, bytes]:
    """(fin, opcode, payload) of the next frame; ProtocolError when it is not a valid frame."""
    b0, b1 = read_exact(2)
    fin, rsv, opcode = bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F
    masked, n = bool(b1 & 0x80), b1 & 0x7F
    if rsv:
        raise ProtocolError("reserved bits set (no extension was negotiated)")
    if opcode not in DATA_OPCODES + CONTROL_OPCODES:
        raise ProtocolError(f"unknown opcode {opcode:#x}")
    if masked != expect_mask:
        raise ProtocolError("client frames must be masked" if expect_mask else "server frames must not be masked")
    if opcode in CONTROL_OPCODES and (n > 125 or not fin):
        raise ProtocolError("control frames are single frames of at most 125 bytes")
    if n == 126:
        (n,) = struct.unpack(">H", read_exact(2))
        if n < 126:
            raise ProtocolError("payload length not in its shortest form")
    elif n == 127:
        (n,) = struct.unpack(">Q", read_exact(8))
        if n >> 63:
            raise ProtocolError("payload length has its most significant bit set")
        if n < 1 << 16:
            raise ProtocolError("payload length not in its shortest form")
    if n > max_size:
        raise ProtocolError(f"frame of {n} bytes exceeds the limit of {max_size}", TOO_BIG)
    mask = read_exact(4) if masked else None
    payload = read_exact(n) if n else b""
    if mask is not None:
        payload = apply_mask(payload, mask)
    return fin, opcode, payload


def parse_close(payload: bytes) -> tuple[int, str]:
    if not payload:
        return 1005, ""  # no status code present
    if len(payload) < 2:
        raise ProtocolError("close frame with a 1-byte payload")
    (code,) = struct.unpack(">H", payload[:2])
    if code not in _VALID_CLOSE:
        raise ProtocolError(f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("close reason is not UTF-8", BAD_DATA) from None
    return code, reason


class WebSocket:
    """One open connection.  ``receive()`` (one thread) returns whole messages as
    ``(opcode, payload)`` (TEXT payloads decoded to str), answering pings and the closing
    handshake itself; ``send_*`` may be called from any thread."""

    def __init__(self, sock: socket.socket, role: str, reader=None, max_message: int = 1 << 24):
        if role not in ("server", "client"):
            raise ValueError("role: server or client")
        self.sock, self.role, self.max_message = sock, role, max_message
        self._reader = reader if reader is not None else sock.makefile("rb")
        self._send_lock = threading.Lock()
        self.closed = False
        self._close_sent = False
        self.close_code: Optional[int] = None  # the code of the close frame we sent

    # --- reading -------------------------------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes:
        try:
            data = self._reader.read(n)
        except (OSError, ValueError) as exc:  # ValueError: read on a closed file
            self.closed = True
            raise ConnectionClosed(GOING_AWAY, f"connection lost ({exc})") from None
        if data is None or len(data) < n:
            self.closed = True
            raise ConnectionClosed(GOING_AWAY, "connection lost")
        return data

    def receive(self) -> tuple[int, object]:
        """The next data message.  Raises ConnectionClosed (after answering the peer's close) or
        ProtocolError (after sending the matching close frame)."""
        parts: list[bytes] = []
        size, first = 0, None
        try:
            while True:
                fin, opcode, payload = read_frame(self._read_exact, self.role == "server", self.max_message)
                if opcode == CLOSE:
                    code, reason = parse_close(payload)
                    self.close(NORMAL if code == 1005 else code)
                    raise ConnectionClosed(code, reason)
                if opcode == PING:
                    self._send(PONG, payload)
                    continue
                if opcode == PONG:
                    continue
                if opcode == CONTINUATION:
                    if first is None:
                        raise ProtocolError("continuation frame without a message to continue")
                elif first is not None:
                    raise ProtocolError("new message before the fragmented one ended")
                else:
                    first = opcode
                size += len(payload)
                if size > self.max_message:
                    raise ProtocolError(f"message exceeds the limit of {self.max_message} bytes", TOO_BIG)
                parts.append(payload)
                if fin:
                    data = b"".join(parts)
                    if first == TEXT:
                        try:
                            return TEXT, data.decode("utf-8")
                        except UnicodeDecodeError:
                            raise ProtocolError("text message is not UTF-8", BAD_DATA) from None
                    return BINARY, data
        except ProtocolError as exc:
            self.close(exc.code, str(exc)[:120])
            raise

    # --- writing -------------------------------------------------------------------------------------
    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4) if self.role == "client" else None
        frame = encode_frame(opcode, payload, mask=mask)
        with self._send_lock:
            if self._close_sent:
                raise ConnectionClosed(self.close_code or GOING_AWAY, "closing")
            self.sock.sendall(frame)

    def send_binary(self, data: bytes) -> None:
        self._send(BINARY, data)

    def send_text(self, text: str) -> None:
        self._send(TEXT, text.encode("utf-8"))

    def ping(self, data: bytes = b"") -> None:
        self._send(PING, data)

    def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Send a close frame (once) and shut the connection down."""
        with self._send_lock:
            if not self._close_sent:
                self._close_sent, self.close_code = True, code
                payload = struct.pack(">H", code) + reason.encode("utf-8")[:123]
                try:
                    mask = os.urandom(4) if self.role == "client" else None
                    self.sock.sendall(encode_frame(CLOSE, payload, mask=mask))
                except OSError:
                    pass
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def connect(url: str, timeout: float = 10.0, max_message: int = 1 << 28) -> WebSocket:
    """Open a client connection to ``ws://host:port/path``."""
    parts = urlsplit(url)
    if parts.scheme != "ws":
        raise ValueError(f"only ws:// URLs are supported, got {url!r}")
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sock = socket.create_connection((host, port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                 .encode("ascii"))
    reader = sock.makefile("rb")
    status = reader.readline(65536).decode("latin-1")
    headers = {}
    while True:
        line = reader.readline(65536).decode("latin-1").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if " 101 " not in status + " ":
        sock.close()
        raise HandshakeError(f"the server did not switch protocols: {status.strip()!r}")
    if headers.get("sec-websocket-accept") != accept_key(key):
        sock.close()
        raise HandshakeError("wrong Sec-WebSocket-Accept")
    sock.settimeout(None)
    return WebSocket(sock, "client", reader, max_message)
