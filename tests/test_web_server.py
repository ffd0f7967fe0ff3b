"""The viewer's server with the real service in process: HTTP endpoints, and the WebSocket carrying
the very same OSC datagrams as the UDP stream, both ways (the ``websockets`` client stands in for
the page; tests/test_web_browser.py uses a real browser)."""
import fnmatch
import json
import os
import socket
import struct
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from service_harness import running_viewer
from immersions_osc.osc.controls import CONTROLS
from immersions_osc.osc.protocol import FrameAssembler, decode_packet, encode_message, parse_chunk
from websockets.sync.client import connect
from immersions_osc.web.server import STATIC

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P = "/immersions"


@pytest.fixture(scope="module")
def web():
    yield from running_viewer()


def get(web, path):
    with urllib.request.urlopen(web.url.rstrip("/") + path, timeout=30) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def ws_url(web):
    return web.url.replace("http://", "ws://") + "ws"


BINARY, CLOSE = 0x2, 0x8
PROTOCOL_ERROR, TOO_BIG = 1002, 1009


def encode_frame(opcode, payload, mask=None):
    """One RFC 6455 frame, FIN set (masked with ``mask`` when given: what a client must send)."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    bit = 0x80 if mask is not None else 0
    head += bytes([bit | n]) if n < 126 else bytes([bit | 126]) + struct.pack(">H", n) if n < 65536 else \
        bytes([bit | 127]) + struct.pack(">Q", n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_frame(read):
    """(opcode, payload) of the next server frame (unmasked)."""
    b0, b1 = read(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", read(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", read(8))[0]
    return b0 & 0x0F, read(n)


class Page:
    """A WebSocket client that keeps every decoded message."""

    def __init__(self, web, **kwargs):
        self.ws = connect(ws_url(web), open_timeout=10, max_size=None, compression=None, legacy=True, **kwargs)

    def next(self):
        data = self.ws.recv(timeout=30)
        assert isinstance(data, bytes)
        return decode_packet(data)

    def wait_for(self, address, predicate=lambda args: True, limit=5000):
        for _ in range(limit):
            for addr, tags, args in self.next():
                if addr == address and predicate(args):
                    return tags, args
        raise AssertionError(f"no {address} in {limit} datagrams")

    def send(self, address, tags="", *args):
        self.ws.send(encode_message(address, tags, list(args)))


def test_page_and_assets_are_served(web):
    status, ctype, body = get(web, "/")
    assert status == 200 and ctype.startswith("text/html") and b"viewer.js" in body
    for name in ("viewer.js", "osc.js", "renderer.js", "controls.js", "style.css"):
        status, ctype, body = get(web, f"/static/{name}")
        assert status == 200 and len(body) > 100
    for bad in ("/static/../server.py", "/static/%2e%2e/server.py", "/nothing", "/static/nothing.js"):
        with pytest.raises(urllib.error.HTTPError) as info:
            get(web, bad)
        assert info.value.code == 404


def test_assets_are_package_data():
    """pip install . must ship every static file: pyproject's package-data globs cover them."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as fh:
        globs = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["immersions_osc.web"]
    for name in os.listdir(STATIC):
        assert any(fnmatch.fnmatch(f"static/{name}", g) for g in globs), name


def test_tables_describe_the_service(web):
    service = web.service
    info = json.loads(get(web, "/info.json")[2])
    assert info["neurons"] == len(service.layout.positions)
    assert [l["name"] for l in info["layers"]] == service.vector.layer_names
    assert sum(count for _, count in info["layer_runs"]) == info["neurons"]
    layer_of = np.concatenate([[layer] * count for layer, count in info["layer_runs"]])
    assert np.array_equal(layer_of, service.layout.neurons[:, 0])
    table = json.loads(get(web, "/controls.json")[2])
    assert [c["address"] for c in table["controls"]] == [c.address for c in CONTROLS]
    values = {c["address"]: c["value"] for c in table["controls"]}
    assert values[f"{P}/optimize/learning_rate"] == pytest.approx(service.generator.cfg.learning_rate)
    assert values[f"{P}/player/volume"] == pytest.approx(service.player.volume)
    lr = next(c for c in table["controls"] if c["address"] == f"{P}/optimize/learning_rate")
    assert (lr["args"][0]["lo"], lr["args"][0]["hi"]) == (1e-5, 1.0)


def test_png_endpoints(web):
    from immersions_osc.images import read_png

    status, ctype, png = get(web, "/snapshot.png?size=256")
    assert status == 200 and ctype == "image/png"
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"snapshot-{os.getpid()}.png")
    with open(path, "wb") as fh:
        fh.write(png)
    image = read_png(path)
    os.unlink(path)
    assert image.shape == (256, 256, 3)
    assert (image.max(-1) > 40).mean() > 0.02  # lit discs, not an empty picture
    status, ctype, png = get(web, "/scaleogram.png")
    assert status == 200 and png.startswith(b"\x89PNG")
    loop = json.loads(get(web, "/loop.json")[2])
    assert loop["seconds"] > 0 and 0 <= loop["position"] <= loop["seconds"]
    with pytest.raises(urllib.error.HTTPError) as info:
        get(web, "/snapshot.png?size=5")
    assert info.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as info:
        get(web, "/animation.bin")  # the shipped layout has no time snapshots
    assert info.value.code == 404


