"""PNG pictures without an imaging dependency: a colormap and a minimal PNG encoder."""
from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from .atomic import atomic_write_bytes

# Anchor colours of a perceptually ordered dark-to-bright map (black, purple, red, orange, cream).
_ANCHORS = np.array([
    [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99],
    [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164],
], dtype=np.float64)


def colormap(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Map ``values`` to uint8 RGB (shape + (3,)), ``lo``..``hi`` (default: min..max) to dark..bright."""
    v = np.asarray(values, dtype=np.float64)
    lo = float(np.nanmin(v)) if lo is None else lo
    hi = float(np.nanmax(v)) if hi is None else hi
    t = np.clip((v - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    t = np.nan_to_num(t) * (len(_ANCHORS) - 1)
    i = np.minimum(t.astype(int), len(_ANCHORS) - 2)
    frac = (t - i)[..., None]
    return np.round(_ANCHORS[i] * (1 - frac) + _ANCHORS[i + 1] * frac).astype(np.uint8)


def encode_png(rgb: np.ndarray) -> bytes:
    """uint8 [H, W, 3] (or [H, W] grey) -> PNG bytes."""
    img = np.ascontiguousarray(rgb, dtype=np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an [H, W, 3] image, got shape {img.shape}")
    height, width, _ = img.shape
    raw = np.concatenate([np.zeros((height, 1), np.uint8), img.reshape(height, -1)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def stack(images: list[np.ndarray], axis: int = 0, gap: int = 4) -> np.ndarray:
    """RGB images of equal width (``axis`` 0: one under the other) or equal height (1: side by
    side) joined with ``gap`` white pixels between them."""
    shape = list(images[0].shape)
    shape[axis] = gap
    white = np.full(shape, 255, np.uint8)
    return np.concatenate([x for image in images for x in (image, white)][:-1], axis=axis)


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    atomic_write_bytes(path, encode_png(rgb))


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Decode a PNG written by :func:`encode_png` (8-bit RGB, filter 0) — for tests and checks."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if tag == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + 3 * width)
    if rows[:, 0].any():
        raise ValueError("only unfiltered PNG rows are supported")
    return rows[:, 1:].reshape(height, width, 3)


def scaleogram_image(log_power: np.ndarray, scale: int = 3, floor_db: float = 80.0) -> np.ndarray:
    """[F, T] log power -> RGB with low frequencies at the bottom, each cell ``scale`` px.

    The colour range spans ``floor_db`` dB below the loudest cell.
    """
    lp = np.asarray(log_power, dtype=np.float64)
    hi = float(lp.max())
    lo = hi - floor_db / 10.0 * np.log(10.0)
    img = colormap(lp[::-1], lo, hi)
    return np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
