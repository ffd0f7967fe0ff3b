"""What several test files and benchmarks share that is not a pytest fixture: the checkout's root,
a module loaded from one of its files (scripts and generators that are not part of the package),
and the tiny training config."""
from __future__ import annotations

import importlib.util
import json
import os
from types import ModuleType

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_file(name: str, *path: str) -> ModuleType:
    """The file ``REPO/path...`` run as a fresh module called ``name`` (not put in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, *path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A tiny model keeps each step well under a second on 2 cores.
TINY = {
    "model": {"preset": "small", "encoder_channels": [4, 4, 8, 8, 8, 8, 16, 16], "ar_channels": [16] * 9,
              "prediction_steps": 4},
    "train": {"steps": 4, "batch_size": 4, "checkpoint_every": 2, "log_every": 1, "warmup_steps": 1,
              "device": "cpu"},
    "data": {"num_workers": 0},
}


def tiny(**overrides: dict) -> dict:
    """A fresh copy of :data:`TINY` with each section's ``overrides`` (e.g. ``train={"steps": 8}``) applied."""
    data = json.loads(json.dumps(TINY))
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return data
