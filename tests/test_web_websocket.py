"""The viewer's WebSocket (RFC 6455) framing, handshake and error handling, over socket pairs."""
import socket
import struct
import threading

import pytest

from immersions_osc.web import websocket as W


@pytest.fixture
def pair():
    """(server side, client side, raw client socket) of a connected socket pair."""
    a, b = socket.socketpair()
    server, client = W.WebSocket(a, "server", max_message=1 << 16), W.WebSocket(b, "client")
    yield server, client, b
    for s in (a, b):
        s.close()


def test_accept_key_is_the_rfc_example():
    assert W.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_handshake_request_is_checked():
    good = {"Upgrade": "websocket", "Connection": "keep-alive, Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    assert W.check_request("GET", good) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    for change in ({"Upgrade": ""}, {"Connection": "close"}, {"Sec-WebSocket-Version": "8"},
                   {"Sec-WebSocket-Key": "short"}, {"Sec-WebSocket-Key": "!!!notbase64!!!"}):
        with pytest.raises(W.HandshakeError):
            W.check_request("GET", {**good, **change})
    with pytest.raises(W.HandshakeError):
        W.check_request("POST", good)


@pytest.mark.parametrize("n", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_frames_round_trip_at_every_length_form(n):
    payload = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
    for mask in (None, b"\x01\x02\x03\xff"):
        frame = W.encode_frame(W.BINARY, payload, mask=mask)
        pos = 0

        def read(k):
            nonlocal pos
            pos += k
            return frame[pos - k:pos]
        fin, opcode, got = W.read_frame(read, mask is not None, 1 << 20)
        assert (fin, opcode, got) == (True, W.BINARY, payload) and pos == len(frame)
    header = 2 if n < 126 else 4 if n < 65536 else 10
    assert len(W.encode_frame(W.BINARY, payload)) == header + n


def test_mask_is_its_own_inverse():
    data = bytes(range(7)) * 3
    assert W.apply_mask(W.apply_mask(data, b"abcd"), b"abcd") == data
    assert W.apply_mask(b"\x00\x00\x00\x00\x00", b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04\x01"


def test_messages_both_ways(pair):
    server, client, _ = pair
    client.send_binary(b"\x00\x01osc")
    assert server.receive() == (W.BINARY, b"\x00\x01osc")
    client.send_text("héllo")
    assert server.receive() == (W.TEXT, "héllo")
    server.send_binary(b"x" * 100000)
    assert client.receive() == (W.BINARY, b"x" * 100000)


def test_fragmented_message_with_a_ping_in_between(pair):
    server, client, raw = pair
    mask = b"\x10\x20\x30\x40"
    raw.sendall(W.encode_frame(W.BINARY, b"abc", fin=False, mask=mask)
                + W.encode_frame(W.PING, b"hi", mask=mask)
                + W.encode_frame(W.CONTINUATION, b"def", fin=False, mask=mask)
                + W.encode_frame(W.CONTINUATION, b"g", mask=mask))
    assert server.receive() == (W.BINARY, b"abcdefg")
    # the ping was answered with a pong carrying the same payload (read it raw on the client side)
    fin, opcode, payload = W.read_frame(lambda k: _recv_exact(raw, k), False, 1 << 16)
    assert (opcode, payload) == (W.PONG, b"hi")


def _recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def test_close_handshake(pair):
    server, client, raw = pair
    raw.sendall(W.encode_frame(W.CLOSE, struct.pack(">H", W.NORMAL) + b"bye", mask=b"mask"))
    with pytest.raises(W.ConnectionClosed) as info:
        server.receive()
    assert (info.value.code, info.value.reason) == (W.NORMAL, "bye")
    # the server answered with its own close frame
    _, opcode, payload = W.read_frame(lambda k: _recv_exact(raw, k), False, 125)
    assert opcode == W.CLOSE and struct.unpack(">H", payload[:2])[0] == W.NORMAL


BAD_FRAMES = [
    ("unmasked client frame", W.encode_frame(W.BINARY, b"abcd"), W.PROTOCOL_ERROR),
    ("reserved bit", bytes([0x80 | 0x40 | W.BINARY, 0x80 | 1]) + b"mask" + b"x", W.PROTOCOL_ERROR),
    ("unknown opcode", W.encode_frame(0x3, b"x", mask=b"mask"), W.PROTOCOL_ERROR),
    ("long control frame", W.encode_frame(W.PING, b"x" * 126, mask=b"mask"), W.PROTOCOL_ERROR),
    ("fragmented control frame", W.encode_frame(W.PING, b"x", fin=False, mask=b"mask"), W.PROTOCOL_ERROR),
    ("non-minimal length", bytes([0x82, 0x80 | 126]) + struct.pack(">H", 5) + b"mask" + b"hello",
     W.PROTOCOL_ERROR),
    ("64-bit length with the top bit", bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 1 << 63) + b"mask",
     W.PROTOCOL_ERROR),
    ("oversize frame", W.encode_frame(W.BINARY, b"x" * 70000, mask=b"mask"), W.TOO_BIG),
    ("oversize fragmented message", W.encode_frame(W.BINARY, b"x" * 40000, fin=False, mask=b"mask")
     + W.encode_frame(W.CONTINUATION, b"x" * 40000, mask=b"mask"), W.TOO_BIG),
    ("continuation without a start", W.encode_frame(W.CONTINUATION, b"x", mask=b"mask"), W.PROTOCOL_ERROR),
    ("new message inside a fragmented one", W.encode_frame(W.BINARY, b"x", fin=False, mask=b"mask")
     + W.encode_frame(W.BINARY, b"y", mask=b"mask"), W.PROTOCOL_ERROR),
    ("text that is not UTF-8", W.encode_frame(W.TEXT, b"\xff\xfe", mask=b"mask"), W.BAD_DATA),
    ("close with a 1-byte payload", W.encode_frame(W.CLOSE, b"\x03", mask=b"mask"), W.PROTOCOL_ERROR),
    ("close with a reserved code", W.encode_frame(W.CLOSE, struct.pack(">H", 1005), mask=b"mask"),
     W.PROTOCOL_ERROR),
]


@pytest.mark.parametrize("name, data, code", BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_malformed_frames_raise_and_close_with_the_right_code(pair, name, data, code):
    server, client, raw = pair
    threading.Thread(target=raw.sendall, args=(data,), daemon=True).start()
    with pytest.raises(W.ProtocolError) as info:
        server.receive()
    assert info.value.code == code
    _, opcode, payload = W.read_frame(lambda k: _recv_exact(raw, k), False, 125)
    assert opcode == W.CLOSE and struct.unpack(">H", payload[:2])[0] == code
    with pytest.raises(W.ConnectionClosed):  # nothing more is sent after the close frame
        server.send_binary(b"late")


def test_truncated_stream_is_a_closed_connection(pair):
    server, client, raw = pair
    raw.sendall(W.encode_frame(W.BINARY, b"abcdef", mask=b"mask")[:5])
    raw.shutdown(socket.SHUT_WR)
    with pytest.raises(W.ConnectionClosed):
        server.receive()


def test_server_frames_must_not_be_masked(pair):
    server, client, raw = pair
    server.sock.sendall(W.encode_frame(W.BINARY, b"x", mask=b"mask"))
    with pytest.raises(W.ProtocolError):
        client.receive()
