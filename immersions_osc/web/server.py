"""The browser viewer's server: HTTP for the page, a WebSocket for the OSC datagrams, both on one
port, served by the maintained ``websockets`` library (its threaded sync server: HTTP/1.1 request
parsing, the RFC 6455 handshake, framing, masking, fragmentation, close codes, ping/pong).

``WebServer(service, host, port).start()`` answers:

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
``/controls.json``     the control table (``osc/controls.py``) with the current values, so the
                       page never hard-codes addresses or ranges
``/layout.npz``        the layout file (neurons in stream order), for clients that fetch it over HTTP
                       instead of as OSC chunks (TouchDesigner, a script)
``/layout.json``       the layout as ``/immersions/layout/*`` carries it: frame, layer table,
                       positions x0 y0 x1 y1 ...
``/animation.bin``     the layout's time snapshots, float32 little-endian [T, N, 2] (404 when T = 0)
``/loop.json``         the loop playing: version, seconds, playhead (seconds), scaleogram size
``/scaleogram.png``    that loop's scaleogram (low frequencies at the bottom)
``/snapshot.png``      the next activation frame drawn on the layout, server side (``?size=``
                       64..2048; one drawn at a time, a request while one is drawn gets 503)
``/gallery/channel.json``  ``?layer=&channel=``: the channel's examples from the loaded gallery
                       (``immersions-osc gallery``), its activation now and that activation's
                       percentile on the gallery's music (``loaded: false`` without a gallery)
``/gallery/layer.json``    ``?layer=``: every channel of a layer: its best examples and percentile now
``/gallery/example.wav``   ``?layer=&channel=&rank=``: that example, decoded from the user's file
                       (only files the gallery lists: a client names an example, never a path)
``/gallery/loop.wav``      ``?layer=&channel=``: the channel's rendered loop (404 when none)
``/gallery/loop.png``      ``?layer=&channel=``: that loop's scaleogram
=====================  ==========================================================================

Who may ask (see ``service/access.py``):

* the ``Host`` header must name this machine (``localhost``, ``127.0.0.1``, ``::1``, the bound
  address, an IP address, this machine's host name), whatever the bind address (``0.0.0.0``
  included), so a page whose domain re-resolves to 127.0.0.1 (DNS rebinding) is refused with 403;
  only a request carrying the token may use another name (a remote user's DNS name for this host);
* a request another web site makes (``Sec-Fetch-Site: cross-site``, e.g. an ``<img>`` on some
  page) is refused, and a WebSocket must come from the viewer's own origin;
* with ``--allow-remote`` every request needs the shared token: ``/?token=...`` once, after which
  a ``SameSite=Strict`` HttpOnly cookie carries it (requests from this machine need none).

Limits: the viewers count with the UDP subscribers under the service's one limit (checked and
registered in one step); a page gets at most ``MAX_MESSAGE`` bytes per message from it; what
waits for a page is at most ``MAX_BACKLOG`` bytes (beyond, datagrams are dropped); a send blocked
for ``SEND_TIMEOUT`` seconds (a page that stopped reading) ends that connection, and ``close``
never waits on a stalled page.  A malformed WebSocket frame closes that connection with the
RFC's code (1002, 1009, ...) and a rate-limited log line; the page reconnects.
"""
from __future__ import annotations

