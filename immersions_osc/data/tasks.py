"""Real-music probe tasks built from a corpus (:mod:`.corpus`), written as probe CSVs.

Every task reads only what the corpus split allows, and its CSV names a *group* per clip so the
probe can never put crops of one group on both sides:

* ``track.csv`` — **track identity** (as the seed's house-track task): up to ``n_tracks``
  held-out tracks (never trained on), each cut into ``segments`` disjoint segments with
  ``crops`` clips each; group = segment, so train and test hear different parts of each track.
* ``source.csv`` — **source / style**: which soundtrack a clip comes from; the probe trains on
  clips of training-split tracks and is tested on the held-out tracks (predefined split column,
  group = track).
* ``tempo.csv`` — **tempo**: the same excerpt time-stretched to three tempi (slow x0.8,
  original, fast x1.25, pitch kept by a phase vocoder) and written to ``tempo/``; group = track,
  test = held-out tracks.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import soundfile as sf

from ..atomic import atomic_write, atomic_write_bytes
from . import DataError
from .corpus import Track, read_index

TEMPI = (("slow", 0.8), ("original", 1.0), ("fast", 1.25))


@dataclass(frozen=True)
class Row:
    path: str
    label: str
    group: str
    split: str = ""
    start: Optional[float] = None


def time_stretch(audio: np.ndarray, rate: float, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Phase-vocoder time stretch: ``rate`` > 1 is faster (shorter), pitch unchanged.

    Returns about ``len(audio) / rate`` samples.
    """
    if rate <= 0 or not np.isfinite(rate):
        raise ValueError(f"rate must be > 0, got {rate}")
    x = np.asarray(audio, np.float64)
    window = np.hanning(n_fft + 1)[:-1]
    pad = np.pad(x, (n_fft // 2, n_fft // 2 + hop))
    n_frames = 1 + (len(pad) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    spec = np.fft.rfft(pad[idx] * window, axis=1)  # [T, bins]
    steps = np.arange(0, n_frames - 1, rate)
    i = steps.astype(int)
    frac = (steps - i)[:, None]
    mag = (1 - frac) * np.abs(spec[i]) + frac * np.abs(spec[i + 1])
    advance = 2 * np.pi * hop * np.arange(spec.shape[1]) / n_fft
    dphi = np.angle(spec[i + 1]) - np.angle(spec[i]) - advance
    dphi -= 2 * np.pi * np.round(dphi / (2 * np.pi))
    phase = np.angle(spec[0]) + np.concatenate([np.zeros((1, spec.shape[1])),
                                                np.cumsum(advance + dphi, axis=0)[:-1]])
    frames = np.fft.irfft(mag * np.exp(1j * phase), n=n_fft, axis=1) * window
    out = np.zeros(hop * (len(steps) - 1) + n_fft)
    norm = np.zeros_like(out)
    for t in range(len(steps)):
        out[t * hop:t * hop + n_fft] += frames[t]
        norm[t * hop:t * hop + n_fft] += window ** 2
    out = out / np.maximum(norm, 1e-8)
    length = int(round(len(x) / rate))
    return out[n_fft // 2:n_fft // 2 + length].astype(np.float32)


def _pick(items: Sequence[Track], n: int, rng: np.random.Generator) -> list[Track]:
    items = sorted(items, key=lambda t: t.track)
    if len(items) <= n:
        return list(items)
    return [items[i] for i in sorted(rng.choice(len(items), n, replace=False))]


def track_rows(tracks: Sequence[Track], folder: str, clip: float, n_tracks: int = 15, segments: int = 4,
               crops: int = 3, seed: int = 0) -> list[Row]:
    rng = np.random.default_rng([seed, 1])
    eligible = [t for t in tracks if t.split == "test" and t.seconds >= segments * (clip + 1.0)]
    chosen = _pick(eligible, n_tracks, rng)
    if len(chosen) < 2:
        raise DataError(f"track task: need >= 2 held-out tracks of at least {segments * (clip + 1):.0f} s, "
                        f"found {len(chosen)}")
    rows = []
    for t in chosen:
        seg = t.seconds / segments
        for k in range(segments):
            for start in np.linspace(k * seg, (k + 1) * seg - clip - 0.01, crops):
                rows.append(Row(os.path.join(folder, t.path), t.track, f"{t.track}#segment{k}",
                                start=round(float(start), 3)))
    return rows


def source_rows(tracks: Sequence[Track], folder: str, clip: float, train_per_source: int = 10,
                crops: int = 2, seed: int = 0) -> list[Row]:
    rng = np.random.default_rng([seed, 2])
    rows = []
    for source in sorted({t.source for t in tracks}):
        test = [t for t in tracks if t.source == source and t.split == "test" and t.seconds >= clip + 1]
        train = _pick([t for t in tracks if t.source == source and t.split == "train" and t.seconds >= clip + 1],
                      train_per_source, rng)
        if not test or not train:
            continue
        for split, chosen in (("train", train), ("test", test)):
            for t in chosen:
                for start in rng.uniform(0, t.seconds - clip - 0.01, crops):
                    rows.append(Row(os.path.join(folder, t.path), source, t.track, split, round(float(start), 3)))
    if len({r.label for r in rows}) < 2:
        raise DataError("source task: need >= 2 sources with both training and held-out tracks")
    return rows


def tempo_rows(tracks: Sequence[Track], folder: str, out: str, clip: float, sample_rate: int,
               train_tracks: int = 60, test_tracks: int = 40, seed: int = 0,
               progress: Optional[Callable[[int, int], None]] = None) -> list[Row]:
    rng = np.random.default_rng([seed, 3])
    longest = max(r for _, r in TEMPI)
    need = clip * longest + 0.5
    chosen = [("train", t) for t in _pick([t for t in tracks if t.split == "train" and t.seconds >= need + 1],
                                          train_tracks, rng)]
    chosen += [("test", t) for t in _pick([t for t in tracks if t.split == "test" and t.seconds >= need + 1],
                                          test_tracks, rng)]
    if sum(s == "test" for s, _ in chosen) < 2 or sum(s == "train" for s, _ in chosen) < 2:
        raise DataError("tempo task: need >= 2 training and >= 2 held-out tracks long enough")
    os.makedirs(os.path.join(out, "tempo"), exist_ok=True)
    rows = []
    n = int(round(clip * sample_rate))
    for j, (split, t) in enumerate(chosen):
        start = float(rng.uniform(0, t.seconds - need))
        frames, rate = sf.read(os.path.join(folder, t.path), start=int(start * sample_rate),
                               frames=int(need * sample_rate), dtype="float32", always_2d=True)
        if rate != sample_rate:
            raise DataError(f"tempo task: {t.path} is at {rate} Hz, the corpus at {sample_rate} Hz")
        excerpt = frames.mean(1)
        for label, factor in TEMPI:
            stretched = time_stretch(excerpt[: int(np.ceil(clip * factor * sample_rate)) + 2048], factor)[:n]
            if len(stretched) < n:
                continue
            name = f"tempo/{j:03d}-{label}.wav"
            buf = io.BytesIO()
            sf.write(buf, np.clip(stretched, -1, 1), sample_rate, format="WAV", subtype="PCM_16")
            atomic_write_bytes(os.path.join(out, name), buf.getvalue())
            rows.append(Row(name, label, t.track, split, 0.0))
        if progress:
            progress(j + 1, len(chosen))
    return rows


def write_rows(path: str, rows: Sequence[Row]) -> None:
    def write(fh):
        text = io.StringIO()
        w = csv.writer(text, lineterminator="\n")
        w.writerow(["path", "label", "group", "split", "start"])
        for r in rows:
            w.writerow([r.path, r.label, r.group, r.split, "" if r.start is None else f"{r.start:.3f}"])
        fh.write(text.getvalue().encode("utf-8"))
    atomic_write(path, write)


def build_tasks(corpus: str, out: str, clip: float = 4.0, seed: int = 0,
                progress: Optional[Callable[[int, int], None]] = None) -> dict[str, int]:
    """Write track.csv, source.csv and tempo.csv (+ tempo/*.wav) into ``out``; returns rows per task."""
    tracks = read_index(corpus)
    sample_rate = sf.info(os.path.join(corpus, tracks[0].path)).samplerate
    corpus = os.path.abspath(corpus)
    os.makedirs(out, exist_ok=True)
    made = {}
    for name, rows in (("track", track_rows(tracks, corpus, clip, seed=seed)),
                       ("source", source_rows(tracks, corpus, clip, seed=seed)),
                       ("tempo", tempo_rows(tracks, corpus, out, clip, sample_rate, seed=seed, progress=progress))):
        write_rows(os.path.join(out, f"{name}.csv"), rows)
        made[name] = len(rows)
    return made
