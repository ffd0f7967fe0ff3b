"""The demo's tour: a journey through the layers, each stop playing a loop made for it alone.

A stop is one channel of one layer.  Its loop is optimized from the stop's own start (the
configured start clip, not the previous stop's loop) for at least ``steps`` steps toward that
channel alone, and only then queued on the player, so the loop that plays in a stop's window is
always that stop's own.  The work is pipelined: while a stop plays its window (a whole number of
loops), the optimizer makes the next stop's loop; the tour queues it just before the window's
last boundary.  When the machine is too slow for that (a loaded laptop, a big model), the stop
holds its loop for more loops until the next one is ready: the tour *stretches*, and says so,
instead of playing an unfinished loop or another stop's loop.

:class:`Tour` drives a running :class:`~immersions_osc.service.server.Service` (I/O and waiting
only); what a stop achieved is measured afterwards by :func:`stop_report` (pure).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch

from ..optimize.targets import Target
from .streaming import describe_targets

QUEUE_MARGIN = 1.0  # seconds before a window's last boundary at which the next stop's loop is queued
RISE = 2.0  # a stop "rose" when its target's activation at least doubled on its loop
PATIENCE = 2  # a loop whose target has not risen yet is worked on up to this many times the steps,
REDRAWS = 2  # then the stop tries another channel of its layer, up to this many times
# the step size from a noise or silence start (the config's default, 0.002, suits music starts: it
# keeps their rhythm; from noise it leaves too little of a stop's few steps to show): measured with
# benchmarks/demo_tour.py


@dataclass
class Stop:
    layer: str
    channel: int

    @property
    def targets(self) -> list[Target]:
        return [Target(self.layer, channels=[self.channel])]


@dataclass
class Played:
    """What played in one stop's window."""
    stop: Stop
    loop: Optional[np.ndarray] = None  # the loop that played (as played)
    version: int = -1
    made_for: str = ""  # the targets that loop was optimized for (from the published record)
    steps: int = 0  # optimizer steps toward them
    started: float = 0.0  # seconds into the tour when the window opened
    loops: int = 0  # loops it played (more than planned: stretched)
    others: list = field(default_factory=list)  # versions of other loops heard in the window (must stay empty)
    tried: list = field(default_factory=list)  # channels tried before the one that played


