"""Every OSC address of the service, as data: the control table (messages the service accepts) and
the message table (what it sends).  ``docs/osc.md`` is generated from these tables
(``immersions-osc osc-table``) and a test checks that the file, the tables and the service's
dispatcher agree exactly.

Argument patterns: ``i`` int, ``f`` float, ``s`` string; ``i*`` = one or more ints; ``[f]`` =
optional (its default is used when left out).  Numbers are accepted as int or float (Pd and Max
send floats; ``h`` and ``d`` too): an ``i`` argument must be integral.  Out-of-range values are
rejected, not clamped.  OSC 1.1 types: ``T``/``F`` for an on/off control (an ``i`` of range 0..1),
``S`` (symbol) for a string, ``N`` (nil) for an optional argument (its default), ``I`` (impulse)
for a control without arguments, an array for a list (``i*``).  Anything else (a MIDI message,
a colour, a time tag, a char, a blob) is refused with an error naming the argument and its type.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..config import START_KINDS, Config, in_range, number_text, setting_bound, setting_type
from .incoming import OscArg, typed

PREFIX = "/immersions"


@dataclass(frozen=True)
class Arg:
    name: str
    type: str  # "i", "f" or "s"
    lo: Optional[float] = None
    hi: Optional[float] = None
    choices: Optional[tuple[str, ...]] = None
    optional: bool = False
    default: Any = None
    repeat: bool = False  # one or more (last argument only)
    off: Optional[float] = None  # one value outside lo..hi that is accepted too (tempo 0 = none)
    # how the clients' faders and sliders play it (see config.CURVES); fader: the span a fader
    # covers where it is narrower than lo..hi
    curve: str = "lin"
    fader: Optional[tuple[float, float]] = None

    @property
    def pattern(self) -> str:
        p = self.type + ("*" if self.repeat else "")
        return f"[{p}]" if self.optional else p

    def describe_range(self) -> str:
        if self.choices:
            return " \\| ".join(self.choices)
        if self.lo is None and self.hi is None:
            return ""
        return (f"{number_text(self.lo)}..{number_text(self.hi)}"
                + ("" if self.off is None else f" or {number_text(self.off)}"))

    def accepts(self, value: float) -> bool:
        return in_range(value, self.lo, self.hi, self.off)


@dataclass(frozen=True)
class Control:
    address: str
    args: tuple[Arg, ...]
    doc: str
    setting: str = ""  # the config field it sets ("optimize.learning_rate"): its default and bounds
    cc: Optional[int] = None  # the clients' default MIDI CC
    label: str = ""  # what the clients call it ("" = its name)

    @property
    def pattern(self) -> str:
        return " ".join(a.pattern for a in self.args) or "-"

    @property
    def name(self) -> str:
        """The clients' name for it: /immersions/optimize/learning_rate -> learning_rate,
        /immersions/status/request -> status."""
        parts = self.address.split("/")
        return parts[-2] if parts[-1] == "request" else parts[-1]

    @property
    def handler(self) -> str:
        """Name of the Service method that applies it: /immersions/player/volume -> on_player_volume."""
        return "on_" + self.address[len(PREFIX) + 1:].replace("/", "_")


class ArgumentError(ValueError):
    """Arguments that do not fit a control's pattern (reported with /immersions/error)."""


def _f(name, lo=None, hi=None, optional=False, default=None):
    return Arg(name, "f", lo, hi, optional=optional, default=default)


def _i(name, lo=None, hi=None, optional=False, default=None, repeat=False):
    return Arg(name, "i", lo, hi, optional=optional, default=default, repeat=repeat)


def _s(name, choices=None, optional=False, default=None):
    return Arg(name, "s", choices=choices, optional=optional, default=default)


def _setting(address: str, arg: str, doc: str, setting: str, label: str = "") -> Control:
    """The control that sets config field ``setting``: its argument's type, range, curve and CC are
    that field's (config.py declares them once, for the config, this table and the clients)."""
    b, tp = setting_bound(setting), setting_type(setting)
    if tp is str:
        spec = Arg(arg, "s", choices=b.choices if b else None)
    elif tp is bool:
        spec = Arg(arg, "i", 0, 1)
    else:
        assert b is not None and not b.lo_open, f"{setting}: an OSC range is inclusive"
        spec = Arg(arg, "i" if tp is int else "f", b.lo, b.hi, off=b.off, curve=b.curve, fader=b.fader)
    return Control(address, (spec,), doc, setting, cc=b.cc if b else None, label=label)


