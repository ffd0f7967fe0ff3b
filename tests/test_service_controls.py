"""The OSC control table, docs/osc.md and the service's dispatcher agree; every control works."""
import os
import re

import numpy as np
import pytest

from immersions_osc.osc.controls import CONTROLS, MESSAGES, ArgumentError, markdown, parse_args
from immersions_osc.audio.player import LoopPlayer
from immersions_osc.osc.protocol import decode_packet, encode_message
from immersions_osc.service.handlers import ControlHandlers
from immersions_osc.service.server import Service, check_dispatch

from service_harness import in_process_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(REPO, "docs", "osc.md")


def doc_rows() -> dict[str, str]:
    """address -> argument pattern, from the tables of docs/osc.md."""
    rows = {}
    for line in open(DOC, encoding="utf-8"):
        m = re.match(r"\| `(/immersions[^`]*)` \| `([^`]*)`", line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} is listed twice"
            rows[m.group(1)] = m.group(2)
    return rows


def test_docs_table_is_generated_from_the_control_table():
    assert open(DOC, encoding="utf-8").read() == markdown(), "run: immersions-osc osc-table > docs/osc.md"


def test_docs_dispatcher_and_table_agree_exactly():
    rows = doc_rows()
    expected = {c.address: c.pattern for c in CONTROLS} | {m.address: m.pattern for m in MESSAGES}
    assert rows == expected
    assert check_dispatch() == []  # every control has a handler
    handlers = {name for name in dir(ControlHandlers) if name.startswith("on_")}
    # the optimizer settings without an on_ method go through the one generic setter
    generic = {c.handler for c in CONTROLS if c.setting.startswith("optimize.") and c.handler not in handlers}
    assert handlers | generic == {c.handler for c in CONTROLS}  # and no handler lacks a documented address


def control(address):
    return next(c for c in CONTROLS if c.address == address)


def test_argument_checking():
    volume = control("/immersions/player/volume")
    assert parse_args(volume, [1]) == [1.0]  # ints are fine for floats
    for bad in ([], [0.5, 1], ["loud"], [3.0], [float("nan")], [True]):
        with pytest.raises(ArgumentError):
            parse_args(volume, bad)
    play = control("/immersions/player/play")
    assert parse_args(play, [1.0]) == [1]  # Pd sends floats: integral floats are ints
    with pytest.raises(ArgumentError):
        parse_args(play, [0.5])
    layer = control("/immersions/target/layer")
    assert parse_args(layer, ["x"]) == ["x", 1.0]  # optional weight
    channels = control("/immersions/target/channels")
    assert parse_args(channels, ["x", 1, 2.0, 3]) == ["x", [1, 2, 3]]
    with pytest.raises(ArgumentError):
        parse_args(channels, ["x"])
    fmt = control("/immersions/stream/format")
    with pytest.raises(ArgumentError):
        parse_args(fmt, ["int4"])


# --- the player ----------------------------------------------------------------------------------------

def test_player_loops_switches_at_the_boundary_with_a_crossfade():
    sr = 1000
    p = LoopPlayer(sr, crossfade_ms=10, volume=1.0, max_block=64)
    a, b = np.full(100, 0.5, np.float32), np.full(100, -0.5, np.float32)
    p.queue(a, 1)
    out = np.zeros(64, np.float32)
    p.render(out)  # the first block fades in
    assert np.all(np.diff(out) > 0) and out[-1] == pytest.approx(0.5) and p.version == 1
    p.queue(b, 2)  # mid-loop: the current loop plays to its end first
    p.render(out)  # samples 64..127: 36 of a, then b fading in over 10 samples
    assert np.allclose(out[:36], 0.5)
    fade = out[36:46]
    assert np.all(np.diff(fade) < 0) and fade[0] > 0 and fade[-1] < 0  # smooth, monotonic crossfade
    assert np.allclose(out[46:], -0.5) and p.version == 2 and p.loops_started == 2
    p.volume = 0.5
    p.render(out)  # the volume change ramps over one block ...
    assert np.all(np.diff(out) > 0) and out[-1] == pytest.approx(-0.25)
    p.render(out)  # ... then holds
    assert np.allclose(out, -0.25)
    p.playing = False
    p.render(out)  # stop fades out over one block (no click) ...
    assert out[0] < -0.2 and out[-1] == pytest.approx(0.0, abs=1e-7) and np.all(np.diff(out) > 0)
    position = p.pos
    p.render(out)  # ... then silence, and the playhead waits
    assert not out.any() and p.pos == position
    p.playing = True
    p.render(out)  # play fades back in
    assert out[0] > -0.01 and out[-1] == pytest.approx(-0.25)


