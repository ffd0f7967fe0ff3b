"""The wire format: OSC 1.0 messages, and vectors (activations, layout positions) as chunked blobs.

Plain Python + numpy, no other dependency, so that the very same code decodes the stream inside
TouchDesigner (``immersions_osc/clients/touchdesigner/``), tests, and the browser viewer's server side.  (The service's own
control input is parsed and dispatched by python-osc: :mod:`.incoming`.)

OSC codec
---------
``encode_message(address, tags, args)`` and ``decode_packet(datagram)`` (bundles are flattened;
every malformed input raises :class:`OSCDecodeError`, nothing else).  Types: ``i`` int32, ``f``
float32, ``s`` string, ``b`` blob, and on decoding also ``h`` int64, ``d`` float64, ``T``/``F``
(True/False), ``N`` (None).

Chunked vectors
---------------
A vector of ``total`` values (one frame) is sent as ``count`` messages::

    <address> i:frame i:chunk i:count i:offset i:total s:format f:scale f:bias b:payload

``payload`` holds values ``offset .. offset + n - 1`` (little-endian); a value is
``bias + scale * stored`` with ``format`` ``uint8`` (quantized: ``bias`` = the frame's minimum,
``scale`` = range / 255), or ``float16``/``float32`` (``scale`` 1, ``bias`` 0).  Chunks are sized so
that no datagram exceeds ``max_datagram`` bytes.  :class:`FrameAssembler` puts frames back together
from chunks arriving in any order; a frame with a lost chunk is dropped once a newer frame is
complete (never mixed into another frame).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

import numpy as np


class OSCDecodeError(ValueError):
    """A datagram that is not valid OSC."""


# --- OSC codec -------------------------------------------------------------------------------------

def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _osc_string(text: str) -> bytes:
    return _pad(text.encode("utf-8") + b"\0")


def encode_message(address: str, tags: str, args: Sequence) -> bytes:
    """One OSC message; ``tags`` without the leading comma, one letter per argument."""
    if len(tags) != len(args):
        raise ValueError(f"{len(tags)} type tags for {len(args)} arguments")
    parts = [_osc_string(address), _osc_string("," + tags)]
    for tag, value in zip(tags, args):
        if tag == "i":
            parts.append(struct.pack(">i", int(value)))
        elif tag == "f":
            parts.append(struct.pack(">f", float(value)))
        elif tag == "s":
            parts.append(_osc_string(str(value)))
        elif tag == "b":
            data = bytes(value)
            parts.append(struct.pack(">i", len(data)) + _pad(data))
        else:
            raise ValueError(f"cannot encode OSC type {tag!r}")
    return b"".join(parts)


def message_size(address: str, tags: str, args: Sequence) -> int:
    return len(encode_message(address, tags, args))


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    end = data.find(b"\0", pos)
    if end < 0:
        raise OSCDecodeError("unterminated OSC string")
    try:
        text = data[pos:end].decode("utf-8")
    except UnicodeDecodeError:
        raise OSCDecodeError("OSC string is not UTF-8") from None
    return text, end + 1 + (-(end + 1 - pos) % 4)


def decode_message(data: bytes) -> tuple[str, str, list]:
    """(address, tags, args) of one OSC message."""
    address, pos = _read_string(data, 0)
    if not address.startswith("/"):
        raise OSCDecodeError("OSC address must start with '/'")
    if pos >= len(data):  # no type tag string: an old-style message without arguments
        return address, "", []
    tags, pos = _read_string(data, pos)
    if not tags.startswith(","):
        raise OSCDecodeError("OSC type tags must start with ','")
    tags = tags[1:]
    args: list = []
    try:
        for tag in tags:
            if tag == "i":
                args.append(struct.unpack_from(">i", data, pos)[0])
                pos += 4
            elif tag == "f":
                args.append(struct.unpack_from(">f", data, pos)[0])
                pos += 4
            elif tag == "h":
                args.append(struct.unpack_from(">q", data, pos)[0])
                pos += 8
            elif tag == "d":
                args.append(struct.unpack_from(">d", data, pos)[0])
                pos += 8
            elif tag == "s":
                text, pos = _read_string(data, pos)
                args.append(text)
            elif tag == "b":
                (n,) = struct.unpack_from(">i", data, pos)
                pos += 4
                if n < 0 or pos + n > len(data):
                    raise OSCDecodeError("OSC blob runs past the end of the datagram")
                args.append(data[pos:pos + n])
                pos += n + (-n % 4)
            elif tag in "TFN":
                args.append({"T": True, "F": False, "N": None}[tag])
            else:
                raise OSCDecodeError(f"unsupported OSC type tag {tag!r}")
    except struct.error:
        raise OSCDecodeError("OSC message is truncated") from None
    if pos > len(data):
        raise OSCDecodeError("OSC message is truncated")
    return address, tags, args


def bundle_elements(data: bytes) -> Iterator[bytes]:
    """The size-prefixed elements of an OSC bundle (after "#bundle\0" and its time tag), in order."""
    pos = 16
    while pos < len(data):
        if pos + 4 > len(data):
            raise OSCDecodeError("OSC bundle element is truncated")
        (n,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if n <= 0 or pos + n > len(data):
            raise OSCDecodeError("OSC bundle element size is wrong")
        yield data[pos:pos + n]
        pos += n


def decode_packet(data: bytes, depth: int = 0) -> list[tuple[str, str, list]]:
    """Every message in a datagram (a message or a bundle, nested bundles flattened)."""
    if not data or len(data) % 4:
        raise OSCDecodeError("an OSC packet is a non-empty multiple of 4 bytes")
    if data.startswith(b"#bundle\0"):
        if depth > 8:
            raise OSCDecodeError("OSC bundles nested too deeply")
        return [m for element in bundle_elements(data) for m in decode_packet(element, depth + 1)]
    return [decode_message(data)]


# --- chunked vectors -------------------------------------------------------------------------------

FORMATS = {"uint8": np.dtype("u1"), "float16": np.dtype("<f2"), "float32": np.dtype("<f4")}
CHUNK_TAGS = "iiiiisffb"


def quantize(values: np.ndarray, fmt: str) -> tuple[bytes, float, float]:
    """(payload bytes, scale, bias) of a float vector in ``fmt``."""
    values = np.asarray(values, dtype=np.float32).ravel()
    if fmt == "uint8":
        if len(values) == 0:
            return b"", 1.0, 0.0
        lo, hi = float(values.min()), float(values.max())
        scale = (hi - lo) / 255.0 if hi > lo else 1.0
        stored = np.rint((values - lo) / scale).clip(0, 255).astype(np.uint8)
        return stored.tobytes(), scale, lo
    if fmt not in FORMATS:
        raise ValueError(f"unknown vector format {fmt!r}")
    return values.astype(FORMATS[fmt]).tobytes(), 1.0, 0.0


def chunk_capacity(address: str, fmt: str, max_datagram: int) -> int:
    """How many values of ``fmt`` fit into one datagram of at most ``max_datagram`` bytes."""
    header = message_size(address, CHUNK_TAGS, [0, 0, 0, 0, 0, fmt, 0.0, 0.0, b""])
    itemsize = FORMATS[fmt].itemsize
    room = (max_datagram - header) // 4 * 4  # blob payloads are padded to 4 bytes
    capacity = room // itemsize
    if capacity < 1:
        raise ValueError(f"max_datagram {max_datagram} is too small for one value ({header} bytes of header)")
    return capacity


def encode_vector(address: str, frame: int, values: np.ndarray, fmt: str, max_datagram: int) -> list[bytes]:
    """The datagrams of one frame."""
    payload, scale, bias = quantize(values, fmt)
    itemsize = FORMATS[fmt].itemsize
    total = len(payload) // itemsize
    per = chunk_capacity(address, fmt, max_datagram)
    count = max(1, -(-total // per))
    out = []
    for chunk in range(count):
        lo = chunk * per
        hi = min(total, lo + per)
        out.append(encode_message(address, CHUNK_TAGS, [frame, chunk, count, lo, total, fmt, scale, bias,
                                                        payload[lo * itemsize:hi * itemsize]]))
    return out


@dataclass(frozen=True)
class Chunk:
    frame: int
    chunk: int
    count: int
    offset: int
    total: int
    fmt: str
    scale: float
    bias: float
    payload: bytes


def parse_chunk(tags: str, args: list) -> Chunk:
    """A chunk message's arguments, checked (OSCDecodeError when they are not a valid chunk)."""
    if tags != CHUNK_TAGS:
        raise OSCDecodeError(f"a vector chunk has type tags {CHUNK_TAGS!r}, got {tags!r}")
    c = Chunk(*args)
    if c.fmt not in FORMATS:
        raise OSCDecodeError(f"unknown vector format {c.fmt!r}")
    n = len(c.payload) // FORMATS[c.fmt].itemsize
    if (len(c.payload) % FORMATS[c.fmt].itemsize or not 0 <= c.chunk < c.count or c.total < 0
            or c.offset < 0 or c.offset + n > c.total or c.count > max(1, c.total)):
        raise OSCDecodeError("vector chunk fields are inconsistent")
    return c