P = PREFIX
WEIGHT = _f("weight", -10, 10, optional=True, default=1.0)

# (field of OptimizeConfig, what it does): /immersions/optimize/<field> sets it
OPTIMIZE_FIELDS = (
    ("learning_rate", "step size, relative to the loop's level"),
    ("normalize_gradient", "bring each loop's gradient to unit RMS before an sgd step (1) or not (0)"),
    ("candidates", "loops optimized at once, the best is played"),
    ("diversity", "push the candidates apart (0 = off)"),
    ("energy_penalty", "penalty on the rest of the target layers' activation energy (relative to the start)"),
    ("sparsity_penalty", "penalty on spectral spread (1 = flat noise)"),
    ("high_frequency_penalty", "penalty on the spectral centroid (0..1 of the bins)"),
    ("top_channel", "push the target to lead every other channel of its layer (up to 2x; 0 = off)"),
    ("time_shift", "random circular time shift, fraction of the loop"),
    ("pitch_shift", "random pitch shift, semitones"),
    ("level_jitter", "random level jitter, dB below the playback level"),
    ("mask", "random scaleogram masking (filled with silence), fraction of time and frequency"),
    ("gradient_noise", "gradient noise, times the gradient's std"),
    ("denoise", "circular spectral de-noising, times each frame's noise floor"),
    ("mix_original", "share of the start clip mixed into the loop"),
    ("rms", "playback level of the loop, RMS (0.1 = -20 dBFS)"),
    ("peak", "soft-limiter ceiling of the loop (1 = 0 dBFS)"),
)

