"""Sonification: audio loops optimized to excite chosen neurons (feature visualization for sound)."""
from .loop import Optimizer, activations_of, measure, optimize
from .targets import Target

__all__ = ["Optimizer", "Target", "activations_of", "measure", "optimize"]
