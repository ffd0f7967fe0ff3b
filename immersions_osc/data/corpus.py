"""A training corpus of real recorded music, assembled from folders and game-soundtrack archives.

``immersions-osc corpus`` decodes every usable track it finds under the given sources (folders,
searched recursively, and ``.pk3``/``.zip`` archives, which several Debian soundtracks use) to mono
16-bit WAV at the model's sample rate, and writes beside them an index (``index.csv``: one row per
track, with its id, source, duration, split and origin) and a summary (``corpus.json``: hours per
source and split).  Decoded WAV is read frame-exactly by the trainer, so random crops are cheap.

* **Track ids** are ``source/relative path without extension``: stable across machines.
* **The split is by track**: within each source a seeded hash orders the tracks and the first
  ``test_fraction`` of them (at least one, when a source has two or more) are held out; every crop
  the trainer or a probe draws from a track stays on its track's side. The trainer reads only
  ``audio/train``; the probe tasks only ``audio/test``.
* **Nothing is downloaded**: with no source given, the Debian soundtrack packages listed in
  :data:`DEBIAN_SOURCES` are used where installed; none installed is one clear error naming the
  ``apt-get`` line.
* Unreadable, silent and too-short files are left out with one warning each; a re-run reuses the
  tracks already decoded (same origin size and mtime), so an interrupted run continues.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import warnings
import zipfile
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import soundfile as sf

from ..atomic import atomic_write, atomic_write_bytes
from . import DataError, DataWarning
from .folder import SILENCE_PEAK, _mono, _one_line, resample
from .tables import read_csv_rows

CORPUS_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3")
ARCHIVE_EXTENSIONS = (".pk3", ".zip")
INDEX_CSV = "index.csv"
SUMMARY_JSON = "corpus.json"
FIELDS = ("track", "source", "split", "seconds", "path", "origin", "origin_size", "origin_mtime_ns")


@dataclass(frozen=True)
class SourceSpec:
    """Where one source's music lies: a folder or an archive, and the package that installs it."""

    name: str
    path: str
    package: str = ""
    style: str = ""


# Debian's freely licensed game soundtracks (section games; licences in
# /usr/share/doc/PACKAGE/copyright). Paths are where the packages install their music.
DEBIAN_SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("singularity", "/usr/share/games/singularity/music", "singularity-music", "ambient electronic"),
    SourceSpec("wesnoth", "/usr/share/games/wesnoth/1.16/data/core/music", "wesnoth-1.16-music", "orchestral"),
    SourceSpec("warzone2100", "/usr/share/games/warzone2100/music", "warzone2100-music", "electronic"),
    SourceSpec("nexuiz", "/usr/share/games/nexuiz/data/music.pk3", "nexuiz-music", "electronic / metal"),
    SourceSpec("ufoai", "/usr/share/games/ufoai/base/0music.pk3", "ufoai-music", "orchestral / ambient"),
    SourceSpec("hyperrogue", "/usr/share/hyperrogue/music", "hyperrogue-music", "ambient / folk"),
    SourceSpec("drascula", "/usr/share/scummvm/drascula/audio", "drascula-music", "adventure-game score"),
    SourceSpec("planetblupi", "/usr/share/planetblupi/music", "planetblupi-music-ogg", "light pop / chiptune"),
    SourceSpec("asc", "/usr/share/games/asc/music", "asc-music", "orchestral rock"),
)
APT_LINE = "sudo apt-get install " + " ".join(s.package for s in DEBIAN_SOURCES)


@dataclass
class Track:
    track: str          # source/relative path without extension
    source: str
    split: str          # train | test
    seconds: float      # at the corpus sample rate
    path: str           # decoded WAV, relative to the corpus folder
    origin: str         # where it came from (file, or archive!member)
    origin_size: int
    origin_mtime_ns: int


@dataclass(frozen=True)
class _Item:
    """One audio file found in a source, not yet decoded."""

    source: str
    rel: str                       # relative path inside the folder or archive
    origin: str
    size: int
    mtime_ns: int
    read: Callable[[], tuple[np.ndarray, int]]  # -> (frames [n, channels] float32, sample rate)


