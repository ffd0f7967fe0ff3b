"""The audio backend in a process of its own, so the audio callback never waits for the GIL.

JACK-Client and sounddevice call the audio callback in Python, which needs the interpreter lock.
In the service process the optimizer, the activation stream and the OSC threads hold that lock in
turns; on a busy machine the holder can be preempted by other programs while holding it, and the
callback then misses its period (an xrun) however high its own priority.  Here the player and the
backend (:func:`.audio.open_audio`: JACK, PortAudio or the clock) run in a small child process
that imports neither torch nor the model: its only busy thread is the callback.

Parent and child share, without copies per block:
  * a status array (playhead, loop version, loops started, xruns, the last block's time and start
    position, samples recorded, input position, frames, output latency) the child's player writes
    at every block (plain float stores: no allocation, no lock);
  * the live-input ring and the recording buffer (the child's player writes them in place).
Loops, volume, play/stop, crossfade and seeks go to the child through a pipe, received by the
child's command thread (never by the callback).  The child's log lines come back through the pipe.

:class:`RemotePlayer` is the parent's view: the same interface as :class:`.player.LoopPlayer` for
everything the service uses; :class:`AudioProcess` is the backend object (``kind``, ``xruns``,
``close``).
"""
from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections import deque
from types import SimpleNamespace
from typing import Callable, Optional

import numpy as np

from ..errors import UserError
from .player import LoopPlayer, input_window
from .resample import MAX_DEVICE_RATE

Log = Callable[[str], None]
FIELDS = ("pos", "version", "loops_started", "xruns", "render_time", "render_pos", "recorded", "input_pos",
          "frames", "output_latency", "device_rate", "serial", "input_len", "boundaries", "render_device_pos",
          "device_len", "loop_origin", "clock_offset", "heartbeat", "input_written")
F = {name: i for i, name in enumerate(FIELDS)}
AUDIO_SETTINGS = ("audio", "jack_client", "start_jack", "output_device", "input_device", "block_size", "latency",
                  "audio_priority", "loops_dir")
KEEP_LOOPS = 8  # loops the parent remembers by version (the playing one, the queued one, a few older)
STALL_SECONDS = 0.75  # no heartbeat from the audio process for this long: it is logged as stalled
WATCH_INTERVAL = 0.1  # how often the parent looks at the heartbeat (death or stall logged within ~1 s)
CLOSE_WAIT = 2.0  # seconds close() waits for a live audio process to stop by itself before killing it
MAX_OUTBOX = 64  # messages waiting for the audio process (beyond, the oldest are dropped)
LATEST_ONLY = ("queue", "volume", "playing", "crossfade", "meter", "seek")  # a newer one replaces a waiting one


