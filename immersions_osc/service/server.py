"""The live service: model + loop generator + player + activation stream + OSC control.

:class:`Service` holds the state every part reads (declared in its constructor), the life cycle
(``start``, ``close``) and the operations that change the state (targets, tempo, settings,
sinks).  Its parts, each handed what it needs:
  * ``dispatcher`` (:mod:`.dispatch`): control messages in, acks and errors; it knows nothing of
    the service and is handed the handlers, the access check and the reply path;
  * ``handlers`` (:mod:`.handlers`): what each control does (one ``on_<address>`` per row of
    :mod:`..osc.controls`, one generic setter for the optimizer settings);
  * ``stream`` (:mod:`.streaming`): what the service sends on its own, loops queued, analysed and
    written out;
  * ``sinks`` (:mod:`.sinks`): where the streams go (UDP subscribers, the viewer's WebSockets).

Threads (all daemons, all joined by ``close``): ``immersions-osc-in`` (datagrams to the
dispatcher), ``immersions-activations`` and ``immersions-status`` (the streamer),
``immersions-optimizer`` (the LoopGenerator; each published loop is queued on the player) and the
audio backend's (JACK process callback, PortAudio's, or the real-time clock).
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
import random
import socket
import sys
import threading
import time
from typing import Optional

import numpy as np
import torch

from ..audio.barsync import BarSync
from ..audio.jack import stop_jackd
from ..audio.player import LoopPlayer
from ..audio.process import RemotePlayer
from ..audio.resample import loop_to_length
from ..audio.tempo import bars_for, check_tempo, loop_samples
from ..config import Config, loops_folder
from ..errors import UserError
from ..optimize.generator import LoopGenerator
from ..optimize.start import fit_length, start_clip
from ..optimize.targets import Target, check_targets
from ..osc.controls import PREFIX
from ..shipped import osc_table
from .access import Access
from .clips import ClipLoader
from .dispatch import Dispatcher, Sender
from .engine import NeuronVector, analysis_window, in_stream_order
from .handlers import ControlHandlers, check_dispatch
from .intake import FairIntake
from .logs import LOGGER, Log, RateLimitedLog
from .pacing import PacedSender
from .sinks import Send, Sink, Sinks, UdpReply
from .streaming import Streamer, describe_targets, write_wav

EVENT_BURST = 10  # subscribe/unsubscribe/viewer lines logged per error_log_interval before rate limiting
def refit_loop(loop, stretch: float, n: int):
    """``loop`` stretched by ``stretch`` (resampled as one period), then tiled or cut to ``n``."""
    import numpy as np

    if stretch != 1.0:
        loop = loop_to_length(loop, max(1, int(round(len(loop) * stretch))))
    return fit_length(torch.from_numpy(np.ascontiguousarray(loop, np.float32)), n).numpy()


__all__ = ["Service", "Sink", "check_dispatch", "describe_targets", "write_wav"]


class Service:
    def __init__(self, cfg: Config, log: Optional[Log] = None, record_seconds: float = 0.0):
        """``log``: where every line goes instead of the ``immersions_osc.service`` logger (tests
        pass a callable that drops them)."""
        from ..checkpoint import load_model
        from ..device import resolve_device
        from ..layout.export import load_layout

        # "user": the per-user data folder, never the folder the service happens to be started in
        cfg = dataclasses.replace(cfg, service=dataclasses.replace(cfg.service,
                                                                   loops_dir=loops_folder(cfg.service.loops_dir)))
        self.cfg, self.scfg = cfg, cfg.service
        self.log = log or LOGGER.info  # what the operator wants to know
        self.warn = log or LOGGER.warning  # what went wrong on the service's side
        # what clients provoke: rejected messages and failures (warnings), subscribes, unsubscribes
        # and viewer connections (one line each, up to EVENT_BURST per interval), rate-limited
        self.errors = RateLimitedLog(log or LOGGER.warning, self.scfg.error_log_interval)
        self.events = RateLimitedLog(log or LOGGER.info, self.scfg.error_log_interval, burst=EVENT_BURST)
        self.trace = RateLimitedLog(log or LOGGER.debug, self.scfg.error_log_interval, burst=EVENT_BURST)
        if self.scfg.torch_threads:  # else the thread policy the command applied (immersions_osc/threads.py)
            torch.set_num_threads(self.scfg.torch_threads)
        self.device = resolve_device(self.scfg.device)
        if self.scfg.model:  # the user's own network (immersions_osc/contract.py)
            from ..contract import default_layout_path, describe, load

            self.model = load(self.scfg.model, self.device)
            self.sample_rate = describe(self.model).sample_rate
            layout_path = self.scfg.layout or default_layout_path(self.scfg.model)
            if not os.path.isfile(layout_path):
                self._make_layout(layout_path)
        else:
            self.model, model_cfg, _ = load_model(self.scfg.checkpoint, self.device)
            self.sample_rate = model_cfg.scaleogram.sample_rate
            layout_path = self.scfg.layout or os.path.splitext(self.scfg.checkpoint)[0] + "_layout.npz"
            if not self.scfg.layout and not os.path.isfile(layout_path):  # e.g. a model just trained
                self._make_layout(layout_path)
        self.model.eval()
        # the activation stream runs its own copy: forward hooks are per module, and the optimizer
        # thread's hooks must never see the stream's (gradient-free) forward passes
        self.stream_model = copy.deepcopy(self.model).eval()
        layout = load_layout(layout_path)
        self.layout, self.vector = in_stream_order(layout, NeuronVector.from_layout(layout))
        self.loop_samples = self.loop_length()
        start = start_clip(self.scfg.start, self.loop_samples, self.sample_rate, cfg.optimize.seed)
        with torch.no_grad():  # the layout must describe this model
            self.window = analysis_window(self.model, self.scfg.window_seconds, self.sample_rate)
            probe = torch.zeros(1, self.window, device=self.device)
            from ..optimize.ascent import activations_of

            self.vector.check_model(activations_of(self.model, probe)[0])
        self.gallery = self._load_gallery()  # immersions-osc gallery: examples and percentiles per channel
        self._channel_frame: Optional[tuple] = None  # (time, frame) of channel_values' last frame
        layer = self.scfg.target_layer or self.vector.layer_names[len(self.vector.layer_names) // 2]
        self.targets: list[Target] = [Target(layer)]
        check_targets(self.targets, self.vector.shapes)
        self.rng = random.Random(cfg.optimize.seed)
        # with a sound device the player plays in the audio process (audio_process.py)
        player_class = RemotePlayer if self.scfg.audio != "none" and self.scfg.audio_process else LoopPlayer
        self.player = player_class(self.sample_rate, self.scfg.crossfade_ms, self.scfg.volume,
                                   record_seconds=record_seconds)
        self.player.set_meter(*self.tempo())
        self.stream = Streamer(self)
        self.generator = LoopGenerator(self.model, start.to(self.device), self.targets, cfg.optimize,
                                       publish_every=self.scfg.publish_every, on_publish=self.stream.on_publish)
        # a clip (music) plays at once at the playback level; low noise and silence as they are
        # (quiet: no white noise at the playback level before the first optimized loop)
        self.player.queue(self.stream.playable(start, optimized=self.scfg.start in ("noise", "silence")), 0)
        self.audio = None  # the audio backend, opened by start()
        self.jackd = None  # a dummy-driver jackd that start() started (--start-jack)
        self.link = None  # Ableton Link (--link)
        self.midi_in = None  # MIDI clock in through python-rtmidi (--midi-in)
        # bar lines from the MIDI clock and /immersions/player/sync (its thread starts with the service)
        self.barsync = BarSync(self.player, self.tempo, self.follow_tempo, self._sync_latency, self.log)
        self.clips: Optional[ClipLoader] = None  # started with the service
        self.gallery_clips: Optional[ClipLoader] = None  # gallery examples and loops, read off the control thread
        self.access = Access(self.scfg.allow_remote, self.scfg.token, self.scfg.subscription_seconds)
        self.sinks = Sinks(on_expire=lambda key, sink, why: self._sink_event(key, sink, f"expired ({why})", ""))
        self.paced = PacedSender(on_error=self.errors)  # bursts (the layout) at a pace clients can take
        self.control_lock = threading.RLock()  # controls apply one at a time (UDP, WebSocket, Link, demo)
        self.handlers = ControlHandlers(self)
        # (late-bound: access and sinks may be replaced while the service runs)
        self.dispatcher = Dispatcher(self.handlers.for_control, lambda host: self.access.allowed(host),
                                     lambda reply, datagram: self.sinks.reply(reply, datagram),
                                     errors=self.errors, trace=self.trace, lock=self.control_lock,
                                     horizon=self.scfg.schedule_seconds, pending=self.scfg.schedule_pending)
        self.stopping = threading.Event()
        self.last_loop_saved: Optional[bool] = None  # after close: saved (True), could not be (False), no loops_dir
        self._threads: list[threading.Thread] = []
        self.started_at = time.monotonic()
        self.port: Optional[int] = None  # the UDP control port, once listening
        self.sock: Optional[socket.socket] = None
        self.send_sock: Optional[socket.socket] = None  # the control socket, non-blocking: sends never wait
        self.intake: Optional[FairIntake] = None  # reads the control socket, each sender in turn

    def _make_layout(self, path: str) -> None:
        """Lay out a ``--model`` or checkpoint that has no layout yet (once; later starts load the file)."""
        from ..layout.build import build_layout
        from ..layout.export import save_layout

        source = self.scfg.model or self.scfg.checkpoint
        self.log(f"no layout at {path}: laying out {source} (once; later starts read the file)")
        try:
            result = build_layout(self.model, self.cfg.layout, self.device, clips=4, quiet=True, log=self.log,
                                  cache=os.path.splitext(path)[0] + ".graph.npz", source=source)
            save_layout(path, result.layout)
        except OSError as exc:  # e.g. a read-only folder
            raise UserError(f"cannot write the layout {path} ({exc.strerror or exc}): make it with "
                            f"`immersions-osc layout --out FILE` and pass --layout FILE") from None
        self.log(f"layout: {result.layout.positions.shape[0]:,} neurons in {result.seconds:.1f} s -> {path}")

    def _load_gallery(self):
        """The gallery named by ``service.gallery``, else ``<checkpoint>_gallery`` when it is there,
        else None.  A gallery of another model is one clear UserError."""
        from ..gallery.build import ARRAYS_NAME
        from ..gallery.store import Gallery

        path = self.scfg.gallery
        if not path:
            default = "" if self.scfg.model else os.path.splitext(self.scfg.checkpoint)[0] + "_gallery"
            if not default or not os.path.isfile(os.path.join(default, ARRAYS_NAME)):
                return None
            path = default
        gallery = Gallery.load(path)
        if gallery.layers != self.vector.layer_names or \
                any(gallery.channels[i] != self.vector.shapes[n][0] for i, n in enumerate(gallery.layers)):
            raise UserError(f"the gallery {path} was made with another model (its layers or channels differ); "
                            f"make one with `immersions-osc gallery MUSIC --checkpoint ... --out DIR`")
        self.log(f"gallery: {path}: {len(gallery.tracks)} tracks, {gallery.meta['audio_seconds'] / 3600:.2f} h, "
                 f"{gallery.score.shape[1]} examples per channel")
        return gallery

    def channel_values(self) -> Optional[dict]:
        """{layer: each channel's activation now (the mean over its frequency rows)}, or None
        before the first frame.  At most one new frame per 0.1 s (live input costs a forward pass
        per frame): requests in between get the same one."""
        cached, now = self._channel_frame, time.monotonic()
        if cached is not None and now - cached[0] < 0.1:
            frame = cached[1]
        else:
            frame = self.stream.activation_frame()
            self._channel_frame = (now, frame)
        if frame is None:
            return None
        v, out = self.vector, {}
        for i, name in enumerate(v.layer_names):
            c, f = v.shapes[name]
            out[name] = frame[v.offsets[i]:v.offsets[i + 1]].reshape(c, f).mean(axis=1)
        return out

    # --- life cycle ------------------------------------------------------------------------------------
    def start(self) -> "Service":
        from ..audio.backends import open_audio
        from ..audio.process import AudioProcess

        s = self.scfg
        # the JACK process callback (Python) needs the GIL within one period: make the other threads
        # hand it over after at most 1 ms instead of the default 5 ms
        sys.setswitchinterval(0.001)
        try:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            self.sock.bind((s.host, s.port))
            self.sock.settimeout(0.2)
            self.send_sock = self.sock.dup()
            self.send_sock.setblocking(False)
            try:  # room for a burst while the intake thread waits for its turn (capped by rmem_max)
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            except OSError:
                pass
            self.intake = FairIntake(self.sock, self._steps, on_drop=self._intake_drop)
        except OSError as exc:
            raise UserError(f"cannot listen on UDP {s.host}:{s.port} ({exc.strerror or exc}); is another "
                            f"service running? choose another port with --port") from None
        self.port = self.sock.getsockname()[1]
        try:
            if isinstance(self.player, RemotePlayer):
                self.audio = AudioProcess(self.player, s, self.log, warn=self.warn)
            else:
                self.audio, self.jackd = open_audio(self.player, s, self.log, self.warn)
        except UserError:
            self.close()
            raise
        if s.midi_in:
            from ..audio.rtmidiclock import MidiClockInput

            try:
                self.midi_in = MidiClockInput(s.midi_in, s.midi_api, s.jack_client, self.log)
                self.log(f"midi clock: listening on {self.midi_in.name} (python-rtmidi)")
            except UserError as exc:
                self.warn(f"midi clock: {exc}; continuing without MIDI clock input")
        self.barsync.start(self.audio, self.midi_in)
        if s.link:
            from ..audio.link import LinkSync

            try:
                self.link = LinkSync(self.player, self.tempo, self.follow_tempo, self._sync_latency,
                                     self.log).start()
                self.log(f"link: Ableton Link on (tempo {self.link.tempo():g} bpm, quantum {s.bars} bars)")
            except UserError as exc:
                self.warn(f"link: {exc}; continuing without Link")
        self.clips = ClipLoader(self._load_clip, self._clip_ready, self._clip_failed)
        if self.gallery is not None:
            self.gallery_clips = ClipLoader(self._load_gallery_clip, lambda clip: self.play_clip(*clip),
                                            self._gallery_clip_failed)
        self.generator.start()
        self.paced.start()
        for name, target in (("immersions-osc-in", self._serve), ("immersions-activations", self.stream.run_stream),
                             ("immersions-status", self.stream.run_status)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self.log(f"listening for OSC on udp://{s.host}:{self.port}; streams to subscribers "
                 f"({PREFIX}/stream/subscribe host port); addresses in {osc_table()} "
                 f"(or `immersions-osc osc-table`)")
        if self.access.remote:
            self.log(f"remote access is on: senders on other machines send {PREFIX}/auth with the token "
                     f"{self.access.token} first (docs/osc.md, 'Remote access')")
        return self

    def close(self) -> None:
        """Stop everything, save the current loop (loops_dir/last_loop.wav)."""
        self.stopping.set()
        self.dispatcher.close()
        if self.link is not None:
            self.link.close()
        self.barsync.close()
        if self.midi_in is not None:
            self.midi_in.close()
        self.generator.stop()
        if self.clips is not None:
            self.clips.close()
        if self.gallery_clips is not None:
            self.gallery_clips.close()
        for t in self._threads:
            t.join(5.0)
        self._threads.clear()
        self.paced.close()
        if self.audio is not None:
            self.audio.close()
        if self.intake is not None:
            self.intake.close()
            self.intake = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.send_sock is not None:
            self.send_sock.close()
            self.send_sock = None
        if self.jackd is not None:
            stop_jackd(self.jackd)
            self.jackd = None
        if self.scfg.loops_dir:
            try:
                os.makedirs(self.scfg.loops_dir, exist_ok=True)
                write_wav(os.path.join(self.scfg.loops_dir, "last_loop.wav"),
                          self.generator.latest().audio.numpy(), self.sample_rate)
                self.last_loop_saved = True
            except OSError as exc:  # a full disk, a folder that is a file: said, and the exit code says it
                self.last_loop_saved = False
                self.warn(f"could not save the last loop: {exc}")

    # --- control messages in -----------------------------------------------------------------------------
    def _serve(self) -> None:
        """The ``immersions-osc-in`` thread: every datagram on the control port goes to the
        dispatcher, each sender in turn (``intake.py``: one client's flood cannot make another's
        control wait behind it)."""
        self.intake.run(self.stopping)

    def _steps(self, data: bytes, addr: tuple):
        return self.dispatcher.steps(data, self.udp_reply(addr), f"{addr[0]}:{addr[1]}")

    def _intake_drop(self, addr: tuple, why: str) -> None:
        self.errors(f"{addr[0]}:{addr[1]}: {why}")

    def handle_datagram(self, data: bytes, reply: Optional[Send] = None, origin: Optional[str] = None) -> None:
        """Apply a datagram as if it came from ``reply`` (the viewer's WebSocket, the demo, tests)."""
        self.dispatcher.handle_datagram(data, reply, origin)

    def activation_frame(self):
        """Every neuron's activation now, in the layout's order (the documented API, docs/api.md)."""
        return self.stream.activation_frame()

    def udp_reply(self, addr: tuple[str, int]) -> UdpReply:
        return UdpReply(lambda: self.send_sock, addr)

    @property
    def messages_received(self) -> int:
        return self.dispatcher.received

    @property
    def rejected(self) -> int:
        return self.dispatcher.rejected

    # --- what the controls change ---------------------------------------------------------------------------
    def set_targets(self, targets: list[Target]) -> None:
        check_targets(targets, self.vector.shapes)
        self.targets = targets
        self.generator.set_targets(targets)

    def set_settings(self, **changes) -> None:
        """Change service settings (the ``service`` config section), as one new value."""
        self.scfg = dataclasses.replace(self.scfg, **changes)

    def loop_length(self) -> int:
        """Samples in a loop: whole bars at the tempo, or ``loop_seconds`` without one (tempo.py)."""
        s = self.scfg
        if s.tempo > 0:
            return loop_samples(s.tempo, s.bars, s.beats_per_bar, self.sample_rate)
        return int(s.loop_seconds * self.sample_rate)

    def tempo(self) -> tuple[float, int, int]:
        return self.scfg.tempo, self.scfg.bars, self.scfg.beats_per_bar

    def set_tempo(self, bpm: float, bars: int) -> None:
        check_tempo(bpm, bars, self.scfg.beats_per_bar)
        old = self.scfg.tempo
        self.set_settings(tempo=float(bpm), bars=int(bars))
        self.refit(old / bpm if old > 0 and bpm > 0 else 1.0)

    def follow_tempo(self, bpm: float, source: str = "link") -> None:
        """The Link or MIDI clock thread: a peer (the DAW) changed the tempo."""
        with self.control_lock:
            try:
                self.set_tempo(bpm, self.scfg.bars)
            except UserError:  # e.g. a loop longer than 60 s at that tempo: fewer bars
                self.set_tempo(bpm, bars_for(30.0, bpm, self.scfg.beats_per_bar))
            self.log(f"{source}: tempo {bpm:g} bpm -> loops of {self.scfg.bars} bars ({self.loop_samples} samples)")

    def _sync_latency(self) -> float:
        """Seconds from a block rendered to it heard where the bar lines are: the device's output
        latency and the user's offset."""
        return self._output_latency() + self.scfg.latency_offset_ms * 1e-3

    def refit(self, stretch: float = 1.0) -> None:
        """A new loop length (tempo, bars, loop_seconds): the loop playing is refitted to it at
        once and takes over at the next bar line, so the change is heard within a bar; the
        optimization goes on from the current loop refitted likewise, and loops it published at
        the old length are not played.  Refitted: stretched by ``stretch`` (a new tempo: new bar
        length / old, the loop resampled as one period), then tiled or cut to the new length (more
        or fewer bars, another loop_seconds)."""
        n = self.loop_length()
        self.player.set_meter(*self.tempo())
        if n != self.loop_samples:
            old = self.loop_samples
            self.loop_samples = n
            # the newest loop at the old length: the one queued when the last refit (or the
            # optimizer) has not taken over yet -- tempo changes closer together than a bar each
            # refit the one before -- else the one playing
            playing, _ = self.player.playhead()
            source = next((x for x in (self.player.queued(), playing) if x is not None and len(x) == old), None)
            if source is not None:
                self.player.queue(refit_loop(source, stretch, n), self.player.version)
            self.generator.set_start(torch.from_numpy(refit_loop(self.generator.current_loop().numpy(), stretch, n)))

    # --- start clips from files (the clip loader's thread) -------------------------------------------------
    def _load_clip(self, path: str) -> "torch.Tensor":
        return start_clip(path, self.loop_samples, self.sample_rate, detail=False)

    def _clip_ready(self, clip: "torch.Tensor") -> None:
        with self.control_lock:  # the loop length may have changed while it loaded
            self.generator.set_start(fit_length(clip, self.loop_samples))

    def _clip_failed(self, why: str, reply, origin: str) -> None:
        self.dispatcher.reject(Sender.of(reply, origin), f"{PREFIX}/optimize/start", why)

    def play_gallery(self, layer: str, channel: int, example: int, reply=None, origin: str = "?") -> None:
        """Play a gallery example (``example`` >= 0) or the channel's rendered loop (-1): read from
        the file on the gallery loader's thread (a file in an archive is decoded whole), then
        :meth:`play_clip`; a file that cannot be read is answered with /immersions/error."""
        key = f"{layer}\n{channel}\n{example}"
        if self.gallery_clips is None:  # not started (tests drive the handlers directly)
            self.play_clip(*self._load_gallery_clip(key))
        else:
            self.gallery_clips.request(key, reply, origin)

    def _load_gallery_clip(self, key: str) -> tuple:
        layer, channel, example = key.split("\n")
        channel, example = int(channel), int(example)
        if example < 0:
            audio, optimized, what = self.gallery.loop_audio(layer, channel), True, "loop"
            if audio is None:
                raise UserError(f"{layer} channel {channel} has no rendered loop")
        else:
            audio, optimized, what = self.gallery.example_audio(layer, channel, example), False, f"example {example}"
        clip = fit_length(torch.from_numpy(np.ascontiguousarray(audio, np.float32)), self.loop_samples)
        return clip, optimized, f"gallery {layer}:{channel} {what}"

    def _gallery_clip_failed(self, why: str, reply, origin: str) -> None:
        self.dispatcher.reject(Sender.of(reply, origin), f"{PREFIX}/gallery/audition", why)

    def play_clip(self, clip: "torch.Tensor", optimized: bool, label: str) -> None:
        """Play ``clip`` (a loop's length) as the loop from the next loop boundary: the optimizer
        pauses, and goes on from it when run again (a gallery example or loop)."""
        with self.control_lock:
            self.generator.set_running(False)
            self.generator.set_start(clip)
            # under the newest version number (a new one would be taken by the optimizer's next loop)
            version = max(self.player.version, self.generator.latest().version)
            self.player.queue(self.stream.playable(clip, optimized=optimized), version)
            self.events(f"playing {label}")

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
    def add_sink(self, key: object, sink: Sink, limit: Optional[int] = None, origin: str = "") -> None:
        """Register a sink (logged: "subscriber HOST:PORT (all) subscribed", "viewer PEER connected");
        beyond ``limit`` sinks a new one is a UserError."""
        new = key not in self.sinks
        self.sinks.add(key, sink, limit=limit)
        if new:
            self._sink_event(key, sink, "connected" if sink.group == "viewer" else "subscribed", origin)

    def remove_sink(self, key: object, origin: str = "") -> None:
        sink = self.sinks.get(key)
        if sink is not None:
            self.sinks.remove(key)
            self._sink_event(key, sink, "disconnected" if sink.group == "viewer" else "unsubscribed", origin)

    def _sink_event(self, key: object, sink: Sink, what: str, origin: str) -> None:
        """Subscribers and viewers: one info line each; the service's own sinks (the viewer's
        snapshot taker, the demo's counter) only at debug level."""
        external = sink.group in ("udp", "viewer")
        if not external and not LOGGER.isEnabledFor(logging.DEBUG):
            return
        (self.events if external else self.trace)(
            f"{_describe(key, sink, kind=what != 'unsubscribed')} {what}" + (f" (asked by {origin})" if origin else "")
            + f"; {self.sinks.counted()} subscribers and viewers")



def _describe(key: object, sink: Sink, kind: bool = True) -> str:
    if sink.group == "udp" and isinstance(key, tuple) and len(key) == 3:
        return f"subscriber {key[1]}:{key[2]}" + (f" ({sink.kind})" if kind else "")
    if sink.group == "viewer":
        return f"viewer {getattr(key, 'peer', key)}"
    return f"sink {key!r} ({sink.kind})"
