"""Layout files: ``.npz`` (arrays) + a JSON sidecar (metadata), both written atomically.

npz arrays: ``positions`` [N, 2] float32; ``animation`` [T, N, 2] float32 (T may be 0);
``neurons`` [N, 3] int32 (layer, channel, frequency); ``layer_names`` [L] str;
``layer_shapes`` [L, 2] int32 (channels, frequencies); ``charges`` [N] float32;
``blocks`` [B, 3] int64 (src layer, dst layer, explicit edge count) -- the edges summary.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import UserError

FORMAT = "immersions-layout"
VERSION = 1


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


def save_layout(path: str | os.PathLike, layout: Layout) -> None:
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
    atomic_write_bytes(path, buf.getvalue())
    meta = {"format": FORMAT, "version": VERSION, "vertices": int(len(layout.positions)),
            "edges": int(np.asarray(layout.blocks).reshape(-1, 3)[:, 2].sum()),
            "layers": list(layout.layer_names), **layout.metadata}
    atomic_write_bytes(metadata_path(path), (json.dumps(meta, indent=2) + "\n").encode())


def load_layout(path: str | os.PathLike) -> Layout:
    """Read a layout; a missing, truncated or foreign file raises :class:`UserError`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"layout file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != FORMAT:
                raise UserError(f"{path} is not an Immersions layout file")
            arrays = {k: z[k] for k in ("positions", "animation", "neurons", "layer_names",
                                        "layer_shapes", "charges", "blocks")}
    except UserError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path} is not a readable Immersions layout file ({type(exc).__name__})") from None
    n = len(arrays["positions"])
    if arrays["positions"].shape != (n, 2) or arrays["neurons"].shape != (n, 3):
        raise UserError(f"{path} is a corrupt layout file (array shapes do not match)")
    meta = {}
    if os.path.isfile(metadata_path(path)):
        try:
            with open(metadata_path(path), encoding="utf-8") as fh:
                meta = json.load(fh)
        except (OSError, ValueError):
            raise UserError(f"{metadata_path(path)} is not valid JSON") from None
    return Layout(arrays["positions"], arrays["neurons"], [str(s) for s in arrays["layer_names"]],
                  arrays["layer_shapes"], arrays["charges"], arrays["blocks"], arrays["animation"], meta)
