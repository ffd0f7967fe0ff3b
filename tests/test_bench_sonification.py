"""The sonification benchmark's measures (benchmarks/sonification_quality.py), on hand-made layers."""
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
sq = pytest.importorskip("sonification_quality")


lm = pytest.importorskip("loop_measures")


def test_an_unchanged_layer_has_gain_selectivity_and_specificity_one():
    base = torch.rand(16, generator=torch.Generator().manual_seed(0)) + 0.5
    m = lm.target_figures(base, torch.stack([base, base]), 0, 3)
    assert m["gain"] == pytest.approx(1) and m["selectivity"] == pytest.approx(1)
    assert m["specificity"] == pytest.approx(1) and m["top"] == (int(base.argmax()) == 3)


def test_selectivity_is_the_gain_over_the_layer_totals_gain():
    base = torch.full((16,), 1.0)
    louder = base * 3  # every channel x3: loudness is not selectivity
    m = lm.target_figures(base, louder[None], 0, 3)
    assert m["gain"] == pytest.approx(3, rel=0.01) and m["selectivity"] == pytest.approx(1)
    alone = base.clone()
    alone[3] = 4.0  # the target alone x4: the layer total grows by 3/16
    m = lm.target_figures(base, alone[None], 0, 3)
    assert m["gain"] == pytest.approx(4, rel=0.01) and m["selectivity"] == pytest.approx(4 / (19 / 16), rel=0.01)
    assert m["top"]


def test_a_woken_silent_channel_barely_moves_selectivity():
    """The mean-of-gains selectivity fell below 0.2 here; the layer total's gain hardly moves."""
    base = torch.ones(10)
    base[7] = 0.0
    now = base.clone()
    now[0] = 3.0
    now[7] = 1.0  # woke from silence to the layer's level
    m = lm.target_figures(base, now[None], 0, 0)
    assert m["selectivity"] > 2  # (the mean of the others' gains gave 0.23)


def test_specificity_is_the_own_loop_over_the_best_other_loop():
    base = torch.ones(4)
    means = torch.tensor([[2.0, 1, 1, 1], [1.0, 3, 1, 1], [1.5, 1, 1, 1]])
    assert lm.target_figures(base, means, 0, 0)["specificity"] == pytest.approx(2.01 / 1.51, rel=1e-3)
    assert lm.target_figures(base, means, 1, 1)["specificity"] == pytest.approx(3.01 / 1.01, rel=1e-3)


def test_spectrum_correlations_split_same_and_other_groups():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(32), rng.standard_normal(32)
    spectra = np.stack([a, a + 0.01 * rng.standard_normal(32), b])
    within, across = lm.spectrum_correlations(spectra, ["x", "x", "y"])
    assert within > 0.99 and abs(across) < 0.5


def test_audio_measures_tell_noise_from_beats_and_tones():
    sr = 44100
    t = np.arange(2 * sr) / sr
    noise = np.random.default_rng(1).standard_normal(2 * sr)
    beats = noise * np.exp(-(t % 0.5) * 20)
    tone = np.sin(2 * np.pi * 220 * t)
    assert lm.level_variation(noise, sr) < 1 < 6 < lm.level_variation(beats, sr)
    assert lm.onset_strength(noise, sr) < 3 < 20 < lm.onset_strength(beats, sr)
    assert lm.pitch_salience(noise, sr) < 0.3 < 0.9 < lm.pitch_salience(tone, sr)


def test_silent_shares_count_the_channels_below_one_percent_of_the_layer_mean():
    """benchmarks/silent_channels.py on the shipped model: one share per block and clip, and it
    is the share it says (recomputed here from the activations)."""
    from immersions_osc.checkpoint import load_model
    from immersions_osc.optimize.ascent import activations_of, steady_tail
    from immersions_osc.optimize.transforms import level

    silent = pytest.importorskip("silent_channels")
    model = load_model(os.path.join(os.path.dirname(__file__), "..", "checkpoints", "small.pt"))[0].eval()
    n = 44100
    clips = torch.stack([silent.coloured_noise(n, 44100, tilt, 0) for tilt in (0.0, -1.0)])
    shares = silent.silent_shares(model, clips)
    with torch.no_grad():
        acts, _ = activations_of(model, level(clips, 0.9, 0.1), tail=steady_tail(model, n))
    layer = "ar.blocks.8.relu"
    means = acts[layer].reshape(2, acts[layer].shape[1], -1).mean(-1)
    for k in range(2):
        expected = sum(float(m) < 0.01 * float(means[k].mean()) for m in means[k]) / means.shape[1]
        assert float(shares[layer][k]) == pytest.approx(expected)
    assert all(s.shape == (2,) and bool(((s >= 0) & (s <= 1)).all()) for s in shares.values())
