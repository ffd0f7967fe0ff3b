"""Pitch check: do a pitch network's pitch neurons sing their pitch?

Run: python benchmarks/pitch_check.py [--nets pesto,crepe] [--bins 20] [--seed 0] [--starts noise,silence]
     [--hidden 12] [--seconds 1] [--config examples/pitch_sonification.yaml] [--set learning_rate=0.05 ...] [--quick]

Without ``--config`` the optimizer's defaults; the figures of docs/pitch_ears.md use
``--config examples/pitch_sonification.yaml`` (the settings ``render --config`` uses).

A pitch network gives sonification a ground truth: its output bin for pitch f should, sonified,
give a loop whose pitch is f.  For each network (examples/pesto_ear.py, examples/crepe_ear.py):

1. its range: sines from 30 Hz to 4 kHz (a quarter tone apart) through the adapter; the range
   is the longest run of sines whose argmax bin (the network's own pitch, averaged over frames)
   is within 50 cents of the sine.  Drawn bins come from that range only.
2. ``--bins`` output bins drawn at random in the range (``--seed``); a loop is optimized for each
   from each start (``noise``: the service's low-noise start; ``silence``: its dithered silence),
   all loops of a start in one batch (``LoopAscent(per_candidate=True)``: loop i excites bin i).
3. each loop is measured by an independent tracker, librosa's pYIN (30 Hz .. 4 kHz, frames of
   4096 samples): the median f0 over its voiced frames against the bin's frequency, in cents
   (a loop with no voiced frame counts as an infinite error); the share of voiced frames and the
   mean voiced probability (how tonal the loop is).  Printed: the median absolute error, the
   share of bins within 50 cents and within 100 cents (a semitone), the median voiced share.
   Beside it, *not* an independent measure, the network's own reading: the share of loops whose
   time-averaged argmax bin is within 1 semitone of the target (what the optimizer maximized).
4. ``--hidden`` random hidden channels (a random neuron layer, a random channel; the whole
   channel is the target), from noise: pYIN's voiced share, median f0 and the spread of f0 over
   voiced frames (interquartile range in cents); a loop "carries a stable pitch" when >= 50 % of
   its frames are voiced with a spread <= 50 cents.  Each channel's tuning to the sines of step
   1 gives its best frequency and a pitch selectivity (peak response over the median response,
   both above the curve's minimum);
   printed per channel with the loop's pitch against that best frequency.

The frame hops default to 32 ms (PESTO) and 512 samples (CREPE), not the packages' 10 ms: a third
to a quarter of the frames per loop, for time (the networks analyse each frame alone). Timing
figures are not the point here (benchmarks/pitch_serve.py measures serving these models).
``--quick`` (3 bins, 40 steps, no hidden channels) is what tests/test_pitch_ears.py runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing
sys.path.insert(0, str(REPO / "examples"))

import argparse
import dataclasses
import math
import os
import random
import time

import numpy as np
import torch

from immersions_osc.config import OptimizeConfig
from immersions_osc.optimize.ascent import LoopAscent, activations_of
from immersions_osc.optimize.start import start_clip
from immersions_osc.optimize.targets import Target

NETS = {"pesto": ("pesto_ear", "PestoEar", "encoder.final_norm"),
        "crepe": ("crepe_ear", "CrepeEar", "pitch")}
TRACK_FMIN, TRACK_FMAX = 30.0, 4000.0


@dataclasses.dataclass
class Net:
    name: str
    module: object  # the example module (bin_frequency, frequency_bin)
    ear: torch.nn.Module
    output: str  # the output layer's name

    @property
    def sr(self) -> int:
        return self.ear.sample_rate


def load_net(name: str, hop: float) -> Net:
    import importlib

    mod_name, cls, output = NETS[name]
    mod = importlib.import_module(mod_name)
    kwargs = {"hop_ms": float(hop)} if name == "pesto" else {"hop": int(hop)}
    return Net(name, mod, getattr(mod, cls)(**kwargs), output)


@torch.no_grad()
def layer_means(net: Net, audio: torch.Tensor, batch: int = 16) -> dict[str, torch.Tensor]:
    """Every neuron layer's time-averaged activation per channel [clips, C] (frequency rows averaged)."""
    out: dict[str, list] = {}
    for i in range(0, audio.shape[0], batch):
        acts, _ = activations_of(net.ear, audio[i:i + batch])
        for k, a in acts.items():
            a = a if a.dim() == 4 else a.unsqueeze(2)
            out.setdefault(k, []).append(a.mean(dim=(2, 3)))
    return {k: torch.cat(v) for k, v in out.items()}


