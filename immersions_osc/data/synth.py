"""Deterministic synthetic music: drums, bass, pads and a melody, with labels.

A fresh machine can train and evaluate the ear with no download::

    music = SyntheticMusic(sample_rate=44100, seed=0)
    audio, labels = music.clip(17, 6 * 44100)            # same array in any process, any order
    audio, labels = music.clip(17, 6 * 44100, family="breakbeat")   # force a label

How a clip is made (pure functions, in this order):

1. :func:`draw_spec` draws every musical choice from a generator seeded by ``(seed, index)``:
   drum-pattern family, instrument set, key, tempo, where in the loop the clip starts, the kit's
   tuning, the mix levels, and the notes of one 4-bar loop (positions in beats).
2. :func:`render_stems` tiles that loop onto the sample grid of the requested window and
   synthesizes each stem (kick, snare, hats, bass, pad, lead) with vectorized wavetable/FM
   oscillators, envelopes and filters. Each part is a line whose notes follow one another, so
   the run lengths between onsets spread per-note values over the samples (``np.repeat``):
   no Python loop over notes or samples. It works in blocks of ``SYNTH_BLOCK`` samples, which
   keeps temporaries small and cached.
3. :func:`mix_stems` sums the stems at their drawn levels and peak-normalizes to ``PEAK_DBFS``.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import signal

DEFAULT_SAMPLE_RATE = 44100

# --- musical vocabulary --------------------------------------------------------------------------
BEATS_PER_BAR = 4
LOOP_BARS = 4
LOOP_BEATS = BEATS_PER_BAR * LOOP_BARS
TEMPO_RANGE = (90.0, 150.0)  # bpm, drawn uniformly
FORCED_TEMPO_RANGE = (20.0, 400.0)  # bpm a caller may force
TEMPO_DECIMALS = 2           # the tempo label is rounded, and the music uses the rounded value
TRIPLET = 1.0 / 3.0

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES = ("major", "minor")
KEYS = tuple(f"{name} {mode}" for mode in MODES for name in NOTE_NAMES)
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
# One chord per bar of the loop, as scale degrees of the chord root (0 = tonic).
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4), (0, 5, 3, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 5, 4)),
}
BASS_MIDI = 36   # C2: the bass plays chord roots in the octave starting here
PAD_MIDI = 48    # C3: tonic of the pad voicing
LEAD_MIDI = 60   # C4: tonic of the melody's scale degrees
PAD_VOICES = 3   # a triad, one monophonic voice per chord tone
# Bass rhythms (one bar, positions in beats on the eighth-note grid).
BASS_RHYTHMS = (
    (0.0, 1.0, 2.0, 3.0),
    (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5),
    (0.0, 1.5, 2.0, 3.5),
    (0.0, 0.5, 1.5, 2.0, 3.0, 3.5),
    (0.0, 1.5, 3.0),
)
BASS_OCTAVE_JUMP_P = 0.3          # chance an off-beat bass note jumps an octave up
BASS_GATE = 0.85                  # fraction of the gap to the next bass note that is held
PAD_GATE = 0.98                   # fraction of the bar a pad chord is held
MOTIF_BARS = 2                    # the melody is a 2-bar motif, repeated with a varied ending
MELODY_DENSITY = (0.35, 0.7)      # chance each eighth-note slot starts a melody note
MELODY_STEPS = (-2, -1, -1, 0, 1, 1, 2, 3, -3)  # scale-degree steps of the melody's walk
MELODY_RANGE = (0, 11)            # scale degrees above LEAD_MIDI's tonic
MELODY_LEGATO = (0.45, 0.95)      # fraction of the gap to the next melody note that is held
VELOCITY_RANGE = (0.8, 1.0)       # random humanization factor applied to every note and hit
PAD_MUTE_P = 0.15                 # chance a clip has no pad
LEAD_MUTE_P = 0.2                 # chance a clip has no melody


# --- drum-pattern families -----------------------------------------------------------------------
@dataclass(frozen=True)
class DrumPattern:
    """One bar of drums: (position in beats, velocity) per hit; ``swing`` puts the melodic
    parts' off-beat eighths on the triplet grid."""

    kick: tuple[tuple[float, float], ...]
    snare: tuple[tuple[float, float], ...]
    closed_hat: tuple[tuple[float, float], ...]
    open_hat: tuple[tuple[float, float], ...] = ()
    swing: bool = False


def _hits(positions, velocity: float = 1.0) -> tuple[tuple[float, float], ...]:
    return tuple((float(p), float(velocity)) for p in positions)


_EIGHTHS = [b + x for b in range(BEATS_PER_BAR) for x in (0.0, 0.5)]
_SWUNG_EIGHTHS = [b + x for b in range(BEATS_PER_BAR) for x in (0.0, 2 * TRIPLET)]

