"""The bar-sync thread's decisions, on a made-up player: a MIDI clock whose stamps jitter by a JACK
period (python-rtmidi's JACK API) changes tempo, and the loop's bar line where the refitted loop
takes over must land on the clock's next bar line.  (The real thing, recorded on a dummy jackd:
benchmarks/studio_sync.py.)"""
import numpy as np
import pytest

from immersions_osc.audio.barsync import DRIFT_MS, SWITCH_LEAD, BarSync
from immersions_osc.audio.midiclock import CLOCK, START, SmoothedMidiClock

RATE = 48000
P = 512 / RATE


class Player:
    """What BarSync reads and moves: one playing loop (its sample 0 rendered at ``loop_origin``,
    block time), a queued one, nudges move the origin."""
    device_rate = RATE

    def __init__(self, bpm: float):
        self.loop = np.zeros(int(round(RATE * 240 / bpm)), np.float32)  # one bar
        self.q = None
        self.loop_origin = 0.123
        self.clock_offset = 0.0

    def playhead(self):
        return self.loop, 0

    def queued(self):
        return self.q

    def device_loop_length(self):
        return len(self.loop)

    def nudge(self, samples):
        self.loop_origin -= samples / RATE


def run_change(seed: int, new_bpm: float = 137.0, bars_before: int = 4, offset_error=None):
    """Start, 4 bars at 120, then ``new_bpm``; per tick one _step.  Returns the tempi followed,
    how far the playing loop's nearest bar line is from the clock's first bar line at the new
    tempo just before it (s), and how long before that line each tempo was followed (s)."""
    import time as _time

    rng = np.random.default_rng(seed)
    tempo = {"bpm": 120.0}
    player = Player(120.0)
    player.loop_origin = rng.uniform(0, 2.0)  # the loop plays at some phase when the clock starts
    followed, when, now = [], [], [0.0]

    def follow(bpm, source):
        followed.append(bpm)
        when.append(now[0])
        tempo["bpm"] = bpm
        player.q = np.zeros(int(round(RATE * 240 / bpm)), np.float32)

    sync = BarSync(player, lambda: (tempo["bpm"], 1, 4), follow, lambda: 0.0, log=lambda line: None)
    # offset_error(k): the error, after k ticks, of the offset from the MIDI API's stamps to
    # time.monotonic() (python-rtmidi: found from the least gap to a poll); None: stamps in block time
    external = offset_error is not None
    api = -100.0 if external else 0.0  # the stamps' clock runs this far ahead of block time
    sync.midi_in = type("MidiIn", (), {"offset": 0.0, "name": "test"})() if external else None
    clock = SmoothedMidiClock(4)
    phase = rng.uniform(0, P)  # where the ticks fall in the JACK cycles
    stamp = lambda t: np.floor((t + phase) / P) * P - phase + P / 2 + rng.exponential(1e-4) - api
    t = 0.5
    sync._step([(stamp(t - 0.001), (START, 0, 0))], clock, "test", external=external)
    k = 0
    for bpm, bars in ((120.0, bars_before), (new_bpm, 1)):
        dt = 60.0 / (24 * bpm)
        for _ in range(96 * bars):
            m = _time.monotonic()
            player.clock_offset = m - t  # block time now = t
            if external:
                sync.midi_in.offset = m - t + api + offset_error(k)
            now[0] = t
            sync._step([(stamp(t), (CLOCK, 0, 0))], clock, "test", external=external)
            k += 1
            t += dt
    line = t  # the clock's bar line after the first bar at the new tempo
    bar = len(player.loop) / RATE
    error = (player.loop_origin - line + bar / 2) % bar - bar / 2
    return followed, error, [line - w for w in when]


@pytest.mark.parametrize("seed", range(12))
def test_a_jittery_clocks_tempo_change_lands_the_refitted_loop_on_the_next_bar_line(seed):
    followed, error, _ = run_change(seed)
    assert followed and abs(followed[-1] - 137.0) < 0.5, followed
    # (the sync leaves 1 ms alone: tolerance_ms)
    assert abs(error) < 1.5e-3, f"the loop's bar line {1000 * error:+.2f} ms from the clock's"


def test_a_jittery_clocks_new_tempo_waits_for_more_ticks_while_the_bar_line_is_far():
    """The first tempo followed after the change: from enough ticks that the loop it fits drifts
    about DRIFT_MS a bar, not from the first beat's (24 ticks, whose tempo is several ms a bar off
    here), unless the loop's next bar line is near."""
    for seed in range(8):
        followed, _, ahead = run_change(seed)
        # followed in time for the refitted loop to take over at the clock's next bar line
        assert ahead[-1] >= SWITCH_LEAD - 0.03, (seed, ahead)
        drift_ms = [abs(240.0 / bpm - 240.0 / 137.0) * 1000 for bpm in followed if abs(bpm - 120.0) > 1]
        assert drift_ms and drift_ms[0] < 4 * DRIFT_MS, (seed, followed)


@pytest.mark.parametrize("seed", range(8))
def test_after_a_start_the_second_bar_line_is_on_the_clocks(seed):
    """The clock starts at the service's tempo: the loop's bar line is first aimed from half a bar
    of ticks, then re-aimed as the fit grows surer."""
    followed, error, _ = run_change(seed, new_bpm=120.0, bars_before=1)
    assert not followed
    assert abs(error) < 1.5e-3, f"the loop's bar line {1000 * error:+.2f} ms from the clock's second"


@pytest.mark.parametrize("seed", range(8))
def test_stamps_on_the_midi_apis_clock_with_an_offset_found_late_still_give_the_second_bar_line(seed):
    """python-rtmidi's stamps are on the MIDI API's clock, taken to time.monotonic() by the least
    gap to a poll, too large at first (here 3 ms, shrinking as 1/k over the ticks): the bar lines
    go to block time with the offset of the moment, and are re-aimed as the fit grows surer."""
    followed, error, _ = run_change(seed, new_bpm=120.0, bars_before=1, offset_error=lambda k: 0.003 / (1 + k / 8))
    assert not followed
    assert abs(error) < 1.5e-3, f"the loop's bar line {1000 * error:+.2f} ms from the clock's second"
