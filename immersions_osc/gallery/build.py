"""One streaming pass of the model over music: every channel's best excerpts and its activation
distribution (the gallery), resumable.

Each track is decoded once (mono, the model's rate) and heard in chunks of ``chunk_seconds``, each
preceded by the model's receptive field of audio (``CPCModel.window_samples``) so that every
column kept is exactly that of one forward pass over the whole track (the model is causal; a
test checks the equality).  The columns go to the pure core (:mod:`.core`): per channel the mean
over its frequency rows, then excerpt scores, the top-k keeper and the histogram.

After every chunk the whole state (keeper, histograms, the track's pending columns, the position)
is written atomically to ``OUT/gallery_state.npz``: a pass killed at any moment resumes from its
last chunk and ends with exactly the result of an uninterrupted one.  At the end ``gallery.npz``
(arrays) and ``gallery.json`` (tracks, settings, cost) are written and the state is removed.

Memory: the keeper and histograms are fixed arrays; the pending columns are one excerpt per
layer; the audio is one decoded track at a time (the longest track bounds it: 10 min of mono
float32 at 44.1 kHz is 106 MB).
"""
from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ..atomic import atomic_write, remove_stale_temps
from ..errors import UserError
from .core import ExcerptScorer, Sketch, TopK

STATE_NAME = "gallery_state.npz"
ARRAYS_NAME = "gallery.npz"
META_NAME = "gallery.json"
FORMAT = "immersions-gallery"
VERSION = 1


@dataclass(frozen=True)
class GallerySettings:
    k: int = 8                        # examples kept per channel
    excerpt_seconds: float = 4.0      # an example's length (rounded to the deepest layer's step)
    separation_seconds: float = 8.0   # no two examples of one channel from one track closer than this
    hop_seconds: float = 0.0          # excerpt start grid (0: the deepest layer's step)
    chunk_seconds: float = 60.0       # audio per forward pass (plus the receptive field)

    def check(self) -> None:
        if not 1 <= self.k <= 64:
            raise UserError(f"--k must be 1..64, got {self.k}")
        for name in ("excerpt_seconds", "chunk_seconds"):
            if not getattr(self, name) > 0:
                raise UserError(f"--{name.replace('_seconds', '').replace('_', '-')}-seconds must be > 0")
        if not self.separation_seconds >= 0 or not self.hop_seconds >= 0:
            raise UserError("--separation-seconds and --hop-seconds must be >= 0")


@dataclass
class Geometry:
    """What the pass needs to know of the model: its layers, channels and column strides."""
    layers: list[str]
    channels: list[int]
    strides: list[int]          # samples per column
    step: int                   # the largest stride (every excerpt and chunk is a multiple of it)
    window: int                 # audio heard before a chunk (a multiple of ``step``)
    sample_rate: int

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.channels)]).astype(np.int64)


