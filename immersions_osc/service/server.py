"""The live service: model + loop generator + player + activation stream + OSC control.

The service is one object made of parts, one module each:
  * this module: construction, ``start`` and ``close`` (the life cycle);
  * :mod:`.sinks`: where the streams go (UDP subscribers, the viewer's WebSockets);
  * :mod:`.dispatch`: control messages in (the ``immersions-osc-in`` thread), acks and errors;
  * :mod:`.handlers`: what each control does (one ``on_<address>`` per row of :mod:`.controls`);
  * :mod:`.streaming`: what the service sends on its own (the ``immersions-activations`` and
    ``immersions-status`` threads), loops queued, analysed and written out.

Threads (all daemons, all joined by ``close``): the three above, ``immersions-optimizer`` (the
LoopGenerator; each published loop is queued on the player) and the audio backend's (JACK process
callback, or the real-time clock).
"""
from __future__ import annotations

import collections
import copy
import os
import random
import socket
import sys
import threading
import time
from typing import Optional

import torch

from ..config import Config
from ..errors import UserError
from ..shipped import osc_table
from ..optimize.generator import LoopGenerator
from ..optimize.start import start_clip
from ..optimize.targets import Target, check_targets
from .controls import PREFIX
from .dispatch import ControlDispatch
from .engine import LoopAnalysis, NeuronVector, analysis_window, in_stream_order
from .handlers import ControlHandlers, check_dispatch
from .logs import Log, RateLimitedLog
from .audio_process import RemotePlayer
from .player import LoopPlayer
from .sinks import Send, Sink, Sinks
from .streaming import Streaming, describe_targets, write_wav

__all__ = ["Service", "Sink", "check_dispatch", "describe_targets", "write_wav"]


class Service(ControlDispatch, ControlHandlers, Streaming):
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
        # with a sound device the player plays in the audio process (audio_process.py)
        player_class = RemotePlayer if self.scfg.audio != "none" and self.scfg.audio_process else LoopPlayer
        self.player = player_class(self.sample_rate, self.scfg.crossfade_ms, self.scfg.volume,
                                   record_seconds=record_seconds)
        self.generator = LoopGenerator(self.model, start.to(self.device), self.targets, cfg.optimize,
                                       publish_every=self.scfg.publish_every, on_publish=self._on_publish)
        self.player.queue(self.playable(start), 0)
        self.audio = None
        self.jackd = None
        self.link = None
        self.sinks = Sinks()
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
        from .audio_process import AudioProcess

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
            if isinstance(self.player, RemotePlayer):
                self.audio = AudioProcess(self.player, s, self.log)
            else:
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

    def _output_latency(self) -> float:
        """Seconds from a block rendered to it heard (PortAudio's figure; 0 when unknown)."""
        latency = getattr(self.audio, "output_latency", None)
        try:
            return float(latency()) if latency is not None else 0.0
        except Exception:
            return 0.0

    # --- sinks -------------------------------------------------------------------------------------------
    def add_sink(self, key: object, sink: Sink) -> None:
        self.sinks.add(key, sink)

    def remove_sink(self, key: object) -> None:
        self.sinks.remove(key)

    def broadcast(self, datagrams: list[bytes], blobs: bool = False) -> None:
        self.sinks.broadcast(datagrams, blobs)

    def _reply(self, reply: Optional[Send], datagram: bytes) -> None:
        """To the sender (when it is not a subscriber already) and to every subscriber."""
        self.sinks.reply(reply, datagram)
