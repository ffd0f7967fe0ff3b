"""The pure bar-phase model: MIDI clock in -> tempo and bar lines out; the playhead shift that puts
a loop's bar line where the DAW's is heard; the callback's event ring."""
import numpy as np
import pytest

from immersions_osc.audio.midiclock import (CLOCK, CONTINUE, SONG_POSITION, START, STOP, EventRing, MidiClock,
                                            bar_shift)


def ticks(clock: MidiClock, t0: float, bpm: float, n: int) -> float:
    dt = 60.0 / (24 * bpm)
    for k in range(n):
        clock.feed(t0 + k * dt, CLOCK)
    return t0 + n * dt


def test_start_then_ticks_give_the_tempo_and_the_downbeat():
    c = MidiClock(4)
    ticks(c, 0.0, 100.0, 30)  # a clock running before the start: tempo only
    assert c.bar_line() is None and c.tempo() == pytest.approx(100.0)
    c.feed(10.0, START)
    t = ticks(c, 10.01, 120.0, 24)
    assert c.tempo() is None or c.tempo() != pytest.approx(120.0)  # not a whole beat of the new ticks yet
    ticks(c, t, 120.0, 100)  # 124 ticks: bar 2 began at tick 96
    assert c.tempo() == pytest.approx(120.0)
    assert c.bar_line() == pytest.approx(10.01 + 96 * 60.0 / (24 * 120.0))
    c.feed(20.0, STOP)
    assert c.bar_line() is None


def test_a_tempo_change_shows_after_half_a_beat_without_a_glide():
    c = MidiClock(4)
    c.feed(0.0, START)
    t = ticks(c, 0.0, 120.0, 96)  # one bar
    seen = set()
    dt = 60.0 / (24 * 137.0)
    for k in range(48):
        c.feed(t + k * dt, CLOCK)
        seen.add(round(c.tempo(), 3))
    assert seen == {120.0, 137.0}
    assert c.bar_line() == pytest.approx(t)  # the bar at the new tempo began with its first tick


def test_lost_ticks_do_not_move_the_bar_lines():
    c = MidiClock(4)
    c.feed(0.0, START)
    dt = 60.0 / (24 * 120.0)
    for k in range(200):
        if k % 37 not in (5, 6):  # two ticks lost every 37
            c.feed(k * dt, CLOCK)
    assert c.tick == 199 and c.bar_line() == pytest.approx(192 * dt)


@pytest.mark.parametrize("periods", [1, 1.4])
def test_ticks_timed_a_period_late_do_not_move_the_count_or_the_bar_lines(periods):
    """A receiver that misses an audio cycle stamps that cycle's ticks one period late (10.7 ms at
    48 kHz / 512 frames: half a tick at 120 bpm; 1.4 periods: 0.7 of a tick)."""
    c = MidiClock(4)
    c.feed(0.0, START)
    dt = 60.0 / (24 * 120.0)
    late = periods * 512 / 48000
    for k in range(300):
        c.feed(k * dt + (late if k % 11 == 7 else 0.0), CLOCK)
    assert c.tick == 299 and c.bar_line() == pytest.approx(288 * dt, abs=1e-9)


def test_song_position_and_continue():
    c = MidiClock(4)
    c.feed(0.0, SONG_POSITION, 8, 0)  # 16th 8 = beat 2 of bar 1 = tick 48
    c.feed(0.0, CONTINUE)
    ticks(c, 1.0, 120.0, 30)
    dt = 60.0 / (24 * 120.0)
    assert c.tick == 48 + 29
    assert c.bar_line() == pytest.approx(1.0 - 48 * dt)
    c.feed(-1.0, START)  # an event the backend could not time is ignored
    assert c.tick == 77


@pytest.mark.parametrize("latency", [0.0, 0.0123])
def test_bar_shift_puts_a_bar_line_of_the_loop_where_it_is_heard(latency):
    rate, n, bars = 48000, 96000, 2  # two bars of one second
    render_time, render_pos = 100.0, 12345
    origin = render_time - render_pos / rate
    bar_time = 100.3
    shift = bar_shift(origin, n, bars, rate, bar_time, latency)
    heard = render_pos + shift + (bar_time - latency - render_time) * rate
    assert abs(((heard + 24000) % 48000) - 24000) < 1  # on a bar line
    assert abs(shift) <= 24000
    # already aligned: no shift
    assert bar_shift(0.0, n, bars, rate, 2.0, 0.0) == 0


def test_event_ring_keeps_order_and_counts_what_it_lost():
    ring = EventRing(4)
    for i in range(3):
        ring.put(float(i), bytes([0xF8]))
    assert [e[0] for e in ring.drain()] == [0.0, 1.0, 2.0] and ring.drain() == []
    for i in range(6):
        ring.put(float(i), bytes([0xF2, i, 1]))
    got = ring.drain()
    assert [e[0] for e in got] == [2.0, 3.0, 4.0, 5.0] and got[-1][1] == (0xF2, 5, 1) and ring.lost == 2