def test_player_keeps_the_newest_queued_loop_and_blocks_larger_than_the_loop():
    p = LoopPlayer(1000, crossfade_ms=0, volume=1.0, max_block=512)
    p.queue(np.arange(10, dtype=np.float32), 1)
    out = np.zeros(25, np.float32)
    p._gain = 1.0  # already playing at full volume (no fade-in ramp: exact sample values below)
    p.render(out)
    assert np.array_equal(out[:20], np.tile(np.arange(10), 2)) and np.array_equal(out[20:], np.arange(5))
    p.queue(np.full(10, 7, np.float32), 2)
    p.queue(np.full(10, 9, np.float32), 3)
    p.render(out)  # 5..9 of the old loop, then the newest (version 3); version 2 is skipped
    assert np.array_equal(out[:5], np.arange(5, 10)) and np.all(out[6:] == 9) and p.version == 3


def test_player_input_ring():
    p = LoopPlayer(100, input_seconds=1.0)
    for i in range(3):
        p.write_input(np.arange(i * 40, (i + 1) * 40, dtype=np.float32))
    assert np.array_equal(p.input_window(50), np.arange(70, 120))


# --- the service, in process ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from test_gallery_service import make_gallery

    gallery = make_gallery(tmp_path_factory.mktemp("gallery"))
    cfg = in_process_config(loops_dir=str(tmp_path_factory.mktemp("loops")), gallery=gallery)
    s = Service(cfg, log=lambda line: None)
    yield s
    s.close()


def apply(service, address, tags="", *args):
    replies = []
    service.handle_datagram(encode_message(address, tags, list(args)), replies.append)
    return [decode_packet(r)[0] for r in replies]


def test_every_control_is_applied_and_acknowledged(service):
    layer = service.vector.layer_names[3]
    cases = [
        ("/immersions/target/layer", "sf", layer, 2.0),
        ("/immersions/target/channel", "si", layer, 1),
        ("/immersions/target/channels", "sii", layer, 0, 2),
        ("/immersions/target/neurons", "iii", 0, 5, service.vector.size - 1),
        ("/immersions/target/add_neurons", "i", 7),
        ("/immersions/target/weight", "f", -1.0),
        ("/immersions/target/random", ""),
        *((c.address, c.args[0].type, c.args[0].hi) for c in CONTROLS if c.address.startswith("/immersions/optimize/")
          and c.setting.startswith("optimize.")),
        ("/immersions/optimize/start", "s", "silence"),
        ("/immersions/optimize/run", "i", 0),
        ("/immersions/optimize/run", "i", 1),
        ("/immersions/optimize/publish_every", "i", 10),
        ("/immersions/player/volume", "f", 0.3),
        ("/immersions/player/play", "i", 0),
        ("/immersions/player/play", "i", 1),
        ("/immersions/player/loop_seconds", "f", 2.0),
        ("/immersions/player/tempo", "f", 120.0),  # one 4/4 bar at 120 bpm: still 2 s
        ("/immersions/player/bars", "i", 1),
        ("/immersions/player/crossfade_ms", "f", 20.0),
        ("/immersions/player/sync", ""),
        ("/immersions/player/latency_offset", "f", 12.5),
        ("/immersions/stream/subscribe", "sis", "127.0.0.1", 9, "summary"),
        ("/immersions/stream/unsubscribe", "si", "127.0.0.1", 9),
        ("/immersions/stream/frame_rate", "f", 20.0),
        ("/immersions/stream/format", "s", "float16"),
        ("/immersions/stream/source", "s", "input"),
        ("/immersions/stream/max_datagram", "i", 1024),
        ("/immersions/stream/summary_top", "i", 3),
        ("/immersions/layout/request", ""),
        ("/immersions/status/request", ""),
        ("/immersions/auth", "s", "a-token-that-is-long"),  # on this machine: nothing to authorize
        ("/immersions/gallery/examples", "si", layer, 1),
        ("/immersions/gallery/percentiles/request", "s", layer),
        ("/immersions/gallery/audition", "sii", layer, 1, 0),
    ]
    service.player.render(np.zeros(256, np.float32))  # the start loop plays: there is an activation frame
    assert {c[0] for c in cases} == {c.address for c in CONTROLS}
    for address, tags, *args in cases:
        replies = apply(service, address, tags, *args)
        assert ("/immersions/ack", "s", [address]) in replies, (address, replies)
    # the effects
    assert service.player.volume == pytest.approx(0.3) and service.player.playing
    assert service.scfg.latency_offset_ms == 12.5
    assert service.scfg.format == "float16" and service.scfg.max_datagram == 1024 and service.scfg.summary_top == 3
    assert service.loop_samples == 2 * service.sample_rate and service.generator.publish_every == 10
    assert service.generator.cfg.peak == 1.0 or service.generator._pending.get("params", {}).get("peak") == 1.0
    assert not service.sinks
    # a neuron selection becomes per-layer targets with local indices
    apply(service, "/immersions/target/neurons", "ii", 0, service.vector.size - 1)
    layers = {t.layer for t in service.targets}
    assert layers == {service.vector.layer_of(0)[0], service.vector.layer_of(service.vector.size - 1)[0]}
    replies = apply(service, "/immersions/layout/request")
    layer_msgs = [r for r in replies if r[0] == "/immersions/layout/layer"]
    assert [m[2][1] for m in layer_msgs] == service.vector.layer_names


