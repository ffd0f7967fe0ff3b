"""The live service: model + loop generator + player + activation stream + OSC control.

Threads (all daemons, all joined by ``close``):
  * ``immersions-osc-in``: receives datagrams on the control port and applies them
    (``handle_datagram``: decode, check against the control table, call ``on_<address>``, ack);
  * ``immersions-optimizer``: the LoopGenerator; each published loop is queued on the player;
  * ``immersions-activations``: at the frame rate, runs the model on what is sounding and sends
    the activation vector (chunked blobs) and the float summary to the subscribers;
  * ``immersions-status``: loop/new events, /immersions/status at the status rate, loops to disk;
  * the audio backend's (JACK process callback, or the real-time clock).

Nothing a client sends can stop the service: every failure of a message becomes an
``/immersions/error`` reply and a rate-limited log line.  Sinks other than UDP subscribers (the
browser viewer's WebSockets) register with ``add_sink`` and get the very same datagrams.
"""
from __future__ import annotations

import collections
import copy
import dataclasses
import os
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from ..atomic import atomic_write_bytes
from ..config import Config
from ..errors import UserError
from ..shipped import osc_table
from ..optimize.generator import LoopGenerator, PublishedLoop
from ..optimize.start import fit_length, start_clip
from ..optimize.targets import Target, check_targets, neuron_mask
from .controls import CONTROL_BY_ADDRESS, CONTROLS, MESSAGES, OPTIMIZE_FIELDS, PREFIX, ArgumentError, parse_args
from .engine import (LoopAnalysis, NeuronVector, analysis_window, current_activations, in_stream_order,
                     summarize)
from .player import LoopPlayer
from .tempo import bars_for, check_tempo, loop_samples
from .protocol import OSCDecodeError, decode_packet, encode_message, encode_vector

Log = Callable[[str], None]
ANALYSE_AHEAD_SECONDS = 1.0  # the queued loop is analysed when the playing one has this much left
OUTGOING = frozenset(m.address for m in MESSAGES)  # what we send: never answered when it comes back
MAX_SINKS = 64  # subscribers + browser viewers: a flood of subscribe messages cannot grow without end
Send = Callable[[bytes], None]


class RateLimitedLog:
    """At most one line per ``interval`` seconds; the lines held back are counted in the next one."""

    def __init__(self, log: Log, interval: float):
        self.log, self.interval = log, interval
        self._last = -1e9
        self.suppressed = 0
        self.total = 0

    def __call__(self, line: str) -> None:
        self.total += 1
        now = time.monotonic()
        if now - self._last < self.interval:
            self.suppressed += 1
            return
        more = f" (+{self.suppressed} more since the last report)" if self.suppressed else ""
        self.suppressed, self._last = 0, now
        self.log(line + more)


@dataclass
class Sink:
    """Somewhere the streams go: a UDP subscriber or a WebSocket.  ``kind``: all | summary."""
    send: Send
    kind: str = "all"
    failures: int = 0


def describe_targets(targets: list[Target]) -> str:
    if not targets:
        return "none"
    parts = []
    for t in targets:
        what = (f"{len(t.neurons)} neurons" if t.neurons is not None else
                f"ch {','.join(map(str, t.channels))}" if t.channels is not None else "all")
        parts.append(f"{t.layer} {what}" + (f" x{t.weight:g}" if t.weight != 1.0 else ""))
    return "; ".join(parts)


def write_wav(path: str, audio: np.ndarray, sample_rate: int) -> None:
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(audio, np.float32), sample_rate, format="WAV", subtype="FLOAT")
    atomic_write_bytes(path, buf.getvalue())


