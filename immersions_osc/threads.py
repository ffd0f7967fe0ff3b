"""The thread policy of every command, the service and the benchmarks.

Torch parallelizes one operation over ``intra_op`` threads with OpenMP.  On a machine where other
work competes for the cores (a laptop running a DAW, a shared 2-core server) that is what makes
torch slow: a parallel region is as slow as its slowest thread, a descheduled thread stalls the
others, and OpenMP's default is to *spin* while waiting, burning the cycles the other work needs.
Measured on 2 cores (``benchmarks/under_load.py --threads 1`` vs ``--threads 2``): 1 thread keeps
every figure within 1.5x of idle beside one busy process, 2 threads do not.  So the policy is

* ``intra_op`` threads: half the cores this process may use (at least 1, at most 4): 1 on a
  2-core machine, leaving the other core to the audio, the DAW and the rest;
* ``inter_op`` threads: 1 (nothing here runs independent torch operations concurrently);
* ``OMP_WAIT_POLICY=PASSIVE``: idle OpenMP threads sleep instead of spinning (matters from 2
  threads up).  OpenMP reads it once, when torch loads it: :func:`prepare_environment` sets it
  before torch is imported (the CLI and the benchmarks call it first); a value already in the
  environment wins.

``--threads N`` (every command and benchmark) or ``threads.intra_op`` in the config override the
thread count.  :func:`apply` returns what took effect, and :meth:`ThreadPolicy.describe` is the
line every benchmark prints.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

WAIT_POLICY = "PASSIVE"
MAX_DEFAULT_THREADS = 4

# what the environment said when this module was first imported, and whether torch (and with it
# OpenMP) had been imported already: then OMP_WAIT_POLICY can no longer change
_TORCH_LOADED_FIRST = "torch" in sys.modules
_WAIT_SET_BY_US = False


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def default_threads(cores: int | None = None) -> int:
    """Half the cores available to this process, at least 1, at most :data:`MAX_DEFAULT_THREADS`."""
    cores = available_cores() if cores is None else cores
    return max(1, min(MAX_DEFAULT_THREADS, cores // 2))


def prepare_environment() -> None:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` for OpenMP, unless the environment already chose one.

    Effective only before torch is first imported (OpenMP reads it when it loads); call it at
    the top of an entry point.  Child processes inherit it.
    """
    global _WAIT_SET_BY_US
    if "OMP_WAIT_POLICY" not in os.environ and "torch" not in sys.modules:
        os.environ["OMP_WAIT_POLICY"] = WAIT_POLICY
        _WAIT_SET_BY_US = True


@dataclass(frozen=True)
class ThreadPolicy:
    intra_op: int  # torch.get_num_threads() after apply()
    inter_op: int  # torch.get_num_interop_threads()
    wait_policy: str  # the OMP_WAIT_POLICY OpenMP started with, or why it is unknown
    cores: int

    def describe(self) -> str:
        return (f"thread policy: {self.intra_op} torch thread(s), {self.inter_op} inter-op, "
                f"OMP_WAIT_POLICY {self.wait_policy}, {self.cores} cores available")


def effective_wait_policy() -> str:
    if _TORCH_LOADED_FIRST and not _WAIT_SET_BY_US:
        value = os.environ.get("OMP_WAIT_POLICY")
        return (f"{value or 'unset'} (torch was loaded before the thread policy: "
                f"whatever the environment had at process start applies)")
    value = os.environ.get("OMP_WAIT_POLICY")
    return value.upper() if value else "unset (OpenMP default: spin, then sleep)"


def resolve_threads(flag: int | None = None, configured: int = 0) -> int:
    """The flag wins, then the config (``threads.intra_op``, 0 = the policy), then the policy."""
    from .errors import UserError

    for value, name in ((flag, "--threads"), (configured, "threads.intra_op")):
        if value is None or (value == 0 and name != "--threads"):
            continue
        if not 1 <= value <= 256:
            raise UserError(f"{name} must be 1..256, got {value}")
        return value
    return default_threads()


def apply(threads: int | None = None, configured: int = 0, inter_op: int = 1) -> ThreadPolicy:
    """Set torch's threads by the policy (see :func:`resolve_threads`) and report what took effect."""
    n = resolve_threads(threads, configured)
    prepare_environment()
    import torch

    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(inter_op)
    except RuntimeError:
        pass  # already set, or inter-op work already started: report the count in use
    return ThreadPolicy(torch.get_num_threads(), torch.get_num_interop_threads(), effective_wait_policy(),
                        available_cores())
