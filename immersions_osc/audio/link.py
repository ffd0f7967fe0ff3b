"""Ableton Link: the loop follows the tempo and the bar phase of every Link peer on the network
(Live, Bitwig, Reaper with a plug-in, Max, phones ...).

Uses ``LinkPython-extern`` (``pip install immersions-osc[link]``; import name ``link``).  A thread
polls the session 20 times a second: a tempo change from a peer becomes the service's tempo (the
loop is refitted to whole bars); the playhead is moved to the session's phase (quantum: one loop
of ``bars`` bars) when it drifts by more than ``tolerance_ms``.  The audio callback is never
involved: the correction is a single reference assignment the player reads at its next block.
Our own tempo changes (OSC, flags) are committed to the session, so peers follow us too.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from ..errors import UserError
from .player import LoopPlayer
from .tempo import loop_phase_samples

Log = Callable[[str], None]


def import_link():
    try:
        import link  # LinkPython-extern
    except ImportError as exc:
        raise UserError(f"Ableton Link needs the LinkPython-extern package ({exc}); "
                        f"pip install 'immersions-osc[link]'") from None
    return link


class LinkSync:
    def __init__(self, player: LoopPlayer, get_tempo: Callable[[], tuple[float, int, int]],
                 set_tempo: Callable[[float], None], output_latency: Callable[[], float] = lambda: 0.0,
                 log: Log = print, tolerance_ms: float = 5.0, poll_seconds: float = 0.05):
        link = import_link()
        self.player, self.get_tempo, self.set_tempo = player, get_tempo, set_tempo
        self.output_latency, self.log = output_latency, log
        self.tolerance = int(tolerance_ms * 1e-3 * player.sample_rate)
        self.poll_seconds = poll_seconds
        bpm, _, _ = get_tempo()
        self.link = link.Link(bpm if bpm > 0 else 120.0)
        self.link.enabled = True
        self.corrections = 0
        self.last_drift = 0
        self._peers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="immersions-link", daemon=True)

    def start(self) -> "LinkSync":
        self._thread.start()
        return self

    @property
    def peers(self) -> int:
        return self.link.numPeers()

    def tempo(self) -> float:
        return self.link.captureSessionState().tempo()

    def commit_tempo(self, bpm: float) -> None:
        """Our tempo (from OSC or a flag) becomes the session's."""
        state = self.link.captureSessionState()
        state.setTempo(bpm, self.link.clock().micros())
        self.link.commitSessionState(state)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._sync()
            except Exception as exc:  # Link must never take the service down
                self.log(f"link: {type(exc).__name__}: {exc}")
                self._stop.wait(1.0)

    def _sync(self) -> None:
        peers = self.link.numPeers()
        if peers != self._peers:
            self._peers = peers
            self.log(f"link: {peers} peer{'s' if peers != 1 else ''} in the Ableton Link session")
        state = self.link.captureSessionState()
        bpm, bars, beats_per_bar = self.get_tempo()
        session_bpm = state.tempo()
        if bpm <= 0 or (peers and abs(session_bpm - bpm) > 0.005):
            self.set_tempo(round(session_bpm, 3))  # a peer changed the tempo: follow it
            return  # the loop is refitted; align its phase at the next poll
        self._align(state, bars, beats_per_bar)

    def _align(self, state, bars: int, beats_per_bar: int) -> None:
        loop, _ = self.player.playhead()
        rendered, start = self.player.render_time, self.player.render_pos
        if loop is None or rendered is None or not self.player.playing:
            return
        rendered += self.player.clock_offset  # block time -> time.monotonic()
        n = len(loop)
        now_host = time.monotonic()
        now_link = self.link.clock().micros()
        # the last block started at loop sample `start` when it was rendered at `rendered`; the
        # sample that would render now is heard one output latency later
        have = int(start + (now_host - rendered) * self.player.sample_rate) % n
        heard_at = now_link + int(1e6 * self.output_latency())
        want = loop_phase_samples(state.beatAtTime(heard_at, bars * beats_per_bar), bars, beats_per_bar, n)
        drift = (have - want + n // 2) % n - n // 2
        self.last_drift = drift
        if abs(drift) > self.tolerance:
            self.player.seek((self.player.pos - drift) % n)
            self.corrections += 1

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        try:
            self.link.enabled = False
        except Exception:
            pass
