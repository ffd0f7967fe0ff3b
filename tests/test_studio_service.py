"""The studio parts of the service, in process (no sound device): patterns all or nothing,
time-tagged bundles applied at their time, a tempo change refitting the playing loop at once,
loops in the per-user data folder, --link without its extra as a warning."""
import logging
import os
import struct
import sys
import threading
import time

import numpy as np
import pytest

from immersions_osc.audio.tempo import loop_samples
from immersions_osc.config import Config, loops_folder, user_loops_dir
from immersions_osc.osc.incoming import decode, encode_time_tag
from immersions_osc.osc.protocol import decode_packet, encode_message
from immersions_osc.service.logs import LOGGER
from immersions_osc.service.server import Service

from service_harness import in_process_config, wait_until


def bundle(when, *messages: bytes) -> bytes:
    tag = struct.pack(">II", 0, 1) if when is None else encode_time_tag(when)
    return b"#bundle\0" + tag + b"".join(struct.pack(">i", len(m)) + m for m in messages)


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def service():
    """tempo 90, 2 bars; --link and --midi-in asked for while neither binding can be imported."""
    lines = Lines()
    LOGGER.addHandler(lines)
    saved = {name: sys.modules.get(name) for name in ("link", "rtmidi")}
    for name in saved:
        sys.modules[name] = None  # import link -> ImportError, as without the [link] / [midi] extra
    try:
        s = Service(in_process_config(tempo=90.0, bars=2, link=True, midi_in="virtual")).start()
    finally:
        for name, module in saved.items():
            if module is not None:
                sys.modules[name] = module
            else:
                del sys.modules[name]
    s.lines = lines
    yield s
    s.close()
    LOGGER.removeHandler(lines)


def send(service, data: bytes):
    replies = []
    service.handle_datagram(data, replies.append)
    return [decode_packet(r)[0] for r in replies]


def test_link_without_its_extra_is_a_warning_with_the_install_line(service):
    warned = [r for r in service.lines.records if "link" in r.getMessage().lower() and r.levelno == logging.WARNING]
    assert len(warned) == 1 and "pip install 'immersions-osc[link]'" in warned[0].getMessage()
    assert service.link is None


def test_midi_in_without_its_extra_is_a_warning_with_the_install_line(service):
    warned = [r for r in service.lines.records if r.getMessage().startswith("midi clock:") and r.levelno == logging.WARNING]
    assert len(warned) == 1 and "pip install 'immersions-osc[midi]'" in warned[0].getMessage()
    assert "\n" not in warned[0].getMessage() and service.midi_in is None


def test_a_pattern_with_any_bad_match_changes_nothing_and_answers_one_error(service):
    before = (service.generator.cfg.rms, service.generator.cfg.learning_rate)
    replies = send(service, encode_message("/immersions/optimize/*", "f", [0.5]))
    assert [r[0] for r in replies] == ["/immersions/error"], replies
    address, why = replies[0][2]
    assert address == "/immersions/optimize/*" and "nothing was applied" in why and "more of the" in why
    assert (service.generator.cfg.rms, service.generator.cfg.learning_rate) == before


def test_a_pattern_that_fits_every_match_applies_them_all(service):
    replies = send(service, encode_message("/immersions/player/{volume,crossfade_ms}", "f", [0.5]))
    assert sorted(r[2][0] for r in replies) == ["/immersions/player/crossfade_ms", "/immersions/player/volume"]
    assert {r[0] for r in replies} == {"/immersions/ack"} and service.player.volume == 0.5


def test_time_tags_decode_and_nest():
    now = time.time()
    inner = bundle(now - 5, encode_message("/a", "", []))
    got = decode(bundle(now + 1, encode_message("/b", "", []), inner))
    assert got[0].when == pytest.approx(now + 1, abs=1e-6)
    assert got[1].when == pytest.approx(now + 1, abs=1e-6)  # never before the enclosing bundle
    assert decode(bundle(None, encode_message("/c", "", [])))[0].when is None


