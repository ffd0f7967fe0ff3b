import math
import os

import numpy as np
import pytest
import torch

from immersions_osc.errors import UserError
from immersions_osc.optimize.targets import Target, neuron_mask, time_slice
from immersions_osc.optimize.transforms import (denoise, level, noisy_gradient, peak_normalize, random_gain,
                                                random_mask, random_pitch_shift, random_time_shift,
                                                resample_circular)

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


def test_mask_fills_a_rectangle_with_the_floor_and_cuts_its_gradient():
    floor = -18.4  # log(1e-8): the scaleogram's silence
    spec = torch.randn(2, 1, 50, 40, requires_grad=True)
    masked = random_mask(0.25, 0.2, floor)(spec, gen(3))
    masked.sum().backward()
    for b in range(2):
        hole = spec.grad[b, 0] == 0
        rows, cols = hole.any(1).nonzero(), hole.any(0).nonzero()
        assert hole.sum() == 10 * 10
        assert rows.max() - rows.min() + 1 == 10 and cols.max() - cols.min() + 1 == 10
        assert (masked[b, 0][hole] == floor).all()  # silent, not loud (x 0 would be the loudest value)
        assert (spec.grad[b, 0][~hole] == 1).all() and torch.equal(masked[b, 0][~hole], spec[b, 0][~hole])
    assert not torch.equal(spec.grad[0] == 0, spec.grad[1] == 0)  # each loop gets its own hole


def test_level_brings_loops_to_the_peak_and_jitter_lowers_each_by_up_to_max_db():
    x = torch.randn(3, 1000) * torch.tensor([[0.01], [0.5], [3.0]])
    y = level(x, 0.9, 0.1)
    rms = y.pow(2).mean(-1).sqrt()
    assert torch.allclose(rms, torch.full((3,), 0.1), rtol=0.02) and (y.abs().amax(-1) <= 0.9).all()
    click = torch.zeros(1, 1000)
    click[0, 500] = 1.0  # one click cannot make the rest quiet: it is limited, not the reference
    assert float(level(click + 1e-3 * x[:1], 0.9, 0.1).abs().max()) <= 0.9
    gains = (random_gain(12.0)(y, gen(1)).pow(2).mean(-1).sqrt() / rms)
    assert (gains <= 1.0).all() and (gains >= 10 ** (-12 / 20) - 1e-6).all() and len(set(gains.tolist())) == 3
    assert torch.equal(random_gain(0.0)(y, gen(1)), y)


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


def test_noisy_gradient_is_sized_per_loop():
    """Each loop of a batch gets noise of its own gradient's scale: a loop with a gradient 1000x
    smaller than its neighbour's (a deep target beside a shallow one) keeps its direction."""
    x = torch.randn(2, 4000, requires_grad=True)
    clean = torch.randn(2, 4000, generator=gen()) * torch.tensor([[1.0], [1e-3]])
    (noisy_gradient(0.5)(x, gen()) * clean).sum().backward()
    for b in range(2):
        ratio = float((x.grad[b] - clean[b]).std() / clean[b].std())
        assert 0.4 < ratio < 0.6, (b, ratio)


def test_denoise_raises_the_signal_to_noise_ratio():
    n = 44100
    t = torch.arange(n) / 44100
    tone = 0.5 * torch.sin(2 * math.pi * 1000 * t)
    noisy = (tone + 0.05 * torch.randn(n, generator=gen())).unsqueeze(0)
    cleaned = denoise(noisy, 2.0)
    snr = lambda y: float(tone.pow(2).sum() / (y[0] - tone).pow(2).sum())
    assert snr(cleaned) > 2 * snr(noisy)
    assert torch.equal(denoise(noisy, 0.0), noisy)


def test_denoise_is_circular_so_the_loop_stays_seamless():
    """De-noising commutes with a circular shift: the wrap point is treated like any other sample
    (a non-circular STFT treats the loop's ends as edges and fails this).  The loop is a whole number
    of hops (256), so a shift by whole hops maps the frame grid onto itself."""
    n = 256 * 172
    x = (torch.sin(2 * math.pi * 441 * torch.arange(n) / n * 10) + 0.3 * torch.randn(n, generator=gen())).unsqueeze(0)
    shift = 256 * 40
    a = torch.roll(denoise(x, 1.5), shift, -1)
    b = denoise(torch.roll(x, shift, -1), 1.5)
    assert float((a - b).abs().max()) < 1e-4 * float(x.abs().max())
    y = denoise(x, 1.5)[0]
    step = (y[1:] - y[:-1]).abs()
    assert float((y[0] - y[-1]).abs()) <= 3 * float(step.median())


