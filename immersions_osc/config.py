"""One typed configuration for the CLI, the service and the tests.

Every setting lives in a dataclass below, with its default. ``load_config`` reads YAML, rejects
unknown keys and badly typed or out-of-range values with a :class:`ConfigError` whose message
names the offending key (``model.prediction_steps must be >= 1, got 0``); ``save_config`` writes
YAML that loads back to an equal object.  Numbers must be finite (YAML's ``.nan`` and ``.inf``
are refused for every key), and a config path that is a folder, unreadable or not UTF-8 is one
clear error.
"""
from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Optional

import yaml

from .atomic import atomic_write_bytes
from .errors import UserError


MAX_THREADS = 256  # torch_threads beyond this is a typo, and torch aborts on absurd counts

# How a MIDI fader or a slider moves through a range (x = position 0..1): lin; log (equal ratios
# per step, lo > 0); amp (lo + (hi - lo) * x^2, SuperCollider's \amp: fine steps at low gain);
# curve (lo + (hi - lo) * (1 - e^(4x)) / (1 - e^4), SuperCollider's curve 4: fine steps near lo).
CURVES = ("lin", "log", "amp", "curve")


class ConfigError(UserError):
    """A bad configuration value; the message names the key."""


@dataclass(frozen=True)
class Bound:
    """What values a setting takes: ``lo..hi`` (``lo_open``: lo itself is out), or ``choices``; ``off``
    is one value outside ``lo..hi`` that is allowed too (tempo 0 = no tempo).  The OSC control of
    a setting accepts exactly this range; ``curve``, ``fader`` (the span a MIDI fader or slider
    covers, where it is narrower than the range) and ``cc`` (its default MIDI CC) are what the
    bundled clients play it with.  ``note`` follows the range in error messages."""
    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    off: Optional[float] = None
    choices: Optional[tuple[str, ...]] = None
    curve: str = "lin"
    fader: Optional[tuple[float, float]] = None
    cc: Optional[int] = None
    note: str = ""

    def __post_init__(self):
        assert self.curve in CURVES, self.curve
        assert self.curve != "log" or (self.lo or 0) > 0 or (self.fader and self.fader[0] > 0), "log needs lo > 0"

    def accepts(self, value: Any) -> bool:
        if self.choices is not None:
            return value in self.choices
        return in_range(value, self.lo, self.hi, self.off, self.lo_open)

    def describe(self) -> str:
        """The range as error messages say it: ``0..2``, ``> 0``, ``'a', 'b' or 'c'``."""
        if self.choices is not None:
            return ", ".join(repr(c) for c in self.choices[:-1]) + f" or {self.choices[-1]!r}"
        lo, hi = number_text(self.lo), number_text(self.hi)
        if self.lo is not None and self.hi is not None:
            text = f"> {lo} and <= {hi}" if self.lo_open else f"{lo}..{hi}"
        elif self.lo is not None:
            text = f"> {lo}" if self.lo_open else f">= {lo}"
        else:
            text = f"<= {hi}"
        return f"{text} {self.note}" if self.note else text

    def check(self, prefix: str, name: str, value: Any) -> None:
        if not self.accepts(value):
            raise ConfigError(f"{prefix}{name} must be {self.describe()}, got {value!r}"
                              if self.choices is not None else
                              f"{prefix}{name} must be {self.describe()}, got {value}")


def bound(lo: Optional[float] = None, hi: Optional[float] = None, **kwargs: Any) -> dict:
    """Field metadata declaring a setting's range: ``field(default=..., metadata=bound(0, 10))``."""
    return {"bound": Bound(lo, hi, **kwargs)}


POSITIVE = bound(0, lo_open=True)
NON_NEGATIVE = bound(0)
FRACTION = bound(0, 1)


def one_of(*choices: str) -> dict:
    return bound(choices=tuple(choices))


def in_range(value: Any, lo: Optional[float], hi: Optional[float], off: Optional[float] = None,
             lo_open: bool = False) -> bool:
    """``lo..hi`` (either end None: open; ``lo_open``: lo itself is out), or exactly ``off``."""
    if off is not None and value == off:
        return True
    if lo is not None and (value <= lo if lo_open else value < lo):
        return False
    return hi is None or value <= hi


