"""Start clips: silence, low noise, an audio file, or the previous loop (continuous morphing)."""
from __future__ import annotations

import os
from typing import Optional

import numpy as np
import torch

from ..errors import UserError

# Exact silence is a stationary point (power is quadratic in the samples, so its gradient vanishes
# at zero): "silence" carries an inaudible dither (-100 dBFS RMS) so the optimization can move.
SILENCE_DITHER = 1e-5
LOW_NOISE = 0.01  # RMS of the "noise" start (-40 dBFS)
START_KINDS = ("silence", "noise", "previous")


def start_clip(kind: str, n_samples: int, sample_rate: int, seed: int = 0,
               previous: Optional[torch.Tensor] = None) -> torch.Tensor:
    """[n_samples] float32: ``silence``, ``noise``, ``previous`` (the last loop) or an audio file path
    (looped or cut to length, mono, resampled)."""
    g = torch.Generator().manual_seed(seed)
    if kind == "silence":
        return torch.randn(n_samples, generator=g) * SILENCE_DITHER
    if kind == "noise":
        return torch.randn(n_samples, generator=g) * LOW_NOISE
    if kind == "previous":
        if previous is None:
            raise UserError("start 'previous' needs a previous loop (none has been made yet)")
        return fit_length(previous.detach().float().cpu(), n_samples)
    if not os.path.isfile(kind):
        raise UserError(f"start must be one of {', '.join(START_KINDS)} or an audio file; {kind!r} is neither")
    from ..data.folder import load_audio

    try:
        audio = load_audio(kind, sample_rate)
    except Exception as exc:  # soundfile's many errors for unreadable files
        raise UserError(f"cannot read start clip {kind}: {exc}".splitlines()[0]) from None
    if len(audio) == 0 or not np.isfinite(audio).all():
        raise UserError(f"start clip {kind} is empty or not finite")
    return fit_length(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), n_samples)


def fit_length(audio: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Loop (tile) a short clip or cut a long one to ``n_samples``."""
    if len(audio) >= n_samples:
        return audio[:n_samples].clone()
    reps = -(-n_samples // len(audio))
    return audio.repeat(reps)[:n_samples].clone()
