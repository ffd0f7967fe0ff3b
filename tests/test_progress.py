"""The progress bar draws a bounded number of lines, and says beforehand when it will (the render
command reads the activation back, a host sync on a GPU, only for a line that is drawn)."""
import io

from immersions_osc.progress import Progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_a_line_every_so_many_updates_and_the_last():
    out = io.StringIO()
    bar = Progress(95, "render", every=10, stream=out)
    asked = []
    for i in range(1, 96):
        if bar.due(i):
            asked.append(i)
        bar.update(i, activation="1.000")
    assert asked == [10, 20, 30, 40, 50, 60, 70, 80, 90, 95]
    assert out.getvalue().count("\n") == 10 and "95/95 activation=1.000" in out.getvalue()


def test_a_terminal_is_redrawn_at_most_ten_times_a_second(monkeypatch):
    import immersions_osc.progress as progress

    out, now = _Tty(), [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    bar = Progress(1000, "render", stream=out)
    for i in range(1, 1001):
        now[0] = i * 0.001  # 1000 updates in one second
        bar.update(i)
    assert 10 <= out.getvalue().count("\r") <= 12  # ~ every 0.1 s, and the last
    assert out.getvalue().endswith("1000/1000  elapsed 0:00:01 eta 0:00:00\x1b[K")


def test_a_disabled_bar_is_never_due():
    bar = Progress(10, "x", enabled=False, stream=io.StringIO())
    assert not any(bar.due(i) for i in range(1, 11))