def number_text(v: Optional[float]) -> str:
    """A bound as docs and messages write it: 5, 0.5, 1e-05 ("" for None)."""
    return "" if v is None else str(int(v)) if float(v).is_integer() else f"{v:g}"


def bounds_of(section: Any) -> dict[str, Bound]:
    """{field name: Bound} of a config dataclass (or instance), for the fields that declare one."""
    return {f.name: f.metadata["bound"] for f in dataclasses.fields(section) if "bound" in f.metadata}


def setting_bound(setting: str) -> Optional[Bound]:
    """The Bound of ``section.name`` (``"optimize.learning_rate"``), None when it declares none."""
    section, name = setting.split(".")
    return bounds_of(_SECTIONS[section]).get(name)


def setting_type(setting: str) -> type:
    section, name = setting.split(".")
    return typing.get_type_hints(_SECTIONS[section])[name]


def check_bounds(section: Any, prefix: str) -> None:
    """Every declared range of ``section``, in field order (validate's first step)."""
    for name, b in bounds_of(section).items():
        b.check(prefix, name, getattr(section, name))


@dataclass
class ScaleogramConfig:
    sample_rate: int = field(default=44100, metadata=POSITIVE)
    hop_length: int = field(default=1024, metadata=POSITIVE)
    n_bins: int = field(default=216, metadata=POSITIVE)
    fmin: float = field(default=40.0, metadata=POSITIVE)
    bins_per_octave: int = field(default=24, metadata=POSITIVE)
    # Kernel length multiplier: 1.0 gives the classic constant Q = 1 / (2^(1/bpo) - 1).
    filter_scale: float = field(default=1.0, metadata=POSITIVE)
    # Adds the phase (radians) as a second input channel, as in the seed.
    phase: bool = False
    # Floor added to the power before the log, so silence maps to a finite value.
    power_floor: float = field(default=1e-8, metadata=POSITIVE)
    # Taps of the causal half-band anti-aliasing filter used between octaves.
    decimation_taps: int = 25

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)
        if self.decimation_taps < 3 or self.decimation_taps % 2 == 0:
            raise ConfigError(f"{prefix}decimation_taps must be an odd number >= 3, "
                              f"got {self.decimation_taps}")
        fmax = self.fmin * 2.0 ** ((self.n_bins - 1) / self.bins_per_octave)
        if fmax >= self.sample_rate / 2:
            raise ConfigError(
                f"{prefix}n_bins: the top bin ({fmax:.0f} Hz) must lie below Nyquist "
                f"({self.sample_rate / 2:.0f} Hz); lower n_bins or fmin")


@dataclass
class ModelConfig:
    # 'seed' = the channel counts of the seed's tables; 'small' = same topology, fewer channels.
    preset: str = "small"
    # Override the preset's channel counts (8 encoder blocks, 9 autoregressive blocks).
    encoder_channels: Optional[list[int]] = None
    ar_channels: Optional[list[int]] = None
    prediction_steps: int = field(default=16, metadata=POSITIVE)
    prediction_skip: int = field(default=4, metadata=NON_NEGATIVE)

    def validate(self, prefix: str) -> None:
        from .model.presets import PRESETS, AR_TABLE, ENCODER_TABLE

        check_bounds(self, prefix)
        if self.preset not in PRESETS:
            raise ConfigError(f"{prefix}preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
        for name, table in (("encoder_channels", ENCODER_TABLE), ("ar_channels", AR_TABLE)):
            value = getattr(self, name)
            if value is None:
                continue
            if len(value) != len(table) or any(c < 1 for c in value):
                raise ConfigError(f"{prefix}{name} must be {len(table)} positive integers, got {value}")


@dataclass
class LossConfig:
    # 'cpc': negatives from the mini-batch; 'sat': also across the predicted time steps.
    kind: str = field(default="cpc", metadata=one_of("cpc", "sat"))

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)


