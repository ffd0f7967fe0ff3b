"""The gallery's pure core: arrays in, arrays out, no files, no model.

* :class:`ExcerptScorer`: fed each layer's new activation columns of one track in time order
  (each column already reduced to one value per channel: the mean over the channel's frequency
  rows), it yields every excerpt whose columns have all arrived: excerpts of ``excerpt`` samples
  starting every ``hop`` samples, each scored per channel with the mean of its columns (the
  optimizer's channel measure, ``targets.target_activation`` of a one-channel target, heard in the
  music's own context).  Memory: one excerpt of columns per layer, whatever the track's length.
* :class:`TopK`: per channel the ``k`` best excerpts with diversity: no two from the same track
  closer than ``separation`` samples.  Fixed arrays [channels, k].
* :class:`Sketch`: per channel a fixed-size histogram of its per-column activation (one bin per
  5 % of value, signed log scale) that answers percentiles of a live activation.

All three are deterministic and their state is a few arrays (``state()`` / ``from_state``), so a
pass resumed from a saved state ends exactly where an uninterrupted one does.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

# --- the activation distribution -------------------------------------------------------------------

DECADES = (-4, 4)     # |values| from 1e-4 to 1e4 get bins of their own (finer than this: the zero bin)
BINS_PER_DECADE = 48  # a bin spans 4.9 % of value


def sketch_edges() -> np.ndarray:
    """Bin edges, ascending: -inf, the negative log bins, the zero bin (|v| < 1e-4), the positive
    log bins, +inf."""
    lo, hi = DECADES
    pos = np.logspace(lo, hi, (hi - lo) * BINS_PER_DECADE + 1)
    return np.concatenate([[-np.inf], -pos[::-1], pos, [np.inf]])


class Sketch:
    """Per channel the histogram of its activation over every column of the music."""

    def __init__(self, channels: int, counts: Optional[np.ndarray] = None):
        self.edges = sketch_edges()
        self.bins = len(self.edges) - 1
        self.counts = np.zeros((channels, self.bins), np.int64) if counts is None else counts.astype(np.int64)
        if self.counts.shape != (channels, self.bins):
            raise ValueError(f"sketch counts have shape {self.counts.shape}, expected {(channels, self.bins)}")

    def bin_of(self, values: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.edges, values, side="right") - 1, 0, self.bins - 1)

    def add(self, first: int, values: np.ndarray) -> None:
        """Add columns ``values`` [C, T] of channels ``first .. first + C``."""
        c, t = values.shape
        if not t:
            return
        flat = (np.arange(c)[:, None] * self.bins + self.bin_of(np.nan_to_num(values))).ravel()
        self.counts[first:first + c] += np.bincount(flat, minlength=c * self.bins).reshape(c, self.bins)

    def percentile(self, channels: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Percent (0..100) of the music's columns with activation below ``values`` (one per entry
        of ``channels``), interpolated within a bin; NaN for a channel that saw no column."""
        channels = np.asarray(channels, np.int64)
        values = np.asarray(values, np.float64)
        counts = self.counts[channels]
        total = counts.sum(axis=1)
        b = self.bin_of(values)
        below = np.take_along_axis(np.cumsum(counts, axis=1), b[:, None], 1)[:, 0] - counts[np.arange(len(b)), b]
        lo, hi = self.edges[b], self.edges[b + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(np.isfinite(lo) & np.isfinite(hi) & (hi > lo), (values - lo) / (hi - lo), 0.5)
        frac = np.clip(frac, 0.0, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = 100.0 * (below + frac * counts[np.arange(len(b)), b]) / total
        return np.where(total > 0, p, np.nan)

    def quantile(self, channel: int, q: float) -> float:
        """The value below which a fraction ``q`` of the channel's columns lie (a bin's upper edge,
        clipped to the finite edges)."""
        counts = self.counts[channel]
        total = counts.sum()
        if not total:
            return float("nan")
        b = int(np.searchsorted(np.cumsum(counts), q * total, side="left"))
        edge = self.edges[min(b + 1, self.bins - 1)]
        return float(edge if np.isfinite(edge) else self.edges[-2])


# --- the best excerpts per channel -------------------------------------------------------------------

class TopK:
    """Per channel the ``k`` best-scoring excerpts, no two of one track within ``separation``
    samples.  An excerpt that comes too close to kept ones replaces them when it beats them all,
    else it is dropped; otherwise it replaces the channel's worst when it beats it."""

    def __init__(self, channels: int, k: int, separation: int):
        if k < 1 or separation < 0:
            raise ValueError("k must be >= 1 and separation >= 0")
        self.k, self.separation = k, int(separation)
        self.score = np.full((channels, k), -np.inf, np.float64)
        self.track = np.full((channels, k), -1, np.int64)
        self.start = np.zeros((channels, k), np.int64)

    def offer(self, scores: np.ndarray, track: int, starts: np.ndarray, hop: int) -> None:
        """Excerpts of one track starting at ``starts`` (ascending, ``hop`` apart), scored
        ``scores`` [channels, M]."""
        if scores.shape[1] == 0:
            return
        # only local maxima can be kept (a higher neighbour within the separation wins over them),
        # and only those above a channel's current worst
        radius = max(0, math.ceil(self.separation / hop) - 1)
        keep = scores > self.score.min(axis=1, keepdims=True)
        if radius:
            keep &= scores >= _running_max(scores, radius)
        for c, j in zip(*np.nonzero(keep)):  # row-major: each channel's excerpts in time order
            self._offer_one(c, float(scores[c, j]), track, int(starts[j]))

    def _offer_one(self, c: int, score: float, track: int, start: int) -> None:
        row_score = self.score[c]
        near = (self.track[c] == track) & (np.abs(self.start[c] - start) < self.separation)
        if near.any():
            if score <= row_score[near].max():
                return
            row_score[near] = -np.inf  # the new one wins over every kept excerpt it overlaps
            self.track[c][near] = -1
        slot = int(np.argmin(row_score))
        if score > row_score[slot]:
            row_score[slot], self.track[c, slot], self.start[c, slot] = score, track, start

    def ranked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score, track, start) [channels, k], each row best first; empty slots: track -1."""
        order = np.argsort(-self.score, axis=1, kind="stable")
        return (np.take_along_axis(self.score, order, 1), np.take_along_axis(self.track, order, 1),
                np.take_along_axis(self.start, order, 1))

    def state(self) -> dict:
        return {"top_score": self.score, "top_track": self.track, "top_start": self.start}

    def load(self, state: dict) -> None:
        self.score, self.track, self.start = (np.array(state[k]) for k in ("top_score", "top_track", "top_start"))


def _running_max(x: np.ndarray, radius: int) -> np.ndarray:
    """Max over x[:, j - radius .. j + radius] (clipped at the edges)."""
    padded = np.pad(x, ((0, 0), (radius, radius)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1, axis=1)
    return windows.max(axis=2)


# --- excerpt scores from a stream of columns -----------------------------------------------------------

class ExcerptScorer:
    """Excerpt scores of one track from its layers' columns, fed in time order.

    ``strides``: samples per column of each layer; ``excerpt`` and ``hop`` must be multiples of
    every stride.  Column j of a layer covers samples [j * stride, (j + 1) * stride) (the model is
    causal: its output at j has heard audio up to the column's end).
    """

    def __init__(self, channels: Sequence[int], strides: Sequence[int], excerpt: int, hop: int):
        for s in strides:
            if excerpt % s or hop % s:
                raise ValueError(f"excerpt {excerpt} and hop {hop} must be multiples of every layer's stride ({s})")
        self.channels, self.strides = list(channels), list(strides)
        self.excerpt, self.hop = excerpt, hop
        self.buffers = [np.zeros((c, 0), np.float64) for c in self.channels]
        self.base = [0] * len(self.channels)  # absolute index of each buffer's first column
        self.next = 0  # index of the next excerpt (it starts at next * hop)

    def feed(self, columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Append each layer's new columns [C_l, T_l]; returns (scores [sum C_l, M], starts [M]) of
        the excerpts completed by them."""
        for i, cols in enumerate(columns):
            self.buffers[i] = np.concatenate([self.buffers[i], np.asarray(cols, np.float64)], axis=1)
        heard = min((b + buf.shape[1]) * s for b, buf, s in zip(self.base, self.buffers, self.strides))
        count = max(0, (heard - self.excerpt) // self.hop + 1 - self.next)
        starts = (self.next + np.arange(count)) * self.hop
        rows = []
        for buf, base, s in zip(self.buffers, self.base, self.strides):
            cs = np.concatenate([np.zeros((buf.shape[0], 1)), np.cumsum(buf, axis=1)], axis=1)
            lo = starts // s - base
            width = self.excerpt // s
            rows.append((cs[:, lo + width] - cs[:, lo]) / width)
        self.next += count
        for i, s in enumerate(self.strides):  # keep what later excerpts need
            drop = self.next * self.hop // s - self.base[i]
            if drop > 0:
                self.buffers[i] = self.buffers[i][:, drop:]
                self.base[i] += drop
        scores = np.concatenate(rows, axis=0) if rows else np.zeros((0, count))
        return scores, starts

    def state(self) -> dict:
        out = {"scorer_next": np.int64(self.next), "scorer_base": np.array(self.base, np.int64)}
        for i, buf in enumerate(self.buffers):
            out[f"scorer_buffer_{i}"] = buf
        return out

    def load(self, state: dict) -> None:
        self.next = int(state["scorer_next"])
        self.base = [int(b) for b in state["scorer_base"]]
        self.buffers = [np.array(state[f"scorer_buffer_{i}"], np.float64) for i in range(len(self.channels))]
