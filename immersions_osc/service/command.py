"""``immersions-osc serve``, ``immersions-osc demo`` and ``immersions-osc osc-table``.

``serve`` runs the live service until SIGINT/SIGTERM.  ``demo`` runs the same service for a set
time with a scripted tour (a journey through the layers: every stop excites one channel of the
next layer, from the first encoder block to the last autoregressive one), then writes what it
played to ``demo.wav`` plus a picture of the last activation frame on the layout, and prints a
summary.  Both work on a fresh machine with no arguments (shipped checkpoint + layout; JACK when a
server runs, otherwise the loops are written to a folder).
"""
from __future__ import annotations

import argparse
import os
import signal
import threading
import time

from ..config import load_config
from ..errors import UserError
from ..shipped import resolve_checkpoint
from .logs import LEVELS, LOGGER, level_from_args, setup_logging

DEMO_WEB_PORT = 8130  # the demo opens the browser viewer here (--web-port 0: off)
DEMO_SECONDS = 72.0  # the tour: 6 stops of 3 loops of 4 s
DEMO_STEPS = 60  # optimizer steps per stop at least (benchmarks/demo_tour.py --curve: rises vs steps)

SERVICE_FLAGS = {  # flag -> service config field
    "checkpoint": "checkpoint", "model": "model", "layout": "layout", "host": "host", "port": "port", "audio": "audio",
    "start_jack": "start_jack", "loops_dir": "loops_dir", "device": "device", "web_port": "web_port",
    "frame_rate": "frame_rate", "loop_seconds": "loop_seconds", "start": "start",
    "output_device": "output_device", "input_device": "input_device", "block_size": "block_size",
    "latency": "latency", "audio_priority": "audio_priority", "audio_process": "audio_process", "source": "source", "tempo": "tempo", "bars": "bars", "beats_per_bar": "beats_per_bar", "link": "link",
    "latency_offset": "latency_offset_ms", "midi_in": "midi_in", "midi_api": "midi_api",
    "allow_remote": "allow_remote", "token": "token", "gallery": "gallery",
}
TOKEN_ENV = "IMMERSIONS_TOKEN"  # the shared token, without putting it on the command line


