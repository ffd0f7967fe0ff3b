"""The synthetic music generator: deterministic, labelled, musical, fast, never clipping."""
import hashlib
import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

from immersions_osc.data import synth
from immersions_osc.data.synth import (FAMILIES, INSTRUMENT_SETS, KEYS, MODES, SCALES,
                                       SyntheticMusic)

SR = 8000          # most checks do not need a high sample rate
N = 2 * SR


def digest(audio: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(audio).tobytes()).hexdigest()


# --- determinism ---------------------------------------------------------------------------------
def test_same_seed_and_index_give_identical_audio_in_any_call_order():
    a = SyntheticMusic(SR, seed=3)
    first, labels = a.clip(7, N)
    a.clip(2, N // 3)  # other calls in between change nothing
    again, labels_again = a.clip(7, N)
    fresh, _ = SyntheticMusic(SR, seed=3).clip(7, N)
    assert first.dtype == np.float32 and first.shape == (N,)
    assert np.array_equal(first, again) and np.array_equal(first, fresh)
    assert labels == labels_again


def test_same_audio_in_another_process():
    code = ("import hashlib, numpy as np; from immersions_osc.data.synth import SyntheticMusic; "
            f"a, _ = SyntheticMusic({SR}, seed=5).clip(11, {N}); "
            "print(hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == digest(SyntheticMusic(SR, seed=5).clip(11, N)[0])


def test_different_index_or_seed_gives_different_audio():
    music = SyntheticMusic(SR, seed=0)
    clips = {digest(music.clip(i, N)[0]) for i in range(8)}
    assert len(clips) == 8
    assert digest(SyntheticMusic(SR, seed=1).clip(0, N)[0]) not in clips


def test_result_does_not_depend_on_synthesis_block_size():
    spec = synth.draw_spec(np.random.default_rng(4))
    whole = synth.render_stems(spec, 1234, N, SR, np.random.default_rng(9), block=N)
    blocks = synth.render_stems(spec, 1234, N, SR, np.random.default_rng(9), block=999)
    for stem in synth.STEMS:
        np.testing.assert_array_equal(blocks[stem], whole[stem])


# --- labels --------------------------------------------------------------------------------------
def test_vocabularies():
    assert 4 <= len(FAMILIES) <= 6 and len(INSTRUMENT_SETS) >= 4
    assert len(KEYS) == 24 and len(set(KEYS)) == 24


def test_labels_are_valid_and_every_value_occurs():
    music = SyntheticMusic(SR, seed=0)
    seen = {"family": set(), "instruments": set(), "mode": set()}
    for i in range(80):
        _, labels = music.clip(i, 16)
        assert FAMILIES[labels["family_id"]] == labels["family"]
        assert INSTRUMENT_SETS[labels["instruments_id"]] == labels["instruments"]
        assert KEYS[labels["key_id"]] == labels["key"]
        assert MODES[labels["mode_id"]] == labels["mode"] and labels["key"].endswith(labels["mode"])
        assert synth.TEMPO_RANGE[0] <= labels["tempo"] <= synth.TEMPO_RANGE[1]
        assert 0 <= labels["start_beat"] < synth.LOOP_BEATS
        assert labels["index"] == i and labels["seed"] == 0
        for name in seen:
            seen[name].add(labels[name])
    assert seen == {"family": set(FAMILIES), "instruments": set(INSTRUMENT_SETS),
                    "mode": set(MODES)}


def test_clips_start_at_varied_points_of_the_pattern():
    starts = [SyntheticMusic(SR, seed=0).clip(i, 16)[1]["start_beat"] for i in range(40)]
    assert np.std(starts) > 2.0                                  # spread over the 16-beat loop
    assert sum(abs(s - round(s)) > 0.05 for s in starts) > 20     # mostly not on a beat


def test_labels_can_be_forced_and_the_rest_stays():
    music = SyntheticMusic(SR, seed=0)
    _, free = music.clip(4, 16)
    for family in FAMILIES:
        _, labels = music.clip(4, 16, family=family)
        assert labels["family"] == family
        assert {k: labels[k] for k in ("instruments", "key", "tempo", "start_beat")} == \
               {k: free[k] for k in ("instruments", "key", "tempo", "start_beat")}
    _, labels = music.clip(4, 16, key="A minor", instruments="fm", tempo=123.5)
    assert (labels["key"], labels["mode"], labels["instruments"], labels["tempo"]) == \
           ("A minor", "minor", "fm", 123.5)
    assert music.clip(4, 16, mode="major")[1]["mode"] == "major"
    for bad in ({"family": "polka"}, {"instruments": "kazoo"}, {"key": "H major"},
                {"tempo": 0.0}, {"key": "C major", "mode": "minor"}):
        with pytest.raises(ValueError):
            music.clip(4, 16, **bad)


# --- signal --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample_rate,n", [(8000, 1), (8000, 37), (16000, 16000), (44100, 44100)])
def test_audio_is_finite_and_peaks_near_minus_one_dbfs(sample_rate, n):
    music = SyntheticMusic(sample_rate, seed=2)
    for i in range(6):
        audio, _ = music.clip(i, n)
        assert audio.shape == (n,) and audio.dtype == np.float32
        assert np.all(np.isfinite(audio))
        peak = np.max(np.abs(audio))
        assert peak <= 1.0
        if n > 1000:  # a real clip, not a few samples before the first note
            assert peak == pytest.approx(10 ** (synth.PEAK_DBFS / 20), rel=1e-3)


def test_stems_add_up_to_the_mix():
    clip = SyntheticMusic(SR, seed=0).render(3, N)
    assert set(clip.stems) == set(synth.STEMS)
    np.testing.assert_allclose(sum(clip.stems.values()), clip.audio, atol=1e-5)


def _in_scale_fraction(tonal: np.ndarray, sample_rate: int, root: int, mode: str) -> float:
    """Share of the 180-2000 Hz power at pitch classes of the scale (above the crowded bass
    octaves, where short notes smear across semitones)."""
    power = np.abs(np.fft.rfft(tonal)) ** 2
    freqs = np.fft.rfftfreq(len(tonal), 1 / sample_rate)
    band = (freqs > 180) & (freqs < 2000)
    pitch_class = np.round(12 * np.log2(freqs[band] / 440.0) + 69).astype(int) % 12
    in_scale = np.isin(pitch_class, [(root + step) % 12 for step in SCALES[mode]])
    return float(power[band][in_scale].sum() / power[band].sum())


def test_pitched_parts_stay_in_the_key():
    """Bass, pads and melody only play notes of the key's scale."""
    music = SyntheticMusic(16000, seed=0)
    for i, key in enumerate(("A minor", "Eb major", "F# minor", "C major")):
        clip = music.render(i, 4 * 16000, key=key, instruments="soft")  # near-sine timbres
        tonal = clip.stems["bass"] + clip.stems["pad"] + clip.stems["lead"]
        name, mode = key.split()
        root = synth.NOTE_NAMES.index(name)
        assert _in_scale_fraction(tonal, 16000, root, mode) > 0.9, key
        assert _in_scale_fraction(tonal, 16000, (root + 1) % 12, mode) < 0.6, key


# --- rhythm --------------------------------------------------------------------------------------
def _peaks_at_beats(stem: np.ndarray, labels: dict, sample_rate: int) -> np.ndarray:
    """Mean over bars of the stem's peak in the 30 ms after each beat of the bar, relative to
    the stem's overall peak: ~1 where the drum plays on that beat, small where it does not."""
    beat = 60.0 / labels["tempo"] * sample_rate
    window = int(0.03 * sample_rate)
    per_beat = [[] for _ in range(synth.BEATS_PER_BAR)]
    first = int(np.ceil(labels["start_beat"]))
    for b in range(first, first + int(len(stem) / beat)):
        at = int(round((b - labels["start_beat"]) * beat))
        if at + window <= len(stem):
            per_beat[b % synth.BEATS_PER_BAR].append(np.abs(stem[at:at + window]).max())
    return np.array([np.mean(p) for p in per_beat]) / np.abs(stem).max()


def test_drum_families_play_their_patterns():
    music = SyntheticMusic(SR, seed=0)
    n = 6 * SR
    for i in range(3):
        four = music.render(i, n, family="four_on_the_floor", tempo=120.0)
        half = music.render(i, n, family="half_time", tempo=120.0)
        kick_four = _peaks_at_beats(four.stems["kick"], four.labels, SR)
        kick_half = _peaks_at_beats(half.stems["kick"], half.labels, SR)
        snare_four = _peaks_at_beats(four.stems["snare"], four.labels, SR)
        snare_half = _peaks_at_beats(half.stems["snare"], half.labels, SR)
        assert kick_four.min() > 0.7                    # a kick on every beat
        assert kick_half[[2, 3]].max() < 0.5            # no kick on beats 3 and 4
        assert snare_four[[1, 3]].min() > 0.7 and snare_four[[0, 2]].max() < 0.4  # 2 and 4
        assert snare_half[2] > 0.7 and snare_half[[0, 1, 3]].max() < 0.4         # only on 3


def _rhythm_fingerprint(audio: np.ndarray, labels: dict, sample_rate: int) -> np.ndarray:
    """Spectral-flux onset strength of the mix (low and high band) folded onto one bar."""
    hop, bins = 128, 48   # 48 bins per bar hold both sixteenth notes and triplets
    freqs, times, spec = signal.stft(audio, sample_rate, nperseg=512, noverlap=512 - hop,
                                     boundary=None, padded=False)
    flux = np.maximum(np.diff(np.log1p(100 * np.abs(spec)), axis=1), 0)
    position = (labels["start_beat"] + times[1:] * labels["tempo"] / 60.0) % synth.BEATS_PER_BAR
    slot = (position / synth.BEATS_PER_BAR * bins).astype(int) % bins
    parts = []
    for band in (freqs < 200, freqs > 3000):
        counts = np.maximum(np.bincount(slot, None, bins), 1)
        folded = np.bincount(slot, flux[band].sum(0), bins) / counts
        folded -= folded.mean()
        parts.append(folded / np.linalg.norm(folded))
    return np.concatenate(parts) / np.sqrt(2)


def test_families_are_rhythmically_distinct_in_the_mix():
    """Bar-folded onset patterns of the full mix identify the family of held-out clips."""
    sample_rate, per_family = 16000, 6
    music = SyntheticMusic(sample_rate, seed=3)
    prints = {f: [_rhythm_fingerprint(*music.clip(i, 4 * sample_rate, family=f), sample_rate)
                  for i in range(per_family)] for f in FAMILIES}
    correct = 0
    for family in FAMILIES:
        for i, fp in enumerate(prints[family]):
            centroids = {g: np.mean([p for j, p in enumerate(prints[g]) if (g, j) != (family, i)],
                                    axis=0)
                         for g in FAMILIES}
            scores = {g: fp @ c / np.linalg.norm(c) for g, c in centroids.items()}
            correct += max(scores, key=scores.get) == family
    assert correct / (per_family * len(FAMILIES)) >= 0.9

    def similarity(f, g):
        return np.mean([a @ b for a in prints[f] for b in prints[g]])
    for family in FAMILIES:
        others = max(similarity(family, g) for g in FAMILIES if g != family)
        assert similarity(family, family) > others, family
