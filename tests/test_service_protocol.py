import random
import struct

import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from immersions_osc.osc.protocol import (FrameAssembler, OSCDecodeError, chunk_capacity, decode_packet,
                                             encode_message, encode_vector, parse_chunk)


def test_messages_round_trip_and_agree_with_python_osc():
    data = encode_message("/a/b", "ifsb", [-7, 0.25, "héllo", b"\x01\x02\x03"])
    assert len(data) % 4 == 0
    assert decode_packet(data) == [("/a/b", "ifsb", [-7, 0.25, "héllo", b"\x01\x02\x03"])]
    ref = OscMessage(data)  # an independent decoder reads ours
    assert ref.address == "/a/b" and ref.params == [-7, 0.25, "héllo", b"\x01\x02\x03"]
    b = OscMessageBuilder("/x")  # and we read python-osc's, including types we never send
    for v in (3, 1.5, "s", b"blob", True, None):
        b.add_arg(v)
    b.add_arg(2 ** 40, "h")
    b.add_arg(0.125, "d")
    (address, tags, args), = decode_packet(b.build().dgram)
    assert address == "/x" and tags == "ifsbTNhd"
    assert args == [3, 1.5, "s", b"blob", True, None, 2 ** 40, 0.125]


def test_bundles_are_flattened():
    inner = [encode_message("/one", "i", [1]), encode_message("/two", "s", ["x"])]
    bundle = b"#bundle\0" + struct.pack(">q", 1) + b"".join(struct.pack(">i", len(m)) + m for m in inner)
    assert [m[0] for m in decode_packet(bundle)] == ["/one", "/two"]


@pytest.mark.parametrize("bad", [b"", b"abc", b"/x\0", b"noslash\0", b"/x\0\0,i\0\0", b"/x\0\0,q\0\0\0\0\0\0",
                                 b"/x\0\0,b\0\0\0\0\0\x99" + b"1234",  # blob longer than the packet
                                 b"#bundle\0" + b"\0" * 8 + b"\0\0\0\x40"])
def test_malformed_packets_raise_only_decode_errors(bad):
    with pytest.raises(OSCDecodeError):
        decode_packet(bad)


def test_random_garbage_never_raises_anything_else():
    rng = random.Random(0)
    good = encode_message("/immersions/player/volume", "f", [0.5])
    for _ in range(3000):
        kind = rng.random()
        if kind < 0.4:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        else:  # mutate a valid message: the hard cases
            data = bytearray(good)
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[:rng.randrange(1, len(data) + 1)])
        try:
            decode_packet(data)
        except OSCDecodeError:
            pass


@pytest.mark.parametrize("fmt,tolerance", [("uint8", 1 / 255), ("float16", 1e-3), ("float32", 0.0)])
@pytest.mark.parametrize("max_datagram", [512, 8192])
def test_vectors_chunk_within_the_datagram_limit_and_reassemble(fmt, tolerance, max_datagram):
    rng = np.random.default_rng(1)
    values = rng.gamma(0.5, 1.0, 15344).astype(np.float32)
    datagrams = encode_vector("/immersions/activations", 7, values, fmt, max_datagram)
    assert all(len(d) <= max_datagram for d in datagrams)
    assert len(datagrams) == -(-len(values) // chunk_capacity("/immersions/activations", fmt, max_datagram))
    order = rng.permutation(len(datagrams))  # any arrival order
    assembler = FrameAssembler()
    results = [assembler.add_datagram(datagrams[i], "/immersions/activations") for i in order]
    assert all(r is None for r in results[:-1])
    frame, decoded = results[-1]
    assert frame == 7 and decoded.shape == values.shape
    span = float(values.max() - values.min())
    assert np.abs(decoded - values).max() <= tolerance * max(span, 1.0) * 0.51 + 1e-6 + \
        (np.abs(values).max() * 1e-3 if fmt == "float16" else 0)


def test_a_lost_chunk_drops_its_frame_and_never_corrupts_the_next():
    rng = np.random.default_rng(2)
    a, b = rng.random(5000, dtype=np.float32), rng.random(5000, dtype=np.float32) + 5
    da = encode_vector("/v", 1, a, "float32", 1024)
    db = encode_vector("/v", 2, b, "float32", 1024)
    assembler = FrameAssembler()
    for d in da[:-1] + db:  # frame 1 lost its last chunk
        out = assembler.add_datagram(d, "/v")
    frame, values = out
    assert frame == 2 and np.array_equal(values, b)
    assert assembler.add_datagram(da[-1], "/v") is None  # the late chunk of frame 1 is ignored
    assert assembler.completed == 1 and assembler.dropped == 1


def test_chunk_fields_are_checked():
    d = encode_message("/v", "iiiiisffb", [1, 3, 2, 0, 4, "uint8", 1.0, 0.0, b"\0" * 4])  # chunk 3 of 2
    (_, tags, args), = decode_packet(d)
    with pytest.raises(OSCDecodeError):
        parse_chunk(tags, args)
    with pytest.raises(OSCDecodeError):
        parse_chunk("iiiiisff", args[:-1])


def test_a_restarted_sender_is_followed_again():
    """Frame ids begin at 1 again after the service restarts: the receiver must not ignore them."""
    assembler = FrameAssembler()
    v = np.arange(100, dtype=np.float32)
    for frame in (500, 501):
        for d in encode_vector("/v", frame, v, "float32", 256):
            assembler.add_datagram(d, "/v")
    assert assembler.last_complete == 501
    out = None
    for d in encode_vector("/v", 1, v + 1, "float32", 256):
        out = assembler.add_datagram(d, "/v") or out
    assert out is not None and out[0] == 1 and np.array_equal(out[1], v + 1) and assembler.restarts == 1
    # a merely late frame (a few ids back) is still ignored
    for d in encode_vector("/v", 0, v, "float32", 256):
        assert assembler.add_datagram(d, "/v") is None


def test_oversized_and_overlapping_chunks_are_refused():
    huge = encode_message("/v", "iiiiisffb", [1, 0, 2, 0, 2 ** 31 - 1, "uint8", 1.0, 0.0, b"\0" * 4])
    with pytest.raises(OSCDecodeError):
        FrameAssembler().add_datagram(huge, "/v")
    # two chunks whose lengths add up to the total but overlap (and leave a gap): not a frame
    a = encode_message("/v", "iiiiisffb", [1, 0, 2, 0, 8, "float32", 1.0, 0.0, np.ones(4, "<f4").tobytes()])
    b = encode_message("/v", "iiiiisffb", [1, 1, 2, 2, 8, "float32", 1.0, 0.0, np.ones(4, "<f4").tobytes()])
    assembler = FrameAssembler()
    assert assembler.add_datagram(a, "/v") is None and assembler.add_datagram(b, "/v") is None
    assert assembler.completed == 0 and assembler.dropped == 1