@dataclass
class DataConfig:
    # 'synthetic' (generated on the fly, no download) or 'folder' (audio files under `folder`)
    source: str = field(default="synthetic", metadata=one_of("synthetic", "folder"))
    folder: Optional[str] = None
    # crops drawn per epoch from a folder (the synthetic stream is endless)
    items_per_epoch: int = field(default=4096, metadata=POSITIVE)
    # DataLoader worker processes (0 = load in the training process)
    num_workers: int = field(default=1, metadata=NON_NEGATIVE)

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)
        if self.source == "folder" and not self.folder:
            raise ConfigError(f"{prefix}folder must name an audio folder when {prefix}source is 'folder'")


@dataclass
class TrainConfig:
    steps: int = field(default=2000, metadata=POSITIVE)
    # the other clips of the batch are each clip's negatives
    batch_size: int = field(default=16, metadata=bound(2, note="(the other clips are the negatives)"))
    learning_rate: float = field(default=1e-3, metadata=POSITIVE)
    weight_decay: float = field(default=0.0, metadata=NON_NEGATIVE)
    # linear learning-rate warm-up, then cosine decay to 5 % at the last step
    warmup_steps: int = field(default=100, metadata=NON_NEGATIVE)
    # clip the gradient norm (0 = off)
    grad_clip: float = field(default=5.0, metadata=NON_NEGATIVE)
    checkpoint_every: int = field(default=200, metadata=POSITIVE)
    log_every: int = field(default=10, metadata=POSITIVE)
    seed: int = 0
    # 'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1', ...
    device: str = "auto"
    # bfloat16 autocast for the encoder and autoregressive model on CUDA (ignored on CPU)
    mixed_precision: bool = True

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)


@dataclass
class ProbeConfig:
    # seconds of audio per probe example (the seed: 4 s clips)
    clip_seconds: float = field(default=4.0, metadata=POSITIVE)
    crops_per_file: int = field(default=4, metadata=POSITIVE)
    # fraction of *files* held out for evaluation (crops of one file never straddle the split)
    test_fraction: float = 0.3
    # L2 penalty of the linear classifier: chosen from l2_grid by file-grouped cross-validation
    # on the training split (cv_folds folds); with an empty grid, l2 is used as given
    l2: float = 1e-3
    l2_grid: list[float] = field(default_factory=lambda: [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    cv_folds: int = field(default=4, metadata=bound(2))
    # the supervised-from-scratch baseline
    supervised_epochs: int = field(default=30, metadata=POSITIVE)
    supervised_learning_rate: float = field(default=1e-3, metadata=POSITIVE)
    seed: int = 0

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"{prefix}test_fraction must be between 0 and 1, got {self.test_fraction}")
        if self.l2 < 0 or any(v < 0 for v in self.l2_grid):
            raise ConfigError(f"{prefix}l2 and l2_grid must be >= 0, got {self.l2}, {self.l2_grid}")


@dataclass
class LayoutConfig:
    """The neural layout: a multilevel Barnes-Hut force simulation (see immersions_osc/layout)."""
    # Barnes-Hut opening angle: two cells of sizes s, s' at distance d interact as single charges
    # when (s + s') / d < theta (at 1.0 the forces are within about 0.5 % of exact)
    theta: float = field(default=1.0, metadata=POSITIVE)
    # repulsion q_i q_j (p_i - p_j) / |p_i - p_j|^(k+1): magnitude falls off as 1/d^k
    exponent: float = field(default=2.0, metadata=POSITIVE)
    # attraction per edge w (p_j - p_i), w = attraction / mean vertex degree (one uniform weight)
    attraction: float = field(default=1.0, metadata=POSITIVE)
    # centering -l p_i: l at the coarsest level, multiplied by centering_growth at each finer one
    centering: float = field(default=0.0005, metadata=NON_NEGATIVE)
    centering_growth: float = field(default=1.5, metadata=POSITIVE)
    # each level starts at the scale where the forces' virial vanishes (no breathing oscillation)
    rescale: bool = True
    # Verlet integration: velocity kept per step = 1 - damping; step length dt
    damping: float = field(default=0.25, metadata=FRACTION)
    step: float = field(default=0.5, metadata=POSITIVE)
    # each vertex's (mass-scaled) force is clipped to this length
    force_limit: float = field(default=2.0, metadata=POSITIVE)
    # Verlet steps at the coarsest level and at every finer level
    iterations_coarse: int = field(default=30, metadata=POSITIVE)
    iterations_fine: int = field(default=20, metadata=POSITIVE)
    # coarsen until at most this many vertices
    coarsest_size: int = field(default=300, metadata=POSITIVE)
    # start of the coarsest level: 'mds' (classical scaling of its hop distances) or 'random'
    # (uniform in a disc: needs far more steps, e.g. iterations_coarse 300, to unfold the layers)
    init: str = field(default="mds", metadata=one_of("mds", "random"))
    # expanded children start this fraction of the mean edge length away from their parent
    perturbation: float = field(default=0.1, metadata=NON_NEGATIVE)
    # snapshot frames: iterations per frame and weight of the frame's own charges (vs the variance)
    snapshot_iterations: int = field(default=10, metadata=NON_NEGATIVE)
    snapshot_mix: float = field(default=0.5, metadata=FRACTION)
    # 'barnes-hut' or 'exact' (O(N^2), chunked: tests and small graphs)
    method: str = field(default="barnes-hut", metadata=one_of("barnes-hut", "exact"))
    # deepest quadtree level of Barnes-Hut
    max_depth: int = field(default=16, metadata=bound(1, 30))
    # Barnes-Hut tree and interaction lists are rebuilt every this many steps (reused in between)
    rebuild_every: int = field(default=5, metadata=POSITIVE)
    seed: int = 0

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)


