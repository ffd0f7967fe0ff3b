"""Control messages in, on python-osc: packets parsed into typed arguments, addresses matched
(OSC address patterns included) by python-osc's ``Dispatcher``.

Why python-osc and not pyliblo3: ``benchmarks/osc_dispatch.py`` measures both (decode + dispatch
per message: liblo's C parser is about twice as fast, and both cost well under 0.1 ms, nothing at
control rates).  What decides: liblo only parses what arrives on its own socket, while the service
also applies datagrams that come over the viewer's WebSocket; and liblo drops a message with an
array or an unknown type tag without calling anything, where the service must answer it with a
precise ``/immersions/error``.

Types.  Every argument keeps its OSC type tag (:class:`OscArg`), so that the control table can
accept ``T``/``F`` for an on/off control, ``N`` for an optional argument (its default), ``I``
(impulse) for a control without arguments, an array for a list argument, and refuse a MIDI
message, a colour, a time tag, a char or a blob with an error that names the argument and the
type.  python-osc 1.10 parses ``i h f d s b r m t T F N`` and arrays; it does not know ``c``
(char), ``S`` (symbol) and ``I`` (impulse), and skips them *without consuming their bytes*
(every later argument would be misread).  Those three are encoded on the wire exactly as ``i``,
``s`` and ``N``: a message's type tags are mapped (``c``->``i``, ``S``->``s``, ``I``->``N``)
before python-osc parses it, and its values typed back after.  A message with a type tag outside
OSC 1.0/1.1 is refused whole (the spec: such a message is discarded), which python-osc would not do.

Bundles are walked here (their elements in order, each message carrying its bundle's time tag,
as Unix seconds, ``None`` for "immediately"; the dispatcher schedules them), nesting at most
``MAX_DEPTH`` deep.  A packet whose structure is broken raises
:class:`~.protocol.OSCDecodeError` and nothing else; a message whose address can be read but whose
arguments are malformed comes back with its ``error``, so that only it is refused, by its address.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, replace
from typing import Any, Iterator, Optional

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message import OscMessage
from pythonosc.parsing import osc_types

from .protocol import OSCDecodeError, bundle_elements

KNOWN_TAGS = frozenset("ihfdsSbcrmtTFNI[]")
RETAG = bytes.maketrans(b"cSI", b"isN")  # what python-osc does not know -> the same wire encoding it knows
MAX_DEPTH = 8
PATTERN_CHARS = frozenset("*?[]{}")

TYPE_NAMES = {
    "i": "an int32 (i)", "h": "an int64 (h)", "f": "a float32 (f)", "d": "a float64 (d)",
    "s": "a string (s)", "S": "a symbol (S)", "c": "a char (c)", "b": "a blob (b)",
    "r": "an RGBA colour (r)", "m": "a MIDI message (m)", "t": "a time tag (t)", "T": "True (T)",
    "F": "False (F)", "N": "nil (N)", "I": "an impulse (I)", "[": "an array ([...])",
}


@dataclass(frozen=True)
class OscArg:
    """One argument as sent: its OSC type tag and its value (for an array, ``[``, a list of OscArg)."""
    tag: str
    value: Any

    @property
    def kind(self) -> str:
        return TYPE_NAMES.get(self.tag, repr(self.tag))


@dataclass(frozen=True)
class Incoming:
    address: str  # as sent: an address or an address pattern
    args: list[OscArg]
    error: Optional[str] = None  # why the message (whose address could be read) is malformed
    when: Optional[float] = None  # its bundle's time tag (Unix seconds); None: at once


NTP_UNIX = 2208988800  # seconds from 1900-01-01 (NTP, OSC time tags) to 1970-01-01 (Unix)


def time_tag(data: bytes) -> Optional[float]:
    """A bundle's time tag as Unix seconds (``None``: the special tag 1, "immediately")."""
    seconds, fraction = struct.unpack_from(">II", data, 8)
    if seconds == 0 and fraction <= 1:
        return None
    return seconds - NTP_UNIX + fraction / 2 ** 32


def encode_time_tag(unix_seconds: float) -> bytes:
    """Unix seconds as an OSC (NTP) time tag."""
    ntp = unix_seconds + NTP_UNIX
    seconds = int(ntp)
    return struct.pack(">II", seconds, min(2 ** 32 - 1, int(round((ntp - seconds) * 2 ** 32))))


def typed(value: Any) -> OscArg:
    """A plain Python value as the argument python-osc would have sent for it."""
    if isinstance(value, OscArg):
        return value
    if isinstance(value, bool):
        return OscArg("T" if value else "F", value)
    if value is None:
        return OscArg("N", None)
    if isinstance(value, int):
        return OscArg("i", value)
    if isinstance(value, float):
        return OscArg("f", value)
    if isinstance(value, str):
        return OscArg("s", value)
    if isinstance(value, (bytes, bytearray)):
        return OscArg("b", bytes(value))
    if isinstance(value, (list, tuple)):
        return OscArg("[", [typed(v) for v in value])
    raise TypeError(f"no OSC type for {type(value).__name__}")


# --- decoding --------------------------------------------------------------------------------------

def decode(data: bytes) -> list[Incoming]:
    """Every message of a datagram (a message, or a bundle flattened in order, each message with
    the time tag of the bundle that holds it)."""
    return list(_walk(data, 0, None))


def _walk(data: bytes, depth: int, when: Optional[float]) -> Iterator[Incoming]:
    if not data or len(data) % 4:
        raise OSCDecodeError("an OSC packet is a non-empty multiple of 4 bytes")
    if data.startswith(b"#bundle\0"):
        if depth >= MAX_DEPTH:
            raise OSCDecodeError(f"OSC bundles nested more than {MAX_DEPTH} deep")
        if len(data) < 16:
            raise OSCDecodeError("OSC bundle is truncated")
        tag = time_tag(data)
        if tag is not None and when is not None:
            tag = max(tag, when)  # OSC: a nested bundle's time is never before its enclosing one's
        for element in bundle_elements(data):
            yield from _walk(element, depth + 1, tag if tag is not None else when)
        return
    message = _message(data)
    yield message if when is None else replace(message, when=when)


def _message(data: bytes) -> Incoming:
    """One message; OSCDecodeError when not even its address can be read, else an Incoming
    (with ``error`` when the rest is malformed: the sender learns which message was wrong)."""
    if not data.startswith(b"/"):
        raise OSCDecodeError("an OSC message's address must start with '/'")
    try:
        address, index = osc_types.get_string(data, 0)
    except (osc_types.ParseError, UnicodeDecodeError) as exc:
        raise OSCDecodeError(f"bad address ({_why(exc)})") from None
    try:
        return Incoming(address, _arguments(data, index))
    except OSCDecodeError as exc:
        return Incoming(address, [], str(exc))


def _arguments(data: bytes, index: int) -> list[OscArg]:
    try:
        tags, end = osc_types.get_string(data, index) if index < len(data) else (",", index)
    except (osc_types.ParseError, UnicodeDecodeError) as exc:
        raise OSCDecodeError(f"bad type tag string ({_why(exc)})") from None
    if not tags.startswith(","):
        raise OSCDecodeError(f"the type tag string must start with ',', got {tags[:20]!r}")
    tags = tags[1:]
    unknown = sorted(set(tags) - KNOWN_TAGS)
    if unknown:
        raise OSCDecodeError(f"unsupported OSC type tag {unknown[0]!r} (OSC 1.1 types: "
                             f"{''.join(sorted(KNOWN_TAGS))})")
    if any(t in tags for t in "cSI"):
        data = data[:index] + data[index:end].translate(RETAG) + data[end:]
    try:
        params = OscMessage(data).params
    except Exception as exc:  # python-osc's ParseError, or a bad UTF-8 string argument
        why = _why(exc)
        raise OSCDecodeError(f"the message is truncated ({why})" if "too short" in why else why) from None
    args = _typed(tags, params)
    if _size(args) > len(data) - end:  # python-osc pads a truncated float with zeros (for Reaktor)
        raise OSCDecodeError(f"the message is truncated (its arguments need {_size(args)} bytes, "
                             f"{len(data) - end} were sent)")
    return args


def _why(exc: Exception) -> str:
    inner = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], Exception) else None
    return str(inner or exc) or type(exc).__name__


