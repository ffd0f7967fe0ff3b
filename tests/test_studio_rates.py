"""Any device rate: the model keeps its rate, loops and live input are resampled at the device
boundary, and a loop of whole bars is exactly that many bars in *device* samples.

Pure parts first (the resampler, the player at another rate, the bar-line switch of a new
length), then real servers: a dummy-driver jackd at 48 and 96 kHz (server names ``studio-...``),
played through JACK and through PortAudio's JACK host API, recorded by a JACK client of our own.
"""
import os

import numpy as np
import pytest

from service_harness import HAVE_JACKD, JackServer, wait_until

from immersions_osc.audio.player import LoopPlayer, input_window
from immersions_osc.audio.resample import device_length, loop_to_length, position_map
from immersions_osc.audio.tempo import loop_samples

SR = 44100
TONE = 441.0  # 441 Hz: a whole number of periods in a bar at 120 bpm


def tone(n: int, rate: int, freq: float = TONE) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.float32)


def frequency(x: np.ndarray, rate: int) -> float:
    """The strongest frequency, refined by parabolic interpolation on a Hann-windowed spectrum."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spec[1:])) + 1
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-20)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / len(x)


# --- pure -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [44100, 48000, 88200, 96000])
@pytest.mark.parametrize("bpm", [120.0, 137.0])
def test_a_loop_of_whole_bars_is_exact_at_the_device_rate_and_keeps_its_pitch(rate, bpm):
    n_model = loop_samples(bpm, 2, 4, SR)
    n_dev = device_length(n_model, SR, rate, bpm, 2, 4)
    assert n_dev == loop_samples(bpm, 2, 4, rate)  # rounded once, at the device rate
    loop = tone(n_model, SR)
    out = loop_to_length(loop, n_dev)
    assert len(out) == n_dev and out.dtype == np.float32
    assert frequency(np.tile(out, 2), rate) == pytest.approx(TONE * (n_dev / rate) / (n_model / SR), rel=1e-3)
    assert frequency(np.tile(out, 2), rate) == pytest.approx(TONE, rel=1e-3)
    if bpm == 120.0:  # whole periods: the resampled loop has no step at its own boundary either
        step = 2 * np.pi * TONE / rate * 0.5
        assert abs(float(out[0]) - float(out[-1])) < 1.1 * step


def test_a_free_length_loop_scales_and_positions_map_between_rates():
    assert device_length(44100, 44100, 48000) == 48000
    assert device_length(1000, 44100, 48000, bpm=120, bars=2) == round(1000 * 48000 / 44100)  # not whole bars
    assert position_map(22050, 44100, 48000) == 24000 and position_map(0, 10, 20) == 0


def test_the_player_plays_the_device_length_at_the_device_rate():
    rate, bpm = 48000, 120.0
    n_model = loop_samples(bpm, 1, 4, SR)
    p = LoopPlayer(SR, crossfade_ms=0, volume=1.0, max_block=1024)
    p.set_meter(bpm, 1, 4)
    p.set_device_rate(rate)
    p.queue(tone(n_model, SR), 1)
    p._gain = 1.0
    out = np.zeros(1000, np.float32)
    heard = []
    for _ in range(250):
        p.render(out)
        heard.append(out.copy())
    heard = np.concatenate(heard)
    n_dev = loop_samples(bpm, 1, 4, rate)
    assert p.device_loop_length() == n_dev == 96000
    assert np.abs(heard[n_dev:2 * n_dev] - heard[:n_dev]).max() < 1e-6  # repeats at exactly n_dev
    assert frequency(heard[:n_dev], rate) == pytest.approx(TONE, rel=1e-3)
    # the service reads the playhead in model samples
    loop, pos = p.playhead()
    assert len(loop) == n_model and pos == position_map(p._pos, n_dev, n_model)


def test_the_input_window_is_converted_to_the_model_rate():
    ring = np.zeros(48000, np.float32)
    ring[:] = tone(48000, 48000, 1000.0)
    got = input_window(ring, 0, 8192, 48000, SR)
    assert len(got) == 8192
    assert frequency(got, SR) == pytest.approx(1000.0, rel=1e-3)


def test_a_new_length_takes_over_at_the_next_bar_line_at_the_same_bar():
    """4 bars of 100 samples; a loop of another length (4 bars of 150) queued in bar 1 starts
    playing at the bar line 200, at its own bar 2 (sample 300)."""
    p = LoopPlayer(1000, crossfade_ms=0, volume=1.0, max_block=64)
    p.set_meter(150.0, 4, 4)  # (only the bar count matters at one rate)
    p.queue(np.arange(400, dtype=np.float32), 1)
    p._gain = 1.0
    out = np.zeros(50, np.float32)
    for _ in range(3):
        p.render(out)  # samples 0..149: bar 1
    p.queue(1000 + np.arange(600, dtype=np.float32), 2)
    p.render(out)  # 150..199 of the old loop
    assert np.array_equal(out, np.arange(150, 200))
    p.render(out)  # the new loop from its bar 2 (after a one-sample crossfade: crossfade_ms 0)
    assert out[0] == pytest.approx(0.5 * (200 + 1300)) and np.array_equal(out[1:], 1000 + np.arange(301, 350))
    assert p.version == 2
    # a loop of the same length waits for the loop boundary
    p.queue(2000 + np.arange(600, dtype=np.float32), 3)
    p.render(out)
    assert np.array_equal(out, 1000 + np.arange(350, 400)) and p.version == 2


# --- real servers -----------------------------------------------------------------------------------------

jack_only = pytest.mark.skipif(not HAVE_JACKD, reason="needs jackd (Debian jackd2)")


class Recorder:
    """A JACK client that records one port, every block at its own JACK frame (a cycle the busy
    server skipped stays a gap: ``valid`` is False there)."""

    def __init__(self, server: JackServer, seconds: float, channels: int = 1):
        self.client = server.client("studio-recorder")
        self.ins = [self.client.inports.register(f"in_{i}") for i in range(channels)]
        self.buffer = np.zeros((channels, int(seconds * server.sample_rate)), np.float32)
        self.valid = np.zeros(self.buffer.shape[1], bool)
        self.n = 0
        self.first = None
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames):
        f = self.client.last_frame_time
        if self.first is None:
            self.first = f
        at = (f - self.first) & 0xFFFFFFFF
        m = max(0, min(frames, self.buffer.shape[1] - at))
        for i, port in enumerate(self.ins):
            self.buffer[i, at:at + m] = port.get_array()[:m]
        self.valid[at:at + m] = True
        self.n = at + m

    def close(self):
        self.client.deactivate()
        self.client.close()


def check_repeats_at(heard: np.ndarray, valid: np.ndarray, n: int) -> int:
    """The lag (near ``n``) where the recording best repeats itself, over stretches of two loops
    the recorder heard whole (a cycle the busy server skipped moves the audio: such a stretch is
    left out); asserts the best lag is ``n`` within 1 sample and that the repeat is exact there."""
    start = int(np.flatnonzero(np.abs(heard) > 1e-4)[0]) + 8192
    checked = 0
    for s in range(start, len(heard) - 2 * n - 64, n // 2):
        if not valid[s:s + 2 * n + 64].all():
            continue
        a = heard[s:s + n]
        lags = np.arange(n - 32, n + 33)
        errors = [float(np.mean((heard[s + lag:s + lag + n] - a) ** 2)) for lag in lags]
        best = int(lags[int(np.argmin(errors))])
        if np.abs(heard[s + n:s + 2 * n] - a).max() < 1e-5:
            assert abs(best - n) <= 1, (best, n)
            return best
        checked += 1
    raise AssertionError(f"no stretch of two loops repeats exactly at {n} samples ({checked} checked)")


def tone_player(bpm: float) -> LoopPlayer:
    """A player looping one bar of the test tone at ``bpm`` (model rate)."""
    player = LoopPlayer(SR, crossfade_ms=0, volume=1.0)
    player.set_meter(bpm, 1, 4)
    player.queue(tone(loop_samples(bpm, 1, 4, SR), SR), 1)
    return player


def record_and_check(server, player, audio, source: str, rate: int, bpm: float) -> None:
    """Record ``source`` (the backend's output port) for 12 s, close the backend, and check that
    the recording repeats at exactly the bar in device samples at the model's pitch."""
    recorder = Recorder(server, seconds=12.0)
    try:
        recorder.client.connect(source, "studio-recorder:in_0")
        assert wait_until(lambda: recorder.n >= recorder.buffer.shape[1], timeout=120)
    finally:
        recorder.close()
        audio.close()
    n_dev = loop_samples(bpm, 1, 4, rate)
    assert player.device_rate == rate and player.device_loop_length() == n_dev
    heard = recorder.buffer[0]
    check_repeats_at(heard, recorder.valid, n_dev)
    assert frequency(heard[-2 * n_dev:], rate) == pytest.approx(TONE, rel=1e-3)


@jack_only
@pytest.mark.parametrize("rate", [48000, 96000])
def test_jack_at_another_rate_plays_exact_bars_at_the_model_pitch(rate):
    from immersions_osc.audio.jack import JackAudio

    server = JackServer(sample_rate=rate, period=512, prefix="studio-", realtime=True)
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    lines = []
    try:
        bpm = 137.0
        player = tone_player(bpm)
        audio = JackAudio(player, "studio-imm", lines.append, connect_outputs=False).start()
        record_and_check(server, player, audio, "studio-imm:out", rate, bpm)
        assert str(rate) in audio.rates and "resampled" in audio.rates
        assert not any("wrong pitch" in line for line in lines)
    finally:
        os.environ.pop("JACK_DEFAULT_SERVER", None)
        server.stop()


@jack_only
@pytest.mark.parametrize("rate", [48000, 96000])
def test_portaudio_at_another_rate_opens_and_plays_exact_bars_at_the_model_pitch(rate, monkeypatch):
    sd = pytest.importorskip("sounddevice")
    from immersions_osc.audio.portaudio import PortAudioAudio, rescan

    server = JackServer(sample_rate=rate, period=512, prefix="studio-", realtime=True)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)
    monkeypatch.setenv("JACK_NO_AUDIO_RESERVATION", "1")
    rescan(sd)
    lines = []
    try:
        bpm = 180.0  # 1.33 s bars: more stretches of two loops between the cycles a busy server skips
        player = tone_player(bpm)
        audio = PortAudioAudio(player, input="none", block_size=512, log=lines.append).start()
        record_and_check(server, player, audio, "PortAudio:out_0", rate, bpm)
        assert f"device {rate} Hz, model 44100 Hz" in audio.description
    finally:
        os.environ["JACK_DEFAULT_SERVER"] = "studio-nobody"
        rescan(sd)
        server.stop()
