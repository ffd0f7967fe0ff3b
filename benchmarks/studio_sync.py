"""The studio figures, on real servers: a dummy-driver jackd at a device rate (server name
``studio-...``), the service as a subprocess (``serve --audio jack`` or ``--audio portaudio``
through PortAudio's JACK host API) playing a click on every bar line (a start clip the optimizer
does not replace within the run: ``service.publish_every: 10000``), a JACK client recording its output frame by frame, a
JACK client sending MIDI clock, and an OSC client.

    PYTHONPATH=. python benchmarks/studio_sync.py [--rates 48000 96000] [--backends jack portaudio]
        [--idle 0] [--no-realtime] [--checkpoint checkpoints/small.pt]

Per (backend, rate) it prints:
  * the bar length found in the recording (autocorrelation peak) against the exact bar length in
    device samples, and the click tone's frequency against the model's (pitch);
  * ``/immersions/player/sync`` in a bundle time-tagged 1 s ahead: the recorded bar lines' offsets
    (ms) from the bar grid that tag starts;
  * ``/immersions/player/tempo`` 120 -> 140 over OSC: seconds from the message to the first bar of
    the new length in the recording (a bar at 120 bpm lasts 2 s);
  * a bundle time-tagged +500 ms: when its acknowledgement came (ms after sending);
  * a MIDI clock (start, 8 bars at 120 bpm, then 8 at 137) into ``immersions:midi_in`` -- the JACK
    backend's port, or with PortAudio the service's python-rtmidi input (``--midi-in virtual
    --midi-api jack``: a JACK MIDI port of the same name): every recorded bar line's offset (ms)
    from the clock's bar line;
  * ``--idle S``: xruns over S seconds of playing (the service's count, /immersions/audio).
The recording and the clock share JACK's frame counter, so offsets need no clock conversion; the
OSC time tags are mapped to frames through JACK's frame-time estimate read beside time.time().

Where the offsets are measured: at the converter, the point the service's convention names (a
sync time tag, a MIDI clock tick, a Link beat is when the bar line is *heard*; docs/audio.md).  The
recorder listens inside the JACK graph, so every recorded frame is moved on by JACK's own playback
latency of the service's output port (read here from JACK, not from the service: 2 periods on the
dummy driver, 1024 frames at period 512).  ``graph`` offsets (before the converter) are printed
beside them.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import argparse  # noqa: E402
import os  # noqa: E402
import struct  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from immersions_osc.audio.jack import port_latency  # noqa: E402
from immersions_osc.osc.incoming import encode_time_tag  # noqa: E402
from immersions_osc.osc.protocol import encode_message  # noqa: E402
from service_harness import JackServer, OSCClient, ServiceProcess, wait_until  # noqa: E402

MODEL_RATE = 44100
CLICK_HZ = 2205.0  # the click's tone (a whole number of periods in its 4 ms)
CLICK_MS = 4.0


def bar_samples(bpm: float, rate: int, beats: int = 4) -> float:
    return beats * 60.0 / bpm * rate


def click_clip(path: str, bpm: float = 120.0, bars: int = 1) -> None:
    """A start clip: a Hann-windowed tone burst at every bar line, silence between (model rate)."""
    import soundfile

    n = int(round(bars * bar_samples(bpm, MODEL_RATE)))
    x = np.zeros(n, np.float32)
    m = int(CLICK_MS * 1e-3 * MODEL_RATE)
    burst = np.hanning(m) * np.sin(2 * np.pi * CLICK_HZ * np.arange(m) / MODEL_RATE)
    for b in range(bars):
        start = int(round(b * bar_samples(bpm, MODEL_RATE)))
        x[start:start + m] = 0.8 * burst
    soundfile.write(path, x, MODEL_RATE)


class Recorder:
    """Records one port with JACK frame numbers; counts gaps (xruns) in the frame sequence."""

    def __init__(self, server: JackServer, seconds: float):
        self.rate = server.sample_rate
        self.client = server.client("studio-rec")
        self.port = self.client.inports.register("in")
        self.buffer = np.zeros(int(seconds * self.rate), np.float32)
        self.n = 0
        self.first_frame = None
        self.gaps = 0
        self._next = None
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames):
        f = self.client.last_frame_time
        if self.first_frame is None:
            self.first_frame = self._next = f
        if f != self._next:
            self.gaps += 1  # cycles the server skipped (an xrun): their frames stay zero
        self._next = f + frames
        at = (f - self.first_frame) & 0xFFFFFFFF  # every sample at its own frame
        if at + frames <= len(self.buffer):
            self.buffer[at:at + frames] = self.port.get_array()
            self.n = at + frames

    def frame_of_unix(self, t: float, readings: int = 21) -> float:
        """The JACK frame at wall-clock time ``t``: JACK's frame-time estimate read beside
        time.time(), the median of ``readings`` readings 20 ms apart (one reading jitters by
        milliseconds on a busy machine)."""
        offsets = []
        for _ in range(readings):
            t0 = time.time()
            f = self.client.frame_time
            t1 = time.time()
            offsets.append(f - 0.5 * (t0 + t1) * self.rate)
            time.sleep(0.02)
        return float(np.median(offsets)) + t * self.rate

    def close(self):
        self.client.deactivate()
        self.client.close()


class ClockSender:
    """A JACK client that sends a scheduled MIDI clock from its process callback, frame-exact."""

    def __init__(self, server: JackServer):
        self.client = server.client("studio-clock")
        self.port = self.client.midi_outports.register("clock")
        self.events: list[tuple[int, bytes]] = []
        self._i = 0
        self.bar_frames: list[float] = []
        self.xruns = 0  # the server's xruns while this client runs: a receiver late in a cycle can lose its events
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def _xrun(self, delayed_usecs):
        self.xruns += 1

    def schedule(self, segments: list[tuple[float, int]], lead: float = 0.5) -> None:
        """``segments``: (bpm, bars) in turn, from a start ``lead`` s ahead; bar lines noted."""
        rate = self.client.samplerate
        t = float(self.client.frame_time + int(lead * rate))
        events = [(int(t) - 1, b"\xfa")]
        for bpm, bars in segments:
            dt = 60.0 / (24 * bpm) * rate
            for k in range(24 * 4 * bars):
                if k % 96 == 0:
                    self.bar_frames.append(round(t))
                events.append((int(round(t)), b"\xf8"))
                t += dt
        self.bar_frames.append(round(t))
        self.events = events
        self._i = 0
        self.end_frame = t

    def _process(self, frames):
        self.port.clear_buffer()
        start = self.client.last_frame_time
        events = self.events
        while self._i < len(events) and events[self._i][0] < start + frames:
            frame, data = events[self._i]
            # an event whose cycle was skipped (an xrun on a busy machine) goes out late, at the
            # start of this one, rather than never: a lost tick would shift every later bar line
            self.port.write_midi_event(max(0, frame - start), data)
            self._i += 1

    def close(self):
        self.client.deactivate()
        self.client.close()


def clicks(recording: np.ndarray, rate: int) -> np.ndarray:
    """Sample positions (fractional) of the clicks' centres: energy centroids of the bursts."""
    x = recording.astype(np.float64) ** 2
    w = max(1, int(1e-3 * rate))
    env = np.convolve(x, np.ones(w) / w, mode="same")
    top = float(np.max(env)) if len(env) else 0.0
    if top <= 0:
        return np.zeros(0)
    above = env > 0.1 * top
    edges = np.flatnonzero(np.diff(above.astype(np.int8)) == 1)
    out = []
    half = int(CLICK_MS * 1e-3 * rate)
    for e in edges:
        lo, hi = max(0, e - half), min(len(x), e + 2 * half)
        seg = x[lo:hi]
        if seg.sum() > 0:
            out.append(lo + float(np.sum(np.arange(len(seg)) * seg) / seg.sum()))
    out = np.array(out)
    if len(out) > 1:  # one click per burst
        keep = np.concatenate([[True], np.diff(out) > 0.05 * rate])
        out = out[keep]
    return out