def sines(freqs: np.ndarray, sr: int, seconds: float = 0.5) -> torch.Tensor:
    t = np.arange(int(seconds * sr)) / sr
    return torch.from_numpy((0.1 * np.sin(2 * np.pi * freqs[:, None] * t[None])).astype(np.float32))


def network_range(net: Net) -> tuple[int, int, np.ndarray, dict[str, torch.Tensor]]:
    """(lowest bin, highest bin, sine frequencies, layer means on the sines) of the longest run of
    quarter-tone sines the network itself tracks within 50 cents."""
    freqs = TRACK_FMIN * 2.0 ** (np.arange(0, 12 * math.log2(TRACK_FMAX / TRACK_FMIN), 0.5) / 12)
    means = layer_means(net, sines(freqs, net.sr))
    got = np.array([net.module.bin_frequency(int(c)) for c in means[net.output].argmax(1)])
    ok = np.abs(1200 * np.log2(got / freqs)) <= 50
    best, run, end = 0, 0, 0
    for i, good in enumerate(ok):
        run = run + 1 if good else 0
        if run > best:
            best, end = run, i
    if best == 0:
        raise RuntimeError(f"{net.name} tracks none of the sines")
    lo, hi = freqs[end - best + 1], freqs[end]
    bins = means[net.output].shape[1]
    return (max(0, net.module.frequency_bin(lo)), min(bins - 1, net.module.frequency_bin(hi)), freqs, means)


def track(y: np.ndarray, sr: int) -> tuple[np.ndarray, float, float]:
    """pYIN: (f0 of the voiced frames, voiced share, mean voiced probability)."""
    import librosa

    f0, voiced, prob = librosa.pyin(y.astype(np.float64), fmin=TRACK_FMIN, fmax=TRACK_FMAX, sr=sr,
                                    frame_length=4096)
    return f0[voiced & np.isfinite(f0)], float(voiced.mean()), float(np.nanmean(prob))


def render(net: Net, targets: list[Target], start: torch.Tensor, cfg: OptimizeConfig, chunk: int) -> np.ndarray:
    """One loop per target from ``start`` [N], in batches of ``chunk``: [targets, N]."""
    loops = []
    for i in range(0, len(targets), chunk):
        part = targets[i:i + chunk]
        run = LoopAscent(net.ear, start.reshape(1, -1).expand(len(part), -1).clone(), part, cfg,
                         per_candidate=True, total_steps=cfg.steps)
        for _ in range(cfg.steps):
            run.step()
        loops.append(run.loops().numpy())
    return np.concatenate(loops)


@torch.no_grad()
def own_reading(net: Net, loops: np.ndarray) -> np.ndarray:
    """The network's own pitch of each loop (time-averaged output, argmax bin) -- not independent."""
    return layer_means(net, torch.from_numpy(loops))[net.output].argmax(1).numpy()


def cents(hz: float, ref: float) -> float:
    return 1200 * math.log2(hz / ref)


def pitch_rows(net: Net, bins: list[int], loops: np.ndarray) -> list[dict]:
    rows = []
    own = own_reading(net, loops)
    for c, y, o in zip(bins, loops, own):
        want = net.module.bin_frequency(c)
        f0, voiced, prob = track(y, net.sr)
        err = abs(cents(float(np.median(f0)), want)) if len(f0) else math.inf
        # the loop's pitch a whole ratio away (octave, a twelfth, two octaves; either way): pYIN hears the
        # common fundamental of partials the network heard one of, or the other way round
        ratio = min((abs(cents(float(np.median(f0)) * k, want)) for k in (1 / 4, 1 / 3, 1 / 2, 2, 3, 4)),
                    default=math.inf) if len(f0) else math.inf
        rows.append({"bin": c, "hz": want, "f0": float(np.median(f0)) if len(f0) else math.nan, "error": err,
                     "harmonic": ratio <= 50,
                     "voiced": voiced, "prob": prob,
                     "own_error": abs(cents(net.module.bin_frequency(int(o)), want))})
    return rows


