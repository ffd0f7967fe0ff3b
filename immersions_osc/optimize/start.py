"""Start clips: silence, low noise, an audio file, or the previous loop (continuous morphing).

An audio file is input from whoever names it (a config, or any OSC client and viewer page), so
``read_clip`` bounds the work before decoding anything: the file's size (``os.stat``), then its
header (``soundfile.info``: sample rate, channels, duration) against :data:`LIMITS`, and then it
decodes only the frames one loop needs, block by block, mixed down to mono as it goes.  A clip
that cannot be used gets one and the same message whatever the reason (missing, a folder,
unreadable, not audio, beyond the limits), so that a client cannot learn what exists on the
service's disk; the reason itself is given only to the service's own user (``detail=True``:
the config and the command line).
"""
from __future__ import annotations

import math
import os
import stat
import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from ..config import START_KINDS, OptimizeConfig
from ..errors import UserError

# Exact silence is a stationary point (power is quadratic in the samples, so its gradient vanishes
# at zero): "silence" carries an inaudible dither (-100 dBFS RMS) so the optimization can move.
SILENCE_DITHER = 1e-5
LOW_NOISE = 0.01  # RMS of the "noise" start (-40 dBFS)
MAX_PATH = 4096

# The step size by start, where the config left the default (OptimizeConfig().learning_rate, 0.002,
# which a music clip keeps: a larger step loses a drum loop's rhythm).  From noise or silence
# there is nothing to keep, and 0.002 leaves a recoloured hiss after 200 steps: 0.01 grows a
# sound of its own (docs/sonification.md).
STEP_FROM_NOTHING = 0.01


def for_start(cfg: OptimizeConfig, kind: str) -> OptimizeConfig:
    """``cfg`` with the step size for a start of ``kind`` (a START_KINDS name or a file) unless the
    config chose one (any value but the default)."""
    if kind in ("noise", "silence") and cfg.learning_rate == OptimizeConfig().learning_rate:
        return dataclasses.replace(cfg, learning_rate=STEP_FROM_NOTHING)
    return cfg


@dataclass(frozen=True)
class ClipLimits:
    max_bytes: int = 256 << 20  # file size
    max_seconds: float = 600.0  # duration (the header's)
    min_rate: int = 8000
    max_rate: int = 192000
    max_channels: int = 8
    block: int = 1 << 16  # frames decoded at a time


LIMITS = ClipLimits()


def describe_limits(limits: ClipLimits = LIMITS) -> str:
    return (f"at most {limits.max_seconds:g} s, {limits.min_rate // 1000}-{limits.max_rate // 1000} kHz, "
            f"{limits.max_channels} channels, {limits.max_bytes >> 20} MB")


class ClipError(UserError):
    """A start clip that cannot be used; ``reason`` says why (for the service's own user only)."""

    def __init__(self, path: str, reason: str, detail: bool):
        self.reason = reason
        shown = path if len(path) <= 200 else path[:200] + "..."
        text = (f"start must be one of {', '.join(START_KINDS)} or a readable audio file ({describe_limits()}); "
                f"cannot use {shown!r}")
        super().__init__(text + (f": {reason}" if detail else ""))


def read_clip(path: str, n_samples: int, sample_rate: int, limits: ClipLimits = LIMITS,
              detail: bool = False) -> np.ndarray:
    """The first ``n_samples`` of an audio file (fewer when it is shorter), mono float32 at
    ``sample_rate``; :class:`ClipError` when it cannot be used."""
    import soundfile as sf

    def refuse(reason: str):
        return ClipError(path, reason, detail)

    if not path or len(path) > MAX_PATH or "\0" in path:
        raise refuse("not a file path")
    # opened once, without blocking (a FIFO or a device swapped in for the file cannot hold the
    # loader), and checked on that descriptor: nothing can be swapped between the check and the read
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError):
        raise refuse("no such file") from None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:  # (a folder cannot even be wrapped as a file object)
        os.close(fd)
        raise refuse("not a regular file")
    with os.fdopen(fd, "rb") as fh:
        return _read_open_clip(fh, refuse, n_samples, sample_rate, limits)


def _read_open_clip(fh, refuse, n_samples: int, sample_rate: int, limits: ClipLimits) -> np.ndarray:
    import soundfile as sf

    st = os.fstat(fh.fileno())
    if not stat.S_ISREG(st.st_mode):
        raise refuse("not a regular file")
    if st.st_size > limits.max_bytes:
        raise refuse(f"{st.st_size >> 20} MB is larger than {limits.max_bytes >> 20} MB")
    try:
        info = sf.info(fh)
    except Exception:  # soundfile's many errors for unreadable or foreign files
        raise refuse("not an audio file soundfile can read") from None
    if not limits.min_rate <= info.samplerate <= limits.max_rate:
        raise refuse(f"sample rate {info.samplerate} Hz")
    if not 1 <= info.channels <= limits.max_channels:
        raise refuse(f"{info.channels} channels")
    if info.frames <= 0:
        raise refuse("no audio frames")
    if info.frames / info.samplerate > limits.max_seconds:
        raise refuse(f"{info.frames / info.samplerate:.0f} s long")
    from ..data.folder import resample, resampled_length  # (scipy: imported only for a clip that is used)

    # frames of the file that give n_samples at sample_rate (+ a little for the resampling filter)
    g = math.gcd(info.samplerate, sample_rate)
    need = min(info.frames, -(-n_samples * (info.samplerate // g) // (sample_rate // g)) + 64)
    mono = np.empty(need, np.float32)
    got = 0
    try:
        fh.seek(0)
        with sf.SoundFile(fh) as f:
            while got < need:
                block = f.read(min(limits.block, need - got), dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                mono[got:got + len(block)] = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
                got += len(block)
    except Exception:
        raise refuse("the audio data cannot be decoded") from None
    if got == 0:
        raise refuse("no audio frames")
    mono = mono[:got]
    if not np.isfinite(mono).all():
        raise refuse("samples that are not finite")
    audio = resample(mono, info.samplerate, sample_rate)
    return audio[:min(n_samples, resampled_length(got, info.samplerate, sample_rate))]


def start_clip(kind: str, n_samples: int, sample_rate: int, seed: int = 0,
               previous: Optional[torch.Tensor] = None, detail: bool = True) -> torch.Tensor:
    """[n_samples] float32: ``silence``, ``noise``, ``previous`` (the last loop) or an audio file path
    (looped or cut to length, mono, resampled; see :func:`read_clip`)."""
    g = torch.Generator().manual_seed(seed)
    if kind == "silence":
        return torch.randn(n_samples, generator=g) * SILENCE_DITHER
    if kind == "noise":
        return torch.randn(n_samples, generator=g) * LOW_NOISE
    if kind == "previous":
        if previous is None:
            raise UserError("start 'previous' needs a previous loop (none has been made yet)")
        return fit_length(previous.detach().float().cpu(), n_samples)
    audio = read_clip(kind, n_samples, sample_rate, detail=detail)
    return fit_length(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), n_samples)


def fit_length(audio: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Loop (tile) a short clip or cut a long one to ``n_samples``."""
    if len(audio) >= n_samples:
        return audio[:n_samples].clone()
    reps = -(-n_samples // len(audio))
    return audio.repeat(reps)[:n_samples].clone()