CONTROLS: tuple[Control, ...] = (
    # targets
    Control(f"{P}/target/layer", (_s("layer"), WEIGHT), "excite a whole layer (replaces the targets)"),
    Control(f"{P}/target/channel", (_s("layer"), _i("channel", 0), WEIGHT),
            "excite one channel of a layer (replaces the targets)"),
    Control(f"{P}/target/channels", (_s("layer"), _i("channels", 0, repeat=True)),
            "excite these channels of a layer (replaces the targets)"),
    Control(f"{P}/target/neurons", (_i("neurons", 0, repeat=True),),
            "excite these neurons, indices into the activation vector / layout (replaces the targets)"),
    Control(f"{P}/target/add_neurons", (_i("neurons", 0, repeat=True),),
            "add these neurons to the targets"),
    Control(f"{P}/target/weight", (Arg("weight", "f", -10, 10, fader=(-5, 5)),),
            "weight of every current target (< 0 suppresses)", cc=82, label="target weight"),
    Control(f"{P}/target/random", (), "excite a random channel of a random layer", cc=67, label="random target"),
    # optimization
    *(_setting(f"{P}/optimize/{name}", name, doc, f"optimize.{name}") for name, doc in OPTIMIZE_FIELDS),
    Control(f"{P}/optimize/start", (_s("start"),),
            "new start clip: silence, noise, previous (the current loop) or a path to an audio file on the "
            "service's machine (at most 600 s, 8-192 kHz, 8 channels, 256 MB; loaded in the background: "
            "an error follows the ack if it cannot be used)", "service.start"),
    Control(f"{P}/optimize/run", (_i("on", 0, 1),), "run (1) or pause (0) the optimization", cc=65,
            label="run optimizer"),
    _setting(f"{P}/optimize/publish_every", "steps", "optimizer steps toward the current target between two new loops (counted again from a target change)", "service.publish_every"),
    # player
    _setting(f"{P}/player/volume", "gain", "output gain (linear)", "service.volume", label="service volume"),
    Control(f"{P}/player/play", (_i("on", 0, 1),), "play (1) or stop (0) the loop", cc=66, label="play loop"),
    _setting(f"{P}/player/loop_seconds", "seconds",
             "loop length: the optimization restarts from the current loop fitted to the new length "
             "(with a tempo: the nearest whole number of bars)", "service.loop_seconds"),
    _setting(f"{P}/player/tempo", "bpm",
             "tempo: loops of whole bars at this tempo, the loop boundary on the bar (0 = no tempo, "
             "loop_seconds; with Ableton Link on, the session's tempo too)", "service.tempo"),
    _setting(f"{P}/player/bars", "bars", "loop length in bars (needs a tempo)", "service.bars"),
    _setting(f"{P}/player/crossfade_ms", "ms", "crossfade at the loop boundary", "service.crossfade_ms"),
    Control(f"{P}/player/sync", (),
            "a bar line of the DAW is now -- or at the time tag of the bundle that carries it: the playhead "
            "moves (by less than half a bar) so that a bar line of the loop, and so its boundary, is heard "
            "there; with the latency offset", label="sync bar"),
    _setting(f"{P}/player/latency_offset", "ms",
             "play this much earlier than the bar lines it is aligned to (MIDI clock, sync, Link) to make up "
             "for the path to where it is heard; negative: later", "service.latency_offset_ms",
             label="latency offset"),
    # streams
    Control(f"{P}/stream/subscribe",
            (_s("host"), _i("port", 1, 65535), _s("kind", ("all", "summary"), optional=True, default="all")),
            "send the streams to host:port (summary: everything but the activation blobs) for "
            "subscription_seconds; send it again to renew (see Subscriptions below)"),
    Control(f"{P}/stream/unsubscribe", (_s("host"), _i("port", 1, 65535)),
            "stop sending to host:port (from that host, or from the host that subscribed it)"),
    _setting(f"{P}/stream/frame_rate", "fps", "activation frames per second", "service.frame_rate"),
    _setting(f"{P}/stream/format", "format", "activation payload format", "service.format"),
    _setting(f"{P}/stream/source", "source", "what is analysed: the loop at its playhead, or the live input port",
             "service.source"),
    _setting(f"{P}/stream/max_datagram", "bytes", "largest datagram sent", "service.max_datagram"),
    _setting(f"{P}/stream/summary_top", "k", "how many most-active neurons the summary names", "service.summary_top"),
    # requests
    Control(f"{P}/layout/request", (_i("chunks", 0, optional=True, repeat=True),),
            "send the layer table and the layout positions (to the sender and its host's subscriptions, "
            "within the sender's reply budget), paced for a default receive buffer; with chunk numbers: only "
            "those position chunks again (the positions keep their frame number while the service runs, so "
            "they complete a frame that lost some)"),
    Control(f"{P}/status/request", (), "send the status now (to the sender and its host's subscriptions)", cc=72,
            label="status now"),
    # the gallery (`immersions-osc gallery`, loaded with serve --gallery)
    Control(f"{P}/gallery/examples", (_s("layer"), _i("channel", 0)),
            "send the channel's examples from the gallery: one /immersions/gallery/example each, best first "
            "(to the sender and its host's subscriptions)"),
    Control(f"{P}/gallery/audition", (_s("layer"), _i("channel", 0), _i("example", -1, 63)),
            "play example 0.. of the channel as the loop from the next loop boundary (the optimizer pauses and "
            "goes on from it after /immersions/optimize/run 1); -1: its loop (the gallery's rendered one, else the "
            "channel becomes the target and its loop is optimized live); the file is read in the background: an "
            "error follows the ack if it cannot be read"),
    Control(f"{P}/gallery/percentiles/request", (_s("layer"),),
            "send /immersions/gallery/percentiles: where each channel's activation now lies in its distribution "
            "on the gallery's music"),
    # access
    Control(f"{P}/auth", (_s("token"),), "a sender on another machine (service started with --allow-remote) "
                                         "identifies itself with the shared token before anything else"),
)

CONTROL_BY_ADDRESS = {c.address: c for c in CONTROLS}


@dataclass(frozen=True)
class Preset:
    """A button that sends a control with a fixed argument (a named start clip)."""
    name: str
    address: str
    value: str
    cc: int
    label: str


# the named start clips' buttons (CC, label); the clients show them in START_KINDS' order
_START_BUTTONS = {"noise": (68, "start: noise"), "silence": (69, "start: silence"), "previous": (70, "start: this loop")}
PRESETS = tuple(Preset(kind, f"{P}/optimize/start", kind, *_START_BUTTONS[kind]) for kind in START_KINDS)


@dataclass(frozen=True)
class Message:
    address: str
    pattern: str
    doc: str