DRUM_PATTERNS: dict[str, DrumPattern] = {
    # Kick on every beat, clap on 2 and 4, open hat on every off-beat.
    "four_on_the_floor": DrumPattern(
        kick=_hits([0, 1, 2, 3]), snare=_hits([1, 3]),
        closed_hat=_hits([0, 1, 2, 3], 0.4), open_hat=_hits([0.5, 1.5, 2.5, 3.5], 0.8)),
    # Syncopated "amen"-like break: doubled kicks, ghost snares, straight eighth hats.
    "breakbeat": DrumPattern(
        kick=((0.0, 1.0), (0.5, 0.8), (2.5, 0.9), (2.75, 0.8)),
        snare=((1.0, 1.0), (1.75, 0.35), (2.25, 0.35), (3.0, 1.0), (3.75, 0.35)),
        closed_hat=_hits(_EIGHTHS, 0.6)),
    # Half-time: one backbeat on beat 3, sparse kicks, so the bar feels half as fast.
    "half_time": DrumPattern(
        kick=((0.0, 1.0), (0.75, 0.7)), snare=_hits([2]),
        closed_hat=_hits(_EIGHTHS, 0.5), open_hat=_hits([3.5], 0.6)),
    # Shuffle: everything on the triplet grid, swung hats, backbeat on 2 and 4.
    "shuffle": DrumPattern(
        kick=((0.0, 1.0), (2.0, 0.9), (2.0 + 2 * TRIPLET, 0.6)), snare=_hits([1, 3]),
        closed_hat=_hits(_SWUNG_EIGHTHS, 0.6), swing=True),
    # Dembow: kick on every beat against a 3+3+2 snare figure.
    "dembow": DrumPattern(
        kick=_hits([0, 1, 2, 3]), snare=_hits([0.75, 1.5, 2.75, 3.5], 0.9),
        closed_hat=_hits(_EIGHTHS, 0.35)),
}
FAMILIES = tuple(DRUM_PATTERNS)


# --- instrument sets -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Patch:
    """A monophonic synth voice: oscillator, ADSR envelope (seconds), optional filter and FM."""

    wave: str                       # a name in WAVES, or "fm" (two-operator sine FM)
    attack: float
    decay: float                    # time constant of the fall from 1 to ``sustain``
    sustain: float
    release: float                  # time constant of the fall after the gate closes
    cutoff: Optional[float] = None  # low-pass corner (Hz), scaled per clip by the "tone" draw
    detune_cents: float = 0.0       # adds a second, detuned oscillator when non-zero
    fm_ratio: float = 1.0
    fm_index: float = 0.0           # peak modulation index at the note onset
    fm_decay: float = 1.0           # time constant of the modulation index


@dataclass(frozen=True)
class InstrumentSet:
    """The patches of the three pitched parts."""

    bass: Patch
    pad: Patch
    lead: Patch


INSTRUMENT_PATCHES: dict[str, InstrumentSet] = {
    "analog": InstrumentSet(
        bass=Patch("saw", 0.005, 0.15, 0.6, 0.05, cutoff=700.0),
        pad=Patch("saw", 0.3, 1.0, 0.8, 0.4, cutoff=2500.0, detune_cents=9.0),
        lead=Patch("square", 0.01, 0.2, 0.7, 0.1, cutoff=4000.0, detune_cents=4.0)),
    "fm": InstrumentSet(
        bass=Patch("fm", 0.002, 0.3, 0.4, 0.05, fm_ratio=1.0, fm_index=2.5, fm_decay=0.15),
        pad=Patch("fm", 0.003, 0.8, 0.3, 0.3, fm_ratio=1.0, fm_index=1.5, fm_decay=0.3),
        lead=Patch("fm", 0.002, 0.6, 0.2, 0.3, fm_ratio=3.5, fm_index=3.0, fm_decay=0.4)),
    "chiptune": InstrumentSet(
        bass=Patch("triangle", 0.001, 0.1, 0.9, 0.02),
        pad=Patch("pulse25", 0.002, 0.2, 0.6, 0.05),
        lead=Patch("pulse12", 0.001, 0.15, 0.7, 0.03)),
    "soft": InstrumentSet(
        bass=Patch("sine", 0.01, 0.3, 0.7, 0.1),
        pad=Patch("triangle", 0.5, 1.5, 0.9, 0.6, cutoff=1800.0),
        lead=Patch("sine", 0.003, 0.25, 0.0, 0.1)),
    "organ": InstrumentSet(
        bass=Patch("organ", 0.005, 0.5, 0.9, 0.03, cutoff=1200.0),
        pad=Patch("organ", 0.02, 1.0, 1.0, 0.05),
        lead=Patch("organ", 0.01, 1.0, 0.95, 0.05, detune_cents=5.0)),
}
INSTRUMENT_SETS = tuple(INSTRUMENT_PATCHES)
TONE_RANGE = (0.7, 1.4)   # per-clip factor on every patch's filter cutoff

