"""Sonification: audio loops optimized to excite chosen neurons (feature visualization for sound)."""
from .ascent import LoopAscent, activations_of, measure, optimize
from .targets import Target

__all__ = ["LoopAscent", "Target", "activations_of", "measure", "optimize"]