import collections
import email.utils
import errno
import hmac
import http
import ipaddress
import json
import logging
import os
import socket
import struct
import threading
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from ..config import START_KINDS
from ..errors import UserError
from ..service.access import is_loopback_address
from ..osc.controls import CONTROLS, OPTIMIZE_FIELDS, PREFIX
from ..osc.protocol import FrameAssembler, OSCDecodeError

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".json": "application/json", ".png": "image/png",
                 ".svg": "image/svg+xml"}
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
MAX_MESSAGE = 4 << 20  # largest WebSocket message accepted from a page (a selection of 10^5 neurons is ~0.6 MB)
MAX_BACKLOG = 8 << 20  # bytes queued for one page before its datagrams are dropped (a slow tab)
SEND_TIMEOUT = 2.0  # seconds a send to a page may block before that connection is dropped
REQUEST_TIMEOUT = 10  # seconds for a request (and a WebSocket handshake) to arrive
MAX_PER_PEER = 64  # connections open at once from one address (a browser opens ~6; the rest is a flood)
ACCEPT_BACKOFF = (0.05, 1.0)  # seconds the accept loop pauses when descriptors run out (doubling)
ACCEPT_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.ECONNABORTED, errno.EPROTO,
                 errno.EPERM, errno.EINTR)  # accept() failures that end nothing: wait and accept again
SNAPSHOT_SIZES = (64, 2048)
COOKIE = "immersions_token"
MALFORMED_CODES = (1002, 1007, 1009)  # protocol error, bad data, too big: what the server closes with


class _Viewer:
    """One connected page: a sink whose ``send`` never blocks the service (a queue + writer thread)."""

    def __init__(self, connection: ServerConnection, peer: str, host: str):
        self.connection, self.peer, self.host = connection, peer, host
        self._queue: collections.deque[bytes] = collections.deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self.closed = False
        self.ready = False  # the layout is queued first; stream datagrams before that are not kept
        self.dropped = 0
        self._writer = threading.Thread(target=self._write, name=f"immersions-web-out {peer}", daemon=True)
        self._writer.start()

    def send(self, datagram: bytes, first: bool = False) -> None:
        with self._cond:
            if self.closed:
                raise OSError("viewer disconnected")
            if not (self.ready or first):
                return
            if self._bytes + len(datagram) > MAX_BACKLOG:
                self.dropped += 1
                raise BlockingIOError("viewer is too far behind; datagram dropped")
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
                self.connection.send(datagram)
            except Exception:  # closed, or blocked past SEND_TIMEOUT (the socket's send timeout)
                self.stop()
                self.connection.close_socket()
                return

    def stop(self) -> None:
        with self._cond:
            self.closed = True
            self._queue.clear()
            self._cond.notify_all()


class _AcceptGuard:
    """The listening socket as ``serve_forever`` sees it.  websockets' loop ends for good on the first
    failed ``accept()``; at descriptor exhaustion (EMFILE) this one logs one line, backs off (doubling
    from 50 ms to 1 s, so the still-readable socket does not spin) and accepts again.  Any other
    failure (the socket closed at shutdown) still ends the loop."""

    def __init__(self, sock: socket.socket, errors, closing: threading.Event):
        self._sock, self._errors, self._closing = sock, errors, closing
        self.exhausted = 0  # accept() failures survived (EMFILE and kin)

    def accept(self):
        pause = ACCEPT_BACKOFF[0]
        logged = False
        while True:
            try:
                return self._sock.accept()
            except OSError as exc:
                if exc.errno not in ACCEPT_ERRORS or self._closing.is_set():
                    raise
                self.exhausted += 1
                if not logged:
                    logged = True
                    self._errors(f"viewer: cannot accept a connection ({errno.errorcode.get(exc.errno, exc.errno)}: "
                                 f"{exc.strerror}); backing off, still serving")
                if self._closing.wait(pause):
                    raise
                pause = min(pause * 2, ACCEPT_BACKOFF[1])

    def __getattr__(self, name):
        return getattr(self._sock, name)


class _Connection(ServerConnection):
    """websockets' server connection, whose reader thread ends quietly (one rate-limited line, the
    socket closed) when it cannot even start, e.g. no descriptor left for its selector (EMFILE)."""

    def recv_events(self) -> None:
        try:
            super().recv_events()
        except OSError as exc:
            self.logger.warning("connection reader failed: %s", exc)
            try:
                self.close_socket()
            except Exception:
                pass