def summarize(rows: list[dict]) -> str:
    err = np.array([r["error"] for r in rows])
    own = np.array([r["own_error"] for r in rows])
    med = float(np.median(err))
    return (f"median |error| {med:.0f} cents, within 50 cents {np.mean(err <= 50):.0%}, "
            f"within a semitone {np.mean(err <= 100):.0%}, median voiced share "
            f"{np.median([r['voiced'] for r in rows]):.2f}, mean voiced prob {np.mean([r['prob'] for r in rows]):.2f}, "
            f"a whole ratio off (x1/4..x4, within 50 cents) {np.mean([r['harmonic'] for r in rows]):.0%} "
            f"| the network's own argmax within a semitone (not independent) {np.mean(own <= 100):.0%}")


def hidden_rows(net: Net, count: int, rng: random.Random, start: torch.Tensor, cfg: OptimizeConfig,
                freqs: np.ndarray, means: dict[str, torch.Tensor], chunk: int) -> list[dict]:
    layers = [k for k in means if k != net.output]
    picks = []
    for _ in range(count):
        layer = rng.choice(layers)
        picks.append((layer, rng.randrange(means[layer].shape[1])))
    loops = render(net, [Target(layer, channels=[c]) for layer, c in picks], start, cfg, chunk)
    own = own_reading(net, loops)
    rows = []
    for (layer, c), y, o in zip(picks, loops, own):
        curve = means[layer][:, c].numpy()
        peak = int(curve.argmax())
        low = float(curve.min())  # (LeakyReLU layers go negative: measured from the curve's floor)
        selectivity = float((curve[peak] - low) / max(float(np.median(curve)) - low, 1e-8))
        f0, voiced, prob = track(y, net.sr)
        spread = float(np.subtract(*np.percentile(1200 * np.log2(f0), [75, 25]))) if len(f0) > 1 else math.inf
        pitch = float(np.median(f0)) if len(f0) else math.nan
        rows.append({"layer": layer, "channel": c, "best_hz": float(freqs[peak]), "selectivity": selectivity,
                     "f0": pitch, "voiced": voiced, "spread": spread,
                     "stable": voiced >= 0.5 and spread <= 50,
                     "vs_best": cents(pitch, float(freqs[peak])) if len(f0) else math.nan,
                     "own_hz": net.module.bin_frequency(int(o))})
    return rows


