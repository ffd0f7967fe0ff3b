"""Sonification: audio loops optimized to excite chosen neurons (feature visualization for sound).

The names below load on first use (PEP 562), so that the command line can list its commands
without importing torch."""
from importlib import import_module

_EXPORTS = {"LoopAscent": ".ascent", "activations_of": ".ascent", "measure": ".ascent", "optimize": ".ascent",
            "Target": ".targets"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
