import math
import os

import numpy as np
import pytest
import torch

from immersions_osc.errors import UserError
from immersions_osc.optimize.targets import Target, neuron_mask, time_slice
from immersions_osc.optimize.transforms import (denoise, noisy_gradient, peak_normalize, random_mask,
                                                random_pitch_shift, random_time_shift, resample_circular)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_time_shift_is_circular_and_bounded():
    x = torch.arange(100.0).unsqueeze(0)
    for seed in range(10):
        y = random_time_shift(0.1)(x, gen(seed))
        assert torch.equal(torch.sort(y).values, x)  # nothing lost: a circular roll
        offset = int(y[0, 0].item())  # x[k] = k, so y[0] = x[-shift]: the shift, modulo 100
        assert torch.equal(torch.roll(x, -offset), y)
        assert min(offset, 100 - offset) <= 10


def test_pitch_shift_moves_a_looped_sine_by_the_ratio():
    n = 44100
    t = torch.arange(n) / n
    x = torch.sin(2 * math.pi * 441 * t).unsqueeze(0)  # 441 cycles per loop
    ratio = 2 ** (1 / 12)
    y = resample_circular(x, ratio)
    peak = int(torch.fft.rfft(y[0]).abs().argmax())
    assert abs(peak - 441 * ratio) <= 1.5
    x.requires_grad_(True)
    random_pitch_shift(0.5)(x, gen()).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_mask_zeros_exactly_a_rectangle_of_the_gradient():
    spec = torch.randn(1, 1, 50, 40, requires_grad=True)
    random_mask(0.25, 0.2)(spec, gen(3)).sum().backward()
    zero = spec.grad[0, 0] == 0
    rows, cols = zero.any(1).nonzero(), zero.any(0).nonzero()
    assert zero.sum() == 10 * 10
    assert rows.max() - rows.min() + 1 == 10 and cols.max() - cols.min() + 1 == 10
    assert (spec.grad[0, 0][~zero] == 1).all()


def test_noisy_gradient_is_identity_forward_and_noisy_backward():
    x = torch.randn(1, 1000, requires_grad=True)
    y = noisy_gradient(0.5)(x, gen())
    assert torch.equal(y, x)
    (y * 3).sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, 3.0))  # a constant gradient has std 0: no noise
    x2 = torch.randn(1, 1000, requires_grad=True)
    (noisy_gradient(0.5)(x2, gen()) * torch.linspace(0, 2, 1000)).sum().backward()
    clean = torch.linspace(0, 2, 1000)
    assert 0.3 < float((x2.grad[0] - clean).std() / clean.std()) < 0.7
    x3 = torch.randn(1, 10, requires_grad=True)
    noisy_gradient(0.0)(x3, gen()).sum().backward()
    assert torch.equal(x3.grad, torch.ones(1, 10))


def test_denoise_raises_the_signal_to_noise_ratio():
    n = 44100
    t = torch.arange(n) / 44100
    tone = 0.5 * torch.sin(2 * math.pi * 1000 * t)
    noisy = (tone + 0.05 * torch.randn(n, generator=gen())).unsqueeze(0)
    cleaned = denoise(noisy, 2.0)
    snr = lambda y: float(tone.pow(2).sum() / (y[0] - tone).pow(2).sum())
    assert snr(cleaned) > 2 * snr(noisy)
    assert torch.equal(denoise(noisy, 0.0), noisy)


def test_peak_normalize_scales_down_only():
    loud, quiet = torch.tensor([[2.0, -4.0]]), torch.tensor([[0.1, -0.2]])
    assert peak_normalize(loud, 0.9).abs().max() == pytest.approx(0.9)
    assert torch.equal(peak_normalize(quiet, 0.9), quiet)


def test_targets_select_neurons_and_explain_mistakes():
    shapes = {"encoder.blocks.0.relu1": (8, 107), "ar.blocks.0.relu": (128, 1)}
    mask = neuron_mask(Target("encoder.blocks.0.relu1", channels=[1, 3], frequencies=(10, 20)), shapes)
    assert mask.sum() == 2 * 10 and mask[1, 10] and not mask[0, 10] and not mask[1, 20]
    assert neuron_mask(Target("ar.blocks.0.relu", neurons=[5, 7]), shapes).nonzero().tolist() == [[5, 0], [7, 0]]
    assert time_slice(Target("x", times=(0.5, 1.0)), 10) == slice(5, 10)
    with pytest.raises(UserError, match="unknown layer 'nope'; valid layers: encoder.blocks.0.relu1, ar"):
        neuron_mask(Target("nope"), shapes)
    with pytest.raises(UserError, match=r"channel 8 out of range .*\(0..7\)"):
        neuron_mask(Target("encoder.blocks.0.relu1", channels=[8]), shapes)
    with pytest.raises(UserError, match="neuron index 128 out of range"):
        neuron_mask(Target("ar.blocks.0.relu", neurons=[128]), shapes)


def test_optimization_raises_the_target_activation_on_the_shipped_model():
    from immersions_osc.checkpoint import load_model
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize import measure, optimize

    model, _, _ = load_model(os.path.join(REPO, "checkpoints", "small.pt"))
    start = torch.randn(44100 * 2, generator=gen()) * 0.01
    targets = [Target("encoder.blocks.1.relu2", channels=[0, 1])]
    run = optimize(model, start, targets, OptimizeConfig(time_shift=0.0, pitch_shift=0.0), steps=30)
    assert run.history[-1] > run.history[0]
    assert measure(model, run.loop(), targets)[0] > 1.2 * measure(model, start, targets)[0]
    assert torch.isfinite(run.loop()).all() and run.loop().abs().max() <= 0.9 + 1e-6