MESSAGES: tuple[Message, ...] = (
    Message(f"{P}/status", "f f i s i i f i f",
            "1 Hz: frames/s sent, optimizer steps/s, xruns, current target, loops published, playing (0/1), "
            "volume, subscribers, seconds up"),
    Message(f"{P}/audio", "s i i i f",
            "with the status: audio backend (jack, portaudio, none; \"jack (dead)\" or \"jack (stalled)\" when "
            "the audio process died or froze: the service then runs silent), the model's sample rate, the device's "
            "(Hz; loops and input are resampled between them), xruns, output latency (ms)"),
    Message(f"{P}/loop/new", "i i f s", "a new loop is playing: version, optimizer step, seconds, target"),
    Message(f"{P}/activations", "i i i i i s f f b",
            "activation frame chunk: frame, chunk, count, offset, total, format, scale, bias, payload "
            "(value = bias + scale * stored); total = the layout's neuron count"),
    Message(f"{P}/layout/positions", "i i i i i s f f b",
            "layout chunk, same format (float32), values x0 y0 x1 y1 ..."),
    Message(f"{P}/layout/layer", "i s i i i",
            "one per layer, before the positions: index, name, offset in the vector, channels, frequencies"),
    Message(f"{P}/summary/energy", "f*", "per frame: mean activation of each layer, in layer order"),
    Message(f"{P}/summary/top_neurons", "i*", "per frame: indices of the most active neurons "
            "(no arguments when summary_top is 0)"),
    Message(f"{P}/summary/top_values", "f*", "per frame: their activations (likewise)"),
    Message(f"{P}/gallery/example", "s i i s f f f",
            "one example of a channel: layer, channel, rank (0 = best), file (on the service's machine; "
            "archive!member inside an archive), start and length in seconds, activation"),
    Message(f"{P}/gallery/percentiles", "s f*", "layer, then per channel the percentile (0..100) of its "
            "activation now among its activations on the gallery's music"),
    Message(f"{P}/ack", "s", "a control message was applied (its address)"),
    Message(f"{P}/error", "s s", "a message was rejected: its address (or '?'), why"),
)


# --- argument checking -------------------------------------------------------------------------------

def parse_args(control: Control, args: Sequence[Any]) -> list[Any]:
    """Check and convert OSC arguments (:class:`~.incoming.OscArg`, or plain Python values) against
    the control's pattern; ArgumentError, naming the argument and what was sent, when wrong."""
    args = [typed(a) for a in args]
    if not control.args and all(a.tag == "I" for a in args):
        return []  # an impulse ("bang") triggers a control without arguments
    specs = control.args
    out: list[Any] = []
    pos = 0
    for spec in specs:
        if spec.repeat:
            rest = args[pos:]
            if len(rest) == 1 and rest[0].tag == "[":  # one array: its elements
                rest = rest[0].value
            if not rest:
                if spec.optional:
                    out.append(spec.default)
                    continue
                raise ArgumentError(f"{spec.name}: expected one or more values")
            out.append([_convert(spec, v, pos + 1 + k) for k, v in enumerate(rest)])
            pos = len(args)
            continue
        if pos >= len(args) or (spec.optional and args[pos].tag == "N"):  # nil: the default
            if spec.optional:
                out.append(spec.default)
                pos += pos < len(args)
                continue
            raise ArgumentError(f"expected arguments {control.pattern}, got {_sent(args)}")
        out.append(_convert(spec, args[pos], pos + 1))
        pos += 1
    if pos < len(args):
        raise ArgumentError(f"expected arguments {control.pattern}, got {_sent(args)}")
    return out


def _sent(args: list[OscArg]) -> str:
    return f"{len(args)} ({''.join(a.tag + (']' if a.tag == '[' else '') for a in args) or 'none'})"


def _is_switch(spec: Arg) -> bool:
    return spec.type == "i" and spec.lo == 0 and spec.hi == 1


def _convert(spec: Arg, arg: OscArg, position: int) -> Any:
    what = f"{spec.name} (argument {position})"
    tag, value = arg.tag, arg.value
    if spec.type == "s":
        if tag not in "sS":
            raise ArgumentError(f"{what}: expected a string, got {arg.kind}")
        if spec.choices and value not in spec.choices:
            raise ArgumentError(f"{what}: must be one of {', '.join(spec.choices)}, got {value!r}")
        return value
    if tag in "TF" and _is_switch(spec):
        return int(tag == "T")
    if tag not in "ihfd" or isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (T/F only for on/off controls)" if tag in "TF" else ""
        raise ArgumentError(f"{what}: expected {'an integer' if spec.type == 'i' else 'a number'}, "
                            f"got {arg.kind}{hint}")
    if not math.isfinite(value):
        raise ArgumentError(f"{what}: must be finite")
    if spec.type == "i":
        if float(value) != int(value):
            raise ArgumentError(f"{what}: expected an integer, got {value}")
        value = int(value)
    else:
        value = float(value)
    if not spec.accepts(value):
        raise ArgumentError(f"{what}: {value:g} is out of range {spec.describe_range()}")
    return value


