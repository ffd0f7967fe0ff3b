"""``immersions-osc gallery``: the best excerpts of your music for every channel (see :mod:`.build`)."""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def register(subparsers) -> None:
    from ..shipped import DEFAULT_CHECKPOINT_SPEC

    p = subparsers.add_parser(
        "gallery", help="find, for every channel of every layer, the excerpts of your music that excite it most",
        description="One streaming pass of the model over SOURCES (folders, audio files, .zip/.pk3 archives; "
                    "NAME=PATH names a source; --debian adds the installed Debian soundtracks): per channel the "
                    "top-k excerpts (no two from the same few seconds) and its activation distribution (live "
                    "activations as percentiles). Resumable: run the same command again after a kill. "
                    "Load it with `serve --gallery OUT`.")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="folder, audio file, archive or NAME=PATH")
    p.add_argument("--out", required=True, help="gallery folder (gallery.npz, gallery.json)")
    p.add_argument("--debian", action="store_true", help="also the Debian soundtrack packages that are installed")
    p.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT_SPEC,
                   help="trained model (default: the shipped checkpoints/small.pt)")
    p.add_argument("--k", type=int, default=8, help="examples per channel (default: %(default)s)")
    p.add_argument("--excerpt-seconds", dest="excerpt_seconds", type=float, default=4.0,
                   help="example length, rounded to the deepest layer's step (default: %(default)s)")
    p.add_argument("--separation-seconds", dest="separation_seconds", type=float, default=8.0,
                   help="no two examples of a channel from one track closer than this (default: %(default)s)")
    p.add_argument("--chunk-seconds", dest="chunk_seconds", type=float, default=60.0,
                   help="audio per forward pass (default: %(default)s)")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming a killed pass")
    p.add_argument("--loops", action="store_true",
                   help="also render every channel's optimized loop into OUT/loops (resumable: run again to go on)")
    p.add_argument("--loop-layers", dest="loop_layers", nargs="+", metavar="LAYER",
                   help="render the loops of these layers only (default: every layer)")
    p.add_argument("--loop-steps", dest="loop_steps", type=int, help="optimizer steps per loop (default: optimize.steps)")
    p.add_argument("--loop-seconds", dest="loop_seconds", type=float, default=4.0, help="loop length (default: %(default)s)")
    p.add_argument("--loop-batch", dest="loop_batch", type=int, default=8,
                   help="channels optimized at once, one resumable chunk (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: %(default)s)")
    p.add_argument("--config", help="YAML config (its optimize section sets how --loops are optimized)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_gallery)


def run_gallery(args: argparse.Namespace) -> int:
    from ..checkpoint import load_model
    from ..data.corpus import APT_LINE, installed_debian_sources, named_sources
    from ..device import resolve_device
    from ..errors import UserError
    from ..progress import Progress
    from .build import GalleryBuild, GallerySettings, _sources_items

    sources, missing = named_sources(args.sources)
    if missing:
        raise UserError(f"gallery: not found: {', '.join(missing)}")
    if args.debian:
        installed = installed_debian_sources()
        if not installed and not sources:
            raise UserError(f"gallery: no Debian soundtrack is installed; install some with `{APT_LINE}`")
        sources += [s for s in installed if s not in sources]
    if not sources:
        raise UserError("gallery: name at least one folder, file or archive of music (or --debian)")
    items, lines = _sources_items(sources)
    for line in lines:
        print(f"gallery: {line}", file=sys.stderr)
    if not items:
        raise UserError(f"gallery: no audio file under {', '.join(s.path for s in sources)}")
    settings = GallerySettings(k=args.k, excerpt_seconds=args.excerpt_seconds,
                               separation_seconds=args.separation_seconds, chunk_seconds=args.chunk_seconds)
    settings.check()
    model, _, _ = load_model(args.checkpoint, resolve_device(args.device))
    build = GalleryBuild(model, items, args.out, settings, checkpoint=args.checkpoint,
                         log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.loops:
        loop_plan(args, build.geo)  # a mistake in the loop flags is told now, not after the pass
    if args.fresh and os.path.exists(build.state_path):
        os.unlink(build.state_path)
    if not args.fresh and build.complete():
        print(f"gallery: {args.out} is complete for this music, checkpoint and settings (--fresh redoes it)",
              file=sys.stderr)
        if args.loops:
            render(args, model, build.geo, args.out)
        return 0
    if build.load_state():
        print(f"gallery: resuming at file {build.position[0] + 1}/{len(items)}, chunk {build.position[1]} "
              f"({build.audio_seconds / 3600:.2f} h heard)", file=sys.stderr)
    bar = Progress(len(items) * 100, "gallery", enabled=not args.quiet)
    start = time.perf_counter()
    build.run(progress=lambda done, total, heard: bar.update(int(done * 100), heard=f"{heard / 3600:.2f}h"))
    bar.close()
    arrays_path, meta_path = build.write()
    meta = build.meta()
    hours = build.audio_seconds / 3600
    cost = build.cost
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"gallery: {len(build.tracks)} tracks, {hours:.2f} h of audio, {len(build.skipped)} skipped; "
          f"{sum(model_channels for model_channels in build.geo.channels)} channels x {settings.k} examples "
          f"of {build.excerpt / build.geo.sample_rate:.2f} s -> {arrays_path}")
    if hours:
        print(f"gallery: cost {meta['seconds_per_audio_hour']:.1f} s of compute per hour of audio (decode "
              f"{cost['decode'] / hours:.1f}, model {cost['model'] / hours:.1f}, keep {cost['keep'] / hours:.1f}, "
              f"save {cost['save'] / hours:.1f}); this run {time.perf_counter() - start:.1f} s; "
              f"peak RSS {peak_mb:.0f} MB")
    if args.loops:
        render(args, model, build.geo, args.out)
    return 0


def loop_plan(args: argparse.Namespace, geo) -> tuple[list[str], list[int]]:
    """The layers whose loops to render and their channel counts; one UserError for a bad flag."""
    from ..errors import UserError

    layers = args.loop_layers or geo.layers
    unknown = [name for name in layers if name not in geo.layers]
    if unknown:
        raise UserError(f"gallery: no layer {unknown[0]!r}; layers: {', '.join(geo.layers)}")
    if args.loop_steps is not None and args.loop_steps < 1 or args.loop_batch < 1 or not args.loop_seconds > 0:
        raise UserError("gallery: --loop-steps and --loop-batch must be >= 1 and --loop-seconds > 0")
    return list(layers), [geo.channels[geo.layers.index(name)] for name in layers]


def render(args: argparse.Namespace, model, geo, out: str) -> None:
    """Every channel's optimized loop (of --loop-layers) into OUT/loops, resumable."""
    from ..config import load_config
    from ..progress import Progress
    from .loops import render_loops

    layers, channels = loop_plan(args, geo)
    bar = Progress(sum(channels), "loops", enabled=not args.quiet, every=args.loop_batch)
    result = render_loops(model, out, layers, channels, load_config(args.config).optimize, args.loop_seconds,
                          args.loop_steps, args.loop_batch, progress=lambda done, total: bar.update(done))
    bar.close()
    per = result["seconds"] / result["rendered"] if result["rendered"] else 0.0
    print(f"gallery: loops: {result['rendered']} rendered ({per:.1f} s each), {result['present']} already there, "
          f"{result['total']} in all -> {os.path.join(out, 'loops')}")
