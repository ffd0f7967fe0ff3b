import math

import numpy as np
import pytest
import torch

from immersions_osc.config import ScaleogramConfig
from immersions_osc.scaleogram import (Scaleogram, bin_frequencies, decimation_delay, kernel_durations,
                                        octave_groups, reference_scaleogram)

SR = 44100


def chord_and_chirp(seconds: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    chord = sum(0.3 * np.sin(2 * np.pi * f * t) for f in (110.0, 138.6, 164.8, 440.0, 1318.5))
    # exponential chirp 50 Hz -> 12 kHz
    f0, f1 = 50.0, 12000.0
    k = math.log(f1 / f0) / seconds
    chirp = 0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)
    noise = 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (chord + chirp + noise).astype(np.float32)


@pytest.fixture(scope="module")
def scaleogram():
    return Scaleogram(ScaleogramConfig())


def test_four_second_clip_gives_172_by_216(scaleogram):
    out = scaleogram(torch.zeros(2, 4 * SR))
    assert out.shape == (2, 1, 216, 172)
    assert torch.isfinite(out).all()


def test_phase_channel_is_optional():
    out = Scaleogram(ScaleogramConfig(phase=True))(torch.randn(1, SR))
    assert out.shape[1] == 2
    assert out[:, 1].abs().max() <= math.pi + 1e-6


@pytest.mark.parametrize("f", np.geomspace(40.0, 16000.0, 25).round(2).tolist())
def test_pure_tone_lands_in_its_bin(scaleogram, f):
    t = np.arange(2 * SR) / SR
    x = torch.tensor(np.sin(2 * np.pi * f * t), dtype=torch.float32)
    power = scaleogram(x)[0, 0, :, -20:].mean(-1)  # frames well after the onset
    expected = round(24 * math.log2(f / 40.0))
    assert abs(int(power.argmax()) - expected) <= 1


def test_sinusoid_magnitude_is_half_its_amplitude(scaleogram):
    k = 100
    f = float(bin_frequencies(scaleogram.cfg)[k])
    t = np.arange(2 * SR) / SR
    real, imag = scaleogram.complex_transform(torch.tensor(0.8 * np.cos(2 * np.pi * f * t), dtype=torch.float32))
    magnitude = torch.sqrt(real[0, k, -10:] ** 2 + imag[0, k, -10:] ** 2)
    assert torch.allclose(magnitude, torch.full_like(magnitude, 0.4), rtol=0.01)


def test_multirate_equals_direct_full_rate_convolution(scaleogram):
    """Exactness: the octave-decimated computation matches the direct convolution."""
    x = torch.tensor(chord_and_chirp(1.5), dtype=torch.float32) + 0.2 * torch.randn(int(1.5 * SR))
    real, imag = scaleogram.complex_transform(x)
    ref_real, ref_imag = reference_scaleogram(x, scaleogram.cfg)
    error = torch.sqrt((real.double() - ref_real) ** 2 + (imag.double() - ref_imag) ** 2).sum(-1)
    norm = torch.sqrt(ref_real ** 2 + ref_imag ** 2).sum(-1)
    assert (error / norm).max() < 1e-3


# librosa warns about its own early-downsampling of the lowest octaves on a 6 s signal
@pytest.mark.filterwarnings("ignore:n_fft=.*is too large:UserWarning")
def test_correlates_with_librosa_cqt(scaleogram, librosa_cqt):
    import librosa

    seconds = 6.0
    x = chord_and_chirp(seconds)
    cfg = scaleogram.cfg
    real, imag = scaleogram.complex_transform(torch.tensor(x))
    ours = torch.sqrt(real ** 2 + imag ** 2)[0].numpy()
    # librosa: same bins, same kernel lengths (its Q is filter_scale / alpha), no sqrt(length)
    # scaling, centred frames.
    alpha = (2 ** (2 / 24) - 1) / (2 ** (2 / 24) + 1)
    q = 1 / (2 ** (1 / 24) - 1)
    theirs = np.abs(librosa_cqt(x, sr=SR, hop_length=cfg.hop_length, fmin=cfg.fmin, n_bins=cfg.n_bins,
                                bins_per_octave=cfg.bins_per_octave, filter_scale=q * alpha, scale=False))
    # with scale=False librosa's magnitudes grow with the kernel length (a sinusoid of amplitude a
    # gives a * length / 2); ours are length-normalized (a / 2).
    lengths, _ = librosa.filters.wavelet_lengths(freqs=bin_frequencies(cfg), sr=SR, filter_scale=q * alpha)
    theirs = theirs / lengths[:, None]
    # Our frame t for bin k is centred at (t+1)*hop - 1 - delay - length/2; librosa's at t*hop.
    durations = kernel_durations(cfg)
    lag = np.zeros(cfg.n_bins, dtype=int)
    for g in octave_groups(cfg):
        centre = cfg.hop_length - 1 - decimation_delay(cfg, g.decimation) - durations[g.start:g.stop] / 2
        lag[g.start:g.stop] = np.round(centre / cfg.hop_length)
    margin = int(np.abs(lag).max()) + 2
    frames = np.arange(margin, ours.shape[1] - margin)
    a = np.stack([ours[k, frames] for k in range(cfg.n_bins)])
    b = np.stack([theirs[k, frames + lag[k]] for k in range(cfg.n_bins)])
    corr = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    print(f"magnitude correlation with librosa.cqt: {corr:.4f}")
    assert corr >= 0.99


@pytest.mark.parametrize("phase", [False, True])
def test_gradient_reaches_the_waveform(phase):
    s = Scaleogram(ScaleogramConfig(phase=phase))
    x = torch.zeros(1, SR)
    x[0, SR // 2:] = torch.randn(SR - SR // 2)  # half silence: the phase must not produce NaN there
    x.requires_grad_(True)
    s(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_causal_a_sample_never_changes_an_earlier_frame(scaleogram):
    hop = scaleogram.cfg.hop_length
    x = torch.randn(1, 3 * SR)
    s = 70 * hop + 300
    y = x.clone()
    y[0, s:] += torch.randn(3 * SR - s)
    a, b = scaleogram(x), scaleogram(y)
    earlier = [t for t in range(a.shape[-1]) if (t + 1) * hop - 1 < s]
    assert torch.equal(a[..., earlier], b[..., earlier])
    assert not torch.allclose(a[..., len(earlier):], b[..., len(earlier):])


def test_rejects_audio_shorter_than_a_hop(scaleogram):
    with pytest.raises(ValueError, match="shorter than one hop"):
        scaleogram(torch.zeros(1, 100))


@pytest.mark.gpu
def test_same_code_on_cuda(scaleogram):
    x = torch.randn(2, 2 * SR)
    cpu = scaleogram(x)
    cuda = Scaleogram(scaleogram.cfg).cuda()(x.cuda()).cpu()
    assert torch.allclose(cpu, cuda, atol=1e-3, rtol=1e-3)
