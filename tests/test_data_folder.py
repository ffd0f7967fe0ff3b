"""Audio folders: scanning with a cached index, loading/resampling, crops, labelled folders."""
import os
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

from immersions_osc.data import DataError, DataWarning, folder
from immersions_osc.data.folder import (AudioFolderDataset, LabelledFolder, SyntheticDataset,
                                        labelled_examples, load_audio, resample,
                                        resampled_length, scan_audio_folder,
                                        write_synthetic_folder)
from immersions_osc.data.synth import FAMILIES

SR = 16000


def sine(seconds: float, sample_rate: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path, audio, sample_rate, subtype=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, audio, sample_rate, subtype=subtype)
    return path


@pytest.fixture
def good_folder(tmp_path):
    """Two usable files: one at the target rate, one that must be resampled."""
    root = tmp_path / "good"
    write(str(root / "good.wav"), sine(2.0, SR), SR)
    write(str(root / "sub" / "good2.FLAC"), sine(2.0, 22050, 660.0), 22050)
    return root


@pytest.fixture
def mixed_folder(good_folder):
    """The good files (one in a sub-folder, upper-case extension, another rate) and three bad."""
    write(str(good_folder / "short.wav"), sine(0.1, SR), SR)
    write(str(good_folder / "silent.wav"), np.zeros(2 * SR, np.float32), SR)
    (good_folder / "corrupt.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    (good_folder / "notes.txt").write_text("not audio")
    return good_folder


def scan_with_warnings(root, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files = scan_audio_folder(root, SR, SR, **kwargs)
    return files, [w for w in caught if issubclass(w.category, DataWarning)]


# --- scanning ------------------------------------------------------------------------------------
def test_scan_keeps_good_files_and_warns_once_per_bad_one(mixed_folder):
    files, caught = scan_with_warnings(mixed_folder)
    assert [f.relpath for f in files] == ["good.wav", "sub/good2.FLAC"]
    good2 = files[1]
    assert (good2.sample_rate, good2.frames) == (22050, 44100)
    assert good2.n_samples == len(load_audio(good2.path, SR)) == 2 * SR
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 3 and all("\n" not in m for m in messages)
    assert messages[0].startswith("skipping corrupt.wav: unreadable")
    assert messages[1].startswith("skipping short.wav: too short")
    assert messages[2].startswith("skipping silent.wav: silent")
    assert os.path.isfile(mixed_folder / folder.INDEX_NAME)


def test_second_scan_uses_the_index_without_decoding(mixed_folder, monkeypatch):
    first, _ = scan_with_warnings(mixed_folder)
    index_inode = os.stat(mixed_folder / folder.INDEX_NAME).st_ino

    def no_decoding(*args, **kwargs):
        raise AssertionError("the index should have been used")
    for name in ("read", "info", "blocks", "SoundFile"):
        monkeypatch.setattr(sf, name, no_decoding)
    second, caught = scan_with_warnings(mixed_folder)
    assert second == first
    assert len(caught) == 3  # the bad files are still reported, from the index
    assert os.stat(mixed_folder / folder.INDEX_NAME).st_ino == index_inode  # not rewritten


def test_changed_file_is_checked_again(mixed_folder, monkeypatch):
    scan_with_warnings(mixed_folder)
    probed = []
    real_probe = folder.probe_file
    monkeypatch.setattr(folder, "probe_file", lambda path: probed.append(path) or real_probe(path))
    good = mixed_folder / "good.wav"
    stat = os.stat(good)
    write(str(good), np.zeros(2 * SR, np.float32), SR)        # same size, now silent
    os.utime(good, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    files, caught = scan_with_warnings(mixed_folder)
    assert probed == [str(good)]                              # only the changed file
    assert [f.relpath for f in files] == ["sub/good2.FLAC"]
    assert any(str(w.message).startswith("skipping good.wav: silent") for w in caught)


def test_corrupt_index_is_rebuilt(mixed_folder):
    index = mixed_folder / folder.INDEX_NAME
    index.write_text("{not json")
    files, caught = scan_with_warnings(mixed_folder)
    assert len(files) == 2 and any("index" in str(w.message) for w in caught)
    assert index.read_text().startswith("{")


def test_index_can_live_elsewhere_or_be_disabled(mixed_folder, tmp_path):
    elsewhere = tmp_path / "cache" / "index.json"
    scan_with_warnings(mixed_folder, index_path=elsewhere)
    assert elsewhere.is_file() and not (mixed_folder / folder.INDEX_NAME).exists()
    scan_with_warnings(mixed_folder, use_index=False)
    assert not (mixed_folder / folder.INDEX_NAME).exists()


def test_missing_empty_or_unusable_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        scan_audio_folder(tmp_path / "nope", SR, SR)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no usable audio"):
        scan_audio_folder(tmp_path / "empty", SR, SR)
    write(str(tmp_path / "bad" / "short.wav"), sine(0.1, SR), SR)
    with pytest.raises(DataError, match="none of its 1 audio files"), pytest.warns(DataWarning):
        scan_audio_folder(tmp_path / "bad", SR, SR)
    assert issubclass(DataError, ValueError)


# --- loading -------------------------------------------------------------------------------------
def peak_frequency(audio: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / sample_rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("file_rate,target_rate", [(22050, 44100), (44100, 16000), (48000, 44100)])
def test_load_audio_resamples(tmp_path, file_rate, target_rate):
    path = write(str(tmp_path / "tone.wav"), sine(1.0, file_rate, 1000.0), file_rate)
    audio = load_audio(path, target_rate)
    assert audio.dtype == np.float32 and len(audio) == target_rate
    assert len(audio) == resampled_length(file_rate, file_rate, target_rate)
    assert peak_frequency(audio, target_rate) == pytest.approx(1000.0, abs=1.5)
    assert np.abs(audio[100:-100]).max() == pytest.approx(0.5, abs=0.02)  # no gain change


def test_resampled_length_matches_resample():
    for frames, orig, target in [(1000, 44100, 16000), (777, 22050, 44100), (5, 48000, 44100)]:
        assert len(resample(np.ones(frames, np.float32), orig, target)) == \
               resampled_length(frames, orig, target)


def test_stereo_is_averaged(tmp_path):
    rng = np.random.default_rng(0)
    stereo = rng.uniform(-0.5, 0.5, size=(SR, 2)).astype(np.float32)
    path = write(str(tmp_path / "stereo.wav"), stereo, SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path, SR), stereo.mean(axis=1), atol=1e-7)


# --- datasets ------------------------------------------------------------------------------------
def test_crops_have_the_right_length_and_content(good_folder):
    ds = AudioFolderDataset(good_folder, crop_samples=4000, sample_rate=SR, length=10, seed=1)
    assert len(ds) == 10
    for i in range(10):
        crop = ds[i]
        assert crop.dtype == torch.float32 and crop.shape == (4000,)
        file, start = ds.crop_position(i)
        expected = load_audio(file.path, SR)[start:start + 4000]  # frame-exact or resampled
        np.testing.assert_allclose(crop.numpy(), expected, atol=1e-6)


def test_crops_are_deterministic_and_use_every_file(good_folder):
    def items(**kwargs):
        ds = AudioFolderDataset(good_folder, crop_samples=4000, sample_rate=SR, length=6, **kwargs)
        return ds, torch.stack([ds[i] for i in range(6)])
    ds, a = items(seed=3)
    _, b = items(seed=3)
    _, c = items(seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    ds.set_epoch(1)
    assert not torch.equal(torch.stack([ds[i] for i in range(6)]), a)
    for block in range(3):  # every run of n_files consecutive items visits each file once
        assert sorted(ds.file_of(2 * block + k).relpath for k in range(2)) == \
               ["good.wav", "sub/good2.FLAC"]
    assert ds[1000].shape == (4000,)  # items past len() are valid (an endless stream)


def test_dataloader_with_two_workers(good_folder):
    ds = AudioFolderDataset(good_folder, crop_samples=2000, sample_rate=SR, length=8, seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)
    batches = list(loader)
    assert [b.shape for b in batches] == [(4, 2000), (4, 2000)]
    assert torch.equal(torch.cat(batches), torch.stack([ds[i] for i in range(8)]))


def test_synthetic_dataset():
    ds = SyntheticDataset(crop_samples=3000, length=12, sample_rate=8000, seed=2)
    audio, labels = ds[5]
    assert audio.shape == (3000,) and audio.dtype == torch.float32
    assert labels["index"] == 5 and labels["family"] in FAMILIES
    assert torch.equal(audio, SyntheticDataset(3000, length=12, sample_rate=8000, seed=2)[5][0])
    assert not torch.equal(audio, ds[6][0])
    batch_audio, batch_labels = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch_audio.shape == (4, 3000) and len(batch_labels["family"]) == 4

    balanced = SyntheticDataset(3000, length=12, sample_rate=8000, label_key="family",
                                balanced=True)
    assert [balanced[i][1] for i in range(2 * len(FAMILIES))] == list(range(len(FAMILIES))) * 2
    with pytest.raises(ValueError):
        SyntheticDataset(3000, label_key="colour")


# --- labelled folders ----------------------------------------------------------------------------
def test_write_synthetic_folder_and_read_it_back(tmp_path, monkeypatch):
    indices = []
    real_clip = folder.SyntheticMusic.clip

    def recording_clip(self, index, *args, **kwargs):
        indices.append(index)
        return real_clip(self, index, *args, **kwargs)

    monkeypatch.setattr(folder.SyntheticMusic, "clip", recording_clip)
    written = write_synthetic_folder(tmp_path / "probe", n_per_class=2, seconds=0.5,
                                     label="family", seed=1, sample_rate=8000)
    assert sorted(indices) == list(range(2 * len(FAMILIES)))  # a different clip for every file
    read = LabelledFolder.from_subfolders(tmp_path / "probe")
    assert read == written and read.classes == sorted(FAMILIES) and len(read) == 2 * len(FAMILIES)
    clips = []
    for path, label in read:
        assert os.path.basename(os.path.dirname(path)) == label
        info = sf.info(path)
        assert (info.samplerate, info.frames, info.subtype) == (8000, 4000, "PCM_16")
        clips.append(sf.read(path, dtype="int16")[0].tobytes())
    assert len(set(clips)) == len(clips)  # every file a different clip
    assert labelled_examples(tmp_path / "probe") == list(read.items)
    with pytest.raises(DataError, match="tempo"):
        write_synthetic_folder(tmp_path / "x", 1, 0.5, label="tempo", sample_rate=8000)


def test_labelled_folder_from_csv(tmp_path):
    write_synthetic_folder(tmp_path / "data", 2, 0.25, label="mode", sample_rate=8000)
    table = tmp_path / "data" / "labels.csv"
    table.write_text("path,label\nmajor/0.wav,happy\nminor/0.wav,sad\n\nminor/1.wav,sad\n")
    examples = labelled_examples(tmp_path / "elsewhere", csv=table)
    assert examples == sorted([(str(tmp_path / "data" / "major" / "0.wav"), "happy"),
                               (str(tmp_path / "data" / "minor" / "0.wav"), "sad"),
                               (str(tmp_path / "data" / "minor" / "1.wav"), "sad")])
    assert LabelledFolder.from_csv(table).classes == ["happy", "sad"]


@pytest.mark.parametrize("content,message", [
    ("file,class\nmajor/0.wav,a\nminor/0.wav,b\n", "header"),
    ("", "header"),
    ("path,label\nmajor/0.wav,a\nminor/9.wav,b\n", "line 3: minor/9.wav"),
    ("path,label\nmajor/0.wav,a\nminor/0.wav,a\n", "at least 2 classes"),
    ("path,label\nmajor/0.wav,a\nminor/0.wav,\n", "line 3: empty path or label"),
])
def test_bad_label_csv_is_a_data_error(tmp_path, content, message):
    write_synthetic_folder(tmp_path, 1, 0.25, label="mode", sample_rate=8000)
    table = tmp_path / "labels.csv"
    table.write_text(content)
    with pytest.raises(DataError, match=message) as error:
        LabelledFolder.from_csv(table)
    assert "\n" not in str(error.value)


def test_bad_labelled_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        LabelledFolder.from_subfolders(tmp_path / "nope")
    with pytest.raises(DataError, match="cannot read"):
        LabelledFolder.from_csv(tmp_path / "nope.csv")
    write(str(tmp_path / "one" / "only" / "a.wav"), sine(0.1, SR), SR)
    (tmp_path / "one" / "empty_class").mkdir()
    with pytest.raises(DataError, match="found 1 \\(only\\)"):
        LabelledFolder.from_subfolders(tmp_path / "one")
