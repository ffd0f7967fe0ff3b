"""Layout files: ``.npz`` (arrays) + a JSON sidecar (metadata), both written atomically.

npz arrays: ``positions`` [N, 2] float32; ``animation`` [T, N, 2] float32 (T may be 0);
``neurons`` [N, 3] int32 (layer, channel, frequency); ``layer_names`` [L] str;
``layer_shapes`` [L, 2] int32 (channels, frequencies); ``charges`` [N] float32;
``blocks`` [B, 3] int64 (src layer, dst layer, explicit edge count) -- the edges summary.

A layout file is input like any other: ``load_layout`` checks it whole before anything indexes
with it (``check_layout``): sizes from the zip directory before decompressing, shapes, integer
and finite values, every neuron inside its layer's shape and listed once (a duplicate would
leave holes in the stream's index table).
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Optional
from dataclasses import dataclass, field

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import UserError

FORMAT = "immersions-layout"
VERSION = 1
MAX_UNPACKED = 2 << 30  # bytes of arrays a layout file may unpack to (the seed's, with snapshots: ~0.2 GB)


@dataclass
class Layout:
    positions: np.ndarray
    neurons: np.ndarray
    layer_names: list[str]
    layer_shapes: np.ndarray
    charges: np.ndarray
    blocks: np.ndarray
    animation: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 2), np.float32))
    metadata: dict = field(default_factory=dict)


def metadata_path(path: str | os.PathLike) -> str:
    return os.path.splitext(os.fspath(path))[0] + ".json"


def layout_npz_bytes(layout: Layout) -> bytes:
    """The layout as the bytes of its ``.npz`` file (what ``save_layout`` writes, and the browser
    viewer serves at ``/layout.npz``)."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf, format=np.array(FORMAT), version=np.array(VERSION),
        positions=np.asarray(layout.positions, np.float32),
        animation=np.asarray(layout.animation, np.float32),
        neurons=np.asarray(layout.neurons, np.int32),
        layer_names=np.array(layout.layer_names, dtype=str),
        layer_shapes=np.asarray(layout.layer_shapes, np.int32),
        charges=np.asarray(layout.charges, np.float32),
        blocks=np.asarray(layout.blocks, np.int64).reshape(-1, 3))
    return buf.getvalue()


def save_layout(path: str | os.PathLike, layout: Layout) -> None:
    atomic_write_bytes(path, layout_npz_bytes(layout))
    meta = {"format": FORMAT, "version": VERSION, "vertices": int(len(layout.positions)),
            "edges": int(np.asarray(layout.blocks).reshape(-1, 3)[:, 2].sum()),
            "layers": list(layout.layer_names), **layout.metadata}
    atomic_write_bytes(metadata_path(path), (json.dumps(meta, indent=2) + "\n").encode())


def _npy_headers_problem(zf: zipfile.ZipFile) -> Optional[str]:
    """Every ``.npy`` member's header (shape, dtype) against the bytes the member holds, read before
    any array is allocated: a header that claims a 2^40 x 2 array in a small member is refused."""
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with zf.open(info) as fh:
            try:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            except (ValueError, OSError, EOFError) as exc:
                return f"{info.filename}: unreadable array header ({type(exc).__name__})"
        count = 1
        for n in shape:
            count *= int(n)
        if dtype.hasobject or count * dtype.itemsize > info.file_size:
            return (f"{info.filename}: its header claims a {'x'.join(map(str, shape)) or 'scalar'} array "
                    f"of {dtype}, more than the {info.file_size} bytes it holds")
    return None


