"""Which audio backend plays the loop: JACK, PortAudio or the real-time clock, chosen from the
service config (``--audio``), with one line that says which and why."""
from __future__ import annotations

from typing import Callable, Optional

from .clock import ClockAudio
from .jack import JackAudio, JackUnavailable, jack_server_running, start_dummy_jackd, stop_jackd
from .player import LoopPlayer
from .portaudio import PortAudioAudio, PortAudioUnavailable, parse_latency

Log = Callable[[str], None]


def open_audio(player: LoopPlayer, scfg, log: Log = print, warn: Optional[Log] = None):
    """The audio backend the service config asks for: ``(backend, jackd process or None)``.

    ``auto``: JACK when a server runs, else PortAudio's default device, else none -- and one line
    says which.  ``jack``: JACK or an error (``start_jack``: a dummy-driver jackd when none runs).
    ``portaudio``: the chosen device; a device that cannot be opened is one line and the service
    runs without sound output.  ``none``: the real-time clock only.  ``warn``: where the lines
    about trouble go (default: ``log``).
    """
    warn = warn or log

    without = ("; every new loop is written to " + scfg.loops_dir + "/") if scfg.loops_dir else ""
    block = scfg.block_size or 1024
    jackd = None
    if scfg.audio == "jack" or (scfg.audio == "auto" and (scfg.start_jack or jack_server_running())):
        try:
            if scfg.start_jack and not jack_server_running():
                jackd = start_dummy_jackd(player.sample_rate, period=block)
                log("started jackd (dummy driver)")
            audio = JackAudio(player, scfg.jack_client, log, priority=scfg.audio_priority).start()
            log(f"audio: JACK client '{scfg.jack_client}' (ports {scfg.jack_client}:out, {scfg.jack_client}:in), "
                f"{audio.rates}" + (" (auto: a JACK server runs)" if scfg.audio == "auto" else ""))
            return audio, jackd
        except JackUnavailable as exc:
            if jackd is not None:
                stop_jackd(jackd)
                jackd = None
            if scfg.audio == "jack":
                raise
            warn(f"audio: {exc}; trying PortAudio")
    if scfg.audio in ("auto", "portaudio"):
        try:
            audio = PortAudioAudio(player, scfg.output_device, scfg.input_device, scfg.block_size,
                                   parse_latency(scfg.latency), log, priority=scfg.audio_priority,
                                   warn=warn).start()
            log(f"audio: {audio.description}" + (" (auto: no JACK server; the default PortAudio device)"
                                                  if scfg.audio == "auto" else ""))
            return audio, None
        except PortAudioUnavailable as exc:
            warn(f"audio: {exc}. Continuing without sound output{without or '.'}")
    elif scfg.audio == "none":
        log(f"audio: none (--audio none){without}")
    return ClockAudio(player, block=block, log=log).start(), None
