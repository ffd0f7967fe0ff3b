"""What a visual client (TouchDesigner, a browser bridge, a test) does with the service's datagrams.

Plain Python + numpy, no other dependency, so TouchDesigner's own Python can import it
(the TouchDesigner DATs import it from the installed package: ``immersions_osc/clients/touchdesigner/``).  The wire format itself --
the OSC codec and the chunked vectors -- lives in :mod:`immersions_osc.osc.protocol`; this
module only keeps the *state* a client needs:

* the newest complete activation frame (one value per neuron, layout order),
* the layout (one x, y per neuron) and the layer table, from ``/immersions/layout/*``,
* the newest per-layer energy, status and loop messages.

Feed it raw datagrams (``feed_datagram``: from a UDP socket, or TouchDesigner's OSC In DAT
callback, whose ``byteData`` argument is the raw message) or already-parsed messages
(``feed_message(address, args)``: TouchDesigner's ``address``/``args`` when the raw bytes are
not at hand; the type tags are inferred from the Python types).  Broken or foreign datagrams are
counted, never raised: a visual must keep running whatever arrives.

A frame with a lost chunk is dropped (never mixed into the next one): that is
:class:`~immersions_osc.osc.protocol.FrameAssembler`'s rule, used here unchanged.
"""
from __future__ import annotations

import colorsys
import os
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .protocol import FrameAssembler, OSCDecodeError, decode_packet, parse_chunk

PREFIX = "/immersions"
ACTIVATIONS = f"{PREFIX}/activations"
POSITIONS = f"{PREFIX}/layout/positions"
LAYER = f"{PREFIX}/layout/layer"
ENERGY = f"{PREFIX}/summary/energy"
STATUS = f"{PREFIX}/status"
LOOP_NEW = f"{PREFIX}/loop/new"

STATUS_FIELDS = ("frames_per_second", "steps_per_second", "xruns", "target", "loops", "playing", "volume",
                 "subscribers", "seconds_up")


@dataclass(frozen=True)
class LayerInfo:
    """One row of ``/immersions/layout/layer``: index, name, offset in the vector, channels, frequencies."""
    index: int
    name: str
    offset: int
    channels: int
    frequencies: int

    @property
    def size(self) -> int:
        return self.channels * self.frequencies


def _tags_of(args: Sequence) -> str:
    """OSC type tags of already-decoded arguments (TouchDesigner hands us Python values)."""
    tags = []
    for a in args:
        if isinstance(a, bool) or a is None:
            raise OSCDecodeError(f"unexpected argument {a!r}")
        if isinstance(a, int):
            tags.append("i")
        elif isinstance(a, float):
            tags.append("f")
        elif isinstance(a, str):
            tags.append("s")
        elif isinstance(a, (bytes, bytearray, memoryview)):
            tags.append("b")
        else:
            raise OSCDecodeError(f"unexpected argument type {type(a).__name__}")
    return "".join(tags)


