"""Any device rate: the model keeps its rate, loops and live input are resampled at the device
boundary, and a loop of whole bars is exactly that many bars in *device* samples.

Pure parts first (the resampler, the player at another rate, the bar-line switch of a new
length), then real servers: a dummy-driver jackd at 48 and 96 kHz (server names ``studio-...``),
played through JACK and through PortAudio's JACK host API, recorded by a JACK client of our own.
"""
import os
from typing import Optional

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


def test_the_live_input_reads_each_sample_once_in_order_at_any_rate():
    """audio/live.py, the streaming reader: at the model's rate it gives exactly what was written,
    across the ring's wrap; at 48 kHz its start and reads join into one continuous conversion (a
    1 kHz tone stays a clean 1 kHz tone at 44.1 kHz, no seam); a reader a ring behind must restart."""
    from immersions_osc.audio.live import LiveInput

    rng = np.random.default_rng(7)
    p = LoopPlayer(SR, input_seconds=1.0)
    written = rng.standard_normal(3 * SR).astype(np.float32)
    live, got, at = LiveInput(p), [], 0
    assert live.read() is None  # not started
    p.write_input(written[:5000])
    at = 5000
    got.append(live.start(3000))
    while at < len(written):
        n = int(rng.integers(1, 4000))
        p.write_input(written[at:at + n])
        at += n
        got.append(live.read())
    assert np.array_equal(np.concatenate(got), written[2000:])
    p.write_input(written[:SR])  # a whole ring unread
    assert live.read() is None

    q = LoopPlayer(SR, input_seconds=1.0, device_rate=48000)
    sine = tone(3 * 48000, 48000, 1000.0)
    q.write_input(sine[:9600])
    live, at = LiveInput(q), 9600
    got = [live.start(4410)]
    while at < len(sine):
        n = int(rng.integers(1, 2000))
        q.write_input(sine[at:at + n])
        at += n
        got.append(live.read())
    stream = np.concatenate(got)
    # each sample once, give or take the ~7 ms the converter holds back (its filter delay)
    assert abs(4410 + (len(sine) - 9600) * SR / 48000 - len(stream)) < 512
    steady = stream[2000:-2000]
    assert frequency(steady, SR) == pytest.approx(1000.0, rel=1e-3)
    t = np.arange(len(steady)) / SR
    basis = np.stack([np.sin(2 * np.pi * 1000.0 * t), np.cos(2 * np.pi * 1000.0 * t)], 1)
    fit = basis @ np.linalg.lstsq(basis, steady, rcond=None)[0]
    assert np.abs(steady - fit).max() < 1e-3  # one sine of one phase throughout: no seam, no lost block


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


WINDOW = 8192  # samples compared one bar apart


def check_repeats_at(heard: np.ndarray, valid: np.ndarray, n: int) -> tuple[Optional[int], int]:
    """Look for a stretch of one bar plus WINDOW samples that the recorder heard whole (a cycle the
    busy server skipped moves the audio: a stretch across one is left out) and in which the audio
    repeats exactly ``n`` samples later.  Returns (its start, stretches checked), or (None, checked)
    when no heard stretch repeats at ``n``; asserts that the best lag near ``n`` is ``n`` within 1
    sample there.  A loop of another length never repeats exactly at ``n`` (one sample off moves a
    441 Hz tone by ~1e-2), so a wrong length is never found."""
    loud = np.flatnonzero(np.abs(heard) > 1e-4)
    if len(loud) == 0:
        return None, 0
    start = int(loud[0]) + 8192
    checked = 0
    for s in range(start, len(heard) - n - WINDOW - 64, max(1, n // 8)):
        if not valid[s:s + n + WINDOW + 64].all():
            continue
        a = heard[s:s + WINDOW]
        if np.abs(heard[s + n:s + n + WINDOW] - a).max() < 1e-5:
            lags = np.arange(n - 32, n + 33)
            errors = [float(np.mean((heard[s + lag:s + lag + WINDOW] - a) ** 2)) for lag in lags]
            best = int(lags[int(np.argmin(errors))])
            assert abs(best - n) <= 1, (best, n)
            return s, checked + 1
        checked += 1
    return None, checked


def tone_player(bpm: float) -> LoopPlayer:
    """A player looping one bar of the test tone at ``bpm`` (model rate)."""
    player = LoopPlayer(SR, crossfade_ms=0, volume=1.0)
    player.set_meter(bpm, 1, 4)
    player.queue(tone(loop_samples(bpm, 1, 4, SR), SR), 1)
    return player


CAPTURES = 4  # recordings tried before the check fails (a busy machine skips cycles)


def record_and_check(server, player, audio, source: str, rate: int, bpm: float) -> None:
    """Record ``source`` (the backend's output port) for 12 s and check that the recording repeats
    at exactly the bar in device samples at the model's pitch.  On a busy machine the server skips
    cycles and a recording may hold no stretch of a bar heard whole: then it is recorded again (up
    to CAPTURES times).  A stretch heard whole that does not repeat at the bar is no proof either
    way (the player itself may have missed a cycle): recorded again too.  A wrong loop length
    fails every capture."""
    n_dev = loop_samples(bpm, 1, 4, rate)
    tried = []
    try:
        for _ in range(CAPTURES):
            recorder = Recorder(server, seconds=12.0)
            try:
                recorder.client.connect(source, "studio-recorder:in_0")
                assert wait_until(lambda: recorder.n >= recorder.buffer.shape[1], timeout=120)
            finally:
                recorder.close()
            heard = recorder.buffer[0]
            at, checked = check_repeats_at(heard, recorder.valid, n_dev)
            tried.append((checked, round(float(recorder.valid.mean()), 3)))
            if at is not None:
                break
    finally:
        audio.close()
    assert player.device_rate == rate and player.device_loop_length() == n_dev
    assert at is not None, (f"no stretch repeats exactly at {n_dev} samples in {CAPTURES} recordings "
                            f"(stretches heard whole, fraction of cycles heard): {tried}")
    assert frequency(heard[at:at + n_dev], rate) == pytest.approx(TONE, rel=1e-3)


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


def test_the_repeat_check_finds_the_bar_and_never_a_wrong_length():
    """The check of the real-server tests, on synthetic recordings: an exact loop of n is found
    (gaps elsewhere left out); a loop one sample longer or shorter never is."""
    rate, n = 96000, loop_samples(137.0, 1, 4, 96000)
    for length, found in ((n, True), (n + 1, False), (n - 1, False)):
        one = loop_to_length(tone(loop_samples(137.0, 1, 4, SR), SR), length)
        heard = np.tile(one, 8)[:12 * rate]
        valid = np.ones(len(heard), bool)
        valid[::n // 3] = False  # a skipped cycle every third of a bar...
        valid[4 * n:] = True
        valid[4 * n + 20000:4 * n + 20512] = False
        valid[6 * n:] = True  # ...but two bars near the end heard whole
        at, checked = check_repeats_at(heard, valid, n)
        assert (at is not None) == found, (length, at, checked)
        assert checked >= 1