def offsets_ms(click_frames: np.ndarray, bar_frames: np.ndarray, rate: int) -> np.ndarray:
    """Each bar line's offset (ms) to the nearest click (NaN when none lies within 100 ms)."""
    centre = 0.5 * CLICK_MS * 1e-3 * rate  # a click's centroid lies this far after its bar line
    out = []
    for b in bar_frames:
        if len(click_frames) == 0:
            out.append(np.nan)
            continue
        d = click_frames - centre - b
        k = int(np.argmin(np.abs(d)))
        out.append(1000 * d[k] / rate if abs(d[k]) < 0.1 * rate else np.nan)
    return np.array(out)


def repeat_length(x: np.ndarray, guess: int) -> int:
    """The lag near ``guess`` at which ``x`` best repeats itself (least squares)."""
    n = guess
    a = x[:n]
    lags = np.arange(n - 64, n + 65)
    errs = [float(np.mean((x[lag:lag + n] - a) ** 2)) for lag in lags]
    return int(lags[int(np.argmin(errs))])


def tone_frequency(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), 8 * len(x)))
    k = int(np.argmax(spec[1:])) + 1
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-20)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / (8 * len(x))


def bundle(when: float, *messages: bytes) -> bytes:
    return b"#bundle\0" + encode_time_tag(when) + b"".join(struct.pack(">i", len(m)) + m for m in messages)


