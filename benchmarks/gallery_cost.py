"""Gallery cost and quality on real music: `immersions-osc gallery` on one thread.

Run: python benchmarks/gallery_cost.py [SOURCE ...] [--checkpoint checkpoints/small.pt] [--out DIR]

SOURCE: folders, files or archives of music (default: the Debian soundtracks installed, see
DEBIAN_SOURCES in immersions_osc/data/corpus.py; `apt-get install singularity-music
wesnoth-1.16-music`).  Nothing is shipped or downloaded: the music is the machine's own.

Printed figures:
- cost: the command's own figure, seconds of compute per hour of audio at one thread (decode,
  model, keeper, state saves), and the wall time of the whole command;
- memory: the command's peak RSS, and the fixed size of its state (keeper + histograms);
- resume: a second pass killed (SIGKILL) at about half way and run again must end with exactly
  the arrays of the uninterrupted pass (`--no-kill` skips it);
- quality: R random excerpts of the same music (seeded; same length, on the same step grid, heard
  in context like the pass), each measured by a forward pass of its own; per channel, the share
  of channels whose every top-k example beats the median random excerpt (the acceptance line: >=
  95 %), whose mean top-k beats the mean random excerpt, and whose every example beats the 90th
  percentile; channels silent on all the music (their best example 0) are counted apart;
- check: a sample of stored examples re-measured by a forward pass of their own (the stored
  activation is what the model gives).
- OSC (`--osc`): a service on a free port with this gallery; p50 / p99 / max of the round trip of
  `/immersions/gallery/examples` (until its last `/immersions/gallery/example` reply).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from immersions_osc.checkpoint import load_model  # noqa: E402
from immersions_osc.data.corpus import decode_item, installed_debian_sources, parse_source  # noqa: E402
from immersions_osc.gallery.build import _sources_items, channel_columns, geometry  # noqa: E402
from immersions_osc.gallery.store import Gallery  # noqa: E402
from immersions_osc.optimize.ascent import activations_of  # noqa: E402


def command(sources, out, checkpoint, extra=()):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "immersions_osc", "gallery", *sources, "--out", out,
                             "--checkpoint", checkpoint, "--threads", "1", "--quiet", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def excerpt_scores(model, geo, audio: np.ndarray, start: int, excerpt: int) -> np.ndarray:
    """Every channel's score of one excerpt, heard after its context (as the pass hears it)."""
    x = torch.from_numpy(np.ascontiguousarray(audio[max(0, start - geo.window):start + excerpt]))[None]
    with torch.no_grad():
        acts, _ = activations_of(model, x)
    return np.concatenate([c.mean(axis=1) for c in channel_columns(acts, excerpt, geo.strides)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sources", nargs="*")
    ap.add_argument("--checkpoint", default=os.path.join(REPO, "checkpoints", "small.pt"))
    ap.add_argument("--out", default="/tmp/immersions-gallery-bench")
    ap.add_argument("--random", type=int, default=64, help="random excerpts (default: %(default)s)")
    ap.add_argument("--recheck", type=int, default=24, help="channels whose examples are re-measured")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-kill", dest="kill", action="store_false")
    ap.add_argument("--osc", action="store_true", help="also time OSC example requests on a service")
    ap.add_argument("--reuse", action="store_true", help="reuse OUT/full if it is there (no new pass)")
    ap.add_argument("--no-quality", dest="quality", action="store_false", help="skip the random-excerpt comparison")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sources = args.sources or [s.path for s in installed_debian_sources()]
    if not sources:
        print("no music: name folders, or install Debian soundtracks (apt-get install singularity-music)")
        return 2
    with open("/proc/loadavg") as fh:
        print(f"load average before: {fh.read().split()[:3]}; one thread; sources: {', '.join(sources)}", flush=True)
    full = os.path.join(args.out, "full")
    if not (args.reuse and os.path.exists(os.path.join(full, "gallery.npz"))):
        t0 = time.perf_counter()
        p = command(sources, full, args.checkpoint, ["--fresh"])
        out, err = p.communicate()
        wall = time.perf_counter() - t0
        if p.returncode:
            print(err)
            return 1
        print(out.strip())
        skipped = [line for line in err.splitlines() if "skipping" in line]
        print(f"command wall time {wall:.1f} s; {len(skipped)} files skipped", flush=True)
    gal = Gallery.load(full)
    meta = gal.meta
    hours = meta["audio_seconds"] / 3600
    print(f"audio: {hours:.2f} h in {len(gal.tracks)} tracks; compute {meta['seconds_per_audio_hour']:.1f} s per hour "
          f"of audio; state: keeper {gal.score.nbytes + gal.track.nbytes + gal.start.nbytes} B + histograms "
          f"{gal.sketch.counts.nbytes} B (fixed: {gal.score.shape[0]} channels)", flush=True)

    if args.kill:
        killed = os.path.join(args.out, "killed")
        p = command(sources, killed, args.checkpoint, ["--fresh"])
        state = os.path.join(killed, "gallery_state.npz")
        target = 0.5 * meta["audio_seconds"]
        while p.poll() is None:
            time.sleep(0.5)
            try:
                with np.load(state) as z:
                    heard = json.loads(z["meta"].tobytes())["audio_seconds"]
            except Exception:
                continue
            if heard >= target:
                break
        os.kill(p.pid, signal.SIGKILL)
        p.communicate()
        p = command(sources, killed, args.checkpoint)
        out, err = p.communicate()
        resumed = [line for line in err.splitlines() if "resuming" in line]
        again = Gallery.load(killed)
        same = (np.array_equal(again.score, gal.score) and np.array_equal(again.track, gal.track)
                and np.array_equal(again.start, gal.start) and np.array_equal(again.sketch.counts, gal.sketch.counts)
                and again.tracks == gal.tracks)
        print(f"resume after SIGKILL at {heard / 3600:.2f} h: {resumed[0] if resumed else 'NOT RESUMED'}; "
              f"result {'identical to' if same else 'DIFFERENT FROM'} the uninterrupted pass", flush=True)

    if args.quality:
        quality(args, gal, sources)
    if args.osc:
        osc_latency(full, args.checkpoint)
    with open("/proc/loadavg") as fh:
        print(f"load average after: {fh.read().split()[:3]}")
    return 0


def quality(args, gal: Gallery, sources) -> None:
    """Top-k examples against random excerpts of the same music; stored activations re-measured."""
    model, _, _ = load_model(args.checkpoint, "cpu")
    model.eval()
    geo = geometry(model)
    excerpt = gal.excerpt_samples
    items, _ = _sources_items([parse_source(s) for s in sources])
    by_origin = {it.origin: it for it in items}
    rng = np.random.default_rng(args.seed)
    lengths = np.array([t["seconds"] * gal.sample_rate for t in gal.tracks])
    picks = rng.choice(len(gal.tracks), size=args.random, p=lengths / lengths.sum())
    t0 = time.perf_counter()
    random_scores = []
    audio_cache: dict[int, np.ndarray] = {}
    for t in sorted(set(picks.tolist())):
        audio = decode_item(by_origin[gal.tracks[t]["origin"]], gal.sample_rate)
        for _ in range(int((picks == t).sum())):
            steps = (len(audio) - excerpt) // geo.step
            start = int(rng.integers(0, steps + 1)) * geo.step
            random_scores.append(excerpt_scores(model, geo, audio, start, excerpt))
    rand = np.stack(random_scores, axis=1)  # [channels, R]
    top = gal.score.astype(np.float64)
    filled = gal.track >= 0
    silent = top[:, 0] <= 0
    med, p90 = np.median(rand, axis=1), np.percentile(rand, 90, axis=1)
    every_beats_median = np.all(np.where(filled, top > med[:, None], False), axis=1)
    mean_beats_mean = top.mean(axis=1) > rand.mean(axis=1)
    every_beats_p90 = np.all(np.where(filled, top > p90[:, None], False), axis=1)
    n = len(top)
    print(f"quality over {n} channels, k = {top.shape[1]}, against {args.random} random excerpts (seed {args.seed}, "
          f"{time.perf_counter() - t0:.1f} s): every example > the median random excerpt: "
          f"{every_beats_median.mean():.1%} of channels ({every_beats_median.sum()}/{n}); "
          f"mean of top-k > mean random: {mean_beats_mean.mean():.1%}; every example > the 90th percentile: "
          f"{every_beats_p90.mean():.1%}; silent on all the music: {silent.sum()} channels", flush=True)
    ratio = top.mean(axis=1) / np.maximum(rand.mean(axis=1), 1e-9)
    print(f"top-k mean / random mean per channel (non-silent): median x{np.median(ratio[~silent]):.2f}, "
          f"10th percentile x{np.percentile(ratio[~silent], 10):.2f}", flush=True)
    failing = np.nonzero(~every_beats_median)[0]
    if len(failing):
        names = [f"{gal.layers[np.searchsorted(gal.offsets, r, side='right') - 1]}:"
                 f"{r - gal.offsets[np.searchsorted(gal.offsets, r, side='right') - 1]}" for r in failing[:8]]
        print(f"channels failing the line (first 8): {', '.join(names)}", flush=True)

    # re-measure a sample of stored examples by forward passes of their own
    rows = rng.choice(n, size=min(args.recheck, n), replace=False)
    worst = 0.0
    for r in rows:
        for rank in range(top.shape[1]):
            t = int(gal.track[r, rank])
            if t < 0:
                continue
            key = t
            if key not in audio_cache:
                audio_cache.clear()
                audio_cache[key] = decode_item(by_origin[gal.tracks[t]["origin"]], gal.sample_rate)
            s = excerpt_scores(model, geo, audio_cache[key], int(gal.start[r, rank]), excerpt)[r]
            worst = max(worst, abs(s - top[r, rank]) / max(abs(top[r, rank]), 1e-6))
    print(f"stored activations re-measured ({len(rows)} channels x {top.shape[1]}): largest relative "
          f"difference {worst:.2e}", flush=True)


def osc_latency(gallery: str, checkpoint: str, requests: int = 200) -> None:
    """p50/p99/max of /immersions/gallery/examples answered on the service's control port."""
    import socket

    from immersions_osc.config import Config
    from immersions_osc.osc.protocol import decode_message, encode_message
    from immersions_osc.service.server import Service

    cfg = Config()
    cfg.service.checkpoint, cfg.service.port, cfg.service.audio, cfg.service.loops_dir = checkpoint, 0, "none", ""
    cfg.service.gallery = gallery
    service = Service(cfg, log=lambda *a: None).start()
    try:
        gal = service.gallery
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2.0)
        rng = np.random.default_rng(1)
        times = []
        for i in range(requests):
            li = int(rng.integers(len(gal.layers)))
            ch = int(rng.integers(gal.channels[li]))
            expected = len(gal.examples(gal.layers[li], ch))
            t0 = time.perf_counter()
            sock.sendto(encode_message("/immersions/gallery/examples", "si", [gal.layers[li], ch]),
                        ("127.0.0.1", service.port))
            got = 0
            while got < expected:
                address, _, _ = decode_message(sock.recvfrom(65536)[0])
                got += address == "/immersions/gallery/example"
            times.append(time.perf_counter() - t0)
            time.sleep(0.01)  # within the per-host reply budget
        ms = np.array(times) * 1000
        print(f"OSC /immersions/gallery/examples, {requests} requests (k replies each) on the control port: "
              f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms", flush=True)
    finally:
        service.close()


if __name__ == "__main__":
    sys.exit(main())
