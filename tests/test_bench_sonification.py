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
