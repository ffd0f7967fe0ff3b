"""Sonification quality: does every neuron get a sound of its own?

Run: python benchmarks/sonification_quality.py [--checkpoint checkpoints/small.pt] [--quick]

Channels are drawn at random (seeded), ``--channels`` per block (the last nonlinearity of every
encoder and autoregressive block), and optimized from three starts: low noise, silence and a drum
loop this script synthesizes.  (The model hears every loop at the playback level, so silence's
inaudible dither is brought up to -20 dBFS: white noise like the noise start, drawn from the same
seed.  Its figures differ from noise's only through rounding, which 200 steps amplify: a measure
of how much the figures move between runs.)  One batch per start holds a channel of every block; each loop in
it optimizes its own channel (``LoopAscent(per_candidate=True)``).  Printed figures:

- per target (the measures of loop_measures.py): gain (its activation on its own loop / on the
  start, both at the playback level, so loudness alone earns nothing), selectivity (the gain over
  the gain of its layer's total activation: the growth of its share of the layer), whether it is
  its layer's top channel on its own loop, specificity (own loop / the best other loop of the
  batch, which holds loops for its layer-mates and for every other block); per loop the level
  variation (dB, 50 ms frames), onset strength and pitch salience.  The mean of per-channel gains
  and the objective read back are not reported: silent channels that wake rule the first, the
  second only shows convergence.
- fraction of channels with gain >= x2; median and 10th percentile of gain; which drawn channels
  answer most to the noise start itself among probe clips (sines over 7 octaves, clicks, the
  drums), and the fraction >= x2 among those and among the rest.
- reference (no optimization): per drawn channel the best gain and the best selectivity that any
  of the other probe clips, and with ``--corpus`` random excerpts of the corpus's held-out tracks,
  reaches against the noise start: what picking the best existing sound per channel would give.
- distinctness: mean correlation of the long-term spectra (time-averaged log scaleogram) between
  loops of channels of the same layer, and between loops of different blocks (lower = more
  different sounds).
- seam step: |x[0] - x[-1]| over the loop's median |x[k+1] - x[k]| (1 = the wrap point is an
  ordinary sample step), and the seam curvature: the second difference across the wrap over the
  loop's median (a loop steep where it wraps has a large step there that still continues it).
- drum start: correlation of the loop's onset envelope with the drum loop's, and the residual
  (loop - drums) level in dB relative to the drums (>= -6 dB: the change is audible), the gain,
  and the share of loops meeting all three bars of issue 24 at once.
- parameterizations compared (from noise), and a regularizer ablation (from noise: each
  regularizer off in turn against the defaults).

Budget: the default run takes ~10-15 min at one thread on an idle 2-core machine;
``--quick`` (a few steps, a few blocks) is for tests.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

import argparse
import dataclasses
import math
import os
import random
import time

import numpy as np
import torch

from immersions_osc.checkpoint import load_model
from immersions_osc.config import PARAMETERIZATIONS, OptimizeConfig
from immersions_osc.optimize.targets import block_layers
from immersions_osc.optimize.ascent import LoopAscent, activations_of, steady_tail
from immersions_osc.optimize.start import for_start, start_clip
from immersions_osc.optimize.targets import Target
from immersions_osc.optimize.transforms import level

from loop_measures import (level_variation, onset_envelope, onset_strength, pitch_salience,
                           spectrum_correlations, target_figures)

ABLATIONS = {  # regularizer -> the setting that turns it off
    "time shift": {"time_shift": 0.0}, "pitch shift": {"pitch_shift": 0.0},
    "level jitter": {"level_jitter": 0.0}, "masking": {"mask": 0.0},
    "gradient noise": {"gradient_noise": 0.0}, "denoise": {"denoise": 0.0},
}


def drum_loop(n: int, sr: int, seed: int = 0) -> torch.Tensor:
    """Two bars of kick / snare / hats at 120 BPM over the loop (4 s at 44.1 kHz), peak 0.9."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    eighth = n // 16
    t = np.arange(eighth) / sr
    kick = np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 12)
    snare = (0.6 * rng.standard_normal(eighth) + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 20)
    hat_noise = np.diff(rng.standard_normal(eighth + 1))
    hat = hat_noise * np.exp(-t * 60) * 0.25
    for step in range(16):
        at = step * eighth
        if step % 4 == 0 or step == 10:
            out[at:at + eighth] += kick
        if step % 8 == 4:
            out[at:at + eighth] += snare
        out[at:at + eighth] += hat
    out *= 0.9 / np.abs(out).max()
    return torch.from_numpy(out.astype(np.float32))


