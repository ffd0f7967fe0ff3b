import json
import subprocess
import sys

import pytest
import torch

from immersions_osc.config import parse_config
from immersions_osc.errors import UserError
from immersions_osc.probe import crops_of, fit_linear_probe, split_by_file


def test_split_never_puts_one_file_on_both_sides():
    labels = torch.tensor([0] * 12 + [1] * 12 + [2] * 6)
    files = torch.arange(30) // 3  # 3 crops per file, 10 files
    for seed in range(5):
        train, test = split_by_file(labels, files, 0.3, seed)
        assert not set(files[train].tolist()) & set(files[test].tolist())
        assert len(train) + len(test) == 30
        assert set(labels[test].tolist()) == {0, 1, 2}  # stratified: every class is tested


def test_split_needs_two_files_per_class():
    with pytest.raises(UserError, match="at least 2"):
        split_by_file(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 2]), 0.3, 0)


def test_linear_probe_separates_separable_features():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 4
    x = torch.randn(200, 16, generator=g) * 0.3
    x[torch.arange(200), y] += 3.0
    loss, accuracy = fit_linear_probe(x[:150], y[:150], x[150:], y[150:], 4, 1e-3)
    assert accuracy == 1.0 and loss < 0.2
    # and reports chance-level results on pure noise
    noise = torch.randn(200, 16, generator=g)
    _, accuracy = fit_linear_probe(noise[:150], y[:150], noise[150:], y[150:], 4, 1e-3)
    assert accuracy < 0.5


def test_crops_are_evenly_spaced_and_skip_short_files():
    import numpy as np

    audio = np.arange(100, dtype=np.float32)
    crops = crops_of(audio, 40, 3)
    assert [c[0] for c in crops] == [0, 30, 60] and all(len(c) == 40 for c in crops)
    assert crops_of(audio[:30], 40, 3) == []


def test_probe_cli_end_to_end(tmp_path):
    from immersions_osc.config import save_config
    from immersions_osc.train import train

    cfg = parse_config({
        "model": {"encoder_channels": [4, 4, 8, 8, 8, 8, 16, 16], "ar_channels": [16] * 9, "prediction_steps": 4},
        "train": {"steps": 2, "batch_size": 4, "checkpoint_every": 2, "device": "cpu"},
        "data": {"num_workers": 0},
        "probe": {"crops_per_file": 2, "supervised_epochs": 1},
    })
    train(cfg, str(tmp_path / "run"), show_progress=False)
    cfg_path = tmp_path / "c.yaml"
    save_config(cfg, cfg_path)
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "probe", "--checkpoint",
                           str(tmp_path / "run" / "checkpoint.pt"), "--config", str(cfg_path),
                           "--files-per-class", "3", "--device", "cpu", "--out", str(tmp_path / "p.json")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "random init (frozen)" in proc.stdout and "supervised from scratch" in proc.stdout
    report = json.loads((tmp_path / "p.json").read_text())
    names = [r["name"] for r in report["rows"]]
    for want in ("c (last step)", "best layer by train-split CV", "supervised from scratch",
                 "log-CQT mean+std", "MFCC mean+std", "onset tempogram"):
        assert any(want in n for n in names), (want, names)
    assert sum(n.startswith("random init") and r["kind"] == "model" for n, r in zip(names, report["rows"])) == 2
    layers = [r for r in report["rows"] if r["kind"] == "layer"]
    assert len(layers) == 2 * 25  # every nonlinearity of both models (8 + 9 blocks: 25 layers)
    for r in report["rows"]:
        assert 0.0 <= r["accuracy"] <= 1.0 and r["loss"] > 0
        assert r["low"] <= r["accuracy"] <= r["high"]


def test_bootstrap_interval_is_over_groups():
    from immersions_osc.probe import bootstrap_interval

    # two groups: one all right, one all wrong; the interval spans what resampling groups can give
    correct = torch.tensor([True] * 10 + [False] * 10)
    groups = torch.tensor([0] * 10 + [1] * 10)
    low, high = bootstrap_interval(correct, groups)
    assert low == 0.0 and high == 1.0
    # many groups of consistent results: a tight interval around the accuracy
    correct = torch.arange(200) % 4 != 0
    groups = torch.arange(200) // 2
    low, high = bootstrap_interval(correct, groups)
    assert low < 0.75 < high and high - low < 0.2


def test_l2_is_chosen_by_grouped_cross_validation():
    from immersions_osc.probe import choose_l2

    g = torch.Generator().manual_seed(1)
    y = torch.arange(40) % 2
    files = torch.arange(40) // 2
    # features unrelated to the labels: a weak penalty over-fits, a strong one stays near chance
    noise = torch.randn(40, 60, generator=g)
    assert choose_l2(noise, y, files, 2, (1e-5, 1.0), 4, 0) == 1.0
    # one clean, strong feature: the weak penalty fits it better
    signal = torch.randn(40, 3, generator=g) * 0.1
    signal[:, 0] += 2 * y - 1
    assert choose_l2(signal, y, files, 2, (1e-5, 1.0), 4, 0) == 1e-5