def test_circular_stft_is_exactly_invertible_for_any_length():
    from immersions_osc.optimize.stft import CircularSTFT

    for n in (44100, 10007):
        stft = CircularSTFT(n, 1024, 256)
        x = torch.randn(2, n, generator=gen())
        assert float((stft.synthesize(stft.analyze(x)) - x).abs().max()) < 1e-5


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
    targets = [Target("encoder.blocks.1.relu2", channels=[0])]
    run = optimize(model, start, targets, OptimizeConfig(), steps=30)
    # level-matched: the start clip at the loop's playback level (loudness alone earns nothing)
    assert measure(model, run.loop(), targets)[0] > 1.2 * measure(model, level(start[None], 0.9, 0.1)[0], targets)[0]
    assert torch.isfinite(run.loop()).all() and float(run.loop().abs().max()) <= 0.9
    assert float(run.loop().pow(2).mean().sqrt()) == pytest.approx(0.1, rel=0.05)  # the playback level


@pytest.fixture(scope="module")
def shipped():
    from immersions_osc.checkpoint import load_model

    return load_model(os.path.join(REPO, "checkpoints", "small.pt"))[0].eval()


@pytest.fixture(scope="module")
def synthetic():
    """The checkpoint trained on synthetic music (the one the penalty ranges were measured on)."""
    from immersions_osc.checkpoint import load_model

    return load_model(os.path.join(REPO, "checkpoints", "small-synth.pt"))[0].eval()


def step_loops(model, cfg, steps, start=None, targets=None):
    from immersions_osc.optimize.ascent import LoopAscent

    start = torch.randn(44100, generator=gen(5)) * 0.01 if start is None else start
    run = LoopAscent(model, start, targets or [Target("encoder.blocks.3.relu2", channels=[2])], cfg, total_steps=steps)
    for _ in range(steps):
        run.step()
    return run


@pytest.mark.parametrize("name", ["time_shift", "pitch_shift", "level_jitter", "mask", "gradient_noise", "denoise"])
def test_every_default_regularizer_is_on_and_changes_the_optimization(shipped, name):
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.ascent import DENOISE_EVERY

    # (spectral: de-noising has nothing to remove from the events parameterization, all sound)
    on = OptimizeConfig(parameterization="spectral")
    assert getattr(on, name) > 0  # on by default
    off = dataclasses_replace(on, **{name: 0.0})
    a = step_loops(shipped, on, DENOISE_EVERY).loop()
    b = step_loops(shipped, off, DENOISE_EVERY).loop()
    assert float((a - b).pow(2).mean().sqrt()) > 1e-3 * float(a.pow(2).mean().sqrt())


def dataclasses_replace(cfg, **changes):
    import dataclasses

    return dataclasses.replace(cfg, **changes)


def spectral_spread_and_centroid(model, loop):
    with torch.no_grad():
        power = model.scaleogram(loop[None])[0, 0].exp()
    share = power / power.mean()
    ramp = torch.linspace(0, 1, power.shape[0])[:, None]
    return float(share.sqrt().mean()), float((power * ramp).sum() / power.sum())


def test_penalties_act_in_their_documented_range(synthetic):
    """Weights in the documented range (1 to 10) move the figure each penalty names, within 24 steps."""
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.ascent import activations_of

    # (measured on spectral loops without top_channel: the ranges in config.py are theirs)
    cfg = OptimizeConfig(steps=24, parameterization="spectral", top_channel=0.0)
    target = [Target("encoder.blocks.3.relu2", channels=[2])]

    def run(**changes):
        return step_loops(synthetic, dataclasses_replace(cfg, **changes), 24, targets=target).loop()

    def rest_energy(loop):
        with torch.no_grad():
            a = activations_of(synthetic, loop[None])[0]["encoder.blocks.3.relu2"]
        return float(torch.cat([a[:, :2], a[:, 3:]], 1).pow(2).mean())

    plain = run()
    spread0, centroid0 = spectral_spread_and_centroid(synthetic, plain)
    assert spectral_spread_and_centroid(synthetic, run(sparsity_penalty=5.0))[0] < spread0 - 0.02
    assert spectral_spread_and_centroid(synthetic, run(high_frequency_penalty=5.0))[1] < centroid0 - 0.05
    assert rest_energy(run(energy_penalty=5.0)) < 0.95 * rest_energy(plain)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_target_change_keeps_the_optimizer_state(shipped, optimizer):
    """After a target change the optimizer carries on (momentum, Adam's moments): its first step
    heads where the carried momentum pointed (a fresh one would not), and under Adam it is not a
    fresh Adam's sign step (every sample moved by the learning rate)."""
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.ascent import LoopAscent

    cfg = OptimizeConfig(schedule="constant", optimizer=optimizer, parameterization="spectral")  # one tensor
    run = step_loops(shipped, cfg, 8)
    new = [Target("ar.blocks.2.relu", channels=[7])]
    fresh = LoopAscent(shipped, run.loop(), new, cfg)
    state = {k: dict(v) for k, v in run.optimizer.state.items()}
    run.set_targets(new)
    assert state and all(run.optimizer.state[k] is not None for k in state)  # the moments survived
    # the direction the previous steps were heading (the momentum the optimizer carries)
    v = state[run.param.param]  # the coefficients (spectral_envelope also has a band envelope)
    carried = v["exp_avg"] / (v["exp_avg_sq"].sqrt() + 1e-8) if optimizer == "adam" else v["momentum_buffer"].clone()
    before, fresh_before = run.param.param.detach().clone(), fresh.param.param.detach().clone()
    run.step()
    fresh.step()
    kept_step = run.param.param.detach() - before
    fresh_step = fresh.param.param.detach() - fresh_before
    cos = lambda a, b: float((a * b).sum() / (a.norm() * b.norm()))
    # a step goes against the (ascent) gradient's momentum: -carried is where it was heading
    assert cos(kept_step, -carried) > cos(fresh_step, -carried) + 0.1
    if optimizer == "adam":  # a fresh Adam's first step is a sign step: every sample moves by lr
        near_lr = lambda step: float(((step.abs() - cfg.learning_rate).abs() < 0.2 * cfg.learning_rate).float().mean())
        assert near_lr(fresh_step) > 0.5 and near_lr(kept_step) < 0.5 * near_lr(fresh_step), (near_lr(fresh_step), near_lr(kept_step))