def parse_source(text: str) -> SourceSpec:
    """``NAME=PATH`` or ``PATH`` (the name is then the folder's or archive's base name)."""
    name, sep, path = text.partition("=")
    if not sep:
        path = text
        name = os.path.splitext(os.path.basename(os.path.normpath(text)))[0]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "music"
    return SourceSpec(name, path)


def named_sources(texts: Sequence[str]) -> tuple[list[SourceSpec], list[str]]:
    """The sources named on a command line (a Debian soundtrack's folder keeps its package's name
    and style), and the paths among them that do not exist."""
    by_path = {os.path.abspath(s.path): s for s in DEBIAN_SOURCES}
    sources = [by_path.get(os.path.abspath(s.path), s) for s in map(parse_source, texts)]
    return sources, [s.path for s in sources if not os.path.exists(s.path)]


def installed_debian_sources() -> list[SourceSpec]:
    return [s for s in DEBIAN_SOURCES if os.path.exists(s.path)]


def _is_corpus_audio(name: str) -> bool:
    return name.lower().endswith(CORPUS_EXTENSIONS)


def _read_file(path: str) -> Callable[[], tuple[np.ndarray, int]]:
    def read():
        frames, rate = sf.read(path, dtype="float32", always_2d=True)
        return frames, rate
    return read


def _read_member(archive: str, member: str) -> Callable[[], tuple[np.ndarray, int]]:
    def read():
        with zipfile.ZipFile(archive) as zf:
            payload = zf.read(member)
        frames, rate = sf.read(io.BytesIO(payload), dtype="float32", always_2d=True)
        return frames, rate
    return read


def find_items(spec: SourceSpec) -> Iterator[_Item]:
    """The audio files of one source (a folder, recursively, or a .pk3/.zip archive)."""
    path = os.path.abspath(spec.path)
    if os.path.isdir(path):
        for directory, subdirs, names in os.walk(path):
            subdirs.sort()
            for name in sorted(names):
                full = os.path.join(directory, name)
                if _is_corpus_audio(name):
                    st = os.stat(full)
                    rel = os.path.relpath(full, path).replace(os.sep, "/")
                    yield _Item(spec.name, rel, full, st.st_size, st.st_mtime_ns, _read_file(full))
                elif name.lower().endswith(ARCHIVE_EXTENSIONS):
                    sub = os.path.relpath(full, path).replace(os.sep, "/")
                    yield from _archive_items(spec.name, full, prefix=os.path.splitext(sub)[0] + "/")
    elif os.path.isfile(path) and path.lower().endswith(ARCHIVE_EXTENSIONS):
        yield from _archive_items(spec.name, path)
    elif os.path.isfile(path) and _is_corpus_audio(path):
        st = os.stat(path)
        yield _Item(spec.name, os.path.basename(path), path, st.st_size, st.st_mtime_ns, _read_file(path))
    else:
        raise DataError(f"corpus source {spec.name}: {spec.path} is not a folder, an audio file "
                        f"or a {'/'.join(ARCHIVE_EXTENSIONS)} archive")


def _archive_items(source: str, archive: str, prefix: str = "") -> Iterator[_Item]:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [i for i in zf.infolist() if not i.is_dir() and _is_corpus_audio(i.filename)]
    except (zipfile.BadZipFile, OSError) as exc:
        warnings.warn(f"skipping archive {archive}: {_one_line(exc)}", DataWarning)
        return
    st = os.stat(archive)
    for info in sorted(members, key=lambda i: i.filename):
        yield _Item(source, prefix + info.filename, f"{archive}!{info.filename}", info.file_size,
                    st.st_mtime_ns, _read_member(archive, info.filename))


def track_id(source: str, rel: str) -> str:
    return f"{source}/{os.path.splitext(rel)[0]}"


def _safe_name(track: str) -> str:
    digest = hashlib.sha1(track.encode()).hexdigest()[:8]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", track).strip("._")[:80]
    return f"{stem}-{digest}.wav"


