"""The loop player on any sound device through PortAudio (``sounddevice``): CoreAudio on macOS,
WASAPI / ASIO / MME on Windows, ALSA / PipeWire / JACK on Linux.

``PortAudioAudio`` opens one full-duplex stream (output: the loop on the first two channels;
input, when the device has one: mixed to mono into the player's live-input ring, which feeds the
activation stream with ``source input`` exactly as JACK's input port does).  The stream callback
follows the real-time rules of the JACK one: it only copies from preallocated buffers (the
player's render into a preallocated block, then a broadcast copy into the device buffer), never
allocates a buffer, never takes a lock, never logs, never touches torch.  Underflows and
overflows that PortAudio reports are counted.

Device trouble never ends the service: a device that cannot be opened (no such device, busy,
unsupported sample rate) raises :class:`PortAudioUnavailable` with one line that says what to do;
a device that stops while playing (unplugged, its server gone) is noticed by a watchdog thread,
said in one line, and the loop keeps its real-time pace on the clock while the watchdog tries to
reopen the device.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
from typing import Callable, Optional, Union

import numpy as np

from ..errors import UserError
from .clock import ClockAudio
from .player import LoopPlayer
from .realtime import promote_current_thread
from .resample import rates_text

Log = Callable[[str], None]
Latency = Union[str, float]
LAG_WINDOW = 64  # callbacks whose least lag behind the frame grid is the clock offset


@contextlib.contextmanager
def quiet_stderr():
    """PortAudio's C code prints its own diagnostics ("Expression ... failed in pa_jack.c") to
    stderr when a device refuses; our one line says what to do instead.  Silences file
    descriptor 2 for the duration (only around opening and rescanning devices)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def rescan(sd) -> None:
    """Re-initialize PortAudio so that devices (or a JACK server) that appeared since are seen."""
    with quiet_stderr():
        sd._terminate()  # sounddevice's documented way to refresh the device list
        sd._initialize()


class PortAudioUnavailable(UserError):
    """No PortAudio library, no such device, or the device refused the stream."""


def import_sounddevice():
    try:
        import sounddevice as sd  # PortAudio (bundled in the macOS/Windows wheels; Debian libportaudio2)
    except (ImportError, OSError) as exc:
        raise PortAudioUnavailable(f"PortAudio is not available ({exc}); pip install sounddevice "
                                   f"(on Linux also the libportaudio2 package)") from None
    return sd


def parse_latency(value: str) -> Latency:
    """``low``, ``high`` or seconds (a number)."""
    if value in ("low", "high"):
        return value
    try:
        seconds = float(value)
    except ValueError:
        raise UserError(f"latency must be 'low', 'high' or seconds, got {value!r}") from None
    if not 0 < seconds <= 2:
        raise UserError(f"latency must be 0..2 seconds, got {value!r}")
    return seconds


def _device_spec(spec: str) -> Union[int, str, None]:
    spec = spec.strip()
    if spec in ("", "default"):
        return None
    return int(spec) if spec.lstrip("-").isdigit() else spec


def find_device(sd, spec: str, kind: str) -> Optional[int]:
    """The index of the ``kind`` ("output"/"input") device ``spec`` (index, a part of its name, or
    ""/"default" for the system default); ``None`` for an input that is "none" or absent."""
    if kind == "input" and spec.strip() == "none":
        return None
    want = _device_spec(spec)
    try:
        info = sd.query_devices(want, kind)
    except ValueError as exc:  # "No output device matching 'x'" or "Multiple ... devices found"
        if want is None:
            if kind == "input":
                return None  # no default input: output only
            raise PortAudioUnavailable(f"there is no default {kind} device; choose one from `immersions-osc "
                                       f"devices` with --{kind}-device") from None
        raise PortAudioUnavailable(f"{str(exc).rstrip('.:')}; see `immersions-osc devices`".replace("\n", " ")) \
            from None
    except sd.PortAudioError as exc:
        if want is None and kind == "input":
            return None
        if want is None:
            raise PortAudioUnavailable(f"there is no default {kind} device (PortAudio sees "
                                       f"{len(sd.query_devices())} devices; see `immersions-osc devices`)") from None
        raise PortAudioUnavailable(f"no {kind} device {spec!r} ({exc}); see `immersions-osc devices`") from None
    if info[f"max_{kind}_channels"] < 1:
        if kind == "input" and want is None:
            return None
        raise PortAudioUnavailable(f"device {info['index']} '{info['name']}' has no {kind} channels; see "
                                   f"`immersions-osc devices`")
    return int(info["index"])


