"""PNG pictures of a layout, rasterized with numpy (small discs, no plotting library).

* :func:`layer_image`: every neuron a disc coloured by its layer (a hue ramp from the first layer
  to the last, so depth reads as colour), with a legend strip of the layer colours in order
  along the bottom edge.
* :func:`activation_image`: one activation frame, bright = active (the package colormap), drawn
  in order of activity so active neurons stay on top.
"""
from __future__ import annotations

import colorsys

import numpy as np

from ..images import colormap

BACKGROUND = 8  # grey level of the background
MARGIN = 0.04  # fraction of the image kept free around the layout
LEGEND_HEIGHT = 12  # pixels


def layer_colours(n_layers: int) -> np.ndarray:
    """[L, 3] uint8 distinct colours, hue ramp violet -> red."""
    hues = np.linspace(0.75, 0.0, max(n_layers, 1))
    return np.array([[round(255 * c) for c in colorsys.hsv_to_rgb(h, 0.85, 1.0)] for h in hues], np.uint8)


def _pixels(positions: np.ndarray, size: int) -> np.ndarray:
    p = np.asarray(positions, np.float64)
    lo, hi = p.min(0), p.max(0)
    span = float((hi - lo).max()) or 1.0
    usable = size * (1 - 2 * MARGIN)
    xy = (p - (lo + hi) / 2) / span * usable + size / 2
    xy[:, 1] = size - xy[:, 1]  # y up
    return np.round(xy).astype(np.int64)


def draw_discs(image: np.ndarray, xy: np.ndarray, colours: np.ndarray, radius: int) -> None:
    """Paint discs (later ones on top) in place; ``xy`` [N, 2] pixel (x, y), ``colours`` [N, 3]."""
    h, w, _ = image.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy > radius * radius + radius:
                continue
            x, y = xy[:, 0] + dx, xy[:, 1] + dy
            ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            image[y[ok], x[ok]] = colours[ok]


def _radius(n: int, size: int) -> int:
    return int(np.clip(size / np.sqrt(max(n, 1)) / 3, 1, 4))


def layer_image(positions: np.ndarray, layers: np.ndarray, n_layers: int, size: int = 1024) -> np.ndarray:
    image = np.full((size + LEGEND_HEIGHT, size, 3), BACKGROUND, np.uint8)
    colours = layer_colours(n_layers)
    draw_discs(image[:size], _pixels(positions, size), colours[np.asarray(layers)], _radius(len(positions), size))
    edges = np.linspace(0, size, n_layers + 1).astype(int)
    for i in range(n_layers):
        image[size + 2:, edges[i] + 1: max(edges[i] + 2, edges[i + 1] - 1)] = colours[i]
    return image


def activation_image(positions: np.ndarray, activation: np.ndarray, size: int = 1024) -> np.ndarray:
    a = np.asarray(activation, np.float64)
    image = np.full((size, size, 3), BACKGROUND, np.uint8)
    hi = float(np.percentile(a, 99)) if len(a) else 1.0
    order = np.argsort(a, kind="stable")
    colours = colormap(a, 0.0, hi if hi > 0 else 1.0)
    xy = _pixels(positions, size)
    draw_discs(image, xy[order], colours[order], _radius(len(a), size))
    return image
