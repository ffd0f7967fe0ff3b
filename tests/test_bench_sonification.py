"""The sonification benchmark's measures (benchmarks/sonification_quality.py), on hand-made layers."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
sq = pytest.importorskip("sonification_quality")


def test_an_unchanged_layer_has_gain_and_selectivity_one():
    base = torch.rand(16, generator=torch.Generator().manual_seed(0)) + 0.5
    m = sq.measures(base, base.clone(), 3)
    assert m["gain"] == pytest.approx(1) and m["selectivity"] == pytest.approx(1) and m["woken"] == 0


def test_selectivity_is_the_target_gain_over_the_mean_gain_of_the_others():
    base = torch.rand(16, generator=torch.Generator().manual_seed(1)) + 0.5
    now = base.clone()
    now[3] *= 4  # the target alone x4 (up to the offset that keeps silent channels finite)
    m = sq.measures(base, now, 3)
    assert 3.9 < m["gain"] <= 4 and m["selectivity"] == pytest.approx(m["gain"])
    now[5] = base[5] * 40  # one other channel x40: the mean of the others' gains rises by ~39/15
    woke = sq.measures(base, now, 3)
    assert woke["selectivity"] < m["selectivity"] / 2


def test_a_silent_channel_that_wakes_counts_as_woken():
    base = torch.ones(10)
    base[7] = 0.0
    now = base.clone()
    now[7] = 1.0  # from silence to the layer's level
    m = sq.measures(base, now, 0)
    assert m["woken"] == pytest.approx(1 / 9) and m["selectivity"] < 0.2
    # taken as one, the rest of the layer barely moved: the woken channel is small beside it
    assert m["together"] > 0.85
    # and among the others that were active on the start nothing changed
    assert m["active"] == pytest.approx(1)


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
