"""MIDI clock in through python-rtmidi: for set-ups without JACK (PortAudio on macOS, Windows, ALSA).

``--midi-in PORT`` opens a MIDI input (an index or a part of a name from ``immersions-osc devices``,
or ``virtual``: a port of the service's own that the DAW connects to -- on ALSA and CoreMIDI, and on
JACK) with ``--midi-api`` (``auto``: rtmidi's default; ``alsa``, ``jack``, ``coremidi``, ``winmm``).
The JACK backend's own port ``immersions:midi_in`` needs none of this.

No callback is registered: rtmidi's callback would run Python on the MIDI API's thread (on its JACK
API: the JACK process thread, where waiting for the interpreter lock stalls the whole graph).  The
bar-sync thread polls :meth:`MidiClockInput.drain` about 50 times a second instead (at uneven
intervals); rtmidi queues the messages with the API's timestamps (deltas), which
:class:`StampClock` puts on the ``time.monotonic()`` clock: the running sum of the deltas plus the
least gap seen between a message's stamp and the poll that read it (a poll comes after the
message, never before; uneven polls find the least gap sooner).
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable, Optional

from ..errors import UserError
from .midiclock import CLOCK_MESSAGES

Log = Callable[[str], None]
INSTALL = "pip install 'immersions-osc[midi]'"
APIS = ("auto", "alsa", "jack", "coremidi", "winmm")


class MidiUnavailable(UserError):
    """No python-rtmidi, no such MIDI port, or the MIDI API refused."""


def import_rtmidi():
    try:
        import rtmidi  # python-rtmidi
    except (ImportError, OSError) as exc:
        raise MidiUnavailable(f"MIDI clock input (--midi-in) needs python-rtmidi ({exc}): {INSTALL}") from None
    return rtmidi


def _api_id(rtmidi, api: str) -> int:
    ids = {"auto": rtmidi.API_UNSPECIFIED, "alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK,
           "coremidi": rtmidi.API_MACOSX_CORE, "winmm": rtmidi.API_WINDOWS_MM}
    if api not in ids:
        raise MidiUnavailable(f"unknown MIDI API {api!r}; one of {', '.join(APIS)}")
    want = ids[api]
    if want != rtmidi.API_UNSPECIFIED and want not in rtmidi.get_compiled_api():
        have = ", ".join(rtmidi.get_api_name(a) for a in rtmidi.get_compiled_api())
        raise MidiUnavailable(f"this python-rtmidi has no {api} MIDI API (it has: {have})")
    return want


def open_midi_in(rtmidi, api: str, name: str):
    """A ``rtmidi.MidiIn`` on ``api``; a MIDI system that cannot be opened is one line."""
    from .portaudio import quiet_stderr  # (ALSA's C library prints its own line on failure)

    try:
        with quiet_stderr():
            return rtmidi.MidiIn(_api_id(rtmidi, api), name=name)
    except MidiUnavailable:
        raise
    except Exception as exc:  # rtmidi raises SystemError / RtMidiError with the API's own text
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MidiUnavailable(f"cannot open the {api} MIDI system ({first})") from None


def list_inputs(api: str = "auto") -> list[str]:
    """The MIDI input ports rtmidi sees (for ``immersions-osc devices``)."""
    rtmidi = import_rtmidi()
    midi = open_midi_in(rtmidi, api, "immersions-list")
    try:
        return list(midi.get_ports())
    finally:
        midi.delete()


def find_port(ports: list[str], spec: str) -> int:
    spec = spec.strip()
    if spec.lstrip("-").isdigit():
        i = int(spec)
        if 0 <= i < len(ports):
            return i
        raise MidiUnavailable(f"no MIDI input {i} (there are {len(ports)}); see `immersions-osc devices`")
    matches = [i for i, p in enumerate(ports) if spec.lower() in p.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise MidiUnavailable(f"no MIDI input matches {spec!r} (inputs: {', '.join(ports) or 'none'}); "
                              f"`--midi-in virtual` makes a port of the service's own")
    raise MidiUnavailable(f"{len(matches)} MIDI inputs match {spec!r}: {', '.join(ports[i] for i in matches)}")


def jack_period() -> float:
    """Seconds of one JACK cycle of the running server (0 when none answers)."""
    try:
        from .jack import _import_jack

        jack = _import_jack()
        probe = jack.Client("immersions-period", no_start_server=True)
        try:
            return probe.blocksize / probe.samplerate
        finally:
            probe.close()
    except Exception:
        return 0.0


class StampClock:
    """The MIDI API's timestamps on the ``time.monotonic()`` clock.

    ``add(delta)``: a message's delta (seconds since the previous message, rtmidi's) -> its time on
    the API's clock (the running sum).  ``seen(now, stamp)``: a poll at ``now`` read a message
    stamped ``stamp``; the offset between the clocks is the least ``now - stamp`` over the last
    ``window`` polls (a poll is never before the message; the earliest one tells the offset,
    later ones only add the poll's own delay)."""

    def __init__(self, window: int = 250):
        self.api_time = 0.0
        self._gaps: deque[float] = deque(maxlen=window)

    def add(self, delta: float) -> float:
        self.api_time += max(0.0, float(delta))
        return self.api_time

    def seen(self, now: float, stamp: float) -> None:
        self._gaps.append(now - stamp)

    @property
    def offset(self) -> Optional[float]:
        return min(self._gaps) if self._gaps else None


class MidiClockInput:
    """One MIDI input through python-rtmidi; ``drain()`` gives its clock messages since the last
    call as (seconds on the MIDI API's clock, (status, data1, data2)); ``offset`` takes those
    seconds to time.monotonic()."""

    def __init__(self, port: str, api: str = "auto", client: str = "immersions", log: Log = print):
        rtmidi = import_rtmidi()
        self.log = log
        self.midi = open_midi_in(rtmidi, api, client)
        # clock, start/stop/continue and song position come through; sysex is dropped by rtmidi
        self.midi.ignore_types(sysex=True, timing=False, active_sense=False)
        try:
            if port.strip() == "virtual":
                self.midi.open_virtual_port("midi_in")
                self.name = f"{client}:midi_in (virtual, {self.midi.get_current_api_name()})" \
                    if hasattr(self.midi, "get_current_api_name") else f"{client}:midi_in (virtual)"
            else:
                ports = list(self.midi.get_ports())
                i = find_port(ports, port)
                self.midi.open_port(i)
                self.name = ports[i]
        except MidiUnavailable:
            self.midi.delete()
            raise
        except Exception as exc:
            self.midi.delete()
            raise MidiUnavailable(f"cannot open MIDI input {port!r} ({str(exc).strip().splitlines()[0]})") from None
        self.stamps = StampClock()
        self.received = 0
        # rtmidi's JACK API stamps every event of a JACK cycle with the cycle's time: on average
        # half a period early (events fall anywhere in the cycle); that half period is added back
        self.stamp_shift = 0.5 * jack_period() if api == "jack" else 0.0

    def drain(self) -> list:
        """The clock messages since the last call: (time on the MIDI API's clock, (status, data1,
        data2)); ``offset`` takes those times to time.monotonic().  The times stay on the API's
        clock so that a better offset (the least poll gap keeps improving) moves every tick a
        clock model already holds, not only the new ones."""
        now = time.monotonic()
        got = []
        stamp = None
        while True:
            message = self.midi.get_message()
            if message is None:
                break
            data, delta = message
            stamp = self.stamps.add(delta)
            self.received += 1
            if data and data[0] in CLOCK_MESSAGES:
                got.append((stamp + self.stamp_shift, (int(data[0]), int(data[1]) if len(data) > 1 else 0,
                                                       int(data[2]) if len(data) > 2 else 0)))
        if stamp is not None:
            self.stamps.seen(now, stamp)
        return got

    @property
    def offset(self) -> float:
        """Seconds from the MIDI API's clock to time.monotonic() (0 before a message came)."""
        offset = self.stamps.offset
        return 0.0 if offset is None else offset

    def close(self) -> None:
        try:
            self.midi.close_port()
            self.midi.delete()
        except Exception:
            pass
