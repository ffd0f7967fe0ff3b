"""Counting host syncs: the torch calls that make the host wait for the device.

On a GPU, reading a tensor's value on the host (``.item()``, ``bool(t)`` in an ``if``,
``float(t)``, ``.tolist()``, ``.cpu()``, ``.numpy()``) or an operation whose output size depends
on the values (``nonzero``, boolean-mask indexing, ``unique``, ``masked_select``) stalls the host
until every queued kernel has run, so a hot loop with one of them per step cannot run ahead of
the device.  On the CPU the same calls cost nothing, which is why they slip in unnoticed: this
module finds them on any device by *name*, so a CPU test can prove a hot loop free of them.

``count_syncs()`` is a context manager (a :class:`torch.overrides.TorchFunctionMode`, which sees
every torch function and tensor method called in its scope, including ``__bool__`` and friends);
its ``calls`` lists what it saw, in order.  Debug and test use only: a function mode adds Python
overhead to every torch call.
"""
from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

# read a value on the host
READS = frozenset({"item", "__bool__", "__float__", "__int__", "__index__", "__complex__", "tolist", "numpy",
                   "is_nonzero", "equal", "allclose"})
# the output's size depends on the values: the host must learn it before it can allocate
DATA_DEPENDENT = frozenset({"nonzero", "argwhere", "masked_select", "unique", "unique_consecutive", "nonzero_static"})


def _is_cpu(device) -> bool:
    return device is not None and torch.device(device).type == "cpu"


def _is_sync(name: str, args: tuple, kwargs: dict) -> bool:
    if name in READS or name in DATA_DEPENDENT:
        return True
    if name == "cpu":
        return True  # a copy to the host waits for the value (a no-op on a CPU tensor, counted all the same)
    if name == "to":
        # a copy from a device to the host: .to("cpu") / .to(torch.device("cpu")) / .to(cpu_tensor).
        # Unlike .cpu(), counted only when it really leaves a device: .to(model_device) is how
        # device-agnostic code moves its input to the model, a no-op on the CPU and no sync elsewhere.
        target = kwargs.get("device")
        for a in args[1:]:
            if isinstance(a, (str, torch.device)):
                target = a
            elif isinstance(a, torch.Tensor):
                target = a.device
        source = args[0] if args and isinstance(args[0], torch.Tensor) else None
        return _is_cpu(target) and source is not None and source.device.type != "cpu"
    if name in ("__getitem__", "__setitem__", "index_put_", "index_put"):
        # a boolean mask as an index selects a value-dependent number of elements
        index = args[1] if len(args) > 1 else None
        items = index if isinstance(index, (tuple, list)) else (index,)
        return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)
    if name == "repeat_interleave":
        # repeats given as a tensor: the output size is their sum, unless output_size says it
        repeats = args[1] if len(args) > 1 else kwargs.get("repeats")
        return isinstance(repeats, torch.Tensor) and kwargs.get("output_size") is None
    return False


class count_syncs(TorchFunctionMode):
    """``with count_syncs() as s: ...`` then ``s.calls`` (names of the syncing calls, in order) and
    ``s.count``."""

    def __init__(self):
        super().__init__()
        self.calls: list[str] = []

    @property
    def count(self) -> int:
        return len(self.calls)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if _is_sync(name, args, kwargs):
            self.calls.append(name)
        return func(*args, **kwargs)