def test_tempo_fits_loops_to_whole_bars(service):
    """With a tempo the loop is whole bars (its boundary on the bar); loop_seconds rounds to bars;
    tempo 0 goes back to free lengths in seconds.  Bars/tempo drawn at random (seeded)."""
    import random

    from immersions_osc.audio.tempo import bar_seconds

    rng = random.Random(15)
    sr = service.sample_rate
    try:
        for _ in range(5):
            bpm = round(rng.uniform(60, 180), 2)
            bars = rng.randint(1, int(20 // bar_seconds(bpm, 4)))
            assert ("/immersions/ack", "s", ["/immersions/player/tempo"]) in apply(service, "/immersions/player/tempo", "f", bpm)
            apply(service, "/immersions/player/bars", "i", bars)
            bar = 4 * 60 / bpm * sr
            assert abs(service.loop_samples - bars * bar) <= 0.5  # whole bars, to the nearest sample
            start = service.generator._pending.get("start")  # the optimization restarts at that length
            assert start is not None and len(start) == service.loop_samples
            seconds = rng.uniform(1, 10)
            apply(service, "/immersions/player/loop_seconds", "f", seconds)
            assert service.scfg.bars == max(1, round(seconds / (bar / sr)))
            assert abs(service.loop_samples - service.scfg.bars * bar) <= 0.5
        # too long at this tempo: one clear error, nothing changes
        before = service.loop_samples
        replies = apply(service, "/immersions/player/bars", "i", 64)
        assert replies[0][0] == "/immersions/error" and "at most" in replies[0][2][1]
        assert service.loop_samples == before
        apply(service, "/immersions/player/tempo", "f", 0.0)  # no tempo: seconds again
        apply(service, "/immersions/player/loop_seconds", "f", 3.0)
        assert service.loop_samples == 3 * sr
        replies = apply(service, "/immersions/player/bars", "i", 2)
        assert replies[0][0] == "/immersions/error" and "tempo first" in replies[0][2][1]
    finally:
        apply(service, "/immersions/player/tempo", "f", 0.0)


@pytest.mark.parametrize("address,tags,args,why", [
    ("/immersions/nope", "", [], "unknown address"),
    ("/immersions/player/volume", "s", ["loud"], "expected a number"),
    ("/immersions/player/volume", "f", [5.0], "out of range"),
    ("/immersions/target/layer", "s", ["no.such.layer"], "unknown layer"),
    ("/immersions/target/channel", "si", ["encoder.blocks.0.relu1", 10_000], "out of range"),
    ("/immersions/target/neurons", "i", [10 ** 8], "out of range"),
    ("/immersions/stream/unsubscribe", "si", ["127.0.0.1", 1], "not subscribed"),
])
def test_bad_messages_get_an_error_reply(service, address, tags, args, why):
    before = list(service.targets)
    replies = apply(service, address, tags, *args)
    errors = [r for r in replies if r[0] == "/immersions/error"]
    assert errors and errors[0][2][0] == address and why in errors[0][2][1], replies
    assert not [r for r in replies if r[0] == "/immersions/ack"]
    assert service.targets == before


def test_activation_frame_matches_a_direct_capture(service):
    """The streamed vector is every layer's last time step, in the layout's neuron order."""
    import torch

    audio = torch.randn(int(2.0 * service.sample_rate)) * 0.1
    from immersions_osc.service.engine import current_activations

    values = current_activations(service.stream_model, audio, service.vector)
    with torch.no_grad():
        from immersions_osc.optimize.ascent import activations_of
        captured, _ = activations_of(service.stream_model, audio[None])
    neurons = np.asarray(service.layout.neurons)
    for i in np.random.default_rng(0).choice(len(neurons), 200, replace=False):
        layer, channel, freq = neurons[i]
        a = captured[service.vector.layer_names[layer]]
        expected = a[0, channel, freq, -1] if a.dim() == 4 else a[0, channel, -1]
        assert values[i] == pytest.approx(float(expected), abs=1e-5)


def test_loop_analysis_gives_the_activations_of_a_window_ending_at_the_playhead(service):
    """The cached per-loop analysis equals a direct forward pass over the receptive field ending
    at the playhead (at positions where every layer's last column ends exactly there)."""
    import torch

    from immersions_osc.service.engine import LoopAnalysis, current_activations

    rng = np.random.default_rng(3)
    loop = (rng.standard_normal(3 * service.sample_rate) * 0.1).astype(np.float32)
    analysis = LoopAnalysis(service.stream_model, loop, service.vector, service.window)
    deepest = max(analysis.strides) * analysis.hop
    n = len(loop)
    checked = 0
    for q in range(deepest, analysis.tail + n + 1, deepest):  # column ends of the deepest layer
        p = q - analysis.tail
        if not 0 <= p < n:
            continue
        window = loop[np.arange(p - service.window, p) % n]
        direct = current_activations(service.stream_model, torch.from_numpy(window), service.vector)
        cached = analysis.frame(p)
        assert np.abs(cached - direct).max() <= 1e-4 * max(1.0, np.abs(direct).max())
        checked += 1
    assert checked >= 2
    # between column ends a frame holds the last completed column of each layer
    p = (deepest - analysis.tail % deepest) % deepest + 1
    assert np.array_equal(analysis.frame(p), analysis.frame(p + analysis.hop - 2))


def test_a_layout_stored_in_another_order_is_streamed_in_layer_order(service):
    """Activation i, position i and the layer table's offsets always describe the same neuron."""
    import dataclasses

    from immersions_osc.service.engine import NeuronVector, in_stream_order

    layout = service.layout
    perm = np.random.default_rng(0).permutation(len(layout.positions))
    shuffled = dataclasses.replace(layout, positions=layout.positions[perm], neurons=layout.neurons[perm],
                                   charges=layout.charges[perm])
    reordered, vector = in_stream_order(shuffled, NeuronVector.from_layout(shuffled))
    assert np.array_equal(vector.order, np.arange(len(perm)))
    assert np.array_equal(reordered.positions, layout.positions) and np.array_equal(reordered.neurons, layout.neurons)


def test_without_jack_only_the_newest_loops_are_kept(service, tmp_path, monkeypatch):
    import dataclasses
    import types

    import torch

    from immersions_osc.optimize.generator import PublishedLoop

    monkeypatch.setattr(service, "audio", types.SimpleNamespace(kind="none"))
    monkeypatch.setattr(service, "scfg", dataclasses.replace(service.scfg, loops_dir=str(tmp_path), keep_loops=5))
    for version in range(1, 13):
        service.stream.write_loop(PublishedLoop(torch.zeros(100), version, version * 10))
    assert sorted(os.listdir(tmp_path)) == [f"loop_{v:05d}.wav" for v in range(8, 13)]


def test_live_input_is_streamed_and_equals_the_full_forward_of_what_was_heard(service):
    """The live input's frames come from the streaming path (model/streaming.py): the first one
    (the stream starting from the latest window of input) is the window's full forward, and every
    later frame is the last column of the full forward over all the input the stream heard, ending
    at the last whole hop."""
    import torch

    from immersions_osc.service.engine import current_activations

    rng = np.random.default_rng(5)
    player, stream, hop = service.player, service.stream, service.stream_model.scaleogram.cfg.hop_length
    service.scfg.source, stream._live = "input", None
    try:
        player.write_input((0.1 * rng.standard_normal(service.window + 777)).astype(np.float32))
        first = stream.activation_frame()
        heard = player.input_window(service.window)  # what the stream starts from
        direct = current_activations(service.stream_model, torch.from_numpy(heard), service.vector)
        assert np.abs(first - direct).max() <= 1e-4 * np.abs(direct).max()
        frames_before = stream._live.stream.frames
        for _ in range(12):  # blocks of live input of random sizes, a frame after each
            block = (0.1 * rng.standard_normal(int(rng.integers(200, 3000)))).astype(np.float32)
            player.write_input(block)
            heard = np.concatenate([heard, block])
            frame = stream.activation_frame()
        assert stream._live.stream.frames > frames_before + 5  # it streamed the new hops
        whole = len(heard) // hop * hop
        direct = current_activations(service.stream_model, torch.from_numpy(heard[:whole]), service.vector)
        assert np.abs(frame - direct).max() <= 1e-4 * np.abs(direct).max()
    finally:
        service.scfg.source, stream._live = "loop", None
