"""The lean optimizer step (issue 28, item 2) computes what the full one did: the forward stopped
at the deepest target layer, and the scaleogram's halving with a backward of its own."""
import os

import pytest
import torch

from immersions_osc.optimize.ascent import activations_of, steady_tail
from immersions_osc.scaleogram import Scaleogram, _halve, _Halve

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def model():
    from immersions_osc.checkpoint import load_model

    return load_model(os.path.join(REPO, "checkpoints", "small.pt"))[0].eval()


@pytest.mark.parametrize("length", [1000, 1001])
def test_the_halving_backward_is_autograds(length):
    sc = Scaleogram()
    taps, h = sc.cfg.decimation_taps, sc._halfband_taps
    x = torch.randn(3, length, requires_grad=True)
    g = torch.randn(3, length // 2)
    reference = _halve(x, taps, h)  # slices and adds, differentiated by autograd
    (reference * g).sum().backward()
    expected, x.grad = x.grad, None
    y = sc._halve(x)
    assert y.grad_fn is not None and "_Halve" in type(y.grad_fn).__name__
    (y * g).sum().backward()
    assert torch.equal(y, reference)
    torch.testing.assert_close(x.grad, expected, rtol=1e-6, atol=1e-6)
    xd = torch.randn(2, 60, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: _Halve.apply(v, taps, h), (xd,))


@pytest.mark.parametrize("layer", ["encoder.blocks.3.relu2", "ar.blocks.1.relu"])
def test_the_forward_stopped_at_the_targets_gives_their_values_and_gradients(model, layer):
    n = 44100
    tail = steady_tail(model, n, [layer])
    results = []
    for layers in (None, [layer]):
        audio = (0.1 * torch.randn(2, n, generator=torch.Generator().manual_seed(0))).requires_grad_(True)
        acts, spec = activations_of(model, audio, tail=tail, redirect=True, layers=layers)
        assert layers is None or set(acts) == {layer}
        acts[layer][:, 1].mean().backward()
        results.append((acts[layer].detach(), spec.detach(), audio.grad))
    (a0, s0, g0), (a1, s1, g1) = results
    assert torch.equal(a0, a1) and torch.equal(s0, s1)
    torch.testing.assert_close(g1, g0, rtol=1e-5, atol=1e-7 * float(g0.abs().max()))


def test_an_encoder_target_does_not_run_the_autoregressive_model(model):
    calls = []
    handle = model.ar.register_forward_hook(lambda *_: calls.append(1))
    try:
        activations_of(model, torch.randn(1, 44100), layers=["encoder.blocks.3.relu2"])
        assert calls == []
        activations_of(model, torch.randn(1, 44100))
        assert calls == [1]
    finally:
        handle.remove()


def test_the_lean_copy_computes_the_models_function(model):
    from immersions_osc.model.lean import lean_copy

    lean = lean_copy(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in lean.encoder.blocks[1].modules())  # folded
    audio = (0.1 * torch.randn(2, 44100, generator=torch.Generator().manual_seed(1))).requires_grad_(True)
    results = []
    for m in (model, lean):
        audio.grad = None
        acts, _ = activations_of(m, audio)
        sum(a[:, 0].mean() for a in acts.values()).backward()
        results.append((acts, audio.grad.clone()))
    (a0, g0), (a1, g1) = results
    assert list(a0) == list(a1)
    for name in a0:
        scale = float(a0[name].detach().abs().max()) + 1e-6
        torch.testing.assert_close(a1[name], a0[name], rtol=1e-4, atol=1e-5 * scale, msg=name)
    torch.testing.assert_close(g1, g0, rtol=1e-4, atol=1e-5 * float(g0.abs().max()))
    assert next(model.encoder.parameters()).is_contiguous()  # the original is left as it was