# what the optimizer moves (immersions_osc/optimize/parameterize.py)
PARAMETERIZATIONS = ("auto", "waveform", "spectral", "spectral_envelope", "fourier", "partials", "harmonic", "events")


@dataclass
class OptimizeConfig:
    """Sonification: gradient ascent on a batch of loops (see immersions_osc/optimize)."""
    # what is optimized: waveform (raw samples), spectral (circular-STFT coefficients with a 1/f
    # prior), spectral_envelope (the same with a learnable band envelope), fourier (the whole loop's
    # Fourier coefficients: stationary partials), partials (the same, each stepped in proportion to
    # its magnitude: a few partials), harmonic (a differentiable harmonic-plus-noise
    # synthesizer), events (voices of noise and partials struck on the loop's bar grid) or auto
    # (events from a steady start such as noise or silence, spectral from one with a rhythm)
    parameterization: str = field(default="auto", metadata=one_of(*PARAMETERIZATIONS))
    # what is maximized: log_ratio (the target against the rest of its layer), activation, or
    # log_probability (the log of a softmax or sigmoid layer's mean probability of the target;
    # log_ratio on other layers)
    objective: str = field(default="log_ratio", metadata=one_of("log_ratio", "activation", "log_probability"))
    # sgd: Nesterov momentum on the gradient at unit RMS (keeps its spectral shape); adam
    optimizer: str = field(default="sgd", metadata=one_of("sgd", "adam"))
    # sgd: bring each candidate's gradient to unit RMS before the step (off: raw gradient steps;
    # adam normalizes per sample anyway, so this has no effect there)
    normalize_gradient: bool = field(default=True, metadata=bound(cc=71))
    # step size, relative to the loop's level (the parameters are kept at unit RMS); a fader
    # covers the musically useful 1e-4..0.1
    learning_rate: float = field(default=0.002, metadata=bound(1e-5, 1.0, curve="log", fader=(1e-4, 0.1), cc=83))
    steps: int = field(default=200, metadata=POSITIVE)
    # learning-rate schedule of finite runs (render, benchmark): cosine (down to 10 %) or constant;
    # the live generator always runs at the constant rate
    schedule: str = field(default="cosine", metadata=one_of("cosine", "constant"))
    # loops optimized at once; the best is kept (diversity: push them apart, 0 = off)
    candidates: int = field(default=1, metadata=bound(1, 64))
    diversity: float = field(default=0.0, metadata=bound(0, 10))
    # penalties (0 = off), each of order 1 and level-free, weights 1 to 10 matter: activation
    # energy of the rest of the target layers (relative to the start), spectral spread (1 = flat
    # noise) and spectral centroid (0..1 of the bin axis)
    energy_penalty: float = field(default=0.0, metadata=bound(0, 10, curve="curve", cc=84))
    sparsity_penalty: float = field(default=0.0, metadata=bound(0, 10, curve="curve", cc=85))
    high_frequency_penalty: float = field(default=0.0, metadata=bound(0, 10, curve="curve", cc=86))
    # push the target to be its layer's most active channel (log of its activation over a soft
    # maximum of every other channel's, up to a 2x lead; 0 = off): louder is not enough
    top_channel: float = field(default=8.0, metadata=bound(0, 10, curve="curve", cc=89))
    # in a batch of loops made for different targets (the gallery, the benchmark): push each
    # target to answer its own loop at least 2x more than any other loop of the batch (0 = off;
    # a batch whose loops share their targets, as live, is not affected)
    contrast: float = field(default=4.0, metadata=bound(0, 10))
    # regularizers (0 = off): circular time shift (fraction of the loop), pitch shift
    # (semitones), level jitter (dB below the playback level), scaleogram masking (fraction of
    # time and of frequency, filled with silence), gradient noise (times the gradient's std),
    # circular spectral de-noising every 4th step (times each frame's noise floor)
    time_shift: float = field(default=1.0, metadata=bound(0, 1, cc=2))
    pitch_shift: float = field(default=0.25, metadata=bound(0, 12, cc=1))
    level_jitter: float = field(default=6.0, metadata=bound(0, 40))
    mask: float = field(default=0.05, metadata=bound(0, 1, cc=3))
    gradient_noise: float = field(default=0.05, metadata=bound(0, 10, curve="curve", cc=4))
    # (a fader's top: 5 is already a heavy de-noise)
    denoise: float = field(default=0.02, metadata=bound(0, 10, curve="curve", fader=(0, 5), cc=88))
    # share of the start clip mixed into the loop (0 = none)
    mix_original: float = field(default=0.0, metadata=bound(0, 1, cc=87))
    # playback level of the loop: RMS (0.1 = -20 dBFS), soft-limited at the peak (1.0 = 0 dBFS);
    # the model hears the loop at this level
    rms: float = field(default=0.1, metadata=bound(0.001, 0.5, curve="log", note="(-60..-6 dBFS; the limiter does the rest)"))
    peak: float = field(default=0.9, metadata=bound(0.01, 1, curve="log", note="(-40..0 dBFS)"))
    seed: int = 0

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)