class _QuietLog(logging.Handler):
    """websockets' own log lines (failed handshakes, connection errors) go to the service's
    rate-limited error log as one line, never as a traceback."""

    def __init__(self, errors):
        super().__init__(logging.WARNING)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        try:
            why = f": {record.exc_info[1]!r}" if record.exc_info and record.exc_info[1] is not None else ""
            self.errors(f"viewer connection: {record.getMessage()}{why}")
        except Exception:
            pass


class WebServer:
    def __init__(self, service, host: str = "127.0.0.1", port: int = 8130, log=None):
        self.service, self.host, self.port = service, host, port
        self.log = log or getattr(service, "log", print)
        access = getattr(service, "access", None)
        self.token = access.token if access is not None and access.remote else ""
        self.server = None
        self._thread: Optional[threading.Thread] = None
        self.viewers: dict[_Viewer, None] = {}
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()  # every accepted connection (closed at shutdown)
        self._per_peer: dict[str, int] = {}  # connections open per peer address (MAX_PER_PEER)
        self.over_peer_limit = 0
        self._closing = threading.Event()
        self._accept: Optional[_AcceptGuard] = None
        self._scaleogram_lock = threading.Lock()
        self._scaleogram_cache: Optional[tuple[int, bytes]] = None
        self._loop_pngs: dict[tuple[str, int], bytes] = {}  # the gallery's rendered loops' scaleograms
        self._snapshot_lock = threading.Lock()
        self.snapshots_refused = 0
        self.connections = 0
        self.messages_received = 0
        self.malformed = 0  # WebSocket protocol errors (connections closed because of them)
        self.refused = 0  # requests refused by the Host / site / token checks
        self.warmed = threading.Event()
        self._machine_names = _machine_names()
        self._logger = logging.getLogger(f"immersions.web.{id(self)}")
        self._logger.propagate = False
        self._logger.setLevel(logging.WARNING)
        self._logger.addHandler(_QuietLog(service.errors))

    # --- life cycle ------------------------------------------------------------------------------------
    def start(self) -> "WebServer":
        try:
            self.server = serve(self._serve_websocket, self.host, self.port, process_request=self._process_request,
                                server_header="immersions-viewer", compression=None, max_size=MAX_MESSAGE,
                                max_queue=4, open_timeout=REQUEST_TIMEOUT, ping_interval=20, ping_timeout=20,
                                close_timeout=1, logger=self._logger, create_connection=_Connection)
        except OSError as exc:
            raise UserError(f"cannot serve the viewer on http://{self.host}:{self.port}/ "
                            f"({exc.strerror or exc}); choose another port with --web-port") from None
        self.port = self.server.socket.getsockname()[1]
        self._closing = threading.Event()
        self._accept = _AcceptGuard(self.server.socket, self.service.errors, self._closing)
        self.server.socket = self._accept  # serve_forever survives EMFILE (shutdown closes it through this)
        handle = self.server.handler

        def handler(sock: socket.socket, addr) -> None:  # every accepted TCP connection
            peer = addr[0] if isinstance(addr, tuple) else str(addr)
            with self._lock:
                if self._per_peer.get(peer, 0) >= MAX_PER_PEER:
                    self.over_peer_limit += 1
                    full = True
                else:
                    full = False
                    self._per_peer[peer] = self._per_peer.get(peer, 0) + 1
                    self._sockets.add(sock)
            if full:  # a flood of idle connections from one address: closed at once, costs nothing
                sock.close()
                self.service.errors(f"viewer: {peer} has {MAX_PER_PEER} connections open; closing more")
                return
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # a dead peer is noticed
                # a page that stops reading blocks a send for at most SEND_TIMEOUT (then it is dropped)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                                struct.pack("ll", int(SEND_TIMEOUT), int(SEND_TIMEOUT % 1 * 1e6)))
                handle(sock, addr)
            except Exception as exc:  # e.g. EMFILE while the connection is set up: one line, no traceback
                self.service.errors(f"viewer connection from {peer} failed: {type(exc).__name__}: {exc}")
                try:
                    sock.close()
                except OSError:
                    pass
            finally:
                with self._lock:
                    self._sockets.discard(sock)
                    left = self._per_peer.get(peer, 1) - 1
                    if left > 0:
                        self._per_peer[peer] = left
                    else:
                        self._per_peer.pop(peer, None)
        self.server.handler = handler
        self._thread = threading.Thread(target=self.server.serve_forever, name="immersions-web", daemon=True)
        self._thread.start()
        self.warmed = threading.Event()
        threading.Thread(target=self._warm_up, name="immersions-web-warm-up", daemon=True).start()
        self.log(f"viewer: {self.url}" + (f"?token={self.token} (from another machine)" if self.token else ""))
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
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}/"

    def close(self, timeout: float = 1.0) -> None:
        """Stop serving; pages get a close frame (1001).  Never waits on a page that stopped reading:
        after ``timeout`` seconds every connection still open is shut down."""
        if self.server is None:
            return
        with self._lock:
            viewers = list(self.viewers)
        self._closing.set()
        for v in viewers:
            self.service.remove_sink(v)
            v.stop()
        closer = threading.Thread(target=self.server.shutdown, name="immersions-web-close", daemon=True)
        closer.start()
        closer.join(timeout)
        if closer.is_alive():  # a stalled page (its close frame cannot be written) or a slow request
            with self._lock:
                sockets = list(self._sockets)
            for sock in sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            closer.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        self.server, self._thread = None, None

    # --- the WebSocket -----------------------------------------------------------------------------------
    def _serve_websocket(self, connection: ServerConnection) -> None:
        """The page's connection, until it ends (runs in the connection's thread)."""
        from ..service.sinks import Sink

        peer_addr = connection.remote_address
        peer = f"{peer_addr[0]}:{peer_addr[1]}"
        viewer = _Viewer(connection, peer, peer_addr[0])
        try:
            self.service.add_sink(viewer, Sink(viewer.send, "all", group="viewer"))  # logged there
        except UserError as exc:
            viewer.stop()
            connection.close(1013, str(exc)[:120])  # try again later
            return
        with self._lock:
            self.viewers[viewer] = None
            self.connections += 1
        try:
            for d in self.service.stream.layout_datagrams() + [self.service.stream.status_datagram()]:
                viewer.send(d, first=True)
            viewer.ready = True
            for data in connection:
                self.messages_received += 1
                if isinstance(data, str):  # the protocol is binary: text is handled as malformed OSC
                    data = data.encode("utf-8")
                self.service.handle_datagram(data, viewer.send, f"ws {peer}")
        except ConnectionClosedError as exc:
            sent = exc.sent.code if exc.sent is not None else None
            if exc.rcvd is None and sent in MALFORMED_CODES:
                self.malformed += 1
                self.service.errors(f"malformed WebSocket message from {peer}: {exc.sent.reason} "
                                    f"(connection closed, code {sent})")
        except (ConnectionClosed, OSError):
            pass
        finally:
            self.service.remove_sink(viewer)
            viewer.stop()
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
                "sample_rate": int(s.sample_rate), "prefix": PREFIX, "start_clips": list(START_KINDS)}

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
                        "args": [{"name": a.name, "type": a.type, "curve": a.curve, "hi": a.hi,
                                  # a slider's left end: the off value below the range (tempo 0)
                                  "lo": a.lo if a.off is None else min(a.lo, a.off),
                                  "choices": list(a.choices) if a.choices else None, "optional": a.optional,
                                  "default": a.default, "repeat": a.repeat} for a in c.args]})
        return {"controls": out, "layers": list(s.vector.layer_names), "start_clips": list(START_KINDS)}

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
        from ..service.sinks import Sink

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
        self.service.add_sink(key, Sink(take, "all"))  # internal: not counted against the limit
        try:
            done.wait(timeout)
        finally:
            self.service.remove_sink(key)
        return result[0] if result else None

    def snapshot_png(self, size: int = 1024) -> Optional[bytes]:
        """The next frame drawn at ``size`` pixels; None when no frame came.  One at a time (each
        draws a size x size picture): raises BlockingIOError while another is being drawn."""
        from ..images import encode_png
        from ..layout.render import activation_image

        if not self._snapshot_lock.acquire(blocking=False):
            self.snapshots_refused += 1
            raise BlockingIOError("a snapshot is being drawn")
        try:
            frame = self.next_frame()
            if frame is None:
                return None
            return encode_png(activation_image(self.service.layout.positions, frame, size=size))
        finally:
            self._snapshot_lock.release()

    # --- HTTP ----------------------------------------------------------------------------------------
    def _refusal(self, connection: ServerConnection, request: Request) -> Optional[Response]:
        """403/401 for a request this viewer must not answer (see the module's doc), else None."""
        headers = request.headers
        peer = connection.remote_address[0]
        try:
            host = urlsplit("//" + headers.get("Host", "")[:256]).hostname or ""
        except ValueError:  # a malformed Host (an unbalanced "[", a bad port) names nothing of ours
            host = ""
        given = None
        if self.token:
            given = _cookie(headers, COOKIE) or parse_qs(urlsplit(request.path).query).get("token", [None])[0]
        token_ok = given is not None and bool(self.token) and hmac.compare_digest(
            given.encode("utf-8", "replace"), self.token.encode())
        if not self._host_allowed(host) and not token_ok:
            # whatever the bind address (0.0.0.0 included): a page of a domain that re-resolves to this
            # machine (DNS rebinding) sends its own name, and only the token lets such a name in
            return _text(403, "requests must address this machine by its own name or address "
                              "(localhost / 127.0.0.1 / the host's address), or carry the token")
        if headers.get("Sec-Fetch-Site", "") == "cross-site":
            return _text(403, "requests from another web site are refused")
        origin = headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != headers.get("Host", ""):
            return _text(403, "requests from another origin are refused")
        if self.token and not is_loopback_address(peer):
            if not token_ok:
                return _text(401, "this viewer needs the service's token: open /?token=TOKEN "
                                  "(printed when the service started)")
        return None

    def _host_allowed(self, host: str) -> bool:
        """Does ``host`` (the request's Host name) name this machine?  Loopback names, the bound
        address, any IP literal (a browser sends one only when the page was opened by address, which
        DNS rebinding cannot produce) and this machine's own host name.  Checked for every bind
        address, the wildcard ones included."""
        if not host:
            return False
        if host in LOCAL_NAMES or host == self.host or host in self._machine_names:
            return True
        try:
            ipaddress.ip_address(host.split("%")[0])
            return True
        except ValueError:
            return False

    def _process_request(self, connection: ServerConnection, request: Request) -> Optional[Response]:
        """Every HTTP request: the checks, then a Response, or None to go on with the WebSocket."""
        refusal = self._refusal(connection, request)
        if refusal is not None:
            self.refused += 1
            return refusal
        url = urlsplit(request.path)
        path, query = url.path, parse_qs(url.query)
        try:
            if path == "/ws":
                if "websocket" not in request.headers.get("Upgrade", "").lower():
                    return _text(400, "bad WebSocket handshake: this path takes WebSocket connections only")
                return None  # websockets checks the rest of the handshake (400 when it is wrong)
            if path in ("/", "/index.html"):
                response = self._static("index.html")
                if self.token and "token" in query:  # remember the token for this site's later requests
                    response.headers["Set-Cookie"] = (f"{COOKIE}={query['token'][0]}; Path=/; HttpOnly; "
                                                      f"SameSite=Strict")
                return response
            if path.startswith("/static/"):
                return self._static(path[len("/static/"):])
            if path == "/info.json":
                return _json(self.info())
            if path == "/controls.json":
                return _json(self.controls())
            if path == "/loop.json":
                return _json(self.loop_info())
            if path == "/layout.npz":
                return _body(200, self.service.stream.layout_npz(), "application/octet-stream",
                             {"Content-Disposition": 'attachment; filename="layout.npz"'})
            if path == "/layout.json":
                return _json(self.service.stream.layout_json())
            if path == "/animation.bin":
                data = self.animation_bytes()
                if data is None:
                    return _text(404, "this layout has no animation snapshots")
                return _body(200, data, "application/octet-stream")
            if path == "/scaleogram.png":
                png, version = self.scaleogram_png()
                return _body(200, png, "image/png", {"X-Loop-Version": str(version)})
            if path.startswith("/gallery/"):
                return self._gallery_request(path, query)
            if path == "/snapshot.png":
                try:
                    size = int(query.get("size", ["1024"])[0])
                except ValueError:
                    size = 0
                lo, hi = SNAPSHOT_SIZES
                if not lo <= size <= hi:
                    return _text(400, f"size must be {lo}..{hi}")
                try:
                    png = self.snapshot_png(size)
                except BlockingIOError:
                    return _body(503, b"another snapshot is being drawn; try again\n",
                                 "text/plain; charset=utf-8", {"Retry-After": "1"})
                if png is None:
                    return _text(503, "no activation frame within 5 s (is a loop playing?)")
                return _body(200, png, "image/png")
            return _text(404, "not found")
        except Exception as exc:  # a bug in one request must not take the viewer down
            self.service.errors(f"viewer request {path} failed: {type(exc).__name__}: {exc}")
            return _text(500, f"internal error: {type(exc).__name__}")

    # --- the gallery -----------------------------------------------------------------------------------
    def _gallery_request(self, path: str, query: dict) -> Response:
        from ..gallery.files import wav_bytes

        gallery = getattr(self.service, "gallery", None)
        try:
            layer = query.get("layer", [""])[0]
            channel = int(query.get("channel", ["0"])[0])
            rank = int(query.get("rank", ["0"])[0])
        except ValueError:
            return _text(400, "channel and rank must be integers")
        if path == "/gallery/channel.json":
            return _json(self.gallery_channel(layer, channel))
        if path == "/gallery/layer.json":
            return _json(self.gallery_layer(layer))
        if gallery is None:
            return _text(404, "no gallery loaded (serve --gallery DIR)")
        try:
            if path == "/gallery/example.wav":
                return _body(200, wav_bytes(gallery.example_audio(layer, channel, rank), gallery.sample_rate),
                             "audio/wav")
            if path in ("/gallery/loop.wav", "/gallery/loop.png"):
                loop = gallery.loop_audio(layer, channel)
                if loop is None:
                    return _text(404, f"no rendered loop for {layer} channel {channel} (gallery --loops)")
                if path.endswith(".png"):
                    return _body(200, self.loop_png(layer, channel, loop), "image/png")
                return _body(200, wav_bytes(loop, gallery.sample_rate), "audio/wav")
        except UserError as exc:
            return _text(404, str(exc))
        return _text(404, "not found")

    def loop_png(self, layer: str, channel: int, loop: np.ndarray) -> bytes:
        """A rendered loop's scaleogram (cached, at most 512 of them)."""
        import torch

        from ..contract import spectrum
        from ..images import encode_png, scaleogram_image

        key = (layer, channel)
        with self._scaleogram_lock:
            if key in self._loop_pngs:
                return self._loop_pngs[key]
        audio = torch.from_numpy(np.ascontiguousarray(loop, np.float32)).to(self.service.device)
        with torch.no_grad():
            log_power = spectrum(self.service.stream_model, audio[None])
        png = encode_png(scaleogram_image(log_power[0, 0].cpu().numpy()))
        with self._scaleogram_lock:
            if len(self._loop_pngs) >= 512:
                self._loop_pngs.pop(next(iter(self._loop_pngs)))
            self._loop_pngs[key] = png
        return png

    def _percentiles_now(self, layer: str) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        gallery = getattr(self.service, "gallery", None)
        values = self.service.channel_values()
        if values is None or layer not in values:
            return None, None
        if gallery is None:
            return values[layer], None
        return values[layer], gallery.layer_percentiles({layer: values[layer]}).get(layer)

    def gallery_channel(self, layer: str, channel: int) -> dict:
        s, gallery = self.service, getattr(self.service, "gallery", None)
        if layer not in s.vector.shapes or not 0 <= channel < s.vector.shapes[layer][0]:
            return {"loaded": gallery is not None, "error": f"no channel {channel} in layer {layer!r}"}
        now, percentile = self._percentiles_now(layer)
        out = {"loaded": gallery is not None, "layer": layer, "channel": channel,
               "activation": None if now is None else float(now[channel]),
               "percentile": None if percentile is None or np.isnan(percentile[channel]) else float(percentile[channel]),
               "examples": [], "loop": None}
        if gallery is not None:
            q = f"layer={_quote(layer)}&channel={channel}"
            out["examples"] = [{"rank": e.rank, "name": e.name, "start": e.start, "seconds": e.seconds,
                                "activation": e.activation, "url": f"gallery/example.wav?{q}&rank={e.rank}"}
                               for e in gallery.examples(layer, channel)]
            looped = gallery.has_loop(layer, channel)
            out["loop"] = f"gallery/loop.wav?{q}" if looped else None
            out["loop_image"] = f"gallery/loop.png?{q}" if looped else None
        return out

    def gallery_layer(self, layer: str, top: int = 3) -> dict:
        s, gallery = self.service, getattr(self.service, "gallery", None)
        if layer not in s.vector.shapes:
            return {"loaded": gallery is not None, "error": f"no layer {layer!r}"}
        _, percentile = self._percentiles_now(layer)
        channels = []
        for c in range(s.vector.shapes[layer][0]):
            entry = self.gallery_channel(layer, c) if gallery is not None else {"channel": c, "examples": []}
            entry["examples"] = entry["examples"][:top]
            entry["percentile"] = None if percentile is None or np.isnan(percentile[c]) else float(percentile[c])
            channels.append(entry)
        return {"loaded": gallery is not None, "layer": layer, "channels": channels}

    @staticmethod
    def _static(name: str) -> Response:
        full = os.path.realpath(os.path.join(STATIC, name))
        if not full.startswith(os.path.realpath(STATIC) + os.sep) or not os.path.isfile(full):
            return _text(404, "not found")
        with open(full, "rb") as fh:
            body = fh.read()
        return _body(200, body, CONTENT_TYPES.get(os.path.splitext(full)[1], "application/octet-stream"))


def _machine_names() -> frozenset:
    """This machine's own host names (no DNS lookup: ``gethostname`` only, and its mDNS ``.local``)."""
    try:
        name = socket.gethostname().strip().lower().rstrip(".")
    except OSError:
        return frozenset()
    if not name:
        return frozenset()
    short = name.split(".")[0]
    return frozenset({name, short, short + ".local"})


def _body(status: int, body: bytes, content_type: str, headers: Optional[dict] = None) -> Response:
    h = Headers([("Date", email.utils.formatdate(usegmt=True)), ("Connection", "close"),
                 ("Content-Length", str(len(body))), ("Content-Type", content_type), ("Cache-Control", "no-store"),
                 ("X-Content-Type-Options", "nosniff")])
    for k, v in (headers or {}).items():
        h[k] = v
    status = http.HTTPStatus(status)
    return Response(status.value, status.phrase, h, body)


def _text(status: int, text: str) -> Response:
    return _body(status, (text + "\n").encode("utf-8"), "text/plain; charset=utf-8")


def _json(data: dict) -> Response:
    return _body(200, json.dumps(data).encode("utf-8"), "application/json")


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _cookie(headers, name: str) -> Optional[str]:
    for header in headers.get_all("Cookie"):
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
    return None