def load_layout(path: str | os.PathLike) -> Layout:
    """Read a layout; a missing, truncated or foreign file raises :class:`UserError`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"layout file not found: {path}")
    try:
        with zipfile.ZipFile(path) as zf:  # the sizes the arrays unpack to, before unpacking any
            unpacked = sum(info.file_size for info in zf.infolist())
            problem = _npy_headers_problem(zf) if unpacked <= MAX_UNPACKED else None
        if problem:
            raise UserError(f"{path} is a corrupt layout file: {problem}")
        if unpacked > MAX_UNPACKED:
            raise UserError(f"{path}: its arrays unpack to {unpacked / 2 ** 30:.1f} GiB "
                            f"(at most {MAX_UNPACKED / 2 ** 30:.0f} GiB)")
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != FORMAT:
                raise UserError(f"{path} is not an Immersions layout file")
            if int(z["version"]) > VERSION:
                raise UserError(f"{path} was written by a newer Immersions (layout version {int(z['version'])})")
            arrays = {k: z[k] for k in ("positions", "animation", "neurons", "layer_names",
                                        "layer_shapes", "charges", "blocks")}
    except UserError:
        raise
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile, NotImplementedError,
            MemoryError) as exc:
        raise UserError(f"{path} is not a readable Immersions layout file ({type(exc).__name__})") from None
    problem = check_layout(arrays)
    if problem:
        raise UserError(f"{path} is a corrupt layout file: {problem}")
    meta = {}
    if os.path.isfile(metadata_path(path)):
        try:
            with open(metadata_path(path), encoding="utf-8") as fh:
                meta = json.load(fh)
        except (OSError, ValueError, RecursionError):
            raise UserError(f"{metadata_path(path)} is not valid JSON") from None
        if not isinstance(meta, dict):
            raise UserError(f"{metadata_path(path)} must hold a JSON object")
    return Layout(arrays["positions"].astype(np.float32), arrays["neurons"].astype(np.int64),
                  [str(s) for s in arrays["layer_names"]], arrays["layer_shapes"].astype(np.int64),
                  arrays["charges"].astype(np.float32), arrays["blocks"].astype(np.int64).reshape(-1, 3),
                  arrays["animation"].astype(np.float32), meta)


def check_layout(a: dict) -> str:
    """What is wrong with a layout's arrays ("" when nothing): one line naming the first problem."""
    def kind(name, kinds):
        return np.asarray(a[name]).dtype.kind in kinds

    for name, kinds in (("positions", "fiu"), ("animation", "fiu"), ("charges", "fiu"), ("neurons", "iu"),
                        ("layer_shapes", "iu"), ("blocks", "iu")):
        if not kind(name, kinds):
            return f"{name} must be {'integers' if kinds == 'iu' else 'numbers'}, got {a[name].dtype}"
    if a["layer_names"].dtype.kind not in "U" or a["layer_names"].ndim != 1:
        return "layer_names must be a list of strings"
    shapes, names = a["layer_shapes"], a["layer_names"]
    n_layers = len(names)
    if n_layers == 0 or shapes.shape != (n_layers, 2):
        return f"layer_shapes must be [{n_layers}, 2] (one row per layer name), got {list(shapes.shape)}"
    if len(set(names.tolist())) != n_layers:
        return "layer names repeat"
    if (shapes < 1).any() or (shapes > 1 << 24).any():
        return "layer_shapes must be positive channel and frequency counts"
    positions, neurons = a["positions"], a["neurons"]
    n = len(positions)
    if positions.shape != (n, 2) or neurons.shape != (n, 3):
        return f"array shapes do not match (positions {list(positions.shape)}, neurons {list(neurons.shape)})"
    if not np.isfinite(positions).all():
        return "positions must be finite"
    if a["charges"].shape != (n,) or not np.isfinite(a["charges"]).all():
        return f"charges must be {n} finite numbers"
    animation = a["animation"]
    if animation.ndim != 3 or animation.shape[2] != 2 or (animation.shape[0] and animation.shape[1] != n):
        return f"animation must be [T, {n}, 2], got {list(animation.shape)}"
    if not np.isfinite(animation).all():
        return "animation must be finite"
    layer, channel, freq = (neurons[:, i].astype(np.int64) for i in range(3))
    if n and (layer.min() < 0 or layer.max() >= n_layers):
        return f"a neuron's layer index is outside 0..{n_layers - 1}"
    c_of, f_of = shapes[:, 0].astype(np.int64), shapes[:, 1].astype(np.int64)
    if n:
        bad = np.flatnonzero((channel < 0) | (channel >= c_of[layer]) | (freq < 0) | (freq >= f_of[layer]))
        if len(bad):
            i = int(bad[0])
            return (f"neuron {i} ({names[layer[i]]} channel {channel[i]} frequency {freq[i]}) lies outside its "
                    f"layer's shape {c_of[layer[i]]} x {f_of[layer[i]]}")
        offsets = np.concatenate([[0], np.cumsum(c_of * f_of)])
        flat = offsets[layer] + channel * f_of[layer] + freq
        unique, counts = np.unique(flat, return_counts=True)
        if (counts > 1).any():
            j = int(np.flatnonzero(flat == unique[counts > 1][0])[1])
            return f"neuron {j} ({names[layer[j]]} channel {channel[j]} frequency {freq[j]}) is listed twice"
    blocks = np.asarray(a["blocks"])
    if blocks.size % 3 or (blocks.size and (blocks.reshape(-1, 3)[:, :2].min() < 0
                                            or blocks.reshape(-1, 3)[:, :2].max() >= n_layers
                                            or blocks.reshape(-1, 3)[:, 2].min() < 0)):
        return "blocks must be rows of (source layer, target layer, edge count) within the layers"
    return ""
