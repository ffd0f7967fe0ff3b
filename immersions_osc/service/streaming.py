"""What the service sends on its own: the activation stream, loop/new and status, the layout, and
new loops (queued on the player, analysed ahead of time, written to disk without a sound device).

:class:`Streamer` is handed the service (it reads the player, the generator, the settings and the
sinks) and owns what only it changes: the frame counters, the loop analyses, the published loops
and the encoded layout.  Its two loops are the threads ``immersions-activations``
(:meth:`Streamer.run_stream`, at the frame rate) and ``immersions-status``
(:meth:`Streamer.run_status`).
"""
from __future__ import annotations

import collections
import io
import os
import threading
import time
from typing import Optional

import numpy as np
import torch

from ..atomic import atomic_write_bytes
from ..audio.live import LiveInput
from ..config import OptimizeConfig
from ..errors import UserError
from ..model import CPCModel
from ..optimize.generator import PublishedLoop
from ..optimize.targets import Target
from ..osc.controls import PREFIX
from ..osc.protocol import encode_message, encode_vector
from .engine import LoopAnalysis, StreamingActivations, analysis_frames, current_activations, summarize

ANALYSE_AHEAD_SECONDS = 1.0  # the queued loop is analysed when the playing one has this much left


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
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(audio, np.float32), sample_rate, format="WAV", subtype="FLOAT")
    atomic_write_bytes(path, buf.getvalue())


def playable(audio: torch.Tensor, cfg: OptimizeConfig, optimized: bool = True) -> np.ndarray:
    """A loop as it is played.  An optimized loop is played exactly as it was optimized: it is at
    the playback level already (the model heard it at that level, ``optimize.transforms.level``
    inside the graph), so nothing is re-levelled (nor are the quiet noise and silence starts).  A
    start clip that is music (``optimized=False``, an audio file) is brought to that level
    (``cfg.peak``, ``cfg.rms``).  The stream analyses this array, the one the player plays (before
    the volume control)."""
    a = audio.detach().float().cpu().reshape(1, -1)
    if optimized or len(a[0]) == 0 or float(a.abs().max()) <= 1e-6:
        return a[0].numpy().astype(np.float32)
    from ..optimize.transforms import level

    return level(a, cfg.peak, cfg.rms)[0].numpy().astype(np.float32)


