"""The real-music corpus: sources (folders, archives), one warning per bad file, split by track,
resumable; the probe tasks built from it never leak a group across the split."""
import csv
import os
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest
import soundfile as sf

from immersions_osc.data import DataError
from immersions_osc.data import corpus as corpus_mod
from immersions_osc.data.corpus import SourceSpec, assign_splits, build_corpus, read_index
from immersions_osc.data.tasks import build_tasks, time_stretch

SR = 8000  # small files: the corpus resamples to the rate it is asked for


def _tone(seconds, freq, sr=SR, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture()
def music(tmp_path):
    """Two sources: a folder (good, silent, too short, unreadable files) and a zip archive of oggs."""
    a = tmp_path / "src" / "alpha"
    (a / "sub").mkdir(parents=True)
    for i in range(5):
        sf.write(a / f"song{i}.wav", _tone(30 + 3 * i, 220 * (i + 1)), SR)
    sf.write(a / "sub" / "stereo.flac", np.stack([_tone(25, 300, 11025), _tone(25, 500, 11025)], 1), 11025)
    sf.write(a / "silent.wav", np.zeros(SR * 30, np.float32), SR)
    sf.write(a / "short.wav", _tone(2, 440), SR)
    (a / "broken.ogg").write_bytes(b"OggS" + os.urandom(500))
    (a / "notes.txt").write_text("not audio")
    archive = tmp_path / "src" / "beta.pk3"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(3):
            path = tmp_path / f"b{i}.ogg"
            sf.write(path, _tone(24, 330 + 50 * i), SR, format="OGG", subtype="VORBIS")
            zf.write(path, f"music/b{i}.ogg")
        zf.writestr("music/readme.txt", "x")
    return [SourceSpec("alpha", str(a)), SourceSpec("beta", str(archive))]


def test_corpus_from_folders_and_archives(music, tmp_path):
    out = tmp_path / "corpus"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracks, summary = build_corpus(music, str(out), sample_rate=16000, min_seconds=20, test_fraction=0.3)
    messages = [str(w.message) for w in caught]
    # exactly one warning for each unusable file, naming it and why
    for name, why in (("silent.wav", "silent"), ("short.wav", "too short"), ("broken.ogg", "unreadable")):
        hits = [m for m in messages if name in m]
        assert len(hits) == 1 and why in hits[0], messages
    assert len(messages) == 3
    ids = sorted(t.track for t in tracks)
    assert ids == sorted([f"alpha/song{i}" for i in range(5)] + ["alpha/sub/stereo"]
                         + [f"beta/music/b{i}" for i in range(3)])
    for t in tracks:  # decoded to mono WAV at the corpus rate, filed under its split
        info = sf.info(out / t.path)
        assert info.samplerate == 16000 and info.channels == 1
        assert t.path.startswith(f"audio/{t.split}/")
        assert abs(info.frames / 16000 - t.seconds) < 1e-2
    assert read_index(str(out)) == tracks
    assert {t.source for t in tracks if t.split == "test"} == {"alpha", "beta"}
    hours = sum(t.seconds for t in tracks) / 3600
    assert summary["total"]["hours"] == pytest.approx(hours)
    assert summary["sources"]["beta"]["tracks"] == 3


def test_corpus_rerun_reuses_decoded_tracks(music, tmp_path):
    out = tmp_path / "corpus"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first, _ = build_corpus(music, str(out), sample_rate=16000)
        stamps = {t.path: os.stat(out / t.path).st_mtime_ns for t in first}
        second, _ = build_corpus(music, str(out), sample_rate=16000)
    assert second == first
    assert {t.path: os.stat(out / t.path).st_mtime_ns for t in second} == stamps


def test_split_by_track_is_stable_and_per_source():
    pairs = [(f"s{s}/t{i}", f"s{s}") for s in range(3) for i in range(10)] + [("solo/x", "solo")]
    split = assign_splits(pairs, 0.2, seed=3)
    assert split == assign_splits(list(reversed(pairs)), 0.2, seed=3)  # order does not matter
    for s in range(3):
        assert sum(split[f"s{s}/t{i}"] == "test" for i in range(10)) == 2
    assert split["solo/x"] == "train"  # a one-track source cannot be held out
    assert split != assign_splits(pairs, 0.2, seed=4)


def test_no_music_names_the_apt_line(tmp_path, monkeypatch, capsys):
    from immersions_osc.cli import main

    monkeypatch.setattr(corpus_mod, "DEBIAN_SOURCES", (SourceSpec("x", str(tmp_path / "nowhere"), "x-music"),))
    assert main(["corpus", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install" in err and "singularity-music" in err and err.count("\n") == 1
    assert main(["corpus", str(tmp_path / "missing"), "--out", str(tmp_path / "c")]) == 2
    assert "not found" in capsys.readouterr().err


def test_corpus_cli_prints_hours(music, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "immersions_osc", "corpus", f"alpha={music[0].path}",
                           music[1].path, "--out", str(tmp_path / "c"), "--sample-rate", "16000"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| alpha |" in proc.stdout and "| beta |" in proc.stdout and "h held out" in proc.stdout
    assert proc.stderr.count("warning: ") == 3


def test_time_stretch_keeps_pitch_and_scales_duration():
    sr = 16000
    x = _tone(2.0, 500, sr)
    for rate in (0.8, 1.25):
        y = time_stretch(x, rate)
        assert abs(len(y) - len(x) / rate) <= 1
        peak = np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(np.abs(np.fft.rfft(y)))]
        assert abs(peak - 500) < 5


def test_probe_tasks_never_leak(music, tmp_path):
    from immersions_osc.config import parse_config
    from immersions_osc.probe import build_probe_set, read_probe_csv, split_indices

    out = tmp_path / "corpus"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_corpus(music, str(out), sample_rate=16000, test_fraction=0.4)
    tasks = tmp_path / "tasks"
    made = build_tasks(str(out), str(tasks), clip=1.0)
    assert set(made) == {"track", "source", "tempo"} and all(n > 0 for n in made.values())
    tracks = {t.track: t for t in read_index(str(out))}
    cfg = parse_config({"scaleogram": {"sample_rate": 16000, "n_bins": 120}, "probe": {"clip_seconds": 1.0}})
    for name in made:
        with open(tasks / f"{name}.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        groups = {}
        for r in rows:
            groups.setdefault(r["group"], set()).add(r["split"])
        assert all(len(sides) == 1 for sides in groups.values())  # a group sits on one side only
        if name == "track":  # held-out tracks only; groups are disjoint segments of them
            assert all(tracks[r["label"]].split == "test" for r in rows)
        else:  # the test side holds only held-out tracks, the train side only training tracks
            assert all(tracks[r["group"]].split == r["split"] for r in rows)
        data = build_probe_set(read_probe_csv(str(tasks / f"{name}.csv")), cfg)
        train, test = split_indices(data, cfg)
        assert not set(data.files[train].tolist()) & set(data.files[test].tolist())
    with open(tasks / "tempo.csv", newline="") as fh:
        labels = {r["label"] for r in csv.DictReader(fh)}
    assert labels == {"slow", "original", "fast"}


def test_predefined_split_that_leaks_is_refused(tmp_path):
    from immersions_osc.config import parse_config
    from immersions_osc.errors import UserError
    from immersions_osc.probe import build_probe_set, read_probe_csv

    sf.write(tmp_path / "a.wav", _tone(3, 300, 16000), 16000)
    (tmp_path / "p.csv").write_text("path,label,group,split,start\n"
                                    "a.wav,x,g1,train,0\na.wav,x,g1,test,1.5\n")
    cfg = parse_config({"scaleogram": {"sample_rate": 16000, "n_bins": 120}, "probe": {"clip_seconds": 1.0}})
    with pytest.raises(UserError, match="both the train and the test"):
        build_probe_set(read_probe_csv(str(tmp_path / "p.csv")), cfg)
    (tmp_path / "q.csv").write_text("path,label,split\na.wav,x,maybe\n")
    with pytest.raises(UserError, match="split must be"):
        read_probe_csv(str(tmp_path / "q.csv"))


def test_corpus_errors_are_one_line(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        build_corpus([SourceSpec("x", str(tmp_path / "nope.txt"))], str(tmp_path / "c"))
