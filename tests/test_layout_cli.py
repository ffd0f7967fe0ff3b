import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from immersions_osc.activations import capture_activations
from immersions_osc.checkpoint import load_model
from immersions_osc.config import parse_config, save_config
from immersions_osc.images import read_png
from immersions_osc.layout.export import load_layout
from immersions_osc.train import train


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    cfg = parse_config({
        "model": {"encoder_channels": [2, 2, 4, 4, 4, 4, 8, 8], "ar_channels": [8] * 9, "prediction_steps": 4},
        "train": {"steps": 1, "batch_size": 2, "device": "cpu"},
        "data": {"num_workers": 0},
        "layout": {"iterations_coarse": 30, "iterations_fine": 10},
    })
    train(cfg, str(root / "run"), show_progress=False)
    save_config(cfg, root / "c.yaml")
    return root


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "immersions_osc", *args], capture_output=True, text=True, timeout=600)


def test_layout_command_writes_positions_pictures_and_snapshots(tiny_checkpoint):
    out = tiny_checkpoint / "layout.npz"
    proc = run_cli("layout", "--checkpoint", str(tiny_checkpoint / "run" / "checkpoint.pt"), "--config",
                   str(tiny_checkpoint / "c.yaml"), "--out", str(out), "--clips", "2", "--snapshots", "3",
                   "--png", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr[-2000:]
    layout = load_layout(out)
    model, cfg, _ = load_model(tiny_checkpoint / "run" / "checkpoint.pt")
    with torch.no_grad():
        acts = capture_activations(model.eval(), torch.randn(1, 44100))
    # one vertex per (layer, channel, frequency) of every nonlinearity
    expected = sum(a.shape[1] * (a.shape[2] if a.dim() == 4 else 1) for a in acts.values())
    assert layout.positions.shape == (expected, 2) and np.isfinite(layout.positions).all()
    assert layout.animation.shape == (3, expected, 2)
    assert len(layout.layer_names) == len(acts)
    for name in ("layout.png", "layout-activation.png"):
        assert read_png(tiny_checkpoint / name).std() > 5
    assert os.path.isfile(tiny_checkpoint / "layout.json")


@pytest.mark.parametrize("args, message", [
    (["--out", "layout.txt"], "--out must name a .npz file"),
    (["--clips", "0"], "--clips must be >= 1"),
    (["--checkpoint", "nope.pt"], "checkpoint not found"),
])
def test_layout_command_bad_input(tiny_checkpoint, args, message):
    base = ["layout", "--checkpoint", str(tiny_checkpoint / "run" / "checkpoint.pt"), "--out",
            str(tiny_checkpoint / "x.npz")]
    proc = run_cli(*base, *args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and message in proc.stderr
