"""The audio, tempo and Link settings: every bad value is one clear ConfigError naming the key."""
import pytest

from immersions_osc.config import Config, ConfigError, parse_config, to_dict
from immersions_osc.audio.tempo import bar_seconds, bars_for, check_tempo, loop_phase_samples, loop_samples


def service(**changes):
    data = to_dict(Config())
    data["service"].update(changes)
    return parse_config(data).service


@pytest.mark.parametrize("changes,message", [
    ({"audio": "coreaudio"}, "audio must be 'auto', 'jack', 'portaudio' or 'none'"),
    ({"latency": "fast"}, "latency must be 'low', 'high' or seconds"),
    ({"latency": "5"}, "latency must be"),
    ({"block_size": 99999}, "block_size must be 0..16384"),
    ({"audio_priority": 120}, "audio_priority must be 0..99"),
    ({"tempo": 10.0}, "tempo must be 20..400 bpm"),
    ({"tempo": 30.0, "bars": 40}, "at most 7 bars"),
    ({"tempo": 120.0, "bars": 0}, "bars must be 1..64"),
    ({"output_device": 3}, "service.output_device must be a string"),
])
def test_bad_audio_settings_are_one_clear_error(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        service(**changes)


def test_good_audio_settings_pass():
    s = service(audio="portaudio", output_device="BlackHole", input_device="none", block_size=512, latency="0.02",
                tempo=97.5, bars=3, beats_per_bar=3, link=True, audio_priority=0, audio_process=False)
    assert s.audio == "portaudio" and s.tempo == 97.5


def test_tempo_arithmetic_on_random_tempi():
    import random

    rng = random.Random(15)
    for _ in range(200):
        bpm, bpb, sr = rng.uniform(20, 400), rng.randint(1, 12), rng.choice([44100, 48000])
        bars = rng.randint(1, max(1, int(60 // bar_seconds(bpm, bpb))))
        try:
            check_tempo(bpm, bars, bpb)
        except ValueError:
            continue  # shorter than 0.5 s
        n = loop_samples(bpm, bars, bpb, sr)
        assert abs(n - bars * bpb * 60 / bpm * sr) <= 0.5
        assert bars_for(n / sr, bpm, bpb) == bars
        beat = rng.uniform(0, 1000)
        pos = loop_phase_samples(beat, bars, bpb, n)
        assert 0 <= pos < n
        assert abs(pos / n - (beat % (bars * bpb)) / (bars * bpb)) < 2 / n
