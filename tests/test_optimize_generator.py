import os
import threading

import pytest
import torch

from immersions_osc.config import OptimizeConfig, ConfigError
from immersions_osc.optimize.generator import LoopGenerator
from immersions_osc.optimize.start import start_clip
from immersions_osc.optimize.targets import Target

from service_harness import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def model():
    from immersions_osc.checkpoint import load_model

    return load_model(os.path.join(REPO, "checkpoints", "small.pt"))[0]


def test_publishes_loops_without_blocking_readers_and_applies_changes(model, monkeypatch):
    published = []
    gen = LoopGenerator(model, start_clip("noise", 44100, 44100), [Target("ar.blocks.0.relu", channels=[1])],
                        OptimizeConfig(), publish_every=5, on_publish=published.append).start()
    try:
        assert wait_until(lambda: gen.latest().version >= 2, 60)
        # readers never wait for a step: with a step held up, latest() still answers
        entered, release = threading.Event(), threading.Event()
        ascent_class = type(gen._run)
        real_step = ascent_class.step

        def held_step(run):
            entered.set()
            release.wait(30)
            return real_step(run)

        monkeypatch.setattr(ascent_class, "step", held_step)
        assert entered.wait(30)
        reads = []
        reader = threading.Thread(target=lambda: reads.append(gen.latest()))
        reader.start()
        reader.join(10)  # generous: a read takes microseconds; a wait would last until release
        answered_during_step = not reader.is_alive()
        release.set()
        monkeypatch.setattr(ascent_class, "step", real_step)
        assert answered_during_step and reads[0].audio.shape == (44100,)
        assert [p.version for p in published[:2]] == [1, 2]
        assert not torch.equal(published[0].audio, published[1].audio)  # the loop keeps changing

        gen.set_params(learning_rate=0.01)
        gen.set_targets([Target("encoder.blocks.2.relu2", channels=[0])])
        assert wait_until(lambda: gen._run.targets[0].layer == "encoder.blocks.2.relu2", 60)
        assert wait_until(lambda: gen._run.optimizer.param_groups[0]["lr"] == 0.01, 60)
        with pytest.raises(ConfigError):
            gen.set_params(learning_rate=-1.0)  # rejected at once, never reaches the thread
    finally:
        gen.stop()
    assert not gen.running


def test_a_non_finite_step_restores_the_last_good_loop(model, monkeypatch):
    gen = LoopGenerator(model, start_clip("noise", 44100, 44100), [Target("ar.blocks.0.relu", channels=[1])],
                        OptimizeConfig(), publish_every=2)
    real_step = type(gen._run).step
    calls = {"n": 0}

    def sometimes_nan(self):
        calls["n"] += 1
        value = real_step(self)
        if calls["n"] == 5:
            with torch.no_grad():
                self.param.parameters()[0].view(-1)[100] = float("nan")  # any parameterization
        return value

    monkeypatch.setattr(type(gen._run), "step", sometimes_nan)
    gen.start()
    try:
        assert wait_until(lambda: gen.stats.resets == 1 and gen.latest().version >= 4, 60)
        assert torch.isfinite(gen.latest().audio).all()
    finally:
        gen.stop()
    assert gen.stats.last_error


def test_a_loop_is_published_after_publish_every_steps_toward_its_own_targets(model):
    """The publish counter starts again at a target change and at a restart, and a restart begins
    from the given start, not from the loop optimized for the previous targets."""
    seen = []  # (steps_on_target, the targets' first layer, audio)
    # (spectral: its loop is the start's waveform at first, so "from the tone" can be read off it)
    gen = LoopGenerator(model, start_clip("noise", 44100, 44100), [Target("ar.blocks.0.relu", channels=[1])],
                        OptimizeConfig(parameterization="spectral"), publish_every=3,
                        on_publish=lambda p: seen.append((p.steps_on_target, gen.targets[0].layer, p.audio)))
    gen.start()
    try:
        assert wait_until(lambda: len(seen) >= 1, 60)
        gen.set_targets([Target("encoder.blocks.2.relu2", channels=[0])])
        assert wait_until(lambda: any(layer == "encoder.blocks.2.relu2" for _, layer, _ in seen), 60)
        tone = 0.1 * torch.sin(2 * torch.pi * 440 * torch.arange(44100) / 44100)
        gen.restart([Target("ar.blocks.1.relu", channels=[2])], tone)
        assert wait_until(lambda: any(layer == "ar.blocks.1.relu" for _, layer, _ in seen), 60)
    finally:
        gen.stop()
    for steps, layer, _ in seen:
        assert steps > 0 and steps % 3 == 0, seen  # counted toward the targets it was published for
    firsts = {}
    for steps, layer, audio in seen:
        firsts.setdefault(layer, (steps, audio))
    assert firsts["encoder.blocks.2.relu2"][0] == 3 and firsts["ar.blocks.1.relu"][0] == 3
    restarted = firsts["ar.blocks.1.relu"][1]
    before = [a for _, layer, a in seen if layer == "encoder.blocks.2.relu2"][-1]

    def corr(a, b):
        return float(torch.dot(a, b) / (a.norm() * b.norm() + 1e-12))

    assert corr(restarted, tone) > 0.8 > abs(corr(restarted, before))  # from the tone, not the last loop