def describe_devices() -> str:
    """Every device PortAudio sees, with its host API, channels and default rate (for `devices`)."""
    sd = import_sounddevice()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise PortAudioUnavailable(f"PortAudio cannot list devices ({exc})") from None
    lines = [f"PortAudio {sd.get_portaudio_version()[1].split(',')[0].replace('PortAudio ', '')}; "
             f"host APIs: " + ", ".join(a["name"] for a in apis)]
    if not len(devices):
        lines.append("no audio devices (on Linux: is a sound server running, or JACK? `--audio none` runs without)")
    for d in devices:
        marks = ("<" if d["index"] == default_in else " ") + (">" if d["index"] == default_out else " ")
        lines.append(f"{marks}{d['index']:3d}  {d['name']}  ({apis[d['hostapi']]['name']}; "
                     f"{d['max_input_channels']} in, {d['max_output_channels']} out; "
                     f"{d['default_samplerate']:g} Hz)")
    lines.append("> default output, < default input.  Use --audio portaudio --output-device INDEX|NAME "
                 "[--input-device INDEX|NAME|none]")
    return "\n".join(lines)


class PortAudioAudio:
    """The player on a PortAudio stream; survives the device going away and reopens it."""

    kind = "portaudio"

    def __init__(self, player: LoopPlayer, output: str = "", input: str = "", block_size: int = 0,
                 latency: Latency = "high", log: Log = print, retry_seconds: float = 2.0,
                 stall_seconds: float = 1.0, priority: int = 0, warn: Optional[Log] = None):
        self.sd = import_sounddevice()
        self.warn = warn or log
        self.priority = priority
        self.scheduling = ""  # what promote_current_thread said (set by the first callback)
        self.player, self.log = player, log
        self.output_spec, self.input_spec = output, input
        self.block_size, self.latency = int(block_size), latency
        self.retry_seconds, self.stall_seconds = retry_seconds, stall_seconds
        self.xruns = 0  # output underflows reported by PortAudio
        self.overflows = 0  # input overflows
        self.callbacks = 0
        self.frames = 0
        self.host_frames = 0  # frames of the last callback (the host buffer with block size 0)
        # block times: the first callback's clock reading plus the frames since, the player's
        # clock_offset the least lag of the recent callbacks behind that grid (a late callback does
        # not move the loop's bar lines; the audio clock's drift and skipped blocks are followed)
        self._t0: Optional[float] = None
        self._frames0 = 0
        self._lags = np.full(LAG_WINDOW, np.inf)
        self.jack_host = False  # the device is on PortAudio's JACK host API
        self.stream = None
        self.wedged = False  # a lost stream PortAudio could not release: never touch it again
        self.description = ""
        # the callback's preallocated blocks: the loop (mono) and the input mix
        self._chunk = len(player._scratch)
        self._mono = np.zeros(self._chunk, np.float32)
        self._mix = np.zeros(self._chunk, np.float32)
        self._in_channels = 0
        self._stop = threading.Event()
        self._open()  # raises PortAudioUnavailable
        self._watch = threading.Thread(target=self._supervise, name="immersions-portaudio", daemon=True)

    def start(self) -> "PortAudioAudio":
        self._watch.start()
        return self

    # --- opening --------------------------------------------------------------------------------------
    def _open(self) -> None:
        sd = self.sd
        rate = self.player.sample_rate
        out = find_device(sd, self.output_spec, "output")
        inp = find_device(sd, self.input_spec, "input")
        out_info = sd.query_devices(out)
        out_ch = min(2, out_info["max_output_channels"])
        in_ch = min(2, sd.query_devices(inp)["max_input_channels"]) if inp is not None else 0
        where = f"'{out_info['name']}' ({sd.query_hostapis(out_info['hostapi'])['name']})"
        # the model's rate when the device takes it, else the device's own (the player resamples)
        candidates = [rate] + [r for r in (int(out_info["default_samplerate"]),) if r != rate]
        for i, rate in enumerate(candidates):
            try:
                sd.check_output_settings(out, channels=out_ch, dtype="float32", samplerate=rate)
                if inp is not None:
                    sd.check_input_settings(inp, channels=in_ch, dtype="float32", samplerate=rate)
                break
            except sd.PortAudioError as exc:
                if "sample rate" not in str(exc).lower():
                    raise PortAudioUnavailable(f"device {where} refused the stream ({_short(exc)})") from None
                if i == len(candidates) - 1:
                    raise PortAudioUnavailable(
                        f"device {where} runs neither at {candidates[0]} Hz (the model's rate) nor at its "
                        f"own {out_info['default_samplerate']:g} Hz (with that input); choose another device "
                        f"or rate") from None
        self.player.set_device_rate(rate)
        stream = None
        kwargs = dict(samplerate=rate, blocksize=self.block_size, dtype="float32", latency=self.latency,
                      callback=self._callback, prime_output_buffers_using_stream_callback=False)
        try:
            with quiet_stderr():
                if inp is not None:
                    stream = sd.Stream(device=(inp, out), channels=(in_ch, out_ch), **kwargs)
                else:
                    kwargs["callback"] = self._output_callback
                    stream = sd.OutputStream(device=out, channels=out_ch, **kwargs)
            with quiet_stderr():
                stream.start()
        except sd.PortAudioError as exc:
            text = str(exc).lower()
            busy = any(w in text for w in ("unavailable", "busy", "insufficient memory", "host error"))
            why = ("it is busy (another program holds it, or its server has no room for another client)"
                   if busy else _short(exc))
            if stream is not None:
                stream.close(ignore_errors=True)
            raise PortAudioUnavailable(f"cannot open device {where}: {why}") from None
        self._in_channels = in_ch
        self._t0 = None
        self._lags[:] = np.inf
        self.jack_host = "jack" in sd.query_hostapis(out_info["hostapi"])["name"].lower()
        self.stream = stream
        self.description = (f"PortAudio output {where}" + (f", input '{sd.query_devices(inp)['name']}'"
                                                           if inp is not None else ", no input")
                            + f", {rates_text(self.player.sample_rate, rate)}, block {self.block_size or 'auto'}, "
                              f"output latency {1000 * _output_latency(stream):.1f} ms")

    def output_latency(self) -> float:
        """Seconds from a block rendered to it reaching the converter: PortAudio's output latency.
        On PortAudio's JACK host API that figure is JACK's playback latency *less one JACK
        period* (pa_jack.c: "one buffer is not counted as latency"), while the callback renders
        in the JACK cycle as a JACK client does: the period is added back, so both backends name
        JACK's own figure for the same point (the physical output)."""
        stream = self.stream
        if stream is None:
            return 0.0
        extra = self.host_frames / stream.samplerate if self.jack_host and self.block_size == 0 else 0.0
        return _output_latency(stream) + extra

    # --- the real-time callback -----------------------------------------------------------------------
    def _callback(self, indata, outdata, frames, time_info, status) -> None:
        if status:
            self._flags(status)
        self._play(outdata, frames)
        ch = self._in_channels
        if ch == 1:
            self.player.write_input(indata[:, 0])
        elif ch == 2:
            done = 0
            while done < frames:
                take = min(frames - done, self._chunk)
                mix = self._mix[:take]
                np.add(indata[done:done + take, 0], indata[done:done + take, 1], out=mix)
                np.multiply(mix, 0.5, out=mix)
                self.player.write_input(mix)
                done += take

    def _output_callback(self, outdata, frames, time_info, status) -> None:
        if status:
            self._flags(status)
        self._play(outdata, frames)

    def _flags(self, status) -> None:
        if status.output_underflow:
            self.xruns += 1
        if status.input_overflow:
            self.overflows += 1

    def _play(self, outdata, frames: int) -> None:
        if not self.scheduling:
            self.scheduling = promote_current_thread(self.priority)
        now = time.monotonic()
        player = self.player
        rate = player.device_rate
        if self._t0 is None:
            self._t0, self._frames0 = now, self.frames
        when = self._t0 + (self.frames - self._frames0) / rate
        self._lags[self.callbacks % LAG_WINDOW] = now - when
        player.clock_offset = float(self._lags.min())
        done = 0
        while done < frames:  # in chunks the player's scratch holds (device blocks can be large)
            take = min(frames - done, self._chunk)
            mono = self._mono[:take]
            player.render(mono, when + done / rate)
            outdata[done:done + take] = mono[:, None]  # every output channel: a broadcast copy
            done += take
        self.callbacks += 1
        self.frames += frames
        self.host_frames = frames

    # --- supervision ----------------------------------------------------------------------------------
    def _alive(self, last_callbacks: int, since: float) -> bool:
        stream = self.stream
        if stream is None or not stream.active:
            return False
        return self.callbacks != last_callbacks or time.monotonic() - since < self.stall_seconds

    def _supervise(self) -> None:
        """A stream that stops (device unplugged, its server gone) -> the clock keeps the loop
        moving and the device is reopened when it is back."""

        last, since = self.callbacks, time.monotonic()
        said = False
        while not self._stop.wait(0.2):
            if self.scheduling and not said:
                said = True
                (self.log if self.scheduling.startswith(("SCHED", "real-time", "off", "not needed")) else
                 self.warn)(f"audio: PortAudio callback thread: {self.scheduling}")
            if self.callbacks != last:
                last, since = self.callbacks, time.monotonic()
            if self._alive(last, since):
                continue
            self.warn("audio: the PortAudio device stopped (unplugged, or its server went away); the service "
                     "keeps running without sound output and reopens the device when it is back")
            clock = ClockAudio(self.player, log=self.log).start()
            if not self._release(self.stream):
                # PortAudio's JACK host API blocks for ever closing a stream whose server died, and
                # so would its exit handler: leave the stream be, and let the process exit
                self.wedged = True
                atexit.unregister(self.sd._exit_handler)
                self.warn("audio: PortAudio cannot release the lost device (its JACK host API does not recover "
                         "from a lost server); restart the service to get sound back")
                self._stop.wait()
                clock.close()
                return
            while not self._stop.wait(self.retry_seconds):
                try:
                    rescan(self.sd)
                    self._open()
                except (PortAudioUnavailable, self.sd.PortAudioError):
                    continue
                self.log(f"audio: the device is back: {self.description}")
                break
            clock.close()
            last, since = self.callbacks, time.monotonic()

    def _release(self, stream, wait: float = 2.0) -> bool:
        """Close a stream that stopped, in a helper thread: True when that finished in time."""
        self.stream = None
        done = threading.Event()

        def close():
            try:
                stream.close(ignore_errors=True)
            except Exception:
                pass
            done.set()

        if stream is None:
            return True
        threading.Thread(target=close, name="immersions-portaudio-close", daemon=True).start()
        return done.wait(wait)

    def _close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is None:
            return
        try:
            stream.abort()
        except Exception:
            pass
        try:
            stream.close(ignore_errors=True)
        except Exception:
            pass

    def close(self) -> None:
        self._stop.set()
        if self._watch.is_alive():
            self._watch.join(5.0)
        if not self.wedged:
            self._close_stream()


def _output_latency(stream) -> float:
    latency = stream.latency
    return float(latency[1] if isinstance(latency, tuple) else latency)


def _short(exc: Exception) -> str:
    return str(exc).replace("\n", " ").strip()
