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
from .shipped import DEFAULT_CHECKPOINT_SPEC, resolve_checkpoint, version

PROG = "immersions-osc"


def cmd_ear(args: argparse.Namespace) -> int:
    """The artificial ear on music it has never heard: scaleogram and encodings as PNGs, and how
    well it predicts the future (CPC accuracy) against chance."""
    import numpy as np
    import soundfile as sf
    import torch

    from .checkpoint import load_model
    from .data.folder import SyntheticDataset
    from .data.synth import SyntheticMusic
    from .images import colormap, scaleogram_image, write_png
    from .model import build_model

    from .device import resolve_device

    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    if args.batch < 2:
        raise UserError(f"--batch must be >= 2 (the other clips are the candidates), got {args.batch}")
    if args.checkpoint == "none":
        cfg = load_config(args.config)
        model, source = build_model(cfg).to(device), "untrained"
    else:
        model, cfg, payload = load_model(args.checkpoint, device, expect=load_config(args.config) if args.config else None)
        source = f"{args.checkpoint}, step {payload.get('step', '?')}"
    model.eval()
    sr = cfg.scaleogram.sample_rate
    step_samples = cfg.scaleogram.hop_length * model.encoder.time_stride  # one encoding step
    if args.seconds * sr < step_samples:
        raise UserError(f"--seconds must be at least {step_samples / sr:.3f} (one encoding step), "
                        f"got {args.seconds:g}")
    # seeds far from the training stream's (train.seed = 0 draws clip indices from 0 up)
    music_seed = 1_000_000 + args.seed
    audio, labels = SyntheticMusic(sample_rate=sr, seed=music_seed).clip(0, int(args.seconds * sr))
    os.makedirs(args.out, exist_ok=True)
    wav_path = os.path.join(args.out, "clip.wav")
    sf.write(wav_path, audio, sr, subtype="PCM_16")

    x = torch.from_numpy(np.asarray(audio, dtype=np.float32)).unsqueeze(0).to(device)
    with torch.no_grad():
        start = time.perf_counter()
        spec = model.scaleogram(x)
        z = model.encoder(spec)
        c = model.ar(z)
        elapsed = time.perf_counter() - start
        crops = SyntheticDataset(model.crop_samples, sample_rate=sr, seed=music_seed + 1)
        batch = torch.stack([crops[i][0] for i in range(args.batch)]).to(device)
        result = model.contrastive_loss(batch)
    png_path = os.path.join(args.out, "scaleogram.png")
    write_png(png_path, scaleogram_image(spec[0, 0].cpu().numpy()))
    z_img = z[0].cpu().numpy()
    z_img = z_img / (z_img.max(axis=1, keepdims=True) + 1e-9)  # each channel scaled to its own peak
    z_path = os.path.join(args.out, "encodings.png")
    write_png(z_path, np.repeat(np.repeat(colormap(z_img, 0.0, 1.0), 6, axis=0), 12, axis=1))
    params = sum(p.numel() for p in model.parameters())
    print(f"clip      : {args.seconds:g} s of synthetic music it never heard ({labels['family']}, "
          f"{labels['instruments']}, {labels['key']}, {labels['tempo']:.0f} bpm) -> {wav_path}")
    print(f"scaleogram: {tuple(spec.shape)} [batch, channel, bins, frames] -> {png_path}")
    print(f"model     : preset '{cfg.model.preset}', {params:,} parameters ({source}), device {device}")
    print(f"z         : {tuple(z.shape)} [batch, channels, steps of {step_samples / sr * 1000:.0f} ms]"
          f" -> {z_path}")
    print(f"c         : {tuple(c.shape)} [batch, channels, steps]")
    print(f"time      : {elapsed * 1000:.1f} ms for scaleogram + encoder + autoregressive model")
    print(f"listening : predicting {model.steps} encodings ({model.skip} skipped) of {args.batch} new clips, "
          f"the right one is picked among {args.batch} candidates {100 * result.accuracy.item():.0f} % of the "
          f"time (chance {100 / args.batch:.0f} %); {cfg.loss.kind.upper()} loss {result.loss.item():.3f} "
          f"(chance {result.chance:.3f})")
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