FIXED_SIZES = {"i": 4, "f": 4, "c": 4, "r": 4, "m": 4, "h": 8, "d": 8, "t": 8}


def _size(args: list[OscArg]) -> int:
    """Bytes the arguments take on the wire."""
    n = 0
    for a in args:
        if a.tag in FIXED_SIZES:
            n += FIXED_SIZES[a.tag]
        elif a.tag in "sS":
            n += (len(a.value.encode("utf-8")) + 4) // 4 * 4
        elif a.tag == "b":
            n += 4 + (len(a.value) + 3) // 4 * 4
        elif a.tag == "[":
            n += _size(a.value)
    return n


def _typed(tags: str, params: list) -> list[OscArg]:
    """python-osc's values (arrays nested as lists) paired with the tags as sent."""
    pos = 0

    def level(values: list) -> list[OscArg]:
        nonlocal pos
        out = []
        for value in values:
            tag = tags[pos]
            pos += 1
            if tag == "[":
                out.append(OscArg("[", level(value)))
                pos += 1  # its "]"
            elif tag == "c":
                out.append(OscArg("c", chr(value & 0x10FFFF) if 0 <= value <= 0x10FFFF else value))
            else:
                out.append(OscArg(tag, value))
        return out

    return level(params)


# --- address matching -------------------------------------------------------------------------------