def test_candidates_keep_the_best_and_per_candidate_targets_split_the_batch(shipped):
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.ascent import LoopAscent

    run = step_loops(shipped, OptimizeConfig(candidates=3, diversity=0.5), 3)
    assert run.loops().shape == (3, 44100) and run.best == int(run.score.argmax())
    assert torch.equal(run.loop(), run.loops()[run.best])
    targets = [Target("encoder.blocks.3.relu2", channels=[c]) for c in (0, 1)]
    split = LoopAscent(shipped, torch.randn(44100, generator=gen()) * 0.01, targets, OptimizeConfig(), per_candidate=True)
    assert split.terms.weights.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    split.step()
    assert split.loops().shape == (2, 44100)


@pytest.mark.parametrize("kind", ["waveform", "spectral", "spectral_envelope", "fourier", "partials", "harmonic", "events"])
def test_every_parameterization_makes_a_seamless_loop_that_rises(synthetic, kind):
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize import measure

    from immersions_osc.optimize.ascent import LoopAscent

    start = torch.randn(44100, generator=gen(5)) * 0.01
    targets = [Target("encoder.blocks.3.relu2", channels=[2])]
    # regularizers off, but for the waveform the time shift: it is what makes a waveform loop
    # seamless (the other two are periodic by construction)
    quiet = dict(pitch_shift=0.0, level_jitter=0.0, mask=0.0, gradient_noise=0.0, denoise=0.0,
                 time_shift=1.0 if kind == "waveform" else 0.0)
    run = LoopAscent(synthetic, start, targets, OptimizeConfig(parameterization=kind, objective="activation", **quiet),
                    total_steps=8)
    first = run.loop()  # the harmonic synthesizer starts from its own sound, not the start clip
    for _ in range(8):
        run.step()
    loop = run.loop()
    assert torch.isfinite(loop).all() and float(loop.abs().max()) <= 0.9
    assert measure(synthetic, loop, targets)[0] > measure(synthetic, first, targets)[0]
    # the wrap continues the waveform: its second differences are ordinary ones (the step alone
    # is no yardstick: a harmonic loop is steepest where it wraps, its partials at phase 0)
    seam_curvature = benchmark("sonification_quality").seam_curvature
    assert seam_curvature(loop.numpy()) <= 5
    t = torch.arange(loop.shape[-1]) / loop.shape[-1]
    off = torch.sin(2 * math.pi * 3.5 * t) * float(loop.abs().max())  # half a cycle off at the wrap
    assert seam_curvature(off.numpy()) > 5


def benchmark(name):
    """A module of benchmarks/ (its measures are the ones the README's figures use)."""
    import importlib
    import sys

    folder = os.path.join(REPO, "benchmarks")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def test_fourier_starts_as_the_start_and_its_denoise_keeps_partials_and_drops_the_noise():
    """The ``fourier`` parameterization is the start clip at first (up to the unit-RMS scale), and its
    de-noising keeps a loud stationary partial while it takes the broadband residue down: after a
    few passes the loop is mostly the partial (what makes pitch neurons' loops tonal)."""
    from immersions_osc.optimize.parameterize import Fourier

    sr, n = 16000, 16000
    t = torch.arange(n) / sr
    tone = torch.sin(2 * math.pi * 440 * t)
    start = torch.stack([tone * 0.1 + 0.1 * torch.randn(n, generator=gen(3)), 0.1 * torch.randn(n, generator=gen(4))])
    param = Fourier(start, gen(), sr)
    x = param.audio().detach()
    assert torch.allclose(x / x.std(dim=1, keepdim=True), start / start.std(dim=1, keepdim=True), atol=1e-4)

    def tone_share(y):
        spec = torch.fft.rfft(y).abs().pow(2)
        return float(spec[..., 440] / spec.sum())  # 1 Hz per bin: bin 440 is the partial

    before = tone_share(param.audio().detach()[0])
    for _ in range(5):
        param.denoise(1.0)
        param.renormalize()
    after = param.audio().detach()
    assert tone_share(after[0]) > 0.6 > 0.4 > before  # the partial stays, the noise fades
    assert torch.isfinite(after).all() and float(after[1].abs().max()) > 0  # noise alone: thinned, not gone


