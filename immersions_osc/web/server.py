"""The browser viewer's server: HTTP for the page, a WebSocket for the OSC datagrams.

``WebServer(service, host, port).start()`` serves, from background threads (standard library
``http.server``; one thread per connection):

=====================  ==========================================================================
``/``                  the page (``static/index.html``; its ES modules and CSS under ``/static/``)
``/ws``                WebSocket.  Service -> page: on connect the layout datagrams
                       (``/immersions/layout/layer`` + ``/immersions/layout/positions`` chunks) and
                       a status, then every datagram a UDP subscriber of kind ``all`` gets.
                       Page -> service: OSC datagrams (controls), applied by
                       ``service.handle_datagram``; acks and errors come back on the socket.
                       Each binary message is exactly one OSC datagram (``docs/osc.md``).
``/info.json``         neuron count, layers (name, offset, shape, colour), the layer of every neuron
                       (run-length), layout animation size, sample rate
``/controls.json``     the control table (``service/controls.py``) with the current values, so the
                       page never hard-codes addresses or ranges
``/animation.bin``     the layout's time snapshots, float32 little-endian [T, N, 2] (404 when T = 0)
``/loop.json``         the loop playing: version, seconds, playhead (seconds), scaleogram size
``/scaleogram.png``    that loop's scaleogram (low frequencies at the bottom)
``/snapshot.png``      the next activation frame drawn on the layout, server side (``?size=``)
=====================  ==========================================================================

A malformed WebSocket frame is handled like a malformed OSC datagram: logged (rate-limited, the
service's error log), never raised; the RFC requires that connection to be closed (close code
1002/1009 with the reason), the page reconnects.  A malformed OSC datagram in a well-formed
message is answered with ``/immersions/error`` on that socket, as over UDP.
"""
from __future__ import annotations

import collections
import json
import os
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import numpy as np

from ..service.controls import CONTROLS, OPTIMIZE_FIELDS, PREFIX
from ..service.protocol import FrameAssembler, OSCDecodeError
from .websocket import (GOING_AWAY, ConnectionClosed, HandshakeError, ProtocolError, WebSocket,
                        check_request)

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".json": "application/json", ".png": "image/png",
                 ".svg": "image/svg+xml"}
MAX_VIEWERS = 16  # pages connected at once
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
MAX_MESSAGE = 4 << 20  # largest WebSocket message accepted from a page (a selection of 10^5 neurons is ~0.6 MB)
MAX_BACKLOG = 8 << 20  # bytes queued for one page before its datagrams are dropped (a slow tab)
START_CLIPS = ("noise", "silence", "previous")


