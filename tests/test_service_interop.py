"""Interoperability with OSC peers no one here wrote: liblo's command-line tools (`oscsend`,
`oscdump`, Debian liblo-tools) and python-osc's client, against the running service."""
import shutil
import subprocess
import threading
import time

import pytest

from immersions_osc.service.server import Service

from service_harness import free_udp_port, in_process_config, wait_until

HAVE_LIBLO_TOOLS = shutil.which("oscsend") is not None and shutil.which("oscdump") is not None


@pytest.fixture(scope="module")
def running():
    service = Service(in_process_config(), log=lambda line: None).start()
    yield service
    service.close()


def oscsend(port: int, address: str, types: str = "", *values: str) -> None:
    subprocess.run(["oscsend", "127.0.0.1", str(port), address, types, *values], check=True, timeout=10,
                   capture_output=True)


class OscDump:
    """``oscdump -L PORT`` in the background; ``lines`` is what it printed."""

    def __init__(self):
        self.port = free_udp_port()
        self.proc = subprocess.Popen(["oscdump", "-L", str(self.port)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 10.0, since: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[since:]:
                if text in line:
                    return line
            time.sleep(0.02)
        raise TimeoutError(f"oscdump did not show {text!r}; it showed {self.lines[-5:]}")

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)


@pytest.mark.skipif(not HAVE_LIBLO_TOOLS, reason="needs oscsend/oscdump (Debian liblo-tools)")
def test_oscsend_pattern_and_true_false_change_the_service_and_oscdump_shows_the_ack(running):
    dump = OscDump()
    try:
        # subscribe oscdump (acks go to the sender, which is oscsend's socket, and to every subscriber);
        # repeated until oscdump, which prints nothing when it is ready, shows the acknowledgement
        deadline = time.monotonic() + 20
        while True:
            oscsend(running.port, "/immersions/stream/subscribe", "sis", "127.0.0.1", str(dump.port), "summary")
            try:
                dump.wait_for('/immersions/ack s "/immersions/stream/subscribe"', timeout=1.0)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
        for types, playing in (("F", False), ("T", True)):
            mark = len(dump.lines)
            oscsend(running.port, "/immersions/*/pl?y", types)
            assert wait_until(lambda: running.player.playing is playing, 10)
            dump.wait_for('/immersions/ack s "/immersions/player/play"', since=mark)
        mark = len(dump.lines)
        volume = running.player.volume
        oscsend(running.port, "/immersions/player/volume", "m", "00903c64")
        line = dump.wait_for("/immersions/error", since=mark)
        assert '"/immersions/player/volume" "gain (argument 1): expected a number, got a MIDI message (m)"' in line
        assert running.player.volume == volume
        oscsend(running.port, "/immersions/stream/unsubscribe", "si", "127.0.0.1", str(dump.port))
        assert wait_until(lambda: ("udp", "127.0.0.1", dump.port) not in running.sinks, 10)  # no ack for oscdump now
    finally:
        dump.close()


def test_python_osc_client_gets_acks_for_patterns_bools_and_bundles(running):
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder
    from pythonosc.udp_client import SimpleUDPClient

    client = SimpleUDPClient("127.0.0.1", running.port)

    def replies(timeout=3.0, until=None):
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in client.get_messages(0.2):
                out.append((m.address, m.params))
            if until is not None and until(out):
                break
        return out

    client.send_message("/immersions/optimize/run", False)  # python-osc sends a bool as F
    got = replies(until=lambda out: ("/immersions/ack", ["/immersions/optimize/run"]) in out)
    assert ("/immersions/ack", ["/immersions/optimize/run"]) in got
    assert running.generator.paused
    client.send_message("/immersions/player/{volume,crossfade_ms}", 0.4)  # one pattern, two controls
    want = [("/immersions/ack", ["/immersions/player/volume"]), ("/immersions/ack", ["/immersions/player/crossfade_ms"])]
    got = replies(until=lambda out: all(w in out for w in want))
    assert all(w in got for w in want), got
    assert running.player.volume == pytest.approx(0.4)
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, value in (("/immersions/optimize/run", True), ("/immersions/player/volume", 0.6)):
        b = OscMessageBuilder(address)
        b.add_arg(value)
        bundle.add_content(b.build())
    client.send(bundle.build())
    want = [("/immersions/ack", ["/immersions/optimize/run"]), ("/immersions/ack", ["/immersions/player/volume"])]
    got = replies(until=lambda out: all(w in out for w in want))
    assert all(w in got for w in want), got
    assert running.player.volume == pytest.approx(0.6) and not running.generator.paused
