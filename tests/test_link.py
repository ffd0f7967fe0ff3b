"""Ableton Link for real: two Link peers on this machine (the service's LinkSync and a peer
standing in for a DAW).  A tempo the peer sets becomes the loop's tempo, and the playhead is kept
on the session's bar phase."""
import random
import time

import numpy as np
import pytest

link = pytest.importorskip("link")  # LinkPython-extern

from immersions_osc.audio.clock import ClockAudio  # noqa: E402
from immersions_osc.audio.link import LinkSync  # noqa: E402
from immersions_osc.audio.player import LoopPlayer  # noqa: E402
from immersions_osc.audio.tempo import loop_phase_samples, loop_samples  # noqa: E402

from service_harness import wait_until  # noqa: E402

SR = 44100


def test_link_tempo_and_bar_phase():
    rng = random.Random(15)
    state = {"bpm": 120.0, "bars": 2}
    player = LoopPlayer(SR)

    def queue():
        player.queue(np.zeros(loop_samples(state["bpm"], state["bars"], 4, SR), np.float32) + 0.1, rng.randrange(1 << 20))

    def set_tempo(bpm):
        state["bpm"] = bpm
        queue()

    queue()
    clock = ClockAudio(player, block=256).start()
    sync = LinkSync(player, lambda: (state["bpm"], state["bars"], 4), set_tempo, log=lambda line: None,
                    tolerance_ms=5.0).start()
    peer = link.Link(120.0)
    peer.enabled = True
    try:
        assert wait_until(lambda: peer.numPeers() >= 1 and sync.peers >= 1, 10), "the Link peers did not find each other"
        bpm = round(rng.uniform(70, 170), 1)
        s = peer.captureSessionState()
        s.setTempo(bpm, peer.clock().micros())
        peer.commitSessionState(s)
        assert wait_until(lambda: abs(state["bpm"] - bpm) < 0.01, 10), state  # the peer's tempo is ours
        n = loop_samples(bpm, 2, 4, SR)
        assert wait_until(lambda: player.playhead()[0] is not None and len(player.playhead()[0]) == n, 15)
        time.sleep(1.0)  # a few polls: aligned
        drifts = []
        for _ in range(10):  # where the playhead is vs where the peer's session says the bar is
            loop, _ = player.playhead()
            rendered, start = player.render_time, player.render_pos
            now = time.monotonic()
            beat = peer.captureSessionState().beatAtTime(peer.clock().micros(), 8)
            have = int(start + (now - rendered) * SR) % n
            want = loop_phase_samples(beat, 2, 4, n)
            drifts.append(abs((have - want + n // 2) % n - n // 2) / SR)
            time.sleep(0.1)
        assert np.median(drifts) < 0.05, drifts  # on the bar phase (a random playhead: ~1 s off)
        assert sync.corrections >= 1
    finally:
        sync.close()
        clock.close()
        peer.enabled = False