class ActivationReceiver:
    """Client-side state of the stream.  ``feed_datagram`` returns True when it completed a new
    activation frame (then ``values`` holds it, ``frame`` is its number)."""

    def __init__(self, keep: int = 4):
        self._activations = FrameAssembler(keep)
        self._positions = FrameAssembler(keep)
        self.values: Optional[np.ndarray] = None  # newest complete activation frame
        self.frame = -1
        self.positions: Optional[np.ndarray] = None  # [N, 2] layout x, y
        self.layers: dict[int, LayerInfo] = {}
        self.energy: Optional[np.ndarray] = None  # per-layer mean activation
        self.status: dict = {}
        self.last_loop: Optional[tuple] = None  # (version, step, seconds, target)
        self.malformed = 0  # datagrams or messages that could not be decoded
        self.new_frames = 0  # activation frames completed since the last take_new_frames()
        self._position_chunks: Optional[tuple[int, int, set]] = None  # (frame, count, chunks seen) of the positions
        self._layer_index: Optional[np.ndarray] = None  # layer per neuron, from set_layout

    # --- input ---------------------------------------------------------------------------------------
    def feed_datagram(self, data: bytes) -> bool:
        """One UDP datagram (a message or a bundle)."""
        try:
            messages = decode_packet(bytes(data))
        except OSCDecodeError:
            self.malformed += 1
            return False
        new = False
        for address, tags, args in messages:
            new = self._handle(address, tags, args) or new
        return new

    def feed_message(self, address: str, args: Sequence) -> bool:
        """One already-parsed message (type tags inferred from the Python types)."""
        try:
            tags = _tags_of(args)
        except OSCDecodeError:
            self.malformed += 1
            return False
        return self._handle(address, tags, [bytes(a) if isinstance(a, (bytearray, memoryview)) else a
                                            for a in args])

    def _handle(self, address: str, tags: str, args: list) -> bool:
        try:
            if address == ACTIVATIONS:
                done = self._activations.add(parse_chunk(tags, args))
                if done is not None:
                    self.frame, self.values = done
                    self.new_frames += 1
                    return True
            elif address == POSITIONS:
                chunk = parse_chunk(tags, args)
                done = self._positions.add(chunk)
                if done is not None:
                    self.positions = done[1].reshape(-1, 2)
                    self._position_chunks = self._layer_index = None
                elif self.positions is None:
                    seen = self._position_chunks
                    if seen is None or seen[0] != chunk.frame or seen[1] != chunk.count:
                        seen = self._position_chunks = (chunk.frame, chunk.count, set())
                    seen[2].add(chunk.chunk)
            elif address == LAYER and tags == "isiii":
                info = LayerInfo(*args)
                self.layers[info.index] = info
            elif address == ENERGY and tags and set(tags) <= {"f", "i"}:
                self.energy = np.asarray(args, np.float32)
            elif address == STATUS and tags == "ffisiifif":
                self.status = dict(zip(STATUS_FIELDS, args))
            elif address == LOOP_NEW and tags == "iifs":
                self.last_loop = tuple(args)
        except (OSCDecodeError, TypeError, ValueError):
            self.malformed += 1
        return False

    # --- output --------------------------------------------------------------------------------------
    @property
    def dropped_frames(self) -> int:
        """Activation frames given up because a chunk never came."""
        return self._activations.dropped

    def set_layout(self, positions: np.ndarray, layer_of_neuron: np.ndarray) -> None:
        """A layout that came another way (the service's /layout.npz over HTTP): positions [N, 2] and
        the layer index of every neuron, in stream order."""
        self.positions = np.asarray(positions, np.float32).reshape(-1, 2)
        self._layer_index = np.asarray(layer_of_neuron, np.int32)
        self._position_chunks = None

    def forget_layout(self) -> None:
        """Drop the layout (the sender restarted: its layout replaces this one when it arrives)."""
        self.positions = None
        self._position_chunks = None
        self._layer_index = None

    def missing_position_chunks(self) -> list[int]:
        """Chunk numbers of the layout positions still missing (none received yet, or the layout
        complete: []); ``/immersions/layout/request`` with them sends only those again."""
        if self.positions is not None or self._position_chunks is None:
            return []
        _, count, seen = self._position_chunks
        return [k for k in range(count) if k not in seen]

    def take_new_frames(self) -> int:
        n, self.new_frames = self.new_frames, 0
        return n

    def layer_of_neuron(self, n: Optional[int] = None) -> Optional[np.ndarray]:
        """Layer index of every neuron, from the streamed layer table (None until it is complete).

        Uses the table's offsets; this is right for layouts whose neurons are stored layer by layer
        (as ``immersions-osc layout`` writes them).  Prefer the ``.npz``'s ``neurons`` column when
        the file is at hand (:func:`load_layout_npz`)."""
        if self._layer_index is not None and (n is None or n == len(self._layer_index)):
            return self._layer_index
        if not self.layers:
            return None
        rows = [self.layers[i] for i in sorted(self.layers)]
        total = rows[-1].offset + rows[-1].size
        if [r.index for r in rows] != list(range(len(rows))) or (n is not None and n != total):
            return None
        out = np.empty(total, np.int32)
        for r in rows:
            out[r.offset:r.offset + r.size] = r.index
        return out


def load_layout_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(positions [N, 2] float32, layer index per neuron [N], layer names) of a layout file
    (``checkpoints/*_layout.npz``), with numpy only."""
    with np.load(path, allow_pickle=False) as data:
        positions = np.asarray(data["positions"], np.float32)
        layers = np.asarray(data["neurons"])[:, 0].astype(np.int32)
        names = [str(n) for n in data["layer_names"]]
    return positions, layers, names


def layer_colors(n_layers: int, saturation: float = 0.65, value: float = 1.0) -> np.ndarray:
    """[n_layers, 3] RGB in 0..1: a hue ramp from the first layer (red) to the deepest (violet)."""
    hues = np.linspace(0.0, 0.8, max(1, n_layers))
    return np.array([colorsys.hsv_to_rgb(h, saturation, value) for h in hues], np.float32)[:n_layers]


def normalized_positions(positions: np.ndarray) -> np.ndarray:
    """Positions scaled into -1..1 (keeping the aspect ratio), centred: ready to instance."""
    p = np.asarray(positions, np.float32)
    centre = (p.max(0) + p.min(0)) / 2
    half = float(np.max(p.max(0) - p.min(0))) / 2 or 1.0
    return (p - centre) / half


def brightness(values: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """Activations -> 0..1 brightness: divided by the frame's 99th percentile, so one loud
    neuron does not darken the rest."""
    v = np.maximum(np.asarray(values, np.float32), 0.0)
    top = float(np.percentile(v, 99)) if len(v) else 0.0
    return np.clip(v * (gain / top) if top > 0 else v * 0.0, 0.0, 1.0)