def start_service(server: JackServer, backend: str, clip: str, checkpoint: str) -> tuple[ServiceProcess, OSCClient]:
    env = dict(server.env, OMP_NUM_THREADS="1")
    config = os.path.join(os.path.dirname(clip), "studio.yaml")
    with open(config, "w") as f:  # the optimizer publishes its first loop after 10000 steps (minutes)
        f.write("service:\n  publish_every: 10000\n")
    service = ServiceProcess("--config", config, "--audio", backend, "--tempo", "120", "--bars", "1", "--start",
                             clip, "--checkpoint", checkpoint, "--loops-dir", "",
                             *(["--input-device", "none", "--midi-in", "virtual", "--midi-api", "jack"]
                               if backend == "portaudio" else []), env=env)
    osc = OSCClient(service.port)
    try:
        osc.wait_ready(timeout=180)
    except TimeoutError:
        osc.close()
        service.stop()
        raise RuntimeError(f"the service did not start:\n{service.output[-3000:]}") from None
    return service, osc


def out_port(backend: str) -> str:
    return "immersions:out" if backend == "jack" else "PortAudio:out_0"


def record(server: JackServer, backend: str, seconds: float) -> Recorder:
    """A recorder on the service's output port; ``rec.heard``: JACK's playback latency of that
    port (frames from the graph to the converter, where the offsets are measured)."""
    import jack

    rec = Recorder(server, seconds)
    rec.client.connect(out_port(backend), "studio-rec:in")
    time.sleep(0.1)  # (JACK recomputes the latencies after a connection)
    rec.heard = port_latency(jack, rec.client.get_port_by_name(out_port(backend)), playback=True)
    return rec


def wait_recorded(rec: Recorder, seconds: float) -> None:
    target = min(len(rec.buffer), rec.n + int(seconds * rec.rate))
    wait_until(lambda: rec.n >= target, timeout=10 * seconds + 30, interval=0.05)


def measure_rates(server: JackServer, backend: str) -> dict:
    rate = server.sample_rate
    rec = record(server, backend, 12.0)
    try:
        wait_recorded(rec, 11.5)
    finally:
        rec.close()
    x = rec.buffer[:rec.n]
    x = x[np.flatnonzero(np.abs(x) > 1e-4)[0] + rate:]  # from a second after the sound began
    bar = bar_samples(120.0, rate)
    found = repeat_length(x, int(round(bar)))
    c = clicks(x, rate)
    m = int(CLICK_MS * 1e-3 * rate)
    burst = x[int(c[1] - m / 2):int(c[1] + m / 2)] if len(c) > 1 else x[:m]
    freq = tone_frequency(burst, rate)
    return {"bar_exact": int(round(bar)), "bar_found": found, "click_hz": freq,
            "pitch_error_pct": 100 * (freq / CLICK_HZ - 1), "gaps": rec.gaps}


