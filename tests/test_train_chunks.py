"""Training in chunks on a small machine: a chunk ends on a time budget with a checkpoint, and
--resume continues the run bit-exactly (same weights as one uninterrupted run), on audio files."""
import numpy as np
import soundfile as sf
import torch

from immersions_osc.checkpoint import read_checkpoint
from immersions_osc.train import CHECKPOINT_NAME, train
from test_train import tiny_config


def _folder(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        t = np.arange(44100 * 8) / 44100
        audio = 0.2 * np.sin(2 * np.pi * (110 * (i + 1)) * t) + 0.05 * rng.standard_normal(len(t))
        sf.write(folder / f"{i}.wav", audio.astype(np.float32), 44100)
    return str(folder)


def test_time_budget_chunks_resume_bit_exactly(tmp_path):
    cfg = tiny_config(data={"source": "folder", "folder": _folder(tmp_path)})
    train(cfg, str(tmp_path / "whole"), show_progress=False)
    run = str(tmp_path / "chunks")
    train(cfg, run, show_progress=False, max_seconds=0.0)  # a budget already spent: one step, then stop
    assert read_checkpoint(f"{run}/{CHECKPOINT_NAME}")["step"] == 1
    train(cfg, run, resume=True, show_progress=False, max_steps=3)
    assert read_checkpoint(f"{run}/{CHECKPOINT_NAME}")["step"] == 3
    train(cfg, run, resume=True, show_progress=False)
    whole = read_checkpoint(f"{tmp_path}/whole/{CHECKPOINT_NAME}")
    chunked = read_checkpoint(f"{run}/{CHECKPOINT_NAME}")
    assert chunked["step"] == whole["step"] == 4
    for key, value in whole["model"].items():
        assert torch.equal(value, chunked["model"][key]), key
