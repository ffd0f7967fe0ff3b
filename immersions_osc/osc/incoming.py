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
from typing import Any, Optional

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

MAX_ADDRESS = 256  # characters of an address (plain or pattern): no address of the service is near
MAX_MESSAGES = 4096  # messages in one packet (a bundle, flattened; a full UDP datagram of the
# shortest messages holds ~5 000, a WebSocket message of 4 MB could hold 500 000)


def decode(data: bytes) -> list[Incoming]:
    """Every message of a datagram (a message, or a bundle flattened in order, each message with
    the time tag of the bundle that holds it).  OSCDecodeError beyond MAX_MESSAGES messages (before
    the rest is decoded)."""
    return [parse(element, when) for element, when in split(data)]


def split(data: bytes) -> list[tuple[bytes, Optional[float]]]:
    """The structure of a datagram, without reading any argument: each message's bytes with its
    bundle's time tag, in order.  OSCDecodeError for a broken structure (a bundle's sizes, nesting,
    a message without a readable address) or beyond MAX_MESSAGES messages, before anything is
    applied; :func:`parse` then reads each message when its turn comes (a bundle of 4 000
    messages is not all parsed before its first is applied)."""
    out: list = []
    _split(data, 0, None, out)
    return out


def parse(element: bytes, when: Optional[float] = None) -> Incoming:
    """One message of :func:`split`: its address and arguments (``error`` when they are malformed)."""
    message = _message(element)
    return message if when is None else replace(message, when=when)


def _split(data: bytes, depth: int, when: Optional[float], out: list) -> None:
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
            _split(element, depth + 1, tag if tag is not None else when, out)
        return
    _address(data)
    out.append((data, when))
    if len(out) > MAX_MESSAGES:
        raise OSCDecodeError(f"more than {MAX_MESSAGES} messages in one packet")


def read_string(data: bytes, index: int) -> tuple[str, int]:
    """python-osc's ``osc_types.get_string`` at C speed (it walks the bytes one by one in Python: 18 us
    for a short address, milliseconds for a long one): the string at ``index`` and the index after
    its padding; ``osc_types.ParseError`` or UnicodeDecodeError as python-osc raises them."""
    end = data.find(b"\0", index)
    if end < 0:
        raise osc_types.ParseError("Could not parse datagram: no null terminator")
    total = end - index + 1
    total += -total % 4
    if index + total > len(data):
        raise osc_types.ParseError("Datagram is too short")
    return data[index:end].decode("utf-8"), index + total


def _address(data: bytes) -> tuple[str, int]:
    if not data.startswith(b"/"):
        raise OSCDecodeError("an OSC message's address must start with '/'")
    try:
        return read_string(data, 0)
    except (osc_types.ParseError, UnicodeDecodeError) as exc:
        raise OSCDecodeError(f"bad address ({_why(exc)})") from None


def _message(data: bytes) -> Incoming:
    """One message; OSCDecodeError when not even its address can be read, else an Incoming
    (with ``error`` when the rest is malformed: the sender learns which message was wrong)."""
    address, index = _address(data)
    if len(address) > MAX_ADDRESS:  # refused before its arguments are read or any pattern is built
        return Incoming(address, [], f"address longer than {MAX_ADDRESS} characters")
    try:
        return Incoming(address, _arguments(data, index))
    except OSCDecodeError as exc:
        return Incoming(address, [], str(exc))


def _arguments(data: bytes, index: int) -> list[OscArg]:
    try:
        tags, end = read_string(data, index) if index < len(data) else (",", index)
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
        self.targets = dict(targets)
        for address, target in targets.items():
            self.dispatcher.map(address, _noop, target)
        self.cache_size = cache_size
        self._cache: dict[str, list[Any]] = {}

    def __call__(self, address: str) -> list[Any]:
        """The targets ``address`` names; PatternError for a pattern too costly to match."""
        if len(address) > MAX_ADDRESS:
            raise PatternError(f"address longer than {MAX_ADDRESS} characters")
        if not is_pattern(address):  # a plain address: a dictionary look-up, never a regular expression
            target = self.targets.get(address)
            return [] if target is None else [target]
        found = self._cache.get(address)
        if found is None:
            found = [h.args[0] for h in self.dispatcher.handlers_for_address(simplify_pattern(address))]
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[address] = found
        return list(found)


class PatternError(ValueError):
    """An address pattern the service will not match (too long, too many wildcards)."""


MAX_PATTERN = MAX_ADDRESS
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

