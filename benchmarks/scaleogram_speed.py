"""Scaleogram speed beside librosa.cqt and nnAudio CQT1992v2, and model forward throughput.

Run: ./run bench scaleogram_speed   (or: python benchmarks/scaleogram_speed.py)
Prints the median time per 4 s clip (44.1 kHz, hop 1024, 216 bins from 40 Hz, 24/octave), the
backward's cost relative to the forward in a batch of 16, and ratios (ours / reference: < 1
means we are faster), then forward clips/s of the `small` and `seed` models on the CPU (and on
CUDA when present), all at the thread policy (--threads overrides).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse
import warnings

import numpy as np
import torch

from immersions_osc.config import Config, ModelConfig, ScaleogramConfig
from immersions_osc.model import build_model
from immersions_osc.scaleogram import Scaleogram

from _timing import median_seconds  # noqa: E402  (benchmarks/, on sys.path when run as a script)

SR, SECONDS = 44100, 4.0


def median_ms(fn, repeats: int) -> float:
    return median_seconds(fn, repeats) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    policy = threads.apply(ap.parse_args().threads)
    cfg = ScaleogramConfig()
    x = np.random.default_rng(0).standard_normal(int(SR * SECONDS)).astype(np.float32) * 0.1
    xt = torch.from_numpy(x).unsqueeze(0)
    print(f"{policy.describe()}; clip: {SECONDS:g} s at {SR} Hz\n")

    ours = Scaleogram(cfg)
    with torch.no_grad():
        t_ours = median_ms(lambda: ours(xt), 30)
        batch = xt.repeat(16, 1)
        t_batch = median_ms(lambda: ours(batch), 5) / 16
    grad_x = xt.clone().requires_grad_(True)

    def fwd_bwd():
        grad_x.grad = None
        ours(grad_x).sum().backward()

    t_grad = median_ms(fwd_bwd, 10)
    grad_batch = batch.clone().requires_grad_(True)

    def fwd_bwd_batch():
        grad_batch.grad = None
        ours(grad_batch).sum().backward()

    t_grad_batch = median_ms(fwd_bwd_batch, 5) / 16
    rows = [("immersions scaleogram (batch 1)", t_ours), ("immersions scaleogram (batch 16, per clip)", t_batch),
            ("immersions scaleogram forward+backward", t_grad),
            ("immersions forward+backward (batch 16, per clip)", t_grad_batch)]

    refs = {}
    try:
        import librosa

        kw = dict(sr=SR, hop_length=cfg.hop_length, fmin=cfg.fmin, n_bins=cfg.n_bins,
                  bins_per_octave=cfg.bins_per_octave)
        librosa.cqt(x, **kw)  # numba warm-up
        refs["librosa.cqt"] = median_ms(lambda: librosa.cqt(x, **kw), 15)
    except ImportError:
        print("librosa not installed: skipped")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from nnAudio.features import CQT1992v2

            nn_cqt = CQT1992v2(sr=SR, hop_length=cfg.hop_length, fmin=cfg.fmin, n_bins=cfg.n_bins,
                               bins_per_octave=cfg.bins_per_octave, verbose=False)
            with torch.no_grad():
                refs["nnAudio CQT1992v2"] = median_ms(lambda: nn_cqt(xt), 10)
    except ImportError:
        print("nnAudio not installed: skipped (pip install --no-deps nnAudio)")
    rows += list(refs.items())

    print(f"{'scaleogram (median per 4 s clip)':48s} {'ms':>8s}")
    for name, ms in rows:
        print(f"{name:48s} {ms:8.2f}")
    print(f"backward / forward in a batch of 16: {(t_grad_batch - t_batch) / t_batch:.2f}")
    for name, ms in refs.items():
        print(f"ratio ours / {name:34s} {t_ours / ms:8.3f}  ({ms / t_ours:.1f}x faster; per clip in a batch "
              f"of 16: {ms / t_batch:.1f}x faster)")

    print(f"\n{'model forward (4 s clips)':30s} {'device':>6s} {'batch':>6s} {'clips/s':>9s}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for preset in ("small", "seed"):
            model = build_model(Config(model=ModelConfig(preset=preset))).to(device).eval()
            bsz = 8 if device == "cpu" else 64
            xb = torch.randn(bsz, int(SR * SECONDS), device=device) * 0.1

            def run():
                with torch.no_grad():
                    model(xb)
                if device == "cuda":
                    torch.cuda.synchronize()

            ms = median_ms(run, 5 if device == "cpu" else 20)
            print(f"{preset:30s} {device:>6s} {bsz:6d} {bsz / ms * 1000:9.1f}")


if __name__ == "__main__":
    main()