class Tour:
    def __init__(self, service, stops: list[Stop], loops_per_stop: int, steps: int, start: Callable,
                 stop_event: threading.Event, say: Callable[[str], None] = print, publish_every: int = 0,
                 rose: Optional[Callable[[Stop, np.ndarray], bool]] = None, patience: int = PATIENCE,
                 redraw: Optional[Callable[[Stop, list[int]], Optional[int]]] = None, redraws: int = REDRAWS):
        """``start()``: the audio tensor each stop's optimization starts from; ``steps``: the
        optimizer steps every stop's loop gets at least; ``publish_every``: how often a held loop
        is refreshed (default: a quarter of ``steps``).  ``rose(stop, loop)``: whether the stop's
        target rose on a loop (as played); a loop that has not is worked on longer, up to
        ``patience`` times ``steps``; then ``redraw(stop, channels tried)`` names another channel of
        the stop's layer (None: none left), up to ``redraws`` times, and the last loop plays anyway
        (its summary line says it did not rise)."""
        self.service, self.stops, self.loops_per_stop, self.steps = service, stops, max(1, loops_per_stop), steps
        self.start, self.stopped, self.say = start, stop_event, say
        self.rose, self.patience, self.redraw, self.redraws = rose, max(1, patience), redraw, redraws
        self.tried: list[list[int]] = [[s.channel] for s in stops]  # per stop, the channels tried in turn
        self._judged: dict[int, bool] = {}  # version -> whether its stop's target rose on it
        self._aimed_at = 0  # the generator's step count when the stop now optimized was aimed at
        self.publish_every = publish_every or max(1, steps // 4)
        self.played: list[Played] = []
        self.lead_in = 0.0  # seconds until the first stop's loop was ready
        self.stretched = 0  # loops played beyond the plan, over the whole tour
        self.t0 = 0.0

    @property
    def loop_seconds(self) -> float:
        return self.service.loop_samples / self.service.sample_rate

    @property
    def planned_seconds(self) -> float:
        return len(self.stops) * self.loops_per_stop * self.loop_seconds

    def now(self) -> float:
        return time.monotonic() - self.t0

    # --- the optimizer side ---------------------------------------------------------------------------
    def _aim(self, i: int) -> None:
        generator = self.service.generator
        self._aimed_at = generator.stats.steps  # loops whose run began before this are not stop i's
        generator.restart(self.stops[i].targets, self.start())

    def _ready(self, i: int):
        """The newest held loop when it was made for stop i with enough steps, else None."""
        held = self.service.stream.held
        if held is None or held.steps_on_target < self.steps or held.step - held.steps_on_target < self._aimed_at:
            return None  # too few steps, or made before stop i was aimed at (an earlier stop's, same target)
        if describe_targets(list(held.targets)) != describe_targets(self.stops[i].targets):
            return None
        if self.rose is None:
            return held
        if held.version not in self._judged:
            self._judged[held.version] = self.rose(self.stops[i], self.service.stream.playable(held.audio))
        if self._judged[held.version]:
            return held
        if held.steps_on_target < self.patience * self.steps:
            return None  # worked on longer
        channel = self.redraw(self.stops[i], self.tried[i]) if self.redraw and len(self.tried[i]) <= self.redraws else None
        if channel is None:
            return held  # plays anyway: its summary line says it did not rise
        old = self.stops[i]
        self.stops[i] = Stop(old.layer, channel)
        self.tried[i].append(channel)
        self.say(f"[{self.now():5.1f} s]   {old.layer} channel {old.channel} did not rise in {held.steps_on_target} "
                 f"steps: stop {i + 1} tries channel {channel} instead")
        self._aim(i)
        return None

    def _wait_ready(self, i: int):
        while not self.stopped.is_set():
            loop = self._ready(i)
            if loop is not None:
                return loop
            self.stopped.wait(0.02)
        return None

    # --- the player side ------------------------------------------------------------------------------
    def _seconds_to_boundary(self) -> float:
        loop, pos = self.service.player.playhead()
        if loop is None:
            return 0.0
        return (len(loop) - pos) / self.service.sample_rate

    def _next_boundary(self) -> bool:
        """Wait until the playhead wraps or a new loop starts; False when stopped."""
        player = self.service.player
        version, last = player.version, player.pos
        deadline = time.monotonic() + 2 * self.loop_seconds + 5
        while time.monotonic() < deadline:
            if self.stopped.wait(0.005):
                return False
            pos = player.pos
            if player.version != version or pos < last:
                return True
            last = pos
        return True

    def _queue(self, loop) -> None:
        s = self.service
        s.player.queue(s.stream.playable(loop.audio), loop.version)

    # --- the tour -------------------------------------------------------------------------------------
    def run(self) -> list[Played]:
        s = self.service
        stream, generator, player = s.stream, s.generator, s.player
        saved_publish = generator.publish_every
        stream.hold, generator.publish_every = True, self.publish_every
        self.t0 = time.monotonic()
        try:
            self._aim(0)
            self.say(f"[{self.now():5.1f} s] optimizing the first stop's loop ({self.steps} steps) ...")
            ready = self._wait_ready(0)
            self.lead_in = self.now()
            if ready is None:
                return self.played
            self._queue(ready)
            if player.version <= 0:  # the quiet start plays: the first stop begins at once
                player.seek(max(0, s.loop_samples - 1))
            for i, stop in enumerate(self.stops):
                record = Played(stop, version=ready.version, steps=ready.steps_on_target,
                                made_for=describe_targets(list(ready.targets)), tried=self.tried[i][:-1])
                if i + 1 < len(self.stops):
                    self._aim(i + 1)  # optimized while this stop plays
                while player.version != ready.version:  # the boundary that opens the window
                    if not self._next_boundary():
                        return self.played
                record.started = self.now()
                record.loop, _ = player.playhead()
                self.played.append(record)
                self.say(f"[{record.started:5.1f} s] stop {i + 1}/{len(self.stops)}: exciting {stop.layer} channel "
                         f"{stop.channel} (loop {ready.version}, {ready.steps_on_target} optimizer steps toward it)")
                ready = self._window(i, record)
                if ready is None:
                    return self.played
            return self.played
        finally:
            stream.hold, generator.publish_every = False, saved_publish

    def _window(self, i: int, record: Played):
        """Play stop i's window; queue the next stop's loop just before the window's last
        boundary, or, when it is not ready, hold this loop for more loops until it is.  Returns
        the next stop's loop once it plays (None after the last stop, or when stopped)."""
        player = self.service.player
        following = i + 1 if i + 1 < len(self.stops) else None
        queued = None
        while True:
            record.loops += 1
            due = record.loops >= self.loops_per_stop
            if following is not None and due:
                while self._seconds_to_boundary() > QUEUE_MARGIN and not self.stopped.is_set():
                    self.stopped.wait(0.01)
                queued = queued or self._ready(following)
                if queued is not None:
                    self._queue(queued)
                elif record.loops == self.loops_per_stop:
                    done = self.service.generator.steps_on_target
                    why = (f"{done}/{self.steps} steps" if done < self.steps else
                           f"its target has not risen yet after {done} steps")
                    self.say(f"[{self.now():5.1f} s]   the next stop's loop is not ready ({why}): this stop "
                             f"holds its loop until it is")
            if not self._next_boundary():
                return None
            if player.version != record.version:
                if queued is not None and player.version == queued.version:
                    return queued
                record.others.append(player.version)  # someone else queued a loop: reported
            if due:
                if following is None:
                    return None
                self.stretched += 1


def probe_clips(n: int, sample_rate: int, seed: int = 0) -> torch.Tensor:
    """[3, n] probe sounds: pink noise, brown noise and a beat of noise bursts (8 per loop)."""
    g = torch.Generator().manual_seed(seed)
    white = torch.randn(3, n, generator=g)
    freqs = torch.fft.rfftfreq(n, 1.0 / sample_rate).clamp_min(20.0)
    spectrum = torch.fft.rfft(white[:2], dim=-1)
    coloured = torch.fft.irfft(spectrum * torch.stack([freqs ** -0.5, freqs ** -1.0]), n, dim=-1)
    t = torch.arange(n) % max(1, n // 8)
    beat = white[2] * torch.exp(-t / (0.02 * sample_rate))
    return torch.cat([coloured, beat[None]])


def channel_activity(model, clips: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
    """{layer: [B, C]} each channel's mean activation on each clip, heard as it plays (steady state)."""
    from ..optimize.ascent import activations_of, steady_tail

    with torch.no_grad():  # in eval mode, as ``measure`` hears them
        acts, _ = activations_of(model.eval(), clips, tail=steady_tail(model, clips.shape[-1], layers))
    return {layer: acts[layer].flatten(2).mean(-1) for layer in layers}


def eligible_channels(before: torch.Tensor, probes: torch.Tensor) -> list[int]:
    """The channels a stop may show: those the start clip drives at most as much as the layer's
    median channel (``before``, [C]: a channel the start already drives hard has little room to
    rise, and its loop would sound like the start), and that respond to at least one sound of
    ``probes`` ([P, C]: the start and a few probe clips; a channel silent on all of them may be
    dead on everything).  Falls back to every channel when that leaves none."""
    alive = torch.cat([before[None], probes]).amax(0) > 0
    quiet = before <= before.median()
    chosen = torch.nonzero(alive & quiet).flatten().tolist()
    return chosen or list(range(len(before)))


def stop_report(before: float, after: float) -> tuple[bool, str]:
    """(did the target rise, its words) from the target's activation on the stop's start (as
    played) and on its loop: a rise is at least ``RISE`` times the start's, or any activation at
    all for a channel that is silent on the start (then no ratio exists: the words say so)."""
    if before > 1e-9:
        gain = after / before
        return gain >= RISE, f"gain x{gain:.2f} (activation {before:.3f} -> {after:.3f})"
    if after > 1e-9:
        return True, f"woken: silent on the start, {after:.3f} on its loop"
    return False, "silent on the start and on its loop"


def write_stop_gallery(folder: str, model, played: list[Played], lines: list[str], sample_rate: int) -> str:
    """Each stop's loop (WAV) and its scaleogram (PNG), and an ``index.html`` that shows them side by
    side with the stop's summary line: a short gallery of the channels the tour visited.  Returns
    the index's path."""
    import html
    import os

    from ..atomic import atomic_write_bytes
    from ..contract import spectrum
    from ..images import scaleogram_image, write_png
    from .streaming import write_wav

    os.makedirs(folder, exist_ok=True)
    rows = []
    for i, (p, line) in enumerate(zip(played, lines)):
        name = f"stop{i + 1}_{p.stop.layer.replace('.', '-')}_ch{p.stop.channel}"
        write_wav(os.path.join(folder, name + ".wav"), p.loop, sample_rate)
        with torch.no_grad():
            device = next(model.parameters()).device
            spec = spectrum(model, torch.from_numpy(np.ascontiguousarray(p.loop)).to(device)[None])
        write_png(os.path.join(folder, name + ".png"), scaleogram_image(spec[0, 0].cpu().numpy()))
        rows.append(f"<tr><td>{i + 1}</td><td><img src='{name}.png' alt='scaleogram of {name}'></td>"
                    f"<td><audio controls loop src='{name}.wav'></audio><br>{html.escape(line)}</td></tr>")
    page = ("<!doctype html><meta charset='utf-8'><title>Immersions demo tour</title>"
            "<style>body{font-family:sans-serif;background:#111;color:#ddd}img{image-rendering:pixelated;"
            "height:160px}td{padding:6px;vertical-align:top}</style><h1>The demo's tour</h1>"
            "<p>Each stop: the loop optimized for one channel (scaleogram: low frequencies at the bottom), "
            "and what it did to that channel.</p><table>" + "".join(rows) + "</table>")
    index = os.path.join(folder, "index.html")
    atomic_write_bytes(index, page.encode())
    return index