def probe_clips(n: int, sr: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Clips any channel might prefer to the noise start: sines over 7 octaves, clicks, drums."""
    t = torch.arange(n) / sr
    clips = {"noise": start_clip("noise", n, sr, seed), "drums": drum_loop(n, sr, seed),
             "clicks": (torch.arange(n) % (sr // 4) == 0).float()}
    for f in (55, 110, 220, 440, 880, 1760, 3520, 7040):
        clips[f"sine {f} Hz"] = torch.sin(2 * math.pi * f * t)
    return clips


def noise_lovers(bench: "Bench", cfg: OptimizeConfig, clips: dict[str, torch.Tensor]) -> list[tuple[str, int]]:
    """The drawn channels that answer most to the noise start itself (the first of ``clips``, see
    :func:`probe_clips`), every clip at the playback level and heard as it plays: the channels for
    which a gain over noise means finding something noisier than noise."""
    x = level(torch.stack(list(clips.values())), cfg.peak, cfg.rms)
    with torch.no_grad():
        acts, _ = activations_of(bench.model, x, tail=steady_tail(bench.model, bench.n))
    return [(layer, c) for layer in bench.layers for c in bench.channels[layer]
            if int(channel_means(acts, layer)[:, c].argmax()) == 0]


def channel_means(acts: dict[str, torch.Tensor], layer: str) -> torch.Tensor:
    a = acts[layer]
    return a.reshape(a.shape[0], a.shape[1], -1).mean(-1)  # [B, C]


def seam_step(x: np.ndarray) -> float:
    return float(abs(x[0] - x[-1]) / max(np.median(np.abs(np.diff(x))), 1e-12))


def seam_curvature(x: np.ndarray) -> float:
    """The larger second difference across the wrap (x[-2], x[-1], x[0], x[1]) over the loop's
    median |second difference|: 1-3 when the wrap continues the waveform.  Unlike the seam step
    it does not flag a loop that is merely steep where it wraps (a harmonic loop, whose partials
    all start at phase 0) and still flags a jump."""
    wrap = np.diff(np.concatenate([x[-2:], x[:2]]), 2)
    return float(np.abs(wrap).max() / max(np.median(np.abs(np.diff(x, 2))), 1e-12))


class Bench:
    def __init__(self, model, layers, channels, n_samples, sr, steps, seed, widths=None):
        """``widths``: channels per layer (:func:`layer_widths`; computed when not given)."""
        self.model, self.layers, self.steps, self.sr, self.n = model, layers, steps, sr, n_samples
        rng = random.Random(seed)
        widths = widths or layer_widths(model, n_samples)
        self.channels = {layer: rng.sample(range(widths[layer]), min(channels, widths[layer])) for layer in layers}

    def run(self, start: torch.Tensor, cfg: OptimizeConfig, pick: int | None = None, every: int = 1) -> dict:
        """Optimize every drawn channel (or only the ``pick``-th of every ``every``-th block) from ``start``."""
        targets = [Target(layer, channels=[c]) for layer in self.layers[::every]
                   for i, c in enumerate(self.channels[layer]) if pick is None or i == pick]
        t0 = time.perf_counter()
        run = LoopAscent(self.model, start, targets, cfg, per_candidate=True, total_steps=self.steps)
        for _ in range(self.steps):
            run.step()
        seconds = time.perf_counter() - t0
        loops = run.loops()
        with torch.no_grad():
            tail = steady_tail(self.model, self.n)  # heard as it plays: the loop after itself
            before, _ = activations_of(self.model, level(start[None], cfg.peak, cfg.rms), tail=tail)
            after, spec = activations_of(self.model, loops, tail=tail)
        rows = [target_figures(channel_means(before, t.layer)[0], channel_means(after, t.layer), b, t.channels[0])
                for b, t in enumerate(targets)]
        spectra = spec[:, 0].mean(-1).numpy()  # [B, F] long-term log spectrum
        within, across = spectrum_correlations(spectra, [t.layer for t in targets])
        x = loops.numpy()
        result = {key: np.array([row[key] for row in rows]) for key in rows[0]}
        result.update({
            "targets": targets, "within": within, "across": across, "loops": x, "seconds": seconds,
            "level_variation": np.array([level_variation(l, self.sr) for l in x]),
            "onset": np.array([onset_strength(l, self.sr) for l in x]),
            "pitch": np.array([pitch_salience(l, self.sr) for l in x]),
            "seam": float(np.median([seam_step(l) for l in x])),
            "seam_curvature": float(np.median([seam_curvature(l) for l in x])),
            "candidate_steps_per_s": len(targets) * self.steps / seconds})
        return result


def layer_widths(model, n: int) -> dict[str, int]:
    """Channels of every layer the model exposes (one forward pass of ``n`` samples of silence)."""
    with torch.no_grad():
        return {name: a.shape[1] for name, a in activations_of(model, torch.zeros(1, n))[0].items()}


def load_bench_model(checkpoint: str, threads: int):
    """(model in eval mode, its sample rate) on the CPU at ``threads`` torch threads."""
    torch.set_num_threads(threads)
    model, mcfg, _ = load_model(checkpoint, "cpu")
    return model.eval(), mcfg.scaleogram.sample_rate


def corpus_clips(folder: str, count: int, n: int, sr: int, seed: int) -> list[torch.Tensor]:
    """``count`` excerpts of ``n`` samples at random places (seeded) of the corpus's held-out tracks
    (``immersions-osc corpus``: music the model was not trained on)."""
    import soundfile as sf
    from immersions_osc.data.corpus import read_index
    from immersions_osc.errors import UserError

    if count < 1:
        sys.exit(f"the number of corpus excerpts must be at least 1, got {count}")
    try:
        tracks = read_index(folder)
    except UserError as exc:
        sys.exit(f"--corpus: {exc}")
    tracks = [t for t in tracks if t.split == "test"] or tracks
    if not tracks:
        sys.exit(f"--corpus: {folder} lists no tracks")
    rng = random.Random(seed)
    clips = []
    for _ in range(50 * count):
        if len(clips) == count:
            break
        path = Path(folder) / rng.choice(tracks).path
        try:
            info = sf.info(str(path))
            if info.samplerate != sr:
                sys.exit(f"--corpus: {path}: {info.samplerate} Hz, the model hears {sr} Hz")
            if info.frames <= n:
                continue
            x, _ = sf.read(str(path), frames=n, start=rng.randrange(info.frames - n), dtype="float32",
                           always_2d=True)
        except (OSError, RuntimeError) as exc:  # a missing or unreadable WAV (soundfile's errors)
            sys.exit(f"--corpus: cannot read {path}: {exc}")
        x = x.mean(1)
        if np.sqrt(np.mean(x ** 2)) > 1e-3:  # not a silent gap
            clips.append(torch.from_numpy(x))
    return clips


def best_of_clips(bench: "Bench", cfg: OptimizeConfig, start: torch.Tensor, clips: list[torch.Tensor]) -> dict:
    """Per drawn channel, the best gain and the best selectivity that any of ``clips`` reaches
    against ``start`` (no optimization; the same measures as the optimized loops, every clip at
    the playback level and heard as it plays): what choosing the best existing sound would give."""
    x = level(torch.stack([start, *clips]), cfg.peak, cfg.rms)
    tail = steady_tail(bench.model, bench.n)
    means: dict[str, list[torch.Tensor]] = {layer: [] for layer in bench.layers}
    with torch.no_grad():
        for i in range(0, len(x), 8):
            acts, _ = activations_of(bench.model, x[i:i + 8], tail=tail)
            for layer in bench.layers:
                means[layer].append(channel_means(acts, layer))
    gain, selectivity = [], []
    for layer in bench.layers:
        m = torch.cat(means[layer])
        for c in bench.channels[layer]:
            rows = [target_figures(m[0], m[k:k + 1], 0, c) for k in range(1, len(m))]
            gain.append(max(r["gain"] for r in rows))
            selectivity.append(max(r["selectivity"] for r in rows))
    return {"gain": np.array(gain), "selectivity": np.array(selectivity)}


def summary(r: dict) -> str:
    """The headline figures of one run (issue 24's measures; see loop_measures.py)."""
    g, s = r["gain"], r["selectivity"]
    ar = np.array([t.layer.startswith("ar.") for t in r["targets"]])
    rhythm = f"{np.median(r['level_variation'][ar]):4.1f} dB" if ar.any() else "-"
    return (f"gain median x{np.median(g):5.2f} p10 x{np.percentile(g, 10):5.2f} >=x2 {np.mean(g >= 2):4.0%} | "
            f"selectivity (vs layer total) median {np.median(s):5.2f} p10 {np.percentile(s, 10):5.2f} | "
            f"top of its layer {np.mean(r['top']):4.0%} | own/best other loop median {np.median(r['specificity']):5.2f} | "
            f"spectra corr within layer {r['within']:.2f} across blocks {r['across']:.2f} | "
            f"level variation median {np.median(r['level_variation']):4.1f} dB (AR targets {rhythm}), "
            f"onset {np.median(r['onset']):4.1f} dB, pitch salience {np.median(r['pitch']):.2f} | "
            f"seam step {r['seam']:.2f} (curvature {r['seam_curvature']:.2f}) | "
            f"{r['candidate_steps_per_s']:.1f} loop-steps/s (load average {os.getloadavg()[0]:.1f})")


def drum_figures(r: dict, drums: np.ndarray) -> str:
    cfg = OptimizeConfig()
    ref = level(torch.from_numpy(drums)[None], cfg.peak, cfg.rms)[0].numpy()
    env = onset_envelope(ref)
    corr = [float(np.corrcoef(env, onset_envelope(l))[0, 1]) for l in r["loops"]]
    resid = [20 * math.log10(np.sqrt(np.mean((l - ref) ** 2)) / np.sqrt(np.mean(ref ** 2))) for l in r["loops"]]
    met = np.mean([(c >= 0.7) and (d >= -6) and (g >= 3) for c, d, g in zip(corr, resid, r["gain"])])
    return (f"onset correlation with the drums median {np.median(corr):.2f} (p10 {np.percentile(corr, 10):.2f}), "
            f"residual median {np.median(resid):.1f} dB, gain median x{np.median(r['gain']):.2f}; "
            f"loops with all three (corr >= 0.7, residual >= -6 dB, gain >= x3) {met:.0%}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "small.pt"))
    p.add_argument("--steps", type=int, default=OptimizeConfig().steps, help="optimization steps (the render default)")
    p.add_argument("--channels", type=int, default=3, help="random channels per block")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="a few steps on a few blocks (tests)")
    p.add_argument("--no-compare", action="store_true", help="skip the parameterization comparison")
    p.add_argument("--parameterizations", default=",".join(k for k in PARAMETERIZATIONS if k != "auto"),
                   help="comma-separated parameterizations the comparison runs (default: all)")
    p.add_argument("--no-ablation", action="store_true", help="skip the regularizer ablation")
    p.add_argument("--every", type=int, default=1, help="every k-th block only (quicker looks)")
    p.add_argument("--side-every", type=int, default=2,
                   help="the comparison and the ablation use the first drawn channel of every k-th block")
    p.add_argument("--starts", default="noise,silence,drums",
                   help="comma-separated subset of noise,silence,drums, or none (only the side tables)")
    p.add_argument("--targets", help="comma-separated LAYER:CHANNEL list optimized instead of the random draw "
                   "(e.g. the channels one run left below x2)")
    p.add_argument("--corpus", help="a corpus folder (immersions-osc corpus): the reference row also tries "
                   "random excerpts of its held-out tracks")
    p.add_argument("--reference", type=int, default=200, help="corpus excerpts the reference row tries")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override an optimize setting, e.g. --set learning_rate=0.1 (repeatable)")
    args = p.parse_args(argv)
    model, sr = load_bench_model(args.checkpoint, args.threads)
    n = 4 * sr
    widths = layer_widths(model, n)
    names = list(widths)
    layers = block_layers(names)[::args.every]
    steps, channels = args.steps, args.channels
    if args.quick:
        layers, steps, channels = [layers[0], layers[len(layers) // 2], layers[-1]], 4, 1
    if args.targets:
        try:
            chosen = [(layer, int(c)) for layer, c in (item.rsplit(":", 1) for item in args.targets.split(","))]
        except ValueError:
            sys.exit(f"--targets: expected LAYER:CHANNEL,..., got {args.targets!r}")
        unknown = sorted({layer for layer, _ in chosen} - set(block_layers(names)))
        if unknown:
            sys.exit(f"--targets: not a block layer of this model: {', '.join(unknown)}")
        wrong = [f"{layer}:{c}" for layer, c in chosen if layer in widths and not 0 <= c < widths[layer]]
        if wrong:
            sys.exit(f"--targets: no such channel: {', '.join(wrong)}")
        layers = list(dict.fromkeys(layer for layer, _ in chosen))
    bench = Bench(model, layers, channels, n, sr, steps, args.seed, widths)
    if args.targets:
        bench.channels = {layer: [c for m, c in chosen if m == layer] for layer in layers}
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        kind = type(getattr(OptimizeConfig(), key))
        overrides[key] = kind(value)
    cfg = OptimizeConfig(seed=args.seed, **overrides)
    cfg.validate("optimize.")
    which = (f"{len(chosen)} channels given by --targets in {len(layers)} blocks" if args.targets
             else f"{len(layers)} blocks x {channels} random channels")
    print(f"checkpoint {args.checkpoint}; {which} (seed {args.seed}); "
          f"{steps} steps; threads {torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f}; settings: "
          f"{cfg.parameterization}, {cfg.objective}, top_channel {cfg.top_channel}, contrast {cfg.contrast}, "
          f"step {for_start(cfg, 'noise').learning_rate} from noise and silence, {cfg.learning_rate} from the drums",
          flush=True)
    clips = probe_clips(n, sr, args.seed)
    lovers = noise_lovers(bench, cfg, clips)
    drawn = sum(len(bench.channels[layer]) for layer in layers)
    print(f"{len(lovers)} of {drawn} drawn channels answer most to the noise start itself among "
          f"{len(clips)} probe clips (sines, clicks, drums): "
          + ", ".join(f"{layer} ch {c}" for layer, c in lovers), flush=True)
    drums = drum_loop(n, sr, args.seed)
    noise_start = clips["noise"]
    reference = [c for name, c in clips.items() if name != "noise"]
    if args.corpus:
        reference += corpus_clips(args.corpus, args.reference, n, sr, args.seed)
    best = best_of_clips(bench, cfg, noise_start, reference)
    print(f"reference, no optimization: per channel the best of {len(reference)} real clips ("
          + (f"{len(reference) - len(clips) + 1} random held-out corpus excerpts and " if args.corpus else "")
          + f"the {len(clips) - 1} other probe clips) against the noise start: gain median x{np.median(best['gain']):5.2f}, "
          f">=x2 {np.mean(best['gain'] >= 2):4.0%}; best selectivity median {np.median(best['selectivity']):5.2f}, "
          f">= 5 {np.mean(best['selectivity'] >= 5):4.0%}", flush=True)
    starts = {"noise": noise_start, "silence": start_clip("silence", n, sr, args.seed),
              "drums": drums}
    results = {}
    for name in [] if args.starts == "none" else args.starts.split(","):
        start = starts[name]
        results[name] = r = bench.run(start, for_start(cfg, name))  # the step size by start
        print(f"from {name:8s}: {summary(r)}", flush=True)
        loves = np.array([(t.layer, t.channels[0]) in lovers for t in r["targets"]])
        if loves.any() and (~loves).any():
            g = r["gain"]
            print(f"               gain >= x2: {np.sum(g[loves] >= 2)} of the {loves.sum()} channels that answer most "
                  f"to noise, {np.sum(g[~loves] >= 2)} of the other {(~loves).sum()}", flush=True)
        if name == "drums":
            print(f"               {drum_figures(r, drums.numpy())}; the drum loop's own seam step "
                  f"{seam_step(drums.numpy()):.2f}", flush=True)
    per_block = {}
    noise = results.get("noise", {"targets": [], "gain": [], "selectivity": [], "top": []})
    for t, g, s, top in zip(noise["targets"], noise["gain"], noise["selectivity"], noise["top"]):
        per_block.setdefault(t.layer, []).append(f"ch {t.channels[0]}: x{g:.1f} (sel {s:.1f}{', top' if top else ''})")
    if per_block:
        print("from noise, per block:")
    for layer, cells in per_block.items():
        print(f"  {layer:24s} " + "  ".join(cells))
    if not args.no_compare:
        print(f"parameterizations (from noise, the first drawn channel of every {args.side_every}. block):")
        for kind in args.parameterizations.split(","):
            try:
                r = bench.run(starts["noise"], for_start(dataclasses.replace(cfg, parameterization=kind), "noise"), pick=0,
                              every=args.side_every)
            except FloatingPointError as exc:
                print(f"  {kind:9s} failed: {exc}", flush=True)
                continue
            print(f"  {kind:9s} {summary(r)}", flush=True)
    if not args.no_ablation:
        print(f"regularizer ablation (from noise, the first drawn channel of every {args.side_every}. block):")
        base = bench.run(starts["noise"], for_start(cfg, "noise"), pick=0, every=args.side_every)
        print(f"  {'defaults':16s} {summary(base)}", flush=True)
        for name, off in ABLATIONS.items():
            r = bench.run(starts["noise"], for_start(dataclasses.replace(cfg, **off), "noise"), pick=0, every=args.side_every)
            print(f"  {name + ' off':16s} {summary(r)}", flush=True)


if __name__ == "__main__":
    main()
