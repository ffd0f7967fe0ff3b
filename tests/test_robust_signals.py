"""Real signals to a real service subprocess: a second signal during the shutdown (Ctrl-C pressed
twice, or TERM then TERM within 50 ms) neither kills nor aborts it; it stops cleanly and saves
the last loop."""
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from service_harness import HAVE_JACKD, REPO, JackServer, serving, wait_until


def test_a_second_signal_is_ignored_with_one_line():
    """The handler itself, deterministically (in a child: the handlers stay for the process's life):
    the first signal sets the event, a second one after it says it is ignored and changes nothing."""
    script = (
        "import os, signal, threading, time\n"
        "from immersions_osc.service.command import stop_on_signals\n"
        "stop = threading.Event(); stop_on_signals(stop)\n"
        "os.kill(os.getpid(), signal.SIG{first})\n"
        "assert stop.wait(10)\n"
        "os.kill(os.getpid(), signal.SIG{second})\n"
        "time.sleep(0.2)\n"
        "print('still here')\n")
    for first, second in (("INT", "INT"), ("TERM", "TERM"), ("TERM", "HUP")):
        done = subprocess.run([sys.executable, "-c", script.format(first=first, second=second)], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "still here"
        assert done.stderr.count("already stopping") == 1 and f"SIG{second} ignored" in done.stderr, done.stderr


def test_a_signal_during_the_handlers_own_write_returns_at_once(monkeypatch):
    """A flood while stderr is a full pipe: each signal arrives while the handler is still writing
    the line for the one before.  Nested handlers return at once (otherwise they pile up until a
    RecursionError killed the shutdown)."""
    import threading

    from immersions_osc.service import command

    installed = {}
    monkeypatch.setattr(command.signal, "signal", lambda signum, handler: installed.setdefault(signum, handler))
    stop = threading.Event()
    command.stop_on_signals(stop)
    handler = installed[signal.SIGINT]
    handler(signal.SIGINT, None)
    assert stop.is_set()
    writes = []

    def write(fd, data):
        writes.append(data)
        if len(writes) < 5000:
            handler(signal.SIGINT, None)  # the next signal, while this line is being written
        return len(data)
    monkeypatch.setattr(command.os, "write", write)
    handler(signal.SIGINT, None)
    assert len(writes) == 1 and b"already stopping (SIGINT ignored)" in writes[0]


def signal_through_the_shutdown(proc: subprocess.Popen, first, second, every: float) -> int:
    """Send ``first``, then ``second`` every ``every`` seconds until the process ends (a fixed gap can
    miss: two signals that arrive before Python runs its handler count once, and the service's
    shutdown can be shorter than the gap); returns how many were sent while it still ran."""
    proc.send_signal(first)
    sent = 0
    while proc.poll() is None:
        time.sleep(every)
        if proc.poll() is None:
            proc.send_signal(second)
            sent += 1
    return sent


@pytest.mark.slow
@pytest.mark.parametrize("first, second", [(signal.SIGTERM, signal.SIGTERM), (signal.SIGINT, signal.SIGINT)],
                         ids=["TERM-TERM", "INT-INT"])
def test_serve_survives_a_second_signal_during_shutdown(tmp_path, first, second):
    with serving("--audio", "none", "--loops-dir", str(tmp_path)) as (service, osc):
        reader = ThreadPoolExecutor(1).submit(service.proc.stdout.read)  # keep the pipe drained
        sent = signal_through_the_shutdown(service.proc, first, second, every=0.005)
        service.output += reader.result(timeout=60)
        service.proc.wait(60)
    # The service's shutdown takes ~40 ms, so whether a repeat lands inside it is up to the scheduler;
    # the message itself is proven above.  Here: repeats never break the shutdown.
    assert sent >= 1
    assert service.proc.returncode == 0, service.output[-3000:]
    assert "Traceback" not in service.output
    assert (tmp_path / "last_loop.wav").is_file()


@pytest.mark.slow
def test_demo_survives_a_second_signal_during_shutdown(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "immersions_osc", "demo", "--audio", "none", "--web-port", "0",
                             "--seconds", "60", "--steps-per-stop", "10", "--out", str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        output = ""
        for line in proc.stdout:  # wait until the tour has begun
            output += line
            if "stop 1/" in line:
                break
        reader = ThreadPoolExecutor(1).submit(proc.stdout.read)
        sent = signal_through_the_shutdown(proc, signal.SIGINT, signal.SIGINT, every=0.005)
        output += reader.result(timeout=120)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert sent >= 1
    assert proc.returncode == 0, output[-3000:]
    assert "Traceback" not in output  # (the one-line message is proven by the handler's own test)
    assert (tmp_path / "demo.wav").is_file() and (tmp_path / "loops" / "last_loop.wav").is_file()


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_JACKD, reason="jackd is not installed (apt-get install jackd2)")
def test_jackd_killed_with_sigkill(tmp_path):
    """The JACK server dies without a word (SIGKILL: no shutdown callback, its sockets left behind):
    the service keeps answering, reconnects to a new server of the same name, and stops cleanly."""
    server = JackServer()
    try:
        with serving("--audio", "jack", "--loops-dir", str(tmp_path), env=server.env) as (service, osc):
            osc.subscribe("summary")
            server.proc.kill()
            server.proc.wait(10)
            time.sleep(2.0)
            osc.wait_ready(timeout=20)  # still answering
            assert service.proc.poll() is None
            osc.send("/immersions/player/volume", "f", 0.5)
            osc.wait_for("/immersions/ack", timeout=10, predicate=lambda a: a == ["/immersions/player/volume"])
            server.restart()
            assert wait_until(lambda: server.has_port("immersions:out"), 60, interval=0.5), \
                "the service did not reconnect to the new JACK server"
    finally:
        server.stop()
    assert service.proc.returncode == 0 and "Traceback" not in service.output, service.output[-3000:]
    assert (tmp_path / "last_loop.wav").is_file()
