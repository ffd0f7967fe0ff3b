"""Audio from disk, and the datasets the trainer and the linear probe read.

- :func:`load_audio` / :func:`resample`: mono float32 at a target rate (channel average,
  polyphase resampling with ``scipy.signal.resample_poly``).
- :func:`scan_audio_folder`: the usable audio files under a folder. Unreadable, too short and
  silent files are left out with one warning each; what was learned about each file is cached
  in a JSON index keyed by path, size and mtime, so a large folder is decoded once.
- :class:`AudioFolderDataset` / :class:`SyntheticDataset`: random crops for training,
  deterministic per (seed, epoch, item) and safe in DataLoader worker processes.
- :class:`LabelledFolder` / :func:`labelled_examples`: (path, label) pairs from sub-folders or a
  CSV; :func:`write_synthetic_folder` makes such a folder from synthetic music.
"""
from __future__ import annotations

import csv
import json
import math
import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Union

import numpy as np
import soundfile as sf
import torch
from scipy import signal

from ..atomic import atomic_write_bytes
from . import DataError, DataWarning
from .synth import CATEGORICAL_LABELS, DEFAULT_SAMPLE_RATE, SyntheticMusic

PathLike = Union[str, "os.PathLike[str]"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
INDEX_NAME = ".immersions_index.json"
INDEX_VERSION = 1
SILENCE_PEAK = 1e-4             # a file whose peak stays below this (-80 dBFS) is silent
PEAK_BLOCK_FRAMES = 1 << 18     # frames decoded at a time while measuring a file's peak
RESAMPLED_CACHE_FILES = 4       # resampled files an AudioFolderDataset keeps (per process)
DEFAULT_SYNTHETIC_ITEMS = 100_000


# =================================================================================================
# Loading
# =================================================================================================
def resampled_length(frames: int, orig_sr: int, target_sr: int) -> int:
    """Samples :func:`resample` returns for ``frames`` samples at ``orig_sr``."""
    g = math.gcd(orig_sr, target_sr)
    return -(-frames * (target_sr // g) // (orig_sr // g))  # ceil, as resample_poly


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling of a 1-D signal by the reduced fraction ``target_sr / orig_sr``."""
    if orig_sr == target_sr:
        return np.asarray(audio, dtype=np.float32)
    g = math.gcd(orig_sr, target_sr)
    return signal.resample_poly(audio, target_sr // g, orig_sr // g).astype(np.float32)


def _mono(frames: np.ndarray) -> np.ndarray:
    """Average the channels of ``[frames, channels]`` audio."""
    return frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0]


def load_audio(path: PathLike, sample_rate: int) -> np.ndarray:
    """The whole file as mono float32 at ``sample_rate``; soundfile's error if unreadable."""
    frames, file_rate = sf.read(os.fspath(path), dtype="float32", always_2d=True)
    return resample(_mono(frames), file_rate, sample_rate)


# =================================================================================================
# Scanning a folder
# =================================================================================================
@dataclass(frozen=True)
class AudioFile:
    """A usable audio file: its format as stored, and its length once loaded at the target rate."""

    path: str          # absolute
    relpath: str       # relative to the scanned folder, with '/' separators
    sample_rate: int   # of the file
    channels: int
    frames: int        # at the file's rate
    n_samples: int     # at the target rate (the length load_audio returns)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _is_audio(name: str) -> bool:
    return name.lower().endswith(AUDIO_EXTENSIONS)


def _audio_paths(root: str) -> list[str]:
    """Relative paths ('/'-separated, sorted) of the audio files under ``root``, recursively."""
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        for name in names:
            if _is_audio(name):
                rel = os.path.relpath(os.path.join(directory, name), root)
                found.append(rel.replace(os.sep, "/"))
    return sorted(found)


def probe_file(path: str) -> dict:
    """What the scan needs to know about a file: its format, length and peak (decodes it)."""
    info = sf.info(path)
    peak = 0.0
    for block in sf.blocks(path, blocksize=PEAK_BLOCK_FRAMES, dtype="float32", always_2d=True):
        if block.size:
            peak = max(peak, float(np.max(np.abs(block))))
    return {"sample_rate": int(info.samplerate), "channels": int(info.channels),
            "frames": int(info.frames), "peak": peak}


def skip_reason(facts: dict, sample_rate: int, min_samples: int) -> Optional[str]:
    """Why a file with these facts is unusable, or None if it is usable."""
    if "error" in facts:
        return f"unreadable ({facts['error']})"
    n = resampled_length(facts["frames"], facts["sample_rate"], sample_rate)
    if n < min_samples:
        return (f"too short ({n / sample_rate:.2f} s at {sample_rate} Hz, "
                f"need {min_samples / sample_rate:.2f} s)")
    if not facts["peak"] >= SILENCE_PEAK:  # also catches NaN
        return f"silent (peak {facts['peak']:.2g} < {SILENCE_PEAK:g})"
    return None


def _read_index(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            index = json.loads(fh.read())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        warnings.warn(f"ignoring unreadable audio index {path}: {_one_line(exc)}", DataWarning)
        return {}
    if not isinstance(index, dict) or index.get("version") != INDEX_VERSION:
        return {}
    files = index.get("files")
    return files if isinstance(files, dict) else {}


def _write_index(path: str, files: dict) -> None:
    payload = json.dumps({"version": INDEX_VERSION, "files": files}, separators=(",", ":"),
                         sort_keys=True)
    try:
        atomic_write_bytes(path, payload.encode())
    except OSError as exc:  # a read-only dataset still scans, it just is not cached
        warnings.warn(f"cannot write audio index {path}: {_one_line(exc)}", DataWarning)


def scan_audio_folder(root: PathLike, sample_rate: int, min_samples: int,
                      index_path: Optional[PathLike] = None,
                      use_index: bool = True) -> list[AudioFile]:
    """The usable audio files under ``root`` (recursive; .wav .flac .ogg .mp3, any case).

    A file is left out, with one :class:`DataWarning` naming it and why, when soundfile cannot
    read it, when it is shorter than ``min_samples`` at ``sample_rate``, or when it is silent.
    Facts about each file (format, length, peak) are kept in a JSON index, by default
    ``<root>/.immersions_index.json``, keyed by relative path with the size and mtime they were
    measured at; a file whose size or mtime changed is measured again.

    Raises :class:`DataError` if ``root`` is not a folder or holds no usable file.
    """
    root = os.path.abspath(os.fspath(root))
    if not os.path.isdir(root):
        raise DataError(f"audio folder not found: {root}")
    index_path = os.fspath(index_path) if index_path is not None else os.path.join(root, INDEX_NAME)
    cached = _read_index(index_path) if use_index else {}

    entries, files = {}, []
    for rel in _audio_paths(root):
        path = os.path.join(root, *rel.split("/"))
        try:
            stat = os.stat(path)
        except OSError as exc:  # vanished or unreadable since the walk
            warnings.warn(f"skipping {rel}: {_one_line(exc)}", DataWarning)
            continue
        stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        entry = cached.get(rel)
        if not (isinstance(entry, dict) and all(entry.get(k) == v for k, v in stamp.items())):
            try:
                entry = dict(stamp, **probe_file(path))
            except Exception as exc:  # any decoder failure means "unreadable", never a crash
                entry = dict(stamp, error=_one_line(f"{type(exc).__name__}: {exc}"))
        entries[rel] = entry
        reason = skip_reason(entry, sample_rate, min_samples)
        if reason:
            warnings.warn(f"skipping {rel}: {reason}", DataWarning)
            continue
        files.append(AudioFile(path=path, relpath=rel, sample_rate=entry["sample_rate"],
                               channels=entry["channels"], frames=entry["frames"],
                               n_samples=resampled_length(entry["frames"], entry["sample_rate"],
                                                          sample_rate)))

    if use_index and entries != cached:
        _write_index(index_path, entries)
    if not files:
        what = (f"none of its {len(entries)} audio files is usable (see the warnings)" if entries
                else f"it holds no {'/'.join(AUDIO_EXTENSIONS)} files")
        raise DataError(f"no usable audio in {root}: {what}")
    return files


# =================================================================================================
# Datasets
# =================================================================================================
def _crop_or_pad(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    crop = audio[start:start + length]
    if len(crop) < length:  # a header that promised more frames than the file holds
        crop = np.pad(crop, (0, length - len(crop)))
    return crop


class AudioFolderDataset(torch.utils.data.Dataset):
    """Random crops of ``crop_samples`` at ``sample_rate`` from the files of a folder.

    Item ``i`` (any ``i >= 0``; ``len()`` is the number of items per epoch) comes from file
    ``order[i % n_files]`` of a permutation drawn per block of ``n_files`` items, so every file
    is used equally; the crop's position comes from a generator seeded by (seed, epoch, i).
    Nothing is kept open between items, so the dataset works in DataLoader worker processes.
    Files at ``sample_rate`` are read frame-exactly; others are loaded, resampled and kept in a
    small per-process cache.
    """

    def __init__(self, root: Union[PathLike, Sequence[AudioFile]], crop_samples: int,
                 sample_rate: int = DEFAULT_SAMPLE_RATE, length: Optional[int] = None,
                 seed: int = 0, index_path: Optional[PathLike] = None,
                 cache_files: int = RESAMPLED_CACHE_FILES):
        if crop_samples < 1:
            raise ValueError(f"crop_samples must be >= 1, got {crop_samples}")
        if isinstance(root, (str, os.PathLike)):
            files = scan_audio_folder(root, sample_rate, crop_samples, index_path=index_path)
        else:
            files = list(root)
            short = [f.relpath for f in files if f.n_samples < crop_samples]
            if not files or short:
                raise DataError(f"AudioFolderDataset needs files of at least {crop_samples} "
                                f"samples; got {len(files)} files, too short: {short[:3]}")
        self.files = files
        self.crop_samples = int(crop_samples)
        self.sample_rate = int(sample_rate)
        self.length = int(length) if length is not None else len(files)
        self.seed = int(seed)
        self.epoch = 0
        self.cache_files = int(cache_files)
        self._resampled: OrderedDict[str, np.ndarray] = OrderedDict()
        self._orders: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        """Draw different crops (and file orders) in each epoch."""
        self.epoch = int(epoch)

    def file_of(self, index: int) -> AudioFile:
        """The file item ``index`` of the current epoch is cropped from."""
        block, slot = divmod(index, len(self.files))
        key = (self.epoch, block)
        if key not in self._orders:
            rng = np.random.default_rng([self.seed, self.epoch, block, len(self.files)])
            self._orders[key] = rng.permutation(len(self.files))
            while len(self._orders) > 2:
                self._orders.popitem(last=False)
        return self.files[self._orders[key][slot]]

    def _load_resampled(self, file: AudioFile) -> np.ndarray:
        if file.path in self._resampled:
            self._resampled.move_to_end(file.path)
            return self._resampled[file.path]
        audio = load_audio(file.path, self.sample_rate)
        if self.cache_files > 0:
            self._resampled[file.path] = audio
            while len(self._resampled) > self.cache_files:
                self._resampled.popitem(last=False)
        return audio

    def read_crop(self, file: AudioFile, start: int) -> np.ndarray:
        """``crop_samples`` mono samples of ``file`` from ``start`` (at the target rate)."""
        try:
            if file.sample_rate == self.sample_rate:
                frames, _ = sf.read(file.path, start=start, frames=self.crop_samples,
                                    dtype="float32", always_2d=True)
                return _crop_or_pad(_mono(frames), 0, self.crop_samples)
            return _crop_or_pad(self._load_resampled(file), start, self.crop_samples)
        except (RuntimeError, OSError) as exc:  # changed or removed since the scan
            raise DataError(f"cannot read {file.path}: {_one_line(exc)}") from None

    def crop_position(self, index: int) -> tuple[AudioFile, int]:
        """The file and start sample (at the target rate) of item ``index`` this epoch."""
        if index < 0:
            raise IndexError(f"item index must be >= 0, got {index}")
        file = self.file_of(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return file, int(rng.integers(0, file.n_samples - self.crop_samples + 1))

    def __getitem__(self, index: int) -> torch.Tensor:
        crop = self.read_crop(*self.crop_position(index))
        return torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32))


class SyntheticDataset(torch.utils.data.Dataset):
    """Synthetic music clips of ``crop_samples``, generated on the fly.

    Item ``i`` is ``(audio, labels)``: a float32 tensor ``[crop_samples]`` and the clip's label
    dict, or, with ``label_key`` (``family``, ``instruments``, ``key``, ``mode``), that label's
    integer id (``tempo``: the bpm as a float). ``balanced`` forces item ``i`` to class
    ``i % n_classes`` of ``label_key``. Deterministic by (seed, epoch, i); ``len()`` is the
    number of items per epoch, but any ``i >= 0`` is a valid item.
    """

    def __init__(self, crop_samples: int, length: int = DEFAULT_SYNTHETIC_ITEMS,
                 sample_rate: int = DEFAULT_SAMPLE_RATE, seed: int = 0,
                 label_key: Optional[str] = None, balanced: bool = False):
        if crop_samples < 1:
            raise ValueError(f"crop_samples must be >= 1, got {crop_samples}")
        if label_key is not None and label_key not in (*CATEGORICAL_LABELS, "tempo"):
            raise ValueError(f"label_key must be one of {[*CATEGORICAL_LABELS, 'tempo']}, "
                             f"got {label_key!r}")
        if balanced and label_key not in CATEGORICAL_LABELS:
            raise ValueError(f"balanced needs a categorical label_key "
                             f"({list(CATEGORICAL_LABELS)}), got {label_key!r}")
        self.music = SyntheticMusic(sample_rate=sample_rate, seed=seed)
        self.crop_samples = int(crop_samples)
        self.length = int(length)
        self.label_key = label_key
        self.balanced = balanced
        self.epoch = 0

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        """Epoch ``e`` uses clip indices ``e * len(self) + i``: fresh music every epoch."""
        self.epoch = int(epoch)

    def __getitem__(self, index: int):
        if index < 0:
            raise IndexError(f"item index must be >= 0, got {index}")
        force = {}
        if self.balanced:
            values = CATEGORICAL_LABELS[self.label_key]
            force[self.label_key] = values[index % len(values)]
        audio, labels = self.music.clip(self.epoch * self.length + index, self.crop_samples,
                                        **force)
        if self.label_key is None:
            label = labels
        elif self.label_key in CATEGORICAL_LABELS:
            label = labels[f"{self.label_key}_id"]
        else:
            label = labels[self.label_key]
        return torch.from_numpy(audio), label


# =================================================================================================
# Labelled folders (linear probe)
# =================================================================================================
@dataclass(frozen=True)
class LabelledFolder:
    """(path, label) pairs with at least two classes; paths are absolute and exist."""

    items: tuple[tuple[str, str], ...]

    @property
    def classes(self) -> list[str]:
        return sorted({label for _, label in self.items})

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __getitem__(self, i: int) -> tuple[str, str]:
        return self.items[i]

    @classmethod
    def _checked(cls, items: list[tuple[str, str]], where: str) -> "LabelledFolder":
        classes = sorted({label for _, label in items})
        if len(classes) < 2:
            raise DataError(f"{where}: need at least 2 classes, found {len(classes)}"
                            + (f" ({', '.join(classes)})" if classes else ""))
        return cls(tuple(sorted(items)))

    @classmethod
    def from_subfolders(cls, root: PathLike) -> "LabelledFolder":
        """Each immediate sub-folder of ``root`` is a class; its audio files (recursively) are
        the class's examples. Hidden sub-folders and files directly in ``root`` are ignored."""
        root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(root):
            raise DataError(f"labelled folder not found: {root}")
        items = []
        for label in sorted(os.listdir(root)):
            folder = os.path.join(root, label)
            if label.startswith(".") or not os.path.isdir(folder):
                continue
            items += [(os.path.join(folder, *rel.split("/")), label)
                      for rel in _audio_paths(folder)]
        return cls._checked(items, root)

    @classmethod
    def from_csv(cls, csv_path: PathLike) -> "LabelledFolder":
        """Rows of a CSV with a ``path,label`` header; relative paths are relative to the CSV's
        folder, and every file named must exist."""
        csv_path = os.path.abspath(os.fspath(csv_path))
        base = os.path.dirname(csv_path)
        try:
            with open(csv_path, newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.reader(fh))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"cannot read label CSV {csv_path}: {_one_line(exc)}") from None
        header = [name.strip().lower() for name in rows[0]] if rows else []
        if "path" not in header or "label" not in header:
            raise DataError(f"{csv_path}: the first line must be the header 'path,label', "
                            f"got {','.join(rows[0]) if rows else 'an empty file'!r}")
        path_col, label_col = header.index("path"), header.index("label")
        items, missing = [], []
        for line, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(path_col, label_col):
                raise DataError(f"{csv_path}: line {line}: expected columns path,label, got {row}")
            rel, label = row[path_col].strip(), row[label_col].strip()
            if not rel or not label:
                raise DataError(f"{csv_path}: line {line}: empty path or label")
            path = os.path.normpath(os.path.join(base, rel))
            if not os.path.isfile(path):
                missing.append((line, rel))
            items.append((path, label))
        if missing:
            line, rel = missing[0]
            raise DataError(f"{csv_path}: {len(missing)} listed file(s) do not exist, "
                            f"first at line {line}: {rel}")
        return cls._checked(items, csv_path)


def labelled_examples(root: PathLike, csv: Optional[PathLike] = None) -> list[tuple[str, str]]:
    """(path, label) pairs: from ``csv`` if given, else from the sub-folders of ``root``."""
    if csv is not None:
        return list(LabelledFolder.from_csv(csv).items)
    return list(LabelledFolder.from_subfolders(root).items)


def write_synthetic_folder(root: PathLike, n_per_class: int, seconds: float,
                           label: str = "family", seed: int = 0,
                           sample_rate: int = DEFAULT_SAMPLE_RATE) -> LabelledFolder:
    """Write ``n_per_class`` synthetic clips of ``seconds`` for every value of ``label`` as
    ``<root>/<value>/<i>.wav`` (16-bit PCM); every file is a different clip."""
    if label not in CATEGORICAL_LABELS:
        raise DataError(f"synthetic label must be one of {list(CATEGORICAL_LABELS)}, got {label!r}")
    if n_per_class < 1:
        raise DataError(f"n_per_class must be >= 1, got {n_per_class}")
    n_samples = int(round(seconds * sample_rate))
    if n_samples < 1:
        raise DataError(f"seconds must be positive, got {seconds}")
    music = SyntheticMusic(sample_rate=sample_rate, seed=seed)
    items = []
    for class_id, value in enumerate(CATEGORICAL_LABELS[label]):
        folder = os.path.join(os.fspath(root), value)
        os.makedirs(folder, exist_ok=True)
        for i in range(n_per_class):
            audio, _ = music.clip(class_id * n_per_class + i, n_samples, **{label: value})
            path = os.path.abspath(os.path.join(folder, f"{i}.wav"))
            sf.write(path, audio, sample_rate, subtype="PCM_16")
            items.append((path, value))
    return LabelledFolder(tuple(sorted(items)))