def measure_sync(server: JackServer, backend: str, osc: OSCClient) -> np.ndarray:
    rate = server.sample_rate
    rec = record(server, backend, 14.0)
    try:
        wait_recorded(rec, 1.0)
        when = time.time() + 1.0
        frame = rec.frame_of_unix(when)
        osc.send_raw(bundle(when, encode_message("/immersions/player/sync", "", [])))
        wait_recorded(rec, 12.0)
    finally:
        rec.close()
    bar = bar_samples(120.0, rate)
    c = clicks(rec.buffer[:rec.n], rate) + rec.first_frame + rec.heard  # heard at the converter
    grid = frame + bar * np.arange(1, int((rec.first_frame + rec.n - frame) / bar))
    return offsets_ms(c, grid, rate), rec.heard


def measure_tempo_change(server: JackServer, backend: str, osc: OSCClient) -> dict:
    rate = server.sample_rate
    osc.send("/immersions/player/tempo", "f", 120.0)
    time.sleep(1.0)
    rec = record(server, backend, 14.0)
    try:
        wait_recorded(rec, 4.0)
        zero = rec.frame_of_unix(0.0)
        sent = time.time()
        osc.send("/immersions/player/tempo", "f", 140.0)
        frame = zero + sent * rate
        wait_recorded(rec, 9.0)
    finally:
        rec.close()
    c = clicks(rec.buffer[:rec.n], rate) + rec.first_frame
    new_bar = bar_samples(140.0, rate)
    spacing = np.diff(c)
    # the first click that starts a bar of the new length
    first = next((c[i] for i in range(len(spacing)) if c[i] > frame and abs(spacing[i] - new_bar) < 0.01 * rate
                  and all(abs(s - new_bar) < 0.01 * rate for s in spacing[i:i + 3])), None)
    osc.send("/immersions/player/tempo", "f", 120.0)
    return {"seconds_to_new_bar": (first - frame) / rate if first is not None else float("nan"),
            "old_bar_seconds": 2.0, "new_bar_seconds": new_bar / rate}


def measure_bundle(osc: OSCClient, ahead: float = 0.5, repeats: int = 5) -> list[float]:
    """Milliseconds from sending a bundle tagged ``ahead`` s ahead to its acknowledgement."""
    out = []
    for i in range(repeats):
        osc.receive(0.05)
        sent = time.time()
        osc.send_raw(bundle(sent + ahead, encode_message("/immersions/player/volume", "f", [0.7 + 0.01 * i])))
        osc.wait_for("/immersions/ack", timeout=30, predicate=lambda a: a == ["/immersions/player/volume"])
        out.append(1000 * (time.time() - sent))
    return out


def measure_midi_clock(server: JackServer, osc: OSCClient, segments=((120.0, 8), (137.0, 8)),
                       backend: str = "jack") -> tuple:
    """JACK: into the backend's port immersions:midi_in; PortAudio: into the service's python-rtmidi
    input (--midi-in virtual --midi-api jack), whose JACK port has the same name."""
    rate = server.sample_rate
    sender = ClockSender(server)
    sender.client.connect("studio-clock:clock", "immersions:midi_in")
    seconds = sum(bars * bar_samples(bpm, 1) for bpm, bars in segments) + 3.0
    rec = record(server, backend, seconds + 2.0)
    try:
        wait_recorded(rec, 0.5)
        sender.schedule(list(segments))
        wait_until(lambda: rec.first_frame is not None and rec.first_frame + rec.n > sender.end_frame + rate,
                   timeout=10 * seconds + 60)
    finally:
        rec.close()
        sender.close()
    c = clicks(rec.buffer[:rec.n], rate) + rec.first_frame + rec.heard  # heard at the converter
    return offsets_ms(c, np.array(sender.bar_frames[:-1], float), rate), [bpm for bpm, bars in segments
                                                                         for _ in range(bars)], rec.heard


def xruns_over(osc: OSCClient, seconds: float) -> int:
    def audio_xruns() -> int:
        osc.receive(0.05)
        osc.send("/immersions/status/request")
        _, args = osc.wait_for("/immersions/audio", timeout=30)
        return int(args[3])

    before = audio_xruns()
    time.sleep(seconds)
    return audio_xruns() - before