CATEGORICAL_LABELS: dict[str, tuple[str, ...]] = {
    "family": FAMILIES, "instruments": INSTRUMENT_SETS, "key": KEYS, "mode": MODES,
}


# --- drum kit ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kit:
    """Per-clip drum tuning (Hz and seconds)."""

    kick_start_hz: float
    kick_end_hz: float
    kick_sweep_s: float
    kick_decay_s: float
    snare_tone_hz: float
    snare_tone_decay_s: float
    snare_noise_hz: float
    snare_noise_decay_s: float
    hat_cutoff_hz: float
    closed_decay_s: float
    open_decay_s: float


KIT_RANGES = {
    "kick_start_hz": (110.0, 180.0), "kick_end_hz": (40.0, 60.0), "kick_sweep_s": (0.02, 0.05),
    "kick_decay_s": (0.15, 0.4), "snare_tone_hz": (160.0, 240.0),
    "snare_tone_decay_s": (0.04, 0.08), "snare_noise_hz": (1500.0, 4000.0),
    "snare_noise_decay_s": (0.08, 0.2), "hat_cutoff_hz": (6000.0, 9000.0),
    "closed_decay_s": (0.02, 0.06), "open_decay_s": (0.15, 0.3),
}
SNARE_TONE_MIX = 0.5   # tone amplitude relative to the noise
FILTER_MAX_FRACTION = 0.45  # any filter corner is kept below this fraction of the sample rate

# --- mixing --------------------------------------------------------------------------------------
STEMS = ("kick", "snare", "hats", "bass", "pad", "lead")
# Fixed gain bringing each raw stem's typical RMS to about -12 dBFS, then a random level (dB).
STEM_CALIBRATION_DB = {"kick": 0.0, "snare": 10.0, "hats": 10.0, "bass": -5.0, "pad": 0.0,
                       "lead": -2.0}
STEM_LEVEL_DB = {"kick": (-3.0, 0.0), "snare": (-5.0, 0.0), "hats": (-14.0, -6.0),
                 "bass": (-6.0, 0.0), "pad": (-12.0, -4.0), "lead": (-9.0, -3.0)}
PEAK_DBFS = -1.0

# --- oscillators ---------------------------------------------------------------------------------
TABLE_SIZE = 4096            # samples per wavetable period (a power of two)
MAX_HARMONICS = 64
WAVES = ("sine", "saw", "square", "triangle", "pulse25", "pulse12", "organ")
ORGAN_DRAWBARS = {1: 1.0, 2: 0.6, 3: 0.4, 4: 0.3, 6: 0.15, 8: 0.1}  # harmonic: amplitude
INACTIVE_SECONDS = 60.0      # "time since onset" before a voice's first note (it is silent there)
CORNER_STEPS_PER_OCTAVE = 4  # low-pass corners are rounded to this grid so tables can be cached
SYNTH_BLOCK = 16384          # samples synthesized at a time (small temporaries stay in cache)


# =================================================================================================
# 1. Musical choices
# =================================================================================================
@dataclass(frozen=True)
class Part:
    """A line over one loop: onset and held length in beats, MIDI pitch and velocity per note.

    ``pitch`` is [notes] for a melodic line or [notes, tones] for a chord line, whose tones
    start and stop together.
    """

    onset: np.ndarray
    gate: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray


@dataclass(frozen=True)
class ClipSpec:
    """Every random choice behind one clip; rendering it is deterministic."""

    family: str
    instruments: str
    root: int
    mode: str
    tempo: float
    start_beat: float           # where in the loop the clip starts
    kit: Kit
    tone: float                 # factor on the patches' filter cutoffs
    levels_db: dict[str, float]
    parts: dict[str, Part]      # kick, snare, closed_hat, open_hat, bass, pad, lead

    @property
    def key(self) -> str:
        return f"{NOTE_NAMES[self.root]} {self.mode}"

    def labels(self) -> dict:
        return {
            "family": self.family, "family_id": FAMILIES.index(self.family),
            "instruments": self.instruments,
            "instruments_id": INSTRUMENT_SETS.index(self.instruments),
            "key": self.key, "key_id": KEYS.index(self.key),
            "mode": self.mode, "mode_id": MODES.index(self.mode),
            "tempo": self.tempo, "start_beat": self.start_beat,
        }


def _check_choice(name: str, value: Optional[str], valid: tuple[str, ...]) -> None:
    if value is not None and value not in valid:
        raise ValueError(f"{name} must be one of {list(valid)}, got {value!r}")


