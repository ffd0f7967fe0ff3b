"""Start clips from audio files, loaded on their own thread (``immersions-clips``), never on the
control thread and never under the control lock: a client naming a long or slow file delays
nothing else.  At most one file is decoded at a time; a newer request replaces one not yet
started (only the latest start clip matters).  The header is checked before anything is decoded
(``optimize/start.py``); a file that cannot be used is answered with ``/immersions/error`` to the
sender when its loading ends (the ``/immersions/ack`` only says the request was taken)."""
from __future__ import annotations

import threading
from typing import Callable, Optional

import torch

from ..errors import UserError

Ready = Callable[[torch.Tensor], None]
Failed = Callable[[str, object, str], None]  # (why, reply, origin)


class ClipLoader:
    def __init__(self, load: Callable[[str], torch.Tensor], on_ready: Ready, on_error: Failed):
        self.load, self.on_ready, self.on_error = load, on_ready, on_error
        self._pending: Optional[tuple[str, object, str]] = None
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False
        self.loaded = 0
        self.failed = 0
        self.replaced = 0
        self._thread = threading.Thread(target=self._run, name="immersions-clips", daemon=True)
        self._thread.start()

    def request(self, path: str, reply: object = None, origin: str = "?") -> None:
        with self._cond:
            if self._pending is not None:
                self.replaced += 1
            self._pending = (path, reply, origin)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                path, reply, origin = self._pending
                self._pending = None
                self._busy = True
            try:
                clip = self.load(path)
                self.on_ready(clip)
                self.loaded += 1
            except UserError as exc:
                self.failed += 1
                self.on_error(str(exc), reply, origin)
            except Exception as exc:  # a bug must not end the thread
                self.failed += 1
                self.on_error(f"internal error: {type(exc).__name__}", reply, origin)
            finally:
                with self._cond:
                    self._busy = False

    def close(self, timeout: float = 1.0) -> None:
        """Stop (a decode in progress is abandoned: the thread is a daemon)."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()
        self._thread.join(timeout)
