"""The PortAudio backend for real, no mock: PortAudio's JACK host API on a dummy-driver jackd
(paced in real time).  PortAudio registers the JACK client ``PortAudio`` (ports ``out_0``,
``out_1``, ``in_0``, ``in_1``); our own JACK clients listen to it and feed it.

* a loop played through PortAudio arrives intact (every sample, no gap, no repeat), and live
  input arrives in the player's input ring;
* the service with ``--audio portaudio`` analyses that input (``source input``) and keeps running
  when the device goes away (its JACK server killed), saying so in one line;
* device errors -- no such device, busy, unsupported sample rate -- are one clear line and the
  service runs without audio.
"""
import os
import random
import time

import numpy as np
import pytest

from service_harness import (HAVE_JACKD, JackServer, frames_after_input_change, relative_change, serving,
                             stream_input)

pytestmark = pytest.mark.skipif(not HAVE_JACKD, reason="needs jackd (Debian jackd2)")
sd = pytest.importorskip("sounddevice")

from immersions_osc.config import Config  # noqa: E402
from immersions_osc.audio.backends import open_audio  # noqa: E402
from immersions_osc.audio.clock import ClockAudio  # noqa: E402
from immersions_osc.audio.player import LoopPlayer  # noqa: E402
from immersions_osc.audio.portaudio import PortAudioAudio, PortAudioUnavailable, rescan  # noqa: E402

SR = 44100


@pytest.fixture
def portaudio_on_jack(monkeypatch):
    """A dummy jackd that this process's PortAudio sees (its JACK host API connects at init)."""
    servers = []

    def start(**kwargs) -> JackServer:
        server = JackServer(**kwargs)
        servers.append(server)
        monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)
        monkeypatch.setenv("JACK_NO_AUDIO_RESERVATION", "1")
        rescan(sd)
        return server

    yield start
    os.environ["JACK_DEFAULT_SERVER"] = "immersions-test-nobody"
    rescan(sd)  # PortAudio lets go of the server before it stops
    for server in servers:
        server.stop()


class Recorder:
    """A JACK client that records PortAudio's two outputs and feeds a sine to its two inputs."""

    def __init__(self, server: JackServer, seconds: float):
        self.client = server.client("recorder")
        self.ins = [self.client.inports.register(f"in_{i}") for i in range(2)]
        self.out = self.client.outports.register("sine")
        self.buffer = np.zeros((2, int(seconds * SR)), np.float32)
        self.n = 0
        self.phase = 0
        self.client.set_process_callback(self._process)
        self.client.activate()

    def sine(self, start: int, n: int) -> np.ndarray:
        return (0.5 * np.sin(2 * np.pi * 441.0 * (start + np.arange(n)) / SR)).astype(np.float32)

    def _process(self, frames):
        m = min(frames, self.buffer.shape[1] - self.n)
        for i, port in enumerate(self.ins):
            self.buffer[i, self.n:self.n + m] = port.get_array()[:m]
        self.n += m
        self.out.get_array()[:] = self.sine(self.phase, frames)
        self.phase += frames

    def connect(self):
        for i, port in enumerate(self.ins):
            self.client.connect(f"PortAudio:out_{i}", port)
            self.client.connect(self.out, f"PortAudio:in_{i}")

    def close(self):
        self.client.deactivate()
        self.client.close()


def test_a_loop_through_portaudio_arrives_intact_and_input_arrives(portaudio_on_jack):
    server = portaudio_on_jack()
    rng = np.random.default_rng(random.Random(15).randrange(1 << 30))
    loop = (rng.uniform(-0.5, 0.5, int(0.37 * SR))).astype(np.float32)  # not a whole number of periods
    player = LoopPlayer(SR, volume=1.0)
    player.queue(loop, 0)
    audio = PortAudioAudio(player, block_size=int(rng.choice([256, 512, 1024])), log=lambda line: None).start()
    recorder = Recorder(server, seconds=4.0)
    try:
        recorder.connect()
        time.sleep(3.0)
        heard = recorder.buffer[:, :recorder.n].copy()
        ring = player.input_window(SR)
        frames = audio.frames
    finally:
        recorder.close()
        audio.close()
    assert frames > SR  # it ran (paced by the JACK server)
    assert np.array_equal(heard[0], heard[1])  # the loop on both channels
    # from the first full block on, every sample is the loop's next one: no gap, no repeat, no change
    played = heard[0][np.flatnonzero(heard[0])[0] + 4096:]
    assert len(played) > 2 * len(loop)
    n = len(loop)
    start = int(np.argmax([np.dot(played[:2048], np.roll(loop, -k)[:2048]) for k in range(n)]))
    expected = loop[(start + np.arange(len(played))) % n]
    assert np.abs(played - expected).max() < 1e-6
    # the live input: the recorder's sine, sample for sample (mixed from both inputs)
    phase = int(np.argmax([np.dot(ring[:1000], recorder.sine(k, 1000)) for k in range(100)]))  # 441 Hz: 100 samples
    assert np.abs(ring - recorder.sine(phase, len(ring))).max() < 1e-5


