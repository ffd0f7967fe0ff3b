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


class ConfigError(UserError):
    """A bad configuration value; the message names the key."""


@dataclass
class ScaleogramConfig:
    sample_rate: int = 44100
    hop_length: int = 1024
    n_bins: int = 216
    fmin: float = 40.0
    bins_per_octave: int = 24
    # Kernel length multiplier: 1.0 gives the classic constant Q = 1 / (2^(1/bpo) - 1).
    filter_scale: float = 1.0
    # Adds the phase (radians) as a second input channel, as in the seed.
    phase: bool = False
    # Floor added to the power before the log, so silence maps to a finite value.
    power_floor: float = 1e-8
    # Taps of the causal half-band anti-aliasing filter used between octaves.
    decimation_taps: int = 25

    def validate(self, prefix: str) -> None:
        _positive(self, prefix, "sample_rate", "hop_length", "n_bins", "fmin", "bins_per_octave",
                  "filter_scale", "power_floor")
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
    prediction_steps: int = 16
    prediction_skip: int = 4

    def validate(self, prefix: str) -> None:
        from .model.presets import PRESETS, AR_TABLE, ENCODER_TABLE

        if self.preset not in PRESETS:
            raise ConfigError(f"{prefix}preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
        for name, table in (("encoder_channels", ENCODER_TABLE), ("ar_channels", AR_TABLE)):
            value = getattr(self, name)
            if value is None:
                continue
            if len(value) != len(table) or any(c < 1 for c in value):
                raise ConfigError(f"{prefix}{name} must be {len(table)} positive integers, got {value}")
        _positive(self, prefix, "prediction_steps")
        _non_negative(self, prefix, "prediction_skip")


@dataclass
class LossConfig:
    # 'cpc': negatives from the mini-batch; 'sat': also across the predicted time steps.
    kind: str = "cpc"

    def validate(self, prefix: str) -> None:
        _one_of(self, prefix, "kind", ("cpc", "sat"))


@dataclass
class DataConfig:
    # 'synthetic' (generated on the fly, no download) or 'folder' (audio files under `folder`)
    source: str = "synthetic"
    folder: Optional[str] = None
    # crops drawn per epoch from a folder (the synthetic stream is endless)
    items_per_epoch: int = 4096
    # DataLoader worker processes (0 = load in the training process)
    num_workers: int = 1

    def validate(self, prefix: str) -> None:
        _one_of(self, prefix, "source", ("synthetic", "folder"))
        if self.source == "folder" and not self.folder:
            raise ConfigError(f"{prefix}folder must name an audio folder when {prefix}source is 'folder'")
        _positive(self, prefix, "items_per_epoch")
        _non_negative(self, prefix, "num_workers")


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    # linear learning-rate warm-up, then cosine decay to 5 % at the last step
    warmup_steps: int = 100
    # clip the gradient norm (0 = off)
    grad_clip: float = 5.0
    checkpoint_every: int = 200
    log_every: int = 10
    seed: int = 0
    # 'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1', ...
    device: str = "auto"
    # bfloat16 autocast for the encoder and autoregressive model on CUDA (ignored on CPU)
    mixed_precision: bool = True

    def validate(self, prefix: str) -> None:
        _positive(self, prefix, "steps", "batch_size", "learning_rate", "checkpoint_every", "log_every")
        if self.batch_size < 2:
            raise ConfigError(f"{prefix}batch_size must be >= 2 (the other clips are the negatives), "
                              f"got {self.batch_size}")
        _non_negative(self, prefix, "weight_decay", "warmup_steps", "grad_clip")


@dataclass
class ProbeConfig:
    # seconds of audio per probe example (the seed: 4 s clips)
    clip_seconds: float = 4.0
    crops_per_file: int = 4
    # fraction of *files* held out for evaluation (crops of one file never straddle the split)
    test_fraction: float = 0.3
    # L2 penalty of the linear classifier: chosen from l2_grid by file-grouped cross-validation
    # on the training split (cv_folds folds); with an empty grid, l2 is used as given
    l2: float = 1e-3
    l2_grid: list[float] = field(default_factory=lambda: [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    cv_folds: int = 4
    # the supervised-from-scratch baseline
    supervised_epochs: int = 30
    supervised_learning_rate: float = 1e-3
    seed: int = 0

    def validate(self, prefix: str) -> None:
        _positive(self, prefix, "clip_seconds", "crops_per_file", "supervised_epochs",
                  "supervised_learning_rate")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"{prefix}test_fraction must be between 0 and 1, got {self.test_fraction}")
        if self.l2 < 0 or any(v < 0 for v in self.l2_grid):
            raise ConfigError(f"{prefix}l2 and l2_grid must be >= 0, got {self.l2}, {self.l2_grid}")
        if self.cv_folds < 2:
            raise ConfigError(f"{prefix}cv_folds must be >= 2, got {self.cv_folds}")


@dataclass
class LayoutConfig:
    """The neural layout: a multilevel Barnes-Hut force simulation (see immersions_osc/layout)."""
    # Barnes-Hut opening angle: two cells of sizes s, s' at distance d interact as single charges
    # when (s + s') / d < theta (at 1.0 the forces are within about 0.5 % of exact)
    theta: float = 1.0
    # repulsion q_i q_j (p_i - p_j) / |p_i - p_j|^(k+1): magnitude falls off as 1/d^k
    exponent: float = 2.0
    # attraction per edge w (p_j - p_i), w = attraction / mean vertex degree (one uniform weight)
    attraction: float = 1.0
    # centering -l p_i: l at the coarsest level, multiplied by centering_growth at each finer one
    centering: float = 0.0005
    centering_growth: float = 1.5
    # each level starts at the scale where the forces' virial vanishes (no breathing oscillation)
    rescale: bool = True
    # Verlet integration: velocity kept per step = 1 - damping; step length dt
    damping: float = 0.25
    step: float = 0.5
    # each vertex's (mass-scaled) force is clipped to this length
    force_limit: float = 2.0
    # Verlet steps at the coarsest level and at every finer level
    iterations_coarse: int = 30
    iterations_fine: int = 20
    # coarsen until at most this many vertices
    coarsest_size: int = 300
    # start of the coarsest level: 'mds' (classical scaling of its hop distances) or 'random'
    # (uniform in a disc: needs far more steps, e.g. iterations_coarse 300, to unfold the layers)
    init: str = "mds"
    # expanded children start this fraction of the mean edge length away from their parent
    perturbation: float = 0.1
    # snapshot frames: iterations per frame and weight of the frame's own charges (vs the variance)
    snapshot_iterations: int = 10
    snapshot_mix: float = 0.5
    # 'barnes-hut' or 'exact' (O(N^2), chunked: tests and small graphs)
    method: str = "barnes-hut"
    # deepest quadtree level of Barnes-Hut
    max_depth: int = 16
    # Barnes-Hut tree and interaction lists are rebuilt every this many steps (reused in between)
    rebuild_every: int = 5
    seed: int = 0

    def validate(self, prefix: str) -> None:
        _positive(self, prefix, "theta", "exponent", "attraction", "centering_growth", "step",
                  "force_limit", "iterations_coarse", "iterations_fine", "coarsest_size", "max_depth",
                  "rebuild_every")
        _non_negative(self, prefix, "centering", "perturbation", "snapshot_iterations")
        _fraction(self, prefix, "damping", "snapshot_mix")
        _one_of(self, prefix, "init", ("mds", "random"))
        _one_of(self, prefix, "method", ("barnes-hut", "exact"))
        if self.max_depth > 30:
            raise ConfigError(f"{prefix}max_depth must be <= 30, got {self.max_depth}")


# what the optimizer moves (immersions_osc/optimize/parameterize.py)
PARAMETERIZATIONS = ("waveform", "spectral", "spectral_envelope", "harmonic")


@dataclass
class OptimizeConfig:
    """Sonification: gradient ascent on a batch of loops (see immersions_osc/optimize)."""
    # what is optimized: waveform (raw samples), spectral (circular-STFT coefficients with a 1/f
    # prior), spectral_envelope (the same with a learnable band envelope) or harmonic (a
    # differentiable harmonic-plus-noise synthesizer)
    parameterization: str = "spectral"
    # what is maximized: log_ratio (the target against the rest of its layer) or activation
    objective: str = "log_ratio"
    # sgd: Nesterov momentum on the gradient at unit RMS (keeps its spectral shape); adam
    optimizer: str = "sgd"
    # sgd: bring each candidate's gradient to unit RMS before the step (off: raw gradient steps;
    # adam normalizes per sample anyway, so this has no effect there)
    normalize_gradient: bool = True
    # step size, relative to the loop's level (the parameters are kept at unit RMS)
    learning_rate: float = 0.002
    steps: int = 200
    # learning-rate schedule of finite runs (render, benchmark): cosine (down to 10 %) or constant;
    # the live generator always runs at the constant rate
    schedule: str = "cosine"
    # loops optimized at once; the best is kept (diversity: push them apart, 0 = off)
    candidates: int = 1
    diversity: float = 0.0
    # penalties (0 = off), each of order 1 and level-free, weights 1 to 10 matter: activation
    # energy of the rest of the target layers (relative to the start), spectral spread (1 = flat
    # noise) and spectral centroid (0..1 of the bin axis)
    energy_penalty: float = 0.0
    sparsity_penalty: float = 0.0
    high_frequency_penalty: float = 0.0
    # regularizers (0 = off): circular time shift (fraction of the loop), pitch shift
    # (semitones), level jitter (dB below the playback level), scaleogram masking (fraction of
    # time and of frequency, filled with silence), gradient noise (times the gradient's std),
    # circular spectral de-noising every 4th step (times each frame's noise floor)
    time_shift: float = 1.0
    pitch_shift: float = 0.25
    level_jitter: float = 6.0
    mask: float = 0.05
    gradient_noise: float = 0.05
    denoise: float = 0.02
    # share of the start clip mixed into the loop (0 = none)
    mix_original: float = 0.0
    # playback level of the loop: RMS (0.1 = -20 dBFS), soft-limited at the peak (1.0 = 0 dBFS);
    # the model hears the loop at this level
    rms: float = 0.1
    peak: float = 0.9
    seed: int = 0

    def validate(self, prefix: str) -> None:
        _positive(self, prefix, "learning_rate", "steps", "peak", "rms", "candidates")
        _non_negative(self, prefix, "energy_penalty", "sparsity_penalty", "high_frequency_penalty",
                      "time_shift", "pitch_shift", "level_jitter", "mask", "gradient_noise", "denoise",
                      "diversity")
        _fraction(self, prefix, "time_shift", "mask", "mix_original")
        if self.peak > 1:
            raise ConfigError(f"{prefix}peak must be <= 1 (0 dBFS), got {self.peak}")
        if self.rms > 0.5:
            raise ConfigError(f"{prefix}rms must be <= 0.5 (-6 dBFS; the limiter does the rest), got {self.rms}")
        choices = {"parameterization": PARAMETERIZATIONS,
                   "objective": ("log_ratio", "activation"), "schedule": ("cosine", "constant"),
                   "optimizer": ("sgd", "adam")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{prefix}{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.candidates > 64:
            raise ConfigError(f"{prefix}candidates must be <= 64, got {self.candidates}")


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
    device: str = "auto"
    # OSC control port (UDP) and the interface it listens on
    host: str = "127.0.0.1"
    port: int = 57130
    # audio output: "auto" (JACK when a server runs, else PortAudio's default device, else "none"),
    # "jack", "portaudio" (any sound device: CoreAudio, WASAPI/ASIO, ALSA, PipeWire, JACK) or "none"
    audio: str = "auto"
    jack_client: str = "immersions"
    # PortAudio devices: an index or a part of the name from `immersions-osc devices` ("" = the
    # system default; input "none" = output only)
    output_device: str = ""
    input_device: str = ""
    # frames per audio callback (0 = the device's / JACK's own; also the clock's block without audio)
    block_size: int = 0
    # PortAudio's suggested latency: "low", "high" or seconds
    latency: str = "high"
    # SCHED_FIFO priority the audio callback thread asks for on Linux (0 = leave it as it is)
    audio_priority: int = 70
    # run the player and the audio backend in a process of their own (its callback then never
    # waits for the interpreter lock the optimizer and the streams hold); false: in this process
    audio_process: bool = True
    # start a dummy-driver jackd when none is running (audio "jack" or "auto")
    start_jack: bool = False
    # with audio "none" every new loop is written here as WAV ("" = do not write)
    loops_dir: str = "loops"
    # how many of those loop files are kept (the oldest are deleted)
    keep_loops: int = 20
    # the loop: length, crossfade at the loop boundary, output volume (linear gain)
    loop_seconds: float = 4.0
    # tempo in bpm (0 = none: the loop lasts loop_seconds); with a tempo the loop is `bars` whole
    # bars of `beats_per_bar` beats, its boundary on the bar line
    tempo: float = 0.0
    bars: int = 2
    beats_per_bar: int = 4
    # follow (and lead) the tempo and bar phase of an Ableton Link session (needs LinkPython-extern)
    link: bool = False
    crossfade_ms: float = 10.0
    volume: float = 0.8
    # start clip of the optimization: silence, noise or an audio file path
    start: str = "noise"
    # first target: a layer (the layout's middle layer when "")
    target_layer: str = ""
    # optimizer steps between two published loops
    publish_every: int = 50
    # activation stream: frames per second, payload format, largest UDP datagram (bytes),
    # what is analysed ("loop" at its playhead or the live "input"), and the window of audio the
    # model runs on for each frame (0 = the model's whole receptive field: exact activations;
    # shorter is cheaper but the deep layers then see less context)
    frame_rate: float = 30.0
    format: str = "uint8"
    max_datagram: int = 8192
    source: str = "loop"
    window_seconds: float = 0.0
    # summary stream: number of most active neurons sent
    summary_top: int = 8
    status_rate: float = 1.0
    # torch threads of the service process (the optimizer and the activation engine share them;
    # 0 = the thread policy, threads.intra_op / --threads)
    torch_threads: int = 0
    # at most one log line per this many seconds for rejected OSC messages
    error_log_interval: float = 1.0
    # the browser viewer (HTTP + WebSocket on this port; 0 = off)
    web_port: int = 0
    # a subscription ends this many seconds after its last /immersions/stream/subscribe: clients
    # renew it by re-sending the subscribe (every third of this is safe)
    subscription_seconds: float = 60.0
    # listening on an interface other than loopback (host) needs allow_remote and a shared token
    # ("" = a random one, printed at start): remote OSC senders send /immersions/auth <token>
    # first, remote pages open http://HOST:PORT/?token=<token>
    allow_remote: bool = False
    token: str = ""

    def validate(self, prefix: str) -> None:
        _positive(self, prefix, "loop_seconds", "publish_every", "frame_rate", "max_datagram",
                  "status_rate", "keep_loops")
        _non_negative(self, prefix, "crossfade_ms", "volume", "summary_top", "error_log_interval",
                      "window_seconds", "torch_threads")
        for name in ("port", "web_port"):
            if not 0 <= getattr(self, name) <= 65535:
                raise ConfigError(f"{prefix}{name} must be a UDP/TCP port 0..65535, got {getattr(self, name)}")
        _one_of(self, prefix, "audio", ("auto", "jack", "portaudio", "none"))
        if not 0 <= self.audio_priority <= 99:
            raise ConfigError(f"{prefix}audio_priority must be 0..99 (0 = off), got {self.audio_priority}")
        if not 0 <= self.block_size <= 16384:
            raise ConfigError(f"{prefix}block_size must be 0..16384 frames (0 = the device's), got {self.block_size}")
        if self.latency not in ("low", "high"):
            try:
                seconds = float(self.latency)
            except ValueError:
                seconds = -1.0
            if not 0 < seconds <= 2:
                raise ConfigError(f"{prefix}latency must be 'low', 'high' or seconds 0..2, got {self.latency!r}")
        _one_of(self, prefix, "format", ("uint8", "float16"))
        _one_of(self, prefix, "source", ("loop", "input"))
        if not 256 <= self.max_datagram <= 65507:
            raise ConfigError(f"{prefix}max_datagram must be 256..65507 bytes, got {self.max_datagram}")
        if self.loop_seconds < 0.5 or self.loop_seconds > 60:
            raise ConfigError(f"{prefix}loop_seconds must be 0.5..60, got {self.loop_seconds}")
        if self.volume > 2:
            raise ConfigError(f"{prefix}volume must be 0..2, got {self.volume}")
        from .audio.tempo import check_tempo  # pure arithmetic, no service import

        try:
            check_tempo(self.tempo, self.bars, self.beats_per_bar)
        except ValueError as exc:
            raise ConfigError(f"{prefix}tempo/bars/beats_per_bar: {exc}") from None
        if self.frame_rate > 240:
            raise ConfigError(f"{prefix}frame_rate must be <= 240, got {self.frame_rate}")
        if not 5 <= self.subscription_seconds <= 86400:
            raise ConfigError(f"{prefix}subscription_seconds must be 5..86400, got {self.subscription_seconds}")
        if not is_loopback(self.host) and not self.allow_remote:
            raise ConfigError(f"{prefix}host {self.host!r} is reachable from other machines: pass --allow-remote "
                              f"(and share the token it prints, or set one with --token) to listen beyond "
                              f"this machine")
        if self.token and (len(self.token) < 16 or not self.token.isascii() or not self.token.isprintable()
                           or " " in self.token):
            raise ConfigError(f"{prefix}token must be at least 16 printable ASCII characters without spaces")
        if self.torch_threads > MAX_THREADS:
            raise ConfigError(f"{prefix}torch_threads must be 0..{MAX_THREADS} (0 = the thread policy), "
                              f"got {self.torch_threads}")
        if self.crossfade_ms > 500:
            raise ConfigError(f"{prefix}crossfade_ms must be 0..500, got {self.crossfade_ms}")
        if self.window_seconds > 60:
            raise ConfigError(f"{prefix}window_seconds must be 0..60, got {self.window_seconds}")
        if self.summary_top > 256:
            raise ConfigError(f"{prefix}summary_top must be 0..256, got {self.summary_top}")


@dataclass
class ThreadsConfig:
    """Torch threads of every command (see immersions_osc/threads.py; --threads overrides)."""
    # intra-op threads (0 = the thread policy: half the cores, 1..4; 1 on a 2-core machine)
    intra_op: int = 0

    def validate(self, prefix: str) -> None:
        if not 0 <= self.intra_op <= MAX_THREADS:
            raise ConfigError(f"{prefix}intra_op must be 0..{MAX_THREADS} (0 = the thread policy), "
                              f"got {self.intra_op}")


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

def _positive(obj: Any, prefix: str, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not value > 0:
            raise ConfigError(f"{prefix}{name} must be > 0, got {value}")


def _non_negative(obj: Any, prefix: str, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value < 0:
            raise ConfigError(f"{prefix}{name} must be >= 0, got {value}")


def _fraction(obj: Any, prefix: str, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not 0 <= value <= 1:
            raise ConfigError(f"{prefix}{name} must be between 0 and 1, got {value}")


def _one_of(obj: Any, prefix: str, name: str, allowed: tuple[str, ...]) -> None:
    value = getattr(obj, name)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ConfigError(f"{prefix}{name} must be {options}, got {value!r}")


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
            data = yaml.safe_load(fh)
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
        raise ConfigError(f"config file {path} is not valid YAML: {exc}".splitlines()[0]) from None
    return parse_config(data, cls)


def save_config(config: Any, path: str | os.PathLike) -> None:
    """Write ``config`` as YAML atomically (temp file + rename)."""
    text = yaml.safe_dump(to_dict(config), sort_keys=False)
    atomic_write_bytes(path, text.encode("utf-8"))