class Service:
    def __init__(self, cfg: Config, log: Log = print, record_seconds: float = 0.0):
        from ..checkpoint import load_model
        from ..device import resolve_device
        from ..layout.export import load_layout

        self.cfg, self.scfg, self.log = cfg, cfg.service, log
        self.errors = RateLimitedLog(log, self.scfg.error_log_interval)
        torch.set_num_threads(self.scfg.torch_threads)
        self.device = resolve_device(self.scfg.device)
        self.model, model_cfg, _ = load_model(self.scfg.checkpoint, self.device)
        self.model.eval()
        # the activation stream runs its own copy: forward hooks are per module, and the optimizer
        # thread's hooks must never see the stream's (gradient-free) forward passes
        self.stream_model = copy.deepcopy(self.model).eval()
        self.sample_rate = model_cfg.scaleogram.sample_rate
        layout_path = self.scfg.layout or os.path.splitext(self.scfg.checkpoint)[0] + "_layout.npz"
        layout = load_layout(layout_path)
        self.layout, self.vector = in_stream_order(layout, NeuronVector.from_layout(layout))
        self.loop_samples = self._loop_length()
        start = start_clip(self.scfg.start, self.loop_samples, self.sample_rate, cfg.optimize.seed)
        with torch.no_grad():  # the layout must describe this model
            self.window = analysis_window(self.model, self.scfg.window_seconds, self.sample_rate)
            probe = torch.zeros(1, self.window, device=self.device)
            from ..optimize.loop import activations_of
            self.vector.check_model(activations_of(self.model, probe)[0])
        layer = self.scfg.target_layer or self.vector.layer_names[len(self.vector.layer_names) // 2]
        self.targets = [Target(layer)]
        check_targets(self.targets, self.vector.shapes)
        self.player = LoopPlayer(self.sample_rate, self.scfg.crossfade_ms, self.scfg.volume,
                                 record_seconds=record_seconds)
        self.generator = LoopGenerator(self.model, start.to(self.device), self.targets, cfg.optimize,
                                       publish_every=self.scfg.publish_every, on_publish=self._on_publish)
        self.player.queue(self.playable(start), 0)
        self.audio = None
        self.jackd = None
        self.link = None
        self.sinks: dict[object, Sink] = {}
        self._sinks_lock = threading.Lock()
        self._control_lock = threading.RLock()
        self.frames_sent = 0
        self.messages_received = 0
        self.rejected = 0
        self.loops_written = 0
        self._fps = 0.0
        self._frame = 0
        self._layout_frame = 0
        self._to_write: collections.deque = collections.deque(maxlen=8)  # published loops to write out
        self._published: dict[int, tuple[int, str]] = {}  # version -> the targets it was optimized for
        self._analyses: list[LoopAnalysis] = []  # newest first: queued, playing, previous
        self._analysis_lock = threading.RLock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = time.monotonic()
        self.sock: Optional[socket.socket] = None
        self.rng = random.Random(cfg.optimize.seed)

    # --- life cycle ------------------------------------------------------------------------------------
    def start(self) -> "Service":
        from .audio import open_audio

        s = self.scfg
        # the JACK process callback (Python) needs the GIL within one period: make the other threads
        # hand it over after at most 1 ms instead of the default 5 ms
        sys.setswitchinterval(0.001)
        try:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            self.sock.bind((s.host, s.port))
            self.sock.settimeout(0.2)
        except OSError as exc:
            raise UserError(f"cannot listen on UDP {s.host}:{s.port} ({exc.strerror or exc}); is another "
                            f"service running? choose another port with --port") from None
        self.port = self.sock.getsockname()[1]
        try:
            self.audio, self.jackd = open_audio(self.player, s, self.log)
        except UserError:
            self.close()
            raise
        if s.link:
            from .link import LinkSync

            try:
                self.link = LinkSync(self.player, self._tempo, self._follow_tempo, self._output_latency,
                                     self.log).start()
                self.log(f"link: Ableton Link on (tempo {self.link.tempo():g} bpm, quantum {s.bars} bars)")
            except UserError as exc:
                self.log(f"link: {exc}; continuing without Link")
        self.generator.start()
        for name, target in (("immersions-osc-in", self._serve), ("immersions-activations", self._stream),
                             ("immersions-status", self._status_loop)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self.log(f"listening for OSC on udp://{s.host}:{self.port}; streams to subscribers "
                 f"({PREFIX}/stream/subscribe host port); addresses in {osc_table()} "
                 f"(or `immersions-osc osc-table`)")
        return self

    def close(self) -> None:
        """Stop everything, save the current loop (loops_dir/last_loop.wav)."""
        self._stop.set()
        if self.link is not None:
            self.link.close()
        self.generator.stop()
        for t in self._threads:
            t.join(5.0)
        self._threads.clear()
        if self.audio is not None:
            self.audio.close()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.jackd is not None:
            self.jackd.terminate()
            try:
                self.jackd.wait(5)
            except Exception:
                self.jackd.kill()
            self.jackd = None
        if self.scfg.loops_dir:
            try:
                os.makedirs(self.scfg.loops_dir, exist_ok=True)
                write_wav(os.path.join(self.scfg.loops_dir, "last_loop.wav"),
                          self.generator.latest().audio.numpy(), self.sample_rate)
            except OSError as exc:
                self.log(f"could not save the last loop: {exc}")

    @property
    def xruns(self) -> int:
        return getattr(self.audio, "xruns", 0)

    # --- sinks -------------------------------------------------------------------------------------------
    def add_sink(self, key: object, sink: Sink) -> None:
        with self._sinks_lock:
            self.sinks[key] = sink

    def remove_sink(self, key: object) -> None:
        with self._sinks_lock:
            self.sinks.pop(key, None)

    def broadcast(self, datagrams: list[bytes], blobs: bool = False) -> None:
        with self._sinks_lock:
            sinks = list(self.sinks.values())
        for sink in sinks:
            if blobs and sink.kind != "all":
                continue
            for d in datagrams:
                try:
                    sink.send(d)
                except OSError:
                    sink.failures += 1

    def _reply(self, reply: Optional[Send], datagram: bytes) -> None:
        """To the sender (when it is not a subscriber already) and to every subscriber."""
        with self._sinks_lock:
            sends = [s.send for s in self.sinks.values()]
        if reply is not None and reply not in sends:
            sends.append(reply)
        for send in sends:
            try:
                send(datagram)
            except OSError:
                pass

    # --- control -----------------------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                continue
            self.handle_datagram(data, _ReplyTo(self, addr), f"{addr[0]}:{addr[1]}")

    def handle_datagram(self, data: bytes, reply: Optional[Send] = None, origin: str = "?") -> None:
        """Apply every message of a datagram; never raises."""
        try:
            messages = decode_packet(data)
        except OSCDecodeError as exc:
            self._reject(reply, "?", f"malformed OSC packet: {exc}", origin)
            return
        for address, tags, args in messages:
            self.messages_received += 1
            control = CONTROL_BY_ADDRESS.get(address)
            if control is None and address in OUTGOING:
                # our own messages (a service subscribed to itself or to another service): answering
                # them would echo errors back and forth for ever
                continue
            if control is None:
                self._reject(reply, address, "unknown address (see docs/osc.md)", origin)
                continue
            try:
                values = parse_args(control, args)
                with self._control_lock:  # UDP, WebSocket and demo threads: one control at a time
                    getattr(self, control.handler)(*values, reply=reply)
            except (ArgumentError, UserError) as exc:
                self._reject(reply, address, str(exc), origin)
                continue
            except Exception as exc:  # a bug must not take the service down
                self._reject(reply, address, f"internal error: {type(exc).__name__}: {exc}", origin)
                continue
            self._reply(reply, encode_message(f"{PREFIX}/ack", "s", [address]))

    def _reject(self, reply: Optional[Send], address: str, why: str, origin: str) -> None:
        self.rejected += 1
        self.errors(f"rejected OSC message {address} from {origin}: {why}")
        self._reply(reply, encode_message(f"{PREFIX}/error", "ss", [address, why[:500]]))

    # targets
    def _set_targets(self, targets: list[Target]) -> None:
        check_targets(targets, self.vector.shapes)
        self.targets = targets
        self.generator.set_targets(targets)

    def _layer(self, layer: str) -> str:
        if layer not in self.vector.shapes:
            raise UserError(f"unknown layer {layer!r}; layers: {', '.join(self.vector.layer_names)}")
        return layer

    def on_target_layer(self, layer, weight, reply=None):
        self._set_targets([Target(self._layer(layer), weight=weight)])

    def on_target_channel(self, layer, channel, weight, reply=None):
        self._set_targets([Target(self._layer(layer), channels=[channel], weight=weight)])

    def on_target_channels(self, layer, channels, reply=None):
        self._set_targets([Target(self._layer(layer), channels=sorted(set(channels)))])

    def _neuron_targets(self, neurons: list[int]) -> list[Target]:
        n = self.vector.size
        bad = [i for i in neurons if i >= n]
        if bad:
            raise UserError(f"neuron {bad[0]} out of range (0..{n - 1})")
        return [Target(layer, neurons=local) for layer, local in self.vector.split(neurons).items()]

    def on_target_neurons(self, neurons, reply=None):
        self._set_targets(self._neuron_targets(neurons))

    def on_target_add_neurons(self, neurons, reply=None):
        merged: dict[str, set[int]] = {}
        for t in self.targets + self._neuron_targets(neurons):
            local = t.neurons if t.neurons is not None else \
                torch.nonzero(neuron_mask(t, self.vector.shapes).view(-1)).view(-1).tolist()
            merged.setdefault(t.layer, set()).update(local)
        self._set_targets([Target(layer, neurons=sorted(local)) for layer, local in merged.items()])

    def on_target_weight(self, weight, reply=None):
        self._set_targets([dataclasses.replace(t, weight=weight) for t in self.targets])

    def on_target_random(self, reply=None):
        layer = self.rng.choice(self.vector.layer_names)
        self._set_targets([Target(layer, channels=[self.rng.randrange(self.vector.shapes[layer][0])])])

    # optimization
    def on_optimize_start(self, kind, reply=None):
        previous = self.generator.current_loop()
        self.generator.set_start(start_clip(kind, self.loop_samples, self.sample_rate, self.rng.randrange(1 << 30),
                                            previous=previous))

    def on_optimize_run(self, on, reply=None):
        self.generator.set_running(bool(on))

    def on_optimize_publish_every(self, steps, reply=None):
        self.generator.publish_every = steps

    # player
    def on_player_volume(self, gain, reply=None):
        self.player.volume = gain

    def on_player_play(self, on, reply=None):
        self.player.playing = bool(on)

    def on_player_loop_seconds(self, seconds, reply=None):
        if self.scfg.tempo > 0:  # with a tempo: the whole number of bars nearest to it
            self._set_tempo(self.scfg.tempo, bars_for(seconds, self.scfg.tempo, self.scfg.beats_per_bar))
        else:
            self._set_service(loop_seconds=seconds)
            self._refit()

    def on_player_tempo(self, bpm, reply=None):
        self._set_tempo(bpm, self.scfg.bars)
        if self.link is not None and bpm > 0:
            self.link.commit_tempo(bpm)

    def on_player_bars(self, bars, reply=None):
        if self.scfg.tempo <= 0:
            raise UserError("set a tempo first (/immersions/player/tempo bpm): bars need one")
        self._set_tempo(self.scfg.tempo, bars)

    # tempo and loop length
    def _loop_length(self) -> int:
        s = self.scfg
        if s.tempo > 0:
            return loop_samples(s.tempo, s.bars, s.beats_per_bar, self.sample_rate)
        return int(s.loop_seconds * self.sample_rate)

    def _tempo(self) -> tuple[float, int, int]:
        return self.scfg.tempo, self.scfg.bars, self.scfg.beats_per_bar

    def _set_tempo(self, bpm: float, bars: int) -> None:
        check_tempo(bpm, bars, self.scfg.beats_per_bar)
        self._set_service(tempo=float(bpm), bars=int(bars))
        self._refit()

    def _follow_tempo(self, bpm: float) -> None:  # the Link thread: a peer changed the tempo
        with self._control_lock:
            try:
                self._set_tempo(bpm, self.scfg.bars)
            except UserError:  # e.g. a loop longer than 60 s at that tempo: halve the bars
                self._set_tempo(bpm, max(1, bars_for(30.0, bpm, self.scfg.beats_per_bar)))
            self.log(f"link: tempo {bpm:g} bpm -> loops of {self.scfg.bars} bars ({self.loop_samples} samples)")

    def _output_latency(self) -> float:
        stream = getattr(self.audio, "stream", None)
        try:
            latency = stream.latency if stream is not None else 0.0
            return float(latency[1] if isinstance(latency, tuple) else latency)
        except Exception:
            return 0.0

    def _refit(self) -> None:
        """The optimization restarts from the current loop fitted to the new length; the loop
        playing now finishes first (the boundary stays on the bar)."""
        n = self._loop_length()
        if n != self.loop_samples:
            self.loop_samples = n
            self.generator.set_start(fit_length(self.generator.current_loop(), n))

    def on_player_crossfade_ms(self, ms, reply=None):
        self.player.set_crossfade(ms)

    # streams
    @staticmethod
    def _udp_address(host: str, port: int) -> tuple[str, int]:
        try:
            return socket.gethostbyname(host), port
        except (OSError, UnicodeError):
            raise UserError(f"cannot resolve host {host!r}") from None

    def on_stream_subscribe(self, host, port, kind, reply=None):
        addr = self._udp_address(host, port)
        own = self.sock.getsockname() if self.sock is not None else None
        if own is not None and port == own[1] and (addr[0] == own[0] or own[0] == "0.0.0.0" or addr[0] == "0.0.0.0"
                                                   or addr[0].startswith("127.") and own[0].startswith("127.")):
            raise UserError("cannot subscribe the service to its own port")
        with self._sinks_lock:
            if len(self.sinks) >= MAX_SINKS and ("udp",) + addr not in self.sinks:
                raise UserError(f"too many subscribers ({MAX_SINKS}); unsubscribe one first")
        self.add_sink(("udp",) + addr, Sink(_ReplyTo(self, addr), kind))

    def on_stream_unsubscribe(self, host, port, reply=None):
        addr = self._udp_address(host, port)
        if ("udp",) + addr not in self.sinks:
            raise UserError(f"{host}:{port} is not subscribed")
        self.remove_sink(("udp",) + addr)

    def _set_service(self, **changes) -> None:
        self.scfg = dataclasses.replace(self.scfg, **changes)

    def on_stream_frame_rate(self, fps, reply=None):
        self._set_service(frame_rate=fps)

    def on_stream_format(self, fmt, reply=None):
        self._set_service(format=fmt)

    def on_stream_source(self, source, reply=None):
        self._set_service(source=source)

    def on_stream_max_datagram(self, size, reply=None):
        self._set_service(max_datagram=size)

    def on_stream_summary_top(self, k, reply=None):
        self._set_service(summary_top=k)

    # requests
    def on_layout_request(self, reply=None):
        for d in self.layout_datagrams():
            self._reply(reply, d)

    def on_status_request(self, reply=None):
        self._reply(reply, self.status_datagram())

    # --- what the service sends --------------------------------------------------------------------------
    def layout_datagrams(self) -> list[bytes]:
        out = []
        for i, name in enumerate(self.vector.layer_names):
            c, f = self.vector.shapes[name]
            out.append(encode_message(f"{PREFIX}/layout/layer", "isiii",
                                      [i, name, int(self.vector.offsets[i]), c, f]))
        self._layout_frame += 1
        positions = np.asarray(self.layout.positions, np.float32).reshape(-1)
        out += encode_vector(f"{PREFIX}/layout/positions", self._layout_frame, positions, "float32",
                             self.scfg.max_datagram)
        return out

    def status_values(self) -> list:
        g = self.generator.stats
        with self._sinks_lock:
            subscribers = len(self.sinks)
        return [self._fps, g.steps_per_second, self.xruns, describe_targets(self.targets), g.published,
                int(self.player.playing), self.player.volume, subscribers, time.monotonic() - self._started]

    def status_datagram(self) -> bytes:
        return encode_message(f"{PREFIX}/status", "ffisiifif", self.status_values())

    def activation_frame(self) -> Optional[np.ndarray]:
        """Every neuron's activation now: at the loop's playhead (from the loop's analysis, made
        once per loop) or over the latest window of live input (one forward pass per frame)."""
        if self.scfg.source == "input":
            window = self.player.input_window(self.window)
            audio = torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)).to(self.device)
            with self._analysis_lock:  # hooks on the stream model: one forward pass at a time
                return current_activations(self.stream_model, audio, self.vector)
        loop, pos = self.player.playhead()
        if loop is None:
            return None
        return self._analysis_of(loop).frame(pos)

    def _analysis_of(self, loop: np.ndarray) -> LoopAnalysis:
        """The loop's analysis (made ahead of time by the status thread when the loop is queued)."""
        with self._analysis_lock:
            for analysis in self._analyses:
                if analysis.loop is loop:
                    return analysis
            analysis = LoopAnalysis(self.stream_model, loop, self.vector, self.window, self.device)
            self._analyses = ([analysis] + self._analyses)[:3]
            return analysis

    def _send_frame(self, values: np.ndarray) -> None:
        self._frame += 1
        s = self.scfg
        self.broadcast(encode_vector(f"{PREFIX}/activations", self._frame, values, s.format, s.max_datagram),
                       blobs=True)
        energy, top, top_values = summarize(values, self.vector, s.summary_top)
        self.broadcast([encode_message(f"{PREFIX}/summary/energy", "f" * len(energy), energy),
                        encode_message(f"{PREFIX}/summary/top_neurons", "i" * len(top), top),
                        encode_message(f"{PREFIX}/summary/top_values", "f" * len(top_values), top_values)])
        self.frames_sent += 1

    def _stream(self) -> None:
        next_time = time.perf_counter()
        window_start, sent = time.perf_counter(), 0
        while not self._stop.is_set():
            period = 1.0 / self.scfg.frame_rate
            with self._sinks_lock:
                listening = bool(self.sinks)
            if listening:
                try:
                    values = self.activation_frame()
                    if values is not None:
                        self._send_frame(values)
                        sent += 1
                except Exception as exc:  # must not end the stream
                    self.errors(f"activation frame failed: {type(exc).__name__}: {exc}")
            now = time.perf_counter()
            if now - window_start >= 1.0:
                self._fps, window_start, sent = sent / (now - window_start), now, 0
            next_time += period
            delay = next_time - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -0.25:
                next_time = time.perf_counter()  # far behind: do not try to catch up

    def playable(self, audio: torch.Tensor) -> np.ndarray:
        """A loop as it is played: brought to the peak level ``optimize.peak`` (up or down; early
        loops are quiet, the optimization only ever limits the peak)."""
        a = audio.detach().float().cpu().numpy()
        top = float(np.abs(a).max()) if len(a) else 0.0
        return (a * (self.generator.cfg.peak / top)).astype(np.float32) if top > 1e-6 else a

    def _on_publish(self, loop: PublishedLoop) -> None:  # optimizer thread
        self._published[loop.version] = (loop.step, describe_targets(self.generator.targets))  # as optimized
        for old in [v for v in self._published if v < loop.version - 16]:
            del self._published[old]
        self.player.queue(self.playable(loop.audio), loop.version)
        self._to_write.append(loop)

    def _status_loop(self) -> None:
        last_version, next_status = self.player.version, time.monotonic()
        while not self._stop.wait(0.02):
            if self.player.version != last_version:
                last_version = self.player.version
                loop, _ = self.player.playhead()
                seconds = len(loop) / self.sample_rate if loop is not None else 0.0
                step, targets = self._published.get(last_version, (0, describe_targets(self.targets)))
                self.broadcast([encode_message(f"{PREFIX}/loop/new", "iifs", [last_version, step, seconds, targets])])
            self._analyse_ahead()
            while self._to_write:
                self._write_loop(self._to_write.popleft())
            if time.monotonic() >= next_status:
                next_status += 1.0 / self.scfg.status_rate
                self.broadcast([self.status_datagram()])

    def _analyse_ahead(self) -> None:
        """Analyse the queued loop shortly before it starts (not every loop that is published:
        most are replaced before they play), so the stream thread finds it ready."""
        queued = self.player.queued()
        if queued is None or self.scfg.source != "loop":
            return
        loop, pos = self.player.playhead()
        if loop is not None and len(loop) - pos > ANALYSE_AHEAD_SECONDS * self.sample_rate:
            return
        try:
            self._analysis_of(queued)
        except Exception as exc:
            self.errors(f"loop analysis failed: {type(exc).__name__}: {exc}")

    def _write_loop(self, loop: PublishedLoop) -> None:
        """Without JACK every new loop goes to loops_dir (the newest ``keep_loops`` are kept)."""
        if self.audio is None or self.audio.kind != "none" or not self.scfg.loops_dir:
            return
        try:
            os.makedirs(self.scfg.loops_dir, exist_ok=True)
            write_wav(os.path.join(self.scfg.loops_dir, f"loop_{loop.version:05d}.wav"), loop.audio.numpy(),
                      self.sample_rate)
            self.loops_written += 1
            old = sorted(f for f in os.listdir(self.scfg.loops_dir) if f.startswith("loop_") and f.endswith(".wav"))
            for name in old[:max(0, len(old) - self.scfg.keep_loops)]:
                os.remove(os.path.join(self.scfg.loops_dir, name))
        except OSError as exc:
            self.errors(f"cannot write loop to {self.scfg.loops_dir}: {exc}")


class _ReplyTo:
    """Replies to a UDP sender; equal to the subscriber sender for the same address."""

    def __init__(self, service: Service, addr: tuple[str, int]):
        self.service, self.addr = service, addr

    def __call__(self, data: bytes) -> None:
        if self.service.sock is not None:
            self.service.sock.sendto(data, self.addr)

    def __eq__(self, other) -> bool:
        return isinstance(other, _ReplyTo) and other.addr == self.addr

    def __hash__(self) -> int:
        return hash(self.addr)


def check_dispatch() -> list[str]:
    """Controls without a handler (should be none; a test checks)."""
    return [c.address for c in CONTROLS if not callable(getattr(Service, c.handler, None))]


for _name, *_ in OPTIMIZE_FIELDS:  # /immersions/optimize/<field> -> generator.set_params(<field>=value)
    def _make(name):
        def handler(self, value, reply=None):
            self.generator.set_params(**{name: bool(value) if name == "normalize_gradient" else value})
        handler.__name__ = f"on_optimize_{name}"
        return handler
    setattr(Service, f"on_optimize_{_name}", _make(_name))