def draw_spec(rng: np.random.Generator, *, family: Optional[str] = None,
              instruments: Optional[str] = None, key: Optional[str] = None,
              mode: Optional[str] = None, tempo: Optional[float] = None) -> ClipSpec:
    """Draw a clip's musical choices; any keyword given overrides (forces) that choice.

    All categorical choices are drawn before the notes, so forcing a label leaves the others
    (and the melodic parts) as they would have been.
    """
    _check_choice("family", family, FAMILIES)
    _check_choice("instruments", instruments, INSTRUMENT_SETS)
    _check_choice("key", key, KEYS)
    _check_choice("mode", mode, MODES)
    if key is not None and mode is not None and not key.endswith(" " + mode):
        raise ValueError(f"key {key!r} contradicts mode {mode!r}")
    if tempo is not None and not (FORCED_TEMPO_RANGE[0] <= tempo <= FORCED_TEMPO_RANGE[1]):
        raise ValueError(f"tempo must lie in {list(FORCED_TEMPO_RANGE)} bpm, got {tempo!r}")

    drawn_family = FAMILIES[rng.integers(len(FAMILIES))]
    drawn_set = INSTRUMENT_SETS[rng.integers(len(INSTRUMENT_SETS))]
    drawn_root = int(rng.integers(len(NOTE_NAMES)))
    drawn_mode = MODES[rng.integers(len(MODES))]
    drawn_tempo = round(float(rng.uniform(*TEMPO_RANGE)), TEMPO_DECIMALS)
    start_beat = float(rng.uniform(0.0, LOOP_BEATS))
    kit = Kit(**{name: float(rng.uniform(*bounds)) for name, bounds in KIT_RANGES.items()})
    tone = float(rng.uniform(*TONE_RANGE))
    levels = {stem: float(rng.uniform(*STEM_LEVEL_DB[stem])) for stem in STEMS}
    if rng.random() < PAD_MUTE_P:
        levels["pad"] = -math.inf
    if rng.random() < LEAD_MUTE_P:
        levels["lead"] = -math.inf

    family = family or drawn_family
    root, mode = drawn_root, mode or drawn_mode
    if key is not None:
        name, mode = key.split(" ")
        root = NOTE_NAMES.index(name)
    pattern = DRUM_PATTERNS[family]
    progression = PROGRESSIONS[mode][rng.integers(len(PROGRESSIONS[mode]))]

    parts = {"bass": _bass_part(rng, root, mode, progression)}
    parts["pad"] = _pad_part(rng, root, mode, progression)
    parts["lead"] = _melody_part(rng, root, mode, progression)
    if pattern.swing:
        parts = {name: _swing(part) for name, part in parts.items()}
    parts.update(_drum_parts(rng, pattern))
    return ClipSpec(family=family, instruments=instruments or drawn_set, root=root, mode=mode,
                    tempo=float(tempo) if tempo is not None else drawn_tempo,
                    start_beat=start_beat, kit=kit, tone=tone, levels_db=levels, parts=parts)