class Streamer:
    def __init__(self, service):
        self.service = service
        self.frames_sent = 0
        self.loops_written = 0
        self.fps = 0.0  # activation frames sent per second, over the last second
        self._frame = 0
        # the layout's frame number: fixed for this run, above the last run's (the clients'
        # assemblers take a restarted service's layout as new)
        self.layout_frame = int(time.time()) % (1 << 30)
        self._layout_cache: Optional[tuple] = None  # ((max_datagram, frame), position datagrams)
        self._layout_npz: Optional[bytes] = None
        self.to_write: collections.deque = collections.deque(maxlen=8)  # published loops to write out
        self.published: dict[int, tuple[int, str]] = {}  # version -> (step, the targets it was optimized for)
        # hold: published loops are not queued on the player but kept (newest in ``held``) for
        # whoever schedules what plays when (the demo's tour queues each stop's loop itself)
        self.hold = False
        self.held: Optional[PublishedLoop] = None
        self._analyses: list[LoopAnalysis] = []  # newest first: queued, playing, previous
        self.analysis_lock = threading.RLock()  # hooks on the stream model: one forward pass at a time
        self._live: Optional[StreamingActivations] = None  # the live input's stream (the CPC ear)
        self._live_input: Optional[LiveInput] = None

    # --- messages ------------------------------------------------------------------------------------
    def layout_datagrams(self, chunks: Optional[list[int]] = None) -> list[bytes]:
        """The layer table and the position chunks; ``chunks``: only these position chunks.  The
        positions are one frame whose number stays the same while the service runs (a client
        completes it from chunks of several requests; a restarted service numbers it anew).  Encoded
        once per ``max_datagram``: a flood of requests costs no encoding and no memory."""
        s, cache = self.service, self._layout_cache
        size = s.scfg.max_datagram
        if cache is None or cache[0] != (size, self.layout_frame):
            positions = np.asarray(s.layout.positions, np.float32).reshape(-1)
            vector = encode_vector(f"{PREFIX}/layout/positions", self.layout_frame, positions, "float32", size)
            cache = self._layout_cache = ((size, self.layout_frame), vector)
        vector = cache[1]
        if chunks is not None:
            bad = [c for c in chunks if c >= len(vector)]
            if bad:
                raise UserError(f"chunk {bad[0]} out of range (0..{len(vector) - 1} at max_datagram {size})")
            return [vector[c] for c in sorted(set(chunks))]
        out = []
        for i, name in enumerate(s.vector.layer_names):
            c, f = s.vector.shapes[name]
            out.append(encode_message(f"{PREFIX}/layout/layer", "isiii", [i, name, int(s.vector.offsets[i]), c, f]))
        return out + vector

    def layout_npz(self) -> bytes:
        """The layout (in stream order) as an ``.npz`` file's bytes; made once."""
        if self._layout_npz is None:
            from ..layout.export import layout_npz_bytes

            self._layout_npz = layout_npz_bytes(self.service.layout)
        return self._layout_npz

    def layout_json(self) -> dict:
        """The layout as ``/immersions/layout/*`` carries it: frame, layer table, positions x0 y0 x1 y1 ..."""
        vector = self.service.vector
        layers = [{"index": i, "name": name, "offset": int(vector.offsets[i]), "channels": c, "frequencies": f}
                  for i, name in enumerate(vector.layer_names) for c, f in [vector.shapes[name]]]
        positions = np.asarray(self.service.layout.positions, np.float32).reshape(-1)
        return {"frame": self.layout_frame, "neurons": len(positions) // 2, "layers": layers,
                "positions": positions.tolist()}

    def status_values(self) -> list:
        s = self.service
        g = s.generator.stats
        return [self.fps, g.steps_per_second, s.xruns, describe_targets(s.targets), g.published,
                int(s.player.playing), s.player.volume, s.sinks.counted(), time.monotonic() - s.started_at]

    def status_datagram(self) -> bytes:
        return encode_message(f"{PREFIX}/status", "ffisiifif", self.status_values())

    def audio_values(self) -> list:
        """The audio device: backend, the model's rate, the device's rate, xruns, output latency (ms)."""
        s = self.service
        kind = s.audio.kind if s.audio is not None else "none"
        health = getattr(s.audio, "health", "ok")
        if health != "ok":  # the audio process died or froze: "jack (dead)", "portaudio (stalled)"
            kind = f"{kind} ({health})"
        return [kind, int(s.sample_rate), int(s.player.device_rate), int(s.xruns), 1000.0 * s._output_latency()]

    def audio_datagram(self) -> bytes:
        return encode_message(f"{PREFIX}/audio", "siiif", self.audio_values())

    # --- the activation stream -----------------------------------------------------------------------
    def activation_frame(self) -> Optional[np.ndarray]:
        """Every neuron's activation now: at the loop's playhead (from the loop's analysis, made
        once per loop) or of the live input: the CPC ear streams it (the new hops' columns only),
        any other model runs on the latest window (one forward pass per frame)."""
        s = self.service
        if s.scfg.source == "input":
            if isinstance(s.stream_model, CPCModel):
                with self.analysis_lock:
                    return self._live_frame()
            window = s.player.input_window(s.window)
            audio = torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)).to(s.device)
            with self.analysis_lock:
                return current_activations(s.stream_model, audio, s.vector)
        loop, pos = s.player.playhead()
        if loop is None:
            return None
        return self._analysis_of(loop).frame(pos)

    def _live_frame(self) -> Optional[np.ndarray]:
        """The live input's new samples through the stream; a stream that cannot go on (the first
        frame, a new device rate, input missed for a ring's length) starts again from the latest
        window of input, so its first frame is already that of continuous listening."""
        s = self.service
        if self._live is None or self._live.stream.model is not s.stream_model:
            self._live = StreamingActivations(s.stream_model, s.vector, s.device)
            self._live_input = LiveInput(s.player)
        audio = self._live_input.read()
        if audio is None:
            return self._live.restart(self._live_input.start(s.window))
        return self._live.feed(audio)

    def _analysis_of(self, loop: np.ndarray) -> LoopAnalysis:
        """The loop's analysis (made ahead of time by the status thread when the loop is queued)."""
        with self.analysis_lock:
            for analysis in self._analyses:
                if analysis.loop is loop:
                    return analysis
            s = self.service
            analysis = LoopAnalysis(s.stream_model, loop, s.vector, s.window, s.device,
                                    frames=analysis_frames(len(loop), s.sample_rate, s.scfg.frame_rate))
            self._analyses = ([analysis] + self._analyses)[:3]
            return analysis

    def _send_frame(self, values: np.ndarray) -> None:
        self._frame += 1
        cfg, sinks = self.service.scfg, self.service.sinks
        sinks.broadcast(encode_vector(f"{PREFIX}/activations", self._frame, values, cfg.format, cfg.max_datagram),
                        blobs=True)
        energy, top, top_values = summarize(values, self.service.vector, cfg.summary_top)
        sinks.broadcast([encode_message(f"{PREFIX}/summary/energy", "f" * len(energy), energy),
                         encode_message(f"{PREFIX}/summary/top_neurons", "i" * len(top), top),
                         encode_message(f"{PREFIX}/summary/top_values", "f" * len(top_values), top_values)])
        self.frames_sent += 1

    def run_stream(self) -> None:
        next_time = time.perf_counter()
        window_start, sent = time.perf_counter(), 0
        while not self.service.stopping.is_set():
            period = 1.0 / self.service.scfg.frame_rate
            if len(self.service.sinks):
                try:
                    values = self.activation_frame()
                    if values is not None:
                        self._send_frame(values)
                        sent += 1
                except Exception as exc:  # must not end the stream
                    self.service.errors(f"activation frame failed: {type(exc).__name__}: {exc}")
            now = time.perf_counter()
            if now - window_start >= 1.0:
                self.fps, window_start, sent = sent / (now - window_start), now, 0
            next_time += period
            delay = next_time - time.perf_counter()
            if delay > 0:
                self.service.stopping.wait(delay)
            elif delay < -0.25:
                next_time = time.perf_counter()  # far behind: do not try to catch up

    # --- loops ----------------------------------------------------------------------------------------
    def playable(self, audio: torch.Tensor, optimized: bool = True) -> np.ndarray:
        return playable(audio, self.service.generator.cfg, optimized)

    def on_publish(self, loop: PublishedLoop) -> None:  # optimizer thread
        self.published[loop.version] = (loop.step, describe_targets(list(loop.targets)))  # as optimized
        for old in [v for v in self.published if v < loop.version - 16]:
            del self.published[old]
        if len(loop.audio) != self.service.loop_samples:
            return  # made at a length the tempo no longer has (the optimizer restarts at the new one)
        if self.hold:
            self.held = loop
        else:
            self.service.player.queue(self.playable(loop.audio), loop.version)
        self.to_write.append(loop)

    def run_status(self) -> None:
        s = self.service
        last_version, next_status = s.player.version, time.monotonic()
        while not s.stopping.wait(0.02):
            s.sinks.expire()
            if s.player.version != last_version:
                last_version = s.player.version
                loop, _ = s.player.playhead()
                seconds = len(loop) / s.sample_rate if loop is not None else 0.0
                step, targets = self.published.get(last_version, (0, describe_targets(s.targets)))
                s.sinks.broadcast([encode_message(f"{PREFIX}/loop/new", "iifs", [last_version, step, seconds, targets])])
            self._analyse_ahead()
            while self.to_write:
                self.write_loop(self.to_write.popleft())
            if time.monotonic() >= next_status:
                next_status += 1.0 / s.scfg.status_rate
                s.sinks.broadcast([self.status_datagram(), self.audio_datagram()])

    def _analyse_ahead(self) -> None:
        """Analyse the queued loop shortly before it starts (not every loop that is published:
        most are replaced before they play), so the stream thread finds it ready."""
        s = self.service
        queued = s.player.queued()
        if queued is None or s.scfg.source != "loop":
            return
        loop, pos = s.player.playhead()
        if loop is not None and len(loop) - pos > ANALYSE_AHEAD_SECONDS * s.sample_rate:
            return
        try:
            self._analysis_of(queued)
        except Exception as exc:
            self.service.errors(f"loop analysis failed: {type(exc).__name__}: {exc}")

    def write_loop(self, loop: PublishedLoop) -> None:
        """Without JACK every new loop goes to loops_dir (the newest ``keep_loops`` are kept)."""
        s = self.service
        folder = s.scfg.loops_dir
        if s.audio is None or s.audio.kind != "none" or not folder:
            return
        try:
            os.makedirs(folder, exist_ok=True)
            write_wav(os.path.join(folder, f"loop_{loop.version:05d}.wav"), loop.audio.numpy(), s.sample_rate)
            self.loops_written += 1
            old = sorted(f for f in os.listdir(folder) if f.startswith("loop_") and f.endswith(".wav"))
            for name in old[:max(0, len(old) - s.scfg.keep_loops)]:
                os.remove(os.path.join(folder, name))
        except OSError as exc:
            s.errors(f"cannot write loop to {folder}: {exc}")