def _apply_overrides(cfg, args: argparse.Namespace, names: dict[str, str]):
    """Command-line flags that override config values, e.g. --steps -> train.steps."""
    from .config import parse_config, to_dict

    data = to_dict(cfg)
    for flag, key in names.items():
        value = getattr(args, flag, None)
        if value is not None:
            section, name = key.split(".")
            data[section][name] = value
    return parse_config(data)


def cmd_train(args: argparse.Namespace) -> int:
    """Train the model with CPC (also under torchrun for several processes/GPUs)."""
    from .train import CHECKPOINT_NAME, train

    if args.folder and args.data is None:
        args.data = "folder"
    cfg = _apply_overrides(load_config(args.config), args, {
        "preset": "model.preset", "loss": "loss.kind", "steps": "train.steps", "batch_size": "train.batch_size",
        "lr": "train.learning_rate", "seed": "train.seed", "device": "train.device", "data": "data.source",
        "folder": "data.folder", "workers": "data.num_workers"})
    if cfg.data.source == "folder" and not os.path.isdir(cfg.data.folder):
        raise UserError(f"audio folder not found: {cfg.data.folder}")
    start = time.perf_counter()
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise UserError(f"--max-minutes must be > 0, got {args.max_minutes}")
    metrics = train(cfg, args.out, resume=args.resume, max_steps=args.stop_after,
                    max_seconds=None if args.max_minutes is None else 60 * args.max_minutes)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"trained to step {metrics.get('step')} in {time.perf_counter() - start:.0f} s: "
              f"loss {metrics.get('loss', float('nan')):.4f}, accuracy {metrics.get('accuracy', float('nan')):.3f}"
              f" -> {os.path.join(args.out, CHECKPOINT_NAME)}")
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    """Linear probe of a checkpoint on a labelled folder (or synthetic labels) beside two baselines."""
    import json
    import tempfile

    from .checkpoint import load_model
    from .data.folder import labelled_examples, write_synthetic_folder
    from .probe import build_probe_set, read_probe_csv, run_probe

    from .device import resolve_device

    device = resolve_device(args.device)
    expect = load_config(args.config) if args.config else None
    model, cfg, payload = load_model(args.checkpoint, device, expect=expect)
    if args.config:
        cfg.probe = expect.probe
    cfg = _apply_overrides(cfg, args, {"epochs": "probe.supervised_epochs", "seed": "probe.seed",
                                       "crops": "probe.crops_per_file"})
    with tempfile.TemporaryDirectory() as tmp:
        if args.csv:
            examples = read_probe_csv(args.csv)
        elif args.data == "synthetic":
            folder = os.path.join(tmp, "probe")
            write_synthetic_folder(folder, n_per_class=args.files_per_class, seconds=cfg.probe.clip_seconds + 2,
                                   label=args.label, seed=10_000 + cfg.probe.seed,
                                   sample_rate=cfg.scaleogram.sample_rate)
            examples = labelled_examples(folder)
        else:
            examples = labelled_examples(args.data)
        data = build_probe_set(examples, cfg)
    report = run_probe(model, cfg, data, device, name=f"CPC ({os.path.basename(args.checkpoint)}, "
                                                       f"step {payload.get('step', '?')})",
                       supervised=not args.no_supervised, baselines=not args.model_only, log=lambda line: print(line, file=sys.stderr))
    print(report.table(layers=args.layers))
    print("linear-classifier L2 penalty chosen by cross-validation on the train split: "
          + ", ".join(f"{k}: {v:g}" for k, v in report.extra.get("l2", {}).items() if "pooled" not in k))
    if args.out:
        from .atomic import atomic_write_bytes

        atomic_write_bytes(args.out, json.dumps(dict(
            report.as_dict(), checkpoint=args.checkpoint, data=args.csv or args.data,
            label=args.label if (args.data == "synthetic" and not args.csv) else None), indent=2).encode())
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the (default or given) configuration as YAML: a template to edit."""
    import yaml

    from .config import to_dict

    print(yaml.safe_dump(to_dict(load_config(args.config)), sort_keys=False), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="See and hear how an artificial ear hears music.")
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", help="YAML config (see `immersions-osc config`)")
        p.set_defaults(func=func)
        return p

    p = add("ear", cmd_ear, "the artificial ear on music it never heard: pictures and prediction accuracy")
    p.add_argument("--out", default="immersions-ear", help="output folder (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=4.0, help="clip length (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    p.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT_SPEC,
                   help="trained model (default: the shipped checkpoints/small.pt; 'none' = untrained)")
    p.add_argument("--batch", type=int, default=16, help="clips for the prediction test (default: %(default)s)")

    p = add("scaleogram", cmd_scaleogram, "write a PNG of an audio file's scaleogram")
    p.add_argument("input", help="audio file (wav, flac, ogg, mp3)")
    p.add_argument("--out", default="scaleogram.png")

    p = add("train", cmd_train, "train the model with contrastive predictive coding")
    p.add_argument("--out", required=True, help="folder for checkpoint.pt and train_log.jsonl")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--preset", help="model preset: small or seed")
    p.add_argument("--loss", help="cpc or sat")
    p.add_argument("--steps", type=int, help="total optimizer steps")
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda")
    p.add_argument("--data", help="synthetic or folder")
    p.add_argument("--folder", help="audio folder (implies --data folder)")
    p.add_argument("--workers", type=int, help="data-loading worker processes")
    p.add_argument("--max-minutes", dest="max_minutes", type=float,
                   help="end this chunk after about this many minutes with a checkpoint; --resume continues it "
                        "exactly (train on a small machine in chunks)")
    p.add_argument("--stop-after", dest="stop_after", type=int,
                   help="end this chunk at this step (the schedule still follows --steps)")

    p = add("probe", cmd_probe, "linear probe of a checkpoint beside random-init and supervised baselines")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", default="synthetic",
                   help="labelled folder (labels = sub-folder names) or 'synthetic' (default)")
    p.add_argument("--csv", help="CSV with path,label and optional group,split,start columns "
                                 "(e.g. from `immersions-osc probe-tasks`); replaces --data")
    p.add_argument("--layers", action="store_true", help="also print every layer's pooled read-out")
    p.add_argument("--no-supervised", dest="no_supervised", action="store_true",
                   help="skip the supervised-from-scratch baseline (the slowest row)")
    p.add_argument("--model-only", dest="model_only", action="store_true",
                   help="only this checkpoint's rows (the baselines depend on the architecture, task and seed "
                        "only: reuse them from a probe of another checkpoint of the same architecture)")
    p.add_argument("--label", default="family", help="synthetic label to classify (default: %(default)s)")
    p.add_argument("--files-per-class", dest="files_per_class", type=int, default=12,
                   help="synthetic files per class (default: %(default)s)")
    p.add_argument("--epochs", type=int, help="epochs of the supervised baseline")
    p.add_argument("--crops", type=int, help="crops per file")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", help="also write the table as JSON here")

    from .clients.command import register as register_clients
    from .data.command import register as register_corpus
    from .gallery.command import register as register_gallery
    from .layout.command import register as register_layout
    from .optimize.command import register as register_render

    from .service.command import register as register_service

    register_corpus(sub)
    register_layout(sub)
    register_render(sub)
    register_service(sub)
    register_gallery(sub)
    register_clients(sub)

    add("config", cmd_config, "print the configuration as YAML (a template to edit)")
    for command in sub.choices.values():  # one thread policy for every command
        command.add_argument("--threads", type=int,
                             help="torch threads (default: threads.intra_op of the config, else the thread "
                                  "policy: half the cores, 1..4)")
    return parser


def apply_thread_policy(args: argparse.Namespace) -> None:
    """--threads, else the config's threads.intra_op, else the policy (immersions_osc/threads.py)."""
    from . import threads

    configured = load_config(args.config).threads.intra_op if getattr(args, "config", None) else 0
    threads.apply(args.threads, configured)


def _exit_now(code: int) -> None:
    """End the process now, skipping the interpreter's teardown (seconds of torch and module
    finalization): ``serve`` and ``demo`` have stopped every thread and saved everything by then,
    and a stop must take well under 3 s (benchmarks/robustness.py times the shutdown)."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if isinstance(getattr(args, "checkpoint", None), str) and args.checkpoint != "none":
        # paths are the user's (from the current folder); the default spelling means the shipped one
        args.checkpoint = resolve_checkpoint(args.checkpoint)
    try:
        apply_thread_policy(args)
        code = args.func(args)
        if argv is None and getattr(args, "fast_exit", False):
            _exit_now(code)
        return code
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
