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

SERVICE_FLAGS = {  # flag -> service config field
    "checkpoint": "checkpoint", "model": "model", "layout": "layout", "host": "host", "port": "port", "audio": "audio",
    "start_jack": "start_jack", "loops_dir": "loops_dir", "device": "device", "web_port": "web_port",
    "frame_rate": "frame_rate", "loop_seconds": "loop_seconds", "start": "start",
    "output_device": "output_device", "input_device": "input_device", "block_size": "block_size",
    "latency": "latency", "audio_priority": "audio_priority", "audio_process": "audio_process", "source": "source", "tempo": "tempo", "bars": "bars", "beats_per_bar": "beats_per_bar", "link": "link",
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
    p.add_argument("--layout", help="layout .npz (default: <checkpoint>_layout.npz; with --model: beside "
                                    "the model's file, laid out on the first start)")
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
    p.add_argument("--start-jack", dest="start_jack", action="store_true", default=None,
                   help="start a dummy-driver jackd when no JACK server runs")
    p.add_argument("--loops-dir", dest="loops_dir", help="folder for loops without JACK and the last loop")
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
    p.add_argument("--seconds", type=float, default=24.0,
                   help="length of the tour, rounded to whole loops per stop, after a short lead-in while the first "
                        "loop is optimized (default: %(default)s)")
    p.add_argument("--stops", type=int, default=6, help="layers visited (default: %(default)s)")
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
          f"{service.rejected} OSC messages rejected" + (f"; last loop saved to {cfg.service.loops_dir}/last_loop.wav"
                                      if cfg.service.loops_dir else ""))
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

    from ..images import write_png
    from ..layout.render import activation_image
    from .server import Service, Sink, write_wav

    setup_logging(level_from_args(args.log_level, args.verbose, args.quiet))
    if not 2 <= args.seconds <= 3600:
        raise UserError(f"--seconds must be 2..3600, got {args.seconds:g}")
    if args.stops < 1:
        raise UserError(f"--stops must be at least 1, got {args.stops}")
    if args.loops_dir is None:
        args.loops_dir = os.path.join(args.out, "loops")
    if args.web_port is None:
        args.web_port = DEMO_WEB_PORT
    if args.start is None:
        args.start = "silence"  # nothing audible before the first optimized loop
    cfg = service_config(args)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot make the output folder {args.out}: {exc.strerror or exc}") from None
    stop = threading.Event()
    stop_on_signals(stop)
    # the tour: a lead-in while the first loop is optimized, then whole loops per stop
    record = args.seconds + args.stops * cfg.service.loop_seconds + 60
    service = Service(cfg, record_seconds=record).start()
    frames = {"n": 0}
    service.add_sink("demo", Sink(lambda d: frames.__setitem__("n", frames["n"] + 1), "summary"))
    try:
        web = _start_web(service, optional=True)
    except BaseException:
        service.close()
        raise
    if web is not None:
        print(f"          open it in a browser to watch and steer (the demo ends after {args.seconds:g} s; "
              f"`./run serve --web-port {cfg.service.web_port}` runs until Ctrl-C)", flush=True)
    rng = random.Random(args.seed)
    stops = [(layer, rng.randrange(service.vector.shapes[layer][0]))
             for layer in tour_layers(service.vector.layer_names, args.stops)]
    played_loops = []  # per stop: (loop array that played in its window, version, what it was optimized for)
    start = time.monotonic()
    try:
        played_loops = _tour(service, stops, args.seconds, stop, start)
        last_frame = service.activation_frame()
    finally:
        if web is not None:
            web.close()
        service.close()
    elapsed = time.monotonic() - start
    wav = os.path.join(args.out, "demo.wav")
    played = service.player.recording()
    write_wav(wav, played, service.sample_rate)
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
          + (f"; loops also written to {cfg.service.loops_dir}/" if service.stream.loops_written else ""))
    print(f"streamed  : {service.stream.frames_sent} activation frames of {service.vector.size} neurons "
          f"({service.stream.frames_sent / max(elapsed, 1e-9):.1f} frames/s) -> last one drawn on the layout: {png}")
    print("tour      : per stop, the target's gain in the loop that played in its window "
          "(activation on that loop / on the start clip, both at the playback level)")
    for line in _tour_summary(service, cfg, stops, played_loops):
        print("            " + line)
    return 0


