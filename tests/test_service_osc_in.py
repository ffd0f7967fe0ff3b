"""Control messages in: OSC 1.1 types and address patterns (python-osc underneath), per-argument errors."""
import random
import struct

import pytest

from immersions_osc.osc.controls import CONTROL_BY_ADDRESS, ArgumentError, parse_args
from immersions_osc.osc.incoming import decode
from immersions_osc.osc.protocol import OSCDecodeError, decode_packet
from immersions_osc.service.server import Service

from service_harness import in_process_config


# an encoder written here from the OSC 1.0/1.1 specification (independent of the runtime package)
def osc_string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return data + b"\0" * (-len(data) % 4)


def encode_arg(tag: str, value) -> bytes:
    if tag in "ic":
        return struct.pack(">i", ord(value) if tag == "c" else value)
    if tag in "rm":
        return bytes(value)
    if tag == "h":
        return struct.pack(">q", value)
    if tag == "f":
        return struct.pack(">f", value)
    if tag == "d":
        return struct.pack(">d", value)
    if tag == "t":
        return struct.pack(">Q", value)
    if tag in "sS":
        return osc_string(value)
    if tag == "b":
        return struct.pack(">i", len(value)) + value + b"\0" * (-len(value) % 4)
    return b""  # T F N I


def message(address: str, args: list) -> bytes:
    """``args``: (tag, value) pairs; an array is ("[", [pairs])."""
    def tags(items):
        return "".join("[" + tags(v) + "]" if t == "[" else t for t, v in items)

    def payload(items):
        return b"".join(payload(v) if t == "[" else encode_arg(t, v) for t, v in items)

    return osc_string(address) + osc_string("," + tags(args)) + payload(args)


def bundle(*elements: bytes) -> bytes:
    return b"#bundle\0" + struct.pack(">Q", 1) + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def random_arg(rng: random.Random, depth: int = 0):
    tag = rng.choice("ihfdsSbcrmtTFNI" + ("[" if depth < 2 else ""))
    value = {
        "i": lambda: rng.randrange(-2 ** 31, 2 ** 31), "h": lambda: rng.randrange(-2 ** 63, 2 ** 63),
        "f": lambda: struct.unpack(">f", struct.pack(">f", rng.uniform(-1e6, 1e6)))[0],
        "d": lambda: rng.uniform(-1e300, 1e300), "s": lambda: "".join(rng.choice("abcé/ ") for _ in range(rng.randrange(9))),
        "S": lambda: "sym" * rng.randrange(1, 4), "b": lambda: rng.randbytes(rng.randrange(9)),
        "c": lambda: rng.choice("aZ0~"), "r": lambda: rng.randbytes(4), "m": lambda: rng.randbytes(4),
        "t": lambda: rng.randrange(2 ** 64), "T": lambda: True, "F": lambda: False, "N": lambda: None,
        "I": lambda: None, "[": lambda: [random_arg(rng, depth + 1) for _ in range(rng.randrange(4))],
    }[tag]()
    return tag, value


def plain(tag, value):
    """What the decoder should give for an argument (tag, value) that was encoded."""
    if tag == "[":
        return ("[", [plain(t, v) for t, v in value])
    if tag in "rm":
        return (tag, tuple(value) if tag == "m" else int.from_bytes(value, "big"))
    if tag == "t":
        return (tag, None)  # python-osc turns it into a date; only its presence is compared
    return (tag, value)


def got(arg):
    if arg.tag == "[":
        return ("[", [got(a) for a in arg.value])
    return (arg.tag, None if arg.tag == "t" else arg.value)


def test_every_osc_type_in_any_position_decodes_to_what_was_sent():
    """Seeded random messages over the whole OSC 1.1 type set, arrays nested: every argument comes
    back with its tag and value, whatever stands before it (c, S and I too, which python-osc
    itself does not know)."""
    rng = random.Random(16)
    for _ in range(300):
        args = [random_arg(rng) for _ in range(rng.randrange(6))]
        data = message("/immersions/x", args)
        if rng.random() < 0.3:
            data = bundle(data, bundle(message("/immersions/y", [("i", 1)])))
        decoded = decode(data)
        assert [got(a) for a in decoded[0].args] == [plain(t, v) for t, v in args], args