def _config(**service) -> "Config":
    cfg = Config()
    cfg.service.loops_dir = ""
    for key, value in service.items():
        setattr(cfg.service, key, value)
    return cfg


def test_device_errors_are_one_line_and_the_service_runs_without_audio(portaudio_on_jack):
    server = portaudio_on_jack(port_max=6)  # 4 ports are the system's: room for one more client port only
    player = LoopPlayer(SR)
    # no such device
    lines = []
    audio, jackd = open_audio(player, _config(audio="portaudio", output_device="no such device").service, lines.append)
    assert isinstance(audio, ClockAudio) and jackd is None
    audio.close()
    assert len(lines) == 1 and "no output device matching 'no such device'" in lines[0].lower()
    assert "continuing without sound output" in lines[0].lower()
    # busy: the server has no room for PortAudio's ports
    hog = server.client("hog")
    hog.outports.register("one")
    try:
        with pytest.raises(PortAudioUnavailable, match="busy"):
            PortAudioAudio(player, log=lines.append)
    finally:
        hog.close()
    # an index that does not exist
    with pytest.raises(PortAudioUnavailable, match="immersions-osc devices"):
        PortAudioAudio(player, output="99", log=lines.append)


def test_a_device_at_another_rate_opens_at_its_rate_and_says_both(portaudio_on_jack):
    """(It used to be refused; the player now resamples at the device boundary: test_studio_rates.py.)"""
    portaudio_on_jack(sample_rate=48000)
    lines = []
    player = LoopPlayer(SR)
    audio, _ = open_audio(player, _config(audio="portaudio").service, lines.append)
    audio.close()
    assert isinstance(audio, PortAudioAudio) and player.device_rate == 48000
    assert len(lines) == 1 and "device 48000 Hz, model 44100 Hz" in lines[0], lines


def test_service_analyses_portaudio_input_and_survives_losing_the_device(tmp_path):
    server = JackServer()
    recorder = None
    try:
        with serving("--audio", "portaudio", "--loops-dir", str(tmp_path), env=server.env) as (service, osc):
            silent = stream_input(osc)
            recorder = Recorder(server, seconds=1.0)
            for i in range(2):
                recorder.client.connect(recorder.out, f"PortAudio:in_{i}")
            steady = np.mean(frames_after_input_change(osc), axis=0)
            change = relative_change(silent, steady)
            assert change > 0.1, change  # the input from the PortAudio device moved the network
            recorder.close()
            recorder = None
            server.stop()  # the device goes away
            time.sleep(4.0)
            osc.receive(0.2)
            _, status = osc.wait_for("/immersions/status", timeout=10)  # still running, still streaming
            assert len(osc.frames(3)) == 3
    finally:
        if recorder is not None:
            recorder.close()
        server.stop()
    code = service.proc.returncode
    out = service.output
    assert "audio: PortAudio output 'system'" in out
    lost = [line for line in out.splitlines() if "device stopped" in line]
    assert len(lost) == 1, out
    assert code == 0 and "Traceback" not in out, out


def test_auto_picks_jack_then_portaudio_then_none_and_says_which(portaudio_on_jack, monkeypatch, tmp_path):
    player = LoopPlayer(SR)
    portaudio_on_jack()
    lines = []
    audio, _ = open_audio(player, _config(audio="auto").service, lines.append)
    audio.close()
    assert audio.kind == "jack" and "a JACK server runs" in lines[-1]
    # no JACK server; ALSA's null device as the system default (unpaced: plumbing only)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "immersions-test-nobody")
    (tmp_path / ".asoundrc").write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    rescan(sd)
    lines.clear()
    audio, _ = open_audio(player, _config(audio="auto").service, lines.append)
    audio.close()
    assert audio.kind == "portaudio" and "no JACK server; the default PortAudio device" in lines[-1], lines
    # nothing at all: the clock, said in one line
    (tmp_path / ".asoundrc").unlink()
    rescan(sd)
    if any(d["max_output_channels"] for d in sd.query_devices()):
        pytest.skip("this machine has a sound device of its own")
    lines.clear()
    audio, _ = open_audio(player, _config(audio="auto").service, lines.append)
    audio.close()
    assert audio.kind == "none" and "continuing without sound output" in lines[-1].lower(), lines


def test_devices_lists_what_portaudio_sees_and_whether_jack_runs():
    import subprocess
    import sys

    server = JackServer()
    try:
        out = subprocess.run([sys.executable, "-m", "immersions_osc", "devices"], env=server.env, capture_output=True,
                             text=True, timeout=120)
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    assert "JACK: a server runs" in out.stdout
    line = next(l for l in out.stdout.splitlines() if "JACK Audio Connection Kit;" in l)
    assert line.startswith("<>") and "system" in line and "2 in, 2 out; 44100 Hz" in line, out.stdout
