"""Real-time scheduling for the audio callback thread.

The audio callback is Python (JACK-Client and sounddevice call it through cffi), so it must be
scheduled within one period even while the optimizer and other programs keep every core busy.
``promote_current_thread`` asks the kernel for ``SCHED_FIFO`` at ``priority`` for the thread that
calls it (the callback calls it once, on its first block).  Allowed for root, for members of an
``audio`` group with an rtprio limit (the usual JACK set-up on Linux) and under rtkit-less
containers with CAP_SYS_NICE; refused otherwise, and then the thread stays as it was (the result
says which).  macOS and Windows give their audio threads real-time priority themselves.
"""
from __future__ import annotations

import os


def promote_current_thread(priority: int) -> str:
    """``"SCHED_FIFO N"`` when granted, else why not (never raises; no allocation of buffers)."""
    if priority <= 0:
        return "off"
    if not hasattr(os, "sched_setscheduler"):
        return "not needed on this system (the host gives audio threads real-time priority)"
    try:
        if os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR):
            return "real-time already (the audio server made it so)"
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return f"SCHED_FIFO {priority}"
    except (PermissionError, OSError) as exc:
        return (f"not granted ({exc.strerror or exc}); allow it with an rtprio limit (e.g. the 'audio' "
                f"group) or run with --audio-priority 0")
