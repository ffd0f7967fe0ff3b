"""A gallery written by ``immersions-osc gallery``, loaded: every channel's examples, its activation
percentiles, and the examples' audio, read from the user's own files on request.

Only the files a gallery lists are ever opened (an example is named by layer, channel and rank,
never by a path from a client).
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import UserError
from .build import ARRAYS_NAME, FORMAT, VERSION
from .core import Sketch
from .files import loop_path


@dataclass(frozen=True)
class Example:
    rank: int
    origin: str       # the file (or archive!member) it comes from
    name: str         # source/relative path, for display
    start: float      # seconds into the track
    seconds: float    # length
    activation: float


class Gallery:
    def __init__(self, path: str, arrays: dict, meta: dict):
        self.path, self.meta = path, meta
        self.layers: list[str] = list(meta["layers"])
        self.channels: list[int] = [int(c) for c in meta["channels"]]
        self.offsets = np.concatenate([[0], np.cumsum(self.channels)]).astype(np.int64)
        self.index = {name: i for i, name in enumerate(self.layers)}
        self.sample_rate = int(meta["sample_rate"])
        self.excerpt_samples = int(meta["excerpt_samples"])
        self.tracks = meta["tracks"]
        self.score, self.track, self.start = arrays["top_score"], arrays["top_track"], arrays["top_start"]
        self.sketch = Sketch(int(self.offsets[-1]), arrays["sketch_counts"])
        self.folder = os.path.dirname(os.path.abspath(path))
        self._archive_cache: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, path: str) -> "Gallery":
        """A gallery folder (or its gallery.npz); one clear UserError when it is not one."""
        file = os.path.join(path, ARRAYS_NAME) if os.path.isdir(path) else path
        if not os.path.isfile(file):
            raise UserError(f"no gallery at {path} (make one with `immersions-osc gallery MUSIC --out FOLDER`)")
        try:
            with np.load(file, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(arrays.pop("meta").tobytes())
        except Exception as exc:  # truncated, foreign or crafted file
            raise UserError(f"{file} is not a readable gallery ({type(exc).__name__})") from None
        if meta.get("format") != FORMAT or meta.get("version", 0) > VERSION:
            raise UserError(f"{file} is not a gallery this version can read")
        return cls(file, arrays, meta)

    # --- lookups ------------------------------------------------------------------------------------
    def row(self, layer: str, channel: int) -> int:
        if layer not in self.index:
            raise UserError(f"the gallery has no layer {layer!r}; layers: {', '.join(self.layers)}")
        c = self.channels[self.index[layer]]
        if not 0 <= channel < c:
            raise UserError(f"channel {channel} out of range for {layer} (0..{c - 1})")
        return int(self.offsets[self.index[layer]] + channel)

    def examples(self, layer: str, channel: int) -> list[Example]:
        r = self.row(layer, channel)
        out = []
        for rank in range(self.score.shape[1]):
            t = int(self.track[r, rank])
            if t < 0:
                continue
            track = self.tracks[t]
            out.append(Example(rank, track["origin"], track["name"], int(self.start[r, rank]) / self.sample_rate,
                               self.excerpt_samples / self.sample_rate, float(self.score[r, rank])))
        return out

    def example(self, layer: str, channel: int, rank: int) -> Example:
        found = [e for e in self.examples(layer, channel) if e.rank == rank]
        if not found:
            raise UserError(f"{layer} channel {channel} has no example {rank} "
                            f"(it has {len(self.examples(layer, channel))})")
        return found[0]

    def percentiles(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Percentile (0..100) of each value among its channel's activations on the music."""
        return self.sketch.percentile(rows, values)

    def layer_percentiles(self, layer_values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{layer: per-channel value} -> {layer: per-channel percentile}; layers it lacks are left out."""
        out = {}
        for layer, values in layer_values.items():
            if layer in self.index and len(values) == self.channels[self.index[layer]]:
                rows = self.offsets[self.index[layer]] + np.arange(len(values))
                out[layer] = self.percentiles(rows, np.asarray(values, np.float64))
        return out

    # --- audio ------------------------------------------------------------------------------------------
    def example_audio(self, layer: str, channel: int, rank: int) -> np.ndarray:
        """The example's samples, mono float32 at the gallery's rate."""
        e = self.example(layer, channel, rank)
        start = int(round(e.start * self.sample_rate))
        return read_excerpt(e.origin, start, self.excerpt_samples, self.sample_rate, self._archive_cache)

    def has_loop(self, layer: str, channel: int) -> bool:
        """Whether the channel's optimized loop was rendered (``gallery --loops``)."""
        self.row(layer, channel)
        return os.path.isfile(loop_path(self.folder, layer, channel))

    def loop_audio(self, layer: str, channel: int) -> Optional[np.ndarray]:
        """The channel's rendered loop (mono float32 at the gallery's rate), or None."""
        import soundfile as sf

        if not self.has_loop(layer, channel):
            return None
        try:
            audio, _ = sf.read(loop_path(self.folder, layer, channel), dtype="float32", always_2d=True)
        except (OSError, RuntimeError) as exc:
            raise UserError(f"cannot read the loop of {layer} channel {channel}: {' '.join(str(exc).split())}") from None
        return audio[:, 0]


def read_excerpt(origin: str, start: int, n: int, sample_rate: int,
                 cache: Optional[dict] = None) -> np.ndarray:
    """``n`` samples from ``start`` (at ``sample_rate``) of a file or ``archive!member``, mono
    float32; a file at another rate is read around the excerpt and resampled.  UserError with one
    line when the file cannot be read (moved, deleted, changed)."""
    import soundfile as sf

    from ..data.folder import _mono, resample

    try:
        archive, sep, member = origin.partition("!")
        if sep and os.path.isfile(archive) and not os.path.exists(origin):
            cache = {} if cache is None else cache
            if origin not in cache:
                import io

                with zipfile.ZipFile(archive) as zf:
                    frames, rate = sf.read(io.BytesIO(zf.read(member)), dtype="float32", always_2d=True)
                cache.clear()  # one archived track at a time
                cache[origin] = resample(_mono(frames), int(rate), sample_rate)
            audio = cache[origin][start:start + n]
        else:
            with sf.SoundFile(origin) as f:
                rate = f.samplerate
                if rate == sample_rate:
                    f.seek(min(start, f.frames))
                    audio = _mono(f.read(n, dtype="float32", always_2d=True))
                else:
                    a = int(start * rate / sample_rate)
                    f.seek(min(a, f.frames))
                    frames = f.read(int(np.ceil(n * rate / sample_rate)) + 1, dtype="float32", always_2d=True)
                    audio = resample(_mono(frames), rate, sample_rate)[:n]
    except (OSError, RuntimeError, ValueError, zipfile.BadZipFile, KeyError) as exc:
        raise UserError(f"cannot read the example from {origin}: {' '.join(str(exc).split())}") from None
    out = np.zeros(n, np.float32)
    out[:len(audio)] = audio
    return out
