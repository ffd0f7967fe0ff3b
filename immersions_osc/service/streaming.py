"""What the service sends on its own: the activation stream, loop/new and status, the layout, and
new loops (queued on the player, analysed ahead of time, written to disk without JACK).

``Streaming`` is a part of :class:`~.server.Service`; its two loops are the threads
``immersions-activations`` (``_stream``, at the frame rate) and ``immersions-status``
(``_status_loop``).
"""
from __future__ import annotations

import io
import os
import time
from typing import Optional

import numpy as np
import torch

from ..atomic import atomic_write_bytes
from ..errors import UserError
from ..optimize.generator import PublishedLoop
from ..optimize.targets import Target
from ..osc.controls import PREFIX
from .engine import LoopAnalysis, current_activations, summarize
from ..osc.protocol import encode_message, encode_vector

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


class Streaming:
    # --- messages ------------------------------------------------------------------------------------
    def layout_datagrams(self, chunks: Optional[list[int]] = None) -> list[bytes]:
        """The layer table and the position chunks; ``chunks``: only these position chunks.  The
        positions are one frame whose number stays the same while the service runs (a client
        completes it from chunks of several requests; a restarted service numbers it anew).  Encoded
        once per ``max_datagram``: a flood of requests costs no encoding and no memory."""
        cache = getattr(self, "_layout_cache", None)
        if cache is None or cache[0] != (self.scfg.max_datagram, self.layout_frame):
            positions = np.asarray(self.layout.positions, np.float32).reshape(-1)
            vector = encode_vector(f"{PREFIX}/layout/positions", self.layout_frame, positions, "float32",
                                   self.scfg.max_datagram)
            cache = self._layout_cache = ((self.scfg.max_datagram, self.layout_frame), vector)
        vector = cache[1]
        if chunks is not None:
            bad = [c for c in chunks if c >= len(vector)]
            if bad:
                raise UserError(f"chunk {bad[0]} out of range (0..{len(vector) - 1} at max_datagram "
                                f"{self.scfg.max_datagram})")
            return [vector[c] for c in sorted(set(chunks))]
        out = []
        for i, name in enumerate(self.vector.layer_names):
            c, f = self.vector.shapes[name]
            out.append(encode_message(f"{PREFIX}/layout/layer", "isiii",
                                      [i, name, int(self.vector.offsets[i]), c, f]))
        return out + vector

    def layout_npz(self) -> bytes:
        """The layout (in stream order) as an ``.npz`` file's bytes; made once."""
        if self._layout_npz is None:
            from ..layout.export import layout_npz_bytes

            self._layout_npz = layout_npz_bytes(self.layout)
        return self._layout_npz

    def layout_json(self) -> dict:
        """The layout as ``/immersions/layout/*`` carries it: frame, layer table, positions x0 y0 x1 y1 ..."""
        layers = [{"index": i, "name": name, "offset": int(self.vector.offsets[i]), "channels": c, "frequencies": f}
                  for i, name in enumerate(self.vector.layer_names) for c, f in [self.vector.shapes[name]]]
        positions = np.asarray(self.layout.positions, np.float32).reshape(-1)
        return {"frame": self.layout_frame, "neurons": len(positions) // 2, "layers": layers,
                "positions": positions.tolist()}

    def status_values(self) -> list:
        g = self.generator.stats
        return [self._fps, g.steps_per_second, self.xruns, describe_targets(self.targets), g.published,
                int(self.player.playing), self.player.volume, self.sinks.counted(), time.monotonic() - self._started]

    def status_datagram(self) -> bytes:
        return encode_message(f"{PREFIX}/status", "ffisiifif", self.status_values())

    # --- the activation stream -----------------------------------------------------------------------
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
            if len(self.sinks):
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

    # --- loops ----------------------------------------------------------------------------------------
    def playable(self, audio: torch.Tensor, optimized: bool = True) -> np.ndarray:
        """A loop as it is played.  An optimized loop is played exactly as it was optimized: it is
        at the playback level already (the model heard it at that level, ``optimize.transforms.level``
        inside the graph), so nothing is re-levelled (nor are the quiet noise and silence starts).
        A start clip that is music (``optimized=False``, an audio file) is brought to that level.  The stream analyses this array, the one the player
        plays (before the volume control)."""
        a = audio.detach().float().cpu().reshape(1, -1)
        if optimized or len(a[0]) == 0 or float(a.abs().max()) <= 1e-6:
            return a[0].numpy().astype(np.float32)
        from ..optimize.transforms import level

        cfg = self.generator.cfg
        return level(a, cfg.peak, cfg.rms)[0].numpy().astype(np.float32)

    def _on_publish(self, loop: PublishedLoop) -> None:  # optimizer thread
        self._published[loop.version] = (loop.step, describe_targets(self.generator.targets))  # as optimized
        for old in [v for v in self._published if v < loop.version - 16]:
            del self._published[old]
        self.player.queue(self.playable(loop.audio), loop.version)
        self._to_write.append(loop)

    def _status_loop(self) -> None:
        last_version, next_status = self.player.version, time.monotonic()
        while not self._stop.wait(0.02):
            self.sinks.expire()
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
