"""``events``: a loop made of timed events on its bar grid, so that it can carry rhythm and pitch.

``VOICES`` voices play on a grid of ``GRID`` slots over the loop (16 eighth notes of two 4/4
bars).  Each voice is an instrument: a stationary timbre (noise shaped by ``BANDS`` log-spaced
band gains, plus ``PARTIALS`` harmonic partials of a fundamental, each a narrow band of noise
``PARTIAL_WIDTH`` Hz wide, so it has a pitch) under a percussive envelope: at every slot an
attack and an exponential decay, with a learnable strength per slot (0 = a rest), a learnable
onset within half a slot of the grid, and a learnable decay per voice.

Everything is periodic over the loop: the timbre is one inverse FFT of the whole loop, the
envelope wraps around its end (an event near the end decays into the start), so the loop is
seamless by construction and the optimizer may move anything without a click at the wrap.
The envelope runs at a control rate (``HOP`` samples) and is interpolated.

Started from a clip, voice v takes the clip's colour in its register (the v-th quarter of the
bands: low, low-mid, high-mid, high) and its slots the clip's level there in every slot when the
clip has a rhythm (a drum loop re-struck as four voices), or random strengths when it is steady
(noise, silence): a rhythm of bursts of the start's colour, which the optimizer reshapes.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .stft import log_band_weights

VOICES = 4
GRID = 16
BANDS = 24
PARTIALS = 6
PARTIAL_WIDTH = 2.0  # Hz: a partial's bandwidth (its pitch is steady to a fraction of a cent)
HOP = 128  # samples per envelope control frame (2.9 ms at 44.1 kHz)
ATTACK = 0.002  # s
TONE_TOP = 6000.0  # Hz: the highest partial's reach (the fundamental stays below TONE_TOP / PARTIALS)


def periodic_upsample(c: torch.Tensor) -> torch.Tensor:
    """[..., frames] control values -> [..., frames * HOP] samples, linear interpolation that wraps
    from the last frame to the first."""
    ramp = torch.arange(HOP, device=c.device, dtype=c.dtype) / HOP
    nxt = torch.roll(c, -1, dims=-1)
    return (c[..., None] + (nxt - c)[..., None] * ramp).flatten(-2)


REGISTER_DEPTH = 3.0  # log amplitude below the start's colour outside a voice's register (-26 dB)
RHYTHMIC = 6.0  # dB: a start whose registers vary this much between slots has a rhythm to keep
# from a rhythmic start, the strengths, onsets and decays step this much slower than the timbres:
# with every parameter at full speed a drum start lost its rhythm (onset correlation 0.86 at the
# start, 0.27 after 100 steps at step 0.002)
KEEP_RHYTHM = {0: 0.05, 1: 0.05, 2: 0.05}


def voice_registers(device=None) -> torch.Tensor:
    """[VOICES, BANDS] bool: voice v's register, the v-th quarter of the bands from low to high."""
    return (torch.arange(BANDS, device=device)[None] * VOICES // BANDS) == torch.arange(VOICES, device=device)[:, None]


def is_rhythmic(start: torch.Tensor, sample_rate: int) -> bool:
    """Whether every clip of ``start`` [B, N] has a rhythm to keep (see :func:`slot_strengths`)."""
    return bool(slot_strengths(start, sample_rate, torch.zeros(start.shape[0], VOICES, GRID))[1].all())


def slot_strengths(start: torch.Tensor, sample_rate: int, random: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, VOICES, GRID] strengths of 0..1, [B] rhythmic): the amplitude of the start [B, N] in
    every slot and voice register (relative to its loudest slot) when it has a rhythm (the
    registers vary by RHYTHMIC dB between slots on average), else ``random`` scaled to 0.1..1."""
    b, n = start.shape
    length = n // GRID
    segments = start[:, :length * GRID].reshape(b, GRID, length)
    freqs = torch.fft.rfftfreq(length, 1.0 / sample_rate).to(start.device, start.dtype)
    weights = log_band_weights(freqs, BANDS, 40.0, sample_rate / 2)  # [K, bands]
    registers = voice_registers(start.device).to(start.dtype).T  # [bands, V]
    energy = torch.fft.rfft(segments).abs().pow(2) @ weights @ registers  # [B, G, V]
    energy = energy.transpose(1, 2).clamp_min(1e-20)  # [B, V, G]
    spread_db = 10 * torch.log10(energy.amax(-1) / energy.median(-1).values).mean(-1)  # [B]
    measured = (energy / energy.amax(-1, keepdim=True)).sqrt().clamp_min(0.01)
    rhythmic = spread_db > RHYTHMIC
    return torch.where(rhythmic[:, None, None], measured, 0.1 + 0.9 * random), rhythmic


class Events:
    kind = "events"
    # per tensor (amplitudes, onsets, decays, band gains, levels, fundamentals, partials): the
    # fundamentals (log2 Hz) move a quarter as fast, so a step is a fraction of a semitone
    lr_scales = {5: 0.25}

    def __init__(self, start: torch.Tensor, generator: torch.Generator, sample_rate: int):
        b, n = start.shape
        dev, dt = start.device, start.dtype
        self.n, self.sr = n, sample_rate
        self.frames = -(-n // HOP)
        rand = lambda *shape: torch.rand(*shape, generator=generator).to(dev, dt)
        # slot strengths: the start's own rhythm (a rhythmic start keeps it) or, from a steady
        # start, a random one from 0.1 to 1; onsets at the grid; decays of a tenth to half a slot
        # (25 to 125 ms in a 4 s loop): struck, not steady
        strengths, rhythmic = slot_strengths(start, sample_rate, rand(b, VOICES, GRID))
        self.amps = inverse_softplus(strengths)
        if bool(rhythmic.all()):  # keep the start's rhythm: re-voice it, move its strokes slowly
            self.lr_scales = {**self.lr_scales, **KEEP_RHYTHM}
        self.onsets = torch.zeros(b, VOICES, GRID, device=dev, dtype=dt)
        self.log_decay = torch.log(n / sample_rate / GRID * (0.1 + 0.4 * rand(b, VOICES)))
        freqs = torch.fft.rfftfreq(n, 1.0 / sample_rate).to(dev, dt)
        spectrum = torch.fft.rfft(start, norm="ortho").abs()  # [B, K]
        weights = log_band_weights(freqs, BANDS, 40.0, sample_rate / 2)  # [K, bands], <= 2 taps per bin
        per_band = (spectrum.pow(2) @ weights) / weights.sum(0).clamp_min(1e-9)
        band_gain = 0.5 * torch.log(per_band.clamp_min(1e-12))  # the start's colour
        # voice v plays the start's colour in its own register (a quarter of the bands), 26 dB
        # down elsewhere: a low, two middle and a high voice, as a drum kit's
        outside = REGISTER_DEPTH * (~voice_registers(dev))  # [V, bands]
        self.band_gain = (band_gain - band_gain.mean(1, keepdim=True))[:, None] - outside
        self.levels = torch.stack([torch.zeros(b, VOICES, device=dev, dtype=dt),  # noise
                                   torch.full((b, VOICES), -1.5, device=dev, dtype=dt)], -1)  # partials
        self.log2_f0 = math.log2(55.0) + 3.0 * rand(b, VOICES)  # 55 to 440 Hz
        self.partials = torch.log(1.0 / torch.arange(1, PARTIALS + 1, device=dev, dtype=dt)).expand(b, VOICES, -1).clone()
        self.bin_hz = sample_rate / n
        self.k = torch.arange(1, PARTIALS + 1, device=dev, dtype=dt)
        reach = int(math.ceil(3 * PARTIAL_WIDTH / self.bin_hz))
        self.window = torch.arange(-reach, reach + 1, device=dev)
        self.band_to_bin = weights.T.contiguous()  # [bands, K]
        # a partial of strength 1 carries the energy of the whole noise at the same gain
        self.partial_scale = math.sqrt(freqs.shape[0] * (sample_rate / n) / (PARTIAL_WIDTH * math.sqrt(math.pi)))
        phase = 2 * math.pi * torch.rand(VOICES, freqs.shape[0], generator=generator).to(dev, dt)
        self.phase = torch.polar(torch.ones_like(phase), phase)  # fixed random phases per voice
        for p in self.parameters():
            p.requires_grad_(True)

    def parameters(self) -> list[torch.Tensor]:
        return [self.amps, self.onsets, self.log_decay, self.band_gain, self.levels, self.log2_f0, self.partials]

    def envelopes(self) -> torch.Tensor:
        """[B, VOICES, frames]: every voice's envelope at the control rate."""
        slot = self.n / GRID
        onset = (torch.arange(GRID, device=self.amps.device, dtype=self.amps.dtype) + 0.5 * torch.tanh(self.onsets)) * slot
        t = torch.arange(self.frames, device=onset.device, dtype=onset.dtype) * HOP
        since = torch.remainder(t - onset[..., None], self.n)  # [B, V, G, frames] samples since the onset
        decay = (self.log_decay.clamp(math.log(0.005), math.log(2.0)).exp() * self.sr)[..., None, None]
        shape = (1 - torch.exp(-since / (ATTACK * self.sr))) * torch.exp(-since / decay)
        return (F.softplus(self.amps)[..., None] * shape).sum(2)

    def timbres(self) -> torch.Tensor:
        """[B, VOICES, N]: every voice's stationary sound, one inverse FFT of the whole loop."""
        log_gain = self.band_gain.clamp(-30, 30) @ self.band_to_bin  # [B, V, K]
        levels = self.levels.clamp(-30, 30).exp()
        gain = torch.exp(log_gain)  # [B, V, K]
        # the partials: a Gaussian bump of PARTIAL_WIDTH Hz around every k * f0, written into the
        # few bins around it (a window of +-3 widths)
        f0 = 2.0 ** self.log2_f0.clamp(math.log2(20.0), math.log2(TONE_TOP / PARTIALS))  # [B, V]
        centre = f0[..., None] * self.k  # [B, V, P] Hz
        bins = torch.round(centre.detach() / self.bin_hz).long()[..., None] + self.window  # [B, V, P, W]
        bumps = torch.exp(-0.5 * ((bins * self.bin_hz - centre[..., None]) / PARTIAL_WIDTH) ** 2)
        strength = self.partials.clamp(-30, 30).exp()[..., None] * self.partial_scale
        tone = torch.zeros_like(gain).scatter_add(-1, bins.flatten(2), (strength * bumps).flatten(2))
        spectrum = gain * (levels[..., :1] + levels[..., 1:] * tone)
        return torch.fft.irfft(spectrum * self.phase, n=self.n, norm="ortho")

    def audio(self) -> torch.Tensor:
        env = periodic_upsample(self.envelopes())[..., :self.n]
        return (env * self.timbres()).sum(1)

    @torch.no_grad()
    def renormalize(self) -> None:
        # the loop is played at its level anyway: keep the band gains centred (the overall scale
        # is free), every balance between voices, bands and slots kept
        self.band_gain.sub_(self.band_gain.mean(dim=(1, 2), keepdim=True))

    def denoise(self, strength: float) -> None:
        return None  # nothing broadband to remove: every sound is a parameter


def inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    """x with softplus(x) = y, finite for every y > 0 (no expm1 overflow for large y)."""
    y = y.clamp_min(1e-12)
    return torch.where(y > 20, y, torch.log(torch.expm1(y.clamp_max(20))))