# the named start clips (anything else is an audio file's path), the default first: the viewer and
# the clients' buttons list them in this order
START_KINDS = ("noise", "silence", "previous")


@dataclass
class ServiceConfig:
    """The live service (``immersions-osc serve``); see docs/osc.md for the OSC side."""
    checkpoint: str = "checkpoints/small.pt"
    # your own network instead of the checkpoint (docs/api.md): package.module:factory,
    # path/to/file.py:factory or a torch.export .pt2 file ("" = use the checkpoint)
    model: str = ""
    # layout file whose neuron order the activation stream follows ("" = <checkpoint>_layout.npz;
    # with a model: beside its file, made on the first start when missing)
    layout: str = ""
    # gallery folder from `immersions-osc gallery`: every channel's examples and its percentiles
    # ("" = <checkpoint>_gallery when it is there, else none)
    gallery: str = ""
    device: str = "auto"
    # OSC control port (UDP) and the interface it listens on
    host: str = "127.0.0.1"
    port: int = field(default=57130, metadata=bound(0, 65535, note="(a UDP/TCP port)"))
    # audio output: "auto" (JACK when a server runs, else PortAudio's default device, else "none"),
    # "jack", "portaudio" (any sound device: CoreAudio, WASAPI/ASIO, ALSA, PipeWire, JACK) or "none"
    audio: str = field(default="auto", metadata=one_of("auto", "jack", "portaudio", "none"))
    jack_client: str = "immersions"
    # PortAudio devices: an index or a part of the name from `immersions-osc devices` ("" = the
    # system default; input "none" = output only)
    output_device: str = ""
    input_device: str = ""
    # frames per audio callback (0 = the device's / JACK's own; also the clock's block without audio)
    block_size: int = field(default=0, metadata=bound(0, 16384, note="frames (0 = the device's)"))
    # PortAudio's suggested latency: "low", "high" or seconds
    latency: str = "high"
    # SCHED_FIFO priority the audio callback thread asks for on Linux (0 = leave it as it is)
    audio_priority: int = field(default=70, metadata=bound(0, 99, note="(0 = off)"))
    # run the player and the audio backend in a process of their own (its callback then never
    # waits for the interpreter lock the optimizer and the streams hold); false: in this process
    audio_process: bool = True
    # start a dummy-driver jackd when none is running (audio "jack" or "auto")
    start_jack: bool = False
    # with audio "none" every new loop is written here as WAV, and the last loop when the service
    # stops ("user" = the per-user data folder, user_loops_dir(); "" = do not write)
    loops_dir: str = "user"
    # how many of those loop files are kept (the oldest are deleted)
    keep_loops: int = field(default=20, metadata=POSITIVE)
    # the loop: length, crossfade at the loop boundary, output volume (linear gain)
    loop_seconds: float = field(default=4.0, metadata=bound(0.5, 60, curve="log"))
    # tempo in bpm (0 = none: the loop lasts loop_seconds); with a tempo the loop is `bars` whole
    # bars of `beats_per_bar` beats, its boundary on the bar line
    tempo: float = field(default=0.0, metadata=bound(20, 400, off=0, note="bpm (0 = no tempo)"))
    bars: int = field(default=2, metadata=bound(1, 64))
    beats_per_bar: int = field(default=4, metadata=bound(1, 32))
    # follow (and lead) the tempo and bar phase of an Ableton Link session (needs LinkPython-extern)
    link: bool = False
    # how much earlier (ms) the loop is played than the bar lines it is aligned to (MIDI clock,
    # /immersions/player/sync, Link) to make up for the path to where it is heard (a DAW's input
    # latency, a cable); negative: later
    latency_offset_ms: float = field(default=0.0, metadata=bound(-500, 500, note="ms"))
    # MIDI clock in through python-rtmidi (the `midi` extra), for set-ups without JACK: a MIDI
    # input's index or a part of its name, or "virtual" (a port of the service's own); "" = none
    # (the JACK backend has its own port, immersions:midi_in)
    midi_in: str = ""
    # the MIDI system midi_in uses: "auto" (python-rtmidi's first), "alsa", "jack", "coremidi", "winmm"
    midi_api: str = field(default="auto", metadata=one_of("auto", "alsa", "jack", "coremidi", "winmm"))
    crossfade_ms: float = field(default=10.0, metadata=bound(0, 500))
    # (a fader stops at 1.5: louder is for a deliberate OSC message, not a bumped fader)
    volume: float = field(default=0.8, metadata=bound(0, 2, curve="amp", fader=(0, 1.5), cc=81))
    # start clip of the optimization: silence, noise or an audio file path
    start: str = "noise"
    # first target: a layer (the layout's middle layer when "")
    target_layer: str = ""
    # optimizer steps toward the current targets between two published loops (counted again from a
    # target change, so the first loop published for a target has this many steps toward it)
    publish_every: int = field(default=50, metadata=bound(1, 10000, curve="log"))
    # activation stream: frames per second, payload format, largest UDP datagram (bytes),
    # what is analysed ("loop" at its playhead or the live "input"), and the window of audio the
    # model runs on for each frame (0 = the model's whole receptive field: exact activations;
    # shorter is cheaper but the deep layers then see less context).  The CPC ear's live input
    # streams instead (model/streaming.py: continuous listening, one new column per hop), and the
    # window is then only the input heard before the stream (re)starts that it starts from.
    frame_rate: float = field(default=30.0, metadata=bound(1, 240, curve="log"))
    format: str = field(default="uint8", metadata=one_of("uint8", "float16"))
    max_datagram: int = field(default=8192, metadata=bound(256, 65507, curve="log", note="bytes"))
    source: str = field(default="loop", metadata=one_of("loop", "input"))
    window_seconds: float = field(default=0.0, metadata=bound(0, 60))
    # summary stream: number of most active neurons sent
    summary_top: int = field(default=8, metadata=bound(0, 256))
    status_rate: float = field(default=1.0, metadata=POSITIVE)
    # torch threads of the service process (the optimizer and the activation engine share them;
    # 0 = the thread policy, threads.intra_op / --threads)
    torch_threads: int = field(default=0, metadata=bound(0, MAX_THREADS, note="(0 = the thread policy)"))
    # at most one log line per this many seconds for rejected OSC messages
    error_log_interval: float = field(default=1.0, metadata=NON_NEGATIVE)
    # the browser viewer (HTTP + WebSocket on this port; 0 = off)
    web_port: int = field(default=0, metadata=bound(0, 65535, note="(a UDP/TCP port)"))
    # a subscription ends this many seconds after its last /immersions/stream/subscribe: clients
    # renew it by re-sending the subscribe (every third of this is safe)
    subscription_seconds: float = field(default=60.0, metadata=bound(5, 86400))
    # listening on an interface other than loopback (host) needs allow_remote and a shared token
    # ("" = a random one, printed at start): remote OSC senders send /immersions/auth <token>
    # first, remote pages open http://HOST:PORT/?token=<token>
    allow_remote: bool = False
    token: str = ""
    # messages of OSC bundles time-tagged ahead wait until their time: at most this far ahead (s),
    # and at most this many at once (beyond: refused with /immersions/error)
    schedule_seconds: float = field(default=3600.0, metadata=bound(1, 86400))
    schedule_pending: int = field(default=1024, metadata=bound(1, 65536))

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)
        if self.latency not in ("low", "high"):
            try:
                seconds = float(self.latency)
            except ValueError:
                seconds = -1.0
            if not 0 < seconds <= 2:
                raise ConfigError(f"{prefix}latency must be 'low', 'high' or seconds 0..2, got {self.latency!r}")
        try:
            check_tempo(self.tempo, self.bars, self.beats_per_bar)
        except ValueError as exc:
            raise ConfigError(f"{prefix}tempo/bars/beats_per_bar: {exc}") from None
        if not is_loopback(self.host) and not self.allow_remote:
            raise ConfigError(f"{prefix}host {self.host!r} is reachable from other machines: pass --allow-remote "
                              f"(and share the token it prints, or set one with --token) to listen beyond "
                              f"this machine")
        if self.token and (len(self.token) < 16 or not self.token.isascii() or not self.token.isprintable()
                           or " " in self.token):
            raise ConfigError(f"{prefix}token must be at least 16 printable ASCII characters without spaces")


