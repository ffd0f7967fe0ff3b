"""The loop player on a JACK client, and a dummy-driver JACK server for tests and ``--start-jack``.

``JackAudio``: client ``immersions`` with an output port ``out`` (the loop) and an input port ``in``
(live audio to analyse).  The process callback only calls ``LoopPlayer.render`` and
``LoopPlayer.write_input`` on the ports' buffers.  Xruns are counted.  When the JACK server goes
away the backend says so and reconnects in the background once a server is back.

``start_dummy_jackd``: a JACK server on the dummy driver (no audio hardware), for tests, CI and
``--start-jack``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from typing import Callable, Optional

import numpy as np

from ..errors import UserError
from .clock import ClockAudio
from .player import LoopPlayer
from .midiclock import CLOCK_MESSAGES, EventRing
from .realtime import promote_current_thread
from .resample import rates_text

Log = Callable[[str], None]


ANCHOR_READINGS = 15  # frame-time readings (one per 0.2 s) whose median is the clock offset


class JackUnavailable(UserError):
    """No JACK library or no running JACK server."""


def _import_jack():
    try:
        import jack  # JACK-Client (needs libjack: Debian jackd2 / libjack-jackd2-0)
    except (ImportError, OSError) as exc:
        raise JackUnavailable(f"JACK is not available ({exc}); install jackd2 (Debian) or JACK for your "
                              f"system") from None
    jack.set_error_function(_quiet)  # libjack's own stderr lines; our messages say what to do
    jack.set_info_function(_quiet)
    return jack


def _quiet(message: str) -> None:
    pass


_latency_lib = None


def port_latency(jack, port, playback: bool = True) -> int:
    """JACK's own latency of ``port`` in frames (the maximum of its latency range): ``playback``,
    from the port to the physical outputs it reaches (the converter); else capture, from the
    physical inputs.  JACK-Client has no binding for ``jack_port_get_latency_range``: it is called
    through ctypes on the library JACK-Client loaded.  0 when it cannot be read."""
    global _latency_lib
    try:
        if _latency_lib is None:
            import ctypes

            class Range(ctypes.Structure):
                _fields_ = [("min", ctypes.c_uint32), ("max", ctypes.c_uint32)]

            lib = ctypes.CDLL(jack._libname)
            lib.jack_port_get_latency_range.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(Range)]
            lib.jack_port_get_latency_range.restype = None
            _latency_lib = (lib, Range, ctypes)
        lib, Range, ctypes = _latency_lib
        r = Range()
        # jack_latency_callback_mode_t: JackCaptureLatency = 0, JackPlaybackLatency = 1
        lib.jack_port_get_latency_range(int(jack._ffi.cast("uintptr_t", port._ptr)), 1 if playback else 0,
                                        ctypes.byref(r))
        return int(r.max)
    except Exception:
        return 0


class JackAudio:
    """The player on a JACK client; survives the server going away and reconnects."""

    kind = "jack"

    def __init__(self, player: LoopPlayer, name: str = "immersions", log: Log = print,
                 connect_outputs: bool = True, retry_seconds: float = 1.0, priority: int = 0):
        self.jack = _import_jack()
        self.priority = priority
        self.scheduling = ""  # what promote_current_thread said (set by the first callback)
        self.player, self.name, self.log = player, name, log
        self.connect_outputs, self.retry_seconds = connect_outputs, retry_seconds
        self.xruns = 0
        self.rates = ""
        self.client = None
        self._anchor: Optional[tuple[int, float]] = None  # (JACK frame, time.monotonic()) side by side
        self._anchor_errors: list[float] = []
        self._latency_frames = 0  # JACK's playback latency of the out port (read by the supervisor)
        self._midi_ring = EventRing()
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._open()  # raises JackUnavailable when no server runs
        self._watch = threading.Thread(target=self._supervise, name="immersions-jack", daemon=True)

    def start(self) -> "JackAudio":
        self._watch.start()
        return self

    # --- connection -------------------------------------------------------------------------------------
    def _open(self) -> None:
        """Connect, register the ports, activate; any JACK failure (no server, a server that is
        half up) closes what was opened and raises :class:`JackUnavailable`."""
        jack = self.jack
        client = None
        try:
            client = jack.Client(self.name, no_start_server=True)
            self.player.set_device_rate(client.samplerate)
            self.rates = rates_text(self.player.sample_rate, client.samplerate)
            if client.blocksize > len(self.player._scratch):
                self.player._scratch = np.zeros(client.blocksize, np.float32)
            self._out = client.outports.register("out")
            self._in = client.inports.register("in")
            self._midi = client.midi_inports.register("midi_in")
            self._rate = client.samplerate
            self._cb_client = client  # (the callback may run before activate() returns)
            client.set_process_callback(self._process)
            client.set_xrun_callback(self._xrun)
            client.set_shutdown_callback(self._shutdown)
            client.activate()
        except jack.JackError as exc:
            if client is not None:
                try:
                    client.close()
                except jack.JackError:
                    pass
            if isinstance(exc, jack.JackOpenError):
                raise JackUnavailable("no JACK server is running. Start one (QjackCtl, or `jackd -d alsa`), "
                                      "or pass --start-jack for a dummy-driver server") from None
            raise JackUnavailable(f"the JACK server refused the client ({exc})") from None
        if self.connect_outputs:
            try:
                for port in client.get_ports(is_physical=True, is_input=True, is_audio=True)[:2]:
                    client.connect(self._out, port)
            except jack.JackError:
                pass  # no physical outputs: the user connects by hand
        self.client = client
        self._take_anchor()
        self._lost.clear()

    def _process(self, frames: int) -> None:
        if not self.scheduling:
            self.scheduling = promote_current_thread(self.priority)
        start = self._cb_client.last_frame_time
        when = self._time_of(start)
        for offset, data in self._midi.incoming_midi_events():
            raw = bytes(data)
            if raw and raw[0] in CLOCK_MESSAGES:  # MIDI clock, start/stop/continue, song position
                self._midi_ring.put(when + offset / self._rate if when is not None else -1.0, raw)
        out = self._out.get_array()
        self.player.render(out, when)
        self.player.write_input(self._in.get_array())

    def _time_of(self, frame: int) -> Optional[float]:
        """JACK frame ``frame`` on the time.monotonic() clock (from the anchor the supervisor takes:
        JACK's own frame-time estimate and the clock read side by side)."""
        anchor = self._anchor
        if anchor is None:
            return None
        d = (frame - anchor[0]) & 0xFFFFFFFF
        if d >= 0x80000000:
            d -= 0x100000000
        return anchor[1] + d / self._rate

    def _take_anchor(self) -> None:
        """The frame -> time mapping stays fixed (timestamps made at different moments -- a MIDI
        tick, the block it is aligned with -- must agree to the sample, and JACK's frame-time
        estimate jitters by milliseconds on a busy machine); how far time.monotonic() is from it now
        (the audio clock drifts against the system's; a cycle the server skipped) is measured
        here and given to the player as ``clock_offset``: the median of the last readings."""
        client = self.client
        if client is None:
            return
        try:
            t0 = time.monotonic()
            frame = client.frame_time
            t1 = time.monotonic()
        except Exception:
            return
        now = 0.5 * (t0 + t1)
        if self._anchor is None or abs(now - self._time_of(frame)) > 1.0:  # first, or another server
            self._anchor, self._anchor_errors = (frame, now), []
        self._anchor_errors = (self._anchor_errors + [now - self._time_of(frame)])[-ANCHOR_READINGS:]
        self.player.clock_offset = float(np.median(self._anchor_errors))
        if not self._lost.is_set():  # a port of a server that went away must not be read (C call)
            self._latency_frames = port_latency(self.jack, self._out, playback=True)

    def output_latency(self) -> float:
        """Seconds from a block rendered to it reaching the converter: JACK's playback latency of
        ``immersions:out`` along its connections (the physical output's latency when it is
        connected there -- period x periods on ALSA, plus any -O; 0 while it is connected to
        nothing that reports one).  Sync time tags, MIDI clock ticks and Link beats name when a
        bar line is heard there, so the service renders its bar lines this much earlier."""
        return self._latency_frames / self._rate if self.client is not None else 0.0

    def drain_midi(self) -> list:
        """The MIDI clock messages received since the last call: (time.monotonic() seconds, bytes)."""
        return self._midi_ring.drain()

    def _xrun(self, delay_usecs: float) -> None:
        self.xruns += 1

    def _shutdown(self, status, reason) -> None:
        self._lost.set()

    def _supervise(self) -> None:
        """Reconnect after the server went away; while disconnected the clock keeps the playhead."""
        said = False
        while not self._stop.is_set():
            self._take_anchor()
            if not self._lost.wait(0.2):
                if self.scheduling and not said:
                    said = True
                    self.log(f"audio: JACK callback thread: {self.scheduling}")
                continue
            if self._stop.is_set():
                break
            self.log("JACK server went away; the service keeps running and reconnects when it is back")
            try:
                self.client.close()
            except Exception:
                pass
            self.client = None
            clock = ClockAudio(self.player, log=self.log).start()  # keep the loop moving
            while not self._stop.is_set():
                try:
                    self._open()
                    self.log("JACK server is back: reconnected")
                    break
                except JackUnavailable:
                    self._stop.wait(self.retry_seconds)
            clock.close()

    def close(self) -> None:
        self._stop.set()
        self._lost.set()
        if self._watch.is_alive():
            self._watch.join(5.0)
        if self.client is not None:
            try:
                self.client.deactivate()
                self.client.close()
            except Exception:
                pass
            self.client = None


def start_dummy_jackd(sample_rate: int = 44100, period: int = 1024, name: Optional[str] = None,
                      wait: float = 10.0, port_max: Optional[int] = None,
                      realtime: bool = False) -> subprocess.Popen:
    """Start ``jackd --no-realtime -d dummy`` and wait until clients can connect (``port_max``:
    the server's port limit, to make it refuse further clients; ``realtime``: ``jackd -R`` as a
    user's JACK set-up runs, which needs the right to real-time scheduling)."""
    exe = shutil.which("jackd")
    if exe is None:
        raise JackUnavailable("jackd is not installed (Debian: apt-get install jackd2)")
    jack = _import_jack()  # before starting anything: without the library no client could use it
    env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
    cmd = ([exe, "--realtime" if realtime else "--no-realtime"] + (["-n", name] if name else []) + (["-p", str(port_max)] if port_max else [])
           + ["-d", "dummy", "-r", str(sample_rate), "-p", str(period)])
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise JackUnavailable(f"jackd exited at once (code {proc.returncode}); is another JACK server running?")
        try:
            probe = jack.Client("immersions-probe", no_start_server=True, servername=name)
            probe.close()
            return proc
        except jack.JackError:
            time.sleep(0.1)
        except BaseException:
            proc.terminate()
            raise
    proc.terminate()
    raise JackUnavailable(f"jackd did not come up within {wait:g} s")


def jack_server_running() -> bool:
    """Whether a JACK server answers (without starting one)."""
    try:
        jack = _import_jack()
    except JackUnavailable:
        return False
    try:
        probe = jack.Client("immersions-probe", no_start_server=True)
    except jack.JackError:
        return False
    probe.close()
    return True


def stop_jackd(proc: subprocess.Popen) -> None:
    """Stop a jackd that :func:`start_dummy_jackd` started (SIGTERM, then SIGKILL after 5 s)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
