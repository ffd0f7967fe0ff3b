"""Files the project reads and writes hold up against crafted input and real faults: a crafted
checkpoint cannot run code, a training run killed with SIGKILL in the middle of a checkpoint save
leaves no temp file after the next start and resumes, a config with NaN/inf or of the wrong kind
is one clear error, and a layout file cannot smuggle out-of-range or duplicate neurons."""
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from immersions_osc.checkpoint import read_checkpoint, save_checkpoint
from immersions_osc.config import ConfigError, load_config, parse_config, save_config
from immersions_osc.errors import UserError

from fixtures import tiny

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = os.path.join(REPO, "checkpoints", "small.pt")
# training without end (killed mid-run), a checkpoint every step
TINY = tiny(train={"steps": 100000, "checkpoint_every": 1})


# --- checkpoints -----------------------------------------------------------------------------------

class _Payload:
    """What a crafted checkpoint pickles: unpickling it calls ``open(marker, "w")``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_checkpoint_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    crafted = tmp_path / "crafted.pt"
    torch.save({"format": "immersions-checkpoint", "version": 1, "x": _Payload(str(marker))}, crafted)
    with pytest.raises(UserError, match="holds objects other than weights"):
        read_checkpoint(crafted)
    assert not marker.exists()
    # the same with a raw pickle (no torch zip container)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(UserError):
        read_checkpoint(raw)
    assert not marker.exists()


def test_the_shipped_checkpoint_is_plain_and_loads_without_pickled_objects():
    payload = torch.load(SMALL, map_location="cpu", weights_only=True)
    assert payload["format"] == "immersions-checkpoint" and payload["model"]


def test_saving_refuses_objects_that_would_not_load_back(tmp_path):
    from immersions_osc.model import build_model

    cfg = parse_config(TINY)
    model = build_model(cfg)
    with pytest.raises(TypeError, match="plain types"):
        save_checkpoint(tmp_path / "c.pt", model, cfg, extra=object())
    save_checkpoint(tmp_path / "c.pt", model, cfg, metrics={"loss": 1.0}, rng={"torch": torch.get_rng_state()})
    assert read_checkpoint(tmp_path / "c.pt")["metrics"] == {"loss": 1.0}


def _temps(folder):
    return [f for f in os.listdir(folder) if f.endswith(".tmp")] if os.path.isdir(folder) else []


def _train(config, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "immersions_osc", "train", "--config", str(config), "--out",
                             str(out), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_save_leaves_no_temp_file_after_the_next_start(tmp_path):
    """A real SIGKILL, sent the moment a save's temp file appears (the training process saves at
    every step): no Python code runs, so only the next start can clean up."""
    config = tmp_path / "tiny.yaml"
    save_config(parse_config(TINY), config)
    out = tmp_path / "run"
    orphans = []
    for attempt in range(8):
        proc = _train(config, out, *(["--resume"] if (out / "checkpoint.pt").exists() else []))
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if (out / "checkpoint.pt").exists() and _temps(out):
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.0005)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        orphans = _temps(out)
        if orphans:
            break
    assert orphans, "no kill landed inside a save in 8 tries"
    step = read_checkpoint(out / "checkpoint.pt")["step"]  # the previous checkpoint is intact
    resumed = _train(config, out, "--resume", "--stop-after", str(step + 2))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    assert _temps(out) == []
    assert read_checkpoint(out / "checkpoint.pt")["step"] == step + 2


def test_temp_files_of_live_writers_are_kept(tmp_path):
    """Only the temp files of writers that no longer exist are removed."""
    from immersions_osc.atomic import atomic_write_bytes

    live = tmp_path / f".x.bin.{os.getppid()}.abcd1234.tmp"  # our parent is alive
    live.write_bytes(b"partial")
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
    dead = tmp_path / f".x.bin.{dead_pid}.abcd1234.tmp"
    dead.write_bytes(b"partial")
    atomic_write_bytes(tmp_path / "x.bin", b"whole")
    assert live.exists() and not dead.exists()
    assert (tmp_path / "x.bin").read_bytes() == b"whole"


# --- configs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("service:\n  volume: .nan\n", "service.volume must be a finite number, got nan"),
    ("service:\n  crossfade_ms: .nan\n", "service.crossfade_ms must be a finite number, got nan"),
    ("service:\n  frame_rate: .inf\n", "service.frame_rate must be a finite number, got inf"),
    ("optimize:\n  learning_rate: -.inf\n", "optimize.learning_rate must be a finite number, got -inf"),
    ("service:\n  torch_threads: 100000000000\n", "service.torch_threads must be 0..256"),
    ("service:\n  torch_threads: 100000000000000000000000\n", "service.torch_threads is out of range"),
    ("service:\n  loop_seconds: 1" + "0" * 400 + "\n", "service.loop_seconds must be a finite number"),
    ("layout:\n  theta: .nan\n", "layout.theta must be a finite number, got nan"),
])
def test_non_finite_and_absurd_numbers_are_refused(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)


def test_a_config_that_is_a_folder_or_not_utf8_is_one_clear_line(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("service:\n  jack_client: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)


@pytest.mark.parametrize("flag, value", [("--loop-seconds", "nan"), ("--frame-rate", "inf")])
def test_cli_refuses_nan_flags_in_one_line(flag, value):
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "demo", flag, value, "--audio", "none"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("immersions-osc: error: ")
    assert "finite" in proc.stderr


def test_a_nan_demo_config_never_reaches_the_audio(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("service:\n  volume: .nan\n")
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "demo", "--config", str(path), "--audio", "none",
                           "--out", str(tmp_path / "out"), "--seconds", "2", "--web-port", "0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "service.volume must be a finite number" in proc.stderr
    assert not (tmp_path / "out" / "demo.wav").exists()


# --- layout files ----------------------------------------------------------------------------------

def _shipped_layout():
    from immersions_osc.layout.export import load_layout

    return load_layout(os.path.join(REPO, "checkpoints", "small_layout.npz"))


def _corrupt(layout, what, rng):
    import dataclasses

    neurons, positions = layout.neurons.copy(), layout.positions.copy()
    i = rng.randrange(len(neurons))
    layer = int(neurons[i, 0])
    if what == "channel":
        neurons[i, 1] = layout.layer_shapes[layer][0] + rng.randrange(1, 1000)
    elif what == "frequency":
        neurons[i, 2] = -1 - rng.randrange(5)
    elif what == "layer":
        neurons[i, 0] = len(layout.layer_names) + rng.randrange(3)
    elif what == "duplicate":
        j = rng.randrange(len(neurons))
        neurons[i] = neurons[j] if i != j else neurons[(j + 1) % len(neurons)]
    elif what == "nan":
        positions[i, rng.randrange(2)] = float("nan")
    return dataclasses.replace(layout, neurons=neurons, positions=positions)


@pytest.mark.parametrize("what, message", [
    ("channel", "lies outside its layer's shape"), ("frequency", "lies outside its layer's shape"),
    ("layer", "layer index is outside"), ("duplicate", "is listed twice"), ("nan", "positions must be finite"),
])
def test_corrupt_layout_files_are_refused_with_one_line(tmp_path, what, message):
    import random

    from immersions_osc.layout.export import load_layout, save_layout

    rng = random.Random(f"layout-{what}")
    for k in range(3):  # random neurons of the shipped layout
        path = tmp_path / f"{what}{k}.npz"
        save_layout(path, _corrupt(_shipped_layout(), what, rng))
        with pytest.raises(UserError, match=message) as info:
            load_layout(path)
        assert "\n" not in str(info.value)


def test_a_layout_that_would_unpack_too_large_is_refused_before_unpacking(tmp_path, monkeypatch):
    from immersions_osc.layout import export

    monkeypatch.setattr(export, "MAX_UNPACKED", 1 << 16)
    with pytest.raises(UserError, match="unpack to"):
        export.load_layout(os.path.join(REPO, "checkpoints", "small_layout.npz"))


@pytest.mark.slow
def test_the_service_refuses_a_layout_with_a_duplicate_neuron(tmp_path):
    import random

    from immersions_osc.layout.export import save_layout

    path = tmp_path / "dup.npz"
    save_layout(path, _corrupt(_shipped_layout(), "duplicate", random.Random(7)))
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "serve", "--audio", "none", "--port", "0",
                           "--layout", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "is listed twice" in proc.stderr.strip().splitlines()[-1]
