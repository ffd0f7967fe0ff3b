"""Hostile inputs shared by the robustness tests and ``benchmarks/robustness.py``: audio bombs
(files that are small on disk and huge once decoded), a WebSocket client that stops reading, and
helpers to measure a process.  Test helpers only (not part of the installed package)."""
from __future__ import annotations

import base64
import os
import socket
import struct

import numpy as np


def wav_1hz(path: str, seconds: int = 4000) -> str:
    """A ~4 KB WAV at 1 Hz: resampled to 44.1 kHz it is 44100 times longer."""
    data = (np.sin(np.arange(seconds)) * 1000).astype("<i2").tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 1, 2, 2, 16) + b"data" + struct.pack("<I", len(data))
    with open(path, "wb") as fh:
        fh.write(header + data)
    return path


def flac_silence(path: str, minutes: float = 30.0, sample_rate: int = 44100) -> str:
    """~250 KB of FLAC that decodes to 30 minutes (300 MB as float32)."""
    import soundfile as sf

    with sf.SoundFile(path, "w", sample_rate, 1, format="FLAC", subtype="PCM_16") as f:
        block = np.zeros(1 << 20, np.int16)
        left = int(minutes * 60 * sample_rate)
        while left > 0:
            f.write(block[:min(left, len(block))])
            left -= len(block)
    return path


def wav_many_channels(path: str, channels: int = 64, seconds: float = 1.0) -> str:
    import soundfile as sf

    sf.write(path, np.zeros((int(seconds * 8000), channels), np.float32), 8000, subtype="PCM_16", format="WAV")
    return path


def bombs(folder: str) -> dict[str, str]:
    os.makedirs(folder, exist_ok=True)
    return {"wav-1hz": wav_1hz(os.path.join(folder, "bomb_1hz.wav")),
            "flac-30min": flac_silence(os.path.join(folder, "bomb_30min.flac")),
            "wav-64ch": wav_many_channels(os.path.join(folder, "bomb_64ch.wav")),
            "folder": folder, "missing": os.path.join(folder, "no_such_file.wav"), "dev-zero": "/dev/zero"}


def stalled_websocket(host: str, port: int, path: str = "/ws") -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads (a tiny receive
    buffer, so the server's sends block soon)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise ConnectionError(head.split(b"\r\n")[0].decode("latin-1"))
    return sock


def rss_mb(pid: int | None = None) -> float:
    with open(f"/proc/{pid or os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