def test_partials_steps_each_coefficient_in_proportion_to_its_magnitude():
    """``partials`` is ``fourier`` (the same start, the same loop) with each coefficient's gradient
    scaled by its magnitude over the coefficients' RMS: under one and the same loss a loud partial
    gets a larger gradient than under ``fourier`` and the quiet noise a smaller one, and after a
    few plain SGD steps against a loss that asks for energy everywhere (white), the loud partial keeps
    its share of the loop under ``partials`` and loses it under ``fourier``.  Fails if the
    magnitude scaling does nothing."""
    from immersions_osc.optimize.parameterize import Fourier, Partials

    sr, n = 8000, 8000
    t = torch.arange(n) / sr
    start = (torch.sin(2 * math.pi * 440 * t) + 0.05 * torch.randn(n, generator=gen(3)))[None]
    plain, sharp = Fourier(start, gen(), sr), Partials(start, gen(), sr)
    assert torch.allclose(plain.audio(), sharp.audio())
    w = torch.randn(n, generator=gen(4))  # a loss whose gradient is white noise

    def grads(param):
        (param.audio() * w).sum().backward()
        g = torch.view_as_complex(param.param.grad).abs()[0]
        param.param.grad = None
        return g

    g_plain, g_sharp = grads(plain), grads(sharp)
    assert g_sharp[440] > 10 * g_plain[440]  # the partial (1 Hz per coefficient) steps further
    noise = torch.ones_like(g_plain, dtype=torch.bool)
    noise[435:446] = False
    assert float(g_sharp[noise].mean()) < 0.5 * float(g_plain[noise].mean())  # the quiet noise less

    def share_after(param):
        opt = torch.optim.SGD(param.parameters(), lr=0.05)
        for _ in range(5):
            opt.zero_grad()
            (-(param.audio() * w).sum()).backward()  # grow along w: white
            opt.step()
            param.renormalize()
        spec = torch.fft.rfft(param.audio().detach()[0]).abs().pow(2)
        return float(spec[440] / spec.sum())

    before = float(torch.fft.rfft(start[0]).abs().pow(2)[440] / torch.fft.rfft(start[0]).abs().pow(2).sum())
    # partials: the spectrum's shape is kept (the partial's share barely moves: 0.995 -> 0.995);
    # fourier: the white steps fill the noise floor (0.995 -> 0.88)
    assert abs(share_after(sharp) - before) < 0.01
    assert share_after(plain) < before - 0.05


def test_the_spectral_envelope_starts_as_the_start_and_moves_energy_between_bands():
    """The envelope is 0 at the start (the loop is the start clip, as with ``spectral``), and a
    step on it alone (the coefficients untouched) shifts the loop's energy towards the band the
    loss asks for: what a band-selective channel needs."""
    from immersions_osc.optimize.parameterize import Spectral, SpectralEnvelope

    sr = 22050
    start = torch.randn(2, sr, generator=gen(7)) * 0.1
    env = SpectralEnvelope(start, gen(), sr)
    assert torch.allclose(env.audio(), Spectral(start, gen(), sr).audio(), atol=1e-6)
    x = env.audio().detach()  # the start clip, at the parameters' unit scale
    assert torch.allclose(x / x.std(dim=1, keepdim=True), start / start.std(dim=1, keepdim=True), atol=1e-3)

    def band_share(x):  # share of power in 1-2 kHz
        power = torch.fft.rfft(x).abs().pow(2)
        f = torch.fft.rfftfreq(x.shape[-1], 1 / sr)
        return power[:, (f > 1000) & (f < 2000)].sum(1) / power.sum(1)

    before = band_share(env.audio().detach())
    opt = torch.optim.SGD([env.envelope], lr=1.0)
    for _ in range(5):
        opt.zero_grad()
        (-band_share(env.audio())).sum().backward()
        assert env.param.grad is not None and env.envelope.grad is not None
        env.param.grad = None
        opt.step()
    after = band_share(env.audio().detach())
    assert (after > 1.5 * before).all(), (before, after)


def test_the_played_loop_is_the_optimized_loop():
    """The service's re-levelling (``playable``) leaves an optimized loop as it is, so the target's
    activation while it plays equals the optimized one; a quiet clip is brought to the same level."""
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.service.streaming import playable

    cfg = OptimizeConfig()
    loop = level(torch.randn(1, 4000, generator=gen()), 0.9, 0.1)[0]
    assert np.array_equal(playable(loop, cfg), loop.numpy())
    quiet = torch.randn(4000, generator=gen()) * 0.01
    played = playable(quiet, cfg, optimized=False)
    assert np.sqrt(np.mean(played ** 2)) == pytest.approx(0.1, rel=0.02)