def assign_splits(tracks: Sequence[tuple[str, str]], test_fraction: float, seed: int) -> dict[str, str]:
    """``{track: 'train'|'test'}`` for (track, source) pairs: per source, a seeded hash order holds
    out ``round(test_fraction * n)`` tracks (at least 1 when the source has >= 2 tracks)."""
    if not 0 <= test_fraction < 1:
        raise DataError(f"corpus: test fraction must be in [0, 1), got {test_fraction}")
    by_source: dict[str, list[str]] = {}
    for track, source in tracks:
        by_source.setdefault(source, []).append(track)
    split = {}
    for source, names in by_source.items():
        order = sorted(names, key=lambda t: hashlib.sha1(f"{seed}:{t}".encode()).hexdigest())
        n_test = 0
        if test_fraction > 0 and len(order) >= 2:
            n_test = min(len(order) - 1, max(1, round(test_fraction * len(order))))
        for i, t in enumerate(order):
            split[t] = "test" if i < n_test else "train"
    return split


def read_index(folder: str) -> list[Track]:
    path = os.path.join(folder, INDEX_CSV)
    rows = read_csv_rows(path, "corpus index", f"build one with `immersions-osc corpus --out {folder}`")
    tracks = []
    for i, row in enumerate(rows, start=2):
        try:
            tracks.append(Track(row["track"], row["source"], row["split"], float(row["seconds"]), row["path"],
                                row["origin"], int(row["origin_size"]), int(row["origin_mtime_ns"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path} line {i}: bad row ({_one_line(exc)})") from None
    return tracks


def write_index(folder: str, tracks: Sequence[Track]) -> None:
    def write(fh):
        text = io.StringIO()
        w = csv.DictWriter(text, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for t in tracks:
            row = asdict(t)
            row["seconds"] = f"{t.seconds:.3f}"
            w.writerow(row)
        fh.write(text.getvalue().encode("utf-8"))
    atomic_write(os.path.join(folder, INDEX_CSV), write)


def summarize(tracks: Sequence[Track], sources: Sequence[SourceSpec] = ()) -> dict:
    """Hours and track counts per source and split."""
    styles = {s.name: s.style for s in sources}
    packages = {s.name: s.package for s in sources}
    per: dict[str, dict] = {}
    for t in tracks:
        row = per.setdefault(t.source, {"tracks": 0, "hours": 0.0, "train_tracks": 0, "train_hours": 0.0,
                                        "test_tracks": 0, "test_hours": 0.0,
                                        "style": styles.get(t.source, ""), "package": packages.get(t.source, "")})
        row["tracks"] += 1
        row["hours"] += t.seconds / 3600
        row[f"{t.split}_tracks"] += 1
        row[f"{t.split}_hours"] += t.seconds / 3600
    total = {k: sum(r[k] for r in per.values()) for k in
             ("tracks", "hours", "train_tracks", "train_hours", "test_tracks", "test_hours")}
    return {"sources": per, "total": total}


def summary_table(summary: dict) -> str:
    lines = ["| source | style | tracks | hours | train tracks / h | test tracks / h |", "|---|---|---|---|---|---|"]
    rows = list(summary["sources"].items()) + [("**total**", dict(summary["total"], style=""))]
    for name, r in rows:
        lines.append(f"| {name} | {r.get('style', '')} | {r['tracks']} | {r['hours']:.2f} | "
                     f"{r['train_tracks']} / {r['train_hours']:.2f} | {r['test_tracks']} / {r['test_hours']:.2f} |")
    return "\n".join(lines)


def decode_item(item: _Item, sample_rate: int) -> np.ndarray:
    frames, rate = item.read()
    if frames.size == 0:
        return np.zeros(0, np.float32)
    return resample(_mono(frames), int(rate), sample_rate)


def build_corpus(sources: Sequence[SourceSpec], out: str, sample_rate: int = 44100, min_seconds: float = 20.0,
                 test_fraction: float = 0.15, seed: int = 0, progress: Optional[Callable[[int, int, str], None]] = None
                 ) -> tuple[list[Track], dict]:
    """Decode every usable track of ``sources`` into ``out``; returns (tracks, summary)."""
    if not sources:
        raise DataError("corpus: no music found. Install Debian's game soundtracks "
                        f"(`{APT_LINE}`) or name folders of your own")
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    previous = {}
    if os.path.exists(os.path.join(out, INDEX_CSV)):
        try:
            previous = {t.origin: t for t in read_index(out)}
        except DataError as exc:
            warnings.warn(f"rebuilding the corpus index: {exc}", DataWarning)

    items: list[_Item] = []
    for spec in sources:
        found = list(find_items(spec))
        if not found:
            warnings.warn(f"corpus source {spec.name}: no audio files under {spec.path}", DataWarning)
        items.extend(found)
    seen: set[str] = set()
    decoded: list[tuple[_Item, str, float, str]] = []  # item, track, seconds, wav (relative to out)
    for n, item in enumerate(items):
        tid = track_id(item.source, item.rel)
        if progress:
            progress(n, len(items), tid)
        if tid in seen:
            warnings.warn(f"skipping {item.origin}: a second file for track {tid}", DataWarning)
            continue
        old = previous.get(item.origin)
        if (old is not None and old.origin_size == item.size and old.origin_mtime_ns == item.mtime_ns
                and os.path.isfile(os.path.join(out, old.path))):
            seen.add(tid)
            decoded.append((item, tid, old.seconds, old.path))
            continue
        try:
            audio = decode_item(item, sample_rate)
        except Exception as exc:  # any decoder failure: one warning, never a crash
            warnings.warn(f"skipping {item.origin}: unreadable ({_one_line(exc)})", DataWarning)
            continue
        seconds = len(audio) / sample_rate
        if seconds < min_seconds:
            warnings.warn(f"skipping {item.origin}: too short ({seconds:.1f} s < {min_seconds:g} s)", DataWarning)
            continue
        peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
        if not peak >= SILENCE_PEAK:
            warnings.warn(f"skipping {item.origin}: silent (peak {peak:.2g})", DataWarning)
            continue
        rel = "audio/" + _safe_name(tid)
        buf = io.BytesIO()
        sf.write(buf, np.clip(audio, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
        atomic_write_bytes(os.path.join(out, rel), buf.getvalue())
        seen.add(tid)
        decoded.append((item, tid, seconds, rel))
    if progress:
        progress(len(items), len(items), "")
    if not decoded:
        raise DataError(f"corpus: none of the {len(items)} audio files found is usable (see the warnings)"
                        if items else "corpus: the sources hold no audio files "
                        f"({'/'.join(CORPUS_EXTENSIONS)}, or inside {'/'.join(ARCHIVE_EXTENSIONS)} archives)")

    splits = assign_splits([(tid, item.source) for item, tid, _, _ in decoded], test_fraction, seed)
    tracks = []
    for item, tid, seconds, rel in decoded:
        split = splits[tid]
        want = f"audio/{split}/{os.path.basename(rel)}"
        if rel != want:  # file the WAV under its split's folder (the trainer reads audio/train)
            os.makedirs(os.path.dirname(os.path.join(out, want)), exist_ok=True)
            os.replace(os.path.join(out, rel), os.path.join(out, want))
        tracks.append(Track(tid, item.source, split, round(seconds, 3), want, item.origin, item.size, item.mtime_ns))
    write_index(out, tracks)
    # WAVs no longer in the index (a source removed, a split changed) would leak into training
    keep = {t.path for t in tracks}
    for split in ("train", "test"):
        folder = os.path.join(out, "audio", split)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if f"audio/{split}/{name}" not in keep and name.endswith(".wav"):
                    os.unlink(os.path.join(folder, name))
    summary = summarize(tracks, sources)
    summary["sample_rate"], summary["test_fraction"], summary["seed"] = sample_rate, test_fraction, seed
    atomic_write_bytes(os.path.join(out, SUMMARY_JSON), json.dumps(summary, indent=2).encode())
    return tracks, summary
