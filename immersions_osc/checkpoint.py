"""Checkpoints: the model's weights with the config that built it, written atomically.

A checkpoint is a ``torch.save`` dict ``{"format", "version", "config", "model", "step",
"optimizer", "metrics", ...}`` of plain types only (dicts, lists, str, int, float, bool, None and
tensors), so it is read with ``torch.load(weights_only=True)``: a crafted ``.pt`` cannot run code
(an arbitrary pickle is refused before anything of it is built).  Saving writes a temp file and
renames it over the old one, so a kill during a save leaves the previous checkpoint intact (and
the next start removes the killed writer's temp file, see ``atomic.py``).  Loading failures
(missing file, not a checkpoint, another architecture than the config asks for) raise
:class:`UserError` with one clear line.
"""
from __future__ import annotations

import os
from typing import Any, Optional

import torch

from .atomic import atomic_write
from .config import Config, ConfigError, parse_config, to_dict
from .errors import UserError

FORMAT = "immersions-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, cfg: Config, *, step: int = 0,
                    optimizer: Optional[torch.optim.Optimizer] = None, **extra: Any) -> None:
    payload = {"format": FORMAT, "version": VERSION, "config": to_dict(cfg), "step": step,
               "model": {k: v.detach().cpu() for k, v in model.state_dict().items()}, **extra}
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    check_plain(payload)
    atomic_write(path, lambda fh: torch.save(payload, fh))


PLAIN = (str, int, float, bool, type(None), torch.Tensor)


def check_plain(value: Any, where: str = "checkpoint") -> None:
    """Only plain types go into a checkpoint (what ``weights_only=True`` loads back)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where}: key {k!r} is not a str or int")
            check_plain(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_plain(v, f"{where}[{i}]")
    elif not isinstance(value, PLAIN):
        raise TypeError(f"{where} is a {type(value).__name__}; checkpoints hold plain types only")


def read_checkpoint(path: str | os.PathLike) -> dict:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"checkpoint not found: {path}")
    try:
        # weights_only: tensors and plain containers only; any other pickled object (the way a
        # crafted file runs code) is refused by torch's restricted unpickler
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, foreign or crafted file: torch raises many kinds
        # torch names weights_only in its unpickling errors, also for a file that is merely garbage
        kind = ("is not a readable Immersions checkpoint: it holds objects other than weights or is not a "
                "checkpoint at all (refused)" if "weights_only" in str(exc) else
                f"is not a readable Immersions checkpoint ({type(exc).__name__})")
        raise UserError(f"{path} {kind}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"{path} is not an Immersions checkpoint")
    if payload.get("version", 0) > VERSION:
        raise UserError(f"{path} was written by a newer Immersions (checkpoint version {payload['version']})")
    return payload


def checkpoint_config(payload: dict, path: str = "checkpoint") -> Config:
    try:
        return parse_config(payload["config"])
    except ConfigError as exc:
        raise UserError(f"{path} holds an invalid config: {exc}") from None


def describe_architecture(cfg: Config) -> str:
    from .model.cpc import channel_counts

    enc, ar = channel_counts(cfg)
    return (f"preset '{cfg.model.preset}' (encoder {enc}, autoregressive {ar}, "
            f"{cfg.model.prediction_steps} predicted steps, scaleogram phase={cfg.scaleogram.phase})")


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu",
               expect: Optional[Config] = None):
    """Build the checkpoint's model and load its weights; returns ``(model, cfg, payload)``.

    With ``expect``, the checkpoint's architecture must match that config's (a clear error
    otherwise, e.g. a `seed` checkpoint given where a `small` model is configured).
    """
    from .model import build_model

    path = os.fspath(path)
    payload = read_checkpoint(path)
    cfg = checkpoint_config(payload, path)
    if expect is not None and describe_architecture(expect) != describe_architecture(cfg):
        raise UserError(f"{path} holds a {describe_architecture(cfg)} model, but the config asks for "
                        f"{describe_architecture(expect)}")
    model = build_model(cfg)
    try:
        model.load_state_dict(payload["model"])
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"{path}: weights do not fit {describe_architecture(cfg)}: {first}") from None
    return model.to(device), cfg, payload