def decode_values(c: Chunk) -> np.ndarray:
    stored = np.frombuffer(c.payload, dtype=FORMATS[c.fmt])
    return (c.bias + c.scale * stored.astype(np.float32)).astype(np.float32)


MAX_VALUES = 1 << 24  # largest vector a receiver accepts (16 M values; the seed network has ~10^5 neurons)
RESTART_GAP = 64  # a frame id this far below the newest complete one: the sender restarted


class FrameAssembler:
    """Reassembles chunked vectors.  ``add(chunk)`` returns ``(frame, values)`` when the chunk
    completes a frame, else None.  Frames older than a completed one are forgotten (their late
    chunks are ignored); at most ``keep`` incomplete frames are held.  A frame is complete only
    when its chunks tile it exactly (no gaps, no overlaps).  A frame id far below the newest one
    means the sender restarted (ids begin at 1 again): the assembler starts over.  Vectors longer
    than ``max_values`` are refused (a hostile or broken sender cannot make it allocate gigabytes).
    """

    def __init__(self, keep: int = 4, max_values: int = MAX_VALUES):
        self.keep, self.max_values = keep, max_values
        self._partial: dict[int, dict] = {}
        self.last_complete = -1
        self.completed = 0
        self.dropped = 0
        self.restarts = 0

    def add(self, c: Chunk) -> Optional[tuple[int, np.ndarray]]:
        if c.total > self.max_values:
            raise OSCDecodeError(f"vector of {c.total} values is larger than the {self.max_values} accepted")
        if c.frame <= self.last_complete - RESTART_GAP:  # the sender started counting again
            self._partial.clear()
            self.last_complete = -1
            self.restarts += 1
        if c.frame <= self.last_complete:
            return None
        entry = self._partial.get(c.frame)
        if entry is None or entry["total"] != c.total or entry["count"] != c.count:
            entry = {"values": np.zeros(c.total, np.float32), "spans": {}, "total": c.total, "count": c.count}
            self._partial[c.frame] = entry
        if c.chunk in entry["spans"]:
            return None
        values = decode_values(c)
        entry["values"][c.offset:c.offset + len(values)] = values
        entry["spans"][c.chunk] = (c.offset, len(values))
        if len(entry["spans"]) == c.count:
            del self._partial[c.frame]
            if not _tiles(entry["spans"], c.total):  # gaps or overlaps: not a frame
                self.dropped += 1
                return None
            for old in [f for f in self._partial if f < c.frame]:
                del self._partial[old]
                self.dropped += 1
            self.last_complete = c.frame
            self.completed += 1
            return c.frame, entry["values"]
        while len(self._partial) > self.keep:
            del self._partial[min(self._partial)]
            self.dropped += 1
        return None

    def add_datagram(self, data: bytes, address: str) -> Optional[tuple[int, np.ndarray]]:
        """Feed one datagram (messages for other addresses are ignored); malformed -> OSCDecodeError."""
        result = None
        for addr, tags, args in decode_packet(data):
            if addr == address:
                result = self.add(parse_chunk(tags, args)) or result
        return result


def _tiles(spans: dict[int, tuple[int, int]], total: int) -> bool:
    """Do the chunks' (offset, length) spans, in chunk order, cover 0..total exactly once?"""
    end = 0
    for chunk in sorted(spans):
        offset, n = spans[chunk]
        if offset != end:
            return False
        end += n
    return end == total


def iter_messages(datagrams: Sequence[bytes]) -> Iterator[tuple[str, str, list]]:
    for d in datagrams:
        yield from decode_packet(d)