class RemotePlayer:
    """The parent side of the player that plays in the audio process."""

    def __init__(self, sample_rate: int, crossfade_ms: float = 10.0, volume: float = 0.8,
                 input_seconds: float = 8.0, record_seconds: float = 0.0):
        ctx = mp.get_context("spawn")
        self.sample_rate = sample_rate
        self.input_seconds = float(input_seconds)
        # the device's rate is known once the audio process opened it: room for the highest
        self._status_raw = ctx.RawArray("d", len(FIELDS))
        self._input_raw = ctx.RawArray("f", max(1, int(input_seconds * MAX_DEVICE_RATE)))
        self._record_raw = ctx.RawArray("f", max(1, int(record_seconds * MAX_DEVICE_RATE)))
        self._record_len = int(record_seconds * MAX_DEVICE_RATE)
        self._status = np.frombuffer(self._status_raw, np.float64)
        self._status[F["version"]] = -1
        self._status[F["render_time"]] = -1.0
        self._status[F["loop_origin"]] = -1.0
        self._status[F["device_rate"]] = sample_rate
        self._status[F["input_len"]] = max(1, int(input_seconds * sample_rate))
        self._meter = (0.0, 0, 4)
        self._serial = 0
        self._input = np.frombuffer(self._input_raw, np.float32)
        self._record = np.frombuffer(self._record_raw, np.float32)
        self._volume, self._playing, self._crossfade_ms = float(volume), True, float(crossfade_ms)
        self._queued: Optional[tuple[np.ndarray, int]] = None
        self._loops: dict[int, np.ndarray] = {}  # by serial (a refitted loop keeps its version)
        self._send: Callable[[tuple], None] = lambda message: None  # until the process runs

    # --- what the service sets ------------------------------------------------------------------------
    def queue(self, audio: np.ndarray, version: int) -> None:
        loop = np.ascontiguousarray(audio, dtype=np.float32)
        self._serial += 1
        self._queued = (loop, int(version), self._serial)
        self._loops[self._serial] = loop
        playing = self.serial
        for old in sorted(self._loops)[:-KEEP_LOOPS]:
            if old != playing:
                del self._loops[old]
        self._send(("queue", loop, int(version), self._serial))

    def set_meter(self, bpm: float, bars: int, beats_per_bar: int = 4) -> None:
        self._meter = (float(bpm), int(bars), int(beats_per_bar))
        self._send(("meter",) + self._meter)

    def nudge(self, samples: int) -> None:
        """Shift the playhead by ``samples`` device samples at the next block."""
        self._send(("nudge", int(samples)))

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, gain: float) -> None:
        self._volume = float(gain)
        self._send(("volume", self._volume))

    @property
    def playing(self) -> bool:
        return self._playing

    @playing.setter
    def playing(self, on: bool) -> None:
        self._playing = bool(on)
        self._send(("playing", self._playing))

    def set_crossfade(self, ms: float) -> None:
        self._crossfade_ms = float(ms)
        self._send(("crossfade", self._crossfade_ms))

    def seek(self, pos: int) -> None:
        self._send(("seek", int(pos)))

    def initial_state(self) -> list[tuple]:
        state = [("volume", self._volume), ("playing", self._playing), ("crossfade", self._crossfade_ms),
                 ("meter",) + self._meter]
        if self._queued is not None:
            state.append(("queue",) + self._queued)
        return state

    # --- what the service reads -----------------------------------------------------------------------
    def _get(self, name: str) -> float:
        return float(self._status[F[name]])

    @property
    def version(self) -> int:
        return int(self._get("version"))

    @property
    def pos(self) -> int:
        return int(self._get("pos"))

    @property
    def loops_started(self) -> int:
        return int(self._get("loops_started"))

    @property
    def render_time(self) -> Optional[float]:
        t = self._get("render_time")
        return None if t < 0 else t

    @property
    def render_pos(self) -> int:
        return int(self._get("render_pos"))

    @property
    def clock_offset(self) -> float:
        return self._get("clock_offset")

    @property
    def loop_origin(self) -> Optional[float]:
        t = self._get("loop_origin")
        return None if t < 0 else t

    @property
    def render_device_pos(self) -> int:
        return int(self._get("render_device_pos"))

    @property
    def device_rate(self) -> int:
        return int(self._get("device_rate"))

    @property
    def serial(self) -> int:
        return int(self._get("serial"))

    @property
    def boundaries(self) -> int:
        return int(self._get("boundaries"))

    def device_loop_length(self) -> int:
        """Device samples of the loop playing (0 before one plays)."""
        return int(self._get("device_len"))

    def queued(self) -> Optional[np.ndarray]:
        q = self._queued
        return q[0] if q is not None else None

    def playhead(self) -> tuple[Optional[np.ndarray], int]:
        loop = self._loops.get(self.serial)
        if loop is None:
            return None, 0
        return loop, self.pos % len(loop)

    def input_window(self, n: int) -> np.ndarray:
        ring = self._input[:max(1, int(self._get("input_len")))]
        return input_window(ring, int(self._get("input_pos")), n, self.device_rate, self.sample_rate)

    def input_ring(self) -> tuple[np.ndarray, int]:
        """As ``LoopPlayer.input_ring``: the shared ring and the count the audio process publishes
        after writing each block, so every sample before the count is in the ring already."""
        written = int(self._get("input_written"))
        return self._input[:max(1, int(self._get("input_len")))], written

    def recording(self) -> np.ndarray:
        """What was played, at the device rate (``device_rate``)."""
        return self._record[:min(int(self._get("recorded")), self._record_len)].copy()


