"""``immersions-osc demo`` / ``serve`` from a user's point of view: outputs, and clear errors."""
import os
import socket
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from immersions_osc.images import read_png
from immersions_osc.audio.player import LoopPlayer

from service_harness import REPO, free_udp_port


def run_cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "immersions_osc", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


def no_jack_env():
    # a server name nobody runs: JACK is "not running" for the service, whatever else is up
    return dict(os.environ, JACK_DEFAULT_SERVER="immersions-test-nobody")


@pytest.mark.slow
def test_demo_tours_the_layers_and_writes_what_it_played(tmp_path):
    proc = run_cli("demo", "--seconds", "8", "--stops", "3", "--steps-per-stop", "10", "--loop-seconds", "2",
                   "--out", str(tmp_path), "--port", str(free_udp_port()), env=no_jack_env())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "WARNING immersions_osc.service: audio: " in proc.stderr and "Continuing without sound output" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.count("exciting ") == 3  # the tour: the demo's own output
    for i in (1, 2, 3):  # the summary: per stop, the target on the loop that played in its window
        line = next(l for l in proc.stdout.splitlines() if l.strip().startswith(f"stop {i}: "))
        assert " in its own loop " in line and "other loops" not in line, line
        steps = int(line.split(" in its own loop ")[1].split("(")[1].split(" steps")[0])
        assert steps >= 10, line  # every stop's loop had its steps toward that stop alone
    assert ("on time   : " in proc.stdout) != ("stretched : " in proc.stdout)  # it says which
    tour = sorted(os.listdir(tmp_path / "tour"))  # the stops' loops and scaleograms, side by side
    assert len([n for n in tour if n.endswith(".wav")]) == 3 and len([n for n in tour if n.endswith(".png")]) == 3
    assert "<audio" in (tmp_path / "tour" / "index.html").read_text()
    assert "viewer: http://" in proc.stderr or "continuing without the browser viewer" in proc.stderr  # log lines
    audio, sr = sf.read(tmp_path / "demo.wav")
    planned = float(proc.stdout.split("tour      : ")[1].split("(")[1].split(" s)")[0])  # 3 stops of 1 loop: 6 s
    assert sr == 44100 and len(audio) >= planned * sr  # the whole tour, plus a lead-in as long as the machine needs
    assert np.abs(audio[:2205]).max() < 1e-4  # no white noise first: silence before the first optimized loop
    assert np.sqrt(np.mean(audio ** 2)) > 1e-3  # it played something
    assert read_png(tmp_path / "activations.png").std() > 5
    assert read_png(tmp_path / "demo_scaleogram.png").std() > 5
    assert any(name.startswith("loop_") for name in os.listdir(tmp_path / "loops"))  # --audio none fallback
    frames = int(proc.stdout.split("streamed  : ")[1].split(" ")[0])
    played = float(proc.stdout.split("played    : ")[1].split(" s")[0])
    assert frames >= played * 15  # at least half the asked 30 frames/s, even on a busy machine


@pytest.mark.parametrize("args,message", [
    (["demo", "--seconds", "1"], "--seconds must be"),
    (["serve", "--checkpoint", "/no/such.pt"], "not found"),
    (["serve", "--layout", "/no/such_layout.npz"], "layout file not found"),
    (["serve", "--audio", "jack"], "JACK"),  # no server running (or no libjack at all)
    (["serve", "--port", "70000"], "port"),
    (["serve", "--gallery", "/no/such_gallery", "--audio", "none"], "no gallery at /no/such_gallery"),
])
def test_user_mistakes_are_one_clear_line(args, message):
    proc = run_cli(*args, env=no_jack_env(), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_demo_output_folder_that_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("x")
    proc = run_cli("demo", "--out", str(tmp_path / "taken"), "--port", str(free_udp_port()), env=no_jack_env())
    assert proc.returncode == 2 and "cannot make the output folder" in proc.stderr and "Traceback" not in proc.stderr


def test_a_port_in_use_is_a_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        proc = run_cli("serve", "--audio", "none", "--port", str(busy.getsockname()[1]), timeout=120)
    assert proc.returncode == 2 and "cannot listen on UDP" in proc.stderr and "Traceback" not in proc.stderr


def test_osc_table_command_prints_docs_osc_md():
    proc = run_cli("osc-table", timeout=60)
    assert proc.returncode == 0
    assert proc.stdout == open(os.path.join(REPO, "docs", "osc.md"), encoding="utf-8").read()


def test_the_real_time_render_allocates_no_buffers():
    """The JACK callback's work: after warm-up, thousands of blocks (with loop switches and
    crossfades) must not grow memory -- only transient views, no new arrays."""
    p = LoopPlayer(44100, crossfade_ms=10, max_block=1024, record_seconds=0)
    loops = [np.random.default_rng(i).standard_normal(5000).astype(np.float32) for i in range(3)]
    out = np.zeros(1024, np.float32)
    p.queue(loops[0], 1)
    for _ in range(20):
        p.render(out)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for i in range(3000):
        if i % 7 == 0:
            p.queue(loops[i % 3], i + 2)  # (queue() runs in another thread in the service)
        p.render(out)
    now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert p.loops_started > 100  # many boundaries and crossfades were exercised
    assert peak - base < 4096, f"render allocated {peak - base} bytes at peak"  # no 4 KB block buffer, ever


def _random_small_checkpoint(folder) -> str:
    from immersions_osc.checkpoint import save_checkpoint
    from immersions_osc.config import Config, ModelConfig
    from immersions_osc.model import build_model

    cfg = Config(model=ModelConfig(preset="small"))
    path = os.path.join(str(folder), "checkpoint.pt")
    save_checkpoint(path, build_model(cfg), cfg)
    return path


def test_a_checkpoint_without_a_layout_is_laid_out_on_the_first_start(tmp_path):
    """A model just trained (``train --out DIR`` writes DIR/checkpoint.pt and no layout) is served
    as it is: the service lays it out once, beside it, as it does a ``--model``."""
    from immersions_osc.layout.export import load_layout
    from immersions_osc.service.server import Service
    from service_harness import in_process_config

    checkpoint = _random_small_checkpoint(tmp_path)
    lines: list[str] = []
    service = Service(in_process_config(checkpoint=checkpoint), log=lines.append)
    try:
        layout = tmp_path / "checkpoint_layout.npz"
        assert layout.is_file() and any("laying out" in line and checkpoint in line for line in lines), lines
        assert len(load_layout(str(layout)).positions) == len(service.vector.order)
    finally:
        service.close()
    lines.clear()
    Service(in_process_config(checkpoint=checkpoint), log=lines.append).close()  # the second start reads it
    assert not any("laying out" in line for line in lines)


def test_a_layout_that_cannot_be_written_is_one_clear_line(tmp_path, monkeypatch):
    from immersions_osc.errors import UserError
    from immersions_osc.layout import export
    from immersions_osc.service.server import Service
    from service_harness import in_process_config

    def read_only(path, layout):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(export, "save_layout", read_only)
    with pytest.raises(UserError, match="cannot write the layout .*Read-only file system.*--layout"):
        Service(in_process_config(checkpoint=_random_small_checkpoint(tmp_path)), log=lambda line: None)
