"""Immersions: see and hear how an artificial ear hears music."""
from . import threads as _threads

# OpenMP reads OMP_WAIT_POLICY once, when torch loads it: set the thread policy's value before any
# module of the package imports torch (a value already in the environment wins).
_threads.prepare_environment()