# --- docs/osc.md -------------------------------------------------------------------------------------

DOC_HEADER = """# OSC addresses of the Immersions service

Generated from `immersions_osc/osc/controls.py` by `immersions-osc osc-table`; a test checks
that this table, that module and the service's dispatcher agree exactly.  Do not edit by hand.
The ranges, curves and MIDI CCs come from the settings' declarations in `immersions_osc/config.py`;
the same table as JSON, which the bundled clients are generated from: `immersions-osc osc-table --json`
(shipped as `immersions_osc/osc/controls.json`).

The service listens on UDP port 57130 (`service.port`).  Send `/immersions/stream/subscribe`
with your host and port to receive the streams.  Patterns: `i` int, `f` float, `s` string,
`i*` one or more, `[f]` optional.  Ints and floats are interchangeable for numbers (so are `h`
and `d`; an `i` must be integral).  OSC 1.1 types are understood: `T`/`F` for an on/off control
(an `i` of range 0..1), `S` for a string, `N` for an optional argument (its default), `I` (impulse)
for a control without arguments, an array for a list (`i*`); any other type (`m` MIDI, `r`, `t`,
`c`, `b`) is refused with an error naming the argument.  Address patterns work
(`/immersions/*/volume`, `/immersions/player/{play,volume}`): the message is applied to every
control the pattern matches, all or nothing -- its arguments are checked against every match
first, and one that does not fit refuses the whole message with one `/immersions/error` (a pattern
may hold at most 4 `*` and 4 `{...}`).  Bundles: their messages are applied in order, at the
bundle's time tag (the service's wall clock; NTP time as OSC says): a tag ahead waits (at most
`service.schedule_seconds`, 1 hour, ahead and `service.schedule_pending`, 1024, waiting), a tag in
the past or "immediately" (1) is applied at once, as OSC 1.1 says.  Every accepted
control is acknowledged with `/immersions/ack` (its address); a rejected one (unknown address,
wrong types, out of range, a malformed packet) gets `/immersions/error`, sent to the sender's
address and to the subscribers, and the service keeps running.
"""


ACCESS_DOC = """## Subscriptions, limits and remote access

- **Renewal.** A subscription lasts `service.subscription_seconds` (default 60 s) after its last
  `/immersions/stream/subscribe`: a client re-sends the same subscribe every 20 s or so (the
  bundled clients do) and a client that went away stops being streamed to.  A subscription also
  ends when sends to it keep failing.  Subscribing an address that is subscribed already only
  renews it (its kind may change).
- **Who.** A UDP sender may subscribe addresses of its own host only (any port), and only the
  subscribed host itself, or the host that subscribed it, may unsubscribe it.
- **Limits.** At most 64 subscribers and 16 browser viewers, counted together in one step (no
  race between clients arriving at once); a subscribe beyond that is refused with
  `/immersions/error`, a page gets close code 1013 (a silent subscriber frees its slot when its
  subscription expires).  Answers to a sender (acks, errors, status, layout) are limited
  per sender host (about 256 KB/s, 1 MB at once) and in total; acks and errors are copied to the
  subscribers at most 20 times per second.  Sends never wait: a subscriber whose socket buffer is
  full loses those datagrams, a viewer page that stops reading is disconnected.
- **Remote access.** The service listens on 127.0.0.1 unless `--host` names another interface,
  which needs `--allow-remote` and a shared token (`--token`, or a random one printed at start).
  A sender on another machine sends `/immersions/auth <token>` first (again after
  `subscription_seconds` of silence); until then its datagrams are dropped unanswered, before
  they are decoded (only a plain `/immersions/auth` of at most 512 bytes is read), and a wrong
  token is dropped unanswered too.  A browser
  on another machine opens `http://HOST:PORT/?token=<token>` once (the page keeps a same-site
  cookie).  Senders on this machine need no token.  Whatever the bind address (`0.0.0.0`
  included), the viewer answers only requests whose `Host` names this machine (localhost, an IP
  address, its host name) or that carry the token: a web page whose domain re-resolves to this
  machine (DNS rebinding) gets 403.
- **Sizes.** An address longer than 256 characters is refused before its arguments are read (its
  error and log line carry the first 120 characters); a packet holds at most 4 096 messages.
"""