def _add_service_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML config; its 'service' and 'optimize' sections apply "
                                    "(see `immersions-osc config`)")
    p.add_argument("--checkpoint", help="trained model (default: checkpoints/small.pt)")
    p.add_argument("--host", help="interface to listen on (default: 127.0.0.1; another one needs --allow-remote)")
    p.add_argument("--allow-remote", dest="allow_remote", action="store_true", default=None,
                   help="allow --host beyond this machine; remote clients need the shared token "
                        "(docs/osc.md, 'Remote access')")
    p.add_argument("--token", help=f"the shared token for remote clients (default: ${TOKEN_ENV}, else a random "
                                   f"one, printed at start)")
    p.add_argument("--model", help="your own network instead: package.module:factory, path/to/file.py:factory "
                                   "or a torch.export .pt2 file (docs/api.md)")
    p.add_argument("--layout", help="layout .npz (default: <checkpoint>_layout.npz, or with --model beside "
                                    "the model's file; laid out on the first start when it is not there)")
    p.add_argument("--gallery", help="gallery folder from `immersions-osc gallery` (examples and percentiles per "
                                     "channel; default: <checkpoint>_gallery when it is there)")
    p.add_argument("--port", type=int, help="OSC control port, UDP (default: 57130)")
    p.add_argument("--audio", choices=("auto", "jack", "portaudio", "none"),
                   help="sound output and input (default: auto = JACK when a server runs, else PortAudio's "
                        "default device, else none)")
    p.add_argument("--output-device", dest="output_device", metavar="INDEX|NAME",
                   help="PortAudio output device (see `immersions-osc devices`; default: the system's)")
    p.add_argument("--input-device", dest="input_device", metavar="INDEX|NAME",
                   help="PortAudio input device for --source input ('none': output only; default: the system's)")
    p.add_argument("--block-size", dest="block_size", type=int, metavar="FRAMES",
                   help="frames per audio callback (default 0: the device's)")
    p.add_argument("--latency", help="PortAudio latency: low, high (default) or seconds")
    p.add_argument("--audio-process", dest="audio_process", action=argparse.BooleanOptionalAction, default=None,
                   help="play in a process of its own, away from the optimizer's interpreter lock (default: on)")
    p.add_argument("--audio-priority", dest="audio_priority", type=int, metavar="N",
                   help="real-time (SCHED_FIFO) priority of the audio thread on Linux, 0 = off (default: 70)")
    p.add_argument("--tempo", type=float, metavar="BPM",
                   help="loops of whole bars at this tempo, the boundary on the bar (default: none, --loop-seconds)")
    p.add_argument("--bars", type=int, help="loop length in bars with --tempo (default: 2)")
    p.add_argument("--beats-per-bar", dest="beats_per_bar", type=int, help="beats in a bar (default: 4)")
    p.add_argument("--link", action="store_true", default=None,
                   help="follow the tempo and bar phase of an Ableton Link session (pip install 'immersions-osc[link]')")
    p.add_argument("--midi-in", dest="midi_in", metavar="PORT",
                   help="MIDI clock in through python-rtmidi (pip install 'immersions-osc[midi]'): a MIDI input's "
                        "index or a part of its name (immersions-osc devices), or 'virtual' for a port of the "
                        "service's own; not needed with --audio jack (immersions:midi_in)")
    p.add_argument("--midi-api", dest="midi_api", choices=("auto", "alsa", "jack", "coremidi", "winmm"),
                   help="the MIDI system --midi-in uses (default auto: python-rtmidi's first)")
    p.add_argument("--latency-offset", dest="latency_offset", type=float, metavar="MS",
                   help="play this many ms ahead of the bar lines it is aligned to (MIDI clock, "
                        "/immersions/player/sync, Link) to make up for the path to the DAW (default: 0)")
    p.add_argument("--start-jack", dest="start_jack", action="store_true", default=None,
                   help="start a dummy-driver jackd when no JACK server runs")
    p.add_argument("--loops-dir", dest="loops_dir", help="folder for loops without a sound device and the last loop "
                   "(default: the per-user data folder, e.g. ~/.local/share/immersions-osc/loops; '' = none)")
    p.add_argument("--device", help="auto, cpu or cuda")
    p.add_argument("--web-port", dest="web_port", type=int,
                   help=f"browser viewer on this HTTP port (0 = off; serve: off, demo: {DEMO_WEB_PORT})")
    p.add_argument("--frame-rate", dest="frame_rate", type=float, help="activation frames per second")
    p.add_argument("--loop-seconds", dest="loop_seconds", type=float, help="loop length")
    p.add_argument("--start", help="start clip: silence, noise or an audio file")
    p.add_argument("--source", choices=("loop", "input"),
                   help="what the activations show: the loop playing (default) or the live input")
    p.add_argument("--log-level", dest="log_level", choices=LEVELS, type=str.lower,
                   help="log lines shown (to stderr): debug, info (default), warning or error")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="log every control applied too (= --log-level debug)")
    p.add_argument("-q", "--quiet", action="count", default=0,
                   help="only warnings (-qq: only errors)")


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="the live OSC service (runs until Ctrl-C)",
                              description="the live OSC service: loops out of JACK, activations as OSC "
                                          "blobs, every parameter under OSC control (docs/osc.md)")
    _add_service_flags(p)
    p.set_defaults(func=run_serve, fast_exit=True)

    p = subparsers.add_parser("demo", help="the service with a scripted tour through the layers",
                              description="run the live service for a while with a scripted tour through "
                                          "the layers; writes what it played to OUT/demo.wav")
    _add_service_flags(p)
    p.add_argument("--seconds", type=float, default=DEMO_SECONDS,
                   help="length of the tour, rounded to whole loops per stop, after a lead-in while the first "
                        "stop's loop is optimized; a machine too slow to optimize each stop's loop in its window "
                        "stretches it, and the summary says so (default: %(default)s)")
    p.add_argument("--stops", type=int, default=6, help="layers visited (default: %(default)s)")
    p.add_argument("--steps-per-stop", dest="steps_per_stop", type=int, default=DEMO_STEPS,
                   help="optimizer steps every stop's loop gets at least, from the start clip toward that stop's "
                        "channel alone (default: %(default)s)")
    p.add_argument("--out", default="immersions-demo", help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_demo, fast_exit=True)

    p = subparsers.add_parser("devices", help="list the sound devices (for --output-device / --input-device)",
                              description="list the sound devices PortAudio sees, and whether a JACK server runs")
    p.set_defaults(func=run_devices)

    p = subparsers.add_parser("osc-table", help="print docs/osc.md (the OSC address table)",
                              description="print the OSC address table (docs/osc.md is this output)")
    p.add_argument("--json", action="store_true",
                   help="print the playable controls' table instead (ranges, curves, MIDI CCs, defaults: "
                        "immersions_osc/osc/controls.json, what the bundled clients are generated from)")
    p.set_defaults(func=run_osc_table)