class _Viewer:
    """One connected page: a sink whose ``send`` never blocks the service (a queue + writer thread)."""

    def __init__(self, ws: WebSocket, peer: str):
        self.ws, self.peer = ws, peer
        self._queue: collections.deque[bytes] = collections.deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self.closed = False
        self.dropped = 0
        self._writer = threading.Thread(target=self._write, name=f"immersions-web-out {peer}", daemon=True)
        self._writer.start()

    def send(self, datagram: bytes) -> None:
        with self._cond:
            if self.closed:
                raise OSError("viewer disconnected")
            if self._bytes + len(datagram) > MAX_BACKLOG:
                self.dropped += 1
                raise OSError("viewer is too far behind; datagram dropped")
            self._queue.append(datagram)
            self._bytes += len(datagram)
            self._cond.notify()

    def _write(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self.closed:
                    self._cond.wait()
                if self.closed:
                    return
                datagram = self._queue.popleft()
                self._bytes -= len(datagram)
            try:
                self.ws.send_binary(datagram)
            except (OSError, ConnectionClosed):
                self.stop()
                return

    def stop(self) -> None:
        with self._cond:
            self.closed = True
            self._queue.clear()
            self._cond.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    web: "WebServer"


class WebServer:
    def __init__(self, service, host: str = "127.0.0.1", port: int = 8130, log=None):
        self.service, self.host, self.port = service, host, port
        self.log = log or getattr(service, "log", print)
        self.httpd: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self.viewers: dict[_Viewer, None] = {}
        self._lock = threading.Lock()
        self._scaleogram_lock = threading.Lock()
        self._scaleogram_cache: Optional[tuple[int, bytes]] = None
        self.connections = 0
        self.messages_received = 0
        self.malformed = 0  # WebSocket protocol errors (connections closed because of them)
        self.warmed = threading.Event()

    # --- life cycle ------------------------------------------------------------------------------------
    def start(self) -> "WebServer":
        from ..errors import UserError

        try:
            self.httpd = _Server((self.host, self.port), _Handler)
        except OSError as exc:
            raise UserError(f"cannot serve the viewer on http://{self.host}:{self.port}/ "
                            f"({exc.strerror or exc}); choose another port with --web-port") from None
        self.httpd.web = self
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="immersions-web", daemon=True)
        self._thread.start()
        self.warmed = threading.Event()
        threading.Thread(target=self._warm_up, name="immersions-web-warm-up", daemon=True).start()
        self.log(f"viewer: {self.url}")
        return self

    def _warm_up(self) -> None:
        """Run the stream and the scaleogram once, so the first page gets its first frame fast."""
        try:
            self.next_frame(timeout=30.0)
            self.scaleogram_png()
        except Exception as exc:  # only a warm-up
            self.service.errors(f"viewer warm-up failed: {type(exc).__name__}: {exc}")
        finally:
            self.warmed.set()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}/"

    def close(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        with self._lock:
            viewers = list(self.viewers)
        for v in viewers:
            self.service.remove_sink(v)
            v.stop()
            v.ws.close(GOING_AWAY, "service stopping")
        if self._thread is not None:
            self._thread.join(5.0)
        self.httpd, self._thread = None, None

    # --- the WebSocket -----------------------------------------------------------------------------------
    def serve_websocket(self, ws: WebSocket, peer: str) -> None:
        """The page's connection, until it ends (runs in the HTTP handler's thread)."""
        from ..service.server import Sink

        viewer = _Viewer(ws, peer)
        with self._lock:
            self.viewers[viewer] = None
            self.connections += 1
        try:
            for d in self.service.layout_datagrams() + [self.service.status_datagram()]:
                viewer.send(d)
            self.service.add_sink(viewer, Sink(viewer.send, "all"))
            while True:
                _, data = ws.receive()
                self.messages_received += 1
                if isinstance(data, str):  # the protocol is binary: text is handled as malformed OSC
                    data = data.encode("utf-8")
                self.service.handle_datagram(data, viewer.send, f"ws {peer}")
        except ProtocolError as exc:
            self.malformed += 1
            self.service.errors(f"malformed WebSocket message from {peer}: {exc} (connection closed, "
                                f"code {exc.code})")
        except ConnectionClosed:
            pass
        except OSError:
            pass
        finally:
            self.service.remove_sink(viewer)
            viewer.stop()
            ws.close()
            with self._lock:
                self.viewers.pop(viewer, None)

    # --- what the page fetches ---------------------------------------------------------------------------
    def info(self) -> dict:
        from ..layout.render import layer_colours

        s, layout = self.service, self.service.layout
        colours = layer_colours(len(s.vector.layer_names)).tolist()
        layers = [{"index": i, "name": name, "offset": int(s.vector.offsets[i]), "channels": c,
                   "frequencies": f, "colour": colours[i]}
                  for i, name in enumerate(s.vector.layer_names) for c, f in [s.vector.shapes[name]]]
        per_neuron = np.asarray(layout.neurons)[:, 0]
        change = np.flatnonzero(np.diff(per_neuron)) + 1
        starts = np.concatenate([[0], change])
        counts = np.diff(np.concatenate([starts, [len(per_neuron)]]))
        runs = [[int(per_neuron[a]), int(n)] for a, n in zip(starts, counts)] if len(per_neuron) else []
        animation = np.asarray(layout.animation)
        return {"neurons": int(len(layout.positions)), "layers": layers, "layer_runs": runs,
                "animation_frames": int(animation.shape[0]) if animation.ndim == 3 and animation.shape[1] else 0,
                "sample_rate": int(s.sample_rate), "prefix": PREFIX, "start_clips": list(START_CLIPS)}

    def controls(self) -> dict:
        s = self.service
        optimize = {name for name, *_ in OPTIMIZE_FIELDS}
        out = []
        for c in CONTROLS:
            value = None
            name = c.address[len(PREFIX) + 1:]
            field = name.split("/")[-1]
            try:
                if name.startswith("optimize/") and field in optimize:
                    value = getattr(s.generator.cfg, field)
                elif name == "optimize/publish_every":
                    value = s.generator.publish_every
                elif name == "optimize/run":
                    value = 0 if s.generator.paused else 1
                elif name == "player/volume":
                    value = s.player.volume
                elif name == "player/play":
                    value = int(s.player.playing)
                elif name == "player/loop_seconds":
                    value = s.loop_samples / s.sample_rate
                elif name == "target/weight":
                    value = s.targets[0].weight if s.targets else 1.0
                elif c.setting.startswith("service."):
                    value = getattr(s.scfg, c.setting.split(".", 1)[1])
            except (AttributeError, IndexError):
                value = None
            if isinstance(value, bool):
                value = int(value)
            if isinstance(value, (np.floating, np.integer)):
                value = value.item()
            out.append({"address": c.address, "doc": c.doc, "pattern": c.pattern, "value": value,
                        "args": [{"name": a.name, "type": a.type, "lo": a.lo, "hi": a.hi,
                                  "choices": list(a.choices) if a.choices else None, "optional": a.optional,
                                  "default": a.default, "repeat": a.repeat} for a in c.args]})
        return {"controls": out, "layers": list(s.vector.layer_names), "start_clips": list(START_CLIPS)}

    def animation_bytes(self) -> Optional[bytes]:
        a = np.asarray(self.service.layout.animation, "<f4")
        if a.ndim != 3 or a.shape[0] == 0 or a.shape[1] != len(self.service.layout.positions):
            return None
        return a.tobytes()

    def loop_info(self) -> dict:
        p = self.service.player
        loop, pos = p.playhead()
        sr = self.service.sample_rate
        if loop is None:
            return {"version": -1, "seconds": 0.0, "position": 0.0}
        return {"version": int(p.version), "seconds": len(loop) / sr, "position": pos / sr,
                "steps": int(self.service.generator.stats.steps)}

    def scaleogram_png(self) -> tuple[bytes, int]:
        """(PNG of the playing loop's scaleogram, its version), cached per loop version."""
        import torch

        from ..images import encode_png, scaleogram_image

        p = self.service.player
        with self._scaleogram_lock:
            version = int(p.version)  # before the loop: a newer loop is recomputed on the next request
            loop, _ = p.playhead()
            cache = self._scaleogram_cache
            if cache is not None and cache[0] == version:
                return cache[1], version
            if loop is None:
                png = encode_png(np.zeros((2, 2, 3), np.uint8))
            else:
                # the scaleogram holds no state and no hooks: the stream model's serves every thread
                audio = torch.from_numpy(np.ascontiguousarray(loop, np.float32)).to(self.service.device)
                with torch.no_grad():
                    from ..contract import spectrum

                    log_power = spectrum(self.service.stream_model, audio[None])
                png = encode_png(scaleogram_image(log_power[0, 0].cpu().numpy(), scale=2))
            self._scaleogram_cache = (version, png)
            return png, version

    def next_frame(self, timeout: float = 5.0) -> Optional[np.ndarray]:
        """The next activation frame of the stream (a temporary sink; nothing runs the model twice)."""
        from ..service.server import Sink

        assembler, done = FrameAssembler(), threading.Event()
        result: list[np.ndarray] = []

        def take(datagram: bytes) -> None:
            if done.is_set():
                return
            try:
                got = assembler.add_datagram(datagram, f"{PREFIX}/activations")
            except OSCDecodeError:
                return
            if got is not None:
                result.append(got[1])
                done.set()

        key = object()
        self.service.add_sink(key, Sink(take, "all"))
        try:
            done.wait(timeout)
        finally:
            self.service.remove_sink(key)
        return result[0] if result else None

    def snapshot_png(self, size: int = 1024) -> Optional[bytes]:
        from ..images import encode_png
        from ..layout.render import activation_image

        frame = self.next_frame()
        if frame is None:
            return None
        return encode_png(activation_image(self.service.layout.positions, frame, size=size))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "immersions-viewer"

    def log_message(self, format, *args):  # quiet: errors go through the service's log
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: dict) -> None:
        self._send(200, json.dumps(data).encode("utf-8"), "application/json")

    def _error(self, status: int, text: str) -> None:
        self._send(status, (text + "\n").encode("utf-8"), "text/plain; charset=utf-8")

    def do_HEAD(self):
        self.do_GET()

    timeout = 10  # seconds for a request (and a WebSocket handshake) to arrive

    def _host_allowed(self) -> bool:
        """Only requests addressed to this machine by a local name or the bound address: a web
        page whose domain re-resolves to 127.0.0.1 (DNS rebinding) must not reach the service.
        Bound to 0.0.0.0 (``--host 0.0.0.0``, an explicit opt-in to the network) any Host goes."""
        bound = self.server.web.host
        if bound in ("", "0.0.0.0", "::"):
            return True
        host = urlsplit("//" + self.headers.get("Host", "")).hostname or ""
        return host in LOCAL_NAMES or host == bound

    def do_GET(self):
        web = self.server.web
        if not self._host_allowed():
            return self._error(403, "requests must address this machine as localhost / 127.0.0.1")
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        try:
            if path == "/ws":
                return self._websocket()
            if path in ("/", "/index.html"):
                return self._static("index.html")
            if path.startswith("/static/"):
                return self._static(path[len("/static/"):])
            if path == "/info.json":
                return self._json(web.info())
            if path == "/controls.json":
                return self._json(web.controls())
            if path == "/loop.json":
                return self._json(web.loop_info())
            if path == "/animation.bin":
                data = web.animation_bytes()
                if data is None:
                    return self._error(404, "this layout has no animation snapshots")
                return self._send(200, data, "application/octet-stream")
            if path == "/scaleogram.png":
                png, version = web.scaleogram_png()
                return self._send(200, png, "image/png", {"X-Loop-Version": str(version)})
            if path == "/snapshot.png":
                try:
                    size = int(query.get("size", ["1024"])[0])
                except ValueError:
                    size = 0
                if not 64 <= size <= 4096:
                    return self._error(400, "size must be 64..4096")
                png = web.snapshot_png(size)
                if png is None:
                    return self._error(503, "no activation frame within 5 s (is a loop playing?)")
                return self._send(200, png, "image/png")
            return self._error(404, "not found")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug in one request must not take the viewer down
            web.service.errors(f"viewer request {path} failed: {type(exc).__name__}: {exc}")
            try:
                self._error(500, f"internal error: {type(exc).__name__}")
            except OSError:
                pass

    def _static(self, name: str) -> None:
        full = os.path.realpath(os.path.join(STATIC, name))
        if not full.startswith(os.path.realpath(STATIC) + os.sep) or not os.path.isfile(full):
            return self._error(404, "not found")
        ext = os.path.splitext(full)[1]
        with open(full, "rb") as fh:
            body = fh.read()
        self._send(200, body, CONTENT_TYPES.get(ext, "application/octet-stream"))

    def _websocket(self) -> None:
        try:
            accept = check_request(self.command, self.headers)
        except HandshakeError as exc:
            return self._error(400, f"bad WebSocket handshake: {exc}")
        origin = self.headers.get("Origin")
        if origin and urlsplit(origin).netloc != self.headers.get("Host", ""):
            # another web site in the same browser must not steer the service
            return self._error(403, "WebSocket from another origin refused")
        if len(self.server.web.viewers) >= MAX_VIEWERS:
            return self._error(503, f"too many viewers connected ({MAX_VIEWERS})")
        self.send_response(HTTPStatus.SWITCHING_PROTOCOLS)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        self.connection.settimeout(None)  # a page may stay quiet for hours ...
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # ... but a dead peer is noticed
        ws = WebSocket(self.connection, "server", reader=self.rfile, max_message=MAX_MESSAGE)
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        self.server.web.serve_websocket(ws, peer)
