import json
import os
import subprocess
import sys

import pytest
import torch

from immersions_osc import atomic
from immersions_osc.checkpoint import load_model, read_checkpoint
from immersions_osc.config import parse_config
from immersions_osc.errors import UserError
from immersions_osc.train import CHECKPOINT_NAME, LOG_NAME, train

from fixtures import tiny


def tiny_config(**overrides):
    return parse_config(tiny(**overrides))


def parameters(path):
    return read_checkpoint(path)["model"]


def test_training_is_deterministic_with_a_seed(tmp_path):
    train(tiny_config(), str(tmp_path / "a"), show_progress=False)
    train(tiny_config(), str(tmp_path / "b"), show_progress=False)
    a, b = parameters(tmp_path / "a" / CHECKPOINT_NAME), parameters(tmp_path / "b" / CHECKPOINT_NAME)
    assert all(torch.equal(a[k], b[k]) for k in a)
    log = [json.loads(line) for line in open(tmp_path / "a" / LOG_NAME)]
    assert [entry["step"] for entry in log] == [1, 2, 3, 4]
    assert all({"loss", "accuracy", "clips_per_s"} <= set(entry) for entry in log)
    train(tiny_config(train={"seed": 1}), str(tmp_path / "c"), show_progress=False)
    c = parameters(tmp_path / "c" / CHECKPOINT_NAME)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_a_kill_during_checkpoint_save_keeps_the_last_good_one_and_resume_continues(tmp_path, monkeypatch):
    reference = tmp_path / "reference"
    train(tiny_config(), str(reference), show_progress=False)

    run = tmp_path / "run"
    real_replace = os.replace
    saves = {"n": 0}

    def dying_replace(src, dst):  # the process "dies" after writing the temp file of the 2nd save
        saves["n"] += 1
        if saves["n"] == 2:
            with open(src, "r+b") as fh:  # and the temp file is truncated, as after a kill
                fh.truncate(100)
            raise KeyboardInterrupt("killed during checkpoint save")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(), str(run), show_progress=False)
    monkeypatch.setattr(atomic.os, "replace", real_replace)

    assert read_checkpoint(run / CHECKPOINT_NAME)["step"] == 2  # the previous checkpoint is intact
    assert not [f for f in os.listdir(run) if f.endswith(".tmp")]  # no temp file left behind
    train(tiny_config(), str(run), resume=True, show_progress=False)
    resumed, uninterrupted = parameters(run / CHECKPOINT_NAME), parameters(reference / CHECKPOINT_NAME)
    assert read_checkpoint(run / CHECKPOINT_NAME)["step"] == 4
    # resuming reproduces the uninterrupted run exactly (same data stream, optimizer state)
    assert all(torch.allclose(resumed[k].float(), uninterrupted[k].float(), atol=1e-6) for k in resumed)


def test_refuses_to_overwrite_or_resume_nothing(tmp_path):
    with pytest.raises(UserError, match="no checkpoint to resume"):
        train(tiny_config(), str(tmp_path / "x"), resume=True, show_progress=False)
    train(tiny_config(train={"steps": 2}), str(tmp_path / "y"), show_progress=False)
    with pytest.raises(UserError, match="pass --resume"):
        train(tiny_config(), str(tmp_path / "y"), show_progress=False)


def test_resume_with_another_preset_is_a_clear_error(tmp_path):
    train(tiny_config(train={"steps": 2}), str(tmp_path), show_progress=False)
    other = tiny_config(model={"encoder_channels": None, "ar_channels": None, "preset": "seed"})
    with pytest.raises(UserError, match="holds a preset 'small'.*but the config asks for preset 'seed'"):
        train(other, str(tmp_path), resume=True, show_progress=False)


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "immersions_osc", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.mark.parametrize("args, message", [
    (["probe", "--checkpoint", "missing.pt"], "checkpoint not found: missing.pt"),
    (["train", "--out", "o", "--folder", "no/such/folder"], "audio folder not found"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    proc = run_cli(*args)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("immersions-osc: error: ")
    assert message in proc.stderr


def test_cli_rejects_a_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(os.urandom(1000))
    proc = run_cli("probe", "--checkpoint", str(bad))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "not a readable Immersions checkpoint" in proc.stderr


def test_cli_empty_and_corrupt_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for i in range(3):
        (corrupt / f"{i}.wav").write_bytes(os.urandom(5000))
    for folder in (empty, corrupt):
        proc = run_cli("train", "--out", str(tmp_path / "out"), "--folder", str(folder), "--steps", "1")
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("immersions-osc: error: ")


def test_torchrun_two_processes_gloo(tmp_path):
    cfg_path = tmp_path / "tiny.yaml"
    from immersions_osc.config import save_config

    save_config(tiny_config(), cfg_path)
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531",
         "-m", "immersions_osc", "train", "--config", str(cfg_path), "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    payload = read_checkpoint(tmp_path / "ddp" / CHECKPOINT_NAME)
    assert payload["step"] == 4 and payload["world_size"] == 2
    log = [json.loads(line) for line in open(tmp_path / "ddp" / LOG_NAME)]
    assert len(log) == 4  # only rank 0 logs
    model, _, _ = load_model(tmp_path / "ddp" / CHECKPOINT_NAME)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_cli_probe_with_a_checkpoint_of_another_preset(tmp_path):
    from immersions_osc.config import save_config

    train(tiny_config(train={"steps": 1}), str(tmp_path / "run"), show_progress=False)
    seed_cfg = tmp_path / "seed.yaml"
    save_config(parse_config({"model": {"preset": "seed"}}), seed_cfg)
    proc = run_cli("probe", "--checkpoint", str(tmp_path / "run" / CHECKPOINT_NAME), "--config", str(seed_cfg))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("immersions-osc: error: ") and "but the config asks for preset 'seed'" in last