def test_the_optimizer_hears_a_loop_as_it_plays(shipped):
    """With ``tail`` the model hears the loop after itself (its steady state, what the service's
    activation stream shows): every layer's columns equal those of the loop played over and over
    (a long input of the loop repeated, whose last columns end where the loop ends), not those of
    a cold start (zero-padded past), which differ."""
    from immersions_osc.optimize.ascent import activations_of, steady_tail

    deepest = shipped.step_samples * shipped.ar.time_stride
    n = 4 * deepest  # a loop whose end is a column end of every layer in the repeated input too
    loop = level(torch.randn(1, n, generator=gen(2)), 0.9, 0.1)
    tail = steady_tail(shipped, n)
    assert tail >= shipped.window_samples and (tail + n) % deepest == 0
    repeats = math.ceil((tail + n) / n) + 1
    with torch.no_grad():
        steady, spec = activations_of(shipped, loop, tail=tail)
        repeated, _ = activations_of(shipped, loop.repeat(1, repeats))
        cold, _ = activations_of(shipped, loop)
    assert spec is not None and abs(spec.shape[-1] - cold_frames(shipped, n)) <= 1
    for name in ("encoder.blocks.0.relu1", "encoder.blocks.7.relu2", "ar.blocks.8.relu"):
        a, b = steady[name], repeated[name][..., -steady[name].shape[-1]:]
        assert a.shape[-1] == cold[name].shape[-1]  # the loop's own columns
        assert float((a - b).abs().max()) <= 1e-4 * max(1.0, float(b.abs().max()))
    deep = "ar.blocks.8.relu"
    assert float((steady[deep] - cold[deep]).abs().max()) > 1e-3 * float(steady[deep].abs().max())
    # encoder targets need only the encoder's receptive field before the loop: the same columns
    short = steady_tail(shipped, n, ["encoder.blocks.7.relu2"])
    assert short < tail
    # a layer outside the encoder, or a name the model does not have, gets the whole window
    assert steady_tail(shipped, n, ["encoder.blocks.7.relu2", "ar.blocks.0.relu"]) == tail
    assert steady_tail(shipped, n, ["encoder.no.such.layer"]) == tail
    with torch.no_grad():
        enc, _ = activations_of(shipped, loop, tail=short)
    a, b = enc["encoder.blocks.7.relu2"], steady["encoder.blocks.7.relu2"]
    assert a.shape == b.shape and float((a - b).abs().max()) <= 1e-4 * max(1.0, float(b.abs().max()))


def cold_frames(model, n):
    with torch.no_grad():
        return model.scaleogram(torch.zeros(1, n)).shape[-1]


def test_a_relu_silent_on_the_start_still_gets_a_gradient_when_redirected(shipped):
    """Lucid's redirected ReLU: the forward values are unchanged, and a neuron that is 0 everywhere
    passes its input's gradient (without redirect its gradient is exactly 0)."""
    from immersions_osc.optimize.ascent import activations_of

    x = level(torch.randn(1, 44100, generator=gen(4)), 0.9, 0.1).requires_grad_(True)
    plain, _ = activations_of(shipped, x)
    silent = [(name, c) for name, a in plain.items() if "relu" in name
              for c in range(a.shape[1]) if float(a[0, c].detach().abs().max()) == 0.0]
    assert silent, "no ReLU channel is silent on this clip"
    layer, c = silent[0]
    grad_plain, = torch.autograd.grad(plain[layer][:, c].mean(), x, allow_unused=True)
    assert grad_plain is None or float(grad_plain.abs().max()) == 0.0
    redirected, _ = activations_of(shipped, x, redirect=True)
    assert torch.equal(redirected[layer].detach(), plain[layer].detach())
    grad, = torch.autograd.grad(redirected[layer][:, c].mean(), x)
    assert float(grad.abs().max()) > 0


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
    from immersions_osc.optimize.objective import objective, target_terms

    # (top_channel off: each term alone)

    target = Target("layer", channels=[0])
    quiet_rest = {"layer": torch.zeros(1, 4, 3, 5)}
    quiet_rest["layer"][:, 0] = 1.0
    loud_rest = {"layer": quiet_rest["layer"].clone()}
    loud_rest["layer"][:, 1:] = 2.0
    mask = neuron_mask(target, {"layer": (4, 3)})
    terms = target_terms(loud_rest, [target], [mask], torch.ones(1, 1))
    low = torch.full((1, 1, 10, 5), -20.0)
    low[:, :, :2] = 0.0  # energy at low bins
    high = torch.full((1, 1, 10, 5), -20.0)
    high[:, :, -2:] = 0.0  # the same energy at high bins
    plain = OptimizeConfig(top_channel=0.0, objective="activation")
    loss, value, activation = objective(quiet_rest, low, [target], terms, plain)
    assert float(activation) == 1.0 and float(loss) == -1.0  # maximize the target mean
    ratio = OptimizeConfig(top_channel=0.0, objective="log_ratio")  # the target against the rest of its layer
    assert objective(loud_rest, low, [target], terms, ratio)[0] > objective(quiet_rest, low, [target], terms, ratio)[0] + 1
    energy = OptimizeConfig(top_channel=0.0, objective="activation", energy_penalty=0.5)  # relative to the rest's energy at the start
    assert float(objective(loud_rest, low, [target], terms, energy)[0]) == pytest.approx(-1.0 + 0.5)
    hf = OptimizeConfig(top_channel=0.0, objective="activation", high_frequency_penalty=1.0)  # the centroid, 0..1
    gap = objective(quiet_rest, high, [target], terms, hf)[0] - objective(quiet_rest, low, [target], terms, hf)[0]
    assert float(gap) == pytest.approx(8 / 9, abs=0.01)
    sparse = OptimizeConfig(top_channel=0.0, objective="activation", sparsity_penalty=1.0)  # level-free: flat noise costs 1
    flat = torch.zeros(1, 1, 10, 5)
    assert float(objective(quiet_rest, flat, [target], terms, sparse)[0]) == pytest.approx(0.0, abs=1e-5)
    assert float(objective(quiet_rest, flat - 7, [target], terms, sparse)[0]) == pytest.approx(0.0, abs=1e-5)
    assert objective(quiet_rest, low, [target], terms, sparse)[0] < -0.4
    suppress = Target("layer", channels=[0], weight=-1.0)
    negative = target_terms(loud_rest, [suppress], [mask], torch.tensor([[suppress.weight]]))
    assert float(objective(quiet_rest, low, [suppress], negative, plain)[0]) == 1.0  # weight < 0 suppresses