def write_gallery(net: Net, bins: list[int], loops: np.ndarray, rows: list[dict], folder: str, count: int) -> None:
    """``count`` loops spread over the drawn bins (lowest, ..., highest) as 16-bit WAVs at 22.05 kHz
    and their scaleogram PNGs."""
    import soundfile as sf
    from scipy.signal import resample_poly

    from immersions_osc.contract import spectrum
    from immersions_osc.images import scaleogram_image, write_png

    os.makedirs(folder, exist_ok=True)
    picks = sorted({round(i * (len(bins) - 1) / max(1, count - 1)) for i in range(count)})
    for c, y, r in [(bins[i], loops[i], rows[i]) for i in picks]:
        stem = os.path.join(folder, f"{net.name}_bin{c:03d}_{r['hz']:.0f}hz")
        sf.write(stem + ".wav", resample_poly(y, 1, 2) if net.sr == 44100 else y,
                 22050 if net.sr == 44100 else net.sr, subtype="PCM_16")
        with torch.no_grad():
            logp = spectrum(net.ear, torch.from_numpy(y)[None])  # the package's scaleogram
        write_png(stem + ".png", scaleogram_image(logp[0, 0].numpy(), scale=2))
        print(f"  gallery: {stem}.wav/.png (pYIN {r['f0']:.1f} Hz for {r['hz']:.1f} Hz)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default="pesto,crepe")
    ap.add_argument("--bins", type=int, default=20, help="output bins drawn per network (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--starts", default="noise,silence")
    ap.add_argument("--hidden", type=int, default=0, help="random hidden channels per network, from noise")
    ap.add_argument("--seconds", type=float, default=1.0, help="loop length (default: %(default)s s)")
    ap.add_argument("--hop-pesto", type=float, default=32.0,
                    help="PESTO's frame hop in ms (default: %(default)s; its package and adapter default: 10)")
    ap.add_argument("--hop-crepe", type=int, default=512,
                    help="CREPE's frame hop in samples at 16 kHz (default: %(default)s; its package and adapter "
                         "default: 160)")
    ap.add_argument("--config", default="", help="a YAML config whose optimize section is the settings (e.g. "
                    "examples/pitch_sonification.yaml, what `render --config` uses); --set applies on top")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="an OptimizeConfig field")
    ap.add_argument("--chunk", type=int, default=10, help="loops optimized in one batch")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--gallery", default="", help="folder for WAV + PNG of --gallery-count loops spread over the drawn bins (from the first start)")
    ap.add_argument("--gallery-count", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="3 bins, 40 steps, noise only (tests)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = OptimizeConfig(seed=args.seed)
    if args.config:
        from immersions_osc.config import load_config

        cfg = dataclasses.replace(load_config(args.config).optimize, seed=args.seed)
    for item in args.set:
        key, _, value = item.partition("=")
        kind = type(getattr(cfg, key))
        cfg = dataclasses.replace(cfg, **{key: kind(value) if kind is not bool else value.lower() in ("1", "true")})
    if args.quick:
        args.bins, args.starts, args.hidden = 3, "noise", 0
        cfg = dataclasses.replace(cfg, steps=min(cfg.steps, 40))
    changed = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)
               if getattr(cfg, f.name) != getattr(OptimizeConfig(), f.name)}
    print(f"pitch check: seed {args.seed}, {args.bins} bins per network, loops of {args.seconds} s, "
          f"hops: PESTO {args.hop_pesto} ms, CREPE {args.hop_crepe} samples; "
          f"{cfg.steps} steps, threads {torch.get_num_threads()}, settings changed from the defaults: {changed}")
    if hasattr(os, "getloadavg"):
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
    results = {}
    for name in args.nets.split(","):
        t0 = time.perf_counter()
        net = load_net(name, args.hop_pesto if name == "pesto" else args.hop_crepe)
        lo, hi, freqs, means = network_range(net)
        rng = random.Random(args.seed)
        bins = sorted(rng.sample(range(lo, hi + 1), args.bins))
        print(f"\n{name}: range bins {lo}..{hi} ({net.module.bin_frequency(lo):.1f} .. "
              f"{net.module.bin_frequency(hi):.1f} Hz); drawn bins {bins}")
        n = int(args.seconds * net.sr)
        for start_name in args.starts.split(","):
            start = start_clip(start_name, n, net.sr, args.seed)
            loops = render(net, [Target(net.output, channels=[c]) for c in bins], start, cfg, args.chunk)
            rows = pitch_rows(net, bins, loops)
            for r in rows:
                print(f"  {start_name:7s} bin {r['bin']:3d} {r['hz']:7.1f} Hz -> pYIN {r['f0']:7.1f} Hz "
                      f"|error| {r['error']:6.0f} cents, voiced {r['voiced']:.2f} (prob {r['prob']:.2f})")
            line = summarize(rows)
            print(f"{name} from {start_name}: {line}  [{time.perf_counter() - t0:.0f} s]", flush=True)
            results[(name, start_name)] = rows
            if args.gallery and start_name == args.starts.split(",")[0]:
                write_gallery(net, bins, loops, rows, args.gallery, args.gallery_count)
        if args.hidden:
            start = start_clip("noise", n, net.sr, args.seed)
            rows = hidden_rows(net, args.hidden, random.Random(args.seed + 1), start, cfg, freqs, means, args.chunk)
            for r in rows:
                print(f"  hidden {r['layer']}:{r['channel']} best sine {r['best_hz']:.0f} Hz (selectivity "
                      f"{r['selectivity']:.1f}) -> pYIN {r['f0']:.1f} Hz, voiced {r['voiced']:.2f}, spread "
                      f"{r['spread']:.0f} cents, vs best sine {r['vs_best']:+.0f} cents, the network hears "
                      f"{r['own_hz']:.0f} Hz{'  STABLE' if r['stable'] else ''}")
            by_layer: dict[str, list] = {}
            for r in rows:
                by_layer.setdefault(r["layer"], []).append(r)
            for layer, rs in by_layer.items():
                print(f"{name} hidden {layer}: {sum(r['stable'] for r in rs)}/{len(rs)} loops carry a stable pitch; "
                      f"median pitch selectivity to sines {np.median([r['selectivity'] for r in rs]):.1f}")
            print(f"{name} hidden: {sum(r['stable'] for r in rows)}/{len(rows)} loops carry a stable pitch "
                  f"[{time.perf_counter() - t0:.0f} s]", flush=True)
    print("\nsummary")
    for (name, start_name), rows in results.items():
        print(f"{name:6s} from {start_name:7s}: {summarize(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
