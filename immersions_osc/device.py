"""Choosing the torch device: 'auto' is CUDA when present, else the CPU."""
from __future__ import annotations

from typing import Optional

import torch

from .errors import UserError


def resolve_device(name: str = "auto", local_rank: Optional[int] = None) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``; under torchrun ``local_rank`` picks the GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device {name!r}: CUDA is not available on this machine (use 'cpu' or 'auto')")
        if local_rank is not None:
            return torch.device("cuda", local_rank)
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None