class AudioProcess:
    """Starts the audio process, forwards the player's changes to it, relays its log lines, and
    watches it.

    Nothing the service does waits on the child: ``_send`` only puts the message in a bounded
    outbox (a newer loop, volume, ... replaces one still waiting) and a sender thread writes it to
    the pipe, so a frozen child (SIGSTOP, a stuck driver) blocks that thread alone, never a
    control or the optimizer.  A watchdog logs the child's death or stall within about a second
    (``health``: ``ok``, ``stalled``, ``dead``; the status's audio kind says it) and the service
    then runs silent.  ``close`` is bounded whatever the child does."""

    def __init__(self, player: RemotePlayer, scfg, log: Log = print, timeout: float = 60.0,
                 warn: Optional[Log] = None):
        self.player, self.log, self.warn = player, log, warn or log
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=True)
        self._outbox: deque = deque()
        self._out_cond = threading.Condition()
        self._stopping = False
        self.health = "ok"
        self.dropped = 0  # messages dropped because the child did not take them
        self._sender = threading.Thread(target=self._send_loop, name="immersions-audio-send", daemon=True)
        self._sender.start()
        settings = {name: getattr(scfg, name) for name in AUDIO_SETTINGS}
        settings["input_seconds"] = player.input_seconds
        self.proc = ctx.Process(target=_child_main, name="immersions-audio", daemon=True,
                                args=(child, settings, player.sample_rate, player._status_raw, player._input_raw,
                                      player._record_raw, player._record_len))
        self.proc.start()
        child.close()
        self.kind, self.description = "none", ""
        self._ready = threading.Event()
        self._error: Optional[str] = None
        self._closed = threading.Event()
        self._midi: deque = deque(maxlen=4096)  # MIDI clock messages from the JACK backend
        self._reader = threading.Thread(target=self._read, name="immersions-audio-log", daemon=True)
        self._reader.start()
        for message in player.initial_state():
            self._send(message)
        if not self._ready.wait(timeout):
            self.close()
            raise UserError(f"the audio process did not start within {timeout:g} s")
        if self._error is not None:
            self.close()
            raise UserError(self._error)
        player._send = self._send
        self._watchdog = threading.Thread(target=self._watch, name="immersions-audio-watch", daemon=True)
        self._watchdog.start()

    def start(self) -> "AudioProcess":
        return self

    def _send(self, message: tuple) -> None:
        """Hand ``message`` to the sender thread; never blocks (a frozen child delays nothing here)."""
        with self._out_cond:
            if self._stopping and message[0] != "close":
                return
            if message[0] in LATEST_ONLY:
                for i, waiting in enumerate(self._outbox):
                    if waiting[0] == message[0]:
                        del self._outbox[i]  # only the newest loop / volume / ... matters
                        self.dropped += 1
                        break
            self._outbox.append(message)
            while len(self._outbox) > MAX_OUTBOX:
                self._outbox.popleft()
                self.dropped += 1
            self._out_cond.notify()

    def _send_loop(self) -> None:
        while True:
            with self._out_cond:
                while not self._outbox:
                    self._out_cond.wait()
                message = self._outbox.popleft()
            try:
                self._conn.send(message)  # may block while the child is frozen: only this thread waits
            except (OSError, ValueError):  # the process is gone (or closing): nothing to tell it
                return
            if message[0] == "close":
                return

    def _watch(self) -> None:
        """Log the child's death or stall (no heartbeat for STALL_SECONDS) and its recovery."""
        while not self._stopping:
            time.sleep(WATCH_INTERVAL)
            if self._stopping:
                return
            if not self.proc.is_alive():  # (is_alive reaps it: no zombie)
                self.health = "dead"
                self.warn(f"audio process died (exit code {self.proc.exitcode}): no sound from now on; "
                          f"the service runs silent (restart it to play again)")
                return
            beat = self.player._get("heartbeat")
            late = time.monotonic() - beat if beat > 0 else 0.0
            if late > STALL_SECONDS and self.health == "ok":
                self.health = "stalled"
                self.warn(f"audio process stalled: no heartbeat for {late:.1f} s (frozen or stopped?)")
            elif late <= STALL_SECONDS and self.health == "stalled":
                self.health = "ok"
                self.warn("audio process responds again")

    def _read(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                break
            what = message[0]
            if what == "log":
                self.log(message[1])
            elif what == "warn":
                self.warn(message[1])
            elif what == "ready":
                self.kind, self.description = message[1], message[2]
                self._ready.set()
            elif what == "error":
                self._error = message[1]
                self._ready.set()
            elif what == "midi":
                self._midi.extend(message[1])
            elif what == "closed":
                break
        self._ready.set()
        self._closed.set()

    def drain_midi(self) -> list:
        """MIDI clock messages the audio process received since the last call (JACK only)."""
        out = []
        while self._midi:
            out.append(self._midi.popleft())
        return out

    @property
    def xruns(self) -> int:
        return int(self.player._get("xruns"))

    @property
    def frames(self) -> int:
        return int(self.player._get("frames"))

    def output_latency(self) -> float:
        return self.player._get("output_latency")

    def close(self) -> None:
        """Stop the child: asked to close, given CLOSE_WAIT seconds when it is healthy (none when it
        is stalled or dead), then killed.  Bounded whatever the child or its device does."""
        self._send(("close",))
        with self._out_cond:
            self._stopping = True
        if self.health == "ok" and self.proc.is_alive():
            self._closed.wait(CLOSE_WAIT)
            self.proc.join(0.5)
        if self.proc.is_alive():
            self.proc.kill()  # (a SIGSTOPped process dies of SIGKILL too)
            self.proc.join(5.0)
        self._sender.join(1.0)  # unblocked: the pipe's other end is gone
        self._reader.join(1.0)
        try:
            self._conn.close()
        except OSError:
            pass


class _SharedLoopPlayer(LoopPlayer):
    """The child's player: renders as LoopPlayer and publishes its state in the shared status
    array after every block (float stores into a preallocated array)."""

    def __init__(self, sample_rate: int, status: np.ndarray, input_ring: np.ndarray, record: np.ndarray,
                 input_seconds: float = 8.0):
        super().__init__(sample_rate, input_seconds=input_seconds)
        self._status = status
        self._shared_input = input_ring
        self._input = input_ring[:len(self._input)]
        self._record = record

    def set_device_rate(self, rate: int) -> None:
        super().set_device_rate(rate)
        # the shared ring (room for the highest rate) instead of the one the player would make
        self._input = self._shared_input[:min(len(self._shared_input), int(self._input_seconds * rate))]
        self._input_pos = 0
        self.input_written = 0
        self._status[F["input_pos"]] = 0
        self._status[F["input_written"]] = 0
        self._status[F["input_len"]] = len(self._input)
        self._status[F["device_rate"]] = rate

    def render(self, out: np.ndarray, when: Optional[float] = None) -> None:
        super().render(out, when)
        st = self._status
        playing = self._playing
        st[0] = self.pos
        st[1] = self.version
        st[2] = self.loops_started
        st[4] = self.render_time if self.render_time is not None else -1.0
        st[5] = self.render_pos
        st[6] = self.recorded
        st[11] = playing.serial if playing is not None else 0
        st[13] = self.boundaries
        st[14] = self.render_device_pos
        st[15] = len(playing.device) if playing is not None else 0
        st[16] = self.loop_origin if self.loop_origin is not None else -1.0
        st[17] = self.clock_offset

    def write_input(self, block: np.ndarray) -> None:
        super().write_input(block)
        self._status[7] = self._input_pos
        self._status[F["input_written"]] = self.input_written  # after the samples: a reader never gets ahead of them


def _child_main(conn, settings: dict, sample_rate: int, status_raw, input_raw, record_raw, record_len: int) -> None:
    """The audio process: the player, the backend, and a command loop on the pipe."""
    import gc
    import importlib
    import signal
    import sys

    # the callback needs the interpreter lock within its period (5.3 ms at 96 kHz / 512 frames):
    # the command thread hands it over after 0.5 ms at most, not the default 5 ms (a whole period)
    sys.setswitchinterval(0.0005)
    # the resampler a loop at another rate goes through, imported before the device opens, not
    # with the first such loop while the callback runs (0.6 s of imports)
    importlib.import_module("scipy.signal")

    from .backends import open_audio
    from .jack import stop_jackd

    # Ctrl-C reaches the whole process group: the service stops this process itself (or, gone,
    # closes the pipe)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    lock = threading.Lock()

    def send(message: tuple) -> None:
        with lock:
            try:
                conn.send(message)
            except (OSError, ValueError):
                pass

    def log(line: str) -> None:
        send(("log", line))

    def warn(line: str) -> None:
        send(("warn", line))

    status = np.frombuffer(status_raw, np.float64)
    record = np.frombuffer(record_raw, np.float32)[:record_len]
    player = _SharedLoopPlayer(sample_rate, status, np.frombuffer(input_raw, np.float32), record,
                               settings.pop("input_seconds", 8.0))
    audio = jackd = None
    # the state the parent sent before the backend opens (the start loop, volume, ...)
    while conn.poll(0.05):
        _apply(player, conn.recv())
    try:
        audio, jackd = open_audio(player, SimpleNamespace(**settings), log, warn)
    except UserError as exc:
        send(("error", str(exc)))
        return
    # what the imports made lives as long as the process: the cyclic collector stops scanning it
    # (a full collection over scipy's and the backends' ~70 000 objects held the interpreter lock
    # ~35 ms, several periods, on the command thread)
    gc.freeze()
    latency = getattr(audio, "output_latency", None)
    status[F["output_latency"]] = latency() if latency is not None else 0.0
    send(("ready", audio.kind, getattr(audio, "description", "")))
    drain_midi = getattr(audio, "drain_midi", None)
    beat = F["heartbeat"]
    try:
        while True:
            status[beat] = time.monotonic()  # (CLOCK_MONOTONIC: one clock for every process)
            events = drain_midi() if drain_midi is not None else None
            if events:
                send(("midi", events))
            if conn.poll(0.02):
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    break  # the service is gone
                if message[0] == "close":
                    break
                _apply(player, message)
            status[F["xruns"]] = getattr(audio, "xruns", 0)
            status[F["frames"]] = getattr(audio, "frames", 0)
            if latency is not None:  # (JACK's changes with the out port's connections)
                status[F["output_latency"]] = latency()
    finally:
        audio.close()
        if jackd is not None:
            stop_jackd(jackd)
        send(("closed",))


def _apply(player: LoopPlayer, message: tuple) -> None:
    what = message[0]
    if what == "queue":
        player.queue(message[1], message[2], message[3])
    elif what == "meter":
        player.set_meter(*message[1:])
    elif what == "nudge":
        player.nudge(message[1])
    elif what == "volume":
        player.volume = message[1]
    elif what == "playing":
        player.playing = message[1]
    elif what == "crossfade":
        player.set_crossfade(message[1])
    elif what == "seek":
        player.seek(message[1])
