"""The continuous loop generator of the live service.

A background thread steps the optimization forever.  Parameter changes (targets, any
``OptimizeConfig`` field, a new start clip) are queued by any thread and applied between steps; a
new target set continues from the current loop with the optimizer's state (Adam's moments) kept,
so the morph starts with a small step, not a fresh optimizer's full-size sign step
(``restart`` instead starts a new optimizer from a given start: a loop for those targets alone).
Published loops are at their playback level (the model heard them at that level).  Every
``publish_every`` steps *toward the current targets* the current loop is published (the count
starts again at a target change or a restart, so a loop labelled with its targets carries at
least ``publish_every`` steps toward them): ``latest()`` returns the newest published loop and its
version at once (a reference read, never waiting for a step).  A step that yields a non-finite
loop or gradient restores the last good loop, counts a reset and carries on.  A step never makes
the thread wait for the device (tests/test_optimize_syncs.py): the non-finite check is made when a
loop is published (the loop is read then anyway), so a run that went wrong is caught within
``publish_every`` steps and its loop is never published.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch

from ..config import OptimizeConfig
from ..model import CPCModel
from .ascent import LoopAscent
from .targets import Target


@dataclass(frozen=True)
class PublishedLoop:
    audio: torch.Tensor  # [N] float32, CPU
    version: int  # 1, 2, ... (0: the start clip)
    step: int  # optimizer steps since the generator started
    steps_on_target: int = 0  # of which toward the targets it was optimized for
    targets: tuple = ()  # the targets it was optimized for (carried: a label looked up later may be gone)


@dataclass
class GeneratorStats:
    steps: int = 0
    published: int = 0
    resets: int = 0
    steps_per_second: float = 0.0
    last_error: str = ""


# changing these starts a new optimizer from the current loop (they shape its parameters)
REBUILD_FIELDS = ("parameterization", "candidates", "seed", "optimizer")


class LoopGenerator:
    def __init__(self, model: CPCModel, start: torch.Tensor, targets: Sequence[Target], cfg: OptimizeConfig,
                 publish_every: int = 50, on_publish: Optional[Callable[[PublishedLoop], None]] = None):
        self.model, self.cfg, self.publish_every, self.on_publish = model, cfg, publish_every, on_publish
        self._run = LoopAscent(model, start, list(targets), cfg)  # validates the targets now
        self._latest = PublishedLoop(self._run.loop().clone(), 0, 0)
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._on_target = 0  # steps toward the current targets (since the last change or restart)
        self.stats = GeneratorStats()

    # --- any thread --------------------------------------------------------------------------------
    def latest(self) -> PublishedLoop:
        return self._latest

    def set_targets(self, targets: Sequence[Target]) -> None:
        with self._lock:
            self._pending["targets"] = list(targets)

    def restart(self, targets: Sequence[Target], start: torch.Tensor) -> None:
        """A new optimizer for ``targets`` from ``start`` (not from the current loop): the next
        published loop is optimized for them alone."""
        with self._lock:
            self._pending["targets"] = list(targets)
            self._pending["start"] = start.detach().float().cpu().clone()

    @property
    def steps_on_target(self) -> int:
        return self._on_target

    def set_params(self, **changes) -> None:
        """Change OptimizeConfig fields (validated here, applied between steps)."""
        candidate = dataclasses.replace(self.cfg, **changes)
        candidate.validate("optimize.")
        with self._lock:
            self._pending.setdefault("params", {}).update(changes)

    def set_start(self, audio: torch.Tensor) -> None:
        with self._lock:
            self._pending["start"] = audio.detach().float().cpu().clone()

    def set_running(self, running: bool) -> None:
        """Pause (False) or resume (True) the optimization; the published loop stays."""
        (self._paused.clear if running else self._paused.set)()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    @property
    def targets(self) -> list[Target]:
        return list(self._run.targets)

    def current_loop(self) -> torch.Tensor:
        """The loop as it is now (between publications), a CPU copy."""
        return self._good_loop().detach().cpu().clone()

    def start(self) -> "LoopGenerator":
        self._thread = threading.Thread(target=self._loop, name="immersions-optimizer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the optimizer thread ----------------------------------------------------------------------
    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        rebuild = "start" in pending
        if "params" in pending:
            old, self.cfg = self.cfg, dataclasses.replace(self.cfg, **pending["params"])
            rebuild = rebuild or any(getattr(old, f) != getattr(self.cfg, f) for f in REBUILD_FIELDS)
        targets = pending.get("targets", self._run.targets)
        if "start" in pending or ("targets" in pending and targets != self._run.targets):
            self._on_target = 0
        if rebuild:  # a new start, or a new kind or number of loops: a new optimizer
            current = pending["start"] if "start" in pending else self._good_loop()
            self._run = LoopAscent(self.model, current, targets, self.cfg)
            return
        if "params" in pending:
            self._run.cfg = self.cfg  # the next step uses the new learning rate and weights
        if "targets" in pending:
            self._run.set_targets(targets)

    def _good_loop(self) -> torch.Tensor:
        """The current loop, or the last published one if the run went non-finite."""
        try:
            return self._run.loop()
        except FloatingPointError:
            return self._latest.audio

    def _publish(self) -> None:
        loop = self._run.loop().clone()  # raises FloatingPointError after a non-finite gradient
        if not bool(torch.isfinite(loop).all()):
            raise FloatingPointError("non-finite loop")
        self._latest = PublishedLoop(loop, self._latest.version + 1, self.stats.steps, self._on_target,
                                     tuple(self._run.targets))
        self.stats.published += 1
        if self.on_publish is not None:
            self.on_publish(self._latest)

    def _loop(self) -> None:
        window_start, window_steps = time.perf_counter(), 0
        while not self._stop.is_set():
            if self._paused.is_set():
                self._stop.wait(0.05)
                window_start, window_steps = time.perf_counter(), 0
                self.stats.steps_per_second = 0.0
                continue
            if self._loop_once():
                window_steps += 1
            elapsed = time.perf_counter() - window_start
            if elapsed >= 1.0:
                self.stats.steps_per_second = window_steps / elapsed
                window_start, window_steps = time.perf_counter(), 0

    def _loop_once(self) -> bool:
        """Pending changes, one step and, every ``publish_every`` steps, a publication; False when
        a change was refused or the step failed (the last good loop is restored)."""
        try:
            self._apply_pending()
        except Exception as exc:  # e.g. a target that does not exist: keep the old ones
            self.stats.last_error = str(exc)
            return False
        try:
            self._run.step()
            self.stats.steps += 1
            self._on_target += 1
            if self._on_target % self.publish_every == 0:
                self._publish()
        except Exception as exc:  # non-finite values, or anything else: restore and go on
            self.stats.resets += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._run = LoopAscent(self.model, self._latest.audio, self._run.targets, self.cfg)
            return False
        return True
