"""Real signals to a real service subprocess: a second signal during the shutdown (Ctrl-C pressed
twice, or TERM then TERM within 50 ms) neither kills nor aborts it; it stops cleanly and saves
the last loop."""
import os
import signal
import subprocess
import sys
import time

import pytest

from service_harness import HAVE_JACKD, REPO, JackServer, serving, wait_until


@pytest.mark.slow
@pytest.mark.parametrize("first, second", [(signal.SIGTERM, signal.SIGTERM), (signal.SIGINT, signal.SIGINT)],
                         ids=["TERM-TERM", "INT-INT"])
def test_serve_survives_a_second_signal_during_shutdown(tmp_path, first, second):
    with serving("--audio", "none", "--loops-dir", str(tmp_path)) as (service, osc):
        service.proc.send_signal(first)
        time.sleep(0.02)
        service.proc.send_signal(second)
        out, _ = service.proc.communicate(timeout=60)
        service.output += out
    assert service.proc.returncode == 0, service.output[-3000:]
    assert "Traceback" not in service.output
    assert "already stopping" in service.output
    assert (tmp_path / "last_loop.wav").is_file()


@pytest.mark.slow
def test_demo_survives_a_second_signal_during_shutdown(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "immersions_osc", "demo", "--audio", "none", "--web-port", "0",
                             "--seconds", "60", "--out", str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        output = ""
        for line in proc.stdout:  # wait until the tour has begun
            output += line
            if "stop 1/" in line:
                break
        proc.send_signal(signal.SIGINT)
        time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
        output += rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output[-3000:]
    assert "Traceback" not in output and "already stopping" in output
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