def test_top_channel_rewards_a_lead_over_every_other_channel_up_to_2x():
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.objective import TOP_LEAD, objective, target_terms

    target = Target("layer", channels=[0])
    mask = neuron_mask(target, {"layer": (4, 3)})
    acts = lambda mine, rival: {"layer": torch.tensor([mine, 1.0, rival, 1.0])[None, :, None, None].expand(1, 4, 3, 5)}
    terms = target_terms(acts(1.0, 1.0), [target], [mask], torch.ones(1, 1))
    spec = torch.zeros(1, 1, 10, 5)
    off = OptimizeConfig(objective="activation", top_channel=0.0)
    top = OptimizeConfig(objective="activation", top_channel=1.0)
    gap = lambda a: float(objective(a, spec, [target], terms, off)[0] - objective(a, spec, [target], terms, top)[0])
    # one rival at 4 leads the target (2): the term is about log(2 / 4); a lead of 3x earns only 2x
    assert gap(acts(2.0, 4.0)) == pytest.approx(math.log(2 / 4), abs=0.05)
    assert gap(acts(3.0, 1.0)) == pytest.approx(TOP_LEAD, abs=1e-6)
    assert gap(acts(2.0, 4.0)) < gap(acts(4.0, 2.0)) - 0.5


def test_contrast_rewards_a_target_that_answers_its_own_loop_more_than_the_others():
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.objective import TOP_LEAD, objective, target_terms

    targets = [Target("layer", channels=[0]), Target("layer", channels=[1])]
    masks = [neuron_mask(t, {"layer": (2, 1)}) for t in targets]

    def acts(rows):  # rows[b][c]: channel c's activation on loop b
        return {"layer": torch.tensor(rows)[:, :, None, None].expand(2, 2, 1, 3)}

    terms = target_terms(acts([[1.0, 1.0], [1.0, 1.0]]), targets, masks, torch.eye(2))
    spec = torch.zeros(2, 1, 10, 3)
    off = OptimizeConfig(objective="activation", top_channel=0.0)
    on = OptimizeConfig(objective="activation", top_channel=0.0, contrast=1.0)
    gap = lambda rows: float(objective(acts(rows), spec, targets, terms, off)[0] - objective(acts(rows), spec, targets, terms, on)[0])
    # loop 0 drives channel 0 at 2 and loop 1 drives it at 4: target 0 loses log 2; target 1 leads 3x (capped at 2x)
    assert gap([[2.0, 1.0], [4.0, 3.0]]) == pytest.approx(math.log(2 / 4) + TOP_LEAD, abs=0.05)
    # the same activations in a batch that shares its targets: nothing to contrast
    shared = target_terms(acts([[1.0, 1.0], [1.0, 1.0]]), targets, masks, torch.ones(2, 2))
    same = lambda cfg: float(objective(acts([[2.0, 1.0], [4.0, 3.0]]), spec, targets, shared, cfg)[0])
    assert same(off) == same(on)


@pytest.mark.parametrize("kind,layer,channel", [("spectral", "encoder.blocks.1.relu2", 5),
                                                 ("events", "encoder.blocks.3.relu2", 2)])
