"""``immersions-osc corpus``: assemble a real-music training corpus (see :mod:`.corpus`)."""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "corpus", help="assemble a training corpus of real music (Debian soundtracks or your folders)",
        description="Decode the music under SOURCES (folders, .pk3/.zip archives; NAME=PATH names a source) "
                    "to mono WAV at the model's rate, split by track, and write index.csv and corpus.json. "
                    "With no SOURCES, the Debian game-soundtrack packages that are installed.")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="folder, archive or NAME=PATH")
    p.add_argument("--out", required=True, help="corpus folder (audio/train, audio/test, index.csv, corpus.json)")
    p.add_argument("--min-seconds", dest="min_seconds", type=float, default=20.0,
                   help="leave out shorter files, e.g. sound effects (default: %(default)s)")
    p.add_argument("--test-fraction", dest="test_fraction", type=float, default=0.15,
                   help="tracks held out per source (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the track split (default: %(default)s)")
    p.add_argument("--sample-rate", dest="sample_rate", type=int, default=44100)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.set_defaults(func=run_corpus)

    p = subparsers.add_parser(
        "probe-tasks", help="write the real-music probe tasks (track, source, tempo) of a corpus as CSVs",
        description="From a corpus built by `immersions-osc corpus`: track.csv (track identity on held-out "
                    "tracks, disjoint segments), source.csv (soundtrack, tested on held-out tracks) and tempo.csv "
                    "(the same excerpts at three tempi, held-out tracks). Probe them with "
                    "`immersions-osc probe --csv OUT/track.csv`.")
    p.add_argument("--corpus", required=True, help="corpus folder (with index.csv)")
    p.add_argument("--out", required=True, help="folder for the CSVs and the tempo clips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.set_defaults(func=run_tasks)


def run_corpus(args: argparse.Namespace) -> int:
    from ..progress import Progress
    from . import DataError
    from .corpus import APT_LINE, build_corpus, installed_debian_sources, named_sources, summary_table

    if args.sample_rate <= 0 or not args.min_seconds >= 0:
        raise DataError("corpus: --sample-rate must be > 0 and --min-seconds >= 0")
    if args.sources:
        sources, missing = named_sources(args.sources)
        if missing:
            raise DataError(f"corpus: not found: {', '.join(missing)}")
    else:
        sources = installed_debian_sources()
        if not sources:
            raise DataError(f"corpus: no Debian soundtrack is installed and no folder was named. "
                            f"Install some with `{APT_LINE}`, or run `immersions-osc corpus FOLDER --out DIR`")
        print("sources: " + ", ".join(f"{s.name} ({s.package})" for s in sources))
    bar = Progress(1, "corpus", every=10)

    def progress(done: int, total: int, name: str) -> None:
        bar.total = max(total, 1)
        bar.update(done, track=name[-40:])

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *a, **k: print(f"warning: {message}", file=sys.stderr)
        tracks, summary = build_corpus(sources, args.out, sample_rate=args.sample_rate,
                                       min_seconds=args.min_seconds, test_fraction=args.test_fraction,
                                       seed=args.seed, progress=progress)
    bar.close()
    print(summary_table(summary))
    total = summary["total"]
    print(f"{total['tracks']} tracks, {total['hours']:.2f} h ({total['train_hours']:.2f} h train, "
          f"{total['test_hours']:.2f} h held out) in {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


def run_tasks(args: argparse.Namespace) -> int:
    from ..progress import Progress
    from .tasks import build_tasks

    bar = Progress(1, "tempo clips", every=10)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    made = build_tasks(args.corpus, args.out, seed=args.seed, progress=progress)
    bar.close()
    for name, rows in made.items():
        print(f"{name}: {rows} clips -> {os.path.join(args.out, name + '.csv')}")
    return 0