def setting_default(control: Control) -> str:
    """The default of the setting a control changes (from the config dataclasses)."""
    if control.setting:
        value = _default(control)
        return f"{value:g}" if isinstance(value, float) else str(value)
    return "; ".join(f"{a.name} {a.default:g}" if isinstance(a.default, float) else f"{a.name} {a.default}"
                     for a in control.args if a.optional) or "-"


def markdown() -> str:
    lines = [DOC_HEADER, "## Controls (to the service)", "",
             "| address | arguments | range | default | what it does |", "|---|---|---|---|---|"]
    for c in CONTROLS:
        names = ", ".join(a.name for a in c.args)
        ranges = "; ".join(f"{a.name} {a.describe_range()}" for a in c.args if a.describe_range()) or "-"
        lines.append(f"| `{c.address}` | `{c.pattern}`{f' ({names})' if names else ''} | {ranges} | "
                     f"{setting_default(c)} | {c.doc} |")
    lines += ["", "## Messages (from the service)", "", "| address | arguments | what it carries |",
              "|---|---|---|"]
    for m in MESSAGES:
        lines.append(f"| `{m.address}` | `{m.pattern}` | {m.doc} |")
    lines += ["", "Defaults of the settings themselves (frame rate, format, volume, ...) are those of the "
              "`service` and `optimize` sections of the config (`immersions-osc config`).", "", ACCESS_DOC]
    return "\n".join(lines)


# --- controls.json: what the bundled clients are generated from ----------------------------------------

CONTROLS_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "controls.json")


def _bank(cc: int) -> tuple:
    """A Behringer BCF2000 in its factory preset 1: faders CC 81-88, then encoders CC 1-8, then buttons
    CC 65-80 -- the order the clients lay their MIDI-mapped controls out in."""
    return cc < 81, cc >= 65, cc


def _default(control: Control) -> Any:
    if not control.setting:
        return None
    section, name = control.setting.split(".")
    value = getattr(getattr(Config(), section), name)
    return int(value) if isinstance(value, bool) else value


def control_table() -> dict:
    """Every control of at most one argument (what a fader, toggle or button plays) and the start
    clip buttons: name, label, address, doc, type ("" = no argument), range (lo, hi, off) or choices,
    curve and fader span, default MIDI CC, default; ``midi`` names the CC-mapped ones in controller
    order.  ``immersions-osc osc-table --json`` prints it; immersions_osc/osc/controls.json is it."""
    entries = []
    for c in CONTROLS:
        if len(c.args) > 1 or any(a.repeat for a in c.args):
            continue
        a = c.args[0] if c.args else Arg("", "")
        numeric = a.type in ("i", "f")
        ranged = numeric and a.lo is not None and a.hi is not None
        entries.append({"name": c.name, "label": c.label or c.name.replace("_", " "), "address": c.address,
                        "doc": c.doc, "type": a.type, "lo": a.lo if numeric else None, "hi": a.hi if numeric else None,
                        "off": a.off, "choices": list(a.choices) if a.choices else None,
                        "curve": a.curve if ranged else None,
                        "fader": list(a.fader or (a.lo, a.hi)) if ranged else None,
                        "cc": c.cc, "default": _default(c), "value": None, "setting": c.setting or None})
    for p in PRESETS:
        entries.append({"name": p.name, "label": p.label, "address": p.address,
                        "doc": f"new start clip: {p.label.split(': ')[1]}", "type": "s", "lo": None,
                        "hi": None, "off": None, "choices": None, "curve": None, "fader": None, "cc": p.cc,
                        "default": None, "value": p.value, "setting": None})
    names = [e["name"] for e in entries]
    assert len(set(names)) == len(names), "two controls of one name"
    midi = sorted((e for e in entries if e["cc"] is not None), key=lambda e: _bank(e["cc"]))
    assert len({e["cc"] for e in midi}) == len(midi), "two controls on one CC"
    return {"about": "Generated by `immersions-osc osc-table --json` from immersions_osc/osc/controls.py and the "
                     "bounds in immersions_osc/config.py; the Pure Data, Max and SuperCollider clients are "
                     "generated from it. Do not edit by hand.",
            "controls": entries, "midi": [e["name"] for e in midi]}


def controls_json() -> str:
    return json.dumps(control_table(), indent=1) + "\n"