def test_websocket_carries_the_osc_stream(web):
    service = web.service
    page = Page(web)
    try:
        # first the layout: one message per layer, then the positions (float32 x, y)
        layers, positions = [], FrameAssembler()
        done = None
        while done is None:
            for addr, tags, args in page.next():
                if addr == f"{P}/layout/layer":
                    layers.append(args[1])
                elif addr == f"{P}/layout/positions":
                    done = positions.add(parse_chunk(tags, args)) or done
        assert layers == service.vector.layer_names
        assert np.array_equal(done[1].reshape(-1, 2), service.layout.positions.astype(np.float32))
        # then activation frames, reassembled to the layout's neuron count
        frames, assembler = [], FrameAssembler()
        while len(frames) < 3:
            for addr, tags, args in page.next():
                if addr == f"{P}/activations":
                    got = assembler.add(parse_chunk(tags, args))
                    if got is not None:
                        frames.append(got[1])
        assert all(f.shape == (len(service.layout.positions),) and f.max() > 0 for f in frames)
        # controls from the page are applied and acknowledged on the socket
        page.send(f"{P}/player/volume", "f", 0.5)
        page.wait_for(f"{P}/ack", lambda a: a == [f"{P}/player/volume"])
        assert service.player.volume == pytest.approx(0.5)
        page.send(f"{P}/target/neurons", "iii", 0, 1, 5)
        page.wait_for(f"{P}/ack", lambda a: a == [f"{P}/target/neurons"])
        assert [(t.layer, t.neurons) for t in service.targets] == [(service.vector.layer_names[0], [0, 1, 5])]
        # a malformed OSC datagram (and a text message) is answered with an error, the socket stays
        page.ws.send(b"/x\0\0\x01\x02\x03")
        page.wait_for(f"{P}/error", lambda a: a[0] == "?" and "malformed" in a[1])
        page.ws.send("not osc")
        page.wait_for(f"{P}/error", lambda a: a[0] == "?")
        page.send(f"{P}/status/request")
        page.wait_for(f"{P}/status")
    finally:
        page.ws.close()


def raw_websocket(web):
    host, port = web.url.split("/")[2].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    reader = sock.makefile("rb")
    assert b" 101 " in reader.readline()
    while reader.readline().strip():
        pass
    return sock, reader


@pytest.mark.parametrize("frame, code", [
    (encode_frame(BINARY, encode_message(f"{P}/status/request", "", [])), PROTOCOL_ERROR),  # unmasked
    (bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 1 << 40) + b"mask", TOO_BIG),  # 1 TB announced
    (bytes([0xC2, 0x80]) + b"mask", PROTOCOL_ERROR),  # compression bit, never negotiated
], ids=["unmasked", "oversize", "reserved-bit"])
def test_malformed_websocket_frame_is_logged_and_the_service_keeps_running(web, frame, code):
    before, errors_before = web.malformed, web.service.errors.total
    sock, reader = raw_websocket(web)
    try:
        sock.sendall(frame)
        # the server drops that connection with the matching close code (skipping what it queued)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            opcode, payload = read_frame(reader.read)
            if opcode == CLOSE:
                assert struct.unpack(">H", payload[:2])[0] == code
                break
        else:
            raise AssertionError("no close frame")
    finally:
        sock.close()
    deadline = time.monotonic() + 10  # the close frame goes out just before the server counts it
    while web.malformed == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert web.malformed == before + 1 and web.service.errors.total > errors_before
    # ... and everything else goes on: a new page connects and is answered
    page = Page(web)
    try:
        page.send(f"{P}/status/request")
        page.wait_for(f"{P}/status")
    finally:
        page.ws.close()


def test_bad_handshake_is_a_400(web):
    req = urllib.request.Request(web.url + "ws", headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code in (400, 426)  # no Sec-WebSocket-Key / version: websockets' answers


def test_a_websocket_from_another_origin_is_refused(web):
    import base64
    from urllib.parse import urlsplit

    host = urlsplit(web.url).netloc
    key = base64.b64encode(os.urandom(16)).decode()

    def handshake(origin: str) -> str:
        with socket.create_connection((host.split(":")[0], int(host.split(":")[1])), timeout=10) as sock:
            sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
                          ).encode())
            return sock.recv(1024).decode("latin-1").split("\r\n")[0]

    assert " 403 " in handshake("http://evil.example")  # another web site in the same browser
    assert " 101 " in handshake(f"http://{host}")  # the viewer's own page


def test_closed_pages_are_no_longer_sinks(web):
    page = Page(web)
    page.send(f"{P}/status/request")
    page.wait_for(f"{P}/status")
    assert len(web.viewers) >= 1
    page.ws.close()
    deadline = time.monotonic() + 10
    while web.viewers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not web.viewers
    assert not any(isinstance(k, object) and type(k).__name__ == "_Viewer" for k in web.service.sinks)


def test_requests_for_another_host_name_are_refused(web):
    """DNS rebinding: a page of some domain that now resolves to 127.0.0.1 sends its own Host."""
    from urllib.parse import urlsplit

    host = urlsplit(web.url).netloc
    with socket.create_connection((host.split(":")[0], int(host.split(":")[1])), timeout=10) as sock:
        sock.sendall(b"GET /controls.json HTTP/1.1\r\nHost: evil.example:8130\r\n\r\n")
        assert b" 403 " in sock.recv(1024).split(b"\r\n")[0]
    with urllib.request.urlopen(web.url + "controls.json", timeout=10) as response:  # by its own name: fine
        assert response.status == 200
