import os
import time

import pytest
import torch

from immersions_osc.config import OptimizeConfig, ConfigError
from immersions_osc.optimize.generator import LoopGenerator
from immersions_osc.optimize.start import start_clip
from immersions_osc.optimize.targets import Target

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def model():
    from immersions_osc.checkpoint import load_model

    return load_model(os.path.join(REPO, "checkpoints", "small.pt"))[0]


def wait_for(condition, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_publishes_loops_without_blocking_readers_and_applies_changes(model):
    published = []
    gen = LoopGenerator(model, start_clip("noise", 44100, 44100), [Target("ar.blocks.0.relu", channels=[1])],
                        OptimizeConfig(), publish_every=5, on_publish=published.append).start()
    try:
        assert wait_for(lambda: gen.latest().version >= 2)
        reads = []
        for _ in range(50):  # readers never wait for a step (a step takes tens of ms)
            t0 = time.perf_counter()
            loop = gen.latest()
            reads.append(time.perf_counter() - t0)
        assert max(reads) < 0.005 and loop.audio.shape == (44100,)
        assert [p.version for p in published[:2]] == [1, 2]
        assert not torch.equal(published[0].audio, published[1].audio)  # the loop keeps changing

        gen.set_params(learning_rate=0.01)
        gen.set_targets([Target("encoder.blocks.2.relu2", channels=[0])])
        assert wait_for(lambda: gen._run.targets[0].layer == "encoder.blocks.2.relu2")
        assert wait_for(lambda: gen._run.optimizer.param_groups[0]["lr"] == 0.01)
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
                self.audio[0, 100] = float("nan")
        return value

    monkeypatch.setattr(type(gen._run), "step", sometimes_nan)
    gen.start()
    try:
        assert wait_for(lambda: gen.stats.resets == 1 and gen.latest().version >= 4)
        assert torch.isfinite(gen.latest().audio).all()
    finally:
        gen.stop()
    assert gen.stats.last_error