def service_config(args: argparse.Namespace):
    from ..config import parse_config, to_dict

    if getattr(args, "model", None) and getattr(args, "checkpoint", None):
        raise UserError("give --model or --checkpoint, not both")
    cfg = load_config(args.config)
    data = to_dict(cfg)
    if getattr(args, "token", None) is None and os.environ.get(TOKEN_ENV):
        args.token = os.environ[TOKEN_ENV]
    for flag, name in SERVICE_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            data["service"][name] = value
    cfg = parse_config(data)
    cfg.service.checkpoint = resolve_checkpoint(cfg.service.checkpoint)  # run from anywhere: the shipped one
    from ..optimize.start import for_start

    cfg.optimize = for_start(cfg.optimize, cfg.service.start)  # the step size by start
    return cfg


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGINT, SIGTERM and SIGHUP set ``stop``, for the rest of the process: the handlers are never
    restored, so a second signal during the shutdown (Ctrl-C pressed twice) cannot interrupt it
    half-way (the last loop unsaved, threads killed mid-write).  Installed before the model loads,
    so a signal during start-up also ends in a clean stop.  The handler only sets an event and
    writes with ``os.write`` (``print`` is not reentrant: a signal arriving while the main thread
    prints would raise in it).  A signal that arrives while the handler itself is writing (a flood,
    with stderr a full pipe) returns at once: nested handlers would pile up to a RecursionError."""
    # plain flags, not Events: a nested handler must never wait for a lock its own thread holds
    state = {"stopping": False, "writing": False}

    def handler(signum, frame):
        if not state["stopping"] and not stop.is_set():
            state["stopping"] = True
            stop.set()
            return
        if state["writing"]:
            return
        state["writing"] = True
        try:
            os.write(2, f"already stopping ({signal.Signals(signum).name} ignored); "
                        f"the last loop is being saved\n".encode())
        except OSError:
            pass
        finally:
            state["writing"] = False
    for s in STOP_SIGNALS:
        signal.signal(s, handler)


def _start_web(service, optional: bool = False):
    """The browser viewer on ``service.web_port`` (0: none).  ``optional``: a busy port is a
    warning (the demo carries on without the viewer), not an error."""
    if not service.scfg.web_port:
        return None
    from ..web.server import WebServer

    try:
        return WebServer(service, service.scfg.host, service.scfg.web_port).start()
    except UserError as exc:
        if not optional:
            raise
        service.log(f"{exc}; continuing without the browser viewer")
        return None


def run_serve(args: argparse.Namespace) -> int:
    from .server import Service

    setup_logging(level_from_args(args.log_level, args.verbose, args.quiet))
    cfg = service_config(args)
    stop = threading.Event()
    stop_on_signals(stop)
    service = Service(cfg).start()
    web = None
    try:
        web = _start_web(service)
        while not stop.wait(0.5):
            pass
    finally:
        LOGGER.info("stopping ...")
        if web is not None:
            web.close()
        service.close()
    LOGGER.info(f"stopped: {service.generator.stats.published} loops, {service.stream.frames_sent} activation frames, "
          f"{service.xruns} xruns, {service.messages_received} OSC messages received, "
          f"{service.rejected} OSC messages rejected" + (f"; last loop saved to {service.scfg.loops_dir}/last_loop.wav"
                                      if service.scfg.loops_dir and service.last_loop_saved else ""))
    if service.last_loop_saved is False:
        LOGGER.error("the last loop could not be saved (see above): exit code 1")
        return 1
    return 0


def tour_layers(layer_names: list[str], stops: int) -> list[str]:
    """``stops`` layers spread evenly from the first to the last block (the last nonlinearity of each)."""
    from ..optimize.targets import block_layers

    blocks = block_layers(layer_names)
    if stops <= 1:
        return blocks[-1:]
    return [blocks[round(i * (len(blocks) - 1) / (stops - 1))] for i in range(stops)]


def run_demo(args: argparse.Namespace) -> int:
    import random

    import numpy as np

    import torch

    from ..images import write_png
    from ..layout.render import activation_image
    from ..optimize.ascent import measure
    from ..optimize.start import start_clip
    from ..optimize.transforms import level
    from .server import Service, Sink, write_wav
    from .tour import (PATIENCE, REDRAWS, RISE, Stop, Tour, channel_activity,
                       eligible_channels, probe_clips, stop_report, write_stop_gallery)

    setup_logging(level_from_args(args.log_level, args.verbose, args.quiet))
    if not 2 <= args.seconds <= 3600:
        raise UserError(f"--seconds must be 2..3600, got {args.seconds:g}")
    if args.stops < 1:
        raise UserError(f"--stops must be at least 1, got {args.stops}")
    if not 1 <= args.steps_per_stop <= 100000:
        raise UserError(f"--steps-per-stop must be 1..100000, got {args.steps_per_stop}")
    if args.loops_dir is None:
        args.loops_dir = os.path.join(args.out, "loops")
    if args.web_port is None:
        args.web_port = DEMO_WEB_PORT
    if args.start is None:
        args.start = "silence"  # nothing audible before the first optimized loop
    cfg = service_config(args)  # (from silence: the larger step, optimize.start.for_start)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot make the output folder {args.out}: {exc.strerror or exc}") from None
    stop = threading.Event()
    stop_on_signals(stop)
    # the tour: a lead-in while the first loop is optimized, then whole loops per stop (and room
    # for a slow machine's stretched tour in the recording)
    record = 2 * (args.seconds + args.stops * cfg.service.loop_seconds) + 120
    service = Service(cfg, record_seconds=record).start()
    frames = {"n": 0}
    service.add_sink("demo", Sink(lambda d: frames.__setitem__("n", frames["n"] + 1), "summary"))
    try:
        web = _start_web(service, optional=True)
    except BaseException:
        service.close()
        raise
    rng = random.Random(args.seed)
    layers = tour_layers(service.vector.layer_names, args.stops)
    start_kind = cfg.service.start

    def start_of(kind: str):
        return start_clip(kind, service.loop_samples, service.sample_rate, cfg.optimize.seed)

    # every channel of the tour's layers on the start clip as played (a "previous" start: the
    # silence the demo starts from) and on the probe sounds: stops are drawn from this, and a
    # stop's target is judged against its activation on the start
    reference = torch.from_numpy(service.stream.playable(
        start_of(start_kind if start_kind != "previous" else "silence"), optimized=False))
    probes = level(probe_clips(service.loop_samples, service.sample_rate), cfg.optimize.peak, cfg.optimize.rms)
    with service.stream.analysis_lock:  # the stream model's hooks: one forward pass at a time
        activity = {layer: a.cpu() for layer, a in channel_activity(
            service.stream_model, torch.cat([reference[None], probes]).to(service.device), layers).items()}
    eligible = {layer: eligible_channels(activity[layer][0], activity[layer][1:]) for layer in layers}
    stops = [Stop(layer, rng.choice(eligible[layer])) for layer in layers]
    loop_seconds = service.loop_samples / service.sample_rate
    loops_per_stop = max(1, round(args.seconds / len(stops) / loop_seconds))

    def stop_start():  # every stop's optimization starts from the start clip, not the last stop's loop
        return service.generator.current_loop() if start_kind == "previous" else start_of(start_kind)

    def before(stop: Stop) -> float:
        return float(activity[stop.layer][0, stop.channel])

    def after(stop: Stop, loop) -> float:  # the stop's target on a loop as played
        with service.stream.analysis_lock:
            return measure(service.stream_model, torch.from_numpy(loop).to(service.device), stop.targets)[0]

    def rose(stop: Stop, loop) -> bool:
        return stop_report(before(stop), after(stop, loop))[0]

    def redraw(stop: Stop, tried: list[int]):
        left = [c for c in eligible[stop.layer] if c not in tried]
        return rng.choice(left) if left else None

    tour = Tour(service, stops, loops_per_stop, args.steps_per_stop, stop_start, stop,
                say=lambda line: print(line, flush=True), rose=rose, redraw=redraw)
    print(f"tour      : {len(stops)} stops of {loops_per_stop} loop{'s' if loops_per_stop > 1 else ''} "
          f"({tour.planned_seconds:g} s) after a lead-in while the first stop's loop is optimized; every stop's "
          f"loop gets at least {args.steps_per_stop} optimizer steps (step size {cfg.optimize.learning_rate:g}) "
          f"from the start clip, and up to {PATIENCE * args.steps_per_stop} until its target rose; a stop's "
          f"channel is drawn at random among those the start drives at most as much as the layer's median "
          f"channel and that answer some probe sound, and one that does not rise is replaced by another "
          f"(at most {REDRAWS} times, said when it happens)", flush=True)
    if web is not None:
        print(f"          open it in a browser to watch (`./run serve --web-port {cfg.service.web_port}` runs "
              f"until Ctrl-C)", flush=True)
    visited = []
    start = time.monotonic()
    try:
        visited = tour.run()
        last_frame = service.activation_frame()
    finally:
        if web is not None:
            web.close()
        service.close()
    elapsed = time.monotonic() - start
    wav = os.path.join(args.out, "demo.wav")
    played = service.player.recording()  # at the device's rate
    write_wav(wav, played, service.player.device_rate)
    if service.player.device_rate != service.sample_rate:  # the model hears its own rate
        import soxr

        played = soxr.resample(played, service.player.device_rate, service.sample_rate).astype(np.float32)
    png = os.path.join(args.out, "activations.png")
    if last_frame is not None:
        write_png(png, activation_image(service.layout.positions, last_frame))
    spectrum_png = os.path.join(args.out, "demo_scaleogram.png")
    if len(played) >= service.sample_rate:
        import torch

        from ..images import scaleogram_image

        with torch.no_grad():
            from ..contract import spectrum

            spec = spectrum(service.stream_model, torch.from_numpy(played).to(service.device)[None])
        write_png(spectrum_png, scaleogram_image(spec[0, 0].cpu().numpy()))
    g = service.generator.stats
    rms = float(np.sqrt(np.mean(played ** 2))) if len(played) else 0.0
    print(f"played    : {elapsed:.1f} s, {service.player.loops_started} loops started, "
          f"{g.published} loops optimized ({g.steps} optimizer steps, {g.steps / max(elapsed, 1e-9):.1f} steps/s)"
          f" -> {wav} (RMS {20 * np.log10(max(rms, 1e-9)):.1f} dBFS), its scaleogram -> {spectrum_png}")
    print(f"audio     : {service.audio.kind if service.audio else 'none'}, {service.xruns} xruns"
          + (f"; loops also written to {service.scfg.loops_dir}/" if service.stream.loops_written else ""))
    print(f"streamed  : {service.stream.frames_sent} activation frames of {service.vector.size} neurons "
          f"({service.stream.frames_sent / max(elapsed, 1e-9):.1f} frames/s) -> last one drawn on the layout: {png}")
    after_lead = elapsed - tour.lead_in
    if tour.stretched:
        print(f"stretched : {tour.stretched} loop{'s' if tour.stretched > 1 else ''} more than planned: "
              f"{after_lead:.1f} s played for {tour.planned_seconds:g} s planned, after a {tour.lead_in:.1f} s "
              f"lead-in; this machine made {g.steps / max(elapsed, 1e-9):.1f} optimizer steps/s and every stop's "
              f"loop needs {args.steps_per_stop} steps")
    else:
        print(f"on time   : a {tour.lead_in:.1f} s lead-in, then {after_lead:.1f} s played for the "
              f"{tour.planned_seconds:g} s planned")
    print("tour      : per stop, its target on the loop that played in its window against the start clip "
          "(both as played)")
    rose = 0
    summary = _tour_summary(visited, before, after)
    for line, ok in summary:
        rose += ok
        print("            " + line)
    if len(visited) < len(stops):
        print(f"            stops {len(visited) + 1}..{len(stops)}: not reached (stopped)")
    print(f"            {rose} of {len(stops)} stops rose (x{RISE:g} or more, or woken from silence) "
          f"on their own loops")
    if visited:
        index = write_stop_gallery(os.path.join(args.out, "tour"), service.stream_model, visited,
                                   [line for line, _ in summary], service.sample_rate)
        print(f"gallery   : every stop's loop and scaleogram -> {index}")
    return 0


def _tour_summary(played: list, before, after) -> list[tuple[str, bool]]:
    """Per stop that played: (its line, whether its target rose on its own loop); ``before(stop)``
    and ``after(stop, loop)``: its target on the start clip and on a loop, as played."""
    from .streaming import describe_targets
    from .tour import stop_report

    lines = []
    for i, p in enumerate(played):
        head = f"stop {i + 1}: {p.stop.layer} ch {p.stop.channel}: "
        ok, words = stop_report(before(p.stop), after(p.stop, p.loop))
        own = p.made_for == describe_targets(p.stop.targets)
        where = (f"its own loop {p.version} ({p.steps} steps, {p.loops} loop{'s' if p.loops != 1 else ''})" if own
                 else f"loop {p.version}, which was optimized for {p.made_for}")
        if p.tried:
            where += f"; tried before: channel{'s' if len(p.tried) > 1 else ''} {', '.join(map(str, p.tried))}"
        if p.others:
            where += f"; other loops heard in its window: {p.others}"
        lines.append((head + words + " in " + where + ("" if ok else ": it did not rise"), ok and own and not p.others))
    return lines


def run_devices(args: argparse.Namespace) -> int:
    from ..audio.jack import jack_server_running
    from ..audio.portaudio import describe_devices

    print(f"JACK: {'a server runs (--audio auto picks it: client immersions)' if jack_server_running() else 'no server running'}")
    print(describe_devices())
    print(describe_midi_inputs())
    return 0


def describe_midi_inputs() -> str:
    """The MIDI inputs for --midi-in (python-rtmidi, its default MIDI system), or why there are none."""
    from ..audio.rtmidiclock import MidiUnavailable, list_inputs

    try:
        ports = list_inputs()
    except MidiUnavailable as exc:
        return f"MIDI inputs (--midi-in): {exc}"
    if not ports:
        return "MIDI inputs (--midi-in): none (--midi-in virtual makes a port of the service's own)"
    return "MIDI inputs (--midi-in INDEX|NAME, or virtual):\n" + "\n".join(f"  {i:3d}  {p}" for i, p in enumerate(ports))


def run_osc_table(args: argparse.Namespace) -> int:
    from ..osc.controls import controls_json, markdown

    print(controls_json() if args.json else markdown(), end="")
    return 0
