"""Every channel's optimized loop, rendered into a gallery (``immersions-osc gallery --loops``), so
that the gallery needs no live optimizer.

Channels go in fixed batches of ``batch`` (in layer order); one batch is one
``LoopAscent(per_candidate=True)`` run, each loop optimizing its own channel from the same seeded
noise start, ``steps`` steps.  Each loop is written atomically as ``OUT/loops/<layer>/<channel>.wav``
(16-bit, the model's rate, at its playback level) when its batch ends: a killed run, run again,
renders only the batches that are not complete (a batch's run depends on its channels and the
seed only, so the result is the same).
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional, Sequence

import numpy as np

from ..atomic import atomic_write_bytes
from ..config import OptimizeConfig
from .files import loop_path, wav_bytes

def render_loops(model, folder: str, layers: Sequence[str], channels: Sequence[int], cfg: OptimizeConfig,
                 seconds: float = 4.0, steps: Optional[int] = None, batch: int = 8,
                 progress: Optional[Callable[[int, int], None]] = None,
                 stop_after_batches: Optional[int] = None) -> dict:
    """Render the loops of every channel of ``layers`` (with ``channels[i]`` channels each) that
    has none yet; returns {"rendered", "present", "seconds"}."""
    import torch

    from ..optimize.ascent import LoopAscent
    from ..optimize.start import for_start, start_clip
    from ..optimize.targets import Target

    cfg = for_start(cfg, "noise")
    sr = model.sample_rate
    n = int(round(seconds * sr))
    steps = cfg.steps if steps is None else steps
    rows = [(layer, c) for layer, count in zip(layers, channels) for c in range(count)]
    batches = [rows[i:i + batch] for i in range(0, len(rows), batch)]
    todo = [b for b in batches if not all(os.path.isfile(loop_path(folder, layer, c)) for layer, c in b)]
    present = len(rows) - sum(len(b) for b in todo)
    start = start_clip("noise", n, sr, cfg.seed)
    rendered, t0 = 0, time.perf_counter()
    for k, group in enumerate(todo):
        targets = [Target(layer, channels=[c]) for layer, c in group]
        run = LoopAscent(model, start, targets, cfg, per_candidate=True, total_steps=steps)
        for _ in range(steps):
            run.step()
        with torch.no_grad():
            loops = run.loops().numpy()
        for (layer, c), loop in zip(group, loops):
            path = loop_path(folder, layer, c)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            atomic_write_bytes(path, wav_bytes(np.asarray(loop, np.float32), sr))
        rendered += len(group)
        if progress is not None:
            progress(present + rendered, len(rows))
        if stop_after_batches is not None and k + 1 >= stop_after_batches:
            break
    return {"rendered": rendered, "present": present, "total": len(rows), "seconds": time.perf_counter() - t0}
