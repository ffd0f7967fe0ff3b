"""``immersions-osc``: the command line.  Thin: parses flags, calls the package, prints results.

User mistakes (bad config, missing file, bad flag value) end in one ``immersions-osc: error:``
line and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from .config import load_config
from .errors import UserError

PROG = "immersions-osc"


def _device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine (use cpu or auto)")
    return torch.device(name)


def cmd_demo(args: argparse.Namespace) -> int:
    """Scaleogram + model on a generated clip: writes the clip, a PNG of its scaleogram, prints z and c."""
    import numpy as np
    import soundfile as sf
    import torch

    from .data.synth import SyntheticMusic
    from .images import scaleogram_image, write_png
    from .model import build_model

    cfg = load_config(args.config)
    device = _device(args.device)
    torch.manual_seed(args.seed)
    sr = cfg.scaleogram.sample_rate
    audio, labels = SyntheticMusic(sample_rate=sr, seed=args.seed).clip(0, int(args.seconds * sr))
    os.makedirs(args.out, exist_ok=True)
    wav_path = os.path.join(args.out, "clip.wav")
    sf.write(wav_path, audio, sr, subtype="PCM_16")

    model = build_model(cfg).to(device).eval()
    x = torch.from_numpy(np.asarray(audio, dtype=np.float32)).unsqueeze(0).to(device)
    with torch.no_grad():
        start = time.perf_counter()
        spec = model.scaleogram(x)
        z = model.encoder(spec)
        c = model.ar(z)
        elapsed = time.perf_counter() - start
    png_path = os.path.join(args.out, "scaleogram.png")
    write_png(png_path, scaleogram_image(spec[0, 0].cpu().numpy()))
    params = sum(p.numel() for p in model.parameters())
    print(f"clip      : {args.seconds:g} s synthetic music ({labels['family']}, {labels['instruments']}, "
          f"{labels['key']}, {labels['tempo']:.0f} bpm) -> {wav_path}")
    print(f"scaleogram: {tuple(spec.shape)} [batch, channel, bins, frames] -> {png_path}")
    print(f"model     : preset '{cfg.model.preset}', {params:,} parameters (untrained), device {device}")
    print(f"z         : {tuple(z.shape)} [batch, channels, steps of {4 * cfg.scaleogram.hop_length / sr * 1000:.0f} ms]")
    print(f"c         : {tuple(c.shape)} [batch, channels, steps]")
    print(f"time      : {elapsed * 1000:.1f} ms for scaleogram + encoder + autoregressive model")
    return 0


def cmd_scaleogram(args: argparse.Namespace) -> int:
    """Write a PNG of an audio file's scaleogram."""
    import torch

    from .data.folder import load_audio
    from .images import scaleogram_image, write_png
    from .scaleogram import Scaleogram

    cfg = load_config(args.config)
    if not os.path.isfile(args.input):
        raise UserError(f"audio file not found: {args.input}")
    try:
        audio = load_audio(args.input, cfg.scaleogram.sample_rate)
    except Exception as exc:  # soundfile's errors for unreadable files
        raise UserError(f"cannot read {args.input} as audio: {exc}") from None
    if len(audio) < cfg.scaleogram.hop_length:
        raise UserError(f"{args.input} is shorter than one hop ({cfg.scaleogram.hop_length} samples)")
    with torch.no_grad():
        spec = Scaleogram(cfg.scaleogram)(torch.as_tensor(audio).unsqueeze(0))
    write_png(args.out, scaleogram_image(spec[0, 0].numpy()))
    print(f"{args.input}: {spec.shape[-1]} frames x {spec.shape[-2]} bins -> {args.out}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the (default or given) configuration as YAML: a template to edit."""
    import yaml

    from .config import to_dict

    print(yaml.safe_dump(to_dict(load_config(args.config)), sort_keys=False), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="See and hear how an artificial ear hears music.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", help="YAML config (see `immersions-osc config`)")
        p.set_defaults(func=func)
        return p

    p = add("demo", cmd_demo, "run the artificial ear on a generated clip and write a scaleogram PNG")
    p.add_argument("--out", default="immersions-demo", help="output folder (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=4.0, help="clip length (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")

    p = add("scaleogram", cmd_scaleogram, "write a PNG of an audio file's scaleogram")
    p.add_argument("input", help="audio file (wav, flac, ogg, mp3)")
    p.add_argument("--out", default="scaleogram.png")

    add("config", cmd_config, "print the configuration as YAML (a template to edit)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