def _midi(tonic_midi: int, mode: str, degree: np.ndarray | int) -> np.ndarray:
    """MIDI pitch of scale ``degree`` (0 = tonic, 7 = the octave above) of a key."""
    degree = np.asarray(degree)
    return tonic_midi + 12 * (degree // 7) + np.asarray(SCALES[mode])[degree % 7]


def _velocities(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(*VELOCITY_RANGE, size=n)


def _gaps(onset: np.ndarray) -> np.ndarray:
    """Beats from each onset to the next one, wrapping around the loop."""
    return np.diff(np.append(onset, onset[0] + LOOP_BEATS))


def _bass_part(rng, root: int, mode: str, progression) -> Part:
    """Chord roots in a rhythm drawn from BASS_RHYTHMS, some off-beats an octave up."""
    rhythm = np.asarray(BASS_RHYTHMS[rng.integers(len(BASS_RHYTHMS))])
    onset = (np.arange(LOOP_BARS)[:, None] * BEATS_PER_BAR + rhythm).ravel()
    chord_root = np.repeat(np.asarray(progression), len(rhythm))
    pitch = BASS_MIDI + (root + np.asarray(SCALES[mode])[chord_root]) % 12
    off_beat = (onset % 1.0) != 0.0
    pitch = pitch + 12 * (off_beat & (rng.random(len(onset)) < BASS_OCTAVE_JUMP_P))
    return Part(onset, BASS_GATE * _gaps(onset), pitch.astype(float), _velocities(rng, len(onset)))


def _pad_part(rng, root: int, mode: str, progression) -> Part:
    """A diatonic triad per bar (chord root, third, fifth)."""
    onset = np.arange(LOOP_BARS, dtype=float) * BEATS_PER_BAR
    gate = np.full(LOOP_BARS, PAD_GATE * BEATS_PER_BAR)
    degrees = np.asarray(progression)[:, None] + 2 * np.arange(PAD_VOICES)
    return Part(onset, gate, _midi(PAD_MIDI + root, mode, degrees).astype(float),
                _velocities(rng, LOOP_BARS))


def _melody_part(rng, root: int, mode: str, progression) -> Part:
    """A random walk on the scale over a 2-bar eighth-note motif, repeated with variation."""
    slots = np.arange(MOTIF_BARS * BEATS_PER_BAR * 2) / 2.0  # eighth notes, in beats
    played = rng.random(len(slots)) < rng.uniform(*MELODY_DENSITY)
    played[0] = True
    motif = slots[played]
    start = progression[0] + 2 * rng.integers(3)  # a chord tone of the first chord
    steps = rng.choice(MELODY_STEPS, size=len(motif) - 1)
    degrees = np.clip(start + np.concatenate([[0], np.cumsum(steps)]), *MELODY_RANGE)
    # The repeat varies the motif's last bar by a small random transposition per note.
    varied = degrees.copy()
    last_bar = motif >= (MOTIF_BARS - 1) * BEATS_PER_BAR
    varied[last_bar] = np.clip(varied[last_bar] + rng.integers(-2, 3, size=last_bar.sum()),
                               *MELODY_RANGE)
    repeats = LOOP_BARS // MOTIF_BARS
    onset = np.concatenate([motif + r * MOTIF_BARS * BEATS_PER_BAR for r in range(repeats)])
    degree = np.concatenate([degrees] + [varied] * (repeats - 1))
    gate = rng.uniform(*MELODY_LEGATO) * _gaps(onset)
    return Part(onset, gate, _midi(LEAD_MIDI + root, mode, degree).astype(float),
                _velocities(rng, len(onset)))


def _swing(part: Part) -> Part:
    """Move off-beat eighths (x.5 beats) to the last triplet of the beat (x.667)."""
    frac = part.onset % 1.0
    onset = np.where(np.isclose(frac, 0.5), np.floor(part.onset) + 2 * TRIPLET, part.onset)
    return Part(onset, part.gate, part.pitch, part.velocity)


def _drum_parts(rng, pattern: DrumPattern) -> dict[str, Part]:
    """The pattern's bar repeated over the loop, each hit's velocity humanized."""
    parts = {}
    for name in ("kick", "snare", "closed_hat", "open_hat"):
        hits = np.asarray(getattr(pattern, name), dtype=float).reshape(-1, 2)
        bars = np.arange(LOOP_BARS)[:, None] * BEATS_PER_BAR
        onset = (bars + hits[:, 0]).ravel()
        velocity = np.tile(hits[:, 1], LOOP_BARS) * _velocities(rng, len(onset))
        parts[name] = Part(onset, np.zeros_like(onset), np.zeros_like(onset), velocity)
    return parts


# =================================================================================================
# 2. Synthesis
# =================================================================================================
@dataclass(frozen=True)
class PlacedPart:
    """A part tiled over the timeline from sample 0.

    ``onset`` holds the sorted, distinct onsets in samples; the per-note arrays (gate in
    seconds, frequency [notes] or [notes, tones] in Hz, velocity) put a silent dummy note first,
    which "sounds" before the first onset.
    """

    onset: np.ndarray
    gate: np.ndarray
    freq: np.ndarray
    velocity: np.ndarray


def place(part: Part, tempo: float, sample_rate: int, end: int) -> PlacedPart:
    """Tile ``part``'s loop from sample 0 until at least sample ``end``."""
    beat = 60.0 / tempo * sample_rate                 # samples per beat
    loops = int(end // (LOOP_BEATS * beat)) + 1
    offsets = np.arange(loops)[:, None] * LOOP_BEATS
    onset = np.rint((offsets + part.onset).ravel() * beat).astype(np.int64)
    order = np.argsort(onset, kind="stable")
    onset = onset[order]
    distinct = np.diff(onset, prepend=-1) > 0        # two notes on one sample: keep the first

    def per_note(values: np.ndarray) -> np.ndarray:
        tiled = np.tile(values, (loops,) + (1,) * (values.ndim - 1))[order][distinct]
        dummy = np.zeros((1,) + values.shape[1:])
        return np.concatenate([dummy, tiled]).astype(np.float32)

    return PlacedPart(onset=onset[distinct], gate=per_note(part.gate * (60.0 / tempo)),
                      freq=per_note(440.0 * 2.0 ** ((part.pitch - 69.0) / 12.0)),
                      velocity=per_note(part.velocity))


@dataclass(frozen=True)
class Clock:
    """Which note of a placed part sounds at each sample of a window, and since when.

    Notes ``first, first + 1, ...`` (indices into the dummy-first per-note arrays) sound for
    ``lengths`` consecutive samples each; ``t`` is the time in seconds since the sounding
    note's onset.
    """

    first: int
    lengths: np.ndarray   # [notes in the window], summing to the window's length
    t: np.ndarray         # float32 [n]

    def per_sample(self, per_note: np.ndarray) -> np.ndarray:
        """Spread a per-note array (dummy first) over the window's samples (along axis 0)."""
        return np.repeat(per_note[self.first:self.first + len(self.lengths)], self.lengths, axis=0)


def note_clock(onset: np.ndarray, start: int, n: int, sample_rate: int) -> Clock:
    """Clock of the window ``[start, start + n)`` for sorted, distinct onsets (in samples)."""
    first = int(np.searchsorted(onset, start, side="right"))  # latest onset <= start (dummy-first)
    inside = onset[first:int(np.searchsorted(onset, start + n, side="left"))] - start
    lengths = np.diff(np.concatenate([[0], inside, [n]]))
    relative = np.concatenate([[-INACTIVE_SECONDS * sample_rate], onset - start])
    clock = Clock(first=first, lengths=lengths, t=np.arange(n, dtype=np.float32))
    t = clock.t  # filled in place: seconds since the sounding note's onset
    t -= clock.per_sample(relative.astype(np.float32))
    t *= np.float32(1.0 / sample_rate)
    return clock


@dataclass
class Voice:
    """A placed part seen through one window's clock; per-sample views are made on first use."""

    clock: Clock
    part: PlacedPart

    @property
    def t(self) -> np.ndarray:
        return self.clock.t

    @functools.cached_property
    def gate(self) -> np.ndarray:
        return self.clock.per_sample(self.part.gate)

    @functools.cached_property
    def tones(self) -> list[np.ndarray]:
        """Per-sample frequency of each tone (one for a melodic line, several for a chord)."""
        per_tone = self.part.freq.reshape(len(self.part.freq), -1).T
        return [self.clock.per_sample(np.ascontiguousarray(f)) for f in per_tone]

    @functools.cached_property
    def velocity(self) -> np.ndarray:
        return self.clock.per_sample(self.part.velocity)


@functools.lru_cache(maxsize=8)
def _sine_basis(n_harmonics: int) -> np.ndarray:
    """sin(k x) over one table period for k = 1..n_harmonics, shape [n_harmonics, TABLE_SIZE]."""
    x = 2 * np.pi * np.arange(TABLE_SIZE) / TABLE_SIZE
    return np.sin(np.outer(np.arange(1, n_harmonics + 1), x))


@functools.lru_cache(maxsize=256)
def wavetable(wave: str, n_harmonics: int, corner_harmonic: float = math.inf) -> np.ndarray:
    """One period of ``wave`` with at most ``n_harmonics`` harmonics, peak 1 (read-only).

    ``corner_harmonic`` applies a one-pole low-pass response with its -3 dB corner at that
    harmonic number (a key-tracked filter: the brightness follows the note).
    """
    if wave not in WAVES:
        raise ValueError(f"unknown wave {wave!r}; expected one of {list(WAVES)}")
    k = np.arange(1, n_harmonics + 1)
    if wave == "sine":
        amp = (k == 1).astype(float)
    elif wave in ("saw", "pulse25", "pulse12"):
        amp = 1.0 / k
    elif wave == "square":
        amp = (k % 2) / k
    elif wave == "triangle":
        amp = (k % 2) * (-1.0) ** ((k - 1) // 2) / k ** 2
    else:  # organ
        amp = np.array([ORGAN_DRAWBARS.get(int(h), 0.0) for h in k])
    amp = amp / np.sqrt(1.0 + (k / corner_harmonic) ** 2)
    table = amp @ _sine_basis(n_harmonics)
    if wave.startswith("pulse"):  # a pulse is a saw minus a shifted saw
        width = int(wave[len("pulse"):]) / 100.0
        table = table - np.roll(table, int(width * TABLE_SIZE))
    table = (table - table.mean()) / np.abs(table - table.mean()).max()
    table = table.astype(np.float32)
    table.flags.writeable = False
    return table


def key_tracked_corner(cutoff: Optional[float], note_freq: np.ndarray) -> float:
    """The harmonic number of a low-pass ``cutoff`` (Hz) for a voice's typical (geometric-mean)
    pitch, rounded to CORNER_STEPS_PER_OCTAVE steps per octave; inf when there is no filter."""
    freqs = note_freq[note_freq > 0]
    if cutoff is None or freqs.size == 0:
        return math.inf
    octaves = math.log2(cutoff) - float(np.mean(np.log2(freqs)))
    return 2.0 ** (round(octaves * CORNER_STEPS_PER_OCTAVE) / CORNER_STEPS_PER_OCTAVE)


def harmonics_below_nyquist(max_freq: float, sample_rate: int) -> int:
    """Largest power of two (≤ MAX_HARMONICS) of harmonics of ``max_freq`` kept below Nyquist."""
    fits = FILTER_MAX_FRACTION * sample_rate / max(max_freq, 1.0)
    return int(min(MAX_HARMONICS, 2 ** max(0, math.floor(math.log2(max(fits, 1.0))))))


def _lookup(table: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Read ``table`` at a phase given in cycles (non-negative, below 2**31 / TABLE_SIZE, which
    the tempo bounds guarantee: a note never lasts longer than a loop)."""
    index = (cycles * np.float32(TABLE_SIZE)).astype(np.int32)
    index &= TABLE_SIZE - 1
    return np.take(table, index)


def adsr(voice: Voice, patch: Patch) -> np.ndarray:
    """Attack-decay-sustain while the gate is open, exponential release after it closes.

    Written as ``held(min(t, gate)) * release(max(t - gate, 0))``: the held curve while the gate
    is open, and a release from the level the gate closed at afterwards.
    """
    held_t = np.minimum(voice.t, voice.gate)
    rise = np.minimum(held_t * (1.0 / patch.attack), 1.0)
    fall = np.exp(np.maximum(held_t - patch.attack, 0.0) * (-1.0 / patch.decay))
    held = rise * (patch.sustain + (1.0 - patch.sustain) * fall)
    return held * np.exp(np.maximum(voice.t - voice.gate, 0.0) * (-1.0 / patch.release))


def oscillator(voice: Voice, patch: Patch, sample_rate: int, tone: float = 1.0) -> np.ndarray:
    """The patch's waveform following the voice's pitch, phase reset at every note; the tones
    of a chord are averaged. ``tone`` scales the patch's filter cutoff."""
    if patch.wave == "fm":
        index = patch.fm_index * np.exp(voice.t * np.float32(-1.0 / patch.fm_decay))

        def one_tone(cycles):
            modulator = np.sin(np.float32(2 * np.pi * patch.fm_ratio) * cycles)
            return np.sin(np.float32(2 * np.pi) * cycles + index * modulator)
    else:
        detune = 2.0 ** (patch.detune_cents / 1200.0)
        n_harmonics = harmonics_below_nyquist(float(voice.part.freq.max()) * detune, sample_rate)
        cutoff = None if patch.cutoff is None else patch.cutoff * tone
        table = wavetable(patch.wave, n_harmonics, key_tracked_corner(cutoff, voice.part.freq))

        def one_tone(cycles):
            out = _lookup(table, cycles)
            if patch.detune_cents:
                out += _lookup(table, cycles * np.float32(detune))
                out *= np.float32(0.5)
            return out

    out = sum(one_tone(voice.t * freq) for freq in voice.tones)
    return out * np.float32(1.0 / len(voice.tones))


def _butter(x: np.ndarray, kind: str, corner, sample_rate: int) -> np.ndarray:
    corner = np.minimum(corner, FILTER_MAX_FRACTION * sample_rate)
    sos = signal.butter(2, corner, btype=kind, fs=sample_rate, output="sos").astype(np.float32)
    return signal.sosfilt(sos, x).astype(np.float32, copy=False)


def drum_noise(kit: Kit, noise: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """White noise filtered for the snare (band-pass) and the hats (high-pass)."""
    band = [kit.snare_noise_hz / 2, kit.snare_noise_hz * 2]
    return {"snare": _butter(noise, "bandpass", band, sample_rate),
            "hats": _butter(noise, "highpass", kit.hat_cutoff_hz, sample_rate)}


def _decay(voice: Voice, seconds: float) -> np.ndarray:
    return voice.velocity * np.exp(voice.t * np.float32(-1.0 / seconds))


def render_drums(kit: Kit, voices: dict[str, Voice], noise: dict[str, np.ndarray]
                 ) -> dict[str, np.ndarray]:
    """Kick (sine with an exponential pitch glide), snare (noise plus tone), hats (noise)."""
    kick = voices["kick"]
    sweep = kit.kick_start_hz - kit.kick_end_hz   # the pitch glides down to kick_end_hz
    glide = np.exp(kick.t * np.float32(-1.0 / kit.kick_sweep_s))
    cycles = kit.kick_end_hz * kick.t + sweep * kit.kick_sweep_s * (1.0 - glide)
    kick_out = np.sin(np.float32(2 * np.pi) * cycles) * _decay(kick, kit.kick_decay_s)

    snare = voices["snare"]
    snare_tone = np.sin(np.float32(2 * np.pi * kit.snare_tone_hz) * snare.t)
    snare_out = (noise["snare"] * _decay(snare, kit.snare_noise_decay_s)
                 + SNARE_TONE_MIX * snare_tone * _decay(snare, kit.snare_tone_decay_s))

    hats = noise["hats"] * (_decay(voices["closed_hat"], kit.closed_decay_s)
                            + _decay(voices["open_hat"], kit.open_decay_s))
    return {"kick": kick_out, "snare": snare_out, "hats": hats}


def render_tonal(voice: Voice, patch: Patch, tone: float, sample_rate: int) -> np.ndarray:
    """A pitched part: oscillator times envelope times velocity."""
    return oscillator(voice, patch, sample_rate, tone) * adsr(voice, patch) * voice.velocity


def render_stems(spec: ClipSpec, start: int, n: int, sample_rate: int,
                 noise_rng: np.random.Generator, block: int = SYNTH_BLOCK
                 ) -> dict[str, np.ndarray]:
    """Every stem of the window ``[start, start + n)`` of the clip's timeline, unscaled.

    Synthesis runs ``block`` samples at a time so its temporaries stay small; the result does
    not depend on ``block``.
    """
    placed = {name: place(part, spec.tempo, sample_rate, start + n)
              for name, part in spec.parts.items()}
    noise = drum_noise(spec.kit, 2.0 * noise_rng.random(n, dtype=np.float32) - 1.0, sample_rate)
    patches = INSTRUMENT_PATCHES[spec.instruments]
    stems = {stem: np.empty(n, dtype=np.float32) for stem in STEMS}
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        voices = {name: Voice(note_clock(part.onset, start + lo, hi - lo, sample_rate), part)
                  for name, part in placed.items()}
        out = render_drums(spec.kit, voices, {k: v[lo:hi] for k, v in noise.items()})
        for stem in ("bass", "pad", "lead"):
            out[stem] = render_tonal(voices[stem], getattr(patches, stem), spec.tone, sample_rate)
        for stem, samples in out.items():
            stems[stem][lo:hi] = samples
    return stems


def mix_stems(stems: dict[str, np.ndarray], levels_db: dict[str, float],
              peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """Scale the stems (in place) to their levels, sum them, and scale everything so that the
    mix peaks at ``peak_dbfs``; afterwards the stems add up to the returned mix.

    A silent mix stays silent; the result is finite and its peak never exceeds 1.
    """
    for name, samples in stems.items():
        samples *= 10.0 ** ((STEM_CALIBRATION_DB[name] + levels_db[name]) / 20.0)
    mix = np.zeros_like(next(iter(stems.values())))
    for samples in stems.values():
        mix += samples
    peak = float(np.max(np.abs(mix))) if mix.size else 0.0
    norm = 10.0 ** (peak_dbfs / 20.0) / peak if peak > 0 else 0.0
    for samples in [*stems.values(), mix]:
        samples *= norm
    return mix


# =================================================================================================
# 3. Public entry point
# =================================================================================================
@dataclass(frozen=True)
class SynthClip:
    """A rendered clip: the mix, its labels, and its stems as they sit in the mix."""

    audio: np.ndarray              # float32 [n_samples], peak at PEAK_DBFS
    labels: dict
    stems: dict[str, np.ndarray]   # float32 [n_samples] each, summing to ``audio``


class SyntheticMusic:
    """A deterministic, endless, labelled source of music-like clips.

    ``clip(index, n_samples)`` depends only on (seed, index, n_samples, forced labels): each call
    derives its own generator from ``(seed, index)``, so any process and any call order agree.
    """

    def __init__(self, sample_rate: int = DEFAULT_SAMPLE_RATE, seed: int = 0):
        if sample_rate < 1000:
            raise ValueError(f"sample_rate must be >= 1000 Hz, got {sample_rate}")
        self.sample_rate = int(sample_rate)
        self.seed = int(seed)

    def render(self, index: int, n_samples: int, *, family: Optional[str] = None,
               instruments: Optional[str] = None, key: Optional[str] = None,
               mode: Optional[str] = None, tempo: Optional[float] = None) -> SynthClip:
        """The clip with its labels and its stems (see :meth:`clip` for the arguments)."""
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        if index < 0:
            raise ValueError(f"index must be >= 0, got {index}")
        music_seed, noise_seed = np.random.SeedSequence([self.seed, int(index)]).spawn(2)
        spec = draw_spec(np.random.default_rng(music_seed), family=family,
                         instruments=instruments, key=key, mode=mode, tempo=tempo)
        beat = 60.0 / spec.tempo * self.sample_rate
        start = int(round(spec.start_beat * beat))
        stems = render_stems(spec, start, int(n_samples), self.sample_rate,
                             np.random.default_rng(noise_seed))
        audio = mix_stems(stems, spec.levels_db)
        labels = dict(spec.labels(), index=int(index), seed=self.seed)
        return SynthClip(audio=audio, labels=labels, stems=stems)

    def clip(self, index: int, n_samples: int, *, family: Optional[str] = None,
             instruments: Optional[str] = None, key: Optional[str] = None,
             mode: Optional[str] = None, tempo: Optional[float] = None) -> tuple[np.ndarray, dict]:
        """Mono float32 audio ``[n_samples]`` and its labels.

        Keywords force a label (``family="breakbeat"``, ``key="A minor"``, ``tempo=120``); the
        other choices stay those of ``index``. Labels: ``family``, ``instruments``, ``key``,
        ``mode`` (each with an integer ``*_id`` indexing FAMILIES, INSTRUMENT_SETS, KEYS,
        MODES), ``tempo`` (bpm), ``start_beat`` (where in the 16-beat loop the clip starts),
        ``index`` and ``seed``.
        """
        clip = self.render(index, n_samples, family=family, instruments=instruments, key=key,
                           mode=mode, tempo=tempo)
        return clip.audio, clip.labels
