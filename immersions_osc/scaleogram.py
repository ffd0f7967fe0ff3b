"""Differentiable, causal constant-Q scaleogram.

Bin ``k`` has centre frequency ``f_k = fmin * 2^(k / bins_per_octave)`` and a complex kernel
``w(t) exp(-2 pi i f_k t)`` with a Hann window ``w`` of duration ``Q / f_k``,
``Q = filter_scale / (2^(1/bins_per_octave) - 1)``, normalized by the window sum so that a
sinusoid of amplitude ``a`` at ``f_k`` gives magnitude ``a / 2``.  Frame ``t`` (``hop`` samples
each, ``n_frames = n_samples // hop``) is the inner product of the kernel with the audio *ending*
at sample ``(t + 1) * hop - 1``: the transform is causal, so a sample never influences an
earlier frame.

The seed computes this as one Conv1d with fixed kernels, stride = hop.  At 40 Hz a kernel is
~37 k samples long, which makes that slow (about as slow as librosa).  Here the bins are
grouped by octave and each octave is computed at the lowest sample rate ``sr / D`` that keeps its
band alias-free: a cascade of causal, linear-phase half-band FIR filters (Kaiser-windowed sinc,
decimation by 2, computed polyphase) decimates the signal, then each octave's framed signal
(frame step ``hop / D``) is multiplied by a kernel matrix.  Each decimation stage delays the signal by an integer number of
samples, so octave ``D``'s kernels sit ``delay(D) = (taps - 1) / 2 * (D - 1)`` samples earlier.
``reference_scaleogram`` computes the same transform as a direct full-rate convolution with
kernels placed at those delays; the two agree to the anti-aliasing filter's stop-band level
(~1e-4 relative), which the tests check.  Everything is plain differentiable torch ops (slices,
adds, unfold, matmul), identical on CPU and CUDA.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import ScaleogramConfig


@dataclass(frozen=True)
class OctaveGroup:
    """A run of bins computed at one decimation factor."""

    start: int  # first bin (inclusive)
    stop: int  # last bin (exclusive)
    decimation: int  # D: this group runs at sample_rate / D
    kernel_length: int  # frame length in samples at sample_rate / D (longest kernel of the group)


def bin_frequencies(cfg: ScaleogramConfig) -> np.ndarray:
    return cfg.fmin * 2.0 ** (np.arange(cfg.n_bins) / cfg.bins_per_octave)


def quality_factor(cfg: ScaleogramConfig) -> float:
    return cfg.filter_scale / (2.0 ** (1.0 / cfg.bins_per_octave) - 1.0)


def kernel_durations(cfg: ScaleogramConfig) -> np.ndarray:
    """Kernel length of every bin in full-rate samples (float)."""
    return quality_factor(cfg) * cfg.sample_rate / bin_frequencies(cfg)


def decimation_delay(cfg: ScaleogramConfig, decimation: int) -> int:
    """Group delay, in full-rate samples, of the decimation cascade down to ``decimation``."""
    return (cfg.decimation_taps - 1) // 2 * (decimation - 1)


def max_decimation(cfg: ScaleogramConfig, f_top: float) -> int:
    """Largest power-of-two decimation dividing the hop whose band keeps ``f_top`` alias-free.

    After decimation to rate r, the anti-aliasing filter's transition band aliases into the
    upper half of [0, r/2]; the bins (with their Hann main lobe, half-width 2 f / Q) must fit
    in the lower half: f_top * (1 + 2/Q) <= r / 4.
    """
    limit = cfg.sample_rate / (4.0 * f_top * (1.0 + 2.0 / quality_factor(cfg)))
    d = 1
    while d * 2 <= limit and cfg.hop_length % (d * 2) == 0:
        d *= 2
    return d


def octave_groups(cfg: ScaleogramConfig) -> list[OctaveGroup]:
    freqs = bin_frequencies(cfg)
    durations = kernel_durations(cfg)
    groups = []
    stop = cfg.n_bins
    while stop > 0:
        start = max(0, stop - cfg.bins_per_octave)
        d = max_decimation(cfg, freqs[stop - 1])
        length = int(math.ceil(durations[start] / d))
        groups.append(OctaveGroup(start, stop, d, length))
        stop = start
    return groups[::-1]


def frame_centre_offsets(cfg: ScaleogramConfig) -> np.ndarray:
    """Where each bin's frames sit: frame ``t`` of bin ``k`` is centred on sample ``t * hop + offset[k]``.

    A frame's kernel (``n = ceil(duration / D)`` samples at rate ``sr / D``, a symmetric window)
    ends ``D`` samples before ``(t + 1) * hop - delay(D)`` and is centred ``D * (n - 1) / 2``
    samples before its end.  Offsets are negative for the long low-frequency kernels (their
    frames look back in time); a centred transform such as ``librosa.cqt`` has offset 0.
    """
    durations = kernel_durations(cfg)
    offsets = np.zeros(cfg.n_bins)
    for g in octave_groups(cfg):
        d = g.decimation
        n = np.ceil(durations[g.start:g.stop] / d)
        offsets[g.start:g.stop] = cfg.hop_length - decimation_delay(cfg, d) - d * (n + 1) / 2
    return offsets


def halfband_filter(taps: int) -> np.ndarray:
    """Linear-phase lowpass, cutoff at a quarter of the sample rate, Kaiser window.

    The Kaiser beta follows from the attenuation reachable with ``taps`` taps over the
    transition band [0.25, 0.75] * Nyquist (Kaiser's formula).
    """
    transition = 0.5 * math.pi
    attenuation = 2.285 * (taps - 1) * transition + 8.0
    beta = 0.1102 * (attenuation - 8.7)
    n = np.arange(taps) - (taps - 1) / 2
    h = 0.5 * np.sinc(0.5 * n) * np.kaiser(taps, beta)
    return h / h.sum()


def bin_kernel(cfg: ScaleogramConfig, k: int, decimation: int, upsample: int = 1) -> np.ndarray:
    """Complex kernel of bin ``k`` sampled at ``sample_rate / decimation * upsample``.

    With ``upsample = decimation`` the kernel is the full-rate version whose every
    ``decimation``-th sample equals the decimated kernel; both are normalized by their own
    window sum, so inner products with a band-limited signal agree.
    """
    f_k = bin_frequencies(cfg)[k]
    n_dec = int(math.ceil(kernel_durations(cfg)[k] / decimation))
    n = np.arange(n_dec * upsample)
    u = (n + upsample / 2.0) / (n_dec * upsample)
    window = np.sin(np.pi * u) ** 2
    t = n * decimation / upsample / cfg.sample_rate
    kernel = window * np.exp(-2j * np.pi * f_k * t)
    return kernel / window.sum()


class Scaleogram(nn.Module):
    """waveform [B, N] (or [N], [B, 1, N]) -> scaleogram [B, C, n_bins, N // hop].

    Channel 0 is log power ``log(|X|^2 + power_floor)``; channel 1 (when ``cfg.phase``) is
    the phase in radians.
    """

    def __init__(self, cfg: ScaleogramConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or ScaleogramConfig()
        cfg.validate("scaleogram.")
        self.groups = octave_groups(cfg)
        self.decimations = sorted({g.decimation for g in self.groups})
        # the half-band taps as Python floats (scalars of the polyphase adds, on any device)
        self._halfband_taps = [float(v) for v in halfband_filter(cfg.decimation_taps)]
        for i, g in enumerate(self.groups):
            self.register_buffer(f"kernels_{i}", self._group_matrix(g), persistent=False)

    @property
    def channels(self) -> int:
        return 2 if self.cfg.phase else 1

    def n_frames(self, n_samples: int) -> int:
        return n_samples // self.cfg.hop_length

    def _group_matrix(self, g: OctaveGroup) -> torch.Tensor:
        """[kernel_length, 2 * bins]: real parts then imaginary parts, kernels right-aligned."""
        nb = g.stop - g.start
        matrix = np.zeros((g.kernel_length, 2 * nb), dtype=np.float64)
        for j, k in enumerate(range(g.start, g.stop)):
            kernel = bin_kernel(self.cfg, k, g.decimation)
            matrix[g.kernel_length - len(kernel):, j] = kernel.real
            matrix[g.kernel_length - len(kernel):, nb + j] = kernel.imag
        return torch.tensor(matrix, dtype=torch.float32)

    def _halve(self, x: torch.Tensor) -> torch.Tensor:
        """Causal half-band lowpass and decimation by 2: ``y[j] = sum_i h[i] x[2j - (taps-1) + i]``.

        Polyphase: a half-band filter's taps at even distances from the centre are zero, so
        ``y`` is the centre tap times the even samples plus the odd samples convolved with the
        odd taps, summed in symmetric pairs (a linear-phase filter).  Shifted slices and adds
        (faster than a single-channel strided conv1d on CPU), with a backward of its own
        (:class:`_Halve`): autograd's backward of each slice would zero-fill and copy a whole
        signal, 2 x taps / 2 times per halving; this one adds the output's gradient into two
        buffers in place.
        """
        if torch.is_grad_enabled() and x.requires_grad:
            return _Halve.apply(x, self.cfg.decimation_taps, self._halfband_taps)
        return _halve(x, self.cfg.decimation_taps, self._halfband_taps)

    def complex_transform(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary parts, each [B, n_bins, n_frames]."""
        x = _as_batch(audio)
        hop = self.cfg.hop_length
        n_frames = self.n_frames(x.shape[-1])
        if n_frames < 1:
            raise ValueError(f"audio of {x.shape[-1]} samples is shorter than one hop ({hop})")
        x = x[:, : n_frames * hop]
        signals = {1: x}
        y, d = x, 1
        while d < self.decimations[-1]:
            y = self._halve(y)
            d *= 2
            signals[d] = y
        real, imag = [], []
        for i, g in enumerate(self.groups):
            step = hop // g.decimation
            length = g.kernel_length
            y = F.pad(signals[g.decimation], (length - 1, 0))
            frames = y[:, step - 1:].unfold(-1, length, step)[:, :n_frames]
            out = frames @ getattr(self, f"kernels_{i}").to(y.dtype)
            nb = g.stop - g.start
            real.append(out[..., :nb])
            imag.append(out[..., nb:])
        return torch.cat(real, -1).transpose(1, 2), torch.cat(imag, -1).transpose(1, 2)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        # Always float32, also under mixed-precision autocast: bf16 cannot resolve the dynamic
        # range of log power.
        with torch.autocast(device_type=audio.device.type, enabled=False):
            real, imag = self.complex_transform(audio.float())
            return to_scaleogram(real, imag, self.cfg)


def _halve_terms(taps: int) -> tuple[int, list[tuple[int, list[tuple[int, int]]]]]:
    """The polyphase plan of a half-band filter of ``taps`` taps: (centre, [(tap, [(phase, offset),
    ...]), ...]), where ``phase`` 0 reads the even samples of the padded signal, 1 the odd ones, from
    ``offset`` on; the centre tap alone, then the symmetric pairs."""
    centre = (taps - 1) // 2

    def where(i):
        return (0, i // 2) if i % 2 == 0 else (1, (i - 1) // 2)

    terms = [(centre, [where(centre)])]
    for i in range(centre % 2 + 1, centre, 2):  # taps at odd distance from the centre, paired
        terms.append((i, [where(i), where(taps - 1 - i)]))
    return centre, terms


def _halve(x: torch.Tensor, taps: int, h: list[float]) -> torch.Tensor:
    """``Scaleogram._halve``'s forward (see there)."""
    n = x.shape[-1] // 2
    # the even and odd samples of x padded with taps - 1 zeros, each padded by itself (one copy
    # of the signal in all, not a padded copy and then two contiguous ones)
    pad = taps - 1
    first, second = (x[..., 0::2], x[..., 1::2]) if pad % 2 == 0 else (x[..., 1::2], x[..., 0::2])
    phases = (F.pad(first, ((pad + 1) // 2, 0)), F.pad(second, (pad // 2, 0)))
    _, terms = _halve_terms(taps)
    (tap, [(p, o)]), pairs = terms[0], terms[1:]
    out = phases[p][..., o: o + n] * h[tap]
    for tap, [(p, o), (q, e)] in pairs:
        out = out.add(phases[p][..., o: o + n] + phases[q][..., e: e + n], alpha=h[tap])
    return out


class _Halve(torch.autograd.Function):
    """``_halve`` with its backward: the transposed polyphase filter, added in place into the
    gradients of the even and odd samples, then interleaved once (the same values as autograd's
    backward of the slices and adds, without its per-slice zero-fills and copies)."""

    @staticmethod
    def forward(ctx, x, taps, h):
        ctx.taps, ctx.h, ctx.length = taps, h, x.shape[-1]
        return _halve(x, taps, h)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        taps, h = ctx.taps, ctx.h
        padded = ctx.length + taps - 1
        n = grad.shape[-1]
        shape = grad.shape[:-1]
        phases = (grad.new_zeros(*shape, (padded + 1) // 2), grad.new_zeros(*shape, padded // 2))
        for tap, reads in _halve_terms(taps)[1]:
            for p, o in reads:
                phases[p][..., o: o + n].add_(grad, alpha=h[tap])
        out = grad.new_empty(*shape, padded)
        out[..., 0::2] = phases[0]
        out[..., 1::2] = phases[1]
        return out[..., taps - 1:], None, None


def to_scaleogram(real: torch.Tensor, imag: torch.Tensor, cfg: ScaleogramConfig) -> torch.Tensor:
    """Log power (+ phase) channels [B, C, F, T] from the complex transform."""
    power = real * real + imag * imag
    channels = [torch.log(power + cfg.power_floor)]
    if cfg.phase:
        # atan2 has no gradient at 0 + 0i: use phase 0 (and zero gradient) for near-silent bins.
        audible = power > cfg.power_floor
        safe_real = torch.where(audible, real, torch.ones_like(real))
        safe_imag = torch.where(audible, imag, torch.zeros_like(imag))
        channels.append(torch.where(audible, torch.atan2(safe_imag, safe_real), torch.zeros_like(real)))
    return torch.stack(channels, dim=1)


def reference_scaleogram(audio: torch.Tensor, cfg: ScaleogramConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The same transform as a direct full-rate convolution (slow; for tests).

    Every bin's full-rate kernel ends at sample ``(t + 1) * hop - 1 - delay(D)`` of frame ``t``,
    where ``D`` is its octave's decimation in :class:`Scaleogram`.
    """
    x = _as_batch(audio).double()
    hop = cfg.hop_length
    n_frames = x.shape[-1] // hop
    real = torch.zeros(x.shape[0], cfg.n_bins, n_frames, dtype=torch.float64)
    imag = torch.zeros_like(real)
    for g in octave_groups(cfg):
        delay = decimation_delay(cfg, g.decimation)
        for k in range(g.start, g.stop):
            kernel = bin_kernel(cfg, k, g.decimation, upsample=g.decimation)
            length = len(kernel)
            pad = length + delay
            xp = F.pad(x, (pad, 0))
            # frame t covers original samples [(t+1)*hop - delay - length, (t+1)*hop - delay - 1]
            frames = xp[:, hop:].unfold(-1, length, hop)[:, :n_frames]
            kr = torch.tensor(kernel.real)
            ki = torch.tensor(kernel.imag)
            real[:, k] = frames @ kr
            imag[:, k] = frames @ ki
    return real, imag


def _as_batch(audio: torch.Tensor) -> torch.Tensor:
    if audio.dim() == 1:
        return audio.unsqueeze(0)
    if audio.dim() == 3 and audio.shape[1] == 1:
        return audio[:, 0]
    if audio.dim() != 2:
        raise ValueError(f"audio must be [N], [B, N] or [B, 1, N], got shape {tuple(audio.shape)}")
    return audio