@dataclass
class ThreadsConfig:
    """Torch threads of every command (see immersions_osc/threads.py; --threads overrides)."""
    # intra-op threads (0 = the thread policy: half the cores, 1..4; 1 on a 2-core machine)
    intra_op: int = field(default=0, metadata=bound(0, MAX_THREADS, note="(0 = the thread policy)"))

    def validate(self, prefix: str) -> None:
        check_bounds(self, prefix)


@dataclass
class Config:
    scaleogram: ScaleogramConfig = field(default_factory=ScaleogramConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    optimize: OptimizeConfig = field(default_factory=OptimizeConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    threads: ThreadsConfig = field(default_factory=ThreadsConfig)

    def validate(self, prefix: str = "") -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name).validate(f"{prefix}{f.name}.")


_SECTIONS = typing.get_type_hints(Config)  # "optimize" -> OptimizeConfig


USER_LOOPS = "user"


def user_loops_dir() -> str:
    """The per-user folder the loops go to by default (platformdirs: ~/.local/share/immersions-osc/loops
    on Linux, ~/Library/Application Support/immersions-osc/loops on macOS, %LOCALAPPDATA% on Windows)."""
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("immersions-osc", appauthor=False), "loops")


def loops_folder(value: str) -> str:
    """``service.loops_dir`` as a folder ("" = none)."""
    return user_loops_dir() if value == USER_LOOPS else value


