"""Scaleogram accuracy beside librosa.cqt and nnAudio CQT1992v2: log-magnitude correlation.

    PYTHONPATH=. python benchmarks/scaleogram_accuracy.py [--seconds 5]

The measure: the correlation of log(|X|^2 + 1e-8) (our power floor) over all bins and
frames, against librosa.cqt (same bins, same kernel lengths, magnitudes scaled alike), on a chord
plus an exponential chirp and on steady tones in white noise (seeded).  Ours is causal: bin k's
frame t is centred on t * hop + offset[k] (scaleogram.frame_centre_offsets), so it is compared
at librosa's frame centres (t * hop) by delaying the input by the sub-hop part of the offset.
Columns: ours vs librosa.cqt as shipped; ours vs librosa with sparsity=0 (its kernels exact:
librosa's default drops the smallest 1% of each kernel's spectrum, which leaks into quiet bins);
ours at whole-frame alignment only (without the sub-hop delay, to show what it adds); nnAudio vs librosa.cqt (centred frames
like librosa's; each bin scaled so that a sinusoid at its centre frequency gives a / 2, like ours
and librosa's), when nnAudio is installed (pip install --no-deps nnAudio).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing
sys.path.insert(0, str(REPO / "tests"))  # the comparison helpers (tests/cqt_reference.py)

from immersions_osc import threads  # noqa: E402  (first: sets OMP_WAIT_POLICY before torch loads)

import argparse  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from cqt_reference import (chord_and_chirp, librosa_magnitudes, log_correlation,  # noqa: E402
                           magnitudes_at_centred_frames, tones_and_noise)
from immersions_osc.config import ScaleogramConfig  # noqa: E402
from immersions_osc.scaleogram import Scaleogram, bin_frequencies, frame_centre_offsets  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--threads", type=int, help="torch threads (default: the thread policy)")
    args = ap.parse_args()
    print(threads.apply(args.threads).describe())
    warnings.filterwarnings("ignore", message="n_fft=.*is too large")
    import librosa

    cfg = ScaleogramConfig()
    s = Scaleogram(cfg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from nnAudio.features import CQT1992v2
        nn_cqt = CQT1992v2(sr=cfg.sample_rate, hop_length=cfg.hop_length, fmin=cfg.fmin, n_bins=cfg.n_bins,
                           bins_per_octave=cfg.bins_per_octave, output_format="Magnitude", verbose=False)
        # per-bin calibration: unit sinusoids at every bin's centre frequency, steady-state frames
        t = torch.arange(2 * cfg.sample_rate) / cfg.sample_rate
        tones = torch.cos(2 * torch.pi * torch.tensor(bin_frequencies(cfg), dtype=torch.float32)[:, None] * t)
        with torch.no_grad():
            response = torch.cat([nn_cqt(chunk) for chunk in tones.split(24)])
        nn_scale = 0.5 / response[torch.arange(cfg.n_bins), torch.arange(cfg.n_bins), 40:-40].mean(-1).numpy()
    except ImportError:
        nn_cqt = None
        print("nnAudio not installed: its column is skipped (pip install --no-deps nnAudio)")
    signals = {"chord + chirp": chord_and_chirp(args.seconds),
               "tones + noise (seed 0)": tones_and_noise(args.seconds, 0),
               "tones + noise (seed 1)": tones_and_noise(args.seconds, 1)}
    print(f"\nlog-magnitude correlation with librosa.cqt ({args.seconds:g} s, floor {cfg.power_floor:g})")
    print(f"{'signal':24s} {'ours':>8s} {'ours vs sparsity=0':>19s} {'ours, whole frames':>19s} {'nnAudio':>8s}")
    lag_whole = np.round(frame_centre_offsets(cfg) / cfg.hop_length).astype(int)
    for name, x in signals.items():
        theirs = librosa_magnitudes(librosa.cqt, x, cfg)
        exact = librosa_magnitudes(librosa.cqt, x, cfg, sparsity=0.0)
        ours, lag = magnitudes_at_centred_frames(s, x)
        real, imag = s.complex_transform(torch.tensor(x))
        ours_whole = torch.sqrt(real ** 2 + imag ** 2)[0].numpy()
        zero = np.zeros(cfg.n_bins, dtype=int)
        row = [log_correlation(ours, lag, theirs, cfg.power_floor),
               log_correlation(ours, lag, exact, cfg.power_floor),
               log_correlation(ours_whole, lag_whole, theirs, cfg.power_floor)]
        if nn_cqt is not None:
            with torch.no_grad():
                nn = nn_cqt(torch.tensor(x)[None])[0].numpy() * nn_scale[:, None]
            row.append(log_correlation(nn, zero, theirs, cfg.power_floor))
        print(f"{name:24s} {row[0]:8.4f} {row[1]:19.4f} {row[2]:19.4f} " + (f"{row[3]:8.4f}" if len(row) > 3 else ""))


if __name__ == "__main__":
    main()