def is_pattern(address: str) -> bool:
    return any(c in PATTERN_CHARS for c in address)


class AddressMatcher:
    """Which of the known addresses an incoming address (or address pattern) names, by python-osc's
    Dispatcher (``*``, ``?``, ``[a-z]``, ``[!a]``, ``{a,b}`` as in OSC 1.0).  Answers are
    remembered (python-osc builds a regular expression per message and tries every address); at
    most ``cache_size`` of them, so that a client sending ever new patterns cannot grow it."""

    def __init__(self, targets: dict[str, Any], cache_size: int = 1024):
        self.dispatcher = Dispatcher()
        for address, target in targets.items():
            self.dispatcher.map(address, _noop, target)
        self.cache_size = cache_size
        self._cache: dict[str, list[Any]] = {}

    def __call__(self, address: str) -> list[Any]:
        """The targets ``address`` names; PatternError for a pattern too costly to match."""
        found = self._cache.get(address)
        if found is None:
            found = [h.args[0] for h in self.dispatcher.handlers_for_address(simplify_pattern(address))]
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[address] = found
        return list(found)


class PatternError(ValueError):
    """An address pattern the service will not match (too long, too many wildcards)."""


MAX_PATTERN = 256  # characters; no address of the service is near that long
MAX_STARS = 4  # '*' and '{...}' each, after simplification: python-osc matches with a backtracking
MAX_BRACES = 4  # regular expression, and a pattern like '*?*?*?*?*?*?*?*?' costs it seconds


def simplify_pattern(address: str) -> str:
    """The same pattern, cheaper to match: a run of '*' and '?' becomes its '?'s then one '*'
    ('**' = '*', '*?' = '?*'); PatternError when it is still too costly."""
    if not is_pattern(address):
        return address
    if len(address) > MAX_PATTERN:
        raise PatternError(f"address pattern longer than {MAX_PATTERN} characters")
    out = re.sub(r"[*?]{2,}", lambda m: "?" * m.group().count("?") + ("*" if "*" in m.group() else ""), address)
    if out.count("*") > MAX_STARS or out.count("{") > MAX_BRACES:
        raise PatternError(f"address pattern with more than {MAX_STARS} '*' or {MAX_BRACES} '{{...}}'")
    return out


def _noop(*_):  # the dispatcher only routes; the service applies (with its own argument checking)
    return None

