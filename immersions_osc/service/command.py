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
from .logs import LEVELS, LOGGER, level_from_args, setup_logging

DEMO_WEB_PORT = 8130  # the demo opens the browser viewer here (--web-port 0: off)

SERVICE_FLAGS = {  # flag -> service config field
    "checkpoint": "checkpoint", "model": "model", "layout": "layout", "host": "host", "port": "port", "audio": "audio",
    "start_jack": "start_jack", "loops_dir": "loops_dir", "device": "device", "web_port": "web_port",
    "frame_rate": "frame_rate", "loop_seconds": "loop_seconds", "start": "start",
    "allow_remote": "allow_remote", "token": "token",
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
    p.add_argument("--port", type=int, help="OSC control port, UDP (default: 57130)")
    p.add_argument("--audio", choices=("auto", "jack", "none"),
                   help="sound output (default: auto = JACK when a server runs)")
    p.add_argument("--start-jack", dest="start_jack", action="store_true", default=None,
                   help="start a dummy-driver jackd when no JACK server runs")
    p.add_argument("--loops-dir", dest="loops_dir", help="folder for loops without JACK and the last loop")
    p.add_argument("--device", help="auto, cpu or cuda")
    p.add_argument("--web-port", dest="web_port", type=int,
                   help=f"browser viewer on this HTTP port (0 = off; serve: off, demo: {DEMO_WEB_PORT})")
    p.add_argument("--frame-rate", dest="frame_rate", type=float, help="activation frames per second")
    p.add_argument("--loop-seconds", dest="loop_seconds", type=float, help="loop length")
    p.add_argument("--start", help="start clip: silence, noise or an audio file")
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
    p.set_defaults(func=run_serve)

    p = subparsers.add_parser("demo", help="the service with a scripted tour through the layers",
                              description="run the live service for a while with a scripted tour through "
                                          "the layers; writes what it played to OUT/demo.wav")
    _add_service_flags(p)
    p.add_argument("--seconds", type=float, default=24.0, help="how long (default: %(default)s)")
    p.add_argument("--stops", type=int, default=6, help="layers visited (default: %(default)s)")
    p.add_argument("--out", default="immersions-demo", help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_demo)

    p = subparsers.add_parser("osc-table", help="print docs/osc.md (the OSC address table)",
                              description="print the OSC address table (docs/osc.md is this output)")
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
    if not os.path.isfile(cfg.service.checkpoint) and not os.path.isabs(cfg.service.checkpoint):
        from ..cli import DEFAULT_CHECKPOINT

        if cfg.service.checkpoint == "checkpoints/small.pt":  # run from anywhere: the shipped one
            cfg.service.checkpoint = DEFAULT_CHECKPOINT
    return cfg


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGINT, SIGTERM and SIGHUP set ``stop``, for the rest of the process: the handlers are never
    restored, so a second signal during the shutdown (Ctrl-C pressed twice) cannot interrupt it
    half-way (the last loop unsaved, threads killed mid-write).  Installed before the model loads,
    so a signal during start-up also ends in a clean stop.  The handler only sets an event and
    writes with ``os.write`` (``print`` is not reentrant: a signal arriving while the main thread
    prints would raise in it)."""
    def handler(signum, frame):
        if stop.is_set():
            try:
                os.write(2, f"already stopping ({signal.Signals(signum).name} ignored); "
                            f"the last loop is being saved\n".encode())
            except OSError:
                pass
        stop.set()
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
    LOGGER.info(f"stopped: {service.generator.stats.published} loops, {service.frames_sent} activation frames, "
          f"{service.xruns} xruns, {service.messages_received} OSC messages received, "
          f"{service.rejected} OSC messages rejected" + (f"; last loop saved to {cfg.service.loops_dir}/last_loop.wav"
                                      if cfg.service.loops_dir else ""))
    return 0


def tour_layers(layer_names: list[str], stops: int) -> list[str]:
    """``stops`` layers spread evenly from the first to the last block (the last nonlinearity of each)."""
    from ..optimize.command import block_layers

    blocks = block_layers(layer_names)
    if stops <= 1:
        return blocks[-1:]
    return [blocks[round(i * (len(blocks) - 1) / (stops - 1))] for i in range(stops)]


def run_demo(args: argparse.Namespace) -> int:
    import random

    import numpy as np

    from ..images import write_png
    from ..layout.render import activation_image
    from .protocol import encode_message
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
    cfg = service_config(args)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot make the output folder {args.out}: {exc.strerror or exc}") from None
    stop = threading.Event()
    stop_on_signals(stop)
    service = Service(cfg, record_seconds=args.seconds + 1).start()
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
    stops = tour_layers(service.vector.layer_names, args.stops)
    visited = []
    start = time.monotonic()
    try:
        for i, layer in enumerate(stops):
            channel = rng.randrange(service.vector.shapes[layer][0])
            service.handle_datagram(encode_message("/immersions/target/channel", "sif", [layer, channel, 1.0]))
            visited.append(f"{layer} ch {channel}")
            print(f"[{time.monotonic() - start:5.1f} s] stop {i + 1}/{len(stops)}: exciting {layer} channel {channel}",
                  flush=True)
            if stop.wait(max(0.0, start + (i + 1) * args.seconds / len(stops) - time.monotonic())):
                break
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
          + (f"; loops also written to {cfg.service.loops_dir}/" if service.loops_written else ""))
    print(f"streamed  : {service.frames_sent} activation frames of {service.vector.size} neurons "
          f"({service.frames_sent / max(elapsed, 1e-9):.1f} frames/s) -> last one drawn on the layout: {png}")
    print("tour      : " + " -> ".join(visited))
    return 0


def run_osc_table(args: argparse.Namespace) -> int:
    from .controls import markdown

    print(markdown(), end="")
    return 0