def _tour(service, stops: list[tuple[str, int]], seconds: float, stop: threading.Event, t0: float) -> list:
    """Play every stop's loop during that stop's window.  A window is a whole number of loops and
    opens at the loop boundary where a loop optimized for that stop starts playing; the next
    stop's target is set at the start of the current stop's last loop, so its loop is usually
    queued by the boundary that closes the window (on a slow machine the current stop holds one
    more loop until it is).  The first stop's target is set before anything plays (a noise or
    silence start plays nothing), and the tour ends when the last stop's window is over."""
    from ..optimize.targets import Target
    from ..osc.protocol import encode_message
    from .streaming import describe_targets

    player = service.player
    loop_seconds = service.loop_samples / service.sample_rate
    loops_per_stop = max(1, round(seconds / len(stops) / loop_seconds))
    wanted = [describe_targets([Target(layer, channels=[channel])]) for layer, channel in stops]

    def aim(i: int) -> None:
        layer, channel = stops[i]
        service.handle_datagram(encode_message("/immersions/target/channel", "sif", [layer, channel, 1.0]))

    def made_for(version: int) -> tuple[int, str]:
        return service.stream.published.get(version, (0, "the start clip"))

    def next_boundary(timeout: float) -> bool:
        """Wait until the playhead wraps or a new loop starts; False when stopped."""
        version, last = player.version, player.pos
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stop.wait(0.005):
                return False
            pos = player.pos
            if player.version != version or pos < last:
                return True
            last = pos
        return True

    def until_playing(i: int, max_loops: int = 8) -> bool:
        """Hold (loop after loop) until a loop optimized for stop i plays; False when stopped."""
        for _ in range(max_loops):
            if player.version >= 0 and made_for(player.version)[1] == wanted[i]:
                return True
            if not next_boundary(2 * loop_seconds + 5):
                return False
        return not stop.is_set()

    aim(0)
    print(f"[{time.monotonic() - t0:5.1f} s] optimizing the first stop's loop ...", flush=True)
    while player.version < 0 and not stop.wait(0.01):  # nothing plays before the first optimized loop
        pass
    played = []
    for i, (layer, channel) in enumerate(stops):
        if not until_playing(i):
            break
        loop, _ = player.playhead()
        version = player.version
        step, what = made_for(version)
        played.append((loop, version, what))
        print(f"[{time.monotonic() - t0:5.1f} s] stop {i + 1}/{len(stops)}: exciting {layer} channel {channel} "
              f"(loop {version}, optimizer step {step})", flush=True)
        for k in range(loops_per_stop):
            if k == loops_per_stop - 1 and i + 1 < len(stops):
                aim(i + 1)
            if not next_boundary(2 * loop_seconds + 5):
                break
    return played


def _tour_summary(service, cfg, stops: list[tuple[str, int]], played: list) -> list[str]:
    import torch

    from ..optimize.ascent import measure
    from ..optimize.start import start_clip
    from ..optimize.targets import Target

    reference = service.stream.playable(start_clip(cfg.service.start, service.loop_samples, service.sample_rate,
                                            cfg.optimize.seed), optimized=False)
    lines = []
    for i, ((layer, channel), (loop, version, made_for)) in enumerate(zip(stops, played)):
        if loop is None:
            lines.append(f"stop {i + 1}: {layer} ch {channel}: nothing played")
            continue
        target = [Target(layer, channels=[channel])]
        device = service.device
        after = measure(service.stream_model, torch.from_numpy(loop).to(device), target)[0]
        before = measure(service.stream_model, torch.from_numpy(reference).to(device), target)[0]
        gain = f"x{after / before:.2f}" if before > 1e-9 else "n/a (silent on the start)"
        own = made_for.startswith(f"{layer} ch {channel}")
        lines.append(f"stop {i + 1}: {layer} ch {channel}: gain {gain} (activation {before:.3f} -> {after:.3f}) "
                     f"in loop {version}" + ("" if own else f", which was optimized for {made_for}"))
    return lines


def run_devices(args: argparse.Namespace) -> int:
    from ..audio.jack import jack_server_running
    from ..audio.portaudio import describe_devices

    print(f"JACK: {'a server runs (--audio auto picks it: client immersions)' if jack_server_running() else 'no server running'}")
    print(describe_devices())
    return 0


def run_osc_table(args: argparse.Namespace) -> int:
    from ..osc.controls import controls_json, markdown

    print(controls_json() if args.json else markdown(), end="")
    return 0
