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


# --- acceptance on the shipped model -------------------------------------------------------------

def least_active_live_channels(model, start, layer, n=2):
    """The channels the start clip excites least but not at all-zero (dead channels get no gradient):
    features that the start clip does not already contain."""
    from immersions_osc.optimize import activations_of

    with torch.no_grad():
        acts, _ = activations_of(model.eval(), start.unsqueeze(0))
    a = acts[layer]
    per_channel = a.mean(dim=tuple(i for i in range(a.dim()) if i != 1))
    live = (per_channel > 1e-6).nonzero().flatten()
    return live[per_channel[live].argsort()[:n]].tolist()


def wrap_click(x: torch.Tensor) -> tuple[float, float, float, float]:
    """(|x[0] - x[-1]|, median |x[i+1] - x[i]| inside, spectral flux across the wrap, median flux inside)."""
    n_fft = 1024
    steps = x[1:] - x[:-1]
    window = torch.hann_window(n_fft)
    frames = torch.stack([torch.roll(x, -s)[:n_fft] for s in range(-n_fft // 2, len(x) - n_fft, n_fft // 2)])
    mags = torch.fft.rfft(frames * window).abs()
    flux = (mags[1:] - mags[:-1]).clamp_min(0).sum(-1)
    return float((x[0] - x[-1]).abs()), float(steps.abs().median()), float(flux[0]), float(flux.median())


@pytest.fixture(scope="module")
def shipped():
    from immersions_osc.checkpoint import load_model

    return load_model(os.path.join(REPO, "checkpoints", "small.pt"))[0]


@pytest.mark.parametrize("layer", ["encoder.blocks.1.relu2", "encoder.blocks.6.relu2", "ar.blocks.4.relu"])
def test_200_steps_multiply_the_target_activation_robustly(shipped, layer):
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize import measure, optimize
    from immersions_osc.optimize.start import start_clip

    start = start_clip("noise", 4 * 44100, 44100, seed=0)
    targets = [Target(layer, channels=least_active_live_channels(shipped, start, layer))]
    before = measure(shipped, start, targets)[0]
    run = optimize(shipped, start, targets, OptimizeConfig(steps=200))
    loop = run.loop()
    after = measure(shipped, loop, targets)[0]
    print(f"{layer} {targets[0].channels}: {before:.4f} -> {after:.4f} (x{after / before:.0f})")
    assert after >= 5 * before
    for seed in range(3):  # robustness: a random circular shift and pitch shift keep >= 50 % of the gain
        moved = random_pitch_shift(0.5)(random_time_shift(1.0)(loop.unsqueeze(0), gen(seed)), gen(seed))[0]
        assert measure(shipped, moved, targets)[0] - before >= 0.5 * (after - before)
    assert torch.isfinite(loop).all() and loop.abs().max() <= 1.0  # never NaN, peaks <= 0 dBFS
    jump, typical_step, wrap_flux, typical_flux = wrap_click(loop)
    assert jump <= 5 * typical_step and wrap_flux <= 2 * typical_flux  # no click at the loop point


def test_start_clips(tmp_path):
    import soundfile as sf

    from immersions_osc.optimize.start import start_clip

    silence = start_clip("silence", 1000, 44100)
    assert 0 < silence.abs().max() < 1e-4  # an inaudible dither: exact zeros have no gradient
    assert 0.005 < float(start_clip("noise", 44100, 44100).std()) < 0.02
    sf.write(tmp_path / "s.wav", np.sin(np.arange(22050) / 10.0) * 0.5, 22050)
    clip = start_clip(str(tmp_path / "s.wav"), 100_000, 44100)
    assert clip.shape == (100_000,) and clip.abs().max() > 0.4  # resampled and looped to length
    assert torch.equal(start_clip("previous", 10, 44100, previous=torch.arange(4.0)),
                       torch.tensor([0.0, 1, 2, 3, 0, 1, 2, 3, 0, 1]))
    for bad, message in (("previous", "needs a previous loop"), ("nowhere.wav", "cannot use .nowhere.wav.: no such file")):
        with pytest.raises(UserError, match=message):
            start_clip(bad, 10, 44100)
    (tmp_path / "junk.wav").write_bytes(os.urandom(2000))
    with pytest.raises(UserError, match="not an audio file"):
        start_clip(str(tmp_path / "junk.wav"), 10, 44100)


def test_render_cli_writes_wav_png_json_and_explains_mistakes(tmp_path):
    import json
    import subprocess
    import sys

    import soundfile as sf

    def render(*args):
        return subprocess.run([sys.executable, "-m", "immersions_osc", "render", *args], capture_output=True,
                              text=True, timeout=600, cwd=REPO)

    out = tmp_path / "loop.wav"
    proc = render("--layer", "ar.blocks.0.relu", "--channels", "3", "--steps", "5", "--seconds", "2",
                  "--device", "cpu", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    audio, sr = sf.read(out)
    assert sr == 44100 and len(audio) == 88200 and np.abs(audio).max() <= 1.0
    record = json.loads((tmp_path / "loop.json").read_text())
    assert record["target"]["channels"] == [3] and record["optimize"]["steps"] == 5
    assert (tmp_path / "loop.png").stat().st_size > 1000
    for args, message in ((["--layer", "nope"], "unknown layer 'nope'; valid layers: encoder.blocks.0.relu1"),
                          (["--layer", "ar.blocks.0.relu", "--channels", "999"], "channel 999 out of range"),
                          (["--layer", "ar.blocks.0.relu", "--start", "missing.wav"], "cannot use")):
        proc = render(*args, "--steps", "1", "--out", str(tmp_path / "e.wav"))
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_objective_penalties_do_what_they_say():
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.objective import objective

    target = Target("layer", channels=[0])
    quiet_rest = {"layer": torch.zeros(1, 4, 3, 5)}
    quiet_rest["layer"][:, 0] = 1.0
    loud_rest = {"layer": quiet_rest["layer"].clone()}
    loud_rest["layer"][:, 1:] = 2.0
    mask = neuron_mask(target, {"layer": (4, 3)})
    low = torch.full((1, 1, 10, 5), -20.0)
    low[:, :, :2] = 0.0  # energy at low bins
    high = torch.full((1, 1, 10, 5), -20.0)
    high[:, :, -2:] = 0.0  # the same energy at high bins
    plain = OptimizeConfig()
    loss, gain = objective(quiet_rest, low, [target], [mask], plain)
    assert float(gain) == 1.0 and float(loss) == -1.0  # maximize the target mean
    energy = OptimizeConfig(energy_penalty=0.5)
    assert objective(loud_rest, low, [target], [mask], energy)[0] > objective(quiet_rest, low, [target], [mask], energy)[0]
    hf = OptimizeConfig(high_frequency_penalty=1.0)
    assert objective(quiet_rest, high, [target], [mask], hf)[0] > objective(quiet_rest, low, [target], [mask], hf)[0]
    sparse = OptimizeConfig(sparsity_penalty=1.0)
    assert objective(quiet_rest, low, [target], [mask], sparse)[0] > objective(quiet_rest, low - 5, [target], [mask], sparse)[0]
    suppress = Target("layer", channels=[0], weight=-1.0)
    assert float(objective(quiet_rest, low, [suppress], [mask], plain)[0]) == 1.0  # weight < 0 suppresses


def test_render_is_reproducible_with_a_seed_and_sweeps_every_block(tmp_path):
    import subprocess
    import sys

    import soundfile as sf

    def render(*args):
        proc = subprocess.run([sys.executable, "-m", "immersions_osc", "render", "--steps", "3", "--seconds", "1",
                               "--device", "cpu", *args], capture_output=True, text=True, timeout=600, cwd=REPO)
        assert proc.returncode == 0, proc.stderr[-2000:]

    for name in ("a", "b"):
        render("--layer", "encoder.blocks.3.relu2", "--seed", "7", "--out", str(tmp_path / f"{name}.wav"))
    assert np.array_equal(sf.read(tmp_path / "a.wav")[0], sf.read(tmp_path / "b.wav")[0])
    render("--sweep", "--steps", "1", "--out", str(tmp_path / "sweep" / "x.wav"))
    wavs = sorted(p.name for p in (tmp_path / "sweep").glob("*.wav"))
    assert len(wavs) == 8 + 9 and "encoder_blocks_0_relu2.wav" in wavs and "ar_blocks_8_relu.wav" in wavs