@pytest.mark.parametrize("data,why", [
    (message("/a", [("i", 1)])[:-4], "truncated"),
    (osc_string("/a") + osc_string(",f"), "truncated"),
    (osc_string("/a") + osc_string(",x") + b"\0" * 4, "unsupported OSC type tag 'x'"),
    (osc_string("/a") + osc_string(",[i") + b"\0" * 4, "bracket"),
    (osc_string("/a") + osc_string("i"), "must start with ','"),
    (b"abcd", "must start with '/'"),
    (b"/abc", "bad address"),
    (osc_string("/a") + osc_string(",s") + b"\xff\xfe\0\0", "utf-8"),
    (bundle(message("/a", []))[:-4], "size is wrong"),
    (b"#bundle\0" + b"\0" * 4, "truncated"),
])
def test_malformed_input_says_why(data, why):
    """A broken packet raises; a message whose address can be read comes back with its error."""
    try:
        said = decode(data)[0].error
    except OSCDecodeError as exc:
        said = str(exc)
    assert said is not None and why in said, said


def test_deeply_nested_bundles_are_refused_not_recursed():
    data = message("/a", [])
    for _ in range(2000):
        data = bundle(data)
    with pytest.raises(OSCDecodeError, match="nested"):
        decode(data)


def test_types_against_the_control_table():
    volume, play = CONTROL_BY_ADDRESS["/immersions/player/volume"], CONTROL_BY_ADDRESS["/immersions/player/play"]
    layer, neurons = CONTROL_BY_ADDRESS["/immersions/target/layer"], CONTROL_BY_ADDRESS["/immersions/target/neurons"]
    random_ = CONTROL_BY_ADDRESS["/immersions/target/random"]

    def args(*items):
        return decode(message("/x", list(items)))[0].args

    assert parse_args(play, args(("T", True))) == [1] and parse_args(play, args(("F", False))) == [0]
    assert parse_args(volume, args(("d", 0.25))) == [0.25] and parse_args(play, args(("h", 1))) == [1]
    assert parse_args(layer, args(("S", "enc"), ("N", None))) == ["enc", 1.0]  # nil: the default
    assert parse_args(neurons, args(("[", [("i", 3), ("i", 4)]))) == [[3, 4]]  # an array for a list
    assert parse_args(random_, args(("I", None))) == []  # an impulse triggers an argumentless control
    for items, why in [
        ([("m", b"\0\x90\x3c\x64")], "gain (argument 1): expected a number, got a MIDI message (m)"),
        ([("T", True)], "gain (argument 1): expected a number, got True (T) (T/F only for on/off controls)"),
        ([("r", b"\xff\0\0\xff")], "got an RGBA colour (r)"),
        ([("t", 5)], "got a time tag (t)"),
        ([("c", "x")], "got a char (c)"),
        ([("b", b"12")], "got a blob (b)"),
        ([("I", None)], "got an impulse (I)"),
        ([("N", None)], "gain (argument 1): expected a number, got nil (N)"),
        ([("[", [("f", 1.0)])], "got an array"),
    ]:
        with pytest.raises(ArgumentError) as info:
            parse_args(volume, args(*items))
        assert why in str(info.value), str(info.value)
    with pytest.raises(ArgumentError, match=r"channels \(argument 3\): expected an integer, got a string"):
        parse_args(CONTROL_BY_ADDRESS["/immersions/target/channels"], args(("s", "l"), ("i", 1), ("s", "2")))


# --- the service, in process ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def service():
    s = Service(in_process_config(), log=lambda line: None)
    yield s
    s.close()


def replies_to(service, data):
    out = []
    service.handle_datagram(data, out.append)
    return [decode_packet(r)[0] for r in out]


def acks(replies):
    return [r[2][0] for r in replies if r[0] == "/immersions/ack"]


def errors(replies):
    return [tuple(r[2]) for r in replies if r[0] == "/immersions/error"]