def geometry(model: torch.nn.Module) -> Geometry:
    """Layers, channels and strides of a CPC model, from one forward pass of silence."""
    from ..model import CPCModel
    from ..optimize.ascent import activations_of

    if not isinstance(model, CPCModel):
        raise UserError("the gallery needs a causal CPC checkpoint (--checkpoint); other networks are not supported")
    sr = model.sample_rate
    deepest = model.cfg.scaleogram.hop_length * model.encoder.time_stride * model.ar.time_stride
    n = 8 * deepest
    with torch.no_grad():
        acts, _ = activations_of(model.eval(), torch.zeros(1, n, device=next(model.parameters()).device))
    strides = []
    for name, a in acts.items():
        if n % a.shape[-1]:
            raise UserError(f"layer {name}: {a.shape[-1]} columns for {n} samples is not a whole stride")
        strides.append(n // a.shape[-1])
    step = max(strides)
    window = math.ceil(model.window_samples / step) * step
    return Geometry(list(acts), [int(a.shape[1]) for a in acts.values()], strides, step, window, sr)


def channel_columns(acts: dict[str, torch.Tensor], keep: int, strides: Sequence[int],
                    end: Optional[int] = None) -> list[np.ndarray]:
    """Each layer's columns covering the ``keep`` samples before sample ``end`` of the input
    (default: its end), reduced to one value per channel: the mean over its frequency rows.
    [C_l, keep // stride_l] float32 arrays."""
    out = []
    for a, s in zip(acts.values(), strides):
        a = a[0]
        if a.dim() == 3:
            a = a.mean(dim=1)  # [C, F, T] -> [C, T]
        hi = a.shape[-1] if end is None else end // s
        out.append(a[:, hi - keep // s:hi].float().cpu().numpy())
    return out


@dataclass
class Track:
    origin: str        # a file path, or archive!member
    name: str          # source/relative path
    seconds: float = 0.0


def _sources_items(sources) -> tuple[list, list[str]]:
    """Every audio item of the sources (corpus.find_items: folders, archives, files), and the lines
    for those that cannot be listed."""
    from ..data.corpus import find_items

    items, lines = [], []
    for spec in sources:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            items.extend(find_items(spec))
        lines += [str(w.message) for w in caught]
    return items, lines


def resampled_blocks(read: Callable[[int], np.ndarray], rate: int, target: int, out_block: int):
    """Blocks of a stream resampled from ``rate`` to ``target`` (scipy's polyphase filter, as
    ``data.folder.resample``), about ``out_block`` samples each, in bounded memory: each input block
    is resampled with a margin of input on both sides wider than the filter, and only the output of
    the block itself is kept, so the blocks join seamlessly (equal to resampling the whole signal
    up to float rounding).  ``read(n)`` returns up to ``n`` mono samples (fewer at the end)."""
    from scipy import signal

    g = math.gcd(rate, target)
    up, down = target // g, rate // g
    margin = down * math.ceil(max(64, 20 * down / up) / down)  # input samples, a multiple of down
    size = down * max(1, math.ceil(out_block * down / up / down))  # input samples per block
    before = np.zeros(0, np.float32)
    current = read(size)
    while len(current):
        after = read(size)
        segment = np.concatenate([before, current, after[:margin]])
        y = signal.resample_poly(segment, up, down)
        lo = len(before) * up // down
        yield y[lo:lo + -(-len(current) * up // down)].astype(np.float32)
        before, current = current[-margin:], after


class TooShort(Exception):
    """A track shorter than one excerpt."""


class TrackAudio:
    """One track, mono at the model's rate, chunk by chunk: chunk c covers samples
    [c * chunk, (c + 1) * chunk) of the track cut to whole steps, and comes with the ``window``
    samples before it.  A file at the model's rate is read block by block (memory: about two
    chunks); another rate, or a member of an archive, is decoded whole and resampled.  Reading
    from chunk ``first`` (a resume) decodes the track from its start and drops what lies before."""

    def __init__(self, item, sample_rate: int, step: int, chunk: int, window: int, min_samples: int = 0):
        self.item, self.sr, self.step, self.chunk, self.window = item, sample_rate, step, chunk, window
        self.min_samples = min_samples
        self.heard = 0  # samples read so far
        self.expected = 0  # the track's length as its header says (progress only)

    def _blocks(self):
        """Mono float32 blocks of the whole track at the model's rate."""
        import soundfile as sf

        from ..data.corpus import decode_item
        from ..data.folder import _mono

        origin = self.item.origin
        if "!" not in origin or os.path.isfile(origin):
            with sf.SoundFile(origin) as f:
                rate = f.samplerate
                self.expected = int(f.frames * self.sr / rate)
                if rate == self.sr:
                    while True:
                        block = f.read(self.chunk, dtype="float32", always_2d=True)
                        if not len(block):
                            return
                        yield _mono(block)
                else:
                    yield from resampled_blocks(
                        lambda n: _mono(f.read(n, dtype="float32", always_2d=True)), rate, self.sr, self.chunk)
                return
        audio = decode_item(self.item, self.sr)  # an archive member: decoded whole
        self.expected = len(audio)
        for a in range(0, len(audio), self.chunk):
            yield audio[a:a + self.chunk]

    def chunks(self, first: int = 0):
        """(c, p, q, audio[max(0, p - window):q], last) for every chunk c >= first."""
        blocks = self._blocks()
        buf, base, eof = np.zeros(0, np.float32), 0, False  # buf holds samples [base, base + len(buf))

        def fill(upto: int) -> None:
            nonlocal buf, eof
            parts, have = [buf], base + len(buf)
            while have < upto and not eof:
                block = next(blocks, None)
                if block is None:
                    eof = True
                    break
                parts.append(np.asarray(block, np.float32))
                have += len(block)
                self.heard = have
            if len(parts) > 1:
                buf = np.concatenate(parts)

        def keep_from(start: int) -> None:  # drop what was read before ``start``
            nonlocal buf, base
            start = min(start, base + len(buf))
            if start > base:
                buf = buf[start - base:]
                base = start

        c = first
        while True:
            p = c * self.chunk
            target = p + max(self.chunk, self.min_samples if c == 0 else 0) + self.step
            while not eof and base + len(buf) < target:  # a block at a time: a resume skips in bounded memory
                fill(min(target, base + len(buf) + self.chunk))
                keep_from(max(0, p - self.window))
            total = base + len(buf)
            end = total - total % self.step
            if c == 0 and end < self.min_samples:
                raise TooShort(f"shorter than one excerpt ({total / self.sr:.1f} s)")
            q = min(p + self.chunk, end)
            if q <= p:
                return
            last = eof and end <= p + self.chunk
            yield c, p, q, np.ascontiguousarray(buf[max(0, p - self.window) - base:q - base]), last
            if last:
                return
            c += 1


class GalleryBuild:
    """The pass over ``items`` (corpus._Item: origin, rel, read()) into folder ``out``."""

    def __init__(self, model: torch.nn.Module, items: Sequence, out: str, settings: GallerySettings,
                 checkpoint: str = "", log: Callable[[str], None] = print):
        settings.check()
        self.model, self.items, self.out, self.settings, self.log = model.eval(), list(items), out, settings, log
        self.geo = g = geometry(model)
        self.excerpt = max(1, round(settings.excerpt_seconds * g.sample_rate / g.step)) * g.step
        self.hop = max(1, round(settings.hop_seconds * g.sample_rate / g.step)) * g.step if settings.hop_seconds else g.step
        self.separation = int(round(settings.separation_seconds * g.sample_rate))
        self.chunk = max(1, round(settings.chunk_seconds * g.sample_rate / g.step)) * g.step
        self.checkpoint = checkpoint
        total = int(sum(g.channels))
        self.topk = TopK(total, settings.k, self.separation)
        self.sketch = Sketch(total)
        self.tracks: list[Track] = []
        self.skipped: list[str] = []
        self.position = (0, 0)  # (item index, chunk index) of the next chunk
        self.scorer: Optional[ExcerptScorer] = None
        self.cost = {"decode": 0.0, "model": 0.0, "keep": 0.0, "save": 0.0}
        self.audio_seconds = 0.0
        self.resumed = False

    # --- identity of a run (a resume must be the same run) ------------------------------------------
    def fingerprint(self) -> dict:
        """The music (each file's origin, size and time), the checkpoint (path, size, time), the
        settings and the model's layers: a resume, or a finished gallery, must match it."""
        checkpoint = os.path.abspath(self.checkpoint) if self.checkpoint else ""
        stamp = [os.stat(checkpoint).st_size, os.stat(checkpoint).st_mtime_ns] if os.path.isfile(checkpoint) else []
        return {"settings": asdict(self.settings), "checkpoint": [checkpoint, *stamp],
                "items": [[it.origin, it.size, it.mtime_ns] for it in self.items], "layers": self.geo.layers,
                "channels": self.geo.channels}

    @property
    def state_path(self) -> str:
        return os.path.join(self.out, STATE_NAME)

    def _new_scorer(self) -> ExcerptScorer:
        return ExcerptScorer(self.geo.channels, self.geo.strides, self.excerpt, self.hop)

    def save_state(self) -> None:
        meta = {"fingerprint": self.fingerprint(), "position": list(self.position),
                "tracks": [asdict(t) for t in self.tracks], "skipped": self.skipped, "cost": self.cost,
                "audio_seconds": self.audio_seconds}
        arrays = {**self.topk.state(), "sketch_counts": self.sketch.counts,
                  "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
        if self.scorer is not None:
            arrays.update(self.scorer.state())
        atomic_write(self.state_path, lambda fh: np.savez(fh, **arrays))

    def complete(self) -> bool:
        """Whether OUT holds the finished gallery of this very pass (and no pass is under way)."""
        path = os.path.join(self.out, ARRAYS_NAME)
        if os.path.exists(self.state_path) or not os.path.isfile(path):
            return False
        try:
            with np.load(path) as z:
                meta = json.loads(z["meta"].tobytes())
        except Exception:
            return False
        return meta.get("fingerprint") == json.loads(json.dumps(self.fingerprint()))

    def load_state(self) -> bool:
        """Continue a killed pass from its state file; False when there is none."""
        remove_stale_temps(self.state_path)
        if not os.path.isfile(self.state_path):
            return False
        try:
            with np.load(self.state_path) as z:
                state = {k: z[k] for k in z.files}
            meta = json.loads(state["meta"].tobytes())
        except Exception as exc:  # truncated or foreign file
            raise UserError(f"{self.state_path} is not a readable gallery state ({type(exc).__name__}); "
                            f"remove it to start over") from None
        if meta["fingerprint"] != json.loads(json.dumps(self.fingerprint())):
            raise UserError(f"{self.state_path} belongs to another pass (other music, checkpoint or settings); "
                            f"remove it (or use --fresh) to start over")
        self.topk.load(state)
        self.sketch = Sketch(len(self.topk.score), state["sketch_counts"])
        self.position = tuple(meta["position"])
        self.tracks = [Track(**t) for t in meta["tracks"]]
        self.skipped, self.cost, self.audio_seconds = meta["skipped"], meta["cost"], meta["audio_seconds"]
        if "scorer_next" in state:
            self.scorer = self._new_scorer()
            self.scorer.load(state)
        self.resumed = True
        return True

    # --- the pass ---------------------------------------------------------------------------------
    def _skip(self, item, why: str) -> None:
        line = f"gallery: skipping {item.origin}: {why}"
        self.skipped.append(line)
        self.log(line)

    def run(self, progress: Optional[Callable[[int, int, float], None]] = None,
            stop_after_chunks: Optional[int] = None) -> "GalleryBuild":
        """Hear every item (from the saved position); ``stop_after_chunks``: end after that many
        chunks of this call (tests), leaving the state as a kill would."""
        from ..optimize.ascent import activations_of

        g, device = self.geo, next(self.model.parameters()).device
        done_chunks = 0
        start_item, start_chunk = self.position
        for index in range(start_item, len(self.items)):
            item = self.items[index]
            first = start_chunk if index == start_item else 0
            start_chunk = 0
            reader = TrackAudio(item, g.sample_rate, g.step, self.chunk, g.window, self.excerpt)
            chunks = reader.chunks(first)
            while True:
                t0 = time.perf_counter()
                try:
                    got = next(chunks, None)
                except TooShort as exc:
                    self._skip(item, str(exc))
                    got = None
                except Exception as exc:  # soundfile/zip errors: an unreadable (or truncated) file
                    why = " ".join(str(exc).split()) or type(exc).__name__
                    if self.scorer is None:
                        self._skip(item, f"unreadable ({why})")
                    else:
                        self._skip(item, f"unreadable after {reader.heard / g.sample_rate:.1f} s ({why}); "
                                         f"what was heard before is kept")
                    got = None
                self.cost["decode"] += time.perf_counter() - t0
                if got is None:
                    break
                c, p, q, audio, last = got
                if c == 0:
                    self.scorer = self._new_scorer()
                    self.tracks.append(Track(item.origin, f"{item.source}/{item.rel}", 0.0))
                t0 = time.perf_counter()
                # every forward pass the same size (silence after the chunk: the model is causal, so
                # it changes nothing kept), so that memory is reused, not fragmented
                x = np.zeros(g.window + self.chunk, np.float32)
                x[:len(audio)] = np.nan_to_num(audio)
                with torch.no_grad():
                    acts, _ = activations_of(self.model, torch.from_numpy(x).unsqueeze(0).to(device))
                columns = channel_columns(acts, q - p, g.strides, end=len(audio))
                t1 = time.perf_counter()
                for i, cols in enumerate(columns):
                    self.sketch.add(int(g.offsets[i]), cols)
                scores, starts = self.scorer.feed(columns)
                self.topk.offer(scores, len(self.tracks) - 1, starts, self.hop)
                t2 = time.perf_counter()
                self.cost["model"] += t1 - t0
                self.cost["keep"] += t2 - t1
                self.audio_seconds += (q - p) / g.sample_rate
                self.tracks[-1].seconds = q / g.sample_rate
                self.position = (index + 1, 0) if last else (index, c + 1)
                if last:
                    self.scorer = None
                self.save_state()
                self.cost["save"] += time.perf_counter() - t2
                done_chunks += 1
                if progress is not None:
                    progress(index + (1.0 if last else min(0.99, q / max(reader.expected, q + 1))),
                             len(self.items), self.audio_seconds)
                if stop_after_chunks is not None and done_chunks >= stop_after_chunks:
                    return self
                if last:
                    break
            if self.position[0] <= index:  # skipped, or cut short by a read error: the next file
                self.position = (index + 1, 0)
                self.scorer = None
                self.save_state()
        return self

    @property
    def finished(self) -> bool:
        return self.position[0] >= len(self.items)

    # --- the result -------------------------------------------------------------------------------
    def arrays(self) -> dict:
        score, track, start = self.topk.ranked()
        g = self.geo
        return {"top_score": score.astype(np.float32), "top_track": track.astype(np.int32),
                "top_start": start.astype(np.int64), "sketch_counts": self.sketch.counts,
                "sketch_edges": self.sketch.edges, "channels": np.array(g.channels, np.int64)}

    def meta(self) -> dict:
        g = self.geo
        hours = self.audio_seconds / 3600
        compute = sum(self.cost.values())
        return {"format": FORMAT, "version": VERSION, "checkpoint": self.checkpoint, "fingerprint": self.fingerprint(),
                "sample_rate": g.sample_rate, "layers": g.layers, "channels": g.channels, "strides": g.strides,
                "excerpt_samples": self.excerpt, "hop_samples": self.hop, "separation_samples": self.separation,
                "chunk_samples": self.chunk, "window_samples": g.window, "settings": asdict(self.settings),
                "tracks": [asdict(t) for t in self.tracks], "skipped": self.skipped,
                "audio_seconds": self.audio_seconds, "cost_seconds": self.cost,
                "seconds_per_audio_hour": compute / hours if hours else None,
                "measure": "per channel: the mean over its frequency rows and over the excerpt's columns, "
                           "heard in the music's context (continuous listening)"}

    def write(self) -> tuple[str, str]:
        arrays_path, meta_path = os.path.join(self.out, ARRAYS_NAME), os.path.join(self.out, META_NAME)
        meta = self.meta()
        arrays = {**self.arrays(), "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
        atomic_write(arrays_path, lambda fh: np.savez(fh, **arrays))
        atomic_write(meta_path, lambda fh: fh.write((json.dumps(meta, indent=1) + "\n").encode()))
        if os.path.exists(self.state_path):
            os.unlink(self.state_path)
        return arrays_path, meta_path
