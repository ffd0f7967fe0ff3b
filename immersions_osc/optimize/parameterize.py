"""What the optimizer moves: seven parameterizations of a batch of loops (feature visualization's
"preconditioning": the same objective, different coordinates, different sounds).

- ``waveform``: the raw samples.
- ``spectral``: circular-STFT coefficients scaled by a 1/f-style prior (amplitude ~ f^-decay), so
  an equal step in the parameters is a pink, not white, change of the sound (lucent's fft image).
- ``spectral_envelope``: the same with a learnable band envelope on top (energy moves between
  bands quickly).
- ``fourier``: the complex Fourier coefficients of the whole loop (one partial per 1 / loop length
  Hz, each lasting the whole loop), flat prior; de-noising soft-thresholds the coefficients, so
  what the model does not keep asking for fades.  Stationary, tonal loops: the pitch networks'
  output bins sing their pitch with it below ~500 Hz (docs/pitch_ears.md).
- ``partials``: the same coefficients, each stepped in proportion to its own magnitude (over their
  RMS): a multiplicative update, so loud partials move and quiet ones stay quiet, and the loop
  sharpens to a few partials instead of a band of them.  The pitch networks' output bins sing
  their pitch with it across their range (docs/pitch_ears.md).
- ``harmonic``: a differentiable harmonic-plus-filtered-noise synthesizer in the spirit of DDSP:
  a few voices, each a time-varying fundamental with harmonic amplitudes, plus noise shaped by a
  time-varying filter; everything periodic over the loop (phase wraps exactly, controls wrap).
- ``events``: timed events on the loop's bar grid (voices of noise and partials under percussive
  envelopes with learnable strengths, onsets, decays, colours and pitches): loops that can carry
  rhythm and pitch (``events.py``).

Every parameterization keeps its parameters at unit RMS between steps (``renormalize``): the
model hears the loop at its playback level anyway (``transforms.level``), so this only fixes the
scale the learning rate is measured against: the step size follows the loop's level.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .events import Events, inverse_softplus, is_rhythmic
from .stft import CircularSTFT, log_band_weights
from .transforms import denoise, soft_threshold


def _unit_rms(p: torch.Tensor) -> None:
    dims = tuple(range(1, p.dim()))
    p.div_(p.pow(2).mean(dim=dims, keepdim=True).sqrt().clamp_min(1e-12))


class _OneTensor:
    """A parameterization that is one tensor, ``param``, kept at unit RMS."""

    def _set_param(self, value: torch.Tensor) -> None:
        self.param = value.clone()
        _unit_rms(self.param)
        self.param.requires_grad_(True)

    def parameters(self) -> list[torch.Tensor]:
        return [self.param]

    @torch.no_grad()
    def renormalize(self) -> None:
        _unit_rms(self.param)


class Waveform(_OneTensor):
    kind = "waveform"

    def __init__(self, start: torch.Tensor, generator: torch.Generator, sample_rate: int):
        self._set_param(start)

    def audio(self) -> torch.Tensor:
        return self.param

    @torch.no_grad()
    def denoise(self, strength: float) -> None:
        if strength > 0:
            self.param.copy_(denoise(self.param, strength))


class Spectral(_OneTensor):
    """Complex circular-STFT coefficients ``c[f, t]``; the loop is ``istft(c * prior[f])``."""
    kind = "spectral"
    decay = 0.5  # amplitude ~ f^-0.5: power ~ 1/f (pink), flat on a constant-Q scaleogram

    def __init__(self, start: torch.Tensor, generator: torch.Generator, sample_rate: int,
                 n_fft: int = 2048, f_low: float = 40.0):
        self.stft = CircularSTFT(start.shape[-1], n_fft, n_fft // 4, start.device, start.dtype)
        freqs = torch.fft.rfftfreq(n_fft, 1.0 / sample_rate).to(start.device, start.dtype)
        self.prior = (f_low / freqs.clamp_min(f_low)).pow(self.decay)[:, None]  # [F, 1], 1 at f_low
        c = self.stft.analyze(start) / self.prior
        self._set_param(torch.view_as_real(c))  # [B, F, T, 2]

    def audio(self) -> torch.Tensor:
        return self.stft.synthesize(torch.view_as_complex(self.param) * self.prior)

    @torch.no_grad()
    def denoise(self, strength: float) -> None:
        if strength > 0:
            c = soft_threshold(torch.view_as_complex(self.param) * self.prior, strength) / self.prior
            self.param.copy_(torch.view_as_real(c))


class Fourier(_OneTensor):
    """Complex Fourier coefficients ``c[k]`` of the whole loop (orthonormal, so unit RMS parameters
    are a unit RMS loop); the loop is ``irfft(c)``.  A partial that helps in every frame gets the
    same push at every step and every time shift, while what helps one frame only cancels out:
    the loop grows a few stationary partials.  ``denoise`` shrinks every coefficient magnitude by
    ``strength`` times their geometric mean (the floor of a broadband residue), so partials the
    gradient does not keep up fade, the inaudible ones (above the model's band) first."""
    kind = "fourier"

    def __init__(self, start: torch.Tensor, generator: torch.Generator, sample_rate: int):
        self.n = start.shape[-1]
        self._set_param(torch.view_as_real(torch.fft.rfft(start, norm="ortho")).contiguous())  # [B, K, 2]

    def audio(self) -> torch.Tensor:
        return torch.fft.irfft(torch.view_as_complex(self.param), n=self.n, norm="ortho")

    @torch.no_grad()
    def denoise(self, strength: float) -> None:
        if strength > 0:
            c = torch.view_as_complex(self.param)
            self.param.copy_(torch.view_as_real(soft_threshold(c[..., None], strength)[..., 0]))


class Partials(Fourier):
    """``fourier`` with the gradient of every coefficient scaled by its magnitude over the
    coefficients' RMS (mirror descent on the magnitudes: a step multiplies a partial's magnitude
    rather than adding to it).  Under a log-magnitude frontend the plain gradient is largest where
    the loop is quietest (d log|X| / dX = 1 / |X|): it keeps filling every quiet band, and the loop
    stays a band of partials around the target with the start's noise beside it.  Scaled by the
    magnitude, what the loop already holds is refined and what it lacks grows only as fast as the
    gradient keeps asking for it."""
    kind = "partials"

    def __init__(self, start: torch.Tensor, generator: torch.Generator, sample_rate: int):
        super().__init__(start, generator, sample_rate)
        self.param.register_hook(self._precondition)

    def _precondition(self, grad: torch.Tensor) -> torch.Tensor:
        m = torch.view_as_complex(self.param.detach()).abs()[..., None]  # [B, K, 1]
        return grad * (m / m.pow(2).mean(dim=1, keepdim=True).sqrt().clamp_min(1e-12))


class SpectralEnvelope(Spectral):
    """``spectral`` times a learnable log-gain envelope over ``bands`` log-spaced bands (0 at the
    start: the same loop), stepping ``lr_scales[1]`` times faster than the coefficients: the
    optimizer can move the loop's energy between bands in a few steps instead of reshaping
    thousands of coefficients one step size at a time (what a channel that answers to one band of
    noise needs)."""
    kind = "spectral_envelope"
    lr_scales = {0: 1.0, 1: 5.0}

    def __init__(self, start: torch.Tensor, generator: torch.Generator, sample_rate: int,
                 n_fft: int = 2048, f_low: float = 40.0, bands: int = 24):
        super().__init__(start, generator, sample_rate, n_fft, f_low)
        freqs = torch.fft.rfftfreq(n_fft, 1.0 / sample_rate).to(start.device, start.dtype)
        self.band_to_bin = log_band_weights(freqs, bands, f_low, sample_rate / 2)  # [F, bands]
        self.envelope = torch.zeros(start.shape[0], bands, device=start.device, dtype=start.dtype,
                                    requires_grad=True)

    def parameters(self) -> list[torch.Tensor]:
        return [self.param, self.envelope]

    def gain(self) -> torch.Tensor:
        """[B, F, 1] linear gain per STFT bin."""
        return torch.exp(self.envelope.clamp(-20, 20) @ self.band_to_bin.T)[:, :, None]

    def audio(self) -> torch.Tensor:
        return self.stft.synthesize(torch.view_as_complex(self.param) * self.prior * self.gain())


class Harmonic:
    """``voices`` harmonic oscillators (fundamental + ``harmonics`` partials, amplitudes ~ 1/k at
    the start) and filtered noise (``bands`` log-spaced bands), all controlled ``control_rate``
    times a second with periodic linear interpolation."""
    kind = "harmonic"
    # step-size scales per tensor (f0 in log2 Hz: a full step would be a fifth of an octave)
    lr_scales = {0: 0.05, 1: 1.0, 2: 1.0}

    def __init__(self, start: torch.Tensor, generator: torch.Generator, sample_rate: int,
                 voices: int = 3, harmonics: int = 16, control_rate: float = 43.0, bands: int = 32,
                 n_fft: int = 1024):
        b, n = start.shape
        dev, dt = start.device, start.dtype
        self.n, self.sr, self.harmonics = n, sample_rate, harmonics
        self.frames = max(2, int(round(n / sample_rate * control_rate)))
        rand = lambda *shape: torch.randn(*shape, generator=generator).to(dev, dt)
        # fundamentals: voices spread over 55..440 Hz (log2 Hz), jittered per candidate
        base = torch.linspace(math.log2(55.0), math.log2(440.0), voices, device=dev, dtype=dt)
        self.log_f0 = (base[None, :, None] + 0.5 * rand(b, voices, 1) + 0.05 * rand(b, voices, self.frames))
        k = torch.arange(1, harmonics + 1, device=dev, dtype=dt)
        self.k = k
        # harmonic amplitudes (softplus-ed), starting around 1/k
        self.amps = (torch.log(torch.expm1(0.1 / k))[None, None, :, None] + 0.3 * rand(b, voices, harmonics, self.frames))
        # filtered noise: band gains (log magnitude) per STFT frame, started from the start clip's envelope
        self.stft = CircularSTFT(n, n_fft, n_fft // 4, dev, dt)
        freqs = torch.fft.rfftfreq(n_fft, 1.0 / sample_rate).to(dev, dt)
        self.band_to_bin = log_band_weights(freqs, bands, 40.0, sample_rate / 2)  # [F, bands]
        spec = self.stft.analyze(start).abs()  # [B, F, T]
        band_mag = torch.einsum("bft,fk->bkt", spec, self.band_to_bin / self.band_to_bin.sum(0, keepdim=True).clamp_min(1e-6))
        self.noise_gain = torch.log(band_mag.clamp_min(1e-6))
        phase = torch.rand(b, self.stft.bins, self.stft.frames, generator=generator).to(dev, dt) * 2 * math.pi
        self.noise_phase = torch.polar(torch.ones_like(phase), phase)
        for p in self.parameters():
            p.requires_grad_(True)

    def parameters(self) -> list[torch.Tensor]:
        return [self.log_f0, self.amps, self.noise_gain]

    def _upsample(self, c: torch.Tensor) -> torch.Tensor:
        """[..., frames] control values -> [..., n] samples, periodic linear interpolation."""
        shape = c.shape
        c = torch.cat([c, c[..., :1]], -1).reshape(-1, 1, shape[-1] + 1)
        up = F.interpolate(c, size=self.n + 1, mode="linear", align_corners=True)  # period: n samples
        return up[..., :self.n].reshape(*shape[:-1], self.n)

    def audio(self) -> torch.Tensor:
        f0 = 2.0 ** self._upsample(self.log_f0.clamp(math.log2(20.0), math.log2(self.sr / 4)))  # [B, V, N]
        phase = torch.cumsum(2 * math.pi * f0 / self.sr, dim=-1)
        total = phase[..., -1:]
        wrap = total - 2 * math.pi * torch.round(total / (2 * math.pi))  # close the phase exactly
        ramp = torch.arange(1, self.n + 1, device=phase.device, dtype=phase.dtype) / self.n
        phase = phase - wrap.detach() * ramp
        amps = F.softplus(self.amps)  # [B, V, K, frames]
        out = 0
        for j, k in enumerate(self.k.tolist()):
            a = self._upsample(amps[:, :, j]) * (k * f0 < self.sr / 2)
            out = out + (a * torch.sin(k * phase)).sum(1)
        gains = torch.einsum("bkt,fk->bft", torch.exp(self.noise_gain.clamp(-30, 30)), self.band_to_bin)
        return out + self.stft.synthesize(gains * self.noise_phase)

    @torch.no_grad()
    def renormalize(self) -> None:
        # level lives in the amplitudes: keep harmonics and noise on one scale (their mean log
        # magnitude at 0), the balance between them and every shape free
        shift = torch.log(F.softplus(self.amps).mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12))
        self.amps.copy_(inverse_softplus(F.softplus(self.amps) / shift.exp()).clamp(-30, 30))
        self.noise_gain.sub_(shift[..., 0]).clamp_(-30, 30)

    def denoise(self, strength: float) -> None:
        return None  # no broadband residue to remove: the noise is a parameter of its own


def make(kind: str, start: torch.Tensor, generator: torch.Generator, sample_rate: int):
    """The parameterization named ``kind`` (one of config.PARAMETERIZATIONS) of ``start``;
    ``auto``: what wins for the start (docs/sonification.md): ``events`` from a steady start
    (noise, silence), which it turns into struck sounds, ``spectral`` from a start with a rhythm
    (music, a loop), whose rhythm it keeps while the events lost it or left the gain low."""
    if kind == "auto":
        kind = "spectral" if is_rhythmic(start, sample_rate) else "events"
    cls = {c.kind: c for c in (Waveform, Spectral, SpectralEnvelope, Fourier, Partials, Harmonic, Events)}[kind]
    return cls(start, generator, sample_rate)