def test_a_bundle_tagged_ahead_is_applied_at_its_time_a_late_one_at_once(service):
    acks = []
    done = threading.Event()

    def reply(datagram):
        acks.append((time.time(), decode_packet(datagram)[0]))
        done.set()

    sent = time.time()
    service.handle_datagram(bundle(sent + 0.5, encode_message("/immersions/player/volume", "f", [0.25])), reply)
    assert not acks and service.player.volume != 0.25  # waits
    assert done.wait(30.0)
    at, message = acks[0]
    assert message[0] == "/immersions/ack" and service.player.volume == 0.25
    assert at - sent >= 0.5 - 0.002  # never early (how late it comes: benchmarks/studio_sync.py)
    # a tag in the past: at once (OSC 1.1), within handle_datagram
    replies = send(service, bundle(time.time() - 10, encode_message("/immersions/player/volume", "f", [0.3])))
    assert [r[0] for r in replies] == ["/immersions/ack"] and service.player.volume == pytest.approx(0.3)
    # too far ahead: one error
    replies = send(service, bundle(time.time() + 1e6, encode_message("/immersions/player/volume", "f", [0.4])))
    assert [r[0] for r in replies] == ["/immersions/error"] and "schedule_seconds" in replies[0][2][1]
    # a bad argument in a scheduled bundle is refused when it arrives
    replies = send(service, bundle(time.time() + 5, encode_message("/immersions/player/volume", "f", [9.0])))
    assert [r[0] for r in replies] == ["/immersions/error"]


def test_a_tempo_change_refits_the_playing_loop_at_once(service):
    assert wait_until(lambda: service.player.playhead()[0] is not None, timeout=60)
    old = loop_samples(90.0, 2, 4, service.sample_rate)
    assert len(service.player.playhead()[0]) == old
    replies = send(service, encode_message("/immersions/player/tempo", "f", [140.0]))
    assert [r[0] for r in replies] == ["/immersions/ack"]
    new = loop_samples(140.0, 2, 4, service.sample_rate)
    # queued at once (not at the optimizer's next publish); the player takes it at its next bar line
    assert len(service.player.queued()) == new
    assert wait_until(lambda: len(service.player.playhead()[0]) == new, timeout=60)
    # and loops the optimizer made at the old length are never played again
    time.sleep(0.5)
    assert len(service.player.playhead()[0]) == new


def test_tempo_changes_within_a_bar_each_refit_the_loop_before(service):
    """A clock settling on its tempo (python-rtmidi's jittery stamps), a DAW's tempo ramp: the
    second change comes before the first one's loop took over, and refits that queued loop."""
    assert wait_until(lambda: service.player.playhead()[0] is not None, timeout=60)
    send(service, encode_message("/immersions/player/tempo", "f", [100.0]))
    send(service, encode_message("/immersions/player/tempo", "f", [110.0]))
    assert len(service.player.queued()) == loop_samples(110.0, 2, 4, service.sample_rate)
    assert wait_until(lambda: len(service.player.playhead()[0]) == loop_samples(110.0, 2, 4, service.sample_rate),
                      timeout=60)


def test_loops_go_to_the_per_user_data_folder_unless_told():
    assert Config().service.loops_dir == "user"
    folder = loops_folder("user")
    assert folder == user_loops_dir() and os.path.isabs(folder) and folder.endswith(os.path.join("immersions-osc", "loops"))
    assert not folder.startswith(os.getcwd() + os.sep) or os.getcwd() == os.path.expanduser("~")
    assert loops_folder("") == "" and loops_folder("/tmp/x") == "/tmp/x"


def test_refit_stretches_for_a_tempo_and_tiles_for_more_bars():
    from immersions_osc.service.server import refit_loop

    bar = np.sin(2 * np.pi * np.arange(1000) / 100).astype(np.float32)  # 10 periods per bar
    two = np.tile(bar, 2)
    faster = refit_loop(two, 0.5, 1000)  # twice the tempo: two bars in 1000 samples, still 10 periods each
    assert len(faster) == 1000 and np.allclose(faster[:500], np.sin(2 * np.pi * np.arange(500) / 50), atol=1e-3)
    four = refit_loop(two, 1.0, 4000)  # four bars at the same tempo: the same bars again, same pitch
    assert np.array_equal(four, np.tile(bar, 4))