def test_top_channel_makes_the_target_lead_its_layer_on_the_shipped_model(shipped, kind, layer, channel):
    """The target's activation over its layer's strongest other channel's grows with the term
    (same steps, same seed; measured 0.76 -> 0.97 and 0.50 -> 0.65)."""
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.ascent import activations_of, steady_tail

    cfg = OptimizeConfig(learning_rate=0.01, schedule="constant", parameterization=kind, top_channel=0.0)

    def lead(run):
        loop = run.loop()[None]
        with torch.no_grad():
            a = activations_of(shipped, loop, tail=steady_tail(shipped, loop.shape[-1]))[0][layer][0]
        means = a.mean(dim=(1, 2))
        return float(means[channel] / torch.cat([means[:channel], means[channel + 1:]]).max())

    target = [Target(layer, channels=[channel])]
    plain = lead(step_loops(shipped, cfg, 20, targets=target))
    pushed = lead(step_loops(shipped, dataclasses_replace(cfg, top_channel=3.0), 20, targets=target))
    assert pushed > 1.15 * plain


def test_events_are_periodic_struck_voices_whose_onsets_and_pitches_move():
    """The events parameterization: a seamless loop of percussive events on the grid (its level
    varies by many dB), whose energy moves when an onset moves and whose partials carry a pitch."""
    from immersions_osc.optimize import events as ev
    from immersions_osc.optimize.parameterize import make

    sr, n = 44100, 2 * 44100
    p = make("events", torch.randn(1, n, generator=gen(1)) * 0.01, gen(2), sr)
    x = p.audio()
    lm = benchmark("loop_measures")
    assert lm.level_variation(x[0].detach().numpy(), sr) > 6  # struck, not steady
    assert benchmark("sonification_quality").seam_curvature(x[0].detach().numpy()) <= 5
    x.pow(2).sum().backward()
    assert all(q.grad is not None and float(q.grad.abs().sum()) > 0 for q in p.parameters())
    with torch.no_grad():  # one voice, one event: moving its onset moves the burst
        p.amps.fill_(-30.0)
        p.amps[0, 0, 4] = 5.0
        bins = ev.GRID * 10  # half a slot is 5 bins
        centre = lambda: int(torch.argmax(p.audio()[0, :n // bins * bins].pow(2).reshape(bins, -1).sum(1)))
        at = centre()
        p.onsets[0, 0, 4] = 3.0  # tanh(3) ~ 1: half a slot later
        assert 4 <= centre() - at <= 6
        # a tone: partials up, noise down, a steady envelope -> a pitch at the fundamental
        p.amps.fill_(5.0)
        p.log_decay.fill_(math.log(2.0))
        p.levels[..., 0] = -30.0
        p.levels[..., 1] = 0.0
        p.log2_f0.fill_(math.log2(220.0))
        p.band_gain.zero_()
        tone = p.audio()[0].numpy()
    assert lm.pitch_salience(tone, sr) > 0.8
    spectrum = np.abs(np.fft.rfft(tone))
    assert abs(np.argmax(spectrum) * sr / n - 220) < 3


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


def test_the_harmonic_synthesizer_stays_finite_at_any_amplitude():
    from immersions_osc.optimize.events import inverse_softplus

    y = torch.tensor([1e-9, 0.1, 5.0, 30.0, 1e4])
    x = inverse_softplus(y)
    assert torch.isfinite(x).all() and torch.allclose(torch.nn.functional.softplus(x), y.clamp_min(1e-12), rtol=1e-4)


def test_the_step_size_follows_the_start_unless_the_config_chose_one():
    import argparse

    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.start import STEP_FROM_NOTHING, for_start
    from immersions_osc.service.command import service_config

    default = OptimizeConfig()
    assert for_start(default, "noise").learning_rate == STEP_FROM_NOTHING == for_start(default, "silence").learning_rate
    assert for_start(default, "drums.wav").learning_rate == default.learning_rate  # music keeps its rhythm
    assert for_start(default, "previous").learning_rate == default.learning_rate
    chosen = OptimizeConfig(learning_rate=0.05)
    assert for_start(chosen, "noise").learning_rate == 0.05
    # serve and demo: the service's start decides
    args = argparse.Namespace(config=None, start="noise")
    assert service_config(args).optimize.learning_rate == STEP_FROM_NOTHING


def test_render_facets_writes_every_candidate_pushed_apart(tmp_path):
    """``render --candidates 3 --diversity 1 --facets``: three WAVs (the best first), their
    scaleograms in one PNG, each one's activation in the JSON; the candidates differ."""
    import json
    import subprocess
    import sys

    import soundfile as sf

    out = tmp_path / "x.wav"
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "render", "--layer", "encoder.blocks.3.relu2",
                           "--channels", "4", "--candidates", "3", "--diversity", "1", "--facets", "--steps", "2",
                           "--seconds", "1", "--device", "cpu", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    facets = json.loads((tmp_path / "x.json").read_text())["facets"]
    assert [f["file"] for f in facets] == [f"x.facet{k}.wav" for k in (1, 2, 3)]
    loops = [sf.read(tmp_path / f["file"])[0] for f in facets]
    assert np.array_equal(loops[0], sf.read(out)[0])  # the best is the render itself
    assert not np.allclose(loops[1], loops[2])
    assert (tmp_path / "x.facets.png").stat().st_size > 0
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "render", "--layer", "encoder.blocks.3.relu2",
                           "--facets", "--out", str(tmp_path / "y.wav")], capture_output=True, text=True, timeout=600,
                          cwd=REPO)
    assert proc.returncode == 2 and "--candidates 2 or more" in proc.stderr and "Traceback" not in proc.stderr


def test_auto_strikes_a_steady_start_and_keeps_a_rhythmic_ones_waveform():
    """``auto`` (the default): events from noise or silence, spectral from a drum loop."""
    from immersions_osc.optimize.events import Events
    from immersions_osc.optimize.parameterize import Spectral, make
    from immersions_osc.optimize.start import start_clip

    sr, n = 44100, 4 * 44100
    drums = benchmark("sonification_quality").drum_loop(n, sr)
    assert isinstance(make("auto", start_clip("noise", n, sr)[None], gen(0), sr), Events)
    assert isinstance(make("auto", start_clip("silence", n, sr)[None], gen(0), sr), Events)
    assert isinstance(make("auto", drums[None], gen(0), sr), Spectral)


class _Classifier(torch.nn.Module):
    """A tiny audio classifier: frames of 64 samples -> a linear layer -> a softmax over 8 classes
    ([B, 8, frames]), biased so that class 7 gets almost no probability on noise."""
    sample_rate = 8000
    neurons = ["probs"]

    def __init__(self, dim: int = 1):
        super().__init__()
        g = gen(11)
        self.weight = torch.nn.Parameter(torch.randn(8, 64, generator=g))
        bias = torch.zeros(8)
        bias[7] = -40.0  # p(7) ~ 1e-17 on noise: below the log-ratio's offset
        self.bias = torch.nn.Parameter(bias)
        self.probs = torch.nn.Softmax(dim=dim)
        self.dim = dim

    def forward(self, audio):
        frames = audio.reshape(audio.shape[0], -1, 64)  # [B, T, 64]
        logits = (frames @ self.weight.T + self.bias).transpose(1, 2)  # [B, 8, T]
        return self.probs(logits if self.dim == 1 else logits.transpose(1, 2))


def test_the_log_probability_objective_reads_a_softmax_s_log_and_keeps_its_gradient_where_p_underflows():
    """``objective: log_probability`` on a softmax layer maximizes the log of the target's mean
    probability over frames, computed from the softmax's input: equal to log of the output where that is finite, and its
    gradient on the loop does not vanish for a class the start gives ~1e-17 (the log-ratio's,
    whose offset flattens log(p + eps) there, is ~1e-10 of it).  A softmax over another axis than
    the channels, or a layer that is no probability, falls back to the log-ratio."""
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.optimize.ascent import LoopAscent, activations_of, log_probabilities

    model = _Classifier()
    audio = torch.randn(2, 640, generator=gen(12)) * 0.1
    logp: dict = {}
    acts, _ = activations_of(model, audio, log_probs=logp)
    assert set(logp) == {"probs"}
    assert torch.allclose(logp["probs"][:, :7].exp(), acts["probs"][:, :7], atol=1e-6)
    assert float(logp["probs"][:, 7].detach().max()) < -30  # finite, where the softmax's own p is ~0

    def gradient(objective):
        run = LoopAscent(model, audio[0], [Target("probs", channels=[7])],
                         OptimizeConfig(objective=objective, parameterization="waveform", pitch_shift=0.0,
                                        level_jitter=0.0, mask=0.0, gradient_noise=0.0, time_shift=0.0,
                                        normalize_gradient=False, top_channel=0.0, contrast=0.0))
        run.step()
        return float(run.param.param.grad.abs().max())

    assert gradient("log_probability") > 1e6 * gradient("log_ratio")  # 0.03 against 1e-9
    # a softmax over the frames is no class probability of the channels; a sigmoid is
    other = _Classifier(dim=2)
    x = torch.randn(1, 8, 10)
    assert log_probabilities(other.probs, (x,), torch.softmax(x, dim=2)) is None
    assert torch.allclose(log_probabilities(torch.nn.Sigmoid(), (x,), torch.sigmoid(x)).exp(), torch.sigmoid(x))
    assert log_probabilities(torch.nn.ReLU(), (x,), torch.relu(x)) is None
    # the log of the mean probability over frames (as log_ratio takes it), not the mean of the logs
    from immersions_osc.optimize.objective import log_mean_probability

    lp = torch.log(torch.tensor([[[0.9, 1e-10]], [[0.5, 0.5]]]))  # [B, 1 channel, 2 frames]
    got = log_mean_probability({"p": lp}, Target("p", channels=[0]), torch.ones(1, 1, dtype=torch.bool))
    assert torch.allclose(got, torch.log(torch.tensor([0.45, 0.5])), atol=1e-6)
