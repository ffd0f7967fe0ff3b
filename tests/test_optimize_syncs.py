"""The optimizer's hot loop never makes the host wait for the device (issue 28, item 3):
``immersions_osc.syncs.count_syncs`` counts every value read (``.item()``, ``bool()``,
``float()``, a boolean-mask index ...) in one step, on the CPU, where such reads cost nothing and
so slip in unnoticed; on a GPU each would stall the step."""
import os

import pytest
import torch

from immersions_osc.config import OptimizeConfig
from immersions_osc.optimize.ascent import LoopAscent
from immersions_osc.optimize.generator import LoopGenerator
from immersions_osc.optimize.start import start_clip
from immersions_osc.optimize.targets import Target
from immersions_osc.syncs import count_syncs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def model():
    from immersions_osc.checkpoint import load_model

    return load_model(os.path.join(REPO, "checkpoints", "small.pt"))[0]


@pytest.mark.parametrize("layer", ["encoder.blocks.2.relu2", "ar.blocks.1.relu"])
def test_one_step_reads_no_value_on_the_host(model, layer):
    # the defaults (top_channel and contrast on), a batch of loops for different targets (the
    # contrast term's other loops), the default parameterization
    cfg = OptimizeConfig()
    assert cfg.top_channel > 0 and cfg.contrast > 0
    targets = [Target(layer, channels=[1]), Target(layer, channels=[2])]
    run = LoopAscent(model, start_clip("noise", 44100, 44100), targets, cfg, per_candidate=True, total_steps=10)
    for _ in range(4):  # warm-up, and a de-noising step (every 4th) among the counted ones below
        run.step()
    for _ in range(4):
        with count_syncs() as syncs:
            value = run.step()
        assert syncs.calls == [], syncs.calls
    assert isinstance(value, torch.Tensor) and torch.isfinite(value)
    run.check()
    assert run.loop().shape == (44100,)


def test_a_generator_step_reads_no_value_on_the_host(model):
    gen = LoopGenerator(model, start_clip("noise", 44100, 44100), [Target("ar.blocks.0.relu", channels=[1])],
                        OptimizeConfig(candidates=2), publish_every=1000)
    gen._loop_once()  # warm-up (the thread's body, one step)
    with count_syncs() as syncs:
        for _ in range(4):
            gen._loop_once()
    assert syncs.calls == [], syncs.calls
    assert gen.stats.steps == 5 and gen.stats.resets == 0


def test_a_non_finite_gradient_skips_its_update_and_is_raised_when_the_loop_is_read(model):
    run = LoopAscent(model, start_clip("noise", 44100, 44100), [Target("encoder.blocks.2.relu2", channels=[1])],
                     OptimizeConfig(parameterization="spectral"))
    run.step()
    real = run.loops_now
    run.loops_now = lambda: real() * float("nan")  # the model hears NaN: every gradient is NaN
    run.step()
    run.loops_now = real
    assert all(torch.isfinite(p).all() for p in run.param.parameters())  # the update was skipped
    with pytest.raises(FloatingPointError):
        run.loop()
    with pytest.raises(FloatingPointError):
        run.best