def test_an_address_pattern_with_true_false_changes_the_service(service):
    replies = replies_to(service, message("/immersions/*/play", [("F", False)]))
    assert acks(replies) == ["/immersions/player/play"] and not service.player.playing
    replies = replies_to(service, message("/immersions/pl?yer/pl[a-z]y", [("T", True)]))
    assert acks(replies) == ["/immersions/player/play"] and service.player.playing
    # one pattern, several controls: each applied and acknowledged on its own
    replies = replies_to(service, message("/immersions/{player,optimize}/{play,run}", [("T", True)]))
    assert sorted(acks(replies)) == ["/immersions/optimize/run", "/immersions/player/play"]
    replies = replies_to(service, message("/immersions/*/volume", [("f", 0.5)]))
    assert acks(replies) == ["/immersions/player/volume"] and service.player.volume == pytest.approx(0.5)
    replies = replies_to(service, message("/immersions/*/nothing", [("f", 0.5)]))
    assert errors(replies) == [("/immersions/*/nothing", "no control matches this address pattern (see docs/osc.md)")]


def test_a_midi_argument_is_answered_with_a_precise_error(service):
    before = service.player.volume
    replies = replies_to(service, message("/immersions/player/volume", [("m", b"\0\x90\x3c\x64")]))
    assert errors(replies) == [("/immersions/player/volume",
                                "gain (argument 1): expected a number, got a MIDI message (m)")]
    assert not acks(replies) and service.player.volume == before


def test_a_bundle_is_applied_message_by_message(service):
    data = bundle(message("/immersions/player/volume", [("d", 0.75)]),
                  message("/immersions/player/crossfade_ms", [("c", "x")]),
                  bundle(message("/immersions/target/neurons", [("[", [("i", 1), ("i", 2)])])))
    replies = replies_to(service, data)
    assert acks(replies) == ["/immersions/player/volume", "/immersions/target/neurons"]
    assert [e[0] for e in errors(replies)] == ["/immersions/player/crossfade_ms"]
    assert "got a char (c)" in errors(replies)[0][1]
    assert service.player.volume == pytest.approx(0.75)


def test_malformed_input_is_answered_not_dropped(service):
    bad = osc_string("/immersions/player/volume") + osc_string(",x") + b"\0" * 4
    replies = replies_to(service, bad)
    assert errors(replies) == [("/immersions/player/volume", "malformed OSC message: unsupported OSC type tag 'x' "
                                                             "(OSC 1.1 types: FINST[]bcdfhimrst)")]
    # in a bundle, only that message is refused
    replies = replies_to(service, bundle(bad, message("/immersions/player/volume", [("f", 0.25)])))
    assert [e[0] for e in errors(replies)] == ["/immersions/player/volume"]
    assert acks(replies) == ["/immersions/player/volume"] and service.player.volume == pytest.approx(0.25)
    replies = replies_to(service, b"\0\0\0\0")  # not even an address
    assert errors(replies) == [("?", "malformed OSC packet: an OSC message's address must start with '/'")]


def test_costly_patterns_are_simplified_or_refused(service):
    """python-osc matches patterns with a backtracking regular expression: '*' runs are folded
    (same meaning), and a pattern still too costly is refused rather than stalling the service."""
    folded = "/immersions/**/p" + "*?" * 21 + "y"  # = /immersions/*/p?????????????????????*y: nothing
    replies = replies_to(service, message(folded, [("T", True)]))
    assert errors(replies) == [(folded, "no control matches this address pattern (see docs/osc.md)")]
    replies = replies_to(service, message("/immersions/p*?**/pl*?*y", [("T", True)]))
    assert acks(replies) == ["/immersions/player/play"]
    costly = "/immersions/" + "*[a-z]" * 12 + "!"
    replies = replies_to(service, message(costly, [("T", True)]))
    assert errors(replies) == [(costly, "address pattern with more than 4 '*' or 4 '{...}'")]
    replies = replies_to(service, message("/immersions/" + "{a,b}" * 5, []))
    assert "more than 4" in errors(replies)[0][1]
