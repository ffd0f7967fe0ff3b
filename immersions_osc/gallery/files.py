"""Where a gallery's files lie and how its audio is written (shared by :mod:`.store` and :mod:`.loops`)."""
from __future__ import annotations

import os

import numpy as np

LOOPS_DIR = "loops"


def loop_path(folder: str, layer: str, channel: int) -> str:
    """A rendered loop: FOLDER/loops/<layer>/<channel>.wav."""
    return os.path.join(folder, LOOPS_DIR, layer, f"{channel}.wav")


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM WAV of mono float audio (what the browser plays)."""
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1, 1), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()