def run(rate: int, backend: str, checkpoint: str, idle: float, midi: bool = True, realtime: bool = True) -> dict:
    out: dict = {"rate": rate, "backend": backend}
    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "clicks.wav")
        click_clip(clip)
        server = JackServer(sample_rate=rate, period=512, prefix="studio-", realtime=realtime)
        service = osc = None
        try:
            service, osc = start_service(server, backend, clip, checkpoint)
            osc.send("/immersions/status/request")
            _, audio = osc.wait_for("/immersions/audio", timeout=30)
            out["audio"] = audio
            time.sleep(1.0)
            out["rates"] = measure_rates(server, backend)
            out["sync_ms"], out["heard_frames"] = measure_sync(server, backend, osc)
            out["tempo"] = measure_tempo_change(server, backend, osc)
            out["bundle_ms"] = measure_bundle(osc)
            if midi:
                out["midi_ms"], out["midi_bpm"], _ = measure_midi_clock(server, osc, backend=backend)
            if idle > 0:
                out["xruns_idle"] = (idle, xruns_over(osc, idle))
        finally:
            if osc is not None:
                osc.close()
            if service is not None:
                service.stop()
                out["service_output"] = service.output
            server.stop()
    return out


def report(r: dict) -> None:
    print(f"--- {r['backend']} at {r['rate']} Hz: /immersions/audio {r.get('audio')}")
    rt = r["rates"]
    print(f"bar length: exact {rt['bar_exact']} device samples, recording repeats at {rt['bar_found']} "
          f"(diff {rt['bar_found'] - rt['bar_exact']}); click tone {rt['click_hz']:.2f} Hz "
          f"(model {CLICK_HZ:g} Hz, error {rt['pitch_error_pct']:+.3f} %); recorder gaps {rt['gaps']}")
    heard = r["heard_frames"]
    print(f"offsets at the converter: recorded frame + JACK's playback latency of the output port, {heard} "
          f"frames ({1000 * heard / r['rate']:.2f} ms); the service's reported output latency "
          f"{r['audio'][4]:.2f} ms")
    s = r["sync_ms"]
    print("sync (bundle +1 s): bar-line offsets ms: " + " ".join(f"{v:+.2f}" for v in s))
    t = r["tempo"]
    print(f"tempo 120 -> 140 over OSC: first bar of the new length {t['seconds_to_new_bar']:.3f} s after the "
          f"message (a bar lasts {t['old_bar_seconds']:.2f} s at 120, {t['new_bar_seconds']:.3f} s at 140)")
    b = r["bundle_ms"]
    print("bundle tagged +500 ms: acknowledged after ms: " + " ".join(f"{v:.1f}" for v in b))
    if "midi_ms" in r:
        where = ("immersions:midi_in (JACK MIDI, frame-exact stamps)" if r["backend"] == "jack" else
                 "--midi-in virtual --midi-api jack (python-rtmidi; its JACK API stamps per cycle)")
        print(f"MIDI clock into {where} (start, 8 bars at 120, 8 at 137): bar-line offsets ms: "
              + " ".join(f"{bpm:g}:{v:+.2f}" for bpm, v in zip(r["midi_bpm"], r["midi_ms"])))
    if os.environ.get("STUDIO_SYNC_LOG"):
        print("\n".join(line for line in r.get("service_output", "").splitlines()
                        if any(w in line for w in ("midi", "tempo", "xrun", "sync", "audio"))))
    if "xruns_idle" in r:
        print(f"xruns over {r['xruns_idle'][0]:g} s playing: {r['xruns_idle'][1]}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rates", type=int, nargs="+", default=[48000, 96000])
    p.add_argument("--backends", nargs="+", default=["jack", "portaudio"])
    p.add_argument("--idle", type=float, default=0.0, help="seconds of playing to count xruns over (0: skip)")
    p.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "small.pt"))
    p.add_argument("--no-realtime", dest="realtime", action="store_false",
                   help="jackd --no-realtime (default: jackd -R, as a user's JACK set-up runs)")
    args = p.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min); "
          f"jackd {'-R (real-time)' if args.realtime else '--no-realtime'}, dummy driver, period 512")
    for backend in args.backends:
        for rate in args.rates:
            r = run(rate, backend, args.checkpoint, args.idle, realtime=args.realtime)
            report(r)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