def bar_seconds(bpm: float, beats_per_bar: int) -> float:
    return 60.0 * beats_per_bar / bpm


def check_tempo(bpm: float, bars: int, beats_per_bar: int) -> None:
    """A tempo of 0 means "no tempo, seconds"; otherwise the loop, ``bars`` whole bars, must last
    as long as ``service.loop_seconds`` may (a UserError says why not)."""
    if bpm == 0:
        return
    section = bounds_of(ServiceConfig)
    tempo, loop = section["tempo"], section["loop_seconds"]
    if not tempo.accepts(bpm):
        raise UserError(f"tempo must be {tempo.describe()}, got {bpm:g}")
    if not section["bars"].accepts(bars):
        raise UserError(f"bars must be {section['bars'].describe()}, got {bars}")
    if not section["beats_per_bar"].accepts(beats_per_bar):
        raise UserError(f"beats per bar must be {section['beats_per_bar'].describe()}, got {beats_per_bar}")
    seconds = bars * bar_seconds(bpm, beats_per_bar)
    if not loop.accepts(seconds):
        most = max(1, int(loop.hi // bar_seconds(bpm, beats_per_bar)))
        raise UserError(f"{bars} bars of {beats_per_bar} beats at {bpm:g} bpm last {seconds:.2f} s; a loop lasts "
                        f"{loop.describe()} s (at this tempo at most {most} bars)")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an interface to listen on) is this machine only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- generic dict <-> dataclass conversion with clear errors -------------------------------------

def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], key)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, prefix=f"{key}.")
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list of {_type_name(item_tp)}, got {value!r}")
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        if abs(value) >= 1 << 62:  # beyond what torch, numpy and C take
            raise ConfigError(f"{key} is out of range, got an integer of {len(str(value))} digits")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond float range
            raise ConfigError(f"{key} must be a finite number, got an integer of {len(str(value))} digits") from None
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp!r} for {key}")  # a programming error


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping; unknown keys and bad types raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        where = prefix.rstrip(".") or "config"
        raise ConfigError(f"{where} must be a mapping of keys to values, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise ConfigError(f"unknown key '{prefix}{key}' (valid keys: {', '.join(names)})")
    kwargs = {k: _coerce(v, hints[k], f"{prefix}{k}") for k, v in data.items()}
    return cls(**kwargs)


def to_dict(obj: Any) -> dict:
    return dataclasses.asdict(obj)


def parse_config(data: Any, cls: type = Config) -> Any:
    config = from_dict(cls, data)
    config.validate()
    return config


def load_config(path: Optional[str | os.PathLike], cls: type = Config) -> Any:
    """Load and validate a YAML config; ``None`` gives the defaults."""
    if path is None:
        return parse_config({}, cls)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_CONFIG_BYTES + 1)
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is larger than {MAX_CONFIG_BYTES >> 10} KB")
        data = yaml.load(text, Loader=_ConfigLoader)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config {path} is a folder, not a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}".splitlines()[0][:300]) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of 5 000 digits
        raise ConfigError(f"config file {path} holds a value that cannot be read: {str(exc)[:200]}") from None
    return parse_config(data, cls)


MAX_CONFIG_BYTES = 1 << 20  # a config is a few KB of text


class _ConfigLoader(yaml.SafeLoader):
    """The safe loader without aliases (``*name``): a 460-byte file of nested aliases ("billion
    laughs") expands to gigabytes when the values are walked; a config never needs one."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "config files may not use YAML aliases (*name)",
                                              event.start_mark)
        return super().compose_node(parent, index)


def save_config(config: Any, path: str | os.PathLike) -> None:
    """Write ``config`` as YAML atomically (temp file + rename)."""
    text = yaml.safe_dump(to_dict(config), sort_keys=False)
    atomic_write_bytes(path, text.encode("utf-8"))
