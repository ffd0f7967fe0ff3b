"""The gallery: its pure core, the streaming pass (chunked = one forward pass), the command, its
resume after a kill, and the store that the service reads."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from immersions_osc.checkpoint import save_checkpoint
from immersions_osc.config import parse_config
from immersions_osc.data.corpus import SourceSpec
from immersions_osc.data.synth import SyntheticMusic
from immersions_osc.gallery.build import GalleryBuild, GallerySettings, _sources_items, geometry
from immersions_osc.gallery.core import ExcerptScorer, Sketch, TopK
from immersions_osc.gallery.store import Gallery, read_excerpt
from immersions_osc.model import build_model
from immersions_osc.optimize.ascent import activations_of
from immersions_osc.optimize.targets import Target

from fixtures import REPO, tiny

SR = 44100


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    cfg = parse_config(tiny())
    return build_model(cfg).eval(), cfg


@pytest.fixture(scope="module")
def music(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("gallery")
    folder = root / "music"
    folder.mkdir()
    for i, seconds in enumerate((14, 23, 9)):
        audio, _ = SyntheticMusic(sample_rate=SR, seed=100 + i).clip(0, SR * seconds)
        sf.write(folder / f"t{i}.wav", audio, SR)
    (folder / "broken.wav").write_bytes(b"RIFF not really")
    model, cfg = tiny_model
    save_checkpoint(root / "tiny.pt", model, cfg)
    return root


# --- the pure core ------------------------------------------------------------------------------------

def test_sketch_percentiles_match_the_data():
    rng = np.random.default_rng(0)
    values = np.maximum(0, rng.normal(0.5, 1.0, size=(3, 5000)))  # ReLU-like: many zeros
    s = Sketch(3)
    s.add(0, values[:, :2000])
    s.add(0, values[:, 2000:])
    probes = np.array([0.0, 0.2, 0.7, 1.5, 10.0])
    for c in range(3):
        got = s.percentile(np.full(len(probes), c), probes)
        exact = np.array([100 * np.mean(values[c] < v) for v in probes])
        exact_le = np.array([100 * np.mean(values[c] <= v) for v in probes])
        assert np.all(got >= exact - 2.5) and np.all(got <= exact_le + 2.5), (c, got, exact)
    assert np.isnan(Sketch(1).percentile(np.array([0]), np.array([1.0])))[0]


def test_topk_keeps_the_best_apart():
    rng = np.random.default_rng(1)
    hop, sep, k = 10, 35, 4
    tk = TopK(5, k, sep)
    all_scores = []
    for track in range(3):
        scores = rng.normal(size=(5, 40))
        starts = np.arange(40) * hop
        for lo in range(0, 40, 13):  # in pieces, as chunks arrive
            tk.offer(scores[:, lo:lo + 13], track, starts[lo:lo + 13], hop)
        all_scores.append(scores)
    score, track, start = tk.ranked()
    for c in range(5):
        assert np.all(np.diff(score[c]) <= 0) and np.all(track[c] >= 0)
        for i in range(k):
            for j in range(i + 1, k):
                assert track[c, i] != track[c, j] or abs(start[c, i] - start[c, j]) >= sep
            assert score[c, i] == all_scores[track[c, i]][c, start[c, i] // hop]
        # the channel's best excerpt over all the music is kept, first
        best = max(s[c].max() for s in all_scores)
        assert score[c, 0] == best


def test_scorer_windows_are_means_of_columns():
    # two layers: strides 2 and 4 samples, excerpt 8 samples, hop 4
    sc = ExcerptScorer([1, 2], [2, 4], excerpt=8, hop=4)
    a = np.arange(12, dtype=float)[None]          # 12 columns of stride 2 = 24 samples
    b = np.vstack([np.arange(6.0), -np.arange(6.0)])  # 6 columns of stride 4
    s1, st1 = sc.feed([a[:, :5], b[:, :2]])       # 8 samples heard (the slower layer): one excerpt
    s2, st2 = sc.feed([a[:, 5:], b[:, 2:]])
    scores, starts = np.concatenate([s1, s2], 1), np.concatenate([st1, st2])
    assert list(starts) == [0, 4, 8, 12, 16]
    for j, st in enumerate(starts):
        assert scores[0, j] == pytest.approx(a[0, st // 2: st // 2 + 4].mean())
        assert scores[1, j] == pytest.approx(b[0, st // 4: st // 4 + 2].mean())
        assert scores[2, j] == pytest.approx(b[1, st // 4: st // 4 + 2].mean())


# --- the pass -----------------------------------------------------------------------------------------

def test_chunked_pass_equals_one_forward_pass(tiny_model):
    """Every excerpt score of the chunked pass is that of one forward pass over the whole track, and
    that of the optimizer's channel measure on those columns."""
    model, _ = tiny_model
    g = geometry(model)
    audio, _ = SyntheticMusic(sample_rate=SR, seed=7).clip(0, SR * 20)
    n = len(audio) - len(audio) % g.step
    audio = audio[:n].astype(np.float32)
    with torch.no_grad():
        whole, _ = activations_of(model, torch.from_numpy(audio)[None])
    excerpt = 11 * g.step

    def scores(chunk, pad=False):
        from immersions_osc.gallery.build import channel_columns

        sc = ExcerptScorer(g.channels, g.strides, excerpt, g.step)
        out = []
        for p in range(0, n, chunk):
            q = min(n, p + chunk)
            x = audio[max(0, p - g.window):q]
            end = len(x)
            if pad:  # as the pass does: every input window + chunk long, silence after the audio
                x = np.concatenate([x, np.zeros(g.window + chunk - len(x), np.float32)])
            with torch.no_grad():
                acts, _ = activations_of(model, torch.from_numpy(x)[None])
            out.append(sc.feed(channel_columns(acts, q - p, g.strides, end=end))[0])
        return np.concatenate(out, axis=1)

    chunked, padded, one = scores(3 * g.step), scores(3 * g.step, pad=True), scores(n)
    assert chunked.shape == one.shape == padded.shape and chunked.shape[1] == (n - excerpt) // g.step + 1
    np.testing.assert_allclose(chunked, one, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(padded, one, rtol=1e-4, atol=1e-5)
    # the excerpt at start 5 steps of layer 0, channel 2: the target measure on the whole pass's columns
    layer = next(iter(whole))
    a = whole[layer]
    s = g.strides[0]
    lo = 5 * g.step // s
    cols = a[..., lo:lo + excerpt // s]
    from immersions_osc.optimize.targets import target_activation

    expected = float(target_activation({layer: cols}, Target(layer, channels=[2]))[0])
    assert one[2, 5] == pytest.approx(expected, rel=1e-4, abs=1e-6)


def _build(music, model, **kw):
    items, _ = _sources_items([SourceSpec("music", str(music / "music"))])
    return GalleryBuild(model, items, str(music / kw.pop("out", "out")),
                        GallerySettings(k=3, chunk_seconds=kw.pop("chunk", 5.0), separation_seconds=6.0),
                        log=lambda line: None)


def test_pass_resumed_from_its_state_equals_an_uninterrupted_one(music, tiny_model):
    model, _ = tiny_model
    full = _build(music, model, out="a").run()
    assert full.finished
    part = _build(music, model, out="b").run(stop_after_chunks=4)
    assert not part.finished
    again = _build(music, model, out="b")
    assert again.load_state() and again.position == part.position
    again.run()
    for key, value in full.arrays().items():
        np.testing.assert_array_equal(again.arrays()[key], value, err_msg=key)
    assert [t.name for t in again.tracks] == [t.name for t in full.tracks] == \
        ["music/t0.wav", "music/t1.wav", "music/t2.wav"]
    assert len(full.skipped) == 1 and "broken.wav: unreadable" in full.skipped[0]


def test_examples_and_their_audio_read_back(music, tiny_model):
    model, _ = tiny_model
    b = _build(music, model, out="c").run()
    b.write()
    gal = Gallery.load(str(music / "c"))
    layer = gal.layers[-1]
    ex = gal.examples(layer, 1)
    assert len(ex) == 3 and ex[0].activation >= ex[1].activation >= ex[2].activation
    assert ex[0].seconds == pytest.approx(b.excerpt / SR)
    audio = gal.example_audio(layer, 1, 0)
    assert audio.shape == (b.excerpt,)
    whole, _ = sf.read(ex[0].origin, dtype="float32")
    start = int(round(ex[0].start * SR))
    np.testing.assert_allclose(audio, whole[start:start + b.excerpt], atol=1e-6)
    # percentiles: 0 activation is at the bottom, the best example's own level far up
    row = gal.row(layer, 1)
    p = gal.percentiles(np.array([row, row]), np.array([-1.0, 1e6]))
    assert p[0] == 0 and p[1] == 100
    with pytest.raises(Exception, match="no layer"):
        gal.examples("nope", 0)
    with pytest.raises(Exception, match="out of range"):
        gal.examples(layer, 10_000)


def test_read_excerpt_of_a_moved_file_is_one_line(tmp_path):
    with pytest.raises(Exception, match="cannot read the example from"):
        read_excerpt(str(tmp_path / "gone.wav"), 0, 100, SR)


# --- the command --------------------------------------------------------------------------------------

def _cli(*args, **kw):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "immersions_osc", "gallery", *args, "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO, **kw)


def test_cli_user_mistakes_are_one_line(tmp_path, music, capsys):
    from immersions_osc.cli import main

    p = _cli(str(tmp_path / "missing"), "--out", str(tmp_path / "g"))  # one real process: exit code, no traceback
    out, err = p.communicate(timeout=60)
    assert p.returncode == 2 and err.strip().count("\n") == 0 and "not found" in err and "Traceback" not in err
    for args, why in ((["--out", str(tmp_path / "g")], "name at least one folder"),
                      ([str(music / "music"), "--out", str(tmp_path / "g"), "--k", "0"], "--k must be 1..64"),
                      ([str(music / "music"), "--out", str(tmp_path / "g"), "--checkpoint", str(music / "tiny.pt"),
                        "--loops", "--loop-layers", "nope"], "no layer 'nope'")):
        assert main(["gallery", *args, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert why in err and err.count("error:") == 1 and "Traceback" not in err, err


def test_cli_resumes_after_a_kill(tmp_path, music):
    """A pass killed (SIGKILL) mid-run and run again ends exactly as an uninterrupted pass."""
    from immersions_osc.checkpoint import load_model

    ck = str(music / "tiny.pt")
    args = [str(music / "music"), "--checkpoint", ck, "--k", "3", "--chunk-seconds", "2", "--quiet"]
    state = tmp_path / "k" / "gallery_state.npz"
    p = _cli(*args, "--out", str(tmp_path / "k"))
    deadline = time.monotonic() + 60
    while not state.exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(p.pid, signal.SIGKILL)
    p.communicate()
    assert state.exists() and not (tmp_path / "k" / "gallery.npz").exists(), "the pass ended before the kill"
    p = _cli(*args, "--out", str(tmp_path / "k"))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0 and "resuming at file" in err, err
    assert "per hour of audio" in out and "peak RSS" in out
    assert not state.exists()
    # the uninterrupted pass, in this process, on the same checkpoint and settings
    model, _, _ = load_model(ck, "cpu")
    items, _ = _sources_items([SourceSpec("music", str(music / "music"))])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the command ran (--threads 1): the same arithmetic
    try:
        ref = GalleryBuild(model, items, str(tmp_path / "ref"), GallerySettings(k=3, chunk_seconds=2.0),
                           checkpoint=ck, log=lambda line: None).run()
    finally:
        torch.set_num_threads(threads)
    ref.write()
    a, b = Gallery.load(str(tmp_path / "ref")), Gallery.load(str(tmp_path / "k"))
    for name in ("score", "track", "start"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.sketch.counts, b.sketch.counts)
    assert a.tracks == b.tracks


def test_track_audio_streams_exactly_the_decoded_track(tmp_path):
    """Chunks read block by block (at another rate: resampled block by block) are slices of the
    whole decoded track, also from a resumed chunk; a track shorter than an excerpt is refused."""
    from immersions_osc.data.corpus import decode_item
    from immersions_osc.gallery.build import TooShort, TrackAudio

    audio, _ = SyntheticMusic(sample_rate=SR, seed=5).clip(0, SR * 7 + 1234)
    sf.write(tmp_path / "a.flac", audio, SR)
    sf.write(tmp_path / "b.wav", audio[::2], SR // 2)
    items, _ = _sources_items([SourceSpec("s", str(tmp_path))])
    step, chunk, window = 1024, 5 * 1024, 3 * 1024
    for item in items:
        whole = decode_item(item, SR)
        end = len(whole) - len(whole) % step
        for first in (0, 3):
            got = list(TrackAudio(item, SR, step, chunk, window, 4 * step).chunks(first))
            assert [g[0] for g in got] == list(range(first, -(-end // chunk)))
            assert got[-1][4] and not any(g[4] for g in got[:-1]) and got[-1][2] == end
            for c, p, q, x, last in got:
                np.testing.assert_allclose(x, whole[max(0, p - window):q], rtol=0, atol=1e-6)
        with pytest.raises(TooShort):
            list(TrackAudio(item, SR, step, chunk, window, end + step).chunks())


def test_loops_render_in_resumable_batches(music, tiny_model, tmp_path):
    from immersions_osc.config import OptimizeConfig
    from immersions_osc.gallery.files import loop_path
    from immersions_osc.gallery.loops import render_loops

    model, _ = tiny_model
    layer = geometry(model).layers[-1]
    cfg = OptimizeConfig()
    first = render_loops(model, str(tmp_path / "a"), [layer], [8], cfg, seconds=0.5, steps=1, batch=4,
                         stop_after_batches=1)
    assert first["rendered"] == 4 and sorted(os.listdir(tmp_path / "a" / "loops" / layer)) == \
        sorted(f"{c}.wav" for c in range(4))
    rest = render_loops(model, str(tmp_path / "a"), [layer], [8], cfg, seconds=0.5, steps=1, batch=4)
    assert rest["rendered"] == 4 and rest["present"] == 4
    whole = render_loops(model, str(tmp_path / "b"), [layer], [8], cfg, seconds=0.5, steps=1, batch=4)
    assert whole["rendered"] == 8
    for c in (0, 5, 7):  # a batch renders alike whenever it runs
        a, _ = sf.read(loop_path(str(tmp_path / "a"), layer, c))
        b, _ = sf.read(loop_path(str(tmp_path / "b"), layer, c))
        np.testing.assert_array_equal(a, b)
        assert len(a) == SR // 2 and np.abs(a).max() > 0


def test_a_state_of_other_music_is_refused(music, tiny_model, tmp_path):
    import shutil

    from immersions_osc.errors import UserError

    model, _ = tiny_model
    shutil.copytree(music / "music", tmp_path / "music")
    part = _build(tmp_path, model, out="s").run(stop_after_chunks=2)
    assert not part.finished
    os.utime(tmp_path / "music" / "t1.wav", ns=(1, 1))  # the music changed since
    with pytest.raises(UserError, match="belongs to another pass"):
        _build(tmp_path, model, out="s").load_state()
